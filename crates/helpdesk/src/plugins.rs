//! Plugin installs, kept as data behind the same permission checks as everything else: the
//! manifest, the reviewed grant, the app identity, settings (secret ones encrypted with a key the
//! embedding application supplies), each install's key-value store, and event delivery state
//! (queue, retries with backoff, dead letters, replay, automatic disabling). The plugin host
//! (`helpdesk-plugin-host`) runs installs through this API; the core never runs plugin code.

use std::collections::BTreeSet;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use helpdesk_authz::{Action, Scopes, Subject};
use helpdesk_domain::{
    Actor, AgentId, Attribution, Event, EventKind, InstallId, KeyId, Timestamp, ValidationError,
    check_free_text, normalize_line,
};
use helpdesk_store::{
    AppAgentSpec, InstallKey, InstallKeyChange, InstallRecord, InstallStateRecord,
    NewInstallRecord, SettingValue, UpgradeRecord, consumer_name,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Helpdesk;
use crate::error::{Denied, Error, Result};
use crate::principal::{Principal, SystemHandle};

/// Where a widget can appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WidgetLocation {
    /// Beside a ticket.
    TicketSidebar,
    /// Above a ticket.
    TicketHeader,
    /// On the agent's dashboard.
    AgentDashboard,
}

impl WidgetLocation {
    /// The stable name used in manifests: `ticket-sidebar`, `ticket-header`, `agent-dashboard`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TicketSidebar => "ticket-sidebar",
            Self::TicketHeader => "ticket-header",
            Self::AgentDashboard => "agent-dashboard",
        }
    }
}

impl fmt::Display for WidgetLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A setting a plugin declares; the administrator fills it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SettingSpec {
    /// Its name, as the plugin asks for it.
    pub name: String,
    /// A label for the administrator.
    #[serde(default)]
    pub label: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// A secret (an API token of another service): stored encrypted, never shown by any read.
    #[serde(default)]
    pub secret: bool,
    /// Whether the plugin needs a value.
    #[serde(default)]
    pub required: bool,
    /// The value when none is set (not for secrets).
    #[serde(default)]
    pub default: Option<String>,
}

/// What a plugin needs per call; the host applies these up to its own ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Linear memory per instance, in MiB (at most 256).
    pub memory_mib: u32,
    /// WebAssembly fuel per call: roughly the instructions it may run.
    pub fuel: u64,
    /// Wall-clock time per call, in milliseconds (at most 30 000).
    pub timeout_ms: u32,
    /// The key-value store's size: keys and values together, in bytes (at most 16 MiB).
    pub kv_bytes: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_mib: 16,
            fuel: 100_000_000,
            timeout_ms: 1000,
            kv_bytes: 1 << 20,
        }
    }
}

/// A plugin's manifest (`plugin.toml`): what it is, what it asks for and what it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PluginManifest {
    /// A stable id: 1 to 64 of `a-z`, `0-9` and `-`.
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// Its version, such as `1.2.0`.
    pub version: String,
    /// The plugin API it was built for, such as `0.1.0`.
    pub api_version: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The scopes it asks for, such as `tickets.read`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The events it subscribes to, such as `ticket.created` (needs `events.read`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Where its widget appears.
    #[serde(default)]
    pub widgets: Vec<WidgetLocation>,
    /// The settings it declares.
    #[serde(default)]
    pub settings: Vec<SettingSpec>,
    /// What it needs per call.
    #[serde(default)]
    pub limits: PluginLimits,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid(ValidationError::Malformed {
        field,
        reason: reason.into(),
    })
}

impl PluginManifest {
    /// Parses and checks a `plugin.toml`.
    pub fn from_toml(text: &str) -> Result<Self> {
        let manifest: Self =
            toml::from_str(text).map_err(|e| invalid("manifest", e.message().to_owned()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks the manifest's rules: id form, one-line name and version, no control characters
    /// in what is shown to people, known scopes and events, `events.read` for subscriptions,
    /// unique settings, limits within bounds.
    pub fn check(&self) -> Result<()> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(invalid(
                "id",
                format!("`{}` must be 1 to 64 of `a-z`, `0-9` and `-`", self.id),
            ));
        }
        // The name and version are shown to the administrator who reviews the install: one
        // line each, without control characters that a terminal would obey.
        normalize_line("name", &self.name, 100)?;
        normalize_line("version", &self.version, 32)?;
        check_free_text("description", &self.description)?;
        self.api_major_minor()?;
        let requested = self.requested()?;
        for name in &self.events {
            if EventKind::from_name(name).is_none() {
                return Err(invalid("events", format!("`{name}` is not an event kind")));
            }
        }
        if !self.events.is_empty() && !requested.contains(Action::EventRead) {
            return Err(invalid(
                "permissions",
                "a plugin that subscribes to events must ask for `events.read`",
            ));
        }
        let mut names = BTreeSet::new();
        for s in &self.settings {
            if s.name.is_empty()
                || s.name.len() > 64
                || s.name.contains(char::is_control)
                || !names.insert(s.name.as_str())
            {
                return Err(invalid(
                    "settings",
                    format!(
                        "setting `{}` is empty, too long, holds control characters or is declared twice",
                        s.name
                    ),
                ));
            }
            check_free_text("label", &s.label)?;
            check_free_text("description", &s.description)?;
            if s.secret && s.default.is_some() {
                return Err(invalid(
                    "settings",
                    format!("secret setting `{}` cannot have a default", s.name),
                ));
            }
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.memory_mib > 256 {
            return Err(invalid("limits", "`memory-mib` must be 1 to 256"));
        }
        if l.timeout_ms == 0 || l.timeout_ms > 30_000 {
            return Err(invalid("limits", "`timeout-ms` must be 1 to 30000"));
        }
        if l.fuel == 0 || l.fuel > 10_000_000_000 {
            return Err(invalid("limits", "`fuel` must be 1 to 10000000000"));
        }
        if l.kv_bytes > 16 << 20 {
            return Err(invalid("limits", "`kv-bytes` must be at most 16 MiB"));
        }
        Ok(())
    }

    /// The API version's `(major, minor)`.
    pub fn api_major_minor(&self) -> Result<(u32, u32)> {
        let bad = || {
            invalid(
                "api-version",
                format!("`{}` is not a version like `0.1.0`", self.api_version),
            )
        };
        let mut parts = self.api_version.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if let Some(patch) = parts.next()
            && patch.parse::<u32>().is_err()
        {
            return Err(bad());
        }
        Ok((major, minor))
    }

    /// The scopes asked for.
    pub fn requested(&self) -> Result<Scopes> {
        Scopes::parse(self.permissions.iter().map(String::as_str))
            .map_err(|e| invalid("permissions", e.to_string()))
    }

    /// Whether the plugin subscribes to this kind of event.
    pub fn subscribes(&self, kind: EventKind) -> bool {
        self.events.iter().any(|e| e == kind.as_str())
    }
}

/// The key the embedding application supplies to encrypt secret settings (XChaCha20-Poly1305).
/// Keep it outside the database; without it secret settings can be neither set nor read.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A key from 32 bytes (for example from the application's secret store).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    fn aad(install: InstallId, name: &str) -> Vec<u8> {
        format!("helpdesk plugin secret\0{install}\0{name}").into_bytes()
    }

    /// Encrypts a setting's value, bound to its install and name (a ciphertext moved to
    /// another install or setting does not open).
    fn seal(&self, install: InstallId, name: &str, value: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|_| invalid("secret", "no randomness available"))?;
        let aad = Self::aad(install, name);
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| invalid("secret", "could not be encrypted"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, install: InstallId, name: &str, blob: &[u8]) -> Result<String> {
        let wrong = || {
            invalid(
                "secret",
                format!("setting `{name}` does not open with the supplied key"),
            )
        };
        let (nonce, sealed) = blob.split_at_checked(24).ok_or_else(wrong)?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| wrong())?;
        let aad = Self::aad(install, name);
        let plain = self
            .cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Whether an install runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallState {
    /// Running.
    Enabled,
    /// Turned off by an administrator.
    Disabled,
    /// Turned off after repeated failures; an administrator can read why and enable it again.
    AutoDisabled {
        /// Why.
        reason: String,
    },
}

/// An installed plugin.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Install {
    /// Its id.
    pub id: InstallId,
    /// Its manifest (the installed version's).
    pub manifest: PluginManifest,
    /// Whether it runs.
    pub state: InstallState,
    /// The scopes granted at review, never more than asked for nor than the installer held.
    pub granted: Scopes,
    /// Its app identity: an agent-like account that acts for it and appears in history.
    pub app_agent: AgentId,
    /// Its API key, once installs are bound to keys.
    pub key: Option<KeyId>,
    /// SHA-256 of its component, in hex.
    pub wasm_hash: String,
    /// Failed deliveries in a row.
    pub consecutive_failures: u32,
    /// Who installed it.
    pub installed_by: Attribution,
    /// When.
    pub installed_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl Install {
    fn from_record(r: InstallRecord) -> Result<Self> {
        let manifest: PluginManifest =
            serde_json::from_value(r.manifest).map_err(|e| invalid("manifest", e.to_string()))?;
        Ok(Self {
            id: r.id,
            manifest,
            state: match r.state {
                InstallStateRecord::Enabled => InstallState::Enabled,
                InstallStateRecord::Disabled => InstallState::Disabled,
                InstallStateRecord::AutoDisabled(reason) => InstallState::AutoDisabled { reason },
            },
            // Stored names were validated when written; one this version no longer knows
            // grants nothing.
            granted: r.granted.iter().filter_map(|n| n.parse().ok()).collect(),
            app_agent: r.app_agent,
            key: r.key,
            wasm_hash: r.wasm_hash,
            consecutive_failures: r.consecutive_failures,
            installed_by: r.installed_by,
            installed_at: r.installed_at,
            updated_at: r.updated_at,
        })
    }

    /// Whether the install runs.
    pub fn is_enabled(&self) -> bool {
        self.state == InstallState::Enabled
    }
}

/// A plugin to install: its manifest, its component and the reviewed grant.
#[derive(Clone, Debug)]
pub struct NewInstall {
    /// The manifest.
    pub manifest: PluginManifest,
    /// The component (`wasm32-wasip2` output).
    pub wasm: Vec<u8>,
    /// The scopes the administrator grants: all or some of those requested.
    pub grant: Scopes,
    /// Initial values of non-secret settings.
    pub settings: Vec<(String, String)>,
}

impl NewInstall {
    /// An install granting everything the manifest asks for.
    pub fn granting_all(manifest: PluginManifest, wasm: Vec<u8>) -> Result<Self> {
        let grant = manifest.requested()?;
        Ok(Self {
            manifest,
            wasm,
            grant,
            settings: Vec::new(),
        })
    }
}

/// A setting as administrators see it: secret values are never shown.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingView {
    /// Its name.
    pub name: String,
    /// Whether it is secret.
    pub secret: bool,
    /// Its value (or default); always `None` for secrets.
    pub value: Option<String>,
    /// Whether a value is set.
    pub is_set: bool,
}

/// An event to deliver to an app.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// Stable across attempts and replays: apps de-duplicate on it.
    pub id: String,
    /// The install.
    pub install: InstallId,
    /// 1 on the first attempt.
    pub attempt: u32,
    /// The event, with who made the change (person, key, install).
    pub event: Event,
}

/// How deliveries are retried and when an app is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery goes to the dead letters.
    pub max_attempts: u32,
    /// The wait after the first failure, doubled after each further one.
    pub backoff_base_ms: i64,
    /// The longest wait.
    pub backoff_max_ms: i64,
    /// Failed attempts in a row (over all events) after which the app is disabled.
    pub auto_disable_after: u32,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base_ms: 1000,
            backoff_max_ms: 3_600_000,
            auto_disable_after: 20,
        }
    }
}

impl DeliveryPolicy {
    /// The wait before attempt `attempt + 1`, after `attempt` failures.
    pub fn backoff_ms(&self, attempt: u32) -> i64 {
        let shift = attempt.saturating_sub(1).min(30);
        self.backoff_base_ms
            .saturating_mul(1_i64 << shift)
            .min(self.backoff_max_ms)
    }
}

/// What became of a delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Handled; off the queue.
    Delivered,
    /// Failed; retried at this time.
    Retry {
        /// When.
        at: Timestamp,
    },
    /// Failed for the last time; moved to the dead letters.
    DeadLettered,
}

/// A delivery given up after repeated failure.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The event.
    pub event: Event,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure.
    pub last_error: String,
    /// When it was given up.
    pub at: Timestamp,
}

/// A new version of an installed plugin.
#[derive(Clone, Debug)]
pub struct Upgrade {
    /// The new manifest (same plugin id).
    pub manifest: PluginManifest,
    /// The new component.
    pub wasm: Vec<u8>,
    /// A new grant; required when the new version asks for scopes the install lacks.
    pub grant: Option<Scopes>,
}

/// SHA-256 in lower-case hex.
pub fn wasm_hash(wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn scope_names(scopes: Scopes) -> Vec<String> {
    scopes.iter().map(|a| a.name().to_owned()).collect()
}

/// The principal the core itself uses to administer an install's key, attributed to the system
/// acting for the install (the install was authorized before; its key is part of it).
fn core_principal(install: InstallId) -> Principal {
    Principal {
        by: Attribution {
            actor: Actor::System,
            key: None,
            token: None,
            install: Some(install),
        },
        subject: Subject::system(),
    }
}

impl SystemHandle {
    /// The principal an enabled install acts as. This is the one place an install's rights
    /// are assembled: its app identity, intersected with its grant (and its key's scopes).
    /// Only the embedding application (and the plugin host it trusts) can obtain it.
    pub fn install_principal(&self, install: InstallId) -> Result<Principal> {
        let record = self.helpdesk.store().install(install)?;
        if record.state != InstallStateRecord::Enabled {
            return Err(Error::Denied(Denied::rule(
                "the plugin install is not enabled",
            )));
        }
        self.helpdesk.principal_of(&record)
    }

    /// The principal a widget renders with for `viewer`: the viewer's rights narrowed by the
    /// install's grant, so the widget reads only what both may read. Changes made with it are
    /// recorded as the viewer's, through the install.
    pub fn widget_principal(&self, install: InstallId, viewer: &Principal) -> Result<Principal> {
        let own = self.install_principal(install)?;
        let granted = own.subject.plugin.map_or(Scopes::EMPTY, |r| r.scopes);
        let mut subject = viewer.subject;
        let scopes = subject.plugin.map_or(granted, |r| r.scopes & granted);
        subject.plugin = None;
        subject = subject.with_plugin(install, scopes);
        if let Some(key) = own.subject.key {
            let narrowed = subject.key.map_or(key.scopes, |k| k.scopes & key.scopes);
            subject.key = Some(helpdesk_authz::Restriction {
                id: subject.key.map_or(key.id, |k| k.id),
                scopes: narrowed,
            });
        }
        Ok(Principal {
            by: Attribution {
                install: Some(install),
                ..viewer.by
            },
            subject,
        })
    }
}

impl Helpdesk {
    /// The principal an install acts as: its app identity, narrowed by its grant and by the
    /// scopes of its API key (an agent key bound to the app identity, whose secret nobody ever
    /// saw), attributed to the identity, the key and the install. A disabled, expired or
    /// deleted key stops the install.
    fn principal_of(&self, install: &InstallRecord) -> Result<Principal> {
        let granted: Scopes = install
            .granted
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        let mut subject = Subject::agent(install.app_agent).with_plugin(install.id, granted);
        if install.key.is_none() && !granted.is_empty() {
            return Err(Error::Denied(Denied::rule(
                "the plugin install has no key: upgrade or reinstall it",
            )));
        }
        if let Some(key) = install.key {
            let snap = self.inner.keys.key(key).ok_or_else(|| {
                Error::Denied(Denied::rule("the plugin install's key was deleted"))
            })?;
            if !snap.enabled {
                return Err(Error::Denied(Denied::rule(
                    "the plugin install's key is disabled",
                )));
            }
            if snap.expired(self.now()) {
                return Err(Error::Denied(Denied::rule(
                    "the plugin install's key has expired",
                )));
            }
            subject = subject.with_key(key, snap.scopes);
        }
        Ok(Principal {
            by: Attribution {
                actor: Actor::Agent(install.app_agent),
                key: install.key,
                token: None,
                install: Some(install.id),
            },
            subject,
        })
    }

    /// The install's own API key for `grant`: an agent key bound to its app identity with
    /// exactly the granted scopes, written with the install in one transaction. Its secret is
    /// dropped at once: the plugin never holds or sees one, and the host resolves the install's
    /// principal from the key's id. None for an empty grant.
    fn install_key(&self, name: &str, grant: Scopes) -> Result<Option<InstallKey>> {
        if grant.is_empty() {
            return Ok(None);
        }
        Ok(Some(InstallKey {
            label: name.to_owned(),
            secret_hash: self.unheld_secret_hash()?,
        }))
    }

    fn install_record(&self, id: InstallId) -> Result<InstallRecord> {
        Ok(self.store().install(id)?)
    }

    /// Whether `p` acts for install `id` (its own principal, or a widget principal of it).
    fn acts_for(p: &Principal, id: InstallId) -> bool {
        p.by.install == Some(id) && p.subject.plugin.is_some_and(|r| r.id == id)
    }

    /// The install itself, or someone with `plugins.manage`.
    fn authorize_install(&self, p: &Principal, id: InstallId) -> Result<()> {
        if Self::acts_for(p, id) {
            Ok(())
        } else {
            self.authorize_global(p, Action::PluginManage)
        }
    }

    /// Every scope the principal holds, before department levels: what it could grant.
    fn principal_scopes(&self, p: &Principal) -> Result<Scopes> {
        let own = match p.actor() {
            Actor::System => Scopes::ALL,
            Actor::Requester(_) => Scopes::EMPTY,
            Actor::Agent(id) => {
                let agent = self.store().agent(id)?;
                if !agent.active {
                    Scopes::EMPTY
                } else if agent.admin {
                    Scopes::ALL
                } else {
                    let builtins = helpdesk_authz::Role::builtins();
                    let roles = self.store().roles()?;
                    let mut scopes = Scopes::EMPTY;
                    for role in agent.roles {
                        if let Some(b) = builtins.iter().find(|b| b.id == role) {
                            scopes |= b.permissions;
                        } else if let Some(r) = roles.iter().find(|r| r.id == role) {
                            scopes |= r
                                .permissions
                                .iter()
                                .filter_map(|n| n.parse::<Action>().ok())
                                .collect::<Scopes>();
                        }
                    }
                    scopes
                }
            }
        };
        Ok(own & p.subject.layer_scopes())
    }

    /// Checks a grant: within what the manifest asks for and what the installer holds.
    fn check_grant(&self, p: &Principal, manifest: &PluginManifest, grant: Scopes) -> Result<()> {
        let requested = manifest.requested()?;
        let beyond = grant.difference(requested);
        if !beyond.is_empty() {
            return Err(invalid(
                "grant",
                format!(
                    "`{}` was not requested by the plugin; a grant can only narrow the request",
                    beyond
                ),
            ));
        }
        let holds = self.principal_scopes(p)?;
        let lacking = grant.difference(holds);
        if !lacking.is_empty() {
            return Err(Error::Denied(Denied::rule(
                "a grant cannot give a plugin permissions the installing administrator does not hold",
            )));
        }
        Ok(())
    }

    /// The app identity of a new install mirrors the installer's rights; the grant narrows it.
    fn app_agent_spec(&self, p: &Principal, manifest: &PluginManifest) -> Result<AppAgentSpec> {
        let name = format!("{} (app)", manifest.name.trim());
        let (admin, roles, memberships) = match p.actor() {
            Actor::System => (true, Vec::new(), Vec::new()),
            Actor::Agent(id) => {
                let agent = self.store().agent(id)?;
                if agent.admin {
                    (true, Vec::new(), Vec::new())
                } else {
                    let levels = agent
                        .departments
                        .iter()
                        .map(|m| (m.department, m.level))
                        .collect();
                    (false, agent.roles, levels)
                }
            }
            Actor::Requester(_) => {
                return Err(Error::Denied(Denied::rule(
                    "requesters cannot install plugins",
                )));
            }
        };
        Ok(AppAgentSpec {
            name,
            admin,
            roles,
            memberships,
        })
    }

    /// Installs a plugin (`plugins.manage`). The administrator reviews the requested
    /// permissions and grants all or some of them, never more than requested nor more than
    /// they hold themselves. The install gets a dedicated app identity; it starts enabled and
    /// receives events committed from now on. Secret settings are set afterwards with
    /// [`Helpdesk::set_plugin_setting`].
    pub fn install_plugin(&self, p: &Principal, new: NewInstall) -> Result<Install> {
        self.authorize_global(p, Action::PluginManage)?;
        new.manifest.check()?;
        self.check_grant(p, &new.manifest, new.grant)?;
        let mut settings = Vec::new();
        for (name, value) in new.settings {
            let spec = setting_spec(&new.manifest, &name)?;
            if spec.secret {
                return Err(invalid(
                    "settings",
                    format!("`{name}` is secret: set it with the secret key"),
                ));
            }
            settings.push((name, SettingValue::Plain(value)));
        }
        let app_agent = self.app_agent_spec(p, &new.manifest)?;
        let record = NewInstallRecord {
            plugin_id: new.manifest.id.clone(),
            version: new.manifest.version.clone(),
            manifest: serde_json::to_value(&new.manifest)
                .map_err(|e| invalid("manifest", e.to_string()))?,
            wasm_hash: wasm_hash(&new.wasm),
            wasm: new.wasm,
            granted: scope_names(new.grant),
            app_agent,
            settings,
            key: self.install_key(&new.manifest.name, new.grant)?,
        };
        let installed = self.with_key_change(|store| {
            let (installed, key) = store.install_plugin(self.now(), &p.by, record)?;
            let change = key.map_or(InstallKeyChange::Unchanged, InstallKeyChange::Written);
            Ok((installed, change))
        })?;
        self.policy_changed(())?;
        Install::from_record(installed)
    }

    /// Every install (`plugins.manage`).
    pub fn plugins(&self, p: &Principal) -> Result<Vec<Install>> {
        self.authorize_global(p, Action::PluginManage)?;
        self.store()
            .installs()?
            .into_iter()
            .map(Install::from_record)
            .collect()
    }

    /// One install (`plugins.manage`, or the install itself).
    pub fn plugin(&self, p: &Principal, id: InstallId) -> Result<Install> {
        self.authorize_install(p, id)?;
        Install::from_record(self.install_record(id)?)
    }

    /// The install whose app identity is `agent`, if it is one: such an account acts only
    /// through its install and must never be signed in as.
    pub fn app_identity_install(&self, agent: AgentId) -> Result<Option<InstallId>> {
        Ok(self.store().install_of_agent(agent)?)
    }

    /// The component of an install (`plugins.manage`).
    pub fn plugin_wasm(&self, p: &Principal, id: InstallId) -> Result<Vec<u8>> {
        self.authorize_global(p, Action::PluginManage)?;
        let record = self.install_record(id)?;
        Ok(self.store().plugin_wasm(&record.wasm_hash)?)
    }

    fn set_state(
        &self,
        p: &Principal,
        id: InstallId,
        state: InstallStateRecord,
    ) -> Result<Install> {
        let enabled = state == InstallStateRecord::Enabled;
        let updated = self
            .store()
            .set_install_state(self.now(), &p.by, id, state)?;
        if let Some(key) = updated.key {
            self.set_key_enabled(&core_principal(id), key, enabled)?;
        }
        let updated = Install::from_record(updated)?;
        self.policy_changed(updated)
    }

    /// Enables an install (`plugins.manage`), also one disabled automatically; its failure
    /// count starts again from zero.
    pub fn enable_plugin(&self, p: &Principal, id: InstallId) -> Result<Install> {
        self.authorize_global(p, Action::PluginManage)?;
        self.set_state(p, id, InstallStateRecord::Enabled)
    }

    /// Disables an install (`plugins.manage`): it receives no events and renders nothing; its
    /// events wait in the queue until it is enabled again.
    pub fn disable_plugin(&self, p: &Principal, id: InstallId) -> Result<Install> {
        self.authorize_global(p, Action::PluginManage)?;
        self.set_state(p, id, InstallStateRecord::Disabled)
    }

    /// Upgrades an install to a new version (`plugins.manage`). A version that asks for scopes
    /// the install was not granted needs a new grant (reviewed like at install); without one
    /// the install keeps at most its old grant.
    pub fn upgrade_plugin(
        &self,
        p: &Principal,
        id: InstallId,
        upgrade: Upgrade,
    ) -> Result<Install> {
        self.authorize_global(p, Action::PluginManage)?;
        upgrade.manifest.check()?;
        let current = Install::from_record(self.install_record(id)?)?;
        if upgrade.manifest.id != current.manifest.id {
            return Err(invalid(
                "id",
                format!(
                    "the upgrade is for `{}`, the install is `{}`",
                    upgrade.manifest.id, current.manifest.id
                ),
            ));
        }
        let requested = upgrade.manifest.requested()?;
        let grant = match upgrade.grant {
            Some(grant) => {
                self.check_grant(p, &upgrade.manifest, grant)?;
                grant
            }
            None => {
                let new = requested.difference(current.granted);
                if !new.is_empty() {
                    return Err(Error::Denied(Denied::rule(
                        "the new version asks for permissions the install was not granted: review them and grant them explicitly",
                    )));
                }
                requested & current.granted
            }
        };
        let record = UpgradeRecord {
            version: upgrade.manifest.version.clone(),
            manifest: serde_json::to_value(&upgrade.manifest)
                .map_err(|e| invalid("manifest", e.to_string()))?,
            wasm_hash: wasm_hash(&upgrade.wasm),
            wasm: upgrade.wasm,
            granted: scope_names(grant),
            new_key: match current.key {
                None => self.install_key(&upgrade.manifest.name, grant)?,
                Some(_) => None,
            },
        };
        let updated =
            self.with_key_change(|store| store.upgrade_install(self.now(), &p.by, id, &record))?;
        Install::from_record(updated)
    }

    /// Uninstalls a plugin (`plugins.manage`): its settings, key-value data, queued events,
    /// dead letters and outbox subscription are removed, and its app identity is deactivated.
    pub fn uninstall_plugin(&self, p: &Principal, id: InstallId) -> Result<()> {
        self.authorize_global(p, Action::PluginManage)?;
        self.with_key_change(|store| {
            let change = store.uninstall_plugin(self.now(), &p.by, id)?;
            Ok(((), change))
        })?;
        self.policy_changed(())
    }

    // ---- settings ----------------------------------------------------------------------

    /// Sets (or with `None` clears) a declared setting (`plugins.manage`). Secret settings need
    /// the application's [`SecretKey`] and are stored only encrypted.
    pub fn set_plugin_setting(
        &self,
        p: &Principal,
        id: InstallId,
        name: &str,
        value: Option<&str>,
        secrets: Option<&SecretKey>,
    ) -> Result<()> {
        self.authorize_global(p, Action::PluginManage)?;
        let install = Install::from_record(self.install_record(id)?)?;
        let spec = setting_spec(&install.manifest, name)?;
        let stored = match (value, spec.secret) {
            (None, _) => None,
            (Some(v), false) => Some(SettingValue::Plain(v.to_owned())),
            (Some(v), true) => {
                let key = secrets.ok_or_else(|| {
                    invalid(
                        "secret",
                        format!("setting `{name}` is secret: supply the secret key"),
                    )
                })?;
                Some(SettingValue::Secret(key.seal(id, name, v)?))
            }
        };
        Ok(self
            .store()
            .set_plugin_setting(self.now(), id, name, stored)?)
    }

    /// The declared settings of an install with their values (`plugins.manage`, or the install
    /// itself). Secret values are never returned: only whether they are set.
    pub fn plugin_settings(&self, p: &Principal, id: InstallId) -> Result<Vec<SettingView>> {
        self.authorize_install(p, id)?;
        let install = Install::from_record(self.install_record(id)?)?;
        let stored = self.store().plugin_settings(id)?;
        Ok(install
            .manifest
            .settings
            .iter()
            .map(|spec| {
                let value = stored.iter().find(|(n, _)| *n == spec.name).map(|(_, v)| v);
                SettingView {
                    name: spec.name.clone(),
                    secret: spec.secret,
                    value: match value {
                        Some(SettingValue::Plain(v)) if !spec.secret => Some(v.clone()),
                        None if !spec.secret => spec.default.clone(),
                        _ => None,
                    },
                    is_set: value.is_some(),
                }
            })
            .collect())
    }

    /// One setting's value for the install itself, secret ones included (decrypted with the
    /// application's key, which only the plugin host holds). Nobody else can read a secret.
    pub fn own_plugin_setting(
        &self,
        p: &Principal,
        id: InstallId,
        name: &str,
        secrets: Option<&SecretKey>,
    ) -> Result<Option<String>> {
        if !Self::acts_for(p, id) {
            return Err(Error::Denied(Denied::rule(
                "only the install itself reads its settings this way",
            )));
        }
        let install = Install::from_record(self.install_record(id)?)?;
        let spec = setting_spec(&install.manifest, name)?;
        match self.store().plugin_setting(id, name)? {
            None => Ok(spec.default.clone()),
            Some(SettingValue::Plain(v)) => Ok(Some(v)),
            Some(SettingValue::Secret(blob)) => {
                let key = secrets
                    .ok_or_else(|| invalid("secret", "the host was not given the secret key"))?;
                key.open(id, name, &blob).map(Some)
            }
        }
    }

    // ---- key-value store ---------------------------------------------------------------

    fn own_install(&self, p: &Principal, id: InstallId) -> Result<Install> {
        if !Self::acts_for(p, id) {
            return Err(Error::Denied(Denied::rule(
                "an install's key-value store belongs to the install alone",
            )));
        }
        Install::from_record(self.install_record(id)?)
    }

    /// A value from the install's own key-value store.
    pub fn plugin_kv_get(
        &self,
        p: &Principal,
        id: InstallId,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.own_install(p, id)?;
        check_kv_key(key)?;
        Ok(self.store().plugin_kv_get(id, key)?)
    }

    /// Stores a value in the install's own key-value store, within its `kv-bytes` limit.
    pub fn plugin_kv_set(
        &self,
        p: &Principal,
        id: InstallId,
        key: &str,
        value: &[u8],
    ) -> Result<()> {
        let install = self.own_install(p, id)?;
        check_kv_key(key)?;
        Ok(self
            .store()
            .plugin_kv_set(id, key, value, install.manifest.limits.kv_bytes)?)
    }

    /// Removes a key from the install's own key-value store.
    pub fn plugin_kv_delete(&self, p: &Principal, id: InstallId, key: &str) -> Result<()> {
        self.own_install(p, id)?;
        check_kv_key(key)?;
        Ok(self.store().plugin_kv_delete(id, key)?)
    }

    // ---- delivery ----------------------------------------------------------------------

    /// The deliveries due now for an app (the install itself, or `plugins.manage`), at most
    /// `limit`, in sequence order and at most one per ticket (so each ticket's events arrive in
    /// order). New outbox events are first taken onto the install's queue: only kinds it
    /// subscribes to, only about what its key may read, and never its own changes (the loop
    /// guard). A disabled install gets nothing; its events wait.
    pub fn plugin_deliveries(
        &self,
        p: &Principal,
        id: InstallId,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        self.authorize_install(p, id)?;
        let record = self.install_record(id)?;
        if record.state != InstallStateRecord::Enabled {
            return Ok(Vec::new());
        }
        let principal = self.principal_of(&record)?;
        let install = Install::from_record(record)?;
        self.authorize_global(&principal, Action::EventRead)?;
        let consumer = consumer_name(id);
        const PAGE: usize = 256;
        for _ in 0..64 {
            let batch = self.store().read_events(&consumer, PAGE)?;
            let Some(last) = batch.events.last().map(|e| e.seq) else {
                break;
            };
            let full = batch.events.len() == PAGE;
            let keep: Vec<Event> = batch
                .events
                .into_iter()
                .filter(|e| {
                    install.manifest.subscribes(e.kind)
                        && e.by.install != Some(id)
                        && self.event_visible(&principal, e)
                })
                .collect();
            self.store()
                .enqueue_deliveries(id, &keep, last, self.now())?;
            if !full {
                break;
            }
        }
        Ok(self
            .store()
            .due_deliveries(id, self.now(), limit)?
            .into_iter()
            .map(|d| Delivery {
                id: format!("{id}-{}", d.event.seq),
                install: id,
                attempt: d.attempts.saturating_add(1),
                event: d.event,
            })
            .collect())
    }

    /// Records the outcome of a delivery attempt (the install itself, or `plugins.manage`).
    /// A failure is retried with exponential backoff by the helpdesk clock, and after
    /// `policy.max_attempts` goes to the dead letters; after `policy.auto_disable_after` failed
    /// attempts in a row the install is disabled automatically, with the reason.
    pub fn record_delivery(
        &self,
        p: &Principal,
        delivery: &Delivery,
        outcome: std::result::Result<(), &str>,
        policy: &DeliveryPolicy,
    ) -> Result<DeliveryOutcome> {
        let id = delivery.install;
        self.authorize_install(p, id)?;
        let seq = delivery.event.seq;
        let error = match outcome {
            Ok(()) => {
                self.store().delivery_succeeded(id, seq)?;
                return Ok(DeliveryOutcome::Delivered);
            }
            Err(e) => e,
        };
        let now = self.now();
        let retry_at = (delivery.attempt < policy.max_attempts)
            .then(|| now.add_millis(policy.backoff_ms(delivery.attempt)));
        let failures = self
            .store()
            .delivery_failed(id, seq, now, error, retry_at)?;
        if policy.auto_disable_after > 0 && failures >= policy.auto_disable_after {
            let reason = format!(
                "disabled automatically after {failures} failed deliveries in a row; the last: {error}"
            );
            let updated = self.store().set_install_state(
                now,
                &p.by,
                id,
                InstallStateRecord::AutoDisabled(reason),
            )?;
            if let Some(key) = updated.key {
                self.set_key_enabled(&core_principal(id), key, false)?;
            }
            self.policy_changed(())?;
        }
        Ok(match retry_at {
            Some(at) => DeliveryOutcome::Retry { at },
            None => DeliveryOutcome::DeadLettered,
        })
    }

    /// Every queued delivery of an install, due or waiting (`plugins.manage`).
    pub fn plugin_queue(&self, p: &Principal, id: InstallId) -> Result<Vec<Delivery>> {
        self.authorize_global(p, Action::PluginManage)?;
        Ok(self
            .store()
            .queued_deliveries(id)?
            .into_iter()
            .map(|d| Delivery {
                id: format!("{id}-{}", d.event.seq),
                install: id,
                attempt: d.attempts.saturating_add(1),
                event: d.event,
            })
            .collect())
    }

    /// The dead letters of an install, oldest first (`plugins.manage`).
    pub fn plugin_dead_letters(&self, p: &Principal, id: InstallId) -> Result<Vec<DeadLetter>> {
        self.authorize_global(p, Action::PluginManage)?;
        Ok(self
            .store()
            .dead_letters(id)?
            .into_iter()
            .map(|d| DeadLetter {
                event: d.event,
                attempts: d.attempts,
                last_error: d.last_error,
                at: d.at,
            })
            .collect())
    }

    /// Puts dead letters back on the queue, due now with fresh attempts (`plugins.manage`):
    /// one by sequence number, or all with `None`. Returns how many.
    pub fn replay_dead_letters(
        &self,
        p: &Principal,
        id: InstallId,
        seq: Option<u64>,
    ) -> Result<usize> {
        self.authorize_global(p, Action::PluginManage)?;
        Ok(self.store().requeue_dead_letters(id, seq, self.now())?)
    }

    /// Replays events from a cursor (`plugins.manage`): the install takes again every retained
    /// outbox event after `after`, with the same delivery ids (apps de-duplicate). Returns the
    /// cursor it restarts from (later than `after` if older events were already pruned).
    pub fn replay_plugin_events(&self, p: &Principal, id: InstallId, after: u64) -> Result<u64> {
        self.authorize_global(p, Action::PluginManage)?;
        self.install_record(id)?;
        Ok(self.store().rewind_install_consumer(id, after)?)
    }
}

fn setting_spec<'m>(manifest: &'m PluginManifest, name: &str) -> Result<&'m SettingSpec> {
    manifest
        .settings
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            invalid(
                "settings",
                format!("the plugin declares no setting `{name}`"),
            )
        })
}

fn check_kv_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::Invalid(ValidationError::Empty { field: "key" }));
    }
    if key.len() > 256 {
        return Err(Error::Invalid(ValidationError::TooLong {
            field: "key",
            len: key.len(),
            max: 256,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_refuse_control_characters_in_what_people_read() {
        // A TOML basic string with every character but letters, digits, dots and spaces escaped.
        let quoted = |text: &str| -> String {
            let escaped: String = text
                .chars()
                .map(|c| match c {
                    ' ' | 'a'..='z' | 'A'..='Z' | '0'..='9' | '.' => c.to_string(),
                    c => format!("\\U{:08X}", u32::from(c)),
                })
                .collect();
            format!("\"{escaped}\"")
        };
        let manifest = |name: &str, description: &str, label: &str| {
            format!(
                "id = \"probe\"\nname = {}\nversion = \"1.0.0\"\napi-version = \"0.1.0\"\n\
                 description = {}\n[[settings]]\nname = \"mode\"\nlabel = {}\n",
                quoted(name),
                quoted(description),
                quoted(label)
            )
        };
        let check = |name: &str, description: &str, label: &str, refused: Option<&str>| {
            let got = PluginManifest::from_toml(&manifest(name, description, label));
            match (got, refused) {
                (Ok(_), None) => {}
                (Err(Error::Invalid(e)), Some(field)) => {
                    assert!(e.to_string().starts_with(&format!("`{field}`")), "{e}")
                }
                (got, want) => panic!("{name:?} {description:?} {label:?}: {got:?}, want {want:?}"),
            }
        };
        check("Probe", "Looks around.\nTwice.\t", "Mode", None);
        check("Probe\u{1b}[2K\rTrusted", "", "Mode", Some("name"));
        check("Two\nlines", "", "Mode", Some("name"));
        check("  ", "", "Mode", Some("name"));
        check("Probe", "bell\u{7}", "Mode", Some("description"));
        check("Probe", "", "Mode\u{0}", Some("label"));
    }

    #[test]
    fn secrets_open_only_with_their_key_install_and_name() {
        let key = SecretKey::from_bytes([1; 32]);
        let id = InstallId::new(3);
        let sealed = key.seal(id, "token", "s3cr3t").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(key.open(id, "token", &sealed).unwrap(), "s3cr3t");
        assert!(key.open(InstallId::new(4), "token", &sealed).is_err());
        assert!(key.open(id, "other", &sealed).is_err());
        assert!(
            SecretKey::from_bytes([2; 32])
                .open(id, "token", &sealed)
                .is_err()
        );
        assert!(key.open(id, "token", &sealed[..10]).is_err());
        // A fresh nonce each time: the same value never seals the same way twice.
        assert_ne!(key.seal(id, "token", "s3cr3t").unwrap(), sealed);
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = DeliveryPolicy {
            backoff_base_ms: 1000,
            backoff_max_ms: 5000,
            ..DeliveryPolicy::default()
        };
        let waits: Vec<i64> = (1..=5).map(|a| policy.backoff_ms(a)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn api_versions_parse() {
        let check = |v: &str, expected: Option<(u32, u32)>| {
            let m = PluginManifest {
                id: "x".into(),
                name: "X".into(),
                version: "1".into(),
                api_version: v.into(),
                description: String::new(),
                permissions: Vec::new(),
                events: Vec::new(),
                widgets: Vec::new(),
                settings: Vec::new(),
                limits: PluginLimits::default(),
            };
            assert_eq!(m.api_major_minor().ok(), expected, "{v}");
        };
        check("0.1.0", Some((0, 1)));
        check("0.1", Some((0, 1)));
        check("1.2.3", Some((1, 2)));
        check("one", None);
        check("0.x.0", None);
        check("0.1.beta", None);
    }
}
