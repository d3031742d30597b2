//! Installs as data: install, list, show, enable, disable, upgrade and uninstall, each with the
//! install's key in the same transaction, and the principals installs and their widgets act as.

use helpdesk_authz::{Action, Scopes};
use helpdesk_domain::{AgentId, Attribution, InstallId, KeyId, Timestamp};
use helpdesk_store::{
    AppAgentSpec, InstallKey, InstallKeyChange, InstallRecord, InstallStateRecord,
    NewInstallRecord, SettingValue, UpgradeRecord,
};
use sha2::{Digest, Sha256};

use super::{NewInstall, PluginManifest, Upgrade, invalid, setting_spec};
use crate::Helpdesk;
use crate::error::{Denied, Error, Result};
use crate::guard::{self, Guard};
use crate::principal::{Principal, SystemHandle};

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
    /// Outbox events dropped by retention before the install took them onto its queue (for
    /// example while it was disabled for long); some may not have been for it.
    pub missed_events: u64,
    /// Who installed it.
    pub installed_by: Attribution,
    /// When.
    pub installed_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl Install {
    pub(super) fn from_record(r: InstallRecord) -> Result<Self> {
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
            granted: r.granted,
            app_agent: r.app_agent,
            key: r.key,
            wasm_hash: r.wasm_hash,
            consecutive_failures: r.consecutive_failures,
            missed_events: r.missed_events,
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

/// SHA-256 in lower-case hex.
pub fn wasm_hash(wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl SystemHandle {
    /// The principal an enabled install acts as: its app identity, narrowed by its grant and by
    /// its own key (an agent key bound to the app identity, whose secret nobody ever saw),
    /// attributed to the identity, the key and the install. A disabled, expired or deleted key
    /// stops the install. Only the embedding application (and the plugin host it trusts) can
    /// obtain it.
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
    /// install's grant and key, so the widget reads only what both may read. Changes made with it
    /// are recorded as the viewer's, through the install.
    pub fn widget_principal(&self, install: InstallId, viewer: &Principal) -> Result<Principal> {
        let own = self.install_principal(install)?;
        self.helpdesk.guard(viewer)?.widget_principal(&own)
    }
}

impl Helpdesk {
    /// The principal install `record` acts as, with its key as it is now.
    pub(crate) fn principal_of(&self, record: &helpdesk_store::InstallRecord) -> Result<Principal> {
        // The version first: if the key changes after its snapshot is read, the version moves.
        let tables = self.inner.keys.version();
        let snap = record
            .key
            .and_then(|key| self.inner.keys.key(key).map(|s| (key, s)));
        if record.key.is_some() && snap.is_none() {
            return Err(Error::Denied(Denied::rule(
                "the plugin install's key was deleted",
            )));
        }
        guard::install_principal(
            record,
            record.granted,
            snap.as_ref().map(|(key, s)| (*key, &**s)),
            tables,
            self.now(),
        )
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

    pub(super) fn install_record(&self, id: InstallId) -> Result<InstallRecord> {
        self.store().install(id)
    }

    /// Install `id`, which the guard's principal (holding `plugins.manage`) may change.
    pub(super) fn managed_install(&self, g: &Guard<'_>, id: InstallId) -> Result<Install> {
        let record = self.install_record(id)?;
        g.change_install(&record, record.granted)?;
        Install::from_record(record)
    }

    /// Installs a plugin (`plugins.manage`). The administrator reviews the requested
    /// permissions and grants all or some of them, never more than requested nor (for a
    /// non-administrator) more than they hold themselves. The install gets a dedicated app
    /// identity with the installer's rights, narrowed by the grant; it starts enabled and
    /// receives events committed from now on. Secret settings are set afterwards with
    /// [`Helpdesk::set_plugin_setting`].
    pub fn install_plugin(&self, p: &Principal, new: NewInstall) -> Result<Install> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        new.manifest.check()?;
        super::check_grant(&g, &new.manifest, new.grant)?;
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
        let rights = g.app_identity_rights()?;
        let app_agent = AppAgentSpec {
            name: format!("{} (app)", new.manifest.name.trim()),
            admin: rights.admin,
            roles: rights.roles,
            memberships: rights.memberships,
        };
        let record = NewInstallRecord {
            plugin_id: new.manifest.id.clone(),
            version: new.manifest.version.clone(),
            manifest: serde_json::to_value(&new.manifest)
                .map_err(|e| invalid("manifest", e.to_string()))?,
            wasm_hash: wasm_hash(&new.wasm),
            wasm: new.wasm,
            granted: new.grant,
            app_agent,
            settings,
            key: self.install_key(&new.manifest.name, new.grant)?,
        };
        let installed = self.with_key_change(|store| {
            let (installed, key) = store.install_plugin(self.now(), &p.attribution(), record)?;
            let change = key.map_or(InstallKeyChange::Unchanged, InstallKeyChange::Written);
            Ok((installed, change))
        })?;
        self.policy_changed(())?;
        Install::from_record(installed)
    }

    /// Every install (`plugins.manage`).
    pub fn plugins(&self, p: &Principal) -> Result<Vec<Install>> {
        self.guard(p)?.allow_global(Action::PluginManage)?;
        self.store()
            .installs()?
            .into_iter()
            .map(Install::from_record)
            .collect()
    }

    /// One install (`plugins.manage`, or the install itself).
    pub fn plugin(&self, p: &Principal, id: InstallId) -> Result<Install> {
        self.guard(p)?.install_or_manager(id)?;
        Install::from_record(self.install_record(id)?)
    }

    /// The component of an install (`plugins.manage`).
    pub fn plugin_wasm(&self, p: &Principal, id: InstallId) -> Result<Vec<u8>> {
        self.guard(p)?.allow_global(Action::PluginManage)?;
        let record = self.install_record(id)?;
        self.store().plugin_wasm(&record.wasm_hash)
    }

    /// Sets an install's state and its key's enabled flag with it, recorded as made by `by`,
    /// for callers that checked it; the app identity is active exactly while it is enabled.
    pub(super) fn write_install_state(
        &self,
        by: &Attribution,
        id: InstallId,
        state: InstallStateRecord,
    ) -> Result<Install> {
        let enabled = state == InstallStateRecord::Enabled;
        let updated = self.store().set_install_state(self.now(), by, id, state)?;
        if let Some(key) = updated.key {
            self.write_key_enabled(by, key, enabled)?;
        }
        let updated = Install::from_record(updated)?;
        self.policy_changed(updated)
    }

    /// Enables an install (`plugins.manage`, within what the principal could have installed),
    /// also one disabled automatically; its failure count starts again from zero.
    pub fn enable_plugin(&self, p: &Principal, id: InstallId) -> Result<Install> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        self.managed_install(&g, id)?;
        self.write_install_state(&p.attribution(), id, InstallStateRecord::Enabled)
    }

    /// Disables an install (`plugins.manage`, within what the principal could have installed):
    /// it receives no events and renders nothing; its events wait in the queue until it is
    /// enabled again.
    pub fn disable_plugin(&self, p: &Principal, id: InstallId) -> Result<Install> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        self.managed_install(&g, id)?;
        self.write_install_state(&p.attribution(), id, InstallStateRecord::Disabled)
    }

    /// Upgrades an install to a new version (`plugins.manage`, within what the principal could
    /// have installed). A version that asks for scopes the install was not granted needs a new
    /// grant (reviewed like at install); without one the install keeps at most its old grant.
    pub fn upgrade_plugin(
        &self,
        p: &Principal,
        id: InstallId,
        upgrade: Upgrade,
    ) -> Result<Install> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        upgrade.manifest.check()?;
        let current = self.managed_install(&g, id)?;
        if upgrade.manifest.id != current.manifest.id {
            return Err(invalid(
                "id",
                format!(
                    "the upgrade is for `{}`, the install is `{}`",
                    upgrade.manifest.id, current.manifest.id
                ),
            ));
        }
        let grant = super::upgraded_grant(&g, &upgrade, current.granted)?;
        let record = UpgradeRecord {
            version: upgrade.manifest.version.clone(),
            manifest: serde_json::to_value(&upgrade.manifest)
                .map_err(|e| invalid("manifest", e.to_string()))?,
            wasm_hash: wasm_hash(&upgrade.wasm),
            wasm: upgrade.wasm,
            granted: grant,
            new_key: match current.key {
                None => self.install_key(&upgrade.manifest.name, grant)?,
                Some(_) => None,
            },
        };
        let updated = self.with_key_change(|store| {
            store.upgrade_install(self.now(), &p.attribution(), id, &record)
        })?;
        Install::from_record(updated)
    }

    /// Uninstalls a plugin (`plugins.manage`, within what the principal could have installed):
    /// its settings, key-value data, queued events, dead letters, queue and key are removed, and
    /// its app identity is deactivated for good.
    pub fn uninstall_plugin(&self, p: &Principal, id: InstallId) -> Result<()> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        self.managed_install(&g, id)?;
        self.with_key_change(|store| {
            let change = store.uninstall_plugin(self.now(), &p.attribution(), id)?;
            Ok(((), change))
        })?;
        self.policy_changed(())
    }
}
