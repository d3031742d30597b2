//! Whose history a principal may read: a ticket's (as it is, or as it was when deleted), a
//! directory's, a key's.

use super::*;

impl Guard<'_> {
    /// Whether the principal may read the history of `subject`: for a ticket, that it may read
    /// it (as it is, or as it was when deleted) and is not a requester; for people and
    /// directories, the read (or manage) right of that kind; for a key, key administration of
    /// that key.
    pub(crate) fn history(&self, subject: HistorySubject) -> Result<()> {
        match subject {
            HistorySubject::Ticket(id) => self.ticket_history(id),
            HistorySubject::Agent(_) => self.see(Action::AgentRead, Action::AgentManage),
            HistorySubject::Department(_) => {
                self.see(Action::DepartmentRead, Action::DepartmentManage)
            }
            HistorySubject::Requester(_) | HistorySubject::Organization(_) => {
                self.see(Action::RequesterRead, Action::RequesterManage)
            }
            HistorySubject::Field(_) => self.allow_global(Action::FieldManage),
            HistorySubject::Role(_) => self.allow_global(Action::RoleManage),
            HistorySubject::Key(id) => self.key_history(id),
        }
    }

    fn ticket_history(&self, id: TicketId) -> Result<()> {
        let store = self.helpdesk.store();
        let (resource, deleted) = match store.ticket(id) {
            Ok(ticket) => (Resource::Ticket(attrs(&ticket)), false),
            Err(Error::NotFound { .. }) => match store.deleted_ticket(id)? {
                Some(deleted) => (Resource::Ticket(deleted_attrs(&deleted)), true),
                None => return Err(not_found(Entity::Ticket, id)),
            },
            Err(e) => return Err(e),
        };
        // Requesters never read history: a deleted ticket is gone for them, a ticket they may
        // read says why.
        let readable = self.decide(Action::TicketRead, &resource).is_allowed();
        match (readable, self.sees_internal()) {
            (true, true) => Ok(()),
            (true, false) if !deleted => Err(rule("requesters cannot read ticket history")),
            _ => Err(not_found(Entity::Ticket, id)),
        }
    }

    /// The read right of a kind of record, which its manage right implies: whoever may change
    /// records of a kind may also see them.
    pub(crate) fn see(&self, read: Action, manage: Action) -> Result<()> {
        if self.allowed(manage) {
            Ok(())
        } else {
            self.allow_global(read)
        }
    }

    fn key_history(&self, id: KeyId) -> Result<()> {
        self.key_admin(Action::KeyManage)?;
        if self.is_admin() {
            // Administrators read the history of every key, deleted ones included.
            return Ok(());
        }
        self.administered_key(id).map(drop)
    }
}
