//! Typed identifiers: one newtype per entity so an agent id can never be passed as a ticket id.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw database id.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw database id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "#{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type!(
    /// An agent: a member of the support team (or an app identity).
    AgentId, "agent"
);
id_type!(
    /// A department (a group of agents that tickets are routed to).
    DepartmentId, "department"
);
id_type!(
    /// A requester: an end user who opens tickets.
    RequesterId, "requester"
);
id_type!(
    /// An organisation that requesters may belong to.
    OrganizationId, "organization"
);
id_type!(
    /// A ticket.
    TicketId, "ticket"
);
id_type!(
    /// A message (public reply or internal note) on a ticket.
    MessageId, "message"
);
id_type!(
    /// A custom ticket field definition.
    FieldId, "field"
);
id_type!(
    /// A role: a named set of permissions.
    RoleId, "role"
);
id_type!(
    /// An API key; its number is the part of a key code before the colon.
    KeyId, "key"
);
id_type!(
    /// An access token minted from a key.
    TokenId, "token"
);
id_type!(
    /// A plugin installation.
    InstallId, "install"
);
id_type!(
    /// An entry in the audit history.
    HistoryId, "history"
);
