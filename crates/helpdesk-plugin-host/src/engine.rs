//! The WebAssembly engine: configuration (pooling allocator, fuel, epoch interruption), the
//! epoch ticker behind wall-clock timeouts, the linker with every host interface, and the check
//! that a component is a plugin of an API version this host serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::v0_1;
use crate::error::{HostError, Result, engine};
use crate::sandbox::HostState;

/// How often the engine's epoch advances: the granularity of wall-clock timeouts.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The plugin API versions this host serves, for messages.
pub(crate) const SUPPORTED: &str = "0.1.x";

/// A plugin API version the host serves. Each has its own bindings; a plugin is bound to the
/// version its component exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// `helpdesk:plugin@0.1.x`.
    V0_1,
}

impl Api {
    /// The served API with this `major.minor`, if any.
    pub(crate) fn from_major_minor(major: u32, minor: u32) -> Option<Self> {
        match (major, minor) {
            (0, 1) => Some(Self::V0_1),
            _ => None,
        }
    }
}

/// Sizing of the engine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EngineSizing {
    /// Instances alive at once (warm ones included).
    pub(crate) instances: u32,
    /// The largest memory any plugin may have, in MiB.
    pub(crate) max_memory_mib: u32,
}

pub(crate) fn build_engine(sizing: EngineSizing) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    let instances = sizing.instances.max(1);
    pool.total_component_instances(instances)
        // A `wasm32-wasip2` component is a few core instances (the program and its adapters).
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        .max_memory_size((sizing.max_memory_mib as usize) << 20)
        // Keep the first pages of each memory resident between instances, so a fresh instance
        // does not fault them in again.
        .linear_memory_keep_resident(128 * 1024)
        .table_keep_resident(16 * 1024);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(512 * 1024);
    Engine::new(&config).map_err(engine)
}

/// The linker offering the WASI interfaces (with a context that grants nothing) and every host
/// interface of the served API versions.
pub(crate) fn build_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
    v0_1::Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(engine_err)?;
    Ok(linker)
}

fn engine_err(e: wasmtime::Error) -> HostError {
    engine(format!("{e:#}"))
}

/// Which served API a component was built for, from the version of the `app` interface it
/// exports (`helpdesk:plugin/app@0.1.0`).
pub(crate) fn component_api(engine: &Engine, component: &Component) -> Result<Api> {
    let ty = component.component_type();
    let mut found = None;
    for (name, _) in ty.exports(engine) {
        if let Some(version) = name.strip_prefix("helpdesk:plugin/app@") {
            found = Some(version.to_owned());
        }
    }
    let version = found.ok_or_else(|| HostError::NotAPlugin {
        reason: "the component does not export `helpdesk:plugin/app`; build it with the plugin sdk"
            .to_owned(),
    })?;
    let mut parts = version.split('.');
    let major = parts.next().and_then(|p| p.parse().ok());
    let minor = parts.next().and_then(|p| p.parse().ok());
    match (major, minor) {
        (Some(major), Some(minor)) => {
            Api::from_major_minor(major, minor).ok_or(HostError::UnsupportedApi {
                version,
                supported: SUPPORTED,
            })
        }
        _ => Err(HostError::NotAPlugin {
            reason: format!("`{version}` is not a version"),
        }),
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
#[derive(Debug)]
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| HostError::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
