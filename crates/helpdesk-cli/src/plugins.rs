//! The `plugin` subcommands, through the plugin host and the facade.

use anyhow::{Context as _, bail};
use helpdesk::{InstallId, InstallState, NewInstall, PluginManifest, TicketId, WidgetLocation};
use helpdesk_plugin_host::{HostConfig, PluginHost};
use serde_json::json;

use crate::cli::{Location, PluginCmd};
use crate::commands::Ctx;
use crate::output::Table;

fn host(ctx: &Ctx) -> anyhow::Result<PluginHost> {
    Ok(PluginHost::new(&ctx.system, HostConfig::default())?)
}

fn state(state: &InstallState) -> String {
    match state {
        InstallState::Enabled => "enabled".into(),
        InstallState::Disabled => "disabled".into(),
        InstallState::AutoDisabled { reason } => format!("disabled automatically: {reason}"),
        other => format!("{other:?}"),
    }
}

fn installs_table(installs: &[helpdesk::Install]) -> Table {
    let mut t = Table::new(&[
        "id",
        "plugin",
        "version",
        "state",
        "app agent",
        "key",
        "granted",
        "missed events",
    ]);
    for i in installs {
        t.row(vec![
            i.id.to_string(),
            i.manifest.id.clone(),
            i.manifest.version.clone(),
            state(&i.state),
            i.app_agent.to_string(),
            i.key.map(|k| k.to_string()).unwrap_or_else(|| "-".into()),
            i.granted.to_string(),
            i.missed_events.to_string(),
        ]);
    }
    t
}

fn install_json(i: &helpdesk::Install) -> serde_json::Value {
    json!({
        "id": i.id, "plugin": i.manifest.id, "version": i.manifest.version, "state": state(&i.state),
        "app_agent": i.app_agent, "key": i.key, "granted": i.granted.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "missed_events": i.missed_events,
    })
}

pub(crate) fn plugin(ctx: &Ctx, cmd: PluginCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    let install = match cmd {
        PluginCmd::Install {
            manifest,
            wasm,
            grant,
            grant_all,
            settings,
        } => {
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read `{}`", manifest.display()))?;
            let manifest = PluginManifest::from_toml(&text)?;
            let bytes = std::fs::read(&wasm)
                .with_context(|| format!("cannot read `{}`", wasm.display()))?;
            eprintln!(
                "{} {} requests: {}",
                manifest.name,
                manifest.version,
                manifest.permissions.join(", ")
            );
            let mut new = NewInstall::granting_all(manifest, bytes)?;
            if !grant_all {
                if grant.is_empty() {
                    bail!(
                        "review the requested permissions above, then pass `--grant SCOPE` for each you grant, or `--grant-all`"
                    );
                }
                new.grant = grant.into_iter().collect();
            }
            new.settings.extend(settings);
            eprintln!("checking and compiling the component…");
            host(ctx)?.install(me, new)?
        }
        PluginCmd::List => {
            let installs = desk.plugins(me)?;
            let data: Vec<_> = installs.iter().map(install_json).collect();
            return ctx.out.emit("plugins", &data, || installs_table(&installs));
        }
        PluginCmd::Enable { id } => desk.enable_plugin(me, InstallId::new(id))?,
        PluginCmd::Disable { id } => desk.disable_plugin(me, InstallId::new(id))?,
        PluginCmd::Uninstall { id } => {
            desk.uninstall_plugin(me, InstallId::new(id))?;
            return ctx
                .out
                .emit("plugin_uninstalled", &json!({ "id": id }), || {
                    let mut t = Table::new(&["uninstalled"]);
                    t.row(vec![id.to_string()]);
                    t
                });
        }
        PluginCmd::Deliver => {
            let report = host(ctx)?.deliver()?;
            let failures: Vec<_> = report
                .failures
                .iter()
                .map(|(i, e)| json!({ "install": i, "error": e }))
                .collect();
            let data = json!({ "delivered": report.delivered, "retried": report.retried, "dead_lettered": report.dead_lettered, "failures": failures });
            return ctx.out.emit("delivery_report", &data, || {
                let mut t = Table::new(&["delivered", "retried", "dead-lettered", "failures"]);
                t.row(vec![
                    report.delivered.to_string(),
                    report.retried.to_string(),
                    report.dead_lettered.to_string(),
                    report.failures.len().to_string(),
                ]);
                for (install, error) in &report.failures {
                    t.row(vec![format!("install {install}"), error.clone()]);
                }
                t
            });
        }
        PluginCmd::Deliveries { id } => {
            let queue = desk.plugin_queue(me, InstallId::new(id))?;
            let data: Vec<_> = queue.iter().map(|d| json!({ "id": d.id, "seq": d.event.seq, "kind": d.event.kind, "attempt": d.attempt })).collect();
            return ctx.out.emit("deliveries", &data, || {
                let mut t = Table::new(&["delivery", "event", "kind", "attempt"]);
                for d in &queue {
                    t.row(vec![
                        d.id.clone(),
                        d.event.seq.to_string(),
                        d.event.kind.to_string(),
                        d.attempt.to_string(),
                    ]);
                }
                t
            });
        }
        PluginCmd::DeadLetters { id } => {
            let dead = desk.plugin_dead_letters(me, InstallId::new(id))?;
            let data: Vec<_> = dead.iter().map(|d| json!({ "seq": d.event.seq, "kind": d.event.kind, "attempts": d.attempts, "last_error": d.last_error, "at": d.at })).collect();
            return ctx.out.emit("dead_letters", &data, || {
                let mut t = Table::new(&["event", "kind", "attempts", "at", "last error"]);
                for d in &dead {
                    t.row(vec![
                        d.event.seq.to_string(),
                        d.event.kind.to_string(),
                        d.attempts.to_string(),
                        d.at.to_string(),
                        d.last_error.clone(),
                    ]);
                }
                t
            });
        }
        PluginCmd::Replay { id, after } => {
            let queued = match after {
                Some(seq) => desk.replay_plugin_events(me, InstallId::new(id), seq)?,
                None => u64::try_from(desk.replay_dead_letters(me, InstallId::new(id), None)?)
                    .unwrap_or(u64::MAX),
            };
            return ctx.out.emit("replay", &json!({ "queued": queued }), || {
                let mut t = Table::new(&["queued again"]);
                t.row(vec![queued.to_string()]);
                t
            });
        }
        PluginCmd::Render {
            id,
            location,
            ticket,
        } => {
            let location = match location {
                Location::TicketSidebar => WidgetLocation::TicketSidebar,
                Location::TicketHeader => WidgetLocation::TicketHeader,
                Location::AgentDashboard => WidgetLocation::AgentDashboard,
            };
            let widget =
                host(ctx)?.render(InstallId::new(id), location, me, ticket.map(TicketId::new))?;
            if ctx.out.json {
                return ctx.out.emit("widget", &widget.to_json(), Table::default);
            }
            println!("{}", widget.to_html());
            return Ok(());
        }
    };
    ctx.out.emit("plugin", &install_json(&install), || {
        installs_table(std::slice::from_ref(&install))
    })
}
