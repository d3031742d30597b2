//! Domain events, appended to the durable outbox in the same transaction as the change they report.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::actor::Attribution;
use crate::ids::{DepartmentId, TicketId};
use crate::time::Timestamp;

/// The kinds of domain event, with stable names such as `ticket.created`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventKind {
    /// `ticket.created`
    #[serde(rename = "ticket.created")]
    TicketCreated,
    /// `ticket.deleted`
    #[serde(rename = "ticket.deleted")]
    TicketDeleted,
    /// `ticket.updated`: any field change; `data.changes` lists them.
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    /// `ticket.status_changed`
    #[serde(rename = "ticket.status_changed")]
    TicketStatusChanged,
    /// `ticket.assigned`
    #[serde(rename = "ticket.assigned")]
    TicketAssigned,
    /// `message.added`
    #[serde(rename = "message.added")]
    MessageAdded,
    /// `agent.created`
    #[serde(rename = "agent.created")]
    AgentCreated,
    /// `agent.updated`
    #[serde(rename = "agent.updated")]
    AgentUpdated,
    /// `department.created`
    #[serde(rename = "department.created")]
    DepartmentCreated,
    /// `department.updated`: membership or name changes.
    #[serde(rename = "department.updated")]
    DepartmentUpdated,
    /// `requester.created`
    #[serde(rename = "requester.created")]
    RequesterCreated,
    /// `organization.created`
    #[serde(rename = "organization.created")]
    OrganizationCreated,
    /// `field.created`
    #[serde(rename = "field.created")]
    FieldCreated,
    /// `role.created`
    #[serde(rename = "role.created")]
    RoleCreated,
    /// `role.updated`
    #[serde(rename = "role.updated")]
    RoleUpdated,
    /// `role.deleted`
    #[serde(rename = "role.deleted")]
    RoleDeleted,
    /// `key.created`
    #[serde(rename = "key.created")]
    KeyCreated,
    /// `key.updated`: enabled or disabled.
    #[serde(rename = "key.updated")]
    KeyUpdated,
    /// `key.regenerated`: the secret was replaced.
    #[serde(rename = "key.regenerated")]
    KeyRegenerated,
    /// `key.deleted`
    #[serde(rename = "key.deleted")]
    KeyDeleted,
    /// `token.minted`: an access token was minted from a key.
    #[serde(rename = "token.minted")]
    TokenMinted,
    /// `token.revoked`
    #[serde(rename = "token.revoked")]
    TokenRevoked,
    /// `plugin.installed`: a plugin was installed; `data` has the install, plugin id and grant.
    #[serde(rename = "plugin.installed")]
    PluginInstalled,
    /// `plugin.updated`: enabled, disabled (by hand or automatically), upgraded or re-granted;
    /// `data.change` says which.
    #[serde(rename = "plugin.updated")]
    PluginUpdated,
    /// `plugin.uninstalled`
    #[serde(rename = "plugin.uninstalled")]
    PluginUninstalled,
}

impl EventKind {
    /// Every kind.
    pub const ALL: &[EventKind] = &[
        EventKind::TicketCreated,
        EventKind::TicketUpdated,
        EventKind::TicketDeleted,
        EventKind::TicketStatusChanged,
        EventKind::TicketAssigned,
        EventKind::MessageAdded,
        EventKind::AgentCreated,
        EventKind::AgentUpdated,
        EventKind::DepartmentCreated,
        EventKind::DepartmentUpdated,
        EventKind::RequesterCreated,
        EventKind::OrganizationCreated,
        EventKind::FieldCreated,
        EventKind::RoleCreated,
        EventKind::RoleUpdated,
        EventKind::RoleDeleted,
        EventKind::KeyCreated,
        EventKind::KeyUpdated,
        EventKind::KeyRegenerated,
        EventKind::KeyDeleted,
        EventKind::TokenMinted,
        EventKind::TokenRevoked,
        EventKind::PluginInstalled,
        EventKind::PluginUpdated,
        EventKind::PluginUninstalled,
    ];

    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::TicketCreated => "ticket.created",
            EventKind::TicketUpdated => "ticket.updated",
            EventKind::TicketDeleted => "ticket.deleted",
            EventKind::TicketStatusChanged => "ticket.status_changed",
            EventKind::TicketAssigned => "ticket.assigned",
            EventKind::MessageAdded => "message.added",
            EventKind::AgentCreated => "agent.created",
            EventKind::AgentUpdated => "agent.updated",
            EventKind::DepartmentCreated => "department.created",
            EventKind::DepartmentUpdated => "department.updated",
            EventKind::RequesterCreated => "requester.created",
            EventKind::OrganizationCreated => "organization.created",
            EventKind::FieldCreated => "field.created",
            EventKind::RoleCreated => "role.created",
            EventKind::RoleUpdated => "role.updated",
            EventKind::RoleDeleted => "role.deleted",
            EventKind::PluginInstalled => "plugin.installed",
            EventKind::PluginUpdated => "plugin.updated",
            EventKind::PluginUninstalled => "plugin.uninstalled",
            EventKind::KeyCreated => "key.created",
            EventKind::KeyUpdated => "key.updated",
            EventKind::KeyRegenerated => "key.regenerated",
            EventKind::KeyDeleted => "key.deleted",
            EventKind::TokenMinted => "token.minted",
            EventKind::TokenRevoked => "token.revoked",
        }
    }

    /// The kind with this stable name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event read from the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Strictly increasing, gap-free sequence number.
    pub seq: u64,
    /// What happened.
    pub kind: EventKind,
    /// When it was committed.
    pub at: Timestamp,
    /// Who did it, and with which credential.
    pub by: Attribution,
    /// The ticket concerned, for ticket and message events.
    pub ticket: Option<TicketId>,
    /// The ticket's department at the time, so a consumer can filter by reach without a read.
    pub department: Option<DepartmentId>,
    /// Details: ids and changed fields, as JSON.
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.as_str()), Some(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::from_name("ticket.exploded"), None);
    }
}
