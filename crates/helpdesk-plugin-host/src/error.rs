//! The host's error type, and the faults that end a plugin call.

use std::fmt;

use helpdesk::InstallId;

/// Why a call into a plugin failed. The call ended, its instance was discarded, and the host and
/// every other plugin go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// It ran past its wall-clock timeout.
    Timeout,
    /// It used up its CPU budget (fuel) for one call.
    CpuLimit,
    /// It tried to grow its memory past its cap.
    MemoryLimit,
    /// It recursed too deeply.
    StackOverflow,
    /// The guest panicked.
    Panic,
    /// It trapped for another reason (an out-of-bounds access, an integer division by zero).
    Trap,
    /// It returned more than the host accepts across the boundary.
    OversizedOutput,
    /// It returned an error of its own.
    Returned,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::Timeout => "ran past its time limit",
            Fault::CpuLimit => "used up its cpu budget",
            Fault::MemoryLimit => "exceeded its memory limit",
            Fault::StackOverflow => "overflowed its stack",
            Fault::Panic => "panicked",
            Fault::Trap => "trapped",
            Fault::OversizedOutput => "returned more than the host accepts",
            Fault::Returned => "returned an error",
        })
    }
}

/// A failed call into a plugin.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` {fault}: {detail}")]
pub struct CallError {
    /// The plugin's id.
    pub plugin: String,
    /// What went wrong.
    pub fault: Fault,
    /// Details for people (the plugin's own message, or the trap).
    pub detail: String,
}

/// Everything that can go wrong in the plugin host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The helpdesk refused or failed (not found, denied, invalid, storage).
    #[error(transparent)]
    Helpdesk(#[from] helpdesk::Error),
    /// The plugin was built for a plugin API this host does not serve.
    #[error("plugin api version `{version}` is not supported by this host; it serves {supported}")]
    UnsupportedApi {
        /// The version the plugin was built for.
        version: String,
        /// The versions served, such as `0.1.x`.
        supported: &'static str,
    },
    /// The bytes are not a component of the plugin world.
    #[error("not a helpdesk plugin: {reason}")]
    NotAPlugin {
        /// What is wrong.
        reason: String,
    },
    /// The install is not running in this host (not installed, or disabled).
    #[error("plugin install {0} is not running (not installed, or disabled)")]
    NotRunning(InstallId),
    /// The plugin declares no widget for that location.
    #[error("plugin `{plugin}` has no widget for `{location}`")]
    NoWidget {
        /// The plugin's id.
        plugin: String,
        /// The location asked for.
        location: helpdesk::WidgetLocation,
    },
    /// A call into the plugin failed; only that call ended.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The WebAssembly engine failed (resources exhausted, a bad configuration).
    #[error("the plugin engine failed: {0}")]
    Engine(String),
}

/// The host's result type.
pub type Result<T, E = HostError> = std::result::Result<T, E>;

/// An error and its causes on one line (`error: cause: cause`), for the reports kept as text.
pub(crate) fn full_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An engine failure, flattened to text: engine types never leave this crate.
pub(crate) fn engine(e: impl fmt::Display) -> HostError {
    HostError::Engine(e.to_string())
}
