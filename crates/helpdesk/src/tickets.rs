//! Tickets and their conversations: open, read, change, delete, messages, search and import.

use helpdesk_authz::{Action, Resource, TicketAttrs};
use helpdesk_domain::{Message, NewMessage, NewTicket, Ticket, TicketId, TicketUpdate};

use crate::error::{Error, Result};
use crate::guard;
use crate::principal::Principal;
use crate::{Helpdesk, ImportTicket, SearchPage, SearchQuery};

impl Helpdesk {
    /// Opens a ticket (with its first message, if given). Needs `tickets.create` in the
    /// department, and `tickets.assign`, `tickets.status`, `tickets.update` or `tickets.note` when
    /// the input sets an assignee, a status, the priority, tags or custom fields, or starts with
    /// a note.
    pub fn create_ticket(&self, p: &Principal, ticket: NewTicket) -> Result<Ticket> {
        let g = self.guard(p)?;
        g.new_ticket(&ticket)?;
        let created = self
            .store()
            .create_ticket(self.now(), &p.attribution(), ticket)?;
        g.redact_ticket(created)
    }

    /// One ticket. A ticket the principal may not read is reported as not found.
    pub fn ticket(&self, p: &Principal, id: TicketId) -> Result<Ticket> {
        let g = self.guard(p)?;
        let ticket = g.readable_ticket(id)?;
        g.redact_ticket(ticket)
    }

    /// Changes a ticket if it is still at `expected_version` (see [`Ticket::version`]); otherwise
    /// fails with [`Error::Conflict`] and changes nothing. Needs `tickets.update` for subject,
    /// priority, tags, custom fields and department (and `tickets.create` in the new department),
    /// `tickets.assign` for the assignee and `tickets.status` for the status.
    pub fn update_ticket(
        &self,
        p: &Principal,
        id: TicketId,
        expected_version: u64,
        update: TicketUpdate,
    ) -> Result<Ticket> {
        let g = self.guard(p)?;
        let ticket = g.readable_ticket(id)?;
        if ticket.version != expected_version {
            return Err(Error::Conflict {
                ticket: id,
                expected: expected_version,
                actual: ticket.version,
            });
        }
        g.ticket_update(&ticket, &update)?;
        let updated = self.store().update_ticket(
            self.now(),
            &p.attribution(),
            id,
            expected_version,
            update,
        )?;
        g.redact_ticket(updated)
    }

    /// Deletes a ticket and its messages; its history stays. Needs `tickets.delete` (the `full`
    /// level in the ticket's department).
    pub fn delete_ticket(&self, p: &Principal, id: TicketId) -> Result<()> {
        let g = self.guard(p)?;
        let ticket = g.readable_ticket(id)?;
        g.on_ticket(Action::TicketDelete, &ticket)?;
        self.store().delete_ticket(self.now(), &p.attribution(), id)
    }

    /// Posts a public reply (`tickets.reply`) or an internal note (`tickets.note`).
    pub fn add_message(
        &self,
        p: &Principal,
        ticket: TicketId,
        message: NewMessage,
    ) -> Result<Message> {
        let g = self.guard(p)?;
        let t = g.readable_ticket(ticket)?;
        g.message(
            message.kind,
            message.author,
            &Resource::Ticket(guard::attrs(&t)),
            t.requester,
        )?;
        let added = self
            .store()
            .add_message(self.now(), &p.attribution(), ticket, message)?;
        Ok(g.redact_messages(vec![added]).swap_remove(0))
    }

    /// The messages of a ticket, oldest first. Internal notes only for agents and the system;
    /// requesters never see the key, token or install a message was posted through.
    pub fn messages(&self, p: &Principal, ticket: TicketId) -> Result<Vec<Message>> {
        let g = self.guard(p)?;
        g.readable_ticket(ticket)?;
        let messages = self.store().messages(ticket, g.sees_internal())?;
        Ok(g.redact_messages(messages))
    }

    /// Searches tickets: full text plus filters, newest first by default, one page at a time.
    /// The principal's reach is part of the query: out-of-reach tickets never appear, and
    /// requesters never match through internal notes.
    pub fn search(&self, p: &Principal, query: &SearchQuery) -> Result<SearchPage> {
        let g = self.guard(p)?;
        let mut page = self.store().search(query, &g.search_scope())?;
        page.tickets = g.redact_tickets(page.tickets)?;
        Ok(page)
    }

    /// Imports many tickets with their conversations in one transaction: all or nothing. Each
    /// ticket is authorized as if it were created on its own.
    pub fn import_tickets(
        &self,
        p: &Principal,
        tickets: Vec<ImportTicket>,
    ) -> Result<Vec<TicketId>> {
        let g = self.guard(p)?;
        for t in &tickets {
            g.new_ticket(&t.ticket)?;
            let future = Resource::Ticket(TicketAttrs {
                department: t.ticket.department,
                assignee: t.ticket.assignee,
                requester: t.ticket.requester,
                requester_organization: None,
            });
            for m in &t.messages {
                g.message(m.kind, m.author, &future, t.ticket.requester)?;
            }
        }
        self.store()
            .import_tickets(self.now(), &p.attribution(), tickets)
    }
}
