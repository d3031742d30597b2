//! Principals (who an operation is performed as) and the system handle that mints them.

use helpdesk_authz::Subject;
use helpdesk_domain::{Actor, AgentId, Attribution, RequesterId};

use crate::Helpdesk;
use crate::error::{Denied, Error, Result};

/// Who an operation is performed as, with the credential layers that narrow it. Outside code
/// cannot forge one: principals come from the [`SystemHandle`] that only the embedding
/// application holds (and from authentication with keys and tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    pub(crate) by: Attribution,
    pub(crate) subject: Subject,
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

    /// Whether this principal sees internal notes and agent-only fields (agents and the system).
    pub fn sees_internal(&self) -> bool {
        self.subject.sees_internal()
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
            subject: Subject::system(),
        }
    }

    /// A principal for an agent the application has signed in. The agent must exist and be active.
    pub fn agent(&self, id: AgentId) -> Result<Principal> {
        let agent = self.helpdesk.store().agent(id)?;
        if !agent.active {
            return Err(Error::Denied(Denied::rule("the agent is disabled")));
        }
        Ok(Principal {
            by: Attribution::direct(Actor::Agent(id)),
            subject: Subject::agent(id),
        })
    }

    /// A principal for a requester the application has signed in (a customer portal user).
    pub fn requester(&self, id: RequesterId) -> Result<Principal> {
        let requester = self.helpdesk.store().requester(id)?;
        Ok(Principal {
            by: Attribution::direct(Actor::Requester(id)),
            subject: Subject::requester(id, requester.organization),
        })
    }

    /// The helpdesk this handle belongs to.
    pub fn helpdesk(&self) -> &Helpdesk {
        &self.helpdesk
    }
}
