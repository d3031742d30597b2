//! Plugin installs as data: manifests, content-addressed wasm, grants, app identities (`installs`),
//! settings, secret ones only as ciphertext (`settings`), each install's key-value store (`kv`),
//! and event delivery state: the queue taken from the outbox, retries with backoff, dead letters
//! (`delivery`).

mod delivery;
mod installs;
mod kv;
mod settings;
#[cfg(test)]
mod tests;

use helpdesk_domain::{
    AccessLevel, AgentId, Attribution, Change, DepartmentId, Event, EventKind, HistoryField,
    HistorySubject, HistoryValue, InstallId, KeyId, KeyKind, RoleId, Scopes, Timestamp,
    ValidationError,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use crate::Store;
use helpdesk_domain::Error;

use crate::error::{Entity, Failure, Result, not_found, rule};
use crate::history::record;
use crate::keys::{KeyRecord, KeyRecordUpdate, NewKeyRecord};
use crate::outbox::{
    ConsumerOwner, cursor, delete_consumer, insert_consumer, prune_acknowledged, set_cursor,
};
use crate::row::{
    attribution_params, bad_code, from_json, is_unique_violation, read_scopes, scope_names,
    scopes_text, to_json,
};

fn install_key_rule() -> Failure {
    rule(
        "key",
        "an install has its own key exactly when its grant is not empty",
    )
}

/// Whether an install runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallStateRecord {
    /// Running.
    Enabled,
    /// Turned off by an administrator.
    Disabled,
    /// Turned off by the host after repeated failures, with the reason.
    AutoDisabled(String),
}

/// An install as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct InstallRecord {
    /// Its id.
    pub id: InstallId,
    /// The manifest's plugin id (unique among installs).
    pub plugin_id: String,
    /// The installed version.
    pub version: String,
    /// The manifest, as JSON (the facade owns its shape).
    pub manifest: serde_json::Value,
    /// SHA-256 of the wasm, in hex.
    pub wasm_hash: String,
    /// Granted scope names, in canonical order.
    pub granted: Scopes,
    /// The install's app identity.
    pub app_agent: AgentId,
    /// The install's API key, once keys are bound to installs.
    pub key: Option<KeyId>,
    /// Enabled, disabled or disabled automatically.
    pub state: InstallStateRecord,
    /// Failed delivery attempts in a row.
    pub consecutive_failures: u32,
    /// Outbox events dropped by retention before the install took them onto its queue.
    pub missed_events: u64,
    /// Who installed it.
    pub installed_by: Attribution,
    /// When.
    pub installed_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// How the app identity of a new install is set up: an agent-like account mirroring the rights
/// of the administrator who installed it (the install's grant narrows it further).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppAgentSpec {
    /// Its display name, shown in history.
    pub name: String,
    /// Whether it has administrator rights (the installer had them).
    pub admin: bool,
    /// Its roles.
    pub roles: Vec<RoleId>,
    /// Its department levels.
    pub memberships: Vec<(DepartmentId, AccessLevel)>,
}

/// A new install.
#[derive(Clone, Debug)]
pub struct NewInstallRecord {
    /// The manifest's plugin id.
    pub plugin_id: String,
    /// Its version.
    pub version: String,
    /// The manifest as JSON.
    pub manifest: serde_json::Value,
    /// The component.
    pub wasm: Vec<u8>,
    /// SHA-256 of `wasm`, in hex.
    pub wasm_hash: String,
    /// Granted scope names.
    pub granted: Scopes,
    /// The app identity to create.
    pub app_agent: AppAgentSpec,
    /// Initial settings.
    pub settings: Vec<(String, SettingValue)>,
    /// The install's own API key, for a non-empty grant: created in the same transaction, bound
    /// to the app identity, with exactly the granted scopes.
    pub key: Option<InstallKey>,
}

/// The API key of an install, made with the install in one transaction: an agent key of its app
/// identity with the install's grant as scopes, described as `plugin install <id>: <label>`.
#[derive(Clone)]
pub struct InstallKey {
    /// The plugin's name, for the key's description.
    pub label: String,
    /// The argon2id PHC string of a secret nobody keeps.
    pub secret_hash: String,
}

impl std::fmt::Debug for InstallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallKey")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// What an upgrade or uninstall did to the install's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallKeyChange {
    /// Nothing.
    Unchanged,
    /// The key was created, or its scopes changed: its record now.
    Written(KeyRecord),
    /// The key was deleted.
    Deleted(KeyId),
}

/// A new version of an installed plugin.
#[derive(Clone, Debug)]
pub struct UpgradeRecord {
    /// The new version.
    pub version: String,
    /// Its manifest as JSON.
    pub manifest: serde_json::Value,
    /// Its component.
    pub wasm: Vec<u8>,
    /// SHA-256 of `wasm`, in hex.
    pub wasm_hash: String,
    /// The grant from now on.
    pub granted: Scopes,
    /// A key for an install that has none and gets a non-empty grant.
    pub new_key: Option<InstallKey>,
}

/// A stored setting value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingValue {
    /// A plain value.
    Plain(String),
    /// A secret: nonce and ciphertext, opaque to the store.
    Secret(Vec<u8>),
}

/// An event waiting to be delivered to an install.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingDelivery {
    /// The event.
    pub event: Event,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_at: Timestamp,
    /// The last failure.
    pub last_error: Option<String>,
}

/// A delivery given up after repeated failure.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetterRecord {
    /// The event.
    pub event: Event,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure.
    pub last_error: String,
    /// When it was given up.
    pub at: Timestamp,
}

/// The outbox consumer that feeds an install's delivery queue.
pub fn consumer_name(id: InstallId) -> String {
    format!("plugin-{id}")
}

const INSTALL_COLUMNS: &str = "id, plugin_id, version, manifest, wasm_hash, granted, app_agent_id, key_id, \
     state, state_reason, consecutive_failures, installed_by_kind, installed_by_id, installed_at, updated_at, \
     missed_events";

fn read_install(r: &Row<'_>) -> rusqlite::Result<InstallRecord> {
    let state: i64 = r.get(8)?;
    let reason: Option<String> = r.get(9)?;
    let state = match state {
        0 => InstallStateRecord::Enabled,
        1 => InstallStateRecord::Disabled,
        2 => InstallStateRecord::AutoDisabled(reason.unwrap_or_default()),
        other => return Err(bad_code(8, "install state", other)),
    };
    let by_kind: i64 = r.get(11)?;
    let by_id: Option<i64> = r.get(12)?;
    let actor = match (by_kind, by_id) {
        (1, Some(id)) => helpdesk_domain::Actor::Agent(AgentId::new(id)),
        (2, Some(id)) => helpdesk_domain::Actor::Requester(helpdesk_domain::RequesterId::new(id)),
        _ => helpdesk_domain::Actor::System,
    };
    Ok(InstallRecord {
        id: InstallId::new(r.get(0)?),
        plugin_id: r.get(1)?,
        version: r.get(2)?,
        manifest: from_json(3, &r.get::<_, String>(3)?)?,
        wasm_hash: r.get(4)?,
        granted: read_scopes(r, 5)?,
        app_agent: AgentId::new(r.get::<_, Option<i64>>(6)?.unwrap_or(0)),
        key: r.get::<_, Option<i64>>(7)?.map(KeyId::new),
        state,
        consecutive_failures: u32::try_from(r.get::<_, i64>(10)?).unwrap_or(u32::MAX),
        installed_by: Attribution::direct(actor),
        installed_at: Timestamp::from_millis(r.get(13)?),
        updated_at: Timestamp::from_millis(r.get(14)?),
        missed_events: u64::try_from(r.get::<_, i64>(15)?).unwrap_or(0),
    })
}

fn load_install(conn: &Connection, id: InstallId) -> Result<InstallRecord> {
    conn.prepare_cached(&format!(
        "SELECT {INSTALL_COLUMNS} FROM plugin_installs WHERE id = ?1"
    ))?
    .query_row([id.get()], read_install)
    .optional()?
    .ok_or_else(|| not_found(Entity::Install, id))
}

/// Scopes as a history value.
fn names(scopes: Scopes) -> HistoryValue {
    HistoryValue::Names(scope_names(scopes).into_iter().map(str::to_owned).collect())
}

fn state_params(state: &InstallStateRecord) -> (i64, Option<&str>) {
    match state {
        InstallStateRecord::Enabled => (0, None),
        InstallStateRecord::Disabled => (1, None),
        InstallStateRecord::AutoDisabled(reason) => (2, Some(reason.as_str())),
    }
}

fn put_setting(
    conn: &Connection,
    at: Timestamp,
    id: InstallId,
    name: &str,
    value: Option<&SettingValue>,
) -> Result<()> {
    match value {
        None => {
            conn.prepare_cached("DELETE FROM plugin_settings WHERE install_id = ?1 AND name = ?2")?
                .execute(params![id.get(), name])?;
        }
        Some(value) => {
            let (plain, secret) = match value {
                SettingValue::Plain(v) => (Some(v.as_str()), None),
                SettingValue::Secret(b) => (None, Some(b.as_slice())),
            };
            conn.prepare_cached(
                "INSERT INTO plugin_settings (install_id, name, value, secret, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (install_id, name) DO UPDATE
                 SET value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at",
            )?
            .execute(params![id.get(), name, plain, secret, at.as_millis()])?;
        }
    }
    Ok(())
}

fn ticket_key(event: &Event) -> i64 {
    event.ticket.map_or(0, helpdesk_domain::TicketId::get)
}
