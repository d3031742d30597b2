//! The second public crate of the helpdesk: the WebAssembly plugin host, layered on the `helpdesk` facade.
//!
//! Plugins are WebAssembly components built against the `helpdesk:plugin` WIT world (see
//! `plugins/wit` and the guest SDK in `plugins/sdk`). The core keeps installs as data (manifest,
//! wasm, grant, settings, key-value store, delivery state); this crate runs them:
//!
//! - [`PluginHost::install`] checks a component (its API version, its imports) and installs it
//!   through the facade, which reviews the grant against the request and the installer's rights.
//! - [`PluginHost::deliver`] delivers outbox events to the apps subscribed to them: at least
//!   once, in order per ticket, with retries and backoff by the helpdesk clock, dead letters,
//!   automatic disabling, and a loop guard.
//! - [`PluginHost::render`] renders a widget for a viewing agent into a typed [`Widget`], which
//!   the host turns into escaped HTML or JSON; [`PluginHost::action`] runs its buttons.
//!
//! Every host call a plugin makes goes through the same public facade API as any other caller,
//! with the install's principal ([`helpdesk::SystemHandle::install_principal`]); the host has no
//! other door to storage. Each call runs in a sandbox: no filesystem, network or environment; a
//! memory cap per instance; a CPU budget (fuel) and a wall-clock timeout (epoch deadline) per
//! call; bounded sizes across the boundary. A trap or an exceeded limit ends only that call with
//! a [`CallError`]; the instance is discarded, and the host and other plugins go on. Compiled
//! components are cached in memory and on disk (integrity-checked), and instances come from an
//! `InstancePre` on the pooling allocator. No wasmtime type appears in this API.
//!
//! ```no_run
//! use helpdesk::{Helpdesk, NewInstall, Options, PluginManifest};
//! use helpdesk_plugin_host::{HostConfig, PluginHost};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (desk, system) = Helpdesk::open_in_memory(Options::default())?;
//! let host = PluginHost::new(&system, HostConfig::default())?;
//! let manifest = PluginManifest::from_toml(&std::fs::read_to_string("plugin.toml")?)?;
//! let wasm = std::fs::read("target/wasm32-wasip2/release/my_plugin.wasm")?;
//! let install = host.install(&system.principal(), NewInstall::granting_all(manifest, wasm)?)?;
//! let report = host.deliver()?;
//! # let _ = (desk, install, report);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod bare;
mod bindings;
mod cache;
mod delivery;
mod engine;
mod error;
mod host;
mod sandbox;
mod widget;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use helpdesk::{
    Actor, DeliveryPolicy, Helpdesk, Install, InstallId, NewInstall, PluginLimits, Principal,
    SecretKey, SystemHandle, TicketId, Upgrade, WidgetLocation,
};
use parking_lot::{Mutex, RwLock};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store};

use crate::bindings::v0_1;
use crate::engine::{Api, EPOCH_TICK, EngineSizing, Ticker};
use crate::sandbox::{CallCtx, HostState, MAX_RETURN_BYTES, Mode, PluginCtx, classify, truncate};

#[doc(hidden)]
pub use bare::BareCall;
pub use cache::CacheStats;
pub use delivery::DeliveryReport;
pub use error::{CallError, Fault, HostError, Result};
pub use widget::{Node, Tone, Widget, escape_html};

/// How the host runs plugins: start from [`HostConfig::default`] and change what differs with
/// the `with_` methods (fields may be read and set, but new ones may come in later versions).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HostConfig {
    /// Where compiled components are cached; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// The key that authenticates cache entries (HMAC-SHA256). Without it the cache is checked
    /// with a plain SHA-256, which catches corruption but not a deliberate rewrite: give a key
    /// whenever the cache directory is writable by anyone but this application.
    pub cache_key: Option<[u8; 32]>,
    /// The application's key for secret settings; without it plugins cannot read theirs.
    pub secrets: Option<SecretKey>,
    /// Retries, dead letters and automatic disabling.
    pub delivery: DeliveryPolicy,
    /// The most any plugin gets, whatever its manifest asks for.
    pub ceiling: PluginLimits,
    /// Reuse an app's instance from one event to the next (faster). Widgets always render on a
    /// fresh instance, so nothing from one viewer's render can reach another's.
    pub reuse_instances: bool,
    /// Instances alive at once (the pooling allocator's slots).
    pub max_instances: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            cache_key: None,
            secrets: None,
            delivery: DeliveryPolicy::default(),
            ceiling: PluginLimits {
                memory_mib: 64,
                fuel: 1_000_000_000,
                timeout_ms: 5000,
                kv_bytes: 16 << 20,
            },
            reuse_instances: true,
            max_instances: 1000,
        }
    }
}

impl HostConfig {
    /// This configuration caching compiled components in `dir`.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// This configuration authenticating cache entries with `key`.
    pub fn with_cache_key(mut self, key: [u8; 32]) -> Self {
        self.cache_key = Some(key);
        self
    }

    /// This configuration with the application's key for secret settings.
    pub fn with_secrets(mut self, secrets: SecretKey) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// This configuration with another delivery policy.
    pub fn with_delivery(mut self, delivery: DeliveryPolicy) -> Self {
        self.delivery = delivery;
        self
    }

    /// This configuration with other ceilings on what any plugin gets.
    pub fn with_ceiling(mut self, ceiling: PluginLimits) -> Self {
        self.ceiling = ceiling;
        self
    }

    /// This configuration reusing app instances between events, or not.
    pub fn with_reuse_instances(mut self, reuse: bool) -> Self {
        self.reuse_instances = reuse;
        self
    }

    /// This configuration with at most `instances` instances alive at once.
    pub fn with_max_instances(mut self, instances: u32) -> Self {
        self.max_instances = instances;
        self
    }
}

/// Warm instances kept per install.
const WARM_PER_INSTALL: usize = 2;

/// A reusable instance.
struct Warm {
    store: Store<HostState>,
    plugin: v0_1::Plugin,
}

/// An install running in this host.
struct Loaded {
    install: Install,
    ctx: Arc<PluginCtx>,
    principal: Principal,
    limits: PluginLimits,
    api: Api,
    pre: v0_1::PluginPre<HostState>,
    warm: Mutex<Vec<Warm>>,
}

impl Loaded {
    fn plugin(&self) -> &str {
        &self.install.manifest.id
    }
}

struct Inner {
    system: SystemHandle,
    desk: Helpdesk,
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::Cache,
    config: HostConfig,
    running: RwLock<HashMap<InstallId, Arc<Loaded>>>,
    // Declared last: dropped after everything that uses the engine.
    _ticker: Ticker,
}

/// The plugin host. Cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

fn min_limits(asked: PluginLimits, ceiling: PluginLimits) -> PluginLimits {
    PluginLimits {
        memory_mib: asked.memory_mib.min(ceiling.memory_mib),
        fuel: asked.fuel.min(ceiling.fuel),
        timeout_ms: asked.timeout_ms.min(ceiling.timeout_ms),
        kv_bytes: asked.kv_bytes.min(ceiling.kv_bytes),
    }
}

impl PluginHost {
    /// Starts a host over the helpdesk of `system` and loads every enabled install, compiled
    /// components coming from the cache. The host is trusted by the embedding application: it
    /// holds the system handle to obtain each install's principal.
    pub fn new(system: &SystemHandle, config: HostConfig) -> Result<Self> {
        let engine = engine::build_engine(EngineSizing {
            instances: config.max_instances,
            max_memory_mib: config.ceiling.memory_mib,
        })?;
        let linker = engine::build_linker(&engine)?;
        let cache = cache::Cache::new(&engine, config.cache_dir.clone(), config.cache_key);
        let ticker = Ticker::start(&engine)?;
        let host = Self {
            inner: Arc::new(Inner {
                system: system.clone(),
                desk: system.helpdesk().clone(),
                engine,
                linker,
                cache,
                config,
                running: RwLock::new(HashMap::new()),
                _ticker: ticker,
            }),
        };
        host.sync()?;
        Ok(host)
    }

    fn root(&self) -> Principal {
        self.inner.system.principal()
    }

    /// The installs running now.
    pub fn running(&self) -> Vec<InstallId> {
        let mut ids: Vec<InstallId> = self.inner.running.read().keys().copied().collect();
        ids.sort();
        ids
    }

    /// How many components were compiled, loaded from the disk cache, or refused by its check.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// Checks that `wasm` is a plugin this host can run: a component exporting a served API
    /// version that matches the manifest's, importing nothing the host does not offer.
    pub fn check(&self, manifest: &helpdesk::PluginManifest, wasm: &[u8]) -> Result<()> {
        let (major, minor) = manifest.api_major_minor()?;
        let api = Api::from_major_minor(major, minor).ok_or_else(|| HostError::UnsupportedApi {
            version: manifest.api_version.clone(),
            supported: engine::SUPPORTED,
        })?;
        // Compiled once: the install that follows loads it from the cache.
        let hash = helpdesk::wasm_hash(wasm);
        let component = self
            .inner
            .cache
            .component(&self.inner.engine, &hash, || Ok(wasm.to_vec()))?;
        let built_for = engine::component_api(&self.inner.engine, &component)?;
        if built_for != api {
            return Err(HostError::NotAPlugin {
                reason: format!(
                    "the manifest says api version `{}` but the component was built for another",
                    manifest.api_version
                ),
            });
        }
        self.inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| HostError::NotAPlugin {
                reason: format!("it imports something this host does not offer: {e:#}"),
            })?;
        Ok(())
    }

    /// Installs a plugin after checking its component (see [`PluginHost::check`]); the
    /// facade reviews the grant. The install starts running here at once.
    pub fn install(&self, p: &Principal, new: NewInstall) -> Result<Install> {
        self.check(&new.manifest, &new.wasm)?;
        let install = self.inner.desk.install_plugin(p, new)?;
        self.sync()?;
        Ok(install)
    }

    /// Upgrades an install after checking the new component; see
    /// [`helpdesk::Helpdesk::upgrade_plugin`] for the grant rules.
    pub fn upgrade(&self, p: &Principal, id: InstallId, upgrade: Upgrade) -> Result<Install> {
        self.check(&upgrade.manifest, &upgrade.wasm)?;
        let install = self.inner.desk.upgrade_plugin(p, id, upgrade)?;
        self.sync()?;
        Ok(install)
    }

    /// Brings the running set in line with the installs (enabled, disabled, upgraded,
    /// uninstalled through the facade). [`PluginHost::deliver`] does this first.
    pub fn sync(&self) -> Result<()> {
        let installs = self.inner.desk.plugins(&self.root())?;
        let mut keep = Vec::new();
        for install in installs {
            if !install.is_enabled() {
                continue;
            }
            // The install's principal now: its key may have been disabled or deleted.
            let principal = match self.inner.system.install_principal(install.id) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(install = install.id.get(), error = %e, "plugin cannot run");
                    continue;
                }
            };
            keep.push(install.id);
            let current = self.inner.running.read().get(&install.id).cloned();
            let unchanged = current.is_some_and(|l| {
                l.principal == principal
                    && l.install.wasm_hash == install.wasm_hash
                    && l.install.granted == install.granted
                    && l.install.manifest == install.manifest
                    && l.install.key == install.key
            });
            if unchanged {
                continue;
            }
            match self.load(install) {
                Ok(loaded) => {
                    let id = loaded.install.id;
                    self.inner.running.write().insert(id, Arc::new(loaded));
                }
                Err((id, e)) => {
                    tracing::error!(install = id.get(), error = %e, "cannot load plugin");
                    self.inner.running.write().remove(&id);
                }
            }
        }
        self.inner.running.write().retain(|id, _| keep.contains(id));
        Ok(())
    }

    fn load(&self, install: Install) -> std::result::Result<Loaded, (InstallId, HostError)> {
        let id = install.id;
        let inner = &self.inner;
        let fail = |e: HostError| (id, e);
        let root = self.root();
        let component = inner
            .cache
            .component(&inner.engine, &install.wasm_hash, || {
                Ok(inner.desk.plugin_wasm(&root, id)?)
            })
            .map_err(fail)?;
        let api = engine::component_api(&inner.engine, &component).map_err(fail)?;
        let pre = inner
            .linker
            .instantiate_pre(&component)
            .and_then(v0_1::PluginPre::new)
            .map_err(|e| fail(error::engine(format!("{e:#}"))))?;
        let principal = inner
            .system
            .install_principal(id)
            .map_err(|e| fail(e.into()))?;
        let limits = min_limits(install.manifest.limits, inner.config.ceiling);
        Ok(Loaded {
            ctx: Arc::new(PluginCtx {
                desk: inner.desk.clone(),
                install: id,
                plugin: install.manifest.id.clone(),
                secrets: inner.config.secrets.clone(),
            }),
            install,
            principal,
            limits,
            api,
            pre,
            warm: Mutex::new(Vec::new()),
        })
    }

    fn loaded(&self, id: InstallId) -> Result<Arc<Loaded>> {
        self.inner
            .running
            .read()
            .get(&id)
            .cloned()
            .ok_or(HostError::NotRunning(id))
    }

    /// Arms the per-call limits: fuel, and the epoch deadline for the wall-clock timeout.
    fn arm(store: &mut Store<HostState>, limits: &PluginLimits) -> wasmtime::Result<()> {
        store.set_fuel(limits.fuel)?;
        let ticks = u64::from(limits.timeout_ms) / (EPOCH_TICK.as_millis() as u64).max(1) + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        Ok(())
    }

    /// A fresh instance from the install's `InstancePre`.
    fn instantiate(&self, loaded: &Loaded, call: CallCtx) -> Result<Warm> {
        let mut store = Store::new(
            &self.inner.engine,
            HostState::new(Arc::clone(&loaded.ctx), call, &loaded.limits),
        );
        store.limiter(|s| &mut s.cap);
        let armed = Self::arm(&mut store, &loaded.limits);
        let plugin = armed.and_then(|()| match loaded.api {
            Api::V0_1 => loaded.pre.instantiate(&mut store),
        });
        match plugin {
            Ok(plugin) => Ok(Warm { store, plugin }),
            Err(e) => Err(classify(loaded.plugin(), store.data(), &e).into()),
        }
    }

    /// Runs one call on a warm or fresh instance. On any failure the instance is dropped
    /// (discarded), so the next call starts clean.
    fn run<R>(
        &self,
        loaded: &Loaded,
        call: CallCtx,
        reuse: bool,
        f: impl FnOnce(&mut Store<HostState>, &v0_1::Plugin) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let warm = if reuse {
            loaded.warm.lock().pop()
        } else {
            None
        };
        let mut w = match warm {
            Some(w) => w,
            None => self.instantiate(loaded, call)?,
        };
        w.store.data_mut().call = call;
        let result =
            Self::arm(&mut w.store, &loaded.limits).and_then(|()| f(&mut w.store, &w.plugin));
        match result {
            Ok(r) => {
                if reuse {
                    let mut pool = loaded.warm.lock();
                    if pool.len() < WARM_PER_INSTALL {
                        pool.push(w);
                    }
                }
                Ok(r)
            }
            Err(e) => Err(classify(loaded.plugin(), w.store.data(), &e).into()),
        }
    }

    fn returned(loaded: &Loaded, message: String) -> HostError {
        HostError::Call(CallError {
            plugin: loaded.plugin().to_owned(),
            fault: Fault::Returned,
            detail: truncate(&message, MAX_RETURN_BYTES),
        })
    }

    fn widget_context(
        &self,
        loaded: &Loaded,
        location: WidgetLocation,
        viewer: &Principal,
        ticket: Option<TicketId>,
    ) -> Result<(CallCtx, v0_1::exports::helpdesk::plugin::widget::Context)> {
        if !loaded.install.manifest.widgets.contains(&location) {
            return Err(HostError::NoWidget {
                plugin: loaded.plugin().to_owned(),
                location,
            });
        }
        let Actor::Agent(agent) = viewer.actor() else {
            return Err(HostError::Helpdesk(helpdesk::Error::Invalid(
                helpdesk::ValidationError::Malformed {
                    field: "viewer",
                    reason: "widgets render for agents".to_owned(),
                },
            )));
        };
        let principal = self
            .inner
            .system
            .widget_principal(loaded.install.id, viewer)?;
        let call = CallCtx {
            principal,
            also: Some(loaded.principal),
            mode: Mode::Render,
            logs: 0,
        };
        let context = v0_1::exports::helpdesk::plugin::widget::Context {
            location: widget::location(location),
            viewer: agent.get(),
            ticket: ticket.map(TicketId::get),
        };
        Ok((call, context))
    }

    /// Renders an install's widget at `location` for the agent `viewer` (and the ticket on
    /// screen). While rendering, the plugin reads only what both its grant and the viewer may
    /// read, and can change nothing. Always on a fresh instance.
    pub fn render(
        &self,
        install: InstallId,
        location: WidgetLocation,
        viewer: &Principal,
        ticket: Option<TicketId>,
    ) -> Result<Widget> {
        let loaded = self.loaded(install)?;
        let (call, context) = self.widget_context(&loaded, location, viewer, ticket)?;
        let tree = self.run(&loaded, call, false, |store, plugin| {
            plugin.helpdesk_plugin_widget().call_render(store, context)
        })?;
        let tree = tree.map_err(|m| Self::returned(&loaded, m))?;
        Ok(widget::from_wit(loaded.plugin(), install, tree)?)
    }

    /// Every running widget for `location`, each rendered for `viewer`; a widget that fails is
    /// reported in its place and does not stop the others.
    pub fn render_all(
        &self,
        location: WidgetLocation,
        viewer: &Principal,
        ticket: Option<TicketId>,
    ) -> Vec<(InstallId, Result<Widget>)> {
        let ids: Vec<InstallId> = {
            let running = self.inner.running.read();
            let mut ids: Vec<InstallId> = running
                .values()
                .filter(|l| l.install.manifest.widgets.contains(&location))
                .map(|l| l.install.id)
                .collect();
            ids.sort();
            ids
        };
        ids.into_iter()
            .map(|id| (id, self.render(id, location, viewer, ticket)))
            .collect()
    }

    /// Runs a widget button: `action` and `payload` as rendered. The plugin acts with what both
    /// its grant and the viewer may do; the changes are recorded as the viewer's, through the
    /// install. Returns the plugin's message for the viewer.
    pub fn action(
        &self,
        install: InstallId,
        location: WidgetLocation,
        viewer: &Principal,
        ticket: Option<TicketId>,
        action: &str,
        payload: &str,
    ) -> Result<String> {
        let loaded = self.loaded(install)?;
        let (mut call, context) = self.widget_context(&loaded, location, viewer, ticket)?;
        call.mode = Mode::Action;
        let message = self.run(&loaded, call, false, |store, plugin| {
            plugin
                .helpdesk_plugin_widget()
                .call_on_action(store, context, action, payload)
        })?;
        let message = message.map_err(|m| Self::returned(&loaded, m))?;
        if message.len() > MAX_RETURN_BYTES {
            return Err(HostError::Call(CallError {
                plugin: loaded.plugin().to_owned(),
                fault: Fault::OversizedOutput,
                detail: format!(
                    "an action's message may be at most {MAX_RETURN_BYTES} bytes; it returned {}",
                    message.len()
                ),
            }));
        }
        Ok(message)
    }
}
