//! Principals (who an operation is performed as) and the system handle that mints them.

use helpdesk_domain::{Actor, AgentId, Attribution, RequesterId};

use crate::Helpdesk;
use crate::error::{Error, Result};

/// Who an operation is performed as. Outside code cannot forge one: principals come from the
/// [`SystemHandle`] that only the embedding application holds (and, later, from authentication).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    pub(crate) by: Attribution,
}

impl Principal {
    /// The person (or the system) acting.
    pub fn actor(&self) -> Actor {
        self.by.actor
    }

    /// What history and events record about this principal.
    pub fn attribution(&self) -> Attribution {
        self.by
    }
}

/// The embedding application's own handle: it maps the application's signed-in users to
/// principals and performs administration as the system. Returned once by [`Helpdesk::open`];
/// code that holds only a [`Helpdesk`] cannot act as the system.
#[derive(Clone, Debug)]
pub struct SystemHandle {
    pub(crate) helpdesk: Helpdesk,
}

impl SystemHandle {
    /// The system itself: may do everything, recorded as `system` in history.
    pub fn principal(&self) -> Principal {
        Principal {
            by: Attribution::direct(Actor::System),
        }
    }

    /// A principal for an agent the application has signed in. The agent must exist and be active.
    pub fn agent(&self, id: AgentId) -> Result<Principal> {
        let agent = self.helpdesk.inner.store.agent(id)?;
        if !agent.active {
            return Err(Error::Denied(crate::error::Denied::new(format!(
                "agent `{}` is disabled",
                agent.name
            ))));
        }
        Ok(Principal {
            by: Attribution::direct(Actor::Agent(id)),
        })
    }

    /// A principal for a requester the application has signed in (a customer portal user).
    pub fn requester(&self, id: RequesterId) -> Result<Principal> {
        self.helpdesk.inner.store.requester(id)?;
        Ok(Principal {
            by: Attribution::direct(Actor::Requester(id)),
        })
    }

    /// The helpdesk this handle belongs to.
    pub fn helpdesk(&self) -> &Helpdesk {
        &self.helpdesk
    }
}
