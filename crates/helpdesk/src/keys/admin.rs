//! Administering keys and tokens: create, list, show, update, regenerate, enable and disable,
//! delete, read logs, mint and revoke tokens.
//!
//! Who may: `keys.manage` (`keys.logs` for logs) through the permission engine, and when the
//! principal came through a key, only a superuser key with the admin-functions flag; access
//! tokens never administer keys. Issuing a secret that acts as someone (creating or regenerating
//! a superuser key, or another agent's key) needs an administrator, so that `keys.manage` alone
//! is never a way to act as a more powerful agent.
//!
//! Each change commits with its history entry and event, then installs the new snapshot in the
//! in-memory table before returning, under one lock so that changes land in commit order.

use std::time::Duration;

use helpdesk_authz::{Action, Scopes};
use helpdesk_credentials::{self as credentials, KeySecret};
use helpdesk_domain::{
    ActAs, Attribution, Entity, KeyId, KeyKind, Network, Timestamp, TokenId, ValidationError,
};
use helpdesk_store::{
    InstallKeyChange, KeyRecord, KeyRecordUpdate, NewKeyRecord, NewTokenRecord, Store,
};

use super::log::to_request;
use super::state::{EXPIRED_TOKEN_GRACE_MS, KeySnap, KeyState, secret_error};
use super::{
    AccessToken, ApiKey, IssuedKey, KeyCode, KeyRequest, KeyUpdate, MintedToken, NewKey, NewToken,
};
use crate::error::{Denied, Error, Result};
use crate::principal::{Principal, SystemHandle};
use crate::{Helpdesk, Inner, guard};

/// The longest overlap window a regeneration may ask for.
pub(crate) const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most networks one key may list.
const MAX_NETWORKS: usize = 64;

/// The lifetime of a token minted without one, in minutes.
const DEFAULT_TOKEN_MINUTES: u32 = 60;

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid(ValidationError::Malformed {
        field,
        reason: reason.into(),
    })
}

fn denied(reason: &'static str) -> Error {
    Error::Denied(Denied::rule(reason))
}

fn not_found(entity: Entity, id: impl ToString) -> Error {
    Error::NotFound {
        entity,
        key: id.to_string(),
    }
}

/// The public view of a stored key at `now`.
fn api_key(record: &KeyRecord, now: Timestamp) -> ApiKey {
    ApiKey {
        id: record.id,
        description: record.description.clone(),
        kind: record.kind,
        admin_functions: record.admin_functions,
        scopes: record.scopes,
        expires_at: record.expires_at,
        networks: record.networks.clone(),
        enabled: record.enabled,
        overlap_until: record
            .previous
            .as_ref()
            .map(|(_, until)| *until)
            .filter(|until| *until > now),
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

fn check_scopes(scopes: Scopes) -> Result<()> {
    if scopes.is_empty() {
        return Err(Error::Invalid(ValidationError::Empty { field: "scopes" }));
    }
    Ok(())
}

fn check_admin_functions(admin_functions: bool, kind: KeyKind) -> Result<()> {
    if admin_functions && !kind.is_superuser() {
        return Err(invalid(
            "admin_functions",
            "only superuser keys may have admin functions",
        ));
    }
    Ok(())
}

fn check_expiry(expires_at: Option<Timestamp>, now: Timestamp) -> Result<()> {
    if let Some(at) = expires_at.filter(|at| *at <= now) {
        return Err(invalid(
            "expires_at",
            format!("`{at}` is not in the future"),
        ));
    }
    Ok(())
}

fn check_networks(networks: &[Network]) -> Result<()> {
    if networks.len() > MAX_NETWORKS {
        return Err(Error::Invalid(ValidationError::TooMany {
            what: "networks",
            count: networks.len(),
            max: MAX_NETWORKS,
        }));
    }
    Ok(())
}

/// A new secret and its argon2id hash, made before any lock is taken (hashing costs ~30 ms).
fn new_secret(helpdesk: &Helpdesk) -> Result<(KeySecret, String)> {
    let secret = KeySecret::generate().map_err(secret_error)?;
    let hasher = helpdesk.inner.keys.hasher().map_err(secret_error)?;
    let phc = hasher
        .hash(secret.expose().as_bytes())
        .map_err(secret_error)?;
    Ok((secret, phc))
}

impl Helpdesk {
    /// Creates an API key and returns it with its code, shown this once (`keys.manage`).
    ///
    /// A superuser key, or an agent key of another agent, needs an administrator; no key acts as
    /// a plugin's app identity. The key's scopes may be anything: a key never does more than the
    /// person it acts as.
    pub fn create_key(&self, p: &Principal, key: NewKey) -> Result<IssuedKey> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        g.issue(key.kind)?;
        let now = self.now();
        check_scopes(key.scopes)?;
        check_admin_functions(key.admin_functions, key.kind)?;
        check_expiry(key.expires_at, now)?;
        check_networks(&key.networks)?;
        let (secret, phc) = new_secret(self)?;
        let new = NewKeyRecord {
            description: key.description,
            kind: key.kind,
            admin_functions: key.admin_functions,
            scopes: key.scopes,
            expires_at: key.expires_at,
            networks: key.networks,
            secret_hash: phc,
        };
        let record = self.administer(|store, state| {
            let record = store.create_key(now, &p.attribution(), new)?;
            state.install_key(
                &record,
                Some(state.fast.tag(&record.id, secret.random_part())),
            );
            Ok(record)
        })?;
        let code = credentials::KeyCode::new(record.id, secret).map_err(secret_error)?;
        Ok(IssuedKey {
            key: api_key(&record, now),
            code: KeyCode(code),
        })
    }

    /// Every API key the principal may administer, by id (`keys.manage`): all of them for an
    /// administrator, its own agent keys for another agent. Secrets are never shown.
    pub fn keys(&self, p: &Principal) -> Result<Vec<ApiKey>> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        let now = self.now();
        Ok(self
            .store()
            .keys()?
            .iter()
            .filter(|record| g.key(record).is_ok())
            .map(|record| api_key(record, now))
            .collect())
    }

    /// One API key (`keys.manage`). A key the principal could not have issued is not found,
    /// exactly like a missing one. Its secret is never shown.
    pub fn key(&self, p: &Principal, id: KeyId) -> Result<ApiKey> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        Ok(api_key(&g.administered_key(id)?, self.now()))
    }

    /// Changes a key's settings (`keys.manage`; only keys the principal could have issued),
    /// effective on the very next request, for the key and its access tokens. The secret, and so
    /// the key's code, stays. An update that changes nothing records nothing. A plugin install's
    /// key changes only with its install.
    pub fn update_key(&self, p: &Principal, id: KeyId, update: KeyUpdate) -> Result<ApiKey> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        let before = g.administered_key(id)?;
        g.change_key(&before)?;
        let now = self.now();
        if let Some(scopes) = update.scopes {
            check_scopes(scopes)?;
        }
        if let Some(admin) = update.admin_functions {
            check_admin_functions(admin, before.kind)?;
        }
        if let Some(expires_at) = update.expires_at {
            check_expiry(expires_at, now)?;
        }
        if let Some(networks) = &update.networks {
            check_networks(networks)?;
        }
        if let Some(default_agent) = update.default_agent {
            if !before.kind.is_superuser() {
                return Err(invalid(
                    "default_agent",
                    "only superuser keys have a default agent",
                ));
            }
            g.issue(KeyKind::Superuser { default_agent })?;
        }
        let update = KeyRecordUpdate {
            description: update.description,
            scopes: update.scopes,
            admin_functions: update.admin_functions,
            expires_at: update.expires_at,
            networks: update.networks,
            default_agent: update.default_agent,
        };
        let record = self.administer(|store, state| {
            let record = store.update_key(now, &p.attribution(), id, update)?;
            state.install_key(&record, None);
            Ok(record)
        })?;
        Ok(api_key(&record, now))
    }

    /// Gives a key a new secret and returns the new code, shown this once (`keys.manage`; only
    /// keys the principal could have issued). The id and settings stay.
    ///
    /// Without `overlap` the old secret is refused from the moment this returns; with it, the
    /// old secret keeps working until `overlap` has passed (at most 7 days), for rotation without
    /// downtime. Either way the key's access tokens die at once.
    pub fn regenerate_key(
        &self,
        p: &Principal,
        id: KeyId,
        overlap: Option<Duration>,
    ) -> Result<IssuedKey> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        let before = g.administered_key(id)?;
        g.change_key(&before)?;
        g.issue(before.kind)?;
        let overlap = overlap.filter(|overlap| !overlap.is_zero());
        if overlap.is_some_and(|overlap| overlap > MAX_OVERLAP) {
            return Err(invalid(
                "overlap",
                format!(
                    "an overlap window is at most {} days",
                    MAX_OVERLAP.as_secs() / 86_400
                ),
            ));
        }
        let now = self.now();
        let until = overlap
            .map(|overlap| now.add_millis(i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX)));
        let (secret, phc) = new_secret(self)?;
        let record = self.administer(|store, state| {
            let record = store.regenerate_key(now, &p.attribution(), id, &phc, until)?;
            state.install_key(&record, Some(state.fast.tag(&id, secret.random_part())));
            state.drop_tokens(|token| token.key == id);
            Ok(record)
        })?;
        let code = credentials::KeyCode::new(id, secret).map_err(secret_error)?;
        Ok(IssuedKey {
            key: api_key(&record, now),
            code: KeyCode(code),
        })
    }

    /// Enables or disables a key (`keys.manage`; only keys the principal could have issued),
    /// effective on the very next request. Disabling kills the key's access tokens for good.
    pub fn set_key_enabled(&self, p: &Principal, id: KeyId, enabled: bool) -> Result<ApiKey> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        g.change_key(&g.administered_key(id)?)?;
        self.write_key_enabled(&p.attribution(), id, enabled)
    }

    /// Enables or disables key `id`, recorded as made by `by`, for callers that checked it.
    pub(crate) fn write_key_enabled(
        &self,
        by: &Attribution,
        id: KeyId,
        enabled: bool,
    ) -> Result<ApiKey> {
        let now = self.now();
        let record = self.administer(|store, state| {
            let record = store.set_key_enabled(now, by, id, enabled)?;
            state.install_key(&record, None);
            if !enabled {
                state.drop_tokens(|token| token.key == id);
            }
            Ok(record)
        })?;
        Ok(api_key(&record, now))
    }

    /// Deletes a key with its access tokens and request log (`keys.manage`; only keys the
    /// principal could have issued), effective on the very next request. Its history stays; its
    /// id is never given to another key.
    pub fn delete_key(&self, p: &Principal, id: KeyId) -> Result<()> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyManage)?;
        g.change_key(&g.administered_key(id)?)?;
        let now = self.now();
        self.administer(|store, state| {
            store.delete_key(now, &p.attribution(), id)?;
            state.remove_key(id);
            Ok(())
        })
    }

    /// The last 50 requests made with a key, newest first (`keys.logs`; only keys the principal
    /// could have issued).
    pub fn key_log(&self, p: &Principal, id: KeyId) -> Result<Vec<KeyRequest>> {
        let g = self.guard(p)?;
        g.key_admin(Action::KeyLogs)?;
        g.administered_key(id)?;
        self.flush_key_logs()?;
        Ok(self
            .store()
            .key_requests(id)?
            .into_iter()
            .map(to_request)
            .collect())
    }

    /// Writes the request logs kept in memory to the database (see
    /// [`SystemHandle::flush_key_logs`]).
    pub(crate) fn flush_key_logs(&self) -> Result<()> {
        self.inner.keys.flush(self.store())
    }

    /// Mints an access token with the key `p` was authenticated with (no token). An agent key
    /// mints tokens for its own agent only; a superuser key for any agent or requester (a
    /// portal session), never for a plugin's app identity. The token allows at most the key's
    /// scopes, lives `lifetime_minutes` (default 60, at most
    /// [`Options::max_token_lifetime_minutes`](crate::Options), never past the key's expiry),
    /// and dies at once when its key is regenerated, disabled or deleted, or its agent is
    /// disabled (for good: enabling the agent again does not revive it).
    pub fn mint_token(&self, p: &Principal, token: NewToken) -> Result<MintedToken> {
        let key = self.guard(p)?.minting_key()?;
        self.mint(key, token, &p.attribution())
    }

    /// Revokes an access token at once. A token may revoke itself (a portal sign-out) and a key
    /// its own tokens; anyone else needs key administration of the token's key. A token the
    /// principal may not revoke is not found, exactly like a missing one.
    pub fn revoke_token(&self, p: &Principal, id: TokenId) -> Result<()> {
        let g = self.guard(p)?;
        let token = self.store().token(id)?;
        g.revoke_token(&token)?;
        let state = &self.inner.keys;
        let _admin = state.admin.lock();
        self.store()
            .revoke_token(self.now(), &p.attribution(), id)?;
        state.drop_tokens(|token| token.id == id);
        Ok(())
    }

    /// Mints a token from `key`, recorded as made by `by`.
    fn mint(&self, key: KeyId, token: NewToken, by: &Attribution) -> Result<MintedToken> {
        let state = &self.inner.keys;
        let snap: std::sync::Arc<KeySnap> =
            state.key(key).ok_or_else(|| not_found(Entity::Key, key))?;
        guard::key_mints_for(snap.kind, token.person)?;
        let now = self.now();
        let minutes = token.lifetime_minutes.unwrap_or(DEFAULT_TOKEN_MINUTES);
        if minutes == 0 {
            return Err(invalid("lifetime_minutes", "must be at least one minute"));
        }
        if minutes > state.max_token_minutes {
            return Err(invalid(
                "lifetime_minutes",
                format!(
                    "`{minutes}` is more than the {} minutes allowed",
                    state.max_token_minutes
                ),
            ));
        }
        let scopes = token.scopes.unwrap_or(snap.scopes);
        let excess = scopes - snap.scopes;
        if !excess.is_empty() {
            return Err(invalid(
                "scopes",
                format!("`{excess}` is not allowed by key {key}"),
            ));
        }
        if scopes.is_empty() {
            return Err(Error::Invalid(ValidationError::Empty { field: "scopes" }));
        }
        if !snap.enabled {
            return Err(denied("the key is disabled"));
        }
        if snap.expired(now) {
            return Err(denied("the key has expired"));
        }
        if let ActAs::Agent(agent) = token.person {
            self.may_sign_in(agent)?;
        }
        let lifetime_ms = i64::from(minutes) * 60_000;
        let expires_on = match snap.expires_at {
            Some(key_expiry) => now.add_millis(lifetime_ms).min(key_expiry),
            None => now.add_millis(lifetime_ms),
        };
        let id = state.allocate_token_id();
        let text = credentials::AccessToken::generate(id).map_err(secret_error)?;
        let hasher = state.hasher().map_err(secret_error)?;
        let phc = hasher
            .hash(text.expose().as_bytes())
            .map_err(secret_error)?;
        let tag = state.fast.tag(&id, text.random_part());

        let _admin = state.admin.lock();
        let grace = now.add_millis(-EXPIRED_TOKEN_GRACE_MS);
        if state.drop_tokens(|token| token.expires_at < grace) {
            self.store().prune_tokens(grace)?;
        }
        let record = self.store().create_token(
            now,
            by,
            NewTokenRecord {
                id,
                key,
                key_generation: snap.generation,
                person: token.person,
                scopes,
                secret_hash: phc,
                expires_at: expires_on,
            },
        )?;
        state.install_token(&record, tag);
        let remaining_ms = expires_on.as_millis().saturating_sub(now.as_millis());
        Ok(MintedToken {
            token: AccessToken(text),
            id,
            key,
            person: token.person,
            scopes,
            expires_in: u64::try_from(remaining_ms / 1000).unwrap_or(0),
            expires_on,
        })
    }
}

impl Helpdesk {
    /// The argon2id hash of a fresh secret that nobody will ever hold, for keys used only by
    /// their id (the key of a plugin install).
    pub(crate) fn unheld_secret_hash(&self) -> Result<String> {
        new_secret(self).map(|(_, phc)| phc)
    }

    /// Runs `write`, a store call that may also create, change or delete a key (a plugin
    /// install's), and installs what it did to the key in memory, as [`administer`] does.
    ///
    /// [`administer`]: Self::administer
    pub(crate) fn with_key_change<T>(
        &self,
        write: impl FnOnce(&Store) -> Result<(T, InstallKeyChange)>,
    ) -> Result<T> {
        self.administer(|store, state| {
            let (value, change) = write(store)?;
            match change {
                InstallKeyChange::Unchanged => {}
                InstallKeyChange::Written(record) => state.install_key(&record, None),
                InstallKeyChange::Deleted(id) => state.remove_key(id),
            }
            Ok(value)
        })
    }

    /// Runs `change`, a database write that creates, changes or deletes keys followed by the
    /// in-memory updates it calls for, under the admin lock, so that changes reach memory in
    /// the order they were committed, and after writing the request logs, so that no log entry
    /// is later written for a key deleted meanwhile.
    pub(crate) fn administer<T>(
        &self,
        change: impl FnOnce(&Store, &KeyState) -> Result<T>,
    ) -> Result<T> {
        let state = &self.inner.keys;
        let _admin = state.admin.lock();
        state.flush(self.store())?;
        change(self.store(), state)
    }
}

impl SystemHandle {
    /// Mints an access token from `key` on the application's behalf (for example a portal
    /// session for a signed-in customer), with the same rules as
    /// [`Helpdesk::mint_token`]; history records the system.
    pub fn mint_token(&self, key: KeyId, token: NewToken) -> Result<MintedToken> {
        let by = self.principal().attribution();
        self.helpdesk.mint(key, token, &by)
    }
}

/// Closing the helpdesk writes the request logs still in memory (best effort: a failure here
/// has nobody to be reported to).
impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.keys.flush(&self.store);
    }
}
