//! Example app using its key-value store and a secret setting: counts events by kind,
//! de-duplicating redeliveries by their delivery id, and signs each with the secret `api-token`
//! (the token itself is never logged or stored anywhere the plugin can show it).

use helpdesk_plugin_sdk::{Context, Event, Plugin, Tone, Widget, export_plugin, kv, log, settings};

struct Ledger;

fn count(key: &str) -> u64 {
    kv::get(key)
        .ok()
        .flatten()
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn bump(key: &str) -> Result<(), String> {
    let n = count(key) + 1;
    kv::set(key, n.to_string().as_bytes()).map_err(|e| e.describe())
}

/// FNV-1a: enough for a demonstration signature, not a real MAC.
fn sign(token: &str, message: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token.bytes().chain([0]).chain(message.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Plugin for Ledger {
    fn on_event(event: Event) -> Result<(), String> {
        let seen = format!("seen/{}", event.delivery_id);
        if kv::get(&seen).map_err(|e| e.describe())?.is_some() {
            log::debug(&format!("delivery {} already counted", event.delivery_id));
            return Ok(());
        }
        let token = settings::get("api-token")
            .map_err(|e| e.describe())?
            .ok_or_else(|| "the `api-token` setting is not set".to_owned())?;
        kv::set(
            "last-signature",
            sign(&token, &event.delivery_id).as_bytes(),
        )
        .map_err(|e| e.describe())?;
        bump(&format!("count/{}", event.kind))?;
        bump("total")?;
        kv::set(&seen, b"1").map_err(|e| e.describe())
    }

    fn render(_context: Context) -> Result<Widget, String> {
        let configured = matches!(settings::get("api-token"), Ok(Some(_)));
        let kinds = ["ticket.created", "ticket.updated", "message.added"];
        Ok(Widget::new("Event ledger")
            .badge(
                if configured {
                    "token configured"
                } else {
                    "token missing"
                },
                if configured {
                    Tone::Success
                } else {
                    Tone::Danger
                },
            )
            .key_values(
                kinds
                    .iter()
                    .map(|k| ((*k).to_owned(), count(&format!("count/{k}")).to_string()))
                    .chain([("total".to_owned(), count("total").to_string())])
                    .collect(),
            ))
    }
}

export_plugin!(Ledger);
