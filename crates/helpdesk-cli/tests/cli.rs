//! End-to-end tests of the `helpdesk` command on temporary databases: each subcommand, the JSON
//! output parsed, and error exits.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

#[path = "../../../plugins/guests.rs"]
mod guests;

const PLUGINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugins");

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.db");
        Db { _dir: dir, path }
    }

    fn run(&self, args: &[&str]) -> Output {
        run_with(&self.path, args, None)
    }

    /// Runs with `--json`, asserts success, and returns the envelope's `data` after checking
    /// the schema version and kind.
    fn json(&self, kind: &str, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["kind"], kind, "{args:?}");
        v["data"].clone()
    }

    /// Runs and asserts failure, returning standard error.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should have failed");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error: ")).count(),
            1,
            "one error line: {stderr}"
        );
        stderr
    }
}

fn run_with(db: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn first_run_creates_the_first_administrator() {
    let db = Db::new();
    let out = db.run(&["agent", "list"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("created the first administrator"),
        "{stderr}"
    );
    let agents = db.json("agents", &["agent", "list"]);
    assert_eq!(agents.as_array().unwrap().len(), 1);
    assert_eq!(agents[0]["admin"], true);
    let again = db.run(&["agent", "list"]);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("created the first"));
}

#[test]
fn people_roles_and_fields() {
    let db = Db::new();
    let dept = db.json("department", &["department", "create", "Billing"]);
    assert_eq!(dept["name"], "Billing");
    let ann = db.json(
        "agent",
        &[
            "agent",
            "create",
            "--name",
            "Ann",
            "--email",
            "ann@example.com",
        ],
    );
    let ann_id = ann["id"].to_string();
    let member = db.json(
        "agent",
        &["department", "add-member", "1", &ann_id, "--level", "read"],
    );
    assert_eq!(member["departments"][0]["level"], "read");
    let updated = db.json(
        "agent",
        &[
            "agent",
            "update",
            &ann_id,
            "--only-assigned",
            "true",
            "--name",
            "Ann Lee",
        ],
    );
    assert_eq!(
        (updated["name"].as_str(), updated["only_assigned"].as_bool()),
        (Some("Ann Lee"), Some(true))
    );
    let roles = db.json(
        "roles",
        &["role", "create", "triage", "tickets.read", "tickets.update"],
    );
    let triage = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "triage")
        .unwrap()
        .clone();
    assert_eq!(
        triage["permissions"],
        serde_json::json!(["tickets.read", "tickets.update"])
    );
    let with_role = db.json(
        "agent",
        &["agent", "roles", &ann_id, &triage["id"].to_string()],
    );
    assert_eq!(with_role["roles"], serde_json::json!([triage["id"]]));
    assert!(
        db.fails(&["role", "create", "bad", "tickets.raed"])
            .contains("tickets.raed")
    );
    let fields = db.json(
        "fields",
        &[
            "field", "create", "plan", "--label", "Plan", "--kind", "choice", "--option", "Gold",
            "--option", "Silver",
        ],
    );
    assert_eq!(
        fields[0]["kind"]["options"],
        serde_json::json!(["Gold", "Silver"])
    );
    let org = db.json("organizations", &["org", "create", "Acme", "--shared"]);
    assert_eq!(org[0]["shared_tickets"], true);
    let req = db.json(
        "requester",
        &[
            "requester",
            "create",
            "--name",
            "Bob",
            "--email",
            "bob@acme.test",
            "--org",
            "1",
        ],
    );
    assert_eq!(
        db.json("requester", &["requester", "show", &req["id"].to_string()])["email"],
        "bob@acme.test"
    );
    let disabled = db.json("agent", &["agent", "update", &ann_id, "--disable"]);
    assert_eq!(disabled["active"], false);
    let removed = db.json("agent", &["department", "remove-member", "1", &ann_id]);
    assert_eq!(removed["departments"], serde_json::json!([]));
    assert_eq!(
        db.json("departments", &["department", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let deleted = db.json("roles", &["role", "delete", &triage["id"].to_string()]);
    assert_eq!(deleted.as_array().unwrap().len(), 3);
    db.json("roles", &["role", "list"]);
    db.json("fields", &["field", "list"]);
    db.json("organizations", &["org", "list"]);
}

#[test]
fn tickets_end_to_end() {
    let db = Db::new();
    db.json("department", &["department", "create", "Hardware"]);
    db.json(
        "requester",
        &[
            "requester",
            "create",
            "--name",
            "Bob",
            "--email",
            "bob@example.org",
        ],
    );
    let t = db.json(
        "ticket",
        &[
            "ticket",
            "create",
            "--subject",
            "Printer on fire",
            "--department",
            "1",
            "--requester",
            "1",
            "--message",
            "smoke",
            "--tag",
            "urgent",
        ],
    );
    assert_eq!(
        (t["version"].as_u64(), t["status"].as_str()),
        (Some(1), Some("new"))
    );
    let t = db.json(
        "ticket",
        &[
            "ticket",
            "update",
            "1",
            "--version",
            "1",
            "--status",
            "open",
            "--priority",
            "high",
            "--add-tag",
            "fire",
        ],
    );
    assert_eq!(t["tags"], serde_json::json!(["fire", "urgent"]));
    let stale = db.fails(&[
        "ticket",
        "update",
        "1",
        "--version",
        "1",
        "--priority",
        "low",
    ]);
    assert!(
        stale.contains("version 1, it is now at version 2"),
        "{stale}"
    );
    db.json("ticket", &["ticket", "reply", "1", "On our way"]);
    let note = run_with(
        &db.path,
        &["--json", "ticket", "note", "1", "-"],
        Some("from standard input\n"),
    );
    assert!(note.status.success());
    let detail = db.json("ticket_detail", &["ticket", "show", "1"]);
    let bodies: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["smoke", "On our way", "from standard input"]);
    assert!(detail["history"].as_array().unwrap().len() >= 5);
    let found = db.json(
        "tickets",
        &["ticket", "search", "printer", "--status", "open"],
    );
    assert_eq!(found["tickets"].as_array().unwrap().len(), 1);
    let none = db.json(
        "tickets",
        &["ticket", "search", "printer", "--status", "closed"],
    );
    assert!(none["tickets"].as_array().unwrap().is_empty());
    let human = db.run(&["ticket", "show", "1"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("status: new -> open") && text.contains("history:"),
        "{text}"
    );
}

#[test]
fn listing_pages_with_a_cursor() {
    let db = Db::new();
    let seeded = db.json("seed", &["seed", "--tickets", "30", "--departments", "2"]);
    assert_eq!(seeded["tickets"], 30);
    let first = db.json("tickets", &["ticket", "list", "--limit", "20"]);
    assert_eq!(first["tickets"].as_array().unwrap().len(), 20);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = db.json(
        "tickets",
        &["ticket", "list", "--limit", "20", "--cursor", &cursor],
    );
    assert_eq!(second["tickets"].as_array().unwrap().len(), 10);
    assert!(second["next_cursor"].is_null());
    assert!(
        db.fails(&["ticket", "list", "--cursor", "nonsense"])
            .contains("cursor")
    );
}

#[test]
fn import_and_backup() {
    let db = Db::new();
    db.json("department", &["department", "create", "Support"]);
    db.json(
        "requester",
        &[
            "requester",
            "create",
            "--name",
            "Bob",
            "--email",
            "bob@example.org",
        ],
    );
    let file = db.path.with_file_name("import.jsonl");
    let line = r#"{"ticket": {"subject": "Imported", "department": 1, "requester": 1}, "messages": [{"kind": "reply", "body": "old"}]}"#;
    std::fs::write(&file, format!("{line}\n{line}\n")).unwrap();
    let out = db.run(&["--json", "import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("importing: 2/2"),
        "progress is shown"
    );
    std::fs::write(&file, format!("{line}\nnot json\n")).unwrap();
    assert!(
        db.fails(&["import", file.to_str().unwrap()])
            .contains("line 2")
    );
    let backup = db.path.with_file_name("copy.db");
    db.json("backup", &["backup", backup.to_str().unwrap()]);
    let copy = run_with(&backup, &["--json", "ticket", "list"], None);
    let v: Value = serde_json::from_slice(&copy.stdout).unwrap();
    assert_eq!(v["data"]["tickets"].as_array().unwrap().len(), 2);
}

#[test]
fn errors_are_one_line_with_a_failing_status() {
    let db = Db::new();
    assert!(
        db.fails(&["ticket", "show", "42"])
            .contains("ticket `42` does not exist")
    );
    assert!(
        db.fails(&["agent", "create", "--name", "X", "--email", "nope"])
            .contains("email")
    );
    assert!(
        db.fails(&["--as", "ghost@example.com", "agent", "list"])
            .contains("ghost@example.com")
    );
    let usage = db.run(&["ticket", "frobnicate"]);
    assert_eq!(usage.status.code(), Some(2), "usage errors exit with 2");
}

#[test]
fn bad_values_are_usage_errors_naming_their_argument() {
    let db = Db::new();
    let check = |args: &[&str], argument: &str| {
        let out = db.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error: ")).count(),
            1,
            "{args:?}: one error line in {stderr}"
        );
        assert!(
            stderr.contains(argument),
            "{args:?}: `{argument}` not named in {stderr}"
        );
        assert!(!db.path.exists(), "{args:?}: the database was opened");
    };
    let key = ["key", "create", "--description", "d", "--agent", "1"];
    let with = |head: &[&'static str], tail: &[&'static str]| [head, tail].concat();
    check(&["ticket", "list", "--status", "nope"], "--status");
    check(
        &["ticket", "search", "printer", "--status", "Done"],
        "--status",
    );
    check(
        &[
            "ticket",
            "update",
            "1",
            "--version",
            "1",
            "--status",
            "done",
        ],
        "--status",
    );
    check(
        &[
            "ticket",
            "update",
            "1",
            "--version",
            "1",
            "--priority",
            "soon",
        ],
        "--priority",
    );
    check(
        &[
            "ticket",
            "create",
            "--subject",
            "s",
            "--department",
            "1",
            "--requester",
            "1",
            "--priority",
            "asap",
        ],
        "--priority",
    );
    check(&["ticket", "update", "1", "--version", "x"], "--version");
    check(&["ticket", "list", "--cursor", "nonsense"], "--cursor");
    check(&["ticket", "list", "--limit", "0"], "--limit");
    check(&["ticket", "list", "--limit", "501"], "--limit");
    check(&["ticket", "list", "--department", "0"], "--department");
    check(&["ticket", "show", "x"], "<ID>");
    check(&["ticket", "show", "0"], "<ID>");
    check(&["agent", "roles", "1", "two"], "<ROLES>");
    check(&["agent", "update", "1", "--admin", "maybe"], "--admin");
    check(
        &["department", "add-member", "1", "2", "--level", "boss"],
        "--level",
    );
    check(
        &["field", "create", "k", "--label", "L", "--kind", "colour"],
        "--kind",
    );
    check(&["role", "create", "triage", "tickets.raed"], "<SCOPES>");
    check(&with(&key, &["--scope", "tickets.raed"]), "--scope");
    check(
        &with(
            &key,
            &["--scope", "tickets.read", "--network", "10.0.0.0/33"],
        ),
        "--network",
    );
    check(
        &with(
            &key,
            &["--scope", "tickets.read", "--network", "::ffff:10.0.0.0/8"],
        ),
        "--network",
    );
    check(
        &with(&key, &["--scope", "tickets.read", "--expires-in-days", "0"]),
        "--expires-in-days",
    );
    check(
        &[
            "key",
            "create",
            "--description",
            "d",
            "--scope",
            "tickets.read",
        ],
        "--agent",
    );
    check(&["key", "update", "1", "--network", "host"], "--network");
    check(
        &["key", "update", "1", "--admin-functions", "yes"],
        "--admin-functions",
    );
    check(
        &["key", "regenerate", "1", "--overlap-minutes", "soon"],
        "--overlap-minutes",
    );
    check(
        &[
            "token",
            "mint",
            "--key",
            "1",
            "--agent",
            "1",
            "--minutes",
            "0",
        ],
        "--minutes",
    );
    check(
        &[
            "token", "mint", "--key", "1", "--agent", "1", "--scope", "all",
        ],
        "--scope",
    );
    check(&["token", "mint", "--key", "1"], "--agent");
    let install = [
        "plugin",
        "install",
        "--manifest",
        "m.toml",
        "--wasm",
        "m.wasm",
    ];
    check(&with(&install, &["--grant", "tickets.raed"]), "--grant");
    check(&with(&install, &["--setting", "no-value"]), "--setting");
    check(
        &["plugin", "render", "1", "--location", "footer"],
        "--location",
    );
    check(&["plugin", "replay", "1", "--after", "-"], "--after");
}

#[test]
fn a_failure_names_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("desk.db");
    let out = run_with(&missing, &["agent", "list"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap();
    let parts: Vec<&str> = line.split(": ").collect();
    assert!(
        parts.len() >= 3,
        "the command, the file and the reason: {line}"
    );
    for (i, part) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..]
                .iter()
                .any(|later| later.contains(part) || part.contains(later)),
            "`{part}` appears twice in {line}"
        );
    }
    assert!(
        line.contains("no-such-dir`:"),
        "the missing directory is named: {line}"
    );
}

#[test]
fn a_database_in_use_is_refused_clearly() {
    let db = Db::new();
    let (_desk, _system) =
        helpdesk::Helpdesk::open(&db.path, helpdesk::Options::default()).unwrap();
    let stderr = db.fails(&["agent", "list"]);
    assert!(
        stderr.contains("in use") && stderr.contains("stop the application"),
        "{stderr}"
    );
}

#[test]
fn a_foreign_file_is_refused_and_kept() {
    let db = Db::new();
    std::fs::write(
        &db.path,
        b"not a helpdesk database at all, just some bytes .............",
    )
    .unwrap();
    let before = std::fs::read(&db.path).unwrap();
    assert!(
        db.fails(&["agent", "list"])
            .contains("not a helpdesk database")
    );
    assert_eq!(std::fs::read(&db.path).unwrap(), before);
}

#[test]
fn keys_and_tokens() {
    let db = Db::new();
    db.json("department", &["department", "create", "Support"]);
    let ann = db.json(
        "agent",
        &[
            "agent",
            "create",
            "--name",
            "Ann",
            "--email",
            "ann@example.com",
        ],
    );
    let ann_id = ann["id"].to_string();
    let created = db.json(
        "key_code",
        &[
            "key",
            "create",
            "--description",
            "CRM sync",
            "--agent",
            &ann_id,
            "--scope",
            "tickets.read",
        ],
    );
    let code = created["code"].as_str().unwrap().to_string();
    assert!(
        code.starts_with(&format!("{}:hdk_", created["id"])),
        "{code}"
    );
    let listed = db.run(&["--json", "key", "list"]);
    let listing = String::from_utf8_lossy(&listed.stdout);
    let secret = code.split_once(':').unwrap().1;
    assert!(
        !listing.contains(secret),
        "a listing never shows the secret"
    );
    let id = created["id"].to_string();
    let regenerated = db.json(
        "key_code",
        &["key", "regenerate", &id, "--overlap-minutes", "5"],
    );
    assert_ne!(regenerated["code"], created["code"]);
    assert!(!regenerated["overlap_until"].is_null());
    let token = db.json(
        "token",
        &[
            "token",
            "mint",
            "--key",
            &id,
            "--agent",
            &ann_id,
            "--minutes",
            "5",
        ],
    );
    assert_eq!(token["expires_in"], 300);
    assert!(token["userKey"].as_str().unwrap().starts_with("hdt_"));
    assert!(
        db.fails(&[
            "token",
            "mint",
            "--key",
            &id,
            "--agent",
            &ann_id,
            "--scope",
            "tickets.delete"
        ])
        .contains("scope")
    );
    assert_eq!(db.json("key", &["key", "disable", &id])["enabled"], false);
    assert_eq!(db.json("key", &["key", "enable", &id])["enabled"], true);
    let log = db.json("key_log", &["key", "log", &id]);
    assert!(log.is_array());
    let superuser = db.json(
        "key_code",
        &[
            "key",
            "create",
            "--description",
            "Portal",
            "--superuser",
            "--default-agent",
            "1",
            "--admin-functions",
            "--scope",
            "tickets.read",
            "--network",
            "10.0.0.0/8",
            "--expires-in-days",
            "30",
        ],
    );
    assert_eq!(superuser["networks"], serde_json::json!(["10.0.0.0/8"]));
    assert!(!superuser["expires_at"].is_null());
    let su = superuser["id"].to_string();
    let updated = db.json(
        "key",
        &[
            "key",
            "update",
            &su,
            "--description",
            "Customer portal",
            "--scope",
            "tickets.read",
            "--scope",
            "tickets.reply",
            "--any-network",
            "--no-expiry",
            "--no-default-agent",
            "--admin-functions",
            "false",
        ],
    );
    assert_eq!(updated["description"], "Customer portal");
    assert_eq!(
        updated["scopes"],
        serde_json::json!(["tickets.read", "tickets.reply"])
    );
    assert_eq!(updated["networks"], serde_json::json!([]));
    assert!(updated["expires_at"].is_null());
    assert_eq!(updated["kind"], "superuser");
    assert_eq!(updated["admin_functions"], false);
    assert!(
        db.fails(&["key", "update", &id, "--default-agent", "1"])
            .contains("only superuser keys have a default agent")
    );
    assert!(
        db.fails(&[
            "key",
            "create",
            "--description",
            "x",
            "--agent",
            &ann_id,
            "--scope",
            "tickets.raed"
        ])
        .contains("tickets.raed")
    );
    db.json("key_deleted", &["key", "delete", &id]);
    assert!(db.fails(&["key", "show", &id]).contains("does not exist"));
}

#[test]
fn plugins_are_reviewed_granted_run_and_removed() {
    let db = Db::new();
    let dir = db.path.parent().unwrap().to_path_buf();
    let write = |name: &str| {
        let g = guests::guest(PLUGINS, name);
        let manifest = dir.join(format!("{name}.toml"));
        let wasm = dir.join(format!("{name}.wasm"));
        std::fs::write(&manifest, g.manifest).unwrap();
        std::fs::write(&wasm, g.wasm).unwrap();
        (
            manifest.to_str().unwrap().to_string(),
            wasm.to_str().unwrap().to_string(),
        )
    };
    let (triage_toml, triage_wasm) = write("auto-triage");
    let (info_toml, info_wasm) = write("ticket-info");
    db.json("department", &["department", "create", "Billing"]);
    db.json(
        "requester",
        &[
            "requester",
            "create",
            "--name",
            "Bob",
            "--email",
            "bob@example.org",
        ],
    );
    let review = db.fails(&[
        "plugin",
        "install",
        "--manifest",
        &triage_toml,
        "--wasm",
        &triage_wasm,
    ]);
    assert!(
        review.contains("requests: events.read, tickets.read, tickets.update")
            && review.contains("--grant"),
        "{review}"
    );
    assert!(
        db.fails(&[
            "plugin",
            "install",
            "--manifest",
            &triage_toml,
            "--wasm",
            &triage_wasm,
            "--grant",
            "tickets.delete"
        ])
        .contains("error")
    );
    let triage = db.json(
        "plugin",
        &[
            "plugin",
            "install",
            "--manifest",
            &triage_toml,
            "--wasm",
            &triage_wasm,
            "--grant-all",
        ],
    );
    assert_eq!(
        triage["granted"],
        serde_json::json!(["tickets.read", "tickets.update", "events.read"])
    );
    let info = db.json(
        "plugin",
        &[
            "plugin",
            "install",
            "--manifest",
            &info_toml,
            "--wasm",
            &info_wasm,
            "--grant",
            "tickets.read",
        ],
    );
    assert_eq!(
        info["granted"],
        serde_json::json!(["tickets.read"]),
        "a narrower grant than requested"
    );
    db.json(
        "ticket",
        &[
            "ticket",
            "create",
            "--subject",
            "Refund please, charged twice",
            "--department",
            "1",
            "--requester",
            "1",
        ],
    );
    let report = db.json("delivery_report", &["plugin", "deliver"]);
    assert_eq!(report["delivered"], 1, "{report}");
    let ticket = db.json("ticket_detail", &["ticket", "show", "1"]);
    assert_eq!(
        ticket["ticket"]["priority"], "urgent",
        "auto-triage applied its rules"
    );
    let widget = db.run(&["plugin", "render", &info["id"].to_string(), "--ticket", "1"]);
    assert!(
        widget.status.success(),
        "{}",
        String::from_utf8_lossy(&widget.stderr)
    );
    assert!(String::from_utf8_lossy(&widget.stdout).contains("hd-widget"));
    let as_json = db.json(
        "widget",
        &["plugin", "render", &info["id"].to_string(), "--ticket", "1"],
    );
    assert!(as_json.is_object() || as_json.is_array());
    let id = triage["id"].to_string();
    assert!(
        db.json("deliveries", &["plugin", "deliveries", &id])
            .is_array()
    );
    assert!(
        db.json("dead_letters", &["plugin", "dead-letters", &id])
            .is_array()
    );
    db.json("replay", &["plugin", "replay", &id, "--after", "0"]);
    db.json("replay", &["plugin", "replay", &id]);
    assert_eq!(
        db.json("plugin", &["plugin", "disable", &id])["state"],
        "disabled"
    );
    assert_eq!(
        db.json("plugin", &["plugin", "enable", &id])["state"],
        "enabled"
    );
    db.json("plugin_uninstalled", &["plugin", "uninstall", &id]);
    assert_eq!(
        db.json("plugins", &["plugin", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
