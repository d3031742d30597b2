//! The sandbox: what a plugin instance's store holds, its limits (memory cap, fuel, epoch
//! deadline), the WASI context that grants nothing, and how a failed call is classified.

use std::sync::Arc;

use helpdesk::{Helpdesk, InstallId, PluginLimits, Principal, SecretKey};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::error::{CallError, Fault};

/// The most a guest may print to stderr per instance that the host keeps (for panic messages).
const STDERR_KEEP: usize = 4096;
/// Log lines a plugin may write per call; further ones are dropped.
pub(crate) const MAX_LOG_LINES: u32 = 100;
/// The longest log line kept, in bytes.
pub(crate) const MAX_LOG_BYTES: usize = 2048;
/// The largest single value a plugin may store in its key-value store.
pub(crate) const MAX_KV_VALUE: usize = 64 * 1024;
/// The largest string a plugin may return (an error, an action's message).
pub(crate) const MAX_RETURN_BYTES: usize = 16 * 1024;

/// What a call may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Handling an event with the install's own principal.
    Event,
    /// Rendering a widget: reads only, within both the install's and the viewer's reach.
    Render,
    /// Handling a button press: acts with what both the install and the viewer may do.
    Action,
}

/// What stays the same for every call of one install.
#[derive(Debug)]
pub(crate) struct PluginCtx {
    pub(crate) desk: Helpdesk,
    pub(crate) install: InstallId,
    pub(crate) plugin: String,
    pub(crate) secrets: Option<SecretKey>,
}

/// The principals and mode of the current call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallCtx {
    /// Every host call is made as this principal.
    pub(crate) principal: Principal,
    /// While rendering or handling an action, reads must also be allowed to this principal
    /// (the install's own), so that a widget reads only what both may read.
    pub(crate) also: Option<Principal>,
    pub(crate) mode: Mode,
    pub(crate) logs: u32,
}

/// Caps linear memory per instance and remembers that the cap was hit.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    max_bytes: usize,
    pub(crate) exceeded: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            wasmtime::bail!(
                "memory limit of {} MiB exceeded (asked for {desired} bytes)",
                self.max_bytes >> 20
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The data of one instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) cap: MemoryCap,
    pub(crate) ctx: Arc<PluginCtx>,
    pub(crate) call: CallCtx,
    stderr: MemoryOutputPipe,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("install", &self.ctx.install)
            .field("mode", &self.call.mode)
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// A store's data granting no filesystem, network, environment or arguments: WASI is linked
    /// only because `wasm32-wasip2` guests import it (random numbers and clocks work; stdout is
    /// dropped; stderr is kept, bounded, for panic messages).
    pub(crate) fn new(ctx: Arc<PluginCtx>, call: CallCtx, limits: &PluginLimits) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_KEEP);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            cap: MemoryCap {
                max_bytes: (limits.memory_mib as usize) << 20,
                exceeded: false,
            },
            ctx,
            call,
            stderr,
        }
    }

    /// What the guest wrote to stderr (its panic message, if it panicked).
    fn stderr_text(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        // A Rust panic prints `thread '<unnamed>' panicked at src/lib.rs:1:2:\nmessage`.
        match text.split_once("panicked at ") {
            Some((_, rest)) => rest.replace('\n', " "),
            None => text.to_owned(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Turns a failed call into a clear error: which limit was hit, or what the guest did.
pub(crate) fn classify(plugin: &str, state: &HostState, error: &wasmtime::Error) -> CallError {
    let trap = error.downcast_ref::<Trap>().copied();
    let (fault, detail) = if state.cap.exceeded {
        (
            Fault::MemoryLimit,
            format!("its cap is {} MiB", state.cap.max_bytes >> 20),
        )
    } else {
        match trap {
            Some(Trap::OutOfFuel) => (Fault::CpuLimit, "the call was stopped".to_owned()),
            Some(Trap::Interrupt) => (Fault::Timeout, "the call was stopped".to_owned()),
            Some(Trap::StackOverflow) => (Fault::StackOverflow, "call stack exhausted".to_owned()),
            Some(Trap::UnreachableCodeReached) => {
                let message = state.stderr_text();
                if message.is_empty() {
                    (Fault::Panic, "it aborted".to_owned())
                } else {
                    (Fault::Panic, message)
                }
            }
            Some(Trap::MemoryOutOfBounds) if state.stderr_text().is_empty() => (
                Fault::StackOverflow,
                "out of bounds memory access (a deep recursion overflows the guest's stack this way)"
                    .to_owned(),
            ),
            Some(other) => (Fault::Trap, other.to_string()),
            None => (Fault::Trap, format!("{error:#}")),
        }
    };
    CallError {
        plugin: plugin.to_owned(),
        fault,
        detail: truncate(&detail, 1024),
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
