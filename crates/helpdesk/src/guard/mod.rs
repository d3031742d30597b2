//! The one place where every operation asks whether its principal may proceed, before anything
//! touches storage: every decision of the form "may this principal do or see this" is made here,
//! by asking the permission engine (`helpdesk-authz`) or by a rule written out below. Facade
//! methods start with [`Helpdesk::guard`] and ask the [`Guard`]; none reads the policy another
//! way, edits a principal's `Subject`, or falls back to another right when a read fails.
//!
//! The rules, besides the engine's (docs/permissions.md says the same for people):
//! - **Not found means not found.** What a principal may not read is reported exactly like what
//!   does not exist: a ticket out of reach (existing, deleted or never there), a key its holder
//!   could not have issued, someone else's token, someone else's outbox consumer.
//! - **A held principal stays as good as its credential.** A principal that came through a key
//!   is refused once that key was deleted, regenerated, disabled, changed or expired, or its
//!   token revoked or expired ([`Error::Revoked`]).
//! - **Nobody reaches above themselves.** Only administrators make, change or assign roles to
//!   administrators; a non-administrator hands out only the permissions it holds (roles, plugin
//!   grants); key administration reaches only the keys its holder could have issued; an outbox
//!   consumer belongs to whoever registered it, and the core's own queues to nobody else.
//! - **App identities act only through their install.** A plugin's app identity is never signed
//!   in as (no act-as, default agent, token or key bound to it) and changes only with its install.
//! - **Requesters see their side only**: no notes, history, agent-only fields, or credentials
//!   behind a message, and they set no priority, tags, status, assignee or fields.
//!
//! Laid out by concern: `credential.rs` (a held principal's credential, and the rules of the
//! authentication hot path: who a key or token acts as, whether an agent may be acted as,
//! `decide`), `tickets.rs`, `history.rs`, `people.rs`, `keys.rs`, `outbox.rs` and `plugins.rs`,
//! each a part of the one [`Guard`].

mod credential;
mod history;
mod keys;
mod outbox;
mod people;
mod plugins;
mod tickets;

use std::sync::Arc;

use helpdesk_authz::{
    Action, Decision, DenyReason, Policy, Reach, Resource, Restriction, Scopes, Subject,
    TicketAttrs,
};
use helpdesk_domain::{
    ActAs, Actor, AgentId, AgentUpdate, Author, DeletedTicket, Entity, Event, EventKind,
    FieldDefinition, HistorySubject, InstallId, KeyId, KeyKind, Message, MessageKind, NewTicket,
    RequesterId, Ticket, TicketId, TicketUpdate, Timestamp, TokenId,
};
use helpdesk_store::{ConsumerOwner, InstallRecord, KeyRecord, SearchScope, TokenRecord};

use crate::Helpdesk;
use crate::error::{Denied, Error, Result};
use crate::keys::AuthError;
use crate::keys::state::KeySnap;
use crate::local::Local;
use crate::principal::{Held, Principal};

pub(crate) use credential::{
    credential_holds, decide, key_person, request_may_act_as, token_person,
};
pub(crate) use keys::key_mints_for;
pub(crate) use plugins::install_principal;

/// The attributes of a ticket that decisions depend on.
pub(crate) fn attrs(ticket: &Ticket) -> TicketAttrs {
    TicketAttrs {
        department: ticket.department,
        assignee: ticket.assignee,
        requester: ticket.requester,
        requester_organization: ticket.organization,
    }
}

/// The attributes a deleted ticket had. A requester that is no longer known matches no
/// requester's reach (id 0 is never assigned).
fn deleted_attrs(ticket: &DeletedTicket) -> TicketAttrs {
    TicketAttrs {
        department: ticket.department,
        assignee: ticket.assignee,
        requester: ticket.requester.unwrap_or(RequesterId::new(0)),
        requester_organization: ticket.organization,
    }
}

fn rule(reason: &'static str) -> Error {
    Error::Denied(Denied::rule(reason))
}

fn not_found(entity: Entity, key: impl ToString) -> Error {
    Error::NotFound {
        entity,
        key: key.to_string(),
    }
}

impl Helpdesk {
    /// Where every facade call starts: checks that `p`'s credential still holds and takes the
    /// policy in force for the whole call.
    pub(crate) fn guard<'h>(&'h self, p: &'h Principal) -> Result<Guard<'h>> {
        let policy = self.with_local(|local| {
            credential_holds(local, p, &*self.inner.clock).then(|| local.policy.clone())
        });
        let policy = policy.ok_or(Error::Revoked)?;
        Ok(Guard {
            helpdesk: self,
            p,
            policy,
        })
    }

    /// Whether a request may act as agent `id` at all: it exists, is active and is not a
    /// plugin's app identity.
    pub(crate) fn may_sign_in(&self, id: AgentId) -> Result<()> {
        self.with_local(|local| match local.policy.may_sign_in(id) {
            Ok(()) => Ok(()),
            Err(helpdesk_authz::DenyReason::UnknownAgent { .. }) => {
                Err(not_found(Entity::Agent, id))
            }
            Err(reason) => Err(Error::Denied(crate::error::engine_denied(
                reason,
                local.policy.clone(),
            ))),
        })
    }
}

/// One call's view of its principal: the policy in force, and every rule.
pub(crate) struct Guard<'h> {
    helpdesk: &'h Helpdesk,
    p: &'h Principal,
    policy: Arc<Policy>,
}

impl Guard<'_> {
    fn decide(&self, action: Action, resource: &Resource) -> Decision {
        self.policy.decide(&self.p.subject, action, resource)
    }

    fn allowed(&self, action: Action) -> bool {
        self.decide(action, &Resource::Global).is_allowed()
    }

    /// Asks the engine; a denial carries the engine's reason.
    pub(crate) fn allow(&self, action: Action, resource: &Resource) -> Result<()> {
        match self.decide(action, resource) {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => Err(Error::Denied(crate::error::engine_denied(
                reason,
                self.policy.clone(),
            ))),
        }
    }

    /// An action that needs no particular resource (administration, directories).
    pub(crate) fn allow_global(&self, action: Action) -> Result<()> {
        self.allow(action, &Resource::Global)
    }

    /// Whether the principal is an administrator: the system, or an agent with the admin flag
    /// (whatever its credentials narrow it to).
    pub(crate) fn is_admin(&self) -> bool {
        match self.p.actor() {
            Actor::System => true,
            Actor::Agent(id) => self.policy.is_admin(id),
            Actor::Requester(_) => false,
        }
    }

    /// Every permission the principal holds before department levels: what it could hand out.
    pub(crate) fn holds(&self) -> Scopes {
        let own = match self.p.actor() {
            Actor::System => Scopes::ALL,
            Actor::Agent(id) => self.policy.permissions(id),
            Actor::Requester(_) => Scopes::EMPTY,
        };
        own & self.p.subject.layer_scopes()
    }

    /// The principal is an administrator, else `reason`.
    fn admin_or(&self, reason: &'static str) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(rule(reason))
        }
    }
}
