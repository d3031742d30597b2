//! Every host call, allowed and refused by the install's grant; the grant cannot be widened
//! from inside; what an app changes is attributed to it.

use helpdesk::{Action, Actor, AgentId, Error, NewAgent, Scopes};

use crate::support::Env;

/// Runs `commands` as the probe app with `grant` on one event, and returns `(command, result)`.
fn run_as_app(grant: &[&str], commands: &str) -> Vec<(String, String)> {
    let env = Env::new();
    let hardware = env.ticket_in("Printer on fire", env.f.hardware.id);
    let commands = commands
        .replace("$T", &hardware.id.to_string())
        .replace("$D", &env.f.billing.id.to_string())
        .replace("$R", &env.f.bob.id.to_string())
        .replace("$A", &env.f.hal.id.to_string());
    let app = env.install("probe", Some(grant), &[("commands", &commands)]);
    env.ticket("Trigger");
    let report = env.host.deliver().unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    let results = env.kv(app.id, "results").unwrap();
    results
        .lines()
        .map(|l| {
            let (c, r) = l.split_once(" => ").unwrap();
            (c.to_owned(), r.to_owned())
        })
        .collect()
}

const EVERY_CALL: &str = "tickets.get $T
tickets.messages $T
tickets.search printer
tickets.create $D $R Opened by an app
tickets.priority $T high
tickets.status $T open
tickets.assign $T $A
tickets.tag $T app-tag
tickets.note $T a note
tickets.reply $T a reply
directory.agents
directory.departments
clock.now
kv.set colour blue
kv.get colour
settings.get title";

/// Each call with the grant it needs, and a grant without it: `ok` with, refused without.
#[test]
fn each_host_call_is_allowed_and_refused_by_scope() {
    let all = [
        "events.read",
        "tickets.read",
        "tickets.create",
        "tickets.update",
        "tickets.assign",
        "tickets.status",
        "tickets.reply",
        "tickets.note",
        "agents.read",
        "departments.read",
    ];
    let granted = run_as_app(&all, EVERY_CALL);
    for (command, result) in &granted {
        assert!(
            result.starts_with("ok"),
            "`{command}` with every scope: {result}"
        );
    }
    assert!(
        granted
            .iter()
            .any(|(c, r)| c == "tickets.search printer" && r == "ok 1")
    );
    assert!(
        granted
            .iter()
            .any(|(c, r)| c == "kv.get colour" && r == "ok blue")
    );

    // Only reading tickets: every write is denied with the scope the grant lacks, directories
    // are denied, the install's own clock, store and settings still work.
    let read_only = run_as_app(&["events.read", "tickets.read"], EVERY_CALL);
    let expect = |command: &str, prefix: &str, scope: &str| {
        let (_, result) = read_only
            .iter()
            .find(|(c, _)| c.starts_with(command))
            .unwrap_or_else(|| panic!("{command} missing"));
        assert!(result.starts_with(prefix), "`{command}`: {result}");
        assert!(
            result.contains(scope),
            "`{command}` should name `{scope}`: {result}"
        );
    };
    expect("tickets.get", "ok", "");
    expect("tickets.messages", "ok", "");
    expect("tickets.search", "ok 1", "");
    expect("tickets.create", "denied", "tickets.create");
    expect("tickets.priority", "denied", "tickets.update");
    expect("tickets.status", "denied", "tickets.status");
    expect("tickets.assign", "denied", "tickets.assign");
    expect("tickets.tag", "denied", "tickets.update");
    expect("tickets.note", "denied", "tickets.note");
    expect("tickets.reply", "denied", "tickets.reply");
    expect("directory.agents", "denied", "agents.read");
    expect("directory.departments", "denied", "departments.read");
    expect("clock.now", "ok", "");
    expect("kv.set", "ok", "");
    expect("settings.get", "ok Probe", "");
}

/// Without `tickets.read` an app receives no ticket events at all (only what its key may read).
#[test]
fn an_app_receives_only_events_its_grant_may_read() {
    let env = Env::new();
    let app = env.install("probe", Some(&["events.read"]), &[]);
    env.ticket("Invisible to the app");
    let report = env.host.deliver().unwrap();
    assert_eq!(report, helpdesk_plugin_host::DeliveryReport::default());
    assert!(
        env.f
            .desk
            .plugin_queue(&env.root, app.id)
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.kv(app.id, "log"), None);
}

#[test]
fn an_install_cannot_widen_its_grant_from_inside() {
    let env = Env::new();
    let app = env.install("probe", Some(&["events.read", "tickets.read"]), &[]);
    let other = env.install("ledger", None, &[]);
    let p = env.f.system.install_principal(app.id).unwrap();
    // Its app identity mirrors the installing administrator, yet the grant bounds it.
    assert!(env.f.desk.agent(&env.root, app.app_agent).unwrap().admin);
    let denied = |r: Result<(), Error>| match r {
        Err(Error::Denied(d)) => d,
        other => panic!("expected a denial, got {other:?}"),
    };
    let d = denied(env.f.desk.plugins(&p).map(|_| ()));
    assert_eq!(d.missing_scope(), Some(Action::PluginManage));
    denied(env.f.desk.enable_plugin(&p, app.id).map(|_| ()));
    denied(
        env.f
            .desk
            .create_agent(
                &p,
                NewAgent {
                    name: "Mole".into(),
                    email: "mole@example.com".into(),
                    admin: true,
                },
            )
            .map(|_| ()),
    );
    denied(env.f.desk.plugin_kv_get(&p, other.id, "total").map(|_| ()));
    denied(
        env.f
            .desk
            .own_plugin_setting(&p, other.id, "api-token", None)
            .map(|_| ()),
    );
}

#[test]
fn a_grant_is_reviewed_against_the_request_and_the_installer() {
    let env = Env::new();
    // More than requested: refused.
    let err = env
        .install_as(
            &env.root,
            "ticket-info",
            Some(&["tickets.read", "tickets.delete"]),
            &[],
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`tickets.delete` was not requested"),
        "{err}"
    );
    // An agent who may manage plugins but not read agents cannot grant `agents.read`.
    let role = env
        .f
        .desk
        .create_role(
            &env.root,
            "plugin manager",
            &["plugins.manage", "events.read", "tickets.read"],
        )
        .unwrap();
    env.f
        .desk
        .set_agent_roles(&env.root, env.f.ann.id, &[role.id])
        .unwrap();
    let ann = env.f.system.agent(env.f.ann.id).unwrap();
    let err = env
        .install_as(
            &ann,
            "probe",
            Some(&["events.read", "tickets.read", "agents.read"]),
            &[],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("`agents.read` is not held"),
        "{err}"
    );
    // Fewer than requested: fine, and the install holds exactly that.
    let ok = env
        .install_as(&ann, "probe", Some(&["events.read", "tickets.read"]), &[])
        .unwrap();
    assert_eq!(
        ok.granted,
        Scopes::of(&[Action::EventRead, Action::TicketRead])
    );
    // Its app identity mirrors Ann: her roles and her department only.
    let agent = env.f.desk.agent(&env.root, ok.app_agent).unwrap();
    assert!(!agent.admin);
    assert_eq!(agent.departments.len(), 1);
    assert_eq!(agent.departments[0].department, env.f.billing.id);
}

#[test]
fn what_an_app_writes_is_attributed_to_its_identity_and_install() {
    let env = Env::new();
    let target = env.ticket("Needs a note");
    let app = env.install(
        "probe",
        None,
        &[(
            "commands",
            &format!("tickets.note {} from the app", target.id),
        )],
    );
    env.ticket("Trigger");
    env.host.deliver().unwrap();
    let messages = env.f.desk.messages(&env.root, target.id).unwrap();
    let note = messages.last().unwrap();
    assert_eq!(note.body, "from the app");
    assert_eq!(note.posted_by.actor, Actor::Agent(app.app_agent));
    assert_eq!(note.posted_by.install, Some(app.id));
    assert_eq!(
        note.author,
        helpdesk::Author::Agent(AgentId::new(app.app_agent.get()))
    );
}

#[test]
fn each_install_acts_through_its_own_key_bound_to_the_grant() {
    let env = Env::new();
    let app = env.install("probe", Some(&["events.read", "tickets.read"]), &[]);
    let key = env.f.desk.key(&env.root, app.key.unwrap()).unwrap();
    assert_eq!(
        key.kind,
        helpdesk::KeyKind::Agent {
            agent: app.app_agent
        }
    );
    assert_eq!(key.scopes, app.granted);
    let p = env.f.system.install_principal(app.id).unwrap();
    assert_eq!(p.attribution().key, Some(key.id));
    assert_eq!(p.attribution().install, Some(app.id));
    // The key changes only with its install: refused through the key API, disabled and
    // enabled again with the install.
    let refused = env.f.desk.set_key_enabled(&env.root, key.id, false);
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("changes only with its install")),
        "{refused:?}"
    );
    env.f.desk.disable_plugin(&env.root, app.id).unwrap();
    assert!(!env.f.desk.key(&env.root, key.id).unwrap().enabled);
    env.ticket("While the install is disabled");
    assert_eq!(env.host.deliver().unwrap().delivered, 0);
    env.f.desk.enable_plugin(&env.root, app.id).unwrap();
    assert!(env.f.desk.key(&env.root, key.id).unwrap().enabled);
    env.f.system.install_principal(app.id).unwrap();
    assert_eq!(env.host.deliver().unwrap().delivered, 1, "the event waited");
    // Uninstalling removes the key.
    env.f.desk.uninstall_plugin(&env.root, app.id).unwrap();
    assert!(env.f.desk.key(&env.root, key.id).is_err());
}
