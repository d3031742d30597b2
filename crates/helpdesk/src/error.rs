//! The public error type of the helpdesk core is the one error of its crates
//! ([`Error`](helpdesk_domain::Error), defined with the domain so that storage returns it too);
//! this file adds how the permission engine's reasons become [`Denied`] values, explained with
//! names from the policy only when shown.

use std::fmt;
use std::sync::Arc;

use helpdesk_authz::{Action, DenyReason, Policy, PolicyError};
use helpdesk_domain::DenialReason;
pub use helpdesk_domain::{Denied, Error, Result, StorageError};

/// The engine's reason for a denial, with the policy it was made under (for names).
struct EngineDenial {
    reason: DenyReason,
    policy: Arc<Policy>,
}

impl fmt::Display for EngineDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.reason.explain(&self.policy), f)
    }
}

impl DenialReason for EngineDenial {
    fn missing_scope(&self) -> Option<Action> {
        match self.reason {
            DenyReason::KeyLacksScope { action, .. }
            | DenyReason::TokenLacksScope { action, .. }
            | DenyReason::PluginLacksScope { action, .. } => Some(action),
            _ => None,
        }
    }
}

/// A denial for the engine's `reason` under `policy`.
pub(crate) fn engine_denied(reason: DenyReason, policy: Arc<Policy>) -> Denied {
    Denied::explained(Arc::new(EngineDenial { reason, policy }))
}

/// The policy is compiled from stored data only, so a failure is never the caller's.
pub(crate) fn policy_error(e: PolicyError) -> Error {
    Error::Internal(format!("the permission policy could not be compiled: {e}"))
}
