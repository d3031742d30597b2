//! Plugin installs as data: manifests, content-addressed wasm, grants, app identities, settings
//! (secret ones only as ciphertext), each install's key-value store, and event delivery state
//! (the queue taken from the outbox, retries with backoff, dead letters).

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

impl Store {
    /// Installs a plugin in one transaction: the wasm (content-addressed), the install, its app
    /// identity, its settings, its outbox consumer (starting now), history and an event.
    pub fn install_plugin(
        &self,
        at: Timestamp,
        by: &Attribution,
        new: NewInstallRecord,
    ) -> helpdesk_domain::Result<(InstallRecord, Option<KeyRecord>)> {
        if new.granted.is_empty() != new.key.is_none() {
            return Err(install_key_rule().into());
        }
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO plugin_wasm (hash, bytes, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![new.wasm_hash, new.wasm, at.as_millis()])?;
            let (bk, bi, _, _, _) = attribution_params(by);
            tx.prepare_cached(
                "INSERT INTO plugin_installs (plugin_id, version, manifest, wasm_hash, granted, state,
                     installed_by_kind, installed_by_id, installed_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?8)",
            )?
            .execute(params![
                new.plugin_id,
                new.version,
                to_json(&new.manifest)?,
                new.wasm_hash,
                scopes_text(new.granted),
                bk,
                bi,
                at.as_millis()
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Failure::from(Error::Duplicate {
                        entity: Entity::Install,
                        field: "plugin id",
                        value: new.plugin_id.clone(),
                    })
                } else {
                    e.into()
                }
            })?;
            let id = InstallId::new(tx.last_insert_rowid());
            // The app identity: an agent-like account nobody signs in as (its address is in
            // the reserved `.invalid` domain), shown as the app in history.
            let email = format!("app-{id}@plugins.invalid");
            tx.prepare_cached(
                "INSERT INTO agents (name, email, email_norm, active, admin, created_at, updated_at, app_install)
                 VALUES (?1, ?2, ?2, 1, ?3, ?4, ?4, ?5)",
            )?
            .execute(params![
                new.app_agent.name,
                email,
                new.app_agent.admin,
                at.as_millis(),
                id.get()
            ])?;
            let agent = AgentId::new(tx.last_insert_rowid());
            for role in &new.app_agent.roles {
                tx.prepare_cached("INSERT INTO agent_roles (agent_id, role_id) VALUES (?1, ?2)")?
                    .execute(params![agent.get(), role.get()])?;
            }
            for (department, level) in &new.app_agent.memberships {
                tx.prepare_cached(
                    "INSERT INTO department_members (department_id, agent_id, level) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![department.get(), agent.get(), level.code()])?;
            }
            tx.prepare_cached("UPDATE plugin_installs SET app_agent_id = ?2 WHERE id = ?1")?
                .execute(params![id.get(), agent.get()])?;
            let key = match &new.key {
                Some(key) => Some(self.issue_install_key(tx, at, by, id, agent, new.granted, key)?),
                None => None,
            };
            for (name, value) in &new.settings {
                put_setting(tx, at, id, name, Some(value))?;
            }
            let head: i64 = tx.query_row(
                "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
                [],
                |r| r.get(0),
            )?;
            let queue = consumer_name(id);
            delete_consumer(tx, ConsumerOwner::Core, &queue)?;
            insert_consumer(tx, ConsumerOwner::Core, &queue, head, at)?;
            record(tx, at, by, HistorySubject::Agent(agent), &Change::Created)?;
            self.event(
                tx,
                at,
                by,
                EventKind::PluginInstalled,
                json!({ "install": id, "plugin": new.plugin_id, "version": new.version,
                        "agent": agent, "granted": scope_names(new.granted) }),
            )?;
            Ok((load_install(tx, id)?, key))
        })
    }

    /// Creates the key of install `id` and binds it to the install.
    #[expect(
        clippy::too_many_arguments,
        reason = "one transaction's worth of context"
    )]
    fn issue_install_key(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
        agent: AgentId,
        granted: Scopes,
        key: &InstallKey,
    ) -> Result<KeyRecord> {
        let record = self.insert_key(
            tx,
            at,
            by,
            NewKeyRecord {
                description: format!("plugin install {id}: {}", key.label),
                kind: KeyKind::Agent { agent },
                admin_functions: false,
                scopes: granted,
                expires_at: None,
                networks: Vec::new(),
                secret_hash: key.secret_hash.clone(),
            },
        )?;
        tx.prepare_cached("UPDATE plugin_installs SET key_id = ?2 WHERE id = ?1")?
            .execute(params![id.get(), record.id.get()])?;
        Ok(record)
    }

    /// One install.
    pub fn install(&self, id: InstallId) -> helpdesk_domain::Result<InstallRecord> {
        self.read(|tx| load_install(tx, id))
    }

    /// Every install, by id.
    pub fn installs(&self) -> helpdesk_domain::Result<Vec<InstallRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {INSTALL_COLUMNS} FROM plugin_installs ORDER BY id"
            ))?;
            Ok(stmt
                .query_map([], read_install)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The wasm with this hash.
    pub fn plugin_wasm(&self, hash: &str) -> helpdesk_domain::Result<Vec<u8>> {
        self.read(|tx| {
            tx.prepare_cached("SELECT bytes FROM plugin_wasm WHERE hash = ?1")?
                .query_row([hash], |r| r.get(0))
                .optional()?
                .ok_or_else(|| not_found(Entity::Install, hash))
        })
    }

    /// Enables or disables an install; enabling clears the failure count. The app identity is
    /// active exactly while the install is enabled.
    pub fn set_install_state(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
        state: InstallStateRecord,
    ) -> helpdesk_domain::Result<InstallRecord> {
        self.write(|tx| {
            let before = load_install(tx, id)?;
            if before.state == state {
                return Ok(before);
            }
            let (code, reason) = state_params(&state);
            tx.prepare_cached(
                "UPDATE plugin_installs SET state = ?2, state_reason = ?3, updated_at = ?4,
                     consecutive_failures = CASE WHEN ?2 = 0 THEN 0 ELSE consecutive_failures END
                 WHERE id = ?1",
            )?
            .execute(params![id.get(), code, reason, at.as_millis()])?;
            let enabled = state == InstallStateRecord::Enabled;
            let was_enabled = before.state == InstallStateRecord::Enabled;
            if enabled != was_enabled {
                tx.prepare_cached("UPDATE agents SET active = ?2, updated_at = ?3 WHERE id = ?1")?
                    .execute(params![before.app_agent.get(), enabled, at.as_millis()])?;
                record(
                    tx,
                    at,
                    by,
                    HistorySubject::Agent(before.app_agent),
                    &Change::Set {
                        field: HistoryField::Active,
                        old: HistoryValue::Bool(was_enabled),
                        new: HistoryValue::Bool(enabled),
                    },
                )?;
            }
            let change = match &state {
                InstallStateRecord::Enabled => "enabled",
                InstallStateRecord::Disabled => "disabled",
                InstallStateRecord::AutoDisabled(_) => "auto_disabled",
            };
            self.event(
                tx,
                at,
                by,
                EventKind::PluginUpdated,
                json!({ "install": id, "plugin": before.plugin_id, "change": change, "reason": reason }),
            )?;
            load_install(tx, id)
        })
    }

    /// Replaces an install's version, manifest, wasm and grant.
    pub fn upgrade_install(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
        upgrade: &UpgradeRecord,
    ) -> helpdesk_domain::Result<(InstallRecord, InstallKeyChange)> {
        let UpgradeRecord {
            version,
            manifest,
            wasm,
            wasm_hash,
            granted,
            new_key,
        } = upgrade;
        let (version, granted) = (version.as_str(), *granted);
        self.write(|tx| {
            let before = load_install(tx, id)?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO plugin_wasm (hash, bytes, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![wasm_hash, wasm, at.as_millis()])?;
            tx.prepare_cached(
                "UPDATE plugin_installs SET version = ?2, manifest = ?3, wasm_hash = ?4, granted = ?5,
                     updated_at = ?6 WHERE id = ?1",
            )?
            .execute(params![
                id.get(),
                version,
                to_json(manifest)?,
                wasm_hash,
                scopes_text(granted),
                at.as_millis()
            ])?;
            let subject = HistorySubject::Agent(before.app_agent);
            if before.version != version {
                record(
                    tx,
                    at,
                    by,
                    subject,
                    &Change::Set {
                        field: HistoryField::Custom("plugin.version".to_owned()),
                        old: HistoryValue::Text(before.version.clone()),
                        new: HistoryValue::Text(version.to_owned()),
                    },
                )?;
            }
            if before.granted != granted {
                record(
                    tx,
                    at,
                    by,
                    subject,
                    &Change::Set {
                        field: HistoryField::Permissions,
                        old: names(before.granted),
                        new: names(granted),
                    },
                )?;
            }
            self.event(
                tx,
                at,
                by,
                EventKind::PluginUpdated,
                json!({ "install": id, "plugin": before.plugin_id, "change": "upgraded",
                        "from": before.version, "to": version, "granted": scope_names(granted) }),
            )?;
            self.drop_unused_wasm(tx)?;
            // The install's key follows its grant: same scopes, none for an empty grant (and an
            // install left without its key gets one).
            let key = match (before.key, granted.is_empty(), new_key) {
                (None, false, Some(new_key)) => InstallKeyChange::Written(self.issue_install_key(
                    tx,
                    at,
                    by,
                    id,
                    before.app_agent,
                    granted,
                    new_key,
                )?),
                (None, false, None) => return Err(install_key_rule()),
                _ if before.granted == granted => InstallKeyChange::Unchanged,
                (Some(key), false, _) => {
                    let update = KeyRecordUpdate {
                        scopes: Some(granted),
                        ..KeyRecordUpdate::default()
                    };
                    InstallKeyChange::Written(self.change_key(tx, at, by, key, update)?)
                }
                (Some(key), true, _) => {
                    tx.prepare_cached("UPDATE plugin_installs SET key_id = NULL WHERE id = ?1")?
                        .execute([id.get()])?;
                    self.remove_key(tx, at, by, key)?;
                    InstallKeyChange::Deleted(key)
                }
                (None, _, _) => InstallKeyChange::Unchanged,
            };
            Ok((load_install(tx, id)?, key))
        })
    }

    fn drop_unused_wasm(&self, conn: &Connection) -> Result<()> {
        conn.prepare_cached(
            "DELETE FROM plugin_wasm WHERE hash NOT IN (SELECT wasm_hash FROM plugin_installs)",
        )?
        .execute([])?;
        Ok(())
    }

    /// Removes an install with its settings, data, delivery state, outbox consumer and API key;
    /// its app identity is deactivated (history keeps referring to it).
    pub fn uninstall_plugin(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
    ) -> helpdesk_domain::Result<InstallKeyChange> {
        self.write(|tx| {
            let before = load_install(tx, id)?;
            for table in [
                "plugin_settings",
                "plugin_kv",
                "plugin_deliveries",
                "plugin_dead_letters",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE install_id = ?1"),
                    [id.get()],
                )?;
            }
            tx.execute("DELETE FROM plugin_installs WHERE id = ?1", [id.get()])?;
            let key = match before.key {
                Some(key) => {
                    self.remove_key(tx, at, by, key)?;
                    InstallKeyChange::Deleted(key)
                }
                None => InstallKeyChange::Unchanged,
            };
            delete_consumer(tx, ConsumerOwner::Core, &consumer_name(id))?;
            tx.execute(
                "UPDATE agents SET active = 0, updated_at = ?2 WHERE id = ?1",
                params![before.app_agent.get(), at.as_millis()],
            )?;
            tx.execute(
                "DELETE FROM department_members WHERE agent_id = ?1",
                [before.app_agent.get()],
            )?;
            record(
                tx,
                at,
                by,
                HistorySubject::Agent(before.app_agent),
                &Change::Deleted,
            )?;
            self.event(
                tx,
                at,
                by,
                EventKind::PluginUninstalled,
                json!({ "install": id, "plugin": before.plugin_id }),
            )?;
            self.drop_unused_wasm(tx)?;
            prune_acknowledged(tx)?;
            Ok(key)
        })
    }

    // ---- settings ----------------------------------------------------------------------

    /// Sets (or with `None` removes) one setting.
    pub fn set_plugin_setting(
        &self,
        at: Timestamp,
        id: InstallId,
        name: &str,
        value: Option<SettingValue>,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            load_install(tx, id)?;
            put_setting(tx, at, id, name, value.as_ref())
        })
    }

    /// Every stored setting of an install, by name.
    pub fn plugin_settings(
        &self,
        id: InstallId,
    ) -> helpdesk_domain::Result<Vec<(String, SettingValue)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT name, value, secret FROM plugin_settings WHERE install_id = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([id.get()], |r| {
                let name: String = r.get(0)?;
                let value: Option<String> = r.get(1)?;
                let secret: Option<Vec<u8>> = r.get(2)?;
                Ok((name, value, secret))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (name, value, secret) = row?;
                match (value, secret) {
                    (Some(v), _) => out.push((name, SettingValue::Plain(v))),
                    (None, Some(s)) => out.push((name, SettingValue::Secret(s))),
                    (None, None) => {}
                }
            }
            Ok(out)
        })
    }

    /// One stored setting.
    pub fn plugin_setting(
        &self,
        id: InstallId,
        name: &str,
    ) -> helpdesk_domain::Result<Option<SettingValue>> {
        self.read(|tx| {
            let row = tx
                .prepare_cached(
                    "SELECT value, secret FROM plugin_settings WHERE install_id = ?1 AND name = ?2",
                )?
                .query_row(params![id.get(), name], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                    ))
                })
                .optional()?;
            Ok(match row {
                Some((Some(v), _)) => Some(SettingValue::Plain(v)),
                Some((None, Some(s))) => Some(SettingValue::Secret(s)),
                _ => None,
            })
        })
    }

    // ---- key-value store ---------------------------------------------------------------

    /// A value from an install's key-value store.
    pub fn plugin_kv_get(
        &self,
        id: InstallId,
        key: &str,
    ) -> helpdesk_domain::Result<Option<Vec<u8>>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT value FROM plugin_kv WHERE install_id = ?1 AND key = ?2")?
                .query_row(params![id.get(), key], |r| r.get(0))
                .optional()?)
        })
    }

    /// Stores a value, refusing with [`ValidationError::TooLong`] (field `key-value store`) if
    /// the install's keys and values would then take more than `max_bytes`.
    pub fn plugin_kv_set(
        &self,
        id: InstallId,
        key: &str,
        value: &[u8],
        max_bytes: u64,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            let used: i64 = tx
                .prepare_cached(
                    "SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0)
                     FROM plugin_kv WHERE install_id = ?1 AND key <> ?2",
                )?
                .query_row(params![id.get(), key], |r| r.get(0))?;
            let total = u64::try_from(used).unwrap_or(0) + (key.len() + value.len()) as u64;
            if total > max_bytes {
                return Err(ValidationError::TooLong {
                    field: "key-value store",
                    len: usize::try_from(total).unwrap_or(usize::MAX),
                    max: usize::try_from(max_bytes).unwrap_or(usize::MAX),
                }
                .into());
            }
            tx.prepare_cached(
                "INSERT INTO plugin_kv (install_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (install_id, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![id.get(), key, value])?;
            Ok(())
        })
    }

    /// Removes a key; removing a missing key is not an error.
    pub fn plugin_kv_delete(&self, id: InstallId, key: &str) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM plugin_kv WHERE install_id = ?1 AND key = ?2")?
                .execute(params![id.get(), key])?;
            Ok(())
        })
    }

    // ---- delivery ----------------------------------------------------------------------

    /// Puts `events` on an install's delivery queue, counts `missed` events that retention
    /// dropped before the install took them, and moves its outbox consumer to `ack_to`, in one
    /// transaction (a crash before it redelivers: at least once).
    pub fn enqueue_deliveries(
        &self,
        id: InstallId,
        events: &[Event],
        missed: u64,
        ack_to: u64,
        now: Timestamp,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            if missed > 0 {
                tx.prepare_cached(
                    "UPDATE plugin_installs SET missed_events = missed_events + ?2 WHERE id = ?1",
                )?
                .execute(params![id.get(), i64::try_from(missed).unwrap_or(i64::MAX)])?;
            }
            for event in events {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO plugin_deliveries (install_id, seq, ticket_key, event, next_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    id.get(),
                    i64::try_from(event.seq).unwrap_or(i64::MAX),
                    ticket_key(event),
                    to_json(event)?,
                    now.as_millis()
                ])?;
            }
            let queue = consumer_name(id);
            let ack_to = i64::try_from(ack_to).unwrap_or(i64::MAX);
            let cursor = cursor(tx, ConsumerOwner::Core, &queue)?
                .ok_or_else(|| not_found(Entity::Consumer, &queue))?;
            set_cursor(tx, ConsumerOwner::Core, &queue, cursor.max(ack_to))?;
            Ok(())
        })
    }

    /// The deliveries due at `now`: per ticket only the oldest queued event (so each ticket's
    /// events arrive in order), in sequence order, at most `limit`.
    pub fn due_deliveries(
        &self,
        id: InstallId,
        now: Timestamp,
        limit: usize,
    ) -> helpdesk_domain::Result<Vec<PendingDelivery>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT d.event, d.attempts, d.next_at, d.last_error FROM plugin_deliveries d
                 WHERE d.install_id = ?1 AND d.next_at <= ?2
                   AND d.seq = (SELECT min(seq) FROM plugin_deliveries o
                                WHERE o.install_id = d.install_id AND o.ticket_key = d.ticket_key)
                 ORDER BY d.seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![
                    id.get(),
                    now.as_millis(),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok(PendingDelivery {
                        event: from_json(0, &r.get::<_, String>(0)?)?,
                        attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                        next_at: Timestamp::from_millis(r.get(2)?),
                        last_error: r.get(3)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Every queued delivery of an install, in sequence order.
    pub fn queued_deliveries(
        &self,
        id: InstallId,
    ) -> helpdesk_domain::Result<Vec<PendingDelivery>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT event, attempts, next_at, last_error FROM plugin_deliveries
                 WHERE install_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id.get()], |r| {
                Ok(PendingDelivery {
                    event: from_json(0, &r.get::<_, String>(0)?)?,
                    attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                    next_at: Timestamp::from_millis(r.get(2)?),
                    last_error: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Records a successful delivery: off the queue, and the failure count back to zero.
    pub fn delivery_succeeded(&self, id: InstallId, seq: u64) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM plugin_deliveries WHERE install_id = ?1 AND seq = ?2")?
                .execute(params![id.get(), i64::try_from(seq).unwrap_or(i64::MAX)])?;
            tx.prepare_cached(
                "UPDATE plugin_installs SET consecutive_failures = 0 WHERE id = ?1 AND consecutive_failures <> 0",
            )?
            .execute([id.get()])?;
            Ok(())
        })
    }

    /// Records a failed attempt: either retried at `retry_at`, or (with `None`) moved to the
    /// dead letters. Returns the install's failures in a row, this one included.
    pub fn delivery_failed(
        &self,
        id: InstallId,
        seq: u64,
        now: Timestamp,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> helpdesk_domain::Result<u32> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.write(|tx| {
            match retry_at {
                Some(at) => {
                    tx.prepare_cached(
                        "UPDATE plugin_deliveries SET attempts = attempts + 1, next_at = ?3, last_error = ?4
                         WHERE install_id = ?1 AND seq = ?2",
                    )?
                    .execute(params![id.get(), seq, at.as_millis(), error])?;
                }
                None => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO plugin_dead_letters (install_id, seq, event, attempts, last_error, at)
                         SELECT install_id, seq, event, attempts + 1, ?3, ?4 FROM plugin_deliveries
                         WHERE install_id = ?1 AND seq = ?2",
                    )?
                    .execute(params![id.get(), seq, error, now.as_millis()])?;
                    tx.prepare_cached(
                        "DELETE FROM plugin_deliveries WHERE install_id = ?1 AND seq = ?2",
                    )?
                    .execute(params![id.get(), seq])?;
                }
            }
            tx.prepare_cached(
                "UPDATE plugin_installs SET consecutive_failures = consecutive_failures + 1 WHERE id = ?1",
            )?
            .execute([id.get()])?;
            let n: i64 = tx
                .prepare_cached("SELECT consecutive_failures FROM plugin_installs WHERE id = ?1")?
                .query_row([id.get()], |r| r.get(0))?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    /// The dead letters of an install, oldest first.
    pub fn dead_letters(&self, id: InstallId) -> helpdesk_domain::Result<Vec<DeadLetterRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT event, attempts, last_error, at FROM plugin_dead_letters
                 WHERE install_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id.get()], |r| {
                Ok(DeadLetterRecord {
                    event: from_json(0, &r.get::<_, String>(0)?)?,
                    attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                    last_error: r.get(2)?,
                    at: Timestamp::from_millis(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Moves dead letters back onto the queue, due at `now` with no attempts counted; `seq`
    /// `None` moves them all. Returns how many.
    pub fn requeue_dead_letters(
        &self,
        id: InstallId,
        seq: Option<u64>,
        now: Timestamp,
    ) -> helpdesk_domain::Result<usize> {
        let seq = seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO plugin_deliveries (install_id, seq, ticket_key, event, next_at)
                     SELECT install_id, seq, coalesce(json_extract(event, '$.ticket'), 0), event, ?3
                     FROM plugin_dead_letters WHERE install_id = ?1 AND (?2 IS NULL OR seq = ?2)",
                )?
                .execute(params![id.get(), seq, now.as_millis()])?;
            tx.prepare_cached(
                "DELETE FROM plugin_dead_letters WHERE install_id = ?1 AND (?2 IS NULL OR seq = ?2)",
            )?
            .execute(params![id.get(), seq])?;
            Ok(n)
        })
    }

    /// Moves an install's outbox consumer back to `after` (clamped to the oldest retained
    /// event), so that the events after it are taken again. Returns the new cursor.
    pub fn rewind_install_consumer(
        &self,
        id: InstallId,
        after: u64,
    ) -> helpdesk_domain::Result<u64> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        self.write(|tx| {
            let oldest: Option<i64> =
                tx.query_row("SELECT min(seq) FROM outbox", [], |r| r.get(0))?;
            let floor = oldest.map_or(after, |o| o - 1);
            let queue = consumer_name(id);
            let current = cursor(tx, ConsumerOwner::Core, &queue)?
                .ok_or_else(|| not_found(Entity::Consumer, &queue))?;
            let cursor = after.max(floor).min(current);
            set_cursor(tx, ConsumerOwner::Core, &queue, cursor)?;
            Ok(u64::try_from(cursor).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use helpdesk_domain::{Actor, TicketId};

    use super::*;
    use crate::StoreOptions;

    const SYSTEM: Attribution = Attribution::direct(Actor::System);

    fn install_key(label: &str) -> Option<InstallKey> {
        Some(InstallKey {
            label: label.into(),
            secret_hash: format!("$argon2id${label}"),
        })
    }

    fn new_install(granted: &[&str]) -> NewInstallRecord {
        NewInstallRecord {
            plugin_id: "probe".into(),
            version: "1".into(),
            manifest: json!({}),
            wasm: b"\0asm".to_vec(),
            wasm_hash: "h".into(),
            granted: Scopes::parse(granted.iter().copied()).unwrap(),
            app_agent: AppAgentSpec {
                name: "Probe (app)".into(),
                admin: false,
                roles: Vec::new(),
                memberships: Vec::new(),
            },
            settings: vec![("secret".into(), SettingValue::Secret(vec![1, 2, 3]))],
            key: if granted.is_empty() {
                None
            } else {
                install_key("Probe")
            },
        }
    }

    fn install(store: &Store) -> InstallRecord {
        store
            .install_plugin(Timestamp::EPOCH, &SYSTEM, new_install(&["tickets.read"]))
            .unwrap()
            .0
    }

    fn upgrade(granted: &[&str], new_key: Option<InstallKey>) -> UpgradeRecord {
        UpgradeRecord {
            version: "2".into(),
            manifest: json!({}),
            wasm: b"\0asm".to_vec(),
            wasm_hash: "h".into(),
            granted: Scopes::parse(granted.iter().copied()).unwrap(),
            new_key,
        }
    }

    /// The key an upgrade wrote.
    fn written(change: InstallKeyChange) -> KeyRecord {
        match change {
            InstallKeyChange::Written(key) => key,
            other => panic!("no key written: {other:?}"),
        }
    }

    #[test]
    fn an_install_and_its_key_are_written_and_removed_together() {
        let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
        let mut keyless = new_install(&["tickets.read"]);
        keyless.key = None;
        assert!(
            store
                .install_plugin(Timestamp::EPOCH, &SYSTEM, keyless)
                .is_err()
        );
        assert!(store.installs().unwrap().is_empty() && store.keys().unwrap().is_empty());

        let (installed, key) = store
            .install_plugin(Timestamp::EPOCH, &SYSTEM, new_install(&["tickets.read"]))
            .unwrap();
        let key = key.unwrap();
        assert_eq!(installed.key, Some(key.id));
        assert_eq!(
            key.kind,
            KeyKind::Agent {
                agent: installed.app_agent
            }
        );
        assert_eq!(key.scopes.to_string(), "tickets.read");
        assert_eq!(
            key.description,
            format!("plugin install {}: Probe", installed.id)
        );

        let id = installed.id;
        let wider = upgrade(&["tickets.read", "tickets.update"], None);
        let (after, change) = store
            .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &wider)
            .unwrap();
        let widened = written(change);
        assert_eq!(
            (widened.id, after.key),
            (key.id, Some(key.id)),
            "the same key"
        );
        assert_eq!(widened.scopes.to_string(), "tickets.read tickets.update");

        let none = upgrade(&[], None);
        let (after, change) = store
            .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &none)
            .unwrap();
        assert_eq!(
            (after.key, change),
            (None, InstallKeyChange::Deleted(key.id))
        );
        assert!(store.keys().unwrap().is_empty());

        let again = upgrade(&["tickets.read"], None);
        assert!(
            store
                .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &again)
                .is_err()
        );
        assert_eq!(
            store.install(id).unwrap().granted,
            Scopes::EMPTY,
            "nothing changed"
        );
        let again = upgrade(&["tickets.read"], install_key("Probe 2"));
        let (after, change) = store
            .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &again)
            .unwrap();
        let issued = written(change);
        assert_eq!(after.key, Some(issued.id));
        assert_ne!(issued.id, key.id);

        // An install left without its key (as by a version before installs and keys shared a
        // transaction) gets one on its next upgrade, whatever the grant.
        store
            .write(|tx| {
                tx.execute("UPDATE plugin_installs SET key_id = NULL", [])?;
                Ok(tx.execute("DELETE FROM api_keys", [])?)
            })
            .unwrap();
        let same = upgrade(&["tickets.read"], install_key("Probe 3"));
        let (after, change) = store
            .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &same)
            .unwrap();
        let issued = written(change);
        assert_eq!(after.key, Some(issued.id));

        let change = store
            .uninstall_plugin(Timestamp::EPOCH, &SYSTEM, id)
            .unwrap();
        assert_eq!(change, InstallKeyChange::Deleted(issued.id));
        assert!(store.keys().unwrap().is_empty() && store.installs().unwrap().is_empty());
    }

    fn event(seq: u64, ticket: Option<i64>) -> Event {
        Event {
            seq,
            kind: EventKind::TicketUpdated,
            at: Timestamp::EPOCH,
            by: Attribution::direct(Actor::System),
            ticket: ticket.map(TicketId::new),
            department: None,
            data: json!({}),
        }
    }

    #[test]
    fn the_key_value_store_is_bounded_per_install() {
        let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
        let id = install(&store).id;
        store.plugin_kv_set(id, "a", &[0; 60], 100).unwrap();
        // Replacing a value counts its new size only.
        store.plugin_kv_set(id, "a", &[0; 90], 100).unwrap();
        let err = store.plugin_kv_set(id, "b", &[0; 20], 100).unwrap_err();
        assert!(err.to_string().contains("key-value store"), "{err}");
        store.plugin_kv_delete(id, "a").unwrap();
        store.plugin_kv_set(id, "b", &[0; 20], 100).unwrap();
        assert_eq!(
            store.plugin_kv_get(id, "b").unwrap().map(|v| v.len()),
            Some(20)
        );
    }

    #[test]
    fn only_the_oldest_event_of_each_ticket_is_due() {
        let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
        let id = install(&store).id;
        let now = Timestamp::from_millis(1000);
        let events = [
            event(1, Some(7)),
            event(2, Some(8)),
            event(3, Some(7)),
            event(4, None),
        ];
        store.enqueue_deliveries(id, &events, 0, 4, now).unwrap();
        let due = |at: i64| -> Vec<u64> {
            store
                .due_deliveries(id, Timestamp::from_millis(at), 10)
                .unwrap()
                .iter()
                .map(|d| d.event.seq)
                .collect()
        };
        assert_eq!(due(1000), [1, 2, 4]);
        // Ticket 7's first event fails: its second waits behind it, the others do not.
        store
            .delivery_failed(id, 1, now, "boom", Some(Timestamp::from_millis(5000)))
            .unwrap();
        store.delivery_succeeded(id, 2).unwrap();
        assert_eq!(due(1000), [4]);
        assert_eq!(due(5000), [1, 4]);
        // Given up: dead-lettered, and ticket 7's next event becomes due.
        // (A success in between reset the failures in a row.)
        assert_eq!(store.delivery_failed(id, 1, now, "boom", None).unwrap(), 1);
        assert_eq!(due(5000), [3, 4]);
        let dead = store.dead_letters(id).unwrap();
        assert_eq!(
            (dead.len(), dead[0].attempts, dead[0].last_error.as_str()),
            (1, 2, "boom")
        );
        assert_eq!(store.requeue_dead_letters(id, None, now).unwrap(), 1);
        assert_eq!(due(5000), [1, 4]);
    }

    #[test]
    fn secrets_are_stored_only_as_given_ciphertext() {
        let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
        let id = install(&store).id;
        assert_eq!(
            store.plugin_setting(id, "secret").unwrap(),
            Some(SettingValue::Secret(vec![1, 2, 3]))
        );
        store
            .set_plugin_setting(Timestamp::EPOCH, id, "secret", None)
            .unwrap();
        assert_eq!(store.plugin_setting(id, "secret").unwrap(), None);
    }
}
