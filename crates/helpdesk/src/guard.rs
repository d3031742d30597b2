//! The one place where every operation asks whether its principal may proceed.
//!
//! Each facade method calls [`Helpdesk::authorize`] before it touches storage. The rules here are
//! the coarse ones of the domain core (the system may do everything; administration needs an
//! active administrator; agents work on tickets; requesters on their own tickets).

use helpdesk_domain::{Actor, RequesterId, Ticket};

use crate::Helpdesk;
use crate::error::{Denied, Error, Result};
use crate::principal::Principal;

/// What an operation needs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Need<'a> {
    /// Administration: people, departments, fields, outbox consumers, backups.
    Admin,
    /// Any active agent (reading the directory of agents and departments).
    Agent,
    /// Reading a ticket.
    ReadTicket(&'a Ticket),
    /// Changing a ticket or posting on it; `internal` for notes and field changes.
    ChangeTicket { ticket: &'a Ticket, internal: bool },
    /// Opening a ticket for a requester.
    CreateTicket { requester: RequesterId },
}

impl Helpdesk {
    pub(crate) fn authorize(&self, principal: &Principal, need: Need<'_>) -> Result<()> {
        let deny = |reason: String| Err(Error::Denied(Denied::new(reason)));
        match principal.actor() {
            Actor::System => Ok(()),
            Actor::Agent(id) => {
                let agent = self.inner.store.agent(id)?;
                if !agent.active {
                    return deny(format!("agent `{}` is disabled", agent.name));
                }
                match need {
                    Need::Admin if !agent.admin => {
                        deny(format!("agent `{}` is not an administrator", agent.name))
                    }
                    _ => Ok(()),
                }
            }
            Actor::Requester(id) => match need {
                Need::ReadTicket(t)
                | Need::ChangeTicket {
                    ticket: t,
                    internal: false,
                } if t.requester == id => Ok(()),
                Need::CreateTicket { requester } if requester == id => Ok(()),
                Need::ReadTicket(t) | Need::ChangeTicket { ticket: t, .. } => {
                    // Tickets out of reach are reported as missing, so their existence does not leak.
                    Err(Error::NotFound {
                        entity: helpdesk_domain::Entity::Ticket,
                        key: t.id.to_string(),
                    })
                }
                _ => deny(format!(
                    "requester {id} may only open, read and reply to their own tickets"
                )),
            },
        }
    }
}
