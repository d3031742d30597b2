//! The typed audit history of every kind of record, read behind the same rules as the records.

use helpdesk_domain::{HistoryEntry, HistorySubject, TicketId};

use crate::Helpdesk;
use crate::error::Result;
use crate::principal::Principal;

impl Helpdesk {
    /// The audit history of a ticket, oldest first (agents and the system; for a deleted
    /// ticket, those who could read it when it was deleted). See [`history`](Self::history).
    pub fn ticket_history(&self, p: &Principal, ticket: TicketId) -> Result<Vec<HistoryEntry>> {
        self.history(p, HistorySubject::Ticket(ticket))
    }

    /// The audit history of any record, oldest first. For a ticket: the right to read it (as it
    /// is, or as it was when deleted; a ticket out of reach is not found, exactly like a missing
    /// one), and requesters never. For agents, departments, requesters and organisations: the
    /// read right of that kind (`agents.read`, `departments.read`, `requesters.read`) or its
    /// manage right; `fields.manage` for fields, `roles.manage` for roles; for a key, what key
    /// administration takes (through a key, only a superuser key with admin functions; never a
    /// token), and for a non-administrator a key it could have issued.
    pub fn history(&self, p: &Principal, subject: HistorySubject) -> Result<Vec<HistoryEntry>> {
        self.guard(p)?.history(subject)?;
        self.store().history(subject)
    }
}
