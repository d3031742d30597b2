//! Actions a principal may attempt, their stable scope names, and `Scopes`, a bit set of actions.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not, Sub, SubAssign};
use std::str::FromStr;

use crate::ticket::AccessLevel;

/// A scope name that is not one of the known actions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseScopeError {
    /// The name is not a scope.
    #[error("unknown scope `{name}`")]
    Unknown {
        /// The name as given.
        name: String,
    },
}

/// Something a principal may attempt. Each action has a stable scope name such as `tickets.read`,
/// used for API key scopes, token scopes and plugin grants.
///
/// Ticket actions (`tickets.*`) are also limited by the agent's level in the ticket's department;
/// every other action needs only the permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum Action {
    /// `tickets.read`: see a ticket and its public messages.
    TicketRead = 0,
    /// `tickets.create`: open a ticket.
    TicketCreate = 1,
    /// `tickets.update`: change subject, priority, tags, custom fields or department.
    TicketUpdate = 2,
    /// `tickets.assign`: change the assignee.
    TicketAssign = 3,
    /// `tickets.status`: change the status.
    TicketStatus = 4,
    /// `tickets.delete`: delete a ticket.
    TicketDelete = 5,
    /// `tickets.reply`: add a public reply.
    TicketReply = 6,
    /// `tickets.note`: add an internal note, which requesters never see.
    TicketNote = 7,
    /// `agents.read`: list and read agents.
    AgentRead = 8,
    /// `agents.manage`: create, change and disable agents.
    AgentManage = 9,
    /// `requesters.read`: list and read requesters.
    RequesterRead = 10,
    /// `requesters.manage`: create and change requesters.
    RequesterManage = 11,
    /// `departments.read`: list and read departments.
    DepartmentRead = 12,
    /// `departments.manage`: create and change departments and memberships.
    DepartmentManage = 13,
    /// `roles.manage`: create and change roles.
    RoleManage = 14,
    /// `fields.manage`: define custom ticket fields.
    FieldManage = 15,
    /// `keys.manage`: administer API keys.
    KeyManage = 16,
    /// `keys.logs`: read the usage logs of API keys.
    KeyLogs = 17,
    /// `plugins.manage`: install and manage plugins.
    PluginManage = 18,
    /// `events.read`: read the outbox (the event stream).
    EventRead = 19,
}

impl Action {
    /// Every action, in scope-bit order.
    pub const ALL: &'static [Self] = &[
        Self::TicketRead,
        Self::TicketCreate,
        Self::TicketUpdate,
        Self::TicketAssign,
        Self::TicketStatus,
        Self::TicketDelete,
        Self::TicketReply,
        Self::TicketNote,
        Self::AgentRead,
        Self::AgentManage,
        Self::RequesterRead,
        Self::RequesterManage,
        Self::DepartmentRead,
        Self::DepartmentManage,
        Self::RoleManage,
        Self::FieldManage,
        Self::KeyManage,
        Self::KeyLogs,
        Self::PluginManage,
        Self::EventRead,
    ];

    /// The stable scope name, such as `tickets.read`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::TicketRead => "tickets.read",
            Self::TicketCreate => "tickets.create",
            Self::TicketUpdate => "tickets.update",
            Self::TicketAssign => "tickets.assign",
            Self::TicketStatus => "tickets.status",
            Self::TicketDelete => "tickets.delete",
            Self::TicketReply => "tickets.reply",
            Self::TicketNote => "tickets.note",
            Self::AgentRead => "agents.read",
            Self::AgentManage => "agents.manage",
            Self::RequesterRead => "requesters.read",
            Self::RequesterManage => "requesters.manage",
            Self::DepartmentRead => "departments.read",
            Self::DepartmentManage => "departments.manage",
            Self::RoleManage => "roles.manage",
            Self::FieldManage => "fields.manage",
            Self::KeyManage => "keys.manage",
            Self::KeyLogs => "keys.logs",
            Self::PluginManage => "plugins.manage",
            Self::EventRead => "events.read",
        }
    }

    /// The department level an agent needs for this action, or `None` for actions that are not
    /// about tickets and need only the permission.
    pub const fn required_level(self) -> Option<AccessLevel> {
        match self {
            Self::TicketRead => Some(AccessLevel::Read),
            Self::TicketCreate => Some(AccessLevel::Create),
            Self::TicketUpdate
            | Self::TicketAssign
            | Self::TicketStatus
            | Self::TicketReply
            | Self::TicketNote => Some(AccessLevel::Change),
            Self::TicketDelete => Some(AccessLevel::Full),
            Self::AgentRead
            | Self::AgentManage
            | Self::RequesterRead
            | Self::RequesterManage
            | Self::DepartmentRead
            | Self::DepartmentManage
            | Self::RoleManage
            | Self::FieldManage
            | Self::KeyManage
            | Self::KeyLogs
            | Self::PluginManage
            | Self::EventRead => None,
        }
    }

    /// Whether this is a ticket action (`tickets.*`).
    pub const fn is_ticket_action(self) -> bool {
        self.required_level().is_some()
    }

    /// The bit of this action in a [`Scopes`] set.
    const fn bit(self) -> u32 {
        1 << (self as u8)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = ParseScopeError;

    /// Parses a scope name such as `tickets.read`; names are case-sensitive.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|action| action.name() == name)
            .ok_or_else(|| ParseScopeError::Unknown {
                name: name.to_owned(),
            })
    }
}

/// A set of actions (scopes), stored as one bit per action.
///
/// Parsed from and displayed as scope names separated by spaces, as in OAuth:
/// `tickets.read tickets.reply`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u32);

impl Scopes {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// Every action.
    pub const ALL: Self = {
        let mut bits = 0;
        let mut i = 0;
        while i < Action::ALL.len() {
            bits |= Action::ALL[i].bit();
            i += 1;
        }
        Self(bits)
    };

    /// The set holding exactly `actions`.
    pub const fn of(actions: &[Action]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < actions.len() {
            bits |= actions[i].bit();
            i += 1;
        }
        Self(bits)
    }

    /// Parses a list of scope names; fails on the first name that is not a scope.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ParseScopeError> {
        names.into_iter().map(str::parse::<Action>).collect()
    }

    /// Whether `action` is in the set.
    #[inline]
    pub const fn contains(self, action: Action) -> bool {
        self.0 & action.bit() != 0
    }

    /// Adds `action` to the set.
    pub const fn insert(&mut self, action: Action) {
        self.0 |= action.bit();
    }

    /// Removes `action` from the set.
    pub const fn remove(&mut self, action: Action) {
        self.0 &= !action.bit();
    }

    /// The actions in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The actions in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The actions in `self` but not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether every action of `self` is also in `other`.
    pub const fn is_subset(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of actions in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The actions in the set, in the order of [`Action::ALL`].
    pub const fn iter(self) -> ScopesIter {
        ScopesIter(self.0)
    }
}

impl From<Action> for Scopes {
    fn from(action: Action) -> Self {
        Self(action.bit())
    }
}

impl FromIterator<Action> for Scopes {
    fn from_iter<I: IntoIterator<Item = Action>>(iter: I) -> Self {
        let mut scopes = Self::EMPTY;
        scopes.extend(iter);
        scopes
    }
}

impl Extend<Action> for Scopes {
    fn extend<I: IntoIterator<Item = Action>>(&mut self, iter: I) {
        for action in iter {
            self.insert(action);
        }
    }
}

impl IntoIterator for Scopes {
    type Item = Action;
    type IntoIter = ScopesIter;

    fn into_iter(self) -> ScopesIter {
        self.iter()
    }
}

impl BitOr for Scopes {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for Scopes {
    fn bitor_assign(&mut self, rhs: Self) {
        *self = self.union(rhs);
    }
}

impl BitAnd for Scopes {
    type Output = Self;

    fn bitand(self, rhs: Self) -> Self {
        self.intersection(rhs)
    }
}

impl BitAndAssign for Scopes {
    fn bitand_assign(&mut self, rhs: Self) {
        *self = self.intersection(rhs);
    }
}

impl Sub for Scopes {
    type Output = Self;

    fn sub(self, rhs: Self) -> Self {
        self.difference(rhs)
    }
}

impl SubAssign for Scopes {
    fn sub_assign(&mut self, rhs: Self) {
        *self = self.difference(rhs);
    }
}

impl Not for Scopes {
    type Output = Self;

    /// The actions not in the set.
    fn not(self) -> Self {
        Self::ALL.difference(self)
    }
}

impl FromStr for Scopes {
    type Err = ParseScopeError;

    /// Parses scope names separated by whitespace; the empty string is the empty set.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.split_whitespace())
    }
}

impl fmt::Display for Scopes {
    /// Scope names separated by single spaces; nothing for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, action) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(action.name())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Action::name))
            .finish()
    }
}

/// Iterator over the actions of a [`Scopes`] set.
#[derive(Clone, Debug)]
pub struct ScopesIter(u32);

impl Iterator for ScopesIter {
    type Item = Action;

    fn next(&mut self) -> Option<Action> {
        while self.0 != 0 {
            let bit = self.0.trailing_zeros();
            self.0 &= self.0 - 1;
            // Bits are only ever set from actions, so the lookup always succeeds.
            if let Some(&action) = Action::ALL.get(bit as usize) {
                return Some(action);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ScopesIter {}

impl FusedIterator for ScopesIter {}

/// An action serializes as its scope name.
impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Scopes serialize as the list of their names, in canonical order.
impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<Action>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bits_are_distinct() {
        assert_eq!(Action::ALL.len(), 20);
        assert_eq!(Scopes::ALL.len(), Action::ALL.len());
        for (i, &action) in Action::ALL.iter().enumerate() {
            assert_eq!(action as usize, i, "{action} is out of order");
            assert_eq!(action.name().parse::<Action>(), Ok(action));
            assert_eq!(action.to_string(), action.name());
        }
    }

    #[test]
    fn required_levels_follow_the_issue() {
        let check = |action: Action, expected: Option<AccessLevel>| {
            assert_eq!(action.required_level(), expected, "{action}");
        };
        check(Action::TicketRead, Some(AccessLevel::Read));
        check(Action::TicketCreate, Some(AccessLevel::Create));
        for action in [
            Action::TicketUpdate,
            Action::TicketAssign,
            Action::TicketStatus,
            Action::TicketReply,
            Action::TicketNote,
        ] {
            check(action, Some(AccessLevel::Change));
        }
        check(Action::TicketDelete, Some(AccessLevel::Full));
        let ticket_actions = Action::ALL.iter().filter(|a| a.is_ticket_action()).count();
        assert_eq!(ticket_actions, 8);
        for action in Action::ALL.iter().filter(|a| !a.is_ticket_action()) {
            assert!(!action.name().starts_with("tickets."), "{action}");
        }
    }

    #[test]
    fn parse_and_display_scope_lists() {
        let check = |input: &str, expected: Result<&str, &str>| {
            let actual = input
                .parse::<Scopes>()
                .map(|s| s.to_string())
                .map_err(|e| e.to_string());
            assert_eq!(
                actual.as_deref().map_err(String::as_str),
                expected,
                "{input:?}"
            );
        };
        check("", Ok(""));
        check(
            "tickets.reply  tickets.read",
            Ok("tickets.read tickets.reply"),
        );
        check("tickets.read tickets.read", Ok("tickets.read"));
        check("events.read\tkeys.logs\n", Ok("keys.logs events.read"));
        check(
            "tickets.read tickets.raed",
            Err("unknown scope `tickets.raed`"),
        );
        check("Tickets.Read", Err("unknown scope `Tickets.Read`"));
        check(
            "tickets.read,tickets.reply",
            Err("unknown scope `tickets.read,tickets.reply`"),
        );
        assert_eq!(
            Scopes::parse(["agents.read", "roles.manage"]).map(Scopes::len),
            Ok(2)
        );
        assert_eq!(Scopes::ALL.to_string().parse::<Scopes>(), Ok(Scopes::ALL));
    }

    #[test]
    fn set_operations() {
        let a = Scopes::of(&[Action::TicketRead, Action::TicketReply, Action::KeyLogs]);
        let b = Scopes::of(&[Action::TicketReply, Action::EventRead]);
        assert_eq!(
            a | b,
            Scopes::of(&[
                Action::TicketRead,
                Action::TicketReply,
                Action::KeyLogs,
                Action::EventRead
            ])
        );
        assert_eq!(a & b, Scopes::from(Action::TicketReply));
        assert_eq!(a - b, Scopes::of(&[Action::TicketRead, Action::KeyLogs]));
        assert_eq!(!Scopes::EMPTY, Scopes::ALL);
        assert_eq!((!a).len(), Action::ALL.len() - 3);
        assert!((a & b).is_subset(a));
        assert!(!a.is_subset(b));
        assert!(Scopes::EMPTY.is_empty());
        let mut c = a;
        c.remove(Action::TicketRead);
        c.insert(Action::AgentRead);
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            [Action::TicketReply, Action::AgentRead, Action::KeyLogs]
        );
        assert_eq!(c.iter().len(), 3);
        assert_eq!(
            format!("{c:?}"),
            r#"{"tickets.reply", "agents.read", "keys.logs"}"#
        );
    }
}
