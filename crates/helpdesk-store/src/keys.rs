//! API keys, access tokens and the per-key request log.
//!
//! Secrets are never stored: the caller hands in argon2id PHC strings. Every change to a key or
//! token writes its history entry (on [`HistorySubject::Key`]) and its outbox event in the same
//! transaction. The request log is not written per request: the facade batches it in memory and
//! hands whole batches to [`Store::append_key_requests`].

use std::fmt;
use std::net::IpAddr;

use helpdesk_domain::{
    ActAs, AgentId, Attribution, Change, EventKind, HistoryField, HistorySubject, HistoryValue,
    KeyId, KeyKind, Network, RequestOutcome, RequesterId, Scopes, Timestamp, TokenId,
    normalize_name,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use crate::Store;
use crate::error::{Entity, Result, not_found, rule};
use crate::history::{record, record_sets};
use crate::people::{load_agent, load_requester};
use crate::row::{
    bad_code, bad_text, networks_text, read_networks, read_scopes, scope_names, scopes_text,
};

/// An API key as stored. The hashes are argon2id PHC strings, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key's public number, the part of its code before the colon.
    pub id: KeyId,
    /// What the key is for.
    pub description: String,
    /// Agent or superuser key.
    pub kind: KeyKind,
    /// Whether the key may administer keys (superuser keys only).
    pub admin_functions: bool,
    /// What the key allows.
    pub scopes: Scopes,
    /// When the key stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// The networks requests may come from; empty for any.
    pub networks: Vec<Network>,
    /// Whether the key may be used.
    pub enabled: bool,
    /// The argon2id PHC string of the current secret.
    pub secret_hash: String,
    /// Bumped by every regeneration and every disable.
    pub generation: u64,
    /// The replaced secret's PHC string and the end of the overlap window, if one was asked for.
    pub previous: Option<(String, Timestamp)>,
    /// When the key was created.
    pub created_at: Timestamp,
    /// When the key last changed.
    pub updated_at: Timestamp,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("description", &self.description)
            .field("kind", &self.kind)
            .field("admin_functions", &self.admin_functions)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("networks", &self.networks)
            .field("enabled", &self.enabled)
            .field("generation", &self.generation)
            .field(
                "previous_until",
                &self.previous.as_ref().map(|(_, until)| until),
            )
            .finish_non_exhaustive()
    }
}

/// A new API key, validated by the caller except for its description and people.
#[derive(Clone)]
pub struct NewKeyRecord {
    /// What the key is for.
    pub description: String,
    /// Agent or superuser key.
    pub kind: KeyKind,
    /// Whether the key may administer keys (superuser keys only).
    pub admin_functions: bool,
    /// What the key allows.
    pub scopes: Scopes,
    /// When the key stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// Networks requests may come from; empty for any.
    pub networks: Vec<Network>,
    /// The argon2id PHC string of the secret.
    pub secret_hash: String,
}

impl fmt::Debug for NewKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKeyRecord")
            .field("description", &self.description)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Changes to a key's settings, validated by the caller except for the description and the
/// default agent; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRecordUpdate {
    /// A new description.
    pub description: Option<String>,
    /// New scopes.
    pub scopes: Option<Scopes>,
    /// Grant or take away admin functions (superuser keys only).
    pub admin_functions: Option<bool>,
    /// A new expiry, or `Some(None)` for none.
    pub expires_at: Option<Option<Timestamp>>,
    /// New networks; empty for any.
    pub networks: Option<Vec<Network>>,
    /// A superuser key's new default agent, or `Some(None)` for none.
    pub default_agent: Option<Option<AgentId>>,
}

/// An access token as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's id, also written inside the token.
    pub id: TokenId,
    /// The key it was minted from.
    pub key: KeyId,
    /// The key's generation at minting; the token is dead once the key's differs.
    pub key_generation: u64,
    /// The person the token acts as.
    pub person: ActAs,
    /// What the token allows.
    pub scopes: Scopes,
    /// The argon2id PHC string of the token.
    pub secret_hash: String,
    /// When it was minted.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Whether it was revoked (directly, or by its key's regeneration, disabling or deletion).
    pub revoked: bool,
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("key_generation", &self.key_generation)
            .field("person", &self.person)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

/// A new access token. Its id is chosen by the caller (from [`Store::next_token_id`]) because
/// the token text, and so its hash, contains it.
#[derive(Clone)]
pub struct NewTokenRecord {
    /// The token's id.
    pub id: TokenId,
    /// The key it is minted from.
    pub key: KeyId,
    /// The key's generation the caller checked the key at.
    pub key_generation: u64,
    /// The person it acts as.
    pub person: ActAs,
    /// What the token allows.
    pub scopes: Scopes,
    /// The argon2id PHC string of the token.
    pub secret_hash: String,
    /// When it expires.
    pub expires_at: Timestamp,
}

impl fmt::Debug for NewTokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTokenRecord")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("person", &self.person)
            .finish_non_exhaustive()
    }
}

/// One entry of a key's request log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLogRecord {
    /// The key used.
    pub key: KeyId,
    /// The entry's number among the key's requests (increasing).
    pub seq: u64,
    /// When the request was made.
    pub at: Timestamp,
    /// What the request was for, as the application named it.
    pub operation: String,
    /// The person it acted as, once known.
    pub actor: Option<ActAs>,
    /// The access token used, if any.
    pub token: Option<TokenId>,
    /// How authentication ended.
    pub outcome: RequestOutcome,
    /// The request's source address, if the application gave one.
    pub source_ip: Option<IpAddr>,
}

const KEY_COLUMNS: &str = "id, description, kind, agent_id, default_agent_id, admin_functions, \
    scopes, expires_at, networks, enabled, secret_hash, generation, previous_hash, previous_until, \
    created_at, updated_at";

const TOKEN_COLUMNS: &str = "id, key_id, key_generation, agent_id, requester_id, scopes, \
    secret_hash, created_at, expires_at, revoked";

const AGENT_KEY: i64 = 1;
const SUPERUSER_KEY: i64 = 2;

/// A logged outcome by its stable name; another name means the row is damaged.
fn read_outcome(r: &Row<'_>, col: usize) -> rusqlite::Result<RequestOutcome> {
    let name: String = r.get(col)?;
    RequestOutcome::from_name(&name)
        .ok_or_else(|| bad_text(col, format!("unknown outcome `{name}`")))
}

/// A logged source address; one that does not parse means the row is damaged.
fn read_ip(r: &Row<'_>, col: usize) -> rusqlite::Result<Option<IpAddr>> {
    let text: Option<String> = r.get(col)?;
    text.map(|ip| ip.parse().map_err(|e| bad_text(col, e)))
        .transpose()
}

fn read_u64(r: &Row<'_>, col: usize) -> rusqlite::Result<u64> {
    let value: i64 = r.get(col)?;
    u64::try_from(value).map_err(|_| bad_code(col, "generation", value))
}

fn read_key(r: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    let code: i64 = r.get(2)?;
    let agent: Option<i64> = r.get(3)?;
    let kind = match (code, agent) {
        (AGENT_KEY, Some(agent)) => KeyKind::Agent {
            agent: AgentId::new(agent),
        },
        (SUPERUSER_KEY, _) => KeyKind::Superuser {
            default_agent: r.get::<_, Option<i64>>(4)?.map(AgentId::new),
        },
        _ => return Err(bad_code(2, "key kind", code)),
    };
    let previous_hash: Option<String> = r.get(12)?;
    let previous_until: Option<i64> = r.get(13)?;
    Ok(KeyRecord {
        id: KeyId::new(r.get(0)?),
        description: r.get(1)?,
        kind,
        admin_functions: r.get(5)?,
        scopes: read_scopes(r, 6)?,
        expires_at: r.get::<_, Option<i64>>(7)?.map(Timestamp::from_millis),
        networks: read_networks(r, 8)?,
        enabled: r.get(9)?,
        secret_hash: r.get(10)?,
        generation: read_u64(r, 11)?,
        previous: previous_hash.zip(previous_until.map(Timestamp::from_millis)),
        created_at: Timestamp::from_millis(r.get(14)?),
        updated_at: Timestamp::from_millis(r.get(15)?),
    })
}

fn read_token(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let agent: Option<i64> = r.get(3)?;
    let requester: Option<i64> = r.get(4)?;
    let person = match (agent, requester) {
        (Some(agent), None) => ActAs::Agent(AgentId::new(agent)),
        (None, Some(requester)) => ActAs::Requester(RequesterId::new(requester)),
        _ => return Err(bad_code(3, "token person", agent.unwrap_or(-1))),
    };
    Ok(TokenRecord {
        id: TokenId::new(r.get(0)?),
        key: KeyId::new(r.get(1)?),
        key_generation: read_u64(r, 2)?,
        person,
        scopes: read_scopes(r, 5)?,
        secret_hash: r.get(6)?,
        created_at: Timestamp::from_millis(r.get(7)?),
        expires_at: Timestamp::from_millis(r.get(8)?),
        revoked: r.get(9)?,
    })
}

fn load_key(conn: &Connection, id: KeyId) -> Result<KeyRecord> {
    conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"))?
        .query_row([id.get()], read_key)
        .optional()?
        .ok_or_else(|| not_found(Entity::Key, id))
}

fn load_token(conn: &Connection, id: TokenId) -> Result<TokenRecord> {
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE id = ?1"
    ))?
    .query_row([id.get()], read_token)
    .optional()?
    .ok_or_else(|| not_found(Entity::Token, id))
}

/// Checks that the person exists.
fn check_person(conn: &Connection, person: ActAs) -> Result<()> {
    match person {
        ActAs::Agent(id) => load_agent(conn, id).map(drop),
        ActAs::Requester(id) => load_requester(conn, id).map(drop),
    }
}

/// A change of one setting, for history: the field, the value before and the value after.
type SetChange = (HistoryField, HistoryValue, HistoryValue);

/// Puts `new` into `slot` and notes the change, if `new` is given and differs.
fn set<T: PartialEq>(
    changes: &mut Vec<SetChange>,
    field: HistoryField,
    slot: &mut T,
    new: Option<T>,
    value: impl Fn(&T) -> HistoryValue,
) {
    if let Some(new) = new.filter(|new| new != slot) {
        changes.push((field, value(slot), value(&new)));
        *slot = new;
    }
}

fn generation_param(generation: u64) -> i64 {
    i64::try_from(generation).unwrap_or(i64::MAX)
}

/// Marks every live token of `key` revoked.
fn revoke_key_tokens(conn: &Connection, key: KeyId) -> Result<usize> {
    Ok(conn
        .prepare_cached("UPDATE access_tokens SET revoked = 1 WHERE key_id = ?1 AND revoked = 0")?
        .execute([key.get()])?)
}

impl Store {
    /// Creates an API key. The agents it names must exist.
    pub fn create_key(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewKeyRecord,
    ) -> helpdesk_domain::Result<KeyRecord> {
        self.write(|tx| self.insert_key(tx, at, by, input))
    }

    /// [`create_key`](Self::create_key) inside the caller's transaction.
    pub(crate) fn insert_key(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        input: NewKeyRecord,
    ) -> Result<KeyRecord> {
        let description = normalize_name("description", &input.description, &self.limits)?;
        let (code, agent, default_agent) = match input.kind {
            KeyKind::Agent { agent } => (AGENT_KEY, Some(agent), None),
            KeyKind::Superuser { default_agent } => (SUPERUSER_KEY, None, default_agent),
        };
        if input.admin_functions && code != SUPERUSER_KEY {
            return Err(rule(
                "admin_functions",
                "only superuser keys may have admin functions",
            ));
        }
        for agent in agent.iter().chain(default_agent.iter()) {
            load_agent(tx, *agent)?;
        }
        tx.prepare_cached(
            "INSERT INTO api_keys (description, kind, agent_id, default_agent_id, admin_functions,
                 scopes, expires_at, networks, enabled, secret_hash, generation, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, 1, ?10, ?10)",
        )?
        .execute(params![
            description,
            code,
            agent.map(AgentId::get),
            default_agent.map(AgentId::get),
            input.admin_functions,
            scopes_text(input.scopes),
            input.expires_at.map(Timestamp::as_millis),
            networks_text(&input.networks),
            input.secret_hash,
            at.as_millis(),
        ])?;
        let id = KeyId::new(tx.last_insert_rowid());
        record(tx, at, by, HistorySubject::Key(id), &Change::Created)?;
        self.event(
            tx,
            at,
            by,
            EventKind::KeyCreated,
            json!({
                "key": id,
                "description": description,
                "kind": input.kind,
                "admin_functions": input.admin_functions,
                "scopes": scope_names(input.scopes),
            }),
        )?;
        load_key(tx, id)
    }

    /// One API key.
    pub fn key(&self, id: KeyId) -> helpdesk_domain::Result<KeyRecord> {
        self.read(|tx| load_key(tx, id))
    }

    /// Every API key, by id.
    pub fn keys(&self) -> helpdesk_domain::Result<Vec<KeyRecord>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"))?;
            Ok(stmt
                .query_map([], read_key)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Replaces a key's secret by `secret_hash` and bumps its generation, which kills its access
    /// tokens. With `overlap_until`, the replaced secret stays valid until then; without, it is
    /// forgotten.
    pub fn regenerate_key(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: KeyId,
        secret_hash: &str,
        overlap_until: Option<Timestamp>,
    ) -> helpdesk_domain::Result<KeyRecord> {
        self.write(|tx| {
            let before = load_key(tx, id)?;
            let previous = overlap_until.map(|until| (before.secret_hash.as_str(), until));
            tx.prepare_cached(
                "UPDATE api_keys SET secret_hash = ?2, generation = generation + 1,
                     previous_hash = ?3, previous_until = ?4, updated_at = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                id.get(),
                secret_hash,
                previous.map(|(hash, _)| hash),
                previous.map(|(_, until)| until.as_millis()),
                at.as_millis(),
            ])?;
            revoke_key_tokens(tx, id)?;
            record(
                tx,
                at,
                by,
                HistorySubject::Key(id),
                &Change::SecretRegenerated { overlap_until },
            )?;
            self.event(
                tx,
                at,
                by,
                EventKind::KeyRegenerated,
                json!({ "key": id, "overlap_until": overlap_until }),
            )?;
            load_key(tx, id)
        })
    }

    /// Changes a key's settings. Its secret, generation and tokens stay: the hot path applies a
    /// key's settings to its tokens on every request. Records one history entry per changed
    /// setting and one `key.updated` event; an update that changes nothing records nothing.
    pub fn update_key(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: KeyId,
        update: KeyRecordUpdate,
    ) -> helpdesk_domain::Result<KeyRecord> {
        self.write(|tx| self.change_key(tx, at, by, id, update))
    }

    /// [`update_key`](Self::update_key) inside the caller's transaction.
    pub(crate) fn change_key(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        id: KeyId,
        update: KeyRecordUpdate,
    ) -> Result<KeyRecord> {
        let description = update
            .description
            .map(|d| normalize_name("description", &d, &self.limits))
            .transpose()?;
        let before = load_key(tx, id)?;
        let mut after = before.clone();
        let mut changes = Vec::new();
        let text = |t: &String| HistoryValue::Text(t.clone());
        let scopes = |s: &Scopes| {
            HistoryValue::Names(scope_names(*s).into_iter().map(str::to_owned).collect())
        };
        let networks =
            |n: &Vec<Network>| HistoryValue::Names(n.iter().map(ToString::to_string).collect());
        let flag = |b: &bool| HistoryValue::Bool(*b);
        let time = |t: &Option<Timestamp>| t.map_or(HistoryValue::None, HistoryValue::Time);
        {
            use HistoryField as F;
            let c = &mut changes;
            set(c, F::Description, &mut after.description, description, text);
            set(c, F::Scopes, &mut after.scopes, update.scopes, scopes);
            set(
                c,
                F::AdminFunctions,
                &mut after.admin_functions,
                update.admin_functions,
                flag,
            );
            set(
                c,
                F::ExpiresAt,
                &mut after.expires_at,
                update.expires_at,
                time,
            );
            set(
                c,
                F::Networks,
                &mut after.networks,
                update.networks,
                networks,
            );
        }
        if let Some(default) = update.default_agent {
            let KeyKind::Superuser { default_agent } = before.kind else {
                return Err(rule(
                    "default_agent",
                    "only superuser keys have a default agent",
                ));
            };
            if default != default_agent {
                if let Some(agent) = default {
                    load_agent(tx, agent)?;
                }
                let value = |a: Option<AgentId>| a.map_or(HistoryValue::None, HistoryValue::Agent);
                changes.push((
                    HistoryField::DefaultAgent,
                    value(default_agent),
                    value(default),
                ));
                after.kind = KeyKind::Superuser {
                    default_agent: default,
                };
            }
        }
        if after.admin_functions && !after.kind.is_superuser() {
            return Err(rule(
                "admin_functions",
                "only superuser keys may have admin functions",
            ));
        }
        if changes.is_empty() {
            return Ok(before);
        }
        let default_agent = match after.kind {
            KeyKind::Superuser { default_agent } => default_agent,
            KeyKind::Agent { .. } => None,
        };
        tx.prepare_cached(
            "UPDATE api_keys SET description = ?2, scopes = ?3, admin_functions = ?4,
                 expires_at = ?5, networks = ?6, default_agent_id = ?7, updated_at = ?8
             WHERE id = ?1",
        )?
        .execute(params![
            id.get(),
            after.description,
            scopes_text(after.scopes),
            after.admin_functions,
            after.expires_at.map(Timestamp::as_millis),
            networks_text(&after.networks),
            default_agent.map(AgentId::get),
            at.as_millis(),
        ])?;
        let names = record_sets(tx, at, by, HistorySubject::Key(id), changes)?;
        self.event(
            tx,
            at,
            by,
            EventKind::KeyUpdated,
            json!({ "key": id, "changes": names }),
        )?;
        load_key(tx, id)
    }

    /// Replaces the hash of a key's current secret by `new_hash` of the same secret, made with
    /// other parameters, if the stored hash is still `old_hash` (a regeneration in between wins).
    /// Not a change of the key: no history, no event, `updated_at` stays. Whether it replaced.
    pub fn rehash_key_secret(
        &self,
        id: KeyId,
        old_hash: &str,
        new_hash: &str,
    ) -> helpdesk_domain::Result<bool> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE api_keys SET secret_hash = ?3 WHERE id = ?1 AND secret_hash = ?2",
                )?
                .execute(params![id.get(), old_hash, new_hash])?
                == 1)
        })
    }

    /// Enables or disables a key. Disabling bumps its generation, which kills its access tokens
    /// for good (enabling it again does not bring them back).
    pub fn set_key_enabled(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: KeyId,
        enabled: bool,
    ) -> helpdesk_domain::Result<KeyRecord> {
        self.write(|tx| {
            let before = load_key(tx, id)?;
            if before.enabled == enabled {
                return Ok(before);
            }
            let bump = i64::from(!enabled);
            tx.prepare_cached(
                "UPDATE api_keys SET enabled = ?2, generation = generation + ?3, updated_at = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id.get(), enabled, bump, at.as_millis()])?;
            if !enabled {
                revoke_key_tokens(tx, id)?;
            }
            let change = Change::Set {
                field: HistoryField::Enabled,
                old: HistoryValue::Bool(before.enabled),
                new: HistoryValue::Bool(enabled),
            };
            record(tx, at, by, HistorySubject::Key(id), &change)?;
            self.event(
                tx,
                at,
                by,
                EventKind::KeyUpdated,
                json!({ "key": id, "changes": [{ "field": "enabled" }], "enabled": enabled }),
            )?;
            load_key(tx, id)
        })
    }

    /// Deletes a key with its access tokens and request log; its history stays.
    pub fn delete_key(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: KeyId,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| self.remove_key(tx, at, by, id))
    }

    /// [`delete_key`](Self::delete_key) inside the caller's transaction.
    pub(crate) fn remove_key(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        id: KeyId,
    ) -> Result<()> {
        let key = load_key(tx, id)?;
        tx.prepare_cached("DELETE FROM access_tokens WHERE key_id = ?1")?
            .execute([id.get()])?;
        tx.prepare_cached("DELETE FROM key_requests WHERE key_id = ?1")?
            .execute([id.get()])?;
        tx.prepare_cached("DELETE FROM api_keys WHERE id = ?1")?
            .execute([id.get()])?;
        record(tx, at, by, HistorySubject::Key(id), &Change::Deleted)?;
        self.event(
            tx,
            at,
            by,
            EventKind::KeyDeleted,
            json!({ "key": id, "description": key.description }),
        )?;
        Ok(())
    }

    /// The id the next access token will get. Ids are never reused, and handing the same id to
    /// two tokens makes the second insert fail, so callers allocate from this value upwards.
    pub fn next_token_id(&self) -> helpdesk_domain::Result<TokenId> {
        self.read(|tx| {
            let last: i64 = tx.query_row(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'access_tokens'), 0),
                            coalesce((SELECT max(id) FROM access_tokens), 0))",
                [],
                |r| r.get(0),
            )?;
            Ok(TokenId::new(last.saturating_add(1)))
        })
    }

    /// Records a minted access token. Refused if the key is gone, disabled, or no longer at the
    /// generation the caller checked, or if the person does not exist.
    pub fn create_token(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewTokenRecord,
    ) -> helpdesk_domain::Result<TokenRecord> {
        self.write(|tx| {
            let key = load_key(tx, input.key)?;
            if !key.enabled || key.generation != input.key_generation {
                return Err(rule(
                    "key",
                    format!("key {} was disabled or regenerated meanwhile", key.id),
                ));
            }
            check_person(tx, input.person)?;
            let (agent, requester) = match input.person {
                ActAs::Agent(id) => (Some(id.get()), None),
                ActAs::Requester(id) => (None, Some(id.get())),
            };
            tx.prepare_cached(
                "INSERT INTO access_tokens (id, key_id, key_generation, agent_id, requester_id,
                     scopes, secret_hash, created_at, expires_at, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0)",
            )?
            .execute(params![
                input.id.get(),
                input.key.get(),
                generation_param(input.key_generation),
                agent,
                requester,
                scopes_text(input.scopes),
                input.secret_hash,
                at.as_millis(),
                input.expires_at.as_millis(),
            ])?;
            let change = Change::TokenMinted {
                token: input.id,
                person: input.person,
                expires_at: input.expires_at,
            };
            record(tx, at, by, HistorySubject::Key(input.key), &change)?;
            self.event(
                tx,
                at,
                by,
                EventKind::TokenMinted,
                json!({
                    "key": input.key,
                    "token": input.id,
                    "person": input.person,
                    "scopes": scope_names(input.scopes),
                    "expires_at": input.expires_at,
                }),
            )?;
            load_token(tx, input.id)
        })
    }

    /// One access token.
    pub fn token(&self, id: TokenId) -> helpdesk_domain::Result<TokenRecord> {
        self.read(|tx| load_token(tx, id))
    }

    /// The tokens that are not revoked and expire after `after`, by id.
    pub fn live_tokens(&self, after: Timestamp) -> helpdesk_domain::Result<Vec<TokenRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens
                 WHERE revoked = 0 AND expires_at > ?1 ORDER BY id"
            ))?;
            Ok(stmt
                .query_map([after.as_millis()], read_token)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Revokes an access token before its expiry (no change if it already is).
    pub fn revoke_token(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: TokenId,
    ) -> helpdesk_domain::Result<TokenRecord> {
        self.write(|tx| {
            let token = load_token(tx, id)?;
            if !token.revoked {
                self.revoke_in(tx, at, by, &token)?;
            }
            load_token(tx, id)
        })
    }

    /// Revokes every live access token acting as `agent`, inside the caller's transaction (an
    /// agent being disabled: its tokens die for good, even if it is enabled again).
    pub(crate) fn revoke_agent_tokens(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        agent: AgentId,
    ) -> Result<()> {
        let tokens = tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE agent_id = ?1 AND revoked = 0"
            ))?
            .query_map([agent.get()], read_token)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for token in &tokens {
            self.revoke_in(tx, at, by, token)?;
        }
        Ok(())
    }

    /// Marks `token` revoked, with its history entry and event.
    fn revoke_in(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        token: &TokenRecord,
    ) -> Result<()> {
        tx.prepare_cached("UPDATE access_tokens SET revoked = 1 WHERE id = ?1")?
            .execute([token.id.get()])?;
        record(
            tx,
            at,
            by,
            HistorySubject::Key(token.key),
            &Change::TokenRevoked { token: token.id },
        )?;
        self.event(
            tx,
            at,
            by,
            EventKind::TokenRevoked,
            json!({ "key": token.key, "token": token.id }),
        )?;
        Ok(())
    }

    /// Deletes the rows of tokens that expired before `before` (housekeeping: their minting
    /// stays in history). Returns how many were deleted.
    pub fn prune_tokens(&self, before: Timestamp) -> helpdesk_domain::Result<usize> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM access_tokens WHERE expires_at < ?1")?
                .execute([before.as_millis()])?)
        })
    }

    /// Writes a batch of request-log entries in one transaction and keeps only the newest
    /// `keep` entries of each key involved. Entries of keys that no longer exist are dropped.
    pub fn append_key_requests(
        &self,
        entries: &[KeyLogRecord],
        keep: u64,
    ) -> helpdesk_domain::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut keys: Vec<KeyId> = Vec::new();
            for entry in entries {
                let exists: Option<i64> = tx
                    .prepare_cached("SELECT id FROM api_keys WHERE id = ?1")?
                    .query_row([entry.key.get()], |r| r.get(0))
                    .optional()?;
                if exists.is_none() {
                    continue;
                }
                let (kind, id) = match entry.actor {
                    None => (0, None),
                    Some(ActAs::Agent(a)) => (1, Some(a.get())),
                    Some(ActAs::Requester(r)) => (2, Some(r.get())),
                };
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO key_requests
                         (key_id, seq, at, operation, actor_kind, actor_id, token_id, outcome, source_ip)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    entry.key.get(),
                    generation_param(entry.seq),
                    entry.at.as_millis(),
                    entry.operation,
                    kind,
                    id,
                    entry.token.map(TokenId::get),
                    entry.outcome.as_str(),
                    entry.source_ip.map(|ip| ip.to_string()),
                ])?;
                if !keys.contains(&entry.key) {
                    keys.push(entry.key);
                }
            }
            for key in keys {
                tx.prepare_cached(
                    "DELETE FROM key_requests WHERE key_id = ?1 AND seq <=
                         (SELECT max(seq) FROM key_requests WHERE key_id = ?1) - ?2",
                )?
                .execute(params![key.get(), generation_param(keep)])?;
            }
            Ok(())
        })
    }

    /// The stored request log of a key, newest first.
    pub fn key_requests(&self, key: KeyId) -> helpdesk_domain::Result<Vec<KeyLogRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, at, operation, actor_kind, actor_id, token_id, outcome, source_ip
                 FROM key_requests WHERE key_id = ?1 ORDER BY seq DESC",
            )?;
            let rows = stmt.query_map([key.get()], |r| {
                let kind: i64 = r.get(3)?;
                let id: Option<i64> = r.get(4)?;
                let actor = match (kind, id) {
                    (1, Some(id)) => Some(ActAs::Agent(AgentId::new(id))),
                    (2, Some(id)) => Some(ActAs::Requester(RequesterId::new(id))),
                    _ => None,
                };
                Ok(KeyLogRecord {
                    key,
                    seq: read_u64(r, 0)?,
                    at: Timestamp::from_millis(r.get(1)?),
                    operation: r.get(2)?,
                    actor,
                    token: r.get::<_, Option<i64>>(5)?.map(TokenId::new),
                    outcome: read_outcome(r, 6)?,
                    source_ip: read_ip(r, 7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The highest request-log number stored for each key that has a log.
    pub fn key_request_heads(&self) -> helpdesk_domain::Result<Vec<(KeyId, u64)>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT key_id, max(seq) FROM key_requests GROUP BY key_id")?;
            let rows = stmt.query_map([], |r| Ok((KeyId::new(r.get(0)?), read_u64(r, 1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use helpdesk_domain::{Actor, NewAgent, NewRequester};

    use super::*;
    use crate::StoreOptions;

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);
    const SYSTEM: Attribution = Attribution::direct(Actor::System);

    fn store() -> Store {
        Store::open_in_memory(&StoreOptions::default()).unwrap()
    }

    fn agent(store: &Store) -> AgentId {
        let input = NewAgent {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            admin: false,
        };
        store.create_agent(T0, &SYSTEM, input).unwrap().id
    }

    fn new_key(kind: KeyKind) -> NewKeyRecord {
        NewKeyRecord {
            description: "  Billing sync ".into(),
            kind,
            admin_functions: false,
            scopes: "tickets.read tickets.reply".parse().unwrap(),
            expires_at: None,
            networks: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            secret_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".into(),
        }
    }

    fn log(key: KeyId, seq: u64) -> KeyLogRecord {
        KeyLogRecord {
            key,
            seq,
            at: T0.add_millis(seq as i64),
            operation: "request".into(),
            actor: None,
            token: None,
            outcome: RequestOutcome::Accepted,
            source_ip: Some("10.1.2.3".parse().unwrap()),
        }
    }

    #[test]
    fn keys_round_trip_with_history_and_events() {
        let store = store();
        let ann = agent(&store);
        let key = store
            .create_key(T0, &SYSTEM, new_key(KeyKind::Agent { agent: ann }))
            .unwrap();
        assert_eq!(key.description, "Billing sync");
        assert_eq!(key.kind, KeyKind::Agent { agent: ann });
        assert_eq!(key.scopes.to_string(), "tickets.read tickets.reply");
        assert_eq!(networks_text(&key.networks), "10.0.0.0/8 2001:db8::/32");
        assert_eq!(
            (key.enabled, key.generation, key.previous.clone()),
            (true, 1, None)
        );
        assert_eq!(store.key(key.id).unwrap(), key);
        assert_eq!(store.keys().unwrap(), std::slice::from_ref(&key));
        assert!(!format!("{key:?}").contains("argon2"));

        let later = T0.add_millis(1000);
        let until = T0.add_millis(60_000);
        let regenerated = store
            .regenerate_key(later, &SYSTEM, key.id, "$argon2id$new", Some(until))
            .unwrap();
        assert_eq!(regenerated.generation, 2);
        assert_eq!(regenerated.secret_hash, "$argon2id$new");
        assert_eq!(regenerated.previous, Some((key.secret_hash.clone(), until)));
        let disabled = store
            .set_key_enabled(later, &SYSTEM, key.id, false)
            .unwrap();
        assert_eq!((disabled.enabled, disabled.generation), (false, 3));
        let enabled = store.set_key_enabled(later, &SYSTEM, key.id, true).unwrap();
        assert_eq!((enabled.enabled, enabled.generation), (true, 3));

        let history = store.history(HistorySubject::Key(key.id)).unwrap();
        let changes: Vec<_> = history.iter().map(|h| h.change.clone()).collect();
        assert_eq!(changes.len(), 4);
        assert_eq!(changes[0], Change::Created);
        assert_eq!(
            changes[1],
            Change::SecretRegenerated {
                overlap_until: Some(until)
            }
        );
        store.delete_key(later, &SYSTEM, key.id).unwrap();
        assert!(store.key(key.id).is_err());
        assert_eq!(store.history(HistorySubject::Key(key.id)).unwrap().len(), 5);
    }

    #[test]
    fn admin_functions_only_on_superuser_keys() {
        let store = store();
        let ann = agent(&store);
        let mut input = new_key(KeyKind::Agent { agent: ann });
        input.admin_functions = true;
        assert!(store.create_key(T0, &SYSTEM, input).is_err());
        let mut input = new_key(KeyKind::Superuser {
            default_agent: Some(AgentId::new(999)),
        });
        input.admin_functions = true;
        assert!(
            store.create_key(T0, &SYSTEM, input).is_err(),
            "unknown agent"
        );
    }

    #[test]
    fn updates_change_settings_only_and_a_rehash_loses_to_a_regeneration() {
        let store = store();
        let ann = agent(&store);
        let key = store
            .create_key(T0, &SYSTEM, new_key(KeyKind::Agent { agent: ann }))
            .unwrap();
        let t1 = T0.add_millis(1_000);
        let update = KeyRecordUpdate {
            scopes: Some("tickets.read".parse().unwrap()),
            networks: Some(Vec::new()),
            ..KeyRecordUpdate::default()
        };
        let updated = store.update_key(t1, &SYSTEM, key.id, update).unwrap();
        assert_eq!(updated.scopes.to_string(), "tickets.read");
        assert!(updated.networks.is_empty());
        assert_eq!(
            (&updated.secret_hash, updated.generation, updated.updated_at),
            (&key.secret_hash, key.generation, t1),
            "the secret and the generation stay"
        );
        let refused = KeyRecordUpdate {
            default_agent: Some(None),
            ..KeyRecordUpdate::default()
        };
        assert!(store.update_key(t1, &SYSTEM, key.id, refused).is_err());
        let refused = KeyRecordUpdate {
            admin_functions: Some(true),
            ..KeyRecordUpdate::default()
        };
        assert!(store.update_key(t1, &SYSTEM, key.id, refused).is_err());
        assert_eq!(store.key(key.id).unwrap(), updated);

        let old = &key.secret_hash;
        assert!(
            store
                .rehash_key_secret(key.id, old, "$argon2id$rehashed")
                .unwrap()
        );
        assert!(
            !store
                .rehash_key_secret(key.id, old, "$argon2id$again")
                .unwrap(),
            "only while the stored hash is the one verified"
        );
        let after = store.key(key.id).unwrap();
        assert_eq!(after.secret_hash, "$argon2id$rehashed");
        assert_eq!(after.updated_at, t1, "a rehash is not a change");
        store
            .regenerate_key(t1, &SYSTEM, key.id, "$argon2id$regenerated", None)
            .unwrap();
        assert!(
            !store
                .rehash_key_secret(key.id, "$argon2id$rehashed", "$argon2id$late")
                .unwrap()
        );
        assert_eq!(
            store.key(key.id).unwrap().secret_hash,
            "$argon2id$regenerated"
        );
    }

    #[test]
    fn tokens_die_with_regeneration_and_disable() {
        let store = store();
        let ann = agent(&store);
        let bob = store
            .create_requester(
                T0,
                &SYSTEM,
                NewRequester {
                    name: "Bob".into(),
                    email: "bob@example.org".into(),
                    organization: None,
                },
            )
            .unwrap();
        let key = store
            .create_key(
                T0,
                &SYSTEM,
                new_key(KeyKind::Superuser {
                    default_agent: None,
                }),
            )
            .unwrap();
        let mint = |person, generation| {
            let id = store.next_token_id().unwrap();
            store.create_token(
                T0,
                &SYSTEM,
                NewTokenRecord {
                    id,
                    key: key.id,
                    key_generation: generation,
                    person,
                    scopes: "tickets.read".parse().unwrap(),
                    secret_hash: "$argon2id$token".into(),
                    expires_at: T0.add_millis(3_600_000),
                },
            )
        };
        let first = mint(ActAs::Agent(ann), 1).unwrap();
        let second = mint(ActAs::Requester(bob.id), 1).unwrap();
        assert_eq!(second.id.get(), first.id.get() + 1);
        assert_eq!(second.person, ActAs::Requester(bob.id));
        assert!(mint(ActAs::Agent(ann), 7).is_err(), "stale generation");
        assert!(mint(ActAs::Requester(RequesterId::new(999)), 1).is_err());
        assert_eq!(store.live_tokens(T0).unwrap().len(), 2);
        store.revoke_token(T0, &SYSTEM, first.id).unwrap();
        assert_eq!(
            store.live_tokens(T0).unwrap(),
            std::slice::from_ref(&second)
        );
        store.set_key_enabled(T0, &SYSTEM, key.id, false).unwrap();
        assert!(store.live_tokens(T0).unwrap().is_empty());
        assert!(store.token(second.id).unwrap().revoked);
        assert_eq!(store.prune_tokens(T0.add_millis(3_600_001)).unwrap(), 2);
        assert!(
            store.next_token_id().unwrap().get() > second.id.get(),
            "ids are not reused"
        );
    }

    #[test]
    fn request_log_keeps_the_newest_entries_per_key() {
        let store = store();
        let ann = agent(&store);
        let a = store
            .create_key(T0, &SYSTEM, new_key(KeyKind::Agent { agent: ann }))
            .unwrap();
        let b = store
            .create_key(T0, &SYSTEM, new_key(KeyKind::Agent { agent: ann }))
            .unwrap();
        let batch: Vec<_> = (1..=30).map(|seq| log(a.id, seq)).collect();
        store.append_key_requests(&batch, 50).unwrap();
        let batch: Vec<_> = (31..=60)
            .map(|seq| log(a.id, seq))
            .chain([log(b.id, 1), log(KeyId::new(999), 1)])
            .collect();
        store.append_key_requests(&batch, 50).unwrap();
        let kept = store.key_requests(a.id).unwrap();
        assert_eq!(kept.len(), 50);
        assert_eq!(kept.first().map(|e| e.seq), Some(60));
        assert_eq!(kept.last().map(|e| e.seq), Some(11));
        assert_eq!(kept[0], log(a.id, 60));
        assert_eq!(store.key_requests(b.id).unwrap().len(), 1);
        assert_eq!(store.key_request_heads().unwrap(), [(a.id, 60), (b.id, 1)]);
        store.delete_key(T0, &SYSTEM, a.id).unwrap();
        assert!(store.key_requests(a.id).unwrap().is_empty());
    }
}
