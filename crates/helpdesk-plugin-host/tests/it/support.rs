//! The test environment: a helpdesk fixture with a manual clock, a plugin host over it, and
//! helpers to install the guest plugins.

use std::path::PathBuf;

use helpdesk::{
    DeliveryPolicy, Install, InstallId, NewInstall, NewTicket, PluginManifest, Principal, Scopes,
    SecretKey, Ticket,
};
use helpdesk_plugin_host::{HostConfig, PluginHost};
use helpdesk_tests::Fixture;

pub(crate) use crate::guests::Guest;

pub(crate) const PLUGINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugins");

/// The application's secret-settings key in tests.
pub(crate) fn secret_key() -> SecretKey {
    SecretKey::from_bytes([7; 32])
}

/// A guest plugin by name.
pub(crate) fn guest(name: &str) -> Guest {
    crate::guests::guest(PLUGINS, name)
}

/// One compiled-component cache for the whole test run (compiling is the slow part).
pub(crate) fn shared_cache() -> PathBuf {
    crate::guests::build(PLUGINS)
        .ancestors()
        .nth(2)
        .map(|t| t.join("compiled-cache"))
        .unwrap_or_else(|| std::env::temp_dir().join("helpdesk-plugin-cache"))
}

/// Short retries so tests move the clock a little: 1 s, 2 s, then the dead letters after the
/// third attempt; apps disabled after 6 failures in a row.
pub(crate) fn policy() -> DeliveryPolicy {
    DeliveryPolicy {
        max_attempts: 3,
        backoff_base_ms: 1000,
        backoff_max_ms: 60_000,
        auto_disable_after: 6,
    }
}

pub(crate) fn config() -> HostConfig {
    HostConfig::default()
        .with_cache_dir(shared_cache())
        .with_cache_key([9; 32])
        .with_secrets(secret_key())
        .with_delivery(policy())
        .with_max_instances(50)
}

pub(crate) struct Env {
    pub(crate) f: Fixture,
    pub(crate) host: PluginHost,
    pub(crate) root: Principal,
}

impl Env {
    pub(crate) fn new() -> Env {
        Self::with(config())
    }

    pub(crate) fn with(config: HostConfig) -> Env {
        // Installs issue API keys; cheap argon2 parameters keep the suite fast (tests only).
        let clock = helpdesk::ManualClock::new(helpdesk_tests::START);
        let mut options = helpdesk::Options::default().with_clock(clock.clone());
        options.secret_hashing = helpdesk::SecretHashing::InsecureForTests;
        let (desk, system) = helpdesk::Helpdesk::open_in_memory(options).unwrap();
        let f = Fixture::populate(desk, system, clock).unwrap();
        let host = PluginHost::new(&f.system, config).unwrap();
        let root = f.root;
        Env { f, host, root }
    }

    /// Installs a guest as the system, granting `grant` (all requested when `None`).
    pub(crate) fn install(
        &self,
        name: &str,
        grant: Option<&[&str]>,
        settings: &[(&str, &str)],
    ) -> Install {
        self.install_as(&self.root.clone(), name, grant, settings)
            .unwrap()
    }

    pub(crate) fn install_as(
        &self,
        p: &Principal,
        name: &str,
        grant: Option<&[&str]>,
        settings: &[(&str, &str)],
    ) -> helpdesk_plugin_host::Result<Install> {
        let g = guest(name);
        let manifest = PluginManifest::from_toml(&g.manifest).unwrap();
        let mut new = NewInstall::granting_all(manifest, g.wasm).unwrap();
        if let Some(grant) = grant {
            new.grant = Scopes::parse(grant.iter().copied()).unwrap();
        }
        new.settings = settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.host.install(p, new)
    }

    /// Sets a plain setting as the system.
    pub(crate) fn set(&self, install: InstallId, name: &str, value: &str) {
        self.f
            .desk
            .set_plugin_setting(&self.root, install, name, Some(value), None)
            .unwrap();
    }

    /// A ticket in Billing from Bob, opened by the system.
    pub(crate) fn ticket(&self, subject: &str) -> Ticket {
        self.ticket_in(subject, self.f.billing.id)
    }

    pub(crate) fn ticket_in(&self, subject: &str, department: helpdesk::DepartmentId) -> Ticket {
        self.f
            .desk
            .create_ticket(
                &self.root,
                NewTicket::new(subject, department, self.f.bob.id),
            )
            .unwrap()
    }

    /// A value from an install's key-value store, read as the install itself.
    pub(crate) fn kv(&self, install: InstallId, key: &str) -> Option<String> {
        let p = self.f.system.install_principal(install).unwrap();
        self.f
            .desk
            .plugin_kv_get(&p, install, key)
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    }
}
