//! The `key` and `token` subcommands.

use std::time::Duration;

use anyhow::bail;
use helpdesk::{
    ActAs, Action, AgentId, ApiKey, KeyId, KeyKind, KeyUpdate, NewKey, NewToken, RequesterId,
    Scopes, Timestamp,
};
use serde_json::json;

use crate::cli::{KeyCmd, TokenCmd};
use crate::commands::Ctx;
use crate::output::Table;

fn scopes(actions: &[Action]) -> Scopes {
    actions.iter().copied().collect()
}

fn kind_text(kind: &KeyKind) -> String {
    match kind {
        KeyKind::Agent { agent } => format!("agent {agent}"),
        KeyKind::Superuser {
            default_agent: Some(a),
        } => format!("superuser (default agent {a})"),
        KeyKind::Superuser {
            default_agent: None,
        } => "superuser".into(),
    }
}

pub(crate) fn key_json(k: &ApiKey) -> serde_json::Value {
    json!({
        "id": k.id,
        "description": k.description,
        "kind": kind_text(&k.kind),
        "admin_functions": k.admin_functions,
        "scopes": k.scopes.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "expires_at": k.expires_at,
        "networks": k.networks.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "enabled": k.enabled,
        "overlap_until": k.overlap_until,
        "created_at": k.created_at,
        "updated_at": k.updated_at,
    })
}

fn keys_table(keys: &[ApiKey]) -> Table {
    let mut t = Table::new(&[
        "id",
        "description",
        "kind",
        "enabled",
        "admin",
        "expires",
        "scopes",
    ]);
    for k in keys {
        t.row(vec![
            k.id.to_string(),
            k.description.clone(),
            kind_text(&k.kind),
            k.enabled.to_string(),
            k.admin_functions.to_string(),
            k.expires_at
                .map(|e| e.to_string())
                .unwrap_or_else(|| "-".into()),
            k.scopes.to_string(),
        ]);
    }
    t
}

pub(crate) fn key(ctx: &Ctx, cmd: KeyCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    let key = match cmd {
        KeyCmd::Create {
            description,
            agent,
            superuser,
            default_agent,
            admin_functions,
            scopes: s,
            expires_in_days,
            networks,
        } => {
            let scopes = scopes(&s);
            let mut new = match (agent, superuser) {
                (Some(agent), false) => NewKey::agent(description, AgentId::new(agent), scopes),
                (None, true) => {
                    NewKey::superuser(description, default_agent.map(AgentId::new), scopes)
                }
                _ => bail!("give either `--agent ID` or `--superuser`"),
            };
            new.admin_functions = admin_functions;
            new.expires_at =
                expires_in_days.map(|d| desk.now().add_millis(i64::from(d) * 86_400_000));
            new.networks = networks;
            let issued = desk.create_key(me, new)?;
            return print_code(ctx, &issued.key, &issued.code.expose());
        }
        KeyCmd::List => {
            let keys = desk.keys(me)?;
            let data: Vec<_> = keys.iter().map(key_json).collect();
            return ctx.out.emit("keys", &data, || keys_table(&keys));
        }
        KeyCmd::Show { id } => desk.key(me, KeyId::new(id))?,
        KeyCmd::Log { id } => {
            let log = desk.key_log(me, KeyId::new(id))?;
            let data: Vec<_> = log
                .iter()
                .map(|r| {
                    json!({
                        "at": r.at, "operation": r.operation, "actor": r.actor.map(|a| format!("{a:?}")),
                        "token": r.token, "outcome": r.outcome.to_string(), "source_ip": r.source_ip,
                    })
                })
                .collect();
            return ctx.out.emit("key_log", &data, || {
                let mut t = Table::new(&["at", "operation", "as", "outcome", "source"]);
                for r in &log {
                    t.row(vec![
                        r.at.to_string(),
                        r.operation.clone(),
                        r.actor
                            .map(|a| format!("{a:?}"))
                            .unwrap_or_else(|| "-".into()),
                        r.outcome.to_string(),
                        r.source_ip
                            .map(|ip| ip.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]);
                }
                t
            });
        }
        KeyCmd::Update {
            id,
            description,
            scopes: s,
            admin_functions,
            expires_in_days,
            no_expiry,
            networks,
            any_network,
            default_agent,
            no_default_agent,
        } => {
            let expires_at = match (expires_in_days, no_expiry) {
                (Some(d), _) => Some(Some(desk.now().add_millis(i64::from(d) * 86_400_000))),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let networks = match (networks.is_empty(), any_network) {
                (false, _) => Some(networks),
                (true, true) => Some(Vec::new()),
                (true, false) => None,
            };
            let default_agent = match (default_agent, no_default_agent) {
                (Some(a), _) => Some(Some(AgentId::new(a))),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let update = KeyUpdate {
                description,
                scopes: if s.is_empty() { None } else { Some(scopes(&s)) },
                admin_functions,
                expires_at,
                networks,
                default_agent,
            };
            desk.update_key(me, KeyId::new(id), update)?
        }
        KeyCmd::Regenerate {
            id,
            overlap_minutes,
        } => {
            let overlap = overlap_minutes.map(|m| Duration::from_secs(m.saturating_mul(60)));
            let issued = desk.regenerate_key(me, KeyId::new(id), overlap)?;
            return print_code(ctx, &issued.key, &issued.code.expose());
        }
        KeyCmd::Enable { id } => desk.set_key_enabled(me, KeyId::new(id), true)?,
        KeyCmd::Disable { id } => desk.set_key_enabled(me, KeyId::new(id), false)?,
        KeyCmd::Delete { id } => {
            desk.delete_key(me, KeyId::new(id))?;
            return ctx.out.emit("key_deleted", &json!({ "id": id }), || {
                let mut t = Table::new(&["deleted key"]);
                t.row(vec![id.to_string()]);
                t
            });
        }
    };
    ctx.out.emit("key", &key_json(&key), || {
        keys_table(std::slice::from_ref(&key))
    })
}

/// Prints a key with its full code, which is shown this once.
fn print_code(ctx: &Ctx, key: &ApiKey, code: &str) -> anyhow::Result<()> {
    let mut data = key_json(key);
    data["code"] = json!(code);
    ctx.out
        .emit("key_code", &data, || keys_table(std::slice::from_ref(key)))?;
    if !ctx.out.json {
        println!("code: {code}");
    }
    eprintln!("the key code is shown this once: store it now");
    Ok(())
}

pub(crate) fn token(ctx: &Ctx, cmd: TokenCmd) -> anyhow::Result<()> {
    let TokenCmd::Mint {
        key,
        agent,
        requester,
        minutes,
        scopes: s,
    } = cmd;
    let mut new = match (agent, requester) {
        (Some(a), None) => NewToken::for_agent(AgentId::new(a)),
        (None, Some(r)) => NewToken::for_requester(RequesterId::new(r)),
        _ => bail!("give either `--agent ID` or `--requester ID`"),
    };
    if let Some(m) = minutes {
        new = new.with_lifetime_minutes(m);
    }
    if !s.is_empty() {
        new = new.with_scopes(scopes(&s));
    }
    let minted = ctx.system.mint_token(KeyId::new(key), new)?;
    let person = match minted.person {
        ActAs::Agent(a) => format!("agent {a}"),
        ActAs::Requester(r) => format!("requester {r}"),
    };
    let data = json!({
        "userKey": minted.token.expose(),
        "token_id": minted.id,
        "key": minted.key,
        "acts_as": person,
        "scopes": minted.scopes.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "expires_in": minted.expires_in,
        "expires_on": minted.expires_on,
    });
    ctx.out.emit("token", &data, || {
        let mut t = Table::new(&[
            "token id",
            "acts as",
            "expires in (s)",
            "expires on",
            "token",
        ]);
        t.row(vec![
            minted.id.to_string(),
            person.clone(),
            minted.expires_in.to_string(),
            Timestamp::to_string(&minted.expires_on),
            minted.token.expose().to_string(),
        ]);
        t
    })
}
