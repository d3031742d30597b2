//! The plugin part of the demo: build the example plugins, install them with a reviewed grant,
//! let an app triage new tickets, render a sidebar widget, and show a misbehaving plugin
//! contained while the others keep working.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use helpdesk::{
    AgentId, DepartmentId, Helpdesk, InstallId, NewInstall, NewTicket, PluginManifest, RequesterId,
    SearchQuery, StartFrom, SystemHandle, TicketId, WidgetLocation,
};
use helpdesk_plugin_host::{HostConfig, PluginHost};

/// The places of the seeded helpdesk the plugin tour uses.
#[derive(Debug)]
pub(crate) struct Places {
    pub(crate) hardware: DepartmentId,
    pub(crate) billing: DepartmentId,
    pub(crate) customer: RequesterId,
    pub(crate) billing_lead: AgentId,
}

/// The repository's `plugins/` folder (the examples' own workspace).
fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")
}

/// Builds the example plugins for `wasm32-wasip2` into `target/wasm-plugins` and returns the
/// folder of the `.wasm` files.
fn build_examples() -> anyhow::Result<PathBuf> {
    let dir = plugins_dir();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join("wasm-plugins");
    eprintln!("building the example plugins for wasm32-wasip2 (a minute the first time)…");
    let _ = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .output();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&dir)
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .with_context(|| format!("cannot run cargo in `{}`", dir.display()))?;
    if !status.success() {
        bail!("building the example plugins failed");
    }
    Ok(target.join("wasm32-wasip2").join("release"))
}

fn example(out: &Path, name: &str) -> anyhow::Result<(PluginManifest, Vec<u8>)> {
    let manifest_path = plugins_dir()
        .join("examples")
        .join(name)
        .join("plugin.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading `{}`", manifest_path.display()))?;
    let wasm_path = out.join(format!("{}.wasm", name.replace('-', "_")));
    let wasm =
        std::fs::read(&wasm_path).with_context(|| format!("reading `{}`", wasm_path.display()))?;
    Ok((PluginManifest::from_toml(&text)?, wasm))
}

pub(crate) fn tour(
    desk: &Helpdesk,
    system: &SystemHandle,
    n: &mut u32,
    places: &Places,
    timings: &mut Vec<(String, Duration)>,
) -> anyhow::Result<()> {
    crate::demo::section(
        n,
        "Plugins: build, review the requested permissions, grant, install",
    );
    let out = build_examples()?;
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/plugin-cache");
    std::fs::create_dir_all(&cache)?;
    let started = Instant::now();
    let host = PluginHost::new(system, HostConfig::default().with_cache_dir(cache))?;
    let root = system.principal();
    let admin = desk
        .agents(&root)?
        .into_iter()
        .find(|a| a.admin)
        .ok_or_else(|| anyhow!("no administrator"))?;
    let as_admin = system.agent(admin.id)?;
    let mut installed = Vec::new();
    for name in ["auto-triage", "ticket-info", "misbehave"] {
        let (manifest, wasm) = example(&out, name)?;
        println!(
            "{} {} asks for: {}",
            manifest.name,
            manifest.version,
            manifest.permissions.join(", ")
        );
        let mut new = NewInstall::granting_all(manifest, wasm)?;
        if name == "misbehave" {
            new.settings.push(("mode".into(), "loop".into()));
        }
        let install = host.install(&as_admin, new)?;
        println!(
            "  granted: {}; app identity: agent {}; its own key: {}",
            install.granted,
            install.app_agent,
            install.key.map_or_else(|| "-".into(), |k| k.to_string())
        );
        installed.push((name, install.id));
    }
    timings.push((
        "installing 3 plugins (compile + cache)".into(),
        started.elapsed(),
    ));
    let id = |wanted: &str| {
        installed
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, i)| *i)
            .ok_or_else(|| anyhow!("{wanted} missing"))
    };
    let (triage, info, misbehave) = (id("auto-triage")?, id("ticket-info")?, id("misbehave")?);

    crate::demo::section(
        n,
        "An app triages new tickets; a runaway plugin is contained",
    );
    let as_lead = system.agent(places.billing_lead)?;
    let t = desk.create_ticket(
        &as_lead,
        NewTicket::new(
            "I was charged twice for my subscription",
            places.billing,
            places.customer,
        ),
    )?;
    println!(
        "ticket {} opened: \"{}\" (priority {}, tags {:?})",
        t.id, t.subject, t.priority, t.tags
    );
    let report = host.deliver()?;
    println!(
        "delivered {} event(s); failures: {}",
        report.delivered,
        report.failures.len()
    );
    for (install, error) in &report.failures {
        let who = if *install == misbehave {
            "misbehave"
        } else {
            "another plugin"
        };
        println!("  contained: {who} (install {install}): {error}");
    }
    let after = desk.ticket(&root, t.id)?;
    println!(
        "after auto-triage: priority {}, tags {:?}",
        after.priority, after.tags
    );
    if let Some(change) = desk.ticket_history(&root, t.id)?.last() {
        println!(
            "history records the app: {}",
            crate::commands::actor(&change.by)
        );
    }
    let _ = desk.search(&root, &SearchQuery::default())?;
    println!(
        "the host and the other plugins went on: {} plugins running",
        host.running().len()
    );

    crate::demo::section(n, "A widget rendered for the ticket sidebar");
    let started = Instant::now();
    let widget = host.render(info, WidgetLocation::TicketSidebar, &as_lead, Some(t.id))?;
    timings.push((
        "widget render (fresh sandboxed instance)".into(),
        started.elapsed(),
    ));
    let html = widget.to_html();
    match html.char_indices().nth(600) {
        Some((cut, _)) => println!("{}…", &html[..cut]),
        None => println!("{html}"),
    }
    let json = widget.to_json().to_string();
    println!("as JSON for the application: {} bytes", json.len());

    dispatch_timing(desk, &host, triage, &root, places, timings)?;
    Ok(())
}

/// Measures sending one event to a warm app instance (the app reads the ticket and finds no rule
/// to apply, so nothing is written).
fn dispatch_timing(
    desk: &Helpdesk,
    host: &PluginHost,
    app: InstallId,
    root: &helpdesk::Principal,
    places: &Places,
    timings: &mut Vec<(String, Duration)>,
) -> anyhow::Result<()> {
    desk.register_consumer(root, "demo-timing", StartFrom::Now)?;
    let t: TicketId = desk
        .create_ticket(
            root,
            NewTicket::new("Keyboard layout question", places.hardware, places.customer),
        )?
        .id;
    let event = desk
        .read_events(root, "demo-timing", 10)?
        .events
        .into_iter()
        .find(|e| e.ticket == Some(t))
        .ok_or_else(|| anyhow!("no event for ticket {t}"))?;
    host.test_event(app, &event)?;
    let rounds = 2_000;
    let started = Instant::now();
    for _ in 0..rounds {
        host.test_event(app, &event)?;
    }
    timings.push((
        "event dispatch to an app (warm instance, one host call)".into(),
        started.elapsed() / rounds,
    ));
    desk.remove_consumer(root, "demo-timing")?;
    Ok(())
}
