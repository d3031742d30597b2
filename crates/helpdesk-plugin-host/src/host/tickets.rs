//! `helpdesk:plugin/tickets`: reading, searching, creating and changing tickets through the
//! facade with the call's principal. While rendering, reads must also be allowed to the install
//! itself (the widget reads what both may read) and writes are refused.

use std::collections::BTreeMap;

use helpdesk::{
    AgentId, DepartmentId, FieldKind, FieldValue, NewMessage, RequesterId, SearchQuery, TicketId,
    TicketUpdate, Timestamp,
};

use crate::bindings::v0_1::helpdesk::plugin::tickets::{
    Host, NewTicket, SearchQuery as WitQuery, TicketUpdate as WitUpdate,
};
use crate::bindings::v0_1::helpdesk::plugin::types::{Error, Message, MessageKind, Ticket};
use crate::host::types::{error, kind_in, message, priority_in, status_in, ticket};
use crate::sandbox::{HostState, Mode};

/// Most tickets one search returns.
const MAX_SEARCH: u32 = 100;

impl HostState {
    fn refuse_writes(&self) -> Result<(), Error> {
        if self.call.mode == Mode::Render {
            Err(Error::Denied(
                "a widget cannot change anything while rendering; use an action button".to_owned(),
            ))
        } else {
            Ok(())
        }
    }

    /// Whether the second principal of the call (if any) may read the ticket too.
    fn also_reads(&self, id: TicketId) -> Result<(), Error> {
        match &self.call.also {
            Some(also) => self.ctx.desk.ticket(also, id).map(|_| ()).map_err(error),
            None => Ok(()),
        }
    }

    /// A custom field value from its JSON form, typed by the field's definition.
    fn field_value(&self, key: &str, json: &str) -> Result<FieldValue, Error> {
        let fields = self.ctx.desk.fields(&self.call.principal).map_err(error)?;
        let def = fields
            .iter()
            .find(|f| f.key == key)
            .ok_or_else(|| Error::Invalid(format!("custom field `{key}` is not defined")))?;
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| Error::Invalid(format!("custom field `{key}`: the value is not json")))?;
        let bad = || {
            Error::Invalid(format!(
                "custom field `{key}`: expected a {}",
                def.kind.name()
            ))
        };
        Ok(match (&def.kind, value) {
            (FieldKind::Text, serde_json::Value::String(s)) => FieldValue::Text(s),
            (FieldKind::Date, serde_json::Value::String(s)) => FieldValue::Date(s),
            (FieldKind::Choice(_), serde_json::Value::String(s)) => FieldValue::Choice(s),
            (FieldKind::Number, serde_json::Value::Number(n)) => {
                FieldValue::Number(n.as_f64().ok_or_else(bad)?)
            }
            (FieldKind::Boolean, serde_json::Value::Bool(b)) => FieldValue::Boolean(b),
            _ => return Err(bad()),
        })
    }
}

impl Host for HostState {
    fn get(&mut self, id: i64) -> Result<Ticket, Error> {
        self.log_use("tickets.get");
        let id = TicketId::new(id);
        let found = self
            .ctx
            .desk
            .ticket(&self.call.principal, id)
            .map_err(error)?;
        self.also_reads(id)?;
        Ok(ticket(found))
    }

    fn messages(&mut self, id: i64) -> Result<Vec<Message>, Error> {
        self.log_use("tickets.messages");
        let id = TicketId::new(id);
        let found = self
            .ctx
            .desk
            .messages(&self.call.principal, id)
            .map_err(error)?;
        self.also_reads(id)?;
        Ok(found.into_iter().map(message).collect())
    }

    fn search(&mut self, query: WitQuery) -> Result<Vec<Ticket>, Error> {
        self.log_use("tickets.search");
        let limit = query.limit.unwrap_or(20).min(MAX_SEARCH);
        let q = SearchQuery {
            text: query.text,
            statuses: query.statuses.into_iter().map(status_in).collect(),
            priorities: query.priorities.into_iter().map(priority_in).collect(),
            departments: query
                .departments
                .into_iter()
                .map(DepartmentId::new)
                .collect(),
            requester: query.requester.map(RequesterId::new),
            tags: query.tags,
            created_from: query.created_from.map(Timestamp::from_millis),
            limit: Some(limit as usize),
            ..SearchQuery::default()
        };
        let page = self
            .ctx
            .desk
            .search(&self.call.principal, &q)
            .map_err(error)?;
        let mut out = Vec::with_capacity(page.tickets.len());
        for t in page.tickets {
            if self.also_reads(t.id).is_ok() {
                out.push(ticket(t));
            }
        }
        Ok(out)
    }

    fn create(&mut self, new: NewTicket) -> Result<Ticket, Error> {
        self.log_use("tickets.create");
        self.refuse_writes()?;
        let mut input = helpdesk::NewTicket::new(
            new.subject,
            DepartmentId::new(new.department),
            RequesterId::new(new.requester),
        );
        input.priority = new.priority.map(priority_in);
        input.tags = new.tags;
        input.message = new.body.map(NewMessage::reply);
        let created = self
            .ctx
            .desk
            .create_ticket(&self.call.principal, input)
            .map_err(error)?;
        Ok(ticket(created))
    }

    fn update(
        &mut self,
        id: i64,
        expected_version: u64,
        update: WitUpdate,
    ) -> Result<Ticket, Error> {
        self.log_use("tickets.update");
        self.refuse_writes()?;
        let id = TicketId::new(id);
        self.also_reads(id)?;
        let mut fields = BTreeMap::new();
        for (key, value) in update.fields {
            let value = match value {
                Some(json) => Some(self.field_value(&key, &json)?),
                None => None,
            };
            fields.insert(key, value);
        }
        let change = TicketUpdate {
            status: update.status.map(status_in),
            priority: update.priority.map(priority_in),
            assignee: update.assignee.map(|a| a.map(AgentId::new)),
            add_tags: update.add_tags,
            remove_tags: update.remove_tags,
            fields,
            ..TicketUpdate::default()
        };
        let updated = self
            .ctx
            .desk
            .update_ticket(&self.call.principal, id, expected_version, change)
            .map_err(error)?;
        Ok(ticket(updated))
    }

    fn add_message(&mut self, id: i64, kind: MessageKind, body: String) -> Result<Message, Error> {
        self.log_use("tickets.add-message");
        self.refuse_writes()?;
        let id = TicketId::new(id);
        self.also_reads(id)?;
        let input = NewMessage {
            kind: kind_in(kind),
            body,
            author: None,
        };
        let added = self
            .ctx
            .desk
            .add_message(&self.call.principal, id, input)
            .map_err(error)?;
        Ok(message(added))
    }
}
