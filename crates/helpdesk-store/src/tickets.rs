//! Tickets and messages: creation, optimistic-concurrency updates, messages, deletion and bulk import.

use std::collections::BTreeMap;

use helpdesk_domain::{
    AccessLevel, Actor, AgentId, Attribution, Author, Change, DeletedTicket, DepartmentId,
    EventKind, FieldDefinition, FieldValue, HistoryField, HistorySubject, HistoryValue,
    ImportTicket, Message, MessageId, MessageKind, NewMessage, NewTicket, OrganizationId, Priority,
    RequesterId, Status, Ticket, TicketId, TicketUpdate, Timestamp, ValidationError,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use crate::Store;
use helpdesk_domain::Error;

use crate::error::{Entity, Failure, Result, not_found, rule};
use crate::history::record;
use crate::outbox::{NewEvent, append};
use crate::people::{load_agent, load_department, load_fields, load_requester};
use crate::row::{attribution_params, bad_code, from_json, read_attribution, to_json};

const TICKET_COLUMNS: &str = "id, subject, status, priority, department_id, assignee_id, requester_id, \
                              organization_id, created_at, updated_at, version";

pub(crate) fn read_ticket_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let status = r.get::<_, i64>(2)?;
    let priority = r.get::<_, i64>(3)?;
    Ok(Ticket {
        id: TicketId::new(r.get(0)?),
        subject: r.get(1)?,
        status: Status::from_code(status).ok_or_else(|| bad_code(2, "status", status))?,
        priority: Priority::from_code(priority).ok_or_else(|| bad_code(3, "priority", priority))?,
        department: DepartmentId::new(r.get(4)?),
        assignee: r.get::<_, Option<i64>>(5)?.map(AgentId::new),
        requester: RequesterId::new(r.get(6)?),
        organization: r.get::<_, Option<i64>>(7)?.map(OrganizationId::new),
        tags: Vec::new(),
        fields: BTreeMap::new(),
        created_at: Timestamp::from_millis(r.get(8)?),
        updated_at: Timestamp::from_millis(r.get(9)?),
        version: u64::try_from(r.get::<_, i64>(10)?).unwrap_or(0),
    })
}

/// Fills in tags and custom field values of a ticket read from its row.
pub(crate) fn complete_ticket(conn: &Connection, ticket: &mut Ticket) -> Result<()> {
    complete_tickets(conn, std::slice::from_mut(ticket))
}

/// Fills in tags and custom field values of many tickets with two queries in all.
pub(crate) fn complete_tickets(conn: &Connection, tickets: &mut [Ticket]) -> Result<()> {
    if tickets.is_empty() {
        return Ok(());
    }
    let index: std::collections::HashMap<i64, usize> = tickets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.get(), i))
        .collect();
    let ids = to_json(&tickets.iter().map(|t| t.id.get()).collect::<Vec<_>>())?;
    let mut stmt = conn.prepare_cached(
        "SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN (SELECT value FROM json_each(?1))
         ORDER BY ticket_id, tag",
    )?;
    for row in stmt.query_map([&ids], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })? {
        let (id, tag) = row?;
        if let Some(&i) = index.get(&id) {
            tickets[i].tags.push(tag);
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT v.ticket_id, f.key, v.value FROM ticket_field_values v JOIN custom_fields f ON f.id = v.field_id
         WHERE v.ticket_id IN (SELECT value FROM json_each(?1))",
    )?;
    for row in stmt.query_map([&ids], |r| {
        let value: FieldValue = from_json(2, &r.get::<_, String>(2)?)?;
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, value))
    })? {
        let (id, key, value) = row?;
        if let Some(&i) = index.get(&id) {
            tickets[i].fields.insert(key, value);
        }
    }
    Ok(())
}

pub(crate) fn load_ticket(conn: &Connection, id: TicketId) -> Result<Ticket> {
    let mut ticket = conn
        .prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"
        ))?
        .query_row([id.get()], read_ticket_row)
        .optional()?
        .ok_or_else(|| not_found(Entity::Ticket, id))?;
    complete_ticket(conn, &mut ticket)?;
    Ok(ticket)
}

/// Checks that `agent` may be assigned tickets of `department`: active, and a member with at
/// least the `change` level (administrators may work anywhere).
fn check_assignable(conn: &Connection, agent: AgentId, department: DepartmentId) -> Result<()> {
    let agent = load_agent(conn, agent)?;
    if !agent.active {
        return Err(rule(
            "assignee",
            format!("agent `{}` is disabled", agent.name),
        ));
    }
    if agent.admin {
        return Ok(());
    }
    match agent.level_in(department) {
        Some(level) if level >= AccessLevel::Change => Ok(()),
        Some(level) => {
            let dept = load_department(conn, department)?;
            Err(rule(
                "assignee",
                format!(
                    "agent `{}` may only {level} tickets in department `{}`",
                    agent.name, dept.name
                ),
            ))
        }
        None => {
            let dept = load_department(conn, department)?;
            Err(rule(
                "assignee",
                format!(
                    "agent `{}` is not a member of department `{}`",
                    agent.name, dept.name
                ),
            ))
        }
    }
}

/// The author of a message: the one named, or else the acting person. The system handle must
/// name the author of a note; its replies default to the ticket's requester.
fn resolve_author(
    by: &Attribution,
    explicit: Option<Author>,
    kind: MessageKind,
    requester: RequesterId,
) -> Result<Author> {
    if let Some(author) = explicit {
        return Ok(author);
    }
    match (by.actor, kind) {
        (Actor::Agent(a), _) => Ok(Author::Agent(a)),
        (Actor::Requester(r), _) => Ok(Author::Requester(r)),
        (Actor::System, MessageKind::Reply) => Ok(Author::Requester(requester)),
        (Actor::System, MessageKind::Note) => {
            Err(rule("author", "a note needs an agent as its author"))
        }
    }
}

fn check_author(conn: &Connection, author: Author, kind: MessageKind) -> Result<()> {
    match author {
        Author::Agent(a) => {
            let agent = load_agent(conn, a)?;
            if !agent.active {
                return Err(rule(
                    "author",
                    format!("agent `{}` is disabled", agent.name),
                ));
            }
        }
        Author::Requester(r) => {
            load_requester(conn, r)?;
            if kind == MessageKind::Note {
                return Err(rule("author", "a requester cannot write internal notes"));
            }
        }
    }
    Ok(())
}

fn check_fields<'d>(
    defs: &'d [FieldDefinition],
    values: BTreeMap<String, FieldValue>,
    limits: &helpdesk_domain::Limits,
) -> Result<Vec<(&'d FieldDefinition, FieldValue)>> {
    let mut out = Vec::with_capacity(values.len());
    for (key, value) in values {
        let def = defs
            .iter()
            .find(|d| d.key == key)
            .ok_or(ValidationError::UnknownField { key })?;
        out.push((def, def.check(value, limits)?));
    }
    Ok(out)
}

impl Store {
    fn ticket_event(
        &self,
        conn: &Connection,
        at: Timestamp,
        by: &Attribution,
        kind: EventKind,
        ticket: &Ticket,
        data: serde_json::Value,
    ) -> Result<u64> {
        let event = NewEvent {
            kind,
            ticket: Some(ticket.id),
            department: Some(ticket.department),
            data,
        };
        append(conn, at, by, &event, self.outbox_retention)
    }

    /// Creates a ticket (with its first message, if given), its history and its events.
    pub fn create_ticket(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewTicket,
    ) -> helpdesk_domain::Result<Ticket> {
        let input = input.normalize(&self.limits)?;
        self.write(|tx| {
            let defs = load_fields(tx)?;
            self.insert_ticket(tx, at, at, by, input, Vec::new(), &defs, false)
        })
    }

    /// Inserts one validated ticket and its messages inside the caller's transaction.
    #[expect(
        clippy::too_many_arguments,
        reason = "shared by create and import, all needed"
    )]
    fn insert_ticket(
        &self,
        tx: &Connection,
        at: Timestamp,
        created_at: Timestamp,
        by: &Attribution,
        mut input: NewTicket,
        more_messages: Vec<NewMessage>,
        defs: &[FieldDefinition],
        imported: bool,
    ) -> Result<Ticket> {
        load_department(tx, input.department)?;
        let requester = load_requester(tx, input.requester)?;
        if let Some(assignee) = input.assignee {
            check_assignable(tx, assignee, input.department)?;
        }
        let fields = check_fields(defs, std::mem::take(&mut input.fields), &self.limits)?;
        let status = input.status.unwrap_or(if input.assignee.is_some() {
            Status::Open
        } else {
            Status::New
        });
        let priority = input.priority.unwrap_or(Priority::Normal);
        tx.prepare_cached(
            "INSERT INTO tickets (subject, status, priority, department_id, assignee_id, requester_id,
                                  organization_id, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 1)",
        )?
        .execute(params![
            input.subject,
            status.code(),
            priority.code(),
            input.department.get(),
            input.assignee.map(AgentId::get),
            input.requester.get(),
            requester.organization.map(OrganizationId::get),
            created_at.as_millis(),
        ])?;
        let id = TicketId::new(tx.last_insert_rowid());
        let mut tag_stmt =
            tx.prepare_cached("INSERT INTO ticket_tags (ticket_id, tag) VALUES (?1, ?2)")?;
        for tag in &input.tags {
            tag_stmt.execute(params![id.get(), tag])?;
        }
        let mut field_stmt = tx.prepare_cached(
            "INSERT INTO ticket_field_values (ticket_id, field_id, value) VALUES (?1, ?2, ?3)",
        )?;
        for (def, value) in &fields {
            field_stmt.execute(params![id.get(), def.id.get(), to_json(value)?])?;
        }
        tx.prepare_cached(
            "INSERT INTO search_index (rowid, body, ticket_id, public) VALUES (?1, ?2, ?3, 1)",
        )?
        .execute(params![-id.get(), input.subject, id.get()])?;
        let ticket = Ticket {
            id,
            subject: input.subject,
            status,
            priority,
            department: input.department,
            assignee: input.assignee,
            requester: input.requester,
            organization: requester.organization,
            tags: input.tags,
            fields: fields
                .into_iter()
                .map(|(d, v)| (d.key.clone(), v))
                .collect(),
            created_at,
            updated_at: created_at,
            version: 1,
        };
        let change = if imported {
            Change::Imported
        } else {
            Change::Created
        };
        record(tx, at, by, HistorySubject::Ticket(id), &change)?;
        self.ticket_event(
            tx,
            at,
            by,
            EventKind::TicketCreated,
            &ticket,
            json!({
                "ticket": id, "subject": ticket.subject, "status": status, "priority": priority,
                "department": ticket.department, "assignee": ticket.assignee, "requester": ticket.requester,
                "tags": ticket.tags, "imported": imported,
            }),
        )?;
        for message in input.message.into_iter().chain(more_messages) {
            let message = message.normalize(&self.limits)?;
            self.insert_message(tx, at, by, &ticket, message)?;
        }
        Ok(ticket)
    }

    fn insert_message(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        ticket: &Ticket,
        input: NewMessage,
    ) -> Result<Message> {
        let author = resolve_author(by, input.author, input.kind, ticket.requester)?;
        check_author(tx, author, input.kind)?;
        let (agent, requester) = match author {
            Author::Agent(a) => (Some(a.get()), None),
            Author::Requester(r) => (None, Some(r.get())),
        };
        let (bk, bi, bkey, btok, binst) = attribution_params(by);
        tx.prepare_cached(
            "INSERT INTO messages (ticket_id, kind, body, author_agent_id, author_requester_id,
                                   by_kind, by_id, by_key, by_token, by_install, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            ticket.id.get(),
            input.kind.code(),
            input.body,
            agent,
            requester,
            bk,
            bi,
            bkey,
            btok,
            binst,
            at.as_millis()
        ])?;
        let id = MessageId::new(tx.last_insert_rowid());
        tx.prepare_cached(
            "INSERT INTO search_index (rowid, body, ticket_id, public) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            id.get(),
            input.body,
            ticket.id.get(),
            input.kind == MessageKind::Reply
        ])?;
        record(
            tx,
            at,
            by,
            HistorySubject::Ticket(ticket.id),
            &Change::MessageAdded {
                message: id,
                kind: input.kind,
            },
        )?;
        self.ticket_event(
            tx,
            at,
            by,
            EventKind::MessageAdded,
            ticket,
            json!({ "ticket": ticket.id, "message": id, "kind": input.kind, "author": author }),
        )?;
        Ok(Message {
            id,
            ticket: ticket.id,
            kind: input.kind,
            body: input.body,
            author,
            posted_by: *by,
            created_at: at,
        })
    }

    /// One ticket with its tags and custom fields.
    pub fn ticket(&self, id: TicketId) -> helpdesk_domain::Result<Ticket> {
        self.read(|tx| load_ticket(tx, id))
    }

    /// Applies `update` to the ticket if it is still at `expected_version`; otherwise fails with
    /// [`Error::Conflict`] and changes nothing. An update that changes nothing returns the
    /// ticket as it is.
    pub fn update_ticket(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: TicketId,
        expected_version: u64,
        update: TicketUpdate,
    ) -> helpdesk_domain::Result<Ticket> {
        let update = update.normalize(&self.limits)?;
        self.write(|tx| {
            let before = load_ticket(tx, id)?;
            if before.version != expected_version {
                return Err(Error::Conflict {
                    ticket: id,
                    expected: expected_version,
                    actual: before.version,
                }
                .into());
            }
            self.apply_update(tx, at, by, before, update)
        })
    }

    fn apply_update(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        before: Ticket,
        update: TicketUpdate,
    ) -> Result<Ticket> {
        let id = before.id;
        if before.status == Status::Closed && !update.is_empty() {
            return Err(rule(
                "status",
                "the ticket is closed and can no longer change",
            ));
        }
        let mut after = before.clone();
        let mut changes: Vec<Change> = Vec::new();
        if let Some(subject) = update.subject.filter(|s| *s != before.subject) {
            changes.push(Change::Set {
                field: HistoryField::Subject,
                old: HistoryValue::Text(before.subject.clone()),
                new: HistoryValue::Text(subject.clone()),
            });
            after.subject = subject;
        }
        if let Some(status) = update.status.filter(|s| *s != before.status) {
            before.status.check_transition(status)?;
            changes.push(Change::Set {
                field: HistoryField::Status,
                old: HistoryValue::Status(before.status),
                new: HistoryValue::Status(status),
            });
            after.status = status;
        }
        if let Some(priority) = update.priority.filter(|p| *p != before.priority) {
            changes.push(Change::Set {
                field: HistoryField::Priority,
                old: HistoryValue::Priority(before.priority),
                new: HistoryValue::Priority(priority),
            });
            after.priority = priority;
        }
        if let Some(department) = update.department.filter(|d| *d != before.department) {
            load_department(tx, department)?;
            changes.push(Change::Set {
                field: HistoryField::Department,
                old: HistoryValue::Department(before.department),
                new: HistoryValue::Department(department),
            });
            after.department = department;
        }
        if let Some(assignee) = update.assignee.filter(|a| *a != before.assignee) {
            let value = |a: Option<AgentId>| a.map_or(HistoryValue::None, HistoryValue::Agent);
            changes.push(Change::Set {
                field: HistoryField::Assignee,
                old: value(before.assignee),
                new: value(assignee),
            });
            after.assignee = assignee;
        }
        // Whoever is assigned after the change must be an active member of the department after it.
        if let Some(assignee) = after.assignee
            && (after.assignee != before.assignee || after.department != before.department)
        {
            check_assignable(tx, assignee, after.department)?;
        }
        for tag in &update.add_tags {
            if !after.tags.contains(tag) {
                after.tags.push(tag.clone());
                changes.push(Change::TagAdded { tag: tag.clone() });
            }
        }
        for tag in &update.remove_tags {
            if let Some(pos) = after.tags.iter().position(|t| t == tag) {
                after.tags.remove(pos);
                changes.push(Change::TagRemoved { tag: tag.clone() });
            }
        }
        after.tags.sort();
        if after.tags.len() > self.limits.max_tags {
            return Err(ValidationError::TooMany {
                what: "tags",
                count: after.tags.len(),
                max: self.limits.max_tags,
            }
            .into());
        }
        let defs = if update.fields.is_empty() {
            Vec::new()
        } else {
            load_fields(tx)?
        };
        let mut field_writes = Vec::new();
        for (key, value) in update.fields {
            let def = defs
                .iter()
                .find(|d| d.key == key)
                .ok_or_else(|| ValidationError::UnknownField { key: key.clone() })?;
            let value = value.map(|v| def.check(v, &self.limits)).transpose()?;
            let old = after.fields.get(&key).cloned();
            if old == value {
                continue;
            }
            let as_history =
                |v: Option<FieldValue>| v.map_or(HistoryValue::None, HistoryValue::Field);
            changes.push(Change::Set {
                field: HistoryField::Custom(key.clone()),
                old: as_history(old),
                new: as_history(value.clone()),
            });
            match &value {
                Some(v) => after.fields.insert(key.clone(), v.clone()),
                None => after.fields.remove(&key),
            };
            field_writes.push((def.id, value));
        }
        if changes.is_empty() {
            return Ok(before);
        }
        after.version = before.version + 1;
        after.updated_at = at;
        tx.prepare_cached(
            "UPDATE tickets SET subject = ?2, status = ?3, priority = ?4, department_id = ?5, assignee_id = ?6,
                                updated_at = ?7, version = ?8 WHERE id = ?1",
        )?
        .execute(params![
            id.get(),
            after.subject,
            after.status.code(),
            after.priority.code(),
            after.department.get(),
            after.assignee.map(AgentId::get),
            at.as_millis(),
            i64::try_from(after.version).unwrap_or(i64::MAX),
        ])?;
        if after.subject != before.subject {
            tx.prepare_cached("UPDATE search_index SET body = ?2 WHERE rowid = ?1")?
                .execute(params![-id.get(), after.subject])?;
        }
        for change in &changes {
            match change {
                Change::TagAdded { tag } => {
                    tx.prepare_cached("INSERT INTO ticket_tags (ticket_id, tag) VALUES (?1, ?2)")?
                        .execute(params![id.get(), tag])?;
                }
                Change::TagRemoved { tag } => {
                    tx.prepare_cached("DELETE FROM ticket_tags WHERE ticket_id = ?1 AND tag = ?2")?
                        .execute(params![id.get(), tag])?;
                }
                _ => {}
            }
        }
        for (field, value) in field_writes {
            match value {
                Some(v) => tx
                    .prepare_cached("INSERT OR REPLACE INTO ticket_field_values (ticket_id, field_id, value) VALUES (?1, ?2, ?3)")?
                    .execute(params![id.get(), field.get(), to_json(&v)?])?,
                None => tx
                    .prepare_cached("DELETE FROM ticket_field_values WHERE ticket_id = ?1 AND field_id = ?2")?
                    .execute(params![id.get(), field.get()])?,
            };
        }
        self.record_ticket_changes(tx, at, by, &before, &after, &changes)?;
        Ok(after)
    }

    /// Writes the history entries and events of a ticket change.
    fn record_ticket_changes(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        before: &Ticket,
        after: &Ticket,
        changes: &[Change],
    ) -> Result<()> {
        for change in changes {
            record(tx, at, by, HistorySubject::Ticket(after.id), change)?;
        }
        self.ticket_event(
            tx,
            at,
            by,
            EventKind::TicketUpdated,
            after,
            json!({ "ticket": after.id, "version": after.version, "changes": changes }),
        )?;
        if before.status != after.status {
            self.ticket_event(
                tx,
                at,
                by,
                EventKind::TicketStatusChanged,
                after,
                json!({ "ticket": after.id, "from": before.status, "to": after.status }),
            )?;
        }
        if before.assignee != after.assignee {
            self.ticket_event(
                tx,
                at,
                by,
                EventKind::TicketAssigned,
                after,
                json!({ "ticket": after.id, "from": before.assignee, "to": after.assignee }),
            )?;
        }
        Ok(())
    }

    /// Posts a message on a ticket. A requester's reply reopens a pending or resolved ticket, and
    /// an agent's public reply opens a new one; both status changes are recorded like any other.
    pub fn add_message(
        &self,
        at: Timestamp,
        by: &Attribution,
        ticket: TicketId,
        input: NewMessage,
    ) -> helpdesk_domain::Result<Message> {
        let input = input.normalize(&self.limits)?;
        self.write(|tx| {
            let before = load_ticket(tx, ticket)?;
            if before.status == Status::Closed {
                return Err(rule(
                    "status",
                    "the ticket is closed; open a follow-up ticket",
                ));
            }
            let message = self.insert_message(tx, at, by, &before, input)?;
            let status = match (message.kind, message.author, before.status) {
                (MessageKind::Reply, Author::Requester(_), Status::Pending | Status::Resolved) => {
                    Some(Status::Open)
                }
                (MessageKind::Reply, Author::Agent(_), Status::New) => Some(Status::Open),
                _ => None,
            };
            match status {
                Some(status) => {
                    let update = TicketUpdate {
                        status: Some(status),
                        ..TicketUpdate::default()
                    };
                    let after = self.apply_update(tx, at, by, before, update)?;
                    tx.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE id = ?1")?
                        .execute(params![after.id.get(), at.as_millis()])?;
                }
                None => {
                    tx.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE id = ?1")?
                        .execute(params![ticket.get(), at.as_millis()])?;
                }
            }
            Ok(message)
        })
    }

    /// The messages of a ticket, oldest first; internal notes only if `include_notes`.
    pub fn messages(
        &self,
        ticket: TicketId,
        include_notes: bool,
    ) -> helpdesk_domain::Result<Vec<Message>> {
        self.read(|tx| {
            let exists: Option<i64> = tx.query_row("SELECT id FROM tickets WHERE id = ?1", [ticket.get()], |r| r.get(0)).optional()?;
            exists.ok_or_else(|| not_found(Entity::Ticket, ticket))?;
            let mut stmt = tx.prepare_cached(
                "SELECT id, kind, body, author_agent_id, author_requester_id, by_kind, by_id, by_key, by_token, by_install, created_at
                 FROM messages WHERE ticket_id = ?1 AND (?2 OR kind = 0) ORDER BY id",
            )?;
            let rows = stmt.query_map(params![ticket.get(), include_notes], |r| {
                let kind = r.get::<_, i64>(1)?;
                let author = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i64>>(4)?) {
                    (Some(a), _) => Author::Agent(AgentId::new(a)),
                    (None, Some(q)) => Author::Requester(RequesterId::new(q)),
                    (None, None) => return Err(bad_code(3, "author", 0)),
                };
                Ok(Message {
                    id: MessageId::new(r.get(0)?),
                    ticket,
                    kind: MessageKind::from_code(kind).ok_or_else(|| bad_code(1, "message kind", kind))?,
                    body: r.get(2)?,
                    author,
                    posted_by: read_attribution(r, 5)?,
                    created_at: Timestamp::from_millis(r.get(10)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// What ticket `id` was when it was deleted, if it was deleted.
    pub fn deleted_ticket(&self, id: TicketId) -> helpdesk_domain::Result<Option<DeletedTicket>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT department_id, assignee_id, requester_id, organization_id, deleted_at
                     FROM deleted_tickets WHERE id = ?1",
                )?
                .query_row([id.get()], |r| {
                    Ok(DeletedTicket {
                        id,
                        department: DepartmentId::new(r.get(0)?),
                        assignee: r.get::<_, Option<i64>>(1)?.map(AgentId::new),
                        requester: r.get::<_, Option<i64>>(2)?.map(RequesterId::new),
                        organization: r.get::<_, Option<i64>>(3)?.map(OrganizationId::new),
                        deleted_at: Timestamp::from_millis(r.get(4)?),
                    })
                })
                .optional()?)
        })
    }

    /// Deletes a ticket with its messages, tags and field values. Its history stays, closed by a
    /// `deleted` entry.
    pub fn delete_ticket(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: TicketId,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            let ticket = load_ticket(tx, id)?;
            tx.prepare_cached("DELETE FROM search_index WHERE ticket_id = ?1")?
                .execute([id.get()])?;
            tx.prepare_cached("DELETE FROM tickets WHERE id = ?1")?
                .execute([id.get()])?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO deleted_tickets
                     (id, department_id, assignee_id, requester_id, organization_id, deleted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id.get(),
                ticket.department.get(),
                ticket.assignee.map(AgentId::get),
                ticket.requester.get(),
                ticket.organization.map(OrganizationId::get),
                at.as_millis()
            ])?;
            record(tx, at, by, HistorySubject::Ticket(id), &Change::Deleted)?;
            self.ticket_event(
                tx,
                at,
                by,
                EventKind::TicketDeleted,
                &ticket,
                json!({ "ticket": id }),
            )?;
            Ok(())
        })
    }

    /// Imports many tickets with their messages in one transaction: all or nothing, with the same
    /// validation as [`Store::create_ticket`]. Each ticket gets an `imported` history entry and a
    /// `ticket.created` event marked as imported.
    pub fn import_tickets(
        &self,
        at: Timestamp,
        by: &Attribution,
        tickets: Vec<ImportTicket>,
    ) -> helpdesk_domain::Result<Vec<TicketId>> {
        let max = self.limits.max_import_batch;
        if tickets.len() > max {
            return Err(ValidationError::TooMany {
                what: "tickets in one import",
                count: tickets.len(),
                max,
            }
            .into());
        }
        let mut normalized = Vec::with_capacity(tickets.len());
        for (i, t) in tickets.into_iter().enumerate() {
            let ticket = t
                .ticket
                .normalize(&self.limits)
                .map_err(|e| imported(i, e))?;
            normalized.push((ticket, t.messages, t.created_at));
        }
        self.write(|tx| {
            let defs = load_fields(tx)?;
            let mut ids = Vec::with_capacity(normalized.len());
            for (i, (ticket, messages, created_at)) in normalized.into_iter().enumerate() {
                let created = created_at.unwrap_or(at);
                let t = self
                    .insert_ticket(tx, at, created, by, ticket, messages, &defs, true)
                    .map_err(|e| match e {
                        Failure::Core(Error::Invalid(v)) => imported(i, v),
                        other => other,
                    })?;
                ids.push(t.id);
            }
            Ok(ids)
        })
    }
}

/// Names the position of a bad ticket in an import.
fn imported(index: usize, e: ValidationError) -> Failure {
    ValidationError::Malformed {
        field: "import",
        reason: format!("ticket #{index}: {e}"),
    }
    .into()
}

/// Unassigns the tickets of `department` assigned to `agent`, who has just left it.
pub(crate) fn unassign_outside_department(
    store: &Store,
    tx: &Connection,
    at: Timestamp,
    by: &Attribution,
    department: DepartmentId,
    agent: AgentId,
) -> Result<()> {
    let ids = tx
        .prepare_cached("SELECT id FROM tickets WHERE department_id = ?1 AND assignee_id = ?2")?
        .query_map(params![department.get(), agent.get()], |r| {
            Ok(TicketId::new(r.get(0)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for id in ids {
        let before = load_ticket(tx, id)?;
        if before.status == Status::Closed {
            continue;
        }
        let update = TicketUpdate {
            assignee: Some(None),
            ..TicketUpdate::default()
        };
        store.apply_update(tx, at, by, before, update)?;
    }
    Ok(())
}
