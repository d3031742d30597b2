//! Tickets: reading, opening, changing and writing to them, search reach, and what requesters
//! may not see of them.

use super::*;

impl Guard<'_> {
    /// Whether the principal may read `ticket`.
    pub(crate) fn may_read(&self, ticket: &Ticket) -> bool {
        self.decide(Action::TicketRead, &Resource::Ticket(attrs(ticket)))
            .is_allowed()
    }

    /// Loads a ticket the principal may read. One out of reach is reported exactly like one that
    /// does not exist, so its existence does not leak.
    pub(crate) fn readable_ticket(&self, id: TicketId) -> Result<Ticket> {
        let ticket = self.helpdesk.store().ticket(id)?;
        if self.may_read(&ticket) {
            Ok(ticket)
        } else {
            Err(not_found(Entity::Ticket, id))
        }
    }

    /// `action` on a ticket the caller has already read.
    pub(crate) fn on_ticket(&self, action: Action, ticket: &Ticket) -> Result<()> {
        self.allow(action, &Resource::Ticket(attrs(ticket)))
    }

    /// Everything opening `ticket` asks for: create in the department, and assign, set the
    /// status, set the priority, tags or custom fields, or write a note when the input does.
    pub(crate) fn new_ticket(&self, ticket: &NewTicket) -> Result<()> {
        self.allow(
            Action::TicketCreate,
            &Resource::NewTicket {
                department: ticket.department,
                requester: ticket.requester,
            },
        )?;
        let future = Resource::Ticket(TicketAttrs {
            department: ticket.department,
            assignee: ticket.assignee,
            requester: ticket.requester,
            requester_organization: None,
        });
        if ticket.assignee.is_some() {
            self.allow(Action::TicketAssign, &future)?;
        }
        if ticket.status.is_some() {
            self.allow(Action::TicketStatus, &future)?;
        }
        if ticket.priority.is_some() || !ticket.tags.is_empty() || !ticket.fields.is_empty() {
            self.allow(Action::TicketUpdate, &future)?;
        }
        if let Some(message) = &ticket.message {
            self.message(message.kind, message.author, &future, ticket.requester)?;
        }
        Ok(())
    }

    /// What changing `ticket` by `update` asks for: `tickets.update` for subject, priority,
    /// tags, custom fields and department (and `tickets.create` in a new department),
    /// `tickets.assign` for the assignee and `tickets.status` for the status.
    pub(crate) fn ticket_update(&self, ticket: &Ticket, update: &TicketUpdate) -> Result<()> {
        let fields_change = update.subject.is_some()
            || update.priority.is_some()
            || update.department.is_some()
            || !update.add_tags.is_empty()
            || !update.remove_tags.is_empty()
            || !update.fields.is_empty();
        if fields_change {
            self.on_ticket(Action::TicketUpdate, ticket)?;
        }
        if let Some(department) = update.department.filter(|d| *d != ticket.department) {
            self.allow(
                Action::TicketCreate,
                &Resource::NewTicket {
                    department,
                    requester: ticket.requester,
                },
            )?;
        }
        if update.assignee.is_some() {
            self.on_ticket(Action::TicketAssign, ticket)?;
        }
        if update.status.is_some() {
            self.on_ticket(Action::TicketStatus, ticket)?;
        }
        Ok(())
    }

    /// A reply needs `tickets.reply`, a note `tickets.note`. Writing in someone else's name is
    /// for the system, or for an agent who may update the ticket recording the requester's words.
    pub(crate) fn message(
        &self,
        kind: MessageKind,
        author: Option<Author>,
        resource: &Resource,
        requester: RequesterId,
    ) -> Result<()> {
        let action = match kind {
            MessageKind::Reply => Action::TicketReply,
            MessageKind::Note => Action::TicketNote,
        };
        self.allow(action, resource)?;
        let actor = self.p.actor();
        let own = match (actor, author) {
            (_, None) => true,
            (Actor::Agent(a), Some(Author::Agent(b))) => a == b,
            (Actor::Requester(a), Some(Author::Requester(b))) => a == b,
            _ => false,
        };
        match (own, actor, author) {
            (true, _, _) | (_, Actor::System, _) => Ok(()),
            (false, Actor::Agent(_), Some(Author::Requester(r))) if r == requester => {
                self.allow(Action::TicketUpdate, resource)
            }
            _ => Err(rule("only the system may write in another person's name")),
        }
    }

    /// The principal's reach as a search scope, so out-of-reach tickets never enter a page.
    pub(crate) fn search_scope(&self) -> SearchScope {
        match self.policy.reach(&self.p.subject) {
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

    /// Whether the principal sees internal notes, history and agent-only fields.
    pub(crate) fn sees_internal(&self) -> bool {
        self.p.sees_internal()
    }

    /// Hides what requesters may not see of tickets: agent-only custom fields.
    pub(crate) fn redact_tickets(&self, mut tickets: Vec<Ticket>) -> Result<Vec<Ticket>> {
        if self.sees_internal() || tickets.iter().all(|t| t.fields.is_empty()) {
            return Ok(tickets);
        }
        let hidden: Vec<String> = self
            .helpdesk
            .store()
            .fields()?
            .into_iter()
            .filter(|f| f.agent_only)
            .map(|f| f.key)
            .collect();
        for ticket in &mut tickets {
            ticket.fields.retain(|key, _| !hidden.contains(key));
        }
        Ok(tickets)
    }

    /// [`redact_tickets`](Self::redact_tickets) for one ticket.
    pub(crate) fn redact_ticket(&self, ticket: Ticket) -> Result<Ticket> {
        let id = ticket.id;
        self.redact_tickets(vec![ticket])?
            .pop()
            .ok_or_else(|| not_found(Entity::Ticket, id))
    }

    /// Hides what requesters may not see of messages: the key, token and install a message was
    /// posted through (internal notes are never read for them).
    pub(crate) fn redact_messages(&self, mut messages: Vec<Message>) -> Vec<Message> {
        if !self.sees_internal() {
            for message in &mut messages {
                message.posted_by.key = None;
                message.posted_by.token = None;
                message.posted_by.install = None;
            }
        }
        messages
    }

    /// Custom field definitions the principal may see (requesters: not agent-only ones).
    pub(crate) fn visible_fields(&self, mut fields: Vec<FieldDefinition>) -> Vec<FieldDefinition> {
        if !self.sees_internal() {
            fields.retain(|f| !f.agent_only);
        }
        fields
    }
}
