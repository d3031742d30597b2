//! Searches and pages of tickets: the query, its order, the cursor and a page of results.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{AgentId, DepartmentId, RequesterId};
use crate::ticket::{Priority, Status, Ticket};
use crate::time::Timestamp;

/// Which timestamp orders the results (ties broken by ticket id, so the order is total).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Last change.
    #[default]
    UpdatedAt,
    /// Creation.
    CreatedAt,
}

/// Direction of the sort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Newest first.
    #[default]
    Descending,
    /// Oldest first.
    Ascending,
}

/// A search: free text plus filters. Empty filters match everything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Words that must all appear in the subject or a message (a trailing `*` matches a prefix);
    /// at most `Limits::max_query_chars` characters, no control characters but line breaks and
    /// tabs.
    pub text: Option<String>,
    /// Any of these statuses.
    pub statuses: Vec<Status>,
    /// Any of these priorities.
    pub priorities: Vec<Priority>,
    /// Any of these departments (at most 500 different ones).
    pub departments: Vec<DepartmentId>,
    /// `Some(None)`: unassigned tickets; `Some(Some(a))`: assigned to `a`.
    pub assignee: Option<Option<AgentId>>,
    /// Opened by this requester.
    pub requester: Option<RequesterId>,
    /// Carrying all of these tags (at most `Limits::max_tags` different ones, as a ticket
    /// carries no more, and at most 500).
    pub tags: Vec<String>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_until: Option<Timestamp>,
    /// Updated at or after.
    pub updated_from: Option<Timestamp>,
    /// Updated before.
    pub updated_until: Option<Timestamp>,
    /// The order.
    pub sort: SortBy,
    /// The direction.
    pub order: SortOrder,
    /// Page size (default 50).
    pub limit: Option<usize>,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

/// Where a page ended: an opaque token to pass back for the next page.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor {
    sort: SortBy,
    key: i64,
    id: i64,
}

impl Cursor {
    /// The cursor after a ticket whose sort key (`sort`'s timestamp, in milliseconds) is `key`
    /// and whose id is `id`.
    pub const fn at(sort: SortBy, key: i64, id: i64) -> Self {
        Self { sort, key, id }
    }

    /// The order the page was in.
    pub const fn sort(&self) -> SortBy {
        self.sort
    }

    /// The sort key of the last ticket of the page.
    pub const fn key(&self) -> i64 {
        self.key
    }

    /// The id of the last ticket of the page.
    pub const fn id(&self) -> i64 {
        self.id
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.sort {
            SortBy::UpdatedAt => 'u',
            SortBy::CreatedAt => 'c',
        };
        write!(f, "{tag}{}.{}", self.key, self.id)
    }
}

impl FromStr for Cursor {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValidationError::Malformed {
            field: "cursor",
            reason: format!("`{s}` is not a cursor from a previous page"),
        };
        let sort = match s.chars().next() {
            Some('u') => SortBy::UpdatedAt,
            Some('c') => SortBy::CreatedAt,
            _ => return Err(bad()),
        };
        let (key, id) = s
            .get(1..)
            .and_then(|rest| rest.split_once('.'))
            .ok_or_else(bad)?;
        Ok(Cursor {
            sort,
            key: key.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl TryFrom<String> for Cursor {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Cursor> for String {
    fn from(c: Cursor) -> String {
        c.to_string()
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    /// The tickets, in order.
    pub tickets: Vec<Ticket>,
    /// The cursor for the next page, if there is one.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            sort: SortBy::CreatedAt,
            key: -5,
            id: 42,
        };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        for bad in ["", "x1.2", "u1", "u.2", "ua.b", "u1.2.3"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }
}
