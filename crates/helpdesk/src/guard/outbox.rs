//! The outbox: who may read it and whose consumers are whose, and which events a principal may
//! read.

use super::*;

/// What reading every event of the outbox takes, besides being the system or an administrator.
const READS_EVERY_EVENT: Scopes = Scopes::of(&[
    Action::EventRead,
    Action::TicketRead,
    Action::AgentRead,
    Action::RequesterRead,
    Action::DepartmentRead,
    Action::KeyManage,
    Action::PluginManage,
]);

impl Guard<'_> {
    /// The owner of the principal's outbox consumers. Reading the outbox takes `events.read`
    /// and the right to read every event in it: being the system or an administrator, with
    /// every read right through its credentials (a reader who may not read some events would
    /// learn from lag and sequence numbers how much happens out of its sight).
    pub(crate) fn consumer_owner(&self) -> Result<ConsumerOwner> {
        self.allow_global(Action::EventRead)?;
        let owner = match self.p.actor() {
            Actor::System => ConsumerOwner::System,
            Actor::Agent(id) if self.policy.is_admin(id) => ConsumerOwner::Agent(id),
            _ => {
                return Err(rule(
                    "the outbox is read by principals that may read every event: the system and administrators",
                ));
            }
        };
        let lacking = READS_EVERY_EVENT - self.p.subject.layer_scopes();
        if !lacking.is_empty() {
            return Err(rule(
                "reading the outbox through a credential takes every read scope (`events.read tickets.read agents.read requesters.read departments.read keys.manage plugins.manage`)",
            ));
        }
        if self.p.subject.key.is_some() {
            self.key_admin(Action::KeyManage)?;
        }
        Ok(owner)
    }

    /// Whether `event` is about something the principal may read: its ticket (as it is now, or
    /// as it was when deleted), or otherwise the kind of record it is about, with the right that
    /// reading such records takes.
    pub(crate) fn event_visible(&self, event: &Event) -> Result<bool> {
        if let Some(id) = event.ticket {
            let store = self.helpdesk.store();
            let resource = match store.ticket(id) {
                Ok(ticket) => Resource::Ticket(attrs(&ticket)),
                Err(Error::NotFound { .. }) => match store.deleted_ticket(id)? {
                    Some(deleted) => Resource::Ticket(deleted_attrs(&deleted)),
                    None => return Ok(false),
                },
                Err(e) => return Err(e),
            };
            return Ok(self.decide(Action::TicketRead, &resource).is_allowed());
        }
        let seen = match event.kind {
            EventKind::AgentCreated
            | EventKind::AgentUpdated
            | EventKind::RoleCreated
            | EventKind::RoleUpdated
            | EventKind::RoleDeleted => self.see(Action::AgentRead, Action::AgentManage),
            EventKind::DepartmentCreated | EventKind::DepartmentUpdated => {
                self.see(Action::DepartmentRead, Action::DepartmentManage)
            }
            EventKind::RequesterCreated | EventKind::OrganizationCreated => {
                self.see(Action::RequesterRead, Action::RequesterManage)
            }
            EventKind::FieldCreated => Ok(()),
            EventKind::KeyCreated
            | EventKind::KeyUpdated
            | EventKind::KeyRegenerated
            | EventKind::KeyDeleted
            | EventKind::TokenMinted
            | EventKind::TokenRevoked => self.key_admin(Action::KeyManage),
            EventKind::PluginInstalled
            | EventKind::PluginUpdated
            | EventKind::PluginUninstalled => self.allow_global(Action::PluginManage),
            // Ticket kinds always carry their ticket.
            _ => Err(rule("an event about a ticket names it")),
        };
        Ok(seen.is_ok())
    }
}
