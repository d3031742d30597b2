//! The one place where every operation asks the permission engine whether its principal may
//! proceed, before anything touches storage.

use helpdesk_authz::{Action, Decision, Reach, Resource, TicketAttrs};
use helpdesk_domain::{Actor, Author, Entity, MessageKind, NewTicket, Ticket, TicketId};
use helpdesk_store::SearchScope;

use crate::Helpdesk;
use crate::error::{Denied, Error, Result};
use crate::principal::Principal;

/// The attributes of a ticket that decisions depend on.
pub(crate) fn attrs(ticket: &Ticket) -> TicketAttrs {
    TicketAttrs {
        department: ticket.department,
        assignee: ticket.assignee,
        requester: ticket.requester,
        requester_organization: ticket.organization,
    }
}

impl Helpdesk {
    /// Asks the engine; a denial carries the engine's reason.
    pub(crate) fn authorize(
        &self,
        p: &Principal,
        action: Action,
        resource: &Resource,
    ) -> Result<()> {
        let policy = self.inner.policy.get();
        match policy.decide(&p.subject, action, resource) {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => Err(Error::Denied(Denied::engine(
                reason,
                arc_swap::Guard::into_inner(policy),
            ))),
        }
    }

    /// Authorizes an action that needs no particular resource (administration, directories).
    pub(crate) fn authorize_global(&self, p: &Principal, action: Action) -> Result<()> {
        self.authorize(p, action, &Resource::Global)
    }

    /// Whether the principal may read this ticket.
    pub(crate) fn may_read(&self, p: &Principal, ticket: &Ticket) -> bool {
        let policy = self.inner.policy.get();
        policy
            .decide(
                &p.subject,
                Action::TicketRead,
                &Resource::Ticket(attrs(ticket)),
            )
            .is_allowed()
    }

    /// Loads a ticket the principal may read. One out of reach is reported exactly like one that
    /// does not exist, so its existence does not leak.
    pub(crate) fn readable_ticket(&self, p: &Principal, id: TicketId) -> Result<Ticket> {
        let ticket = self.store().ticket(id)?;
        if self.may_read(p, &ticket) {
            Ok(ticket)
        } else {
            Err(Error::NotFound {
                entity: Entity::Ticket,
                key: id.to_string(),
            })
        }
    }

    /// Authorizes `action` on a ticket the caller has already read.
    pub(crate) fn authorize_ticket(
        &self,
        p: &Principal,
        action: Action,
        ticket: &Ticket,
    ) -> Result<()> {
        self.authorize(p, action, &Resource::Ticket(attrs(ticket)))
    }

    /// Whether the principal is an administrator (the system, or an agent with the admin flag):
    /// only administrators may make administrators.
    pub(crate) fn require_admin(&self, p: &Principal) -> Result<()> {
        let is_admin = match p.actor() {
            Actor::System => true,
            Actor::Agent(id) => self.store().agent(id)?.admin,
            Actor::Requester(_) => false,
        };
        if is_admin {
            Ok(())
        } else {
            Err(Error::Denied(Denied::rule(
                "only an administrator may grant administrator rights",
            )))
        }
    }

    /// Everything opening `ticket` asks for: create in the department, and assign, set the
    /// status, set custom fields or write a note when the input does.
    pub(crate) fn authorize_new_ticket(&self, p: &Principal, ticket: &NewTicket) -> Result<()> {
        self.authorize(
            p,
            Action::TicketCreate,
            &Resource::NewTicket {
                department: ticket.department,
                requester: ticket.requester,
            },
        )?;
        let future = TicketAttrs {
            department: ticket.department,
            assignee: ticket.assignee,
            requester: ticket.requester,
            requester_organization: None,
        };
        let resource = Resource::Ticket(future);
        if ticket.assignee.is_some() {
            self.authorize(p, Action::TicketAssign, &resource)?;
        }
        if ticket.status.is_some() {
            self.authorize(p, Action::TicketStatus, &resource)?;
        }
        if !ticket.fields.is_empty() {
            self.authorize(p, Action::TicketUpdate, &resource)?;
        }
        if let Some(message) = &ticket.message {
            self.authorize_message(p, message.kind, message.author, &resource, ticket.requester)?;
        }
        Ok(())
    }

    /// A reply needs `tickets.reply`, a note `tickets.note`. Writing in someone else's name is
    /// for the system, or for an agent who may update the ticket recording the requester's words.
    pub(crate) fn authorize_message(
        &self,
        p: &Principal,
        kind: MessageKind,
        author: Option<Author>,
        resource: &Resource,
        requester: helpdesk_domain::RequesterId,
    ) -> Result<()> {
        let action = match kind {
            MessageKind::Reply => Action::TicketReply,
            MessageKind::Note => Action::TicketNote,
        };
        self.authorize(p, action, resource)?;
        let own = match (p.actor(), author) {
            (_, None) => true,
            (Actor::Agent(a), Some(Author::Agent(b))) => a == b,
            (Actor::Requester(a), Some(Author::Requester(b))) => a == b,
            _ => false,
        };
        match (own, p.actor(), author) {
            (true, _, _) | (_, Actor::System, _) => Ok(()),
            (false, Actor::Agent(_), Some(Author::Requester(r))) if r == requester => {
                self.authorize(p, Action::TicketUpdate, resource)
            }
            _ => Err(Error::Denied(Denied::rule(
                "only the system may write in another person's name",
            ))),
        }
    }

    /// The principal's reach as a search scope, so out-of-reach tickets never enter a page.
    pub(crate) fn search_scope(&self, p: &Principal) -> SearchScope {
        let policy = self.inner.policy.get();
        match policy.reach(&p.subject) {
            Reach::All => SearchScope::All,
            Reach::Departments {
                departments,
                only_assigned_to,
            } => SearchScope::Departments {
                departments: departments.iter().collect(),
                assigned_to: only_assigned_to,
            },
            Reach::Requester { id, organization } => SearchScope::Requester {
                requester: id,
                organization,
            },
            Reach::Nothing(_) => SearchScope::Nothing,
        }
    }
}
