//! Ticket search: full text (FTS5) combined with filters and the caller's reach, in one query,
//! with a stable sort and cursor pagination.

use helpdesk_domain::{
    AgentId, Cursor, DepartmentId, OrganizationId, RequesterId, SearchPage, SearchQuery, SortBy,
    SortOrder, ValidationError, check_search_text, validate_tag,
};
use rusqlite::types::Value;

use crate::Store;
use crate::error::Result;
use crate::tickets::{complete_tickets, read_ticket_row};

/// Which tickets a search may return at all: the searching principal's reach, pushed into the
/// query so that pages are never filtered after the fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchScope {
    /// Every ticket; internal notes are searched too.
    All,
    /// Tickets in these departments (and, if set, only those assigned to this agent); internal
    /// notes are searched too.
    Departments {
        /// The departments.
        departments: Vec<DepartmentId>,
        /// Restrict to tickets assigned to this agent.
        assigned_to: Option<AgentId>,
    },
    /// A requester's own tickets (and their organisation's, if given); public messages only.
    Requester {
        /// The requester.
        requester: RequesterId,
        /// Their organisation, when it shares tickets.
        organization: Option<OrganizationId>,
    },
    /// Nothing.
    Nothing,
}

/// Turns free text into an FTS5 query that cannot be a syntax error: each word becomes a quoted
/// phrase (a trailing `*` keeps prefix matching), and all must match. White space and control
/// characters separate words (FTS5 would read a NUL inside a phrase as its end), so whatever
/// the text, the query is well-formed.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let mut out = String::new();
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        let (word, prefix) = match word.strip_suffix('*') {
            Some(w) => (w, true),
            None => (word, false),
        };
        if !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        out.push_str(&word.replace('"', "\"\""));
        out.push('"');
        if prefix {
            out.push('*');
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The most different values one list filter (departments, tags) may name: each is a parameter
/// of the query, and each tag one more condition in it.
const MAX_FILTER_VALUES: usize = 500;

/// The values without repeats, in order.
fn distinct(values: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut values: Vec<i64> = values.into_iter().collect();
    values.sort_unstable();
    values.dedup();
    values
}

fn at_most(what: &'static str, count: usize, max: usize) -> Result<()> {
    if count > max {
        return Err(ValidationError::TooMany { what, count, max }.into());
    }
    Ok(())
}

fn in_list(
    sql: &mut String,
    params: &mut Vec<Value>,
    column: &str,
    values: impl IntoIterator<Item = i64>,
) {
    let start = params.len();
    params.extend(values.into_iter().map(Value::Integer));
    let marks = (start..params.len())
        .map(|i| format!("?{}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    sql.push_str(&format!(" AND {column} IN ({marks})"));
}

fn push_param(params: &mut Vec<Value>, value: Value) -> String {
    params.push(value);
    format!("?{}", params.len())
}

impl Store {
    /// Runs a search within `scope`. Results reflect every committed write.
    pub fn search(
        &self,
        query: &SearchQuery,
        scope: &SearchScope,
    ) -> helpdesk_domain::Result<SearchPage> {
        let limits = &self.limits;
        let limit = query.limit.unwrap_or(50);
        if limit == 0 || limit > limits.max_page_size {
            return Err(ValidationError::Malformed {
                field: "limit",
                reason: format!("must be between 1 and {}", limits.max_page_size),
            }
            .into());
        }
        if let Some(cursor) = &query.cursor
            && cursor.sort() != query.sort
        {
            return Err(ValidationError::Malformed {
                field: "cursor",
                reason: "it belongs to a search with another sort".into(),
            }
            .into());
        }
        // Every input is checked before the caller's reach is looked at, so that a query of the
        // wrong shape is refused whoever makes it, even one who can see nothing.
        if let Some(text) = &query.text {
            check_search_text(text, limits)?;
        }
        let statuses = distinct(query.statuses.iter().map(|s| s.code()));
        let priorities = distinct(query.priorities.iter().map(|p| p.code()));
        let departments = distinct(query.departments.iter().map(|d| d.get()));
        at_most("departments", departments.len(), MAX_FILTER_VALUES)?;
        let mut tags = query
            .tags
            .iter()
            .map(|tag| validate_tag(tag, limits))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        at_most("tags", tags.len(), limits.max_tags.min(MAX_FILTER_VALUES))?;

        let mut sql = String::from(
            "SELECT t.id, t.subject, t.status, t.priority, t.department_id, t.assignee_id, t.requester_id, t.organization_id, t.created_at, t.updated_at, t.version FROM tickets t WHERE 1",
        );
        let mut params: Vec<Value> = Vec::new();
        let public_only = match scope {
            SearchScope::Nothing => {
                return Ok(SearchPage {
                    tickets: Vec::new(),
                    next: None,
                });
            }
            SearchScope::All => false,
            SearchScope::Departments {
                departments,
                assigned_to,
            } => {
                in_list(
                    &mut sql,
                    &mut params,
                    "t.department_id",
                    departments.iter().map(|d| d.get()),
                );
                if let Some(agent) = assigned_to {
                    let p = push_param(&mut params, Value::Integer(agent.get()));
                    sql.push_str(&format!(" AND t.assignee_id = {p}"));
                }
                false
            }
            SearchScope::Requester {
                requester,
                organization,
            } => {
                let p = push_param(&mut params, Value::Integer(requester.get()));
                match organization {
                    Some(org) => {
                        let o = push_param(&mut params, Value::Integer(org.get()));
                        sql.push_str(&format!(
                            " AND (t.requester_id = {p} OR t.organization_id = {o})"
                        ));
                    }
                    None => sql.push_str(&format!(" AND t.requester_id = {p}")),
                }
                true
            }
        };
        if let Some(fts) = query.text.as_deref().and_then(fts_query) {
            let p = push_param(&mut params, Value::Text(fts));
            let public = if public_only { " AND public = 1" } else { "" };
            // Drive the query from the full-text matches: a term usually matches a small
            // fraction of tickets, and walking an index in sort order until a page of them
            // turns up would touch most of the table when the reach or filters are narrow.
            // CROSS JOIN pins the matches as the outer loop; the page is sorted afterwards.
            sql = sql.replacen(
                "FROM tickets t WHERE 1",
                &format!(
                    "FROM (SELECT DISTINCT ticket_id AS id FROM search_index WHERE search_index MATCH {p}{public}) m \
                     CROSS JOIN tickets t ON t.id = m.id WHERE 1"
                ),
                1,
            );
        }
        if !statuses.is_empty() {
            in_list(&mut sql, &mut params, "t.status", statuses);
        }
        if !priorities.is_empty() {
            in_list(&mut sql, &mut params, "t.priority", priorities);
        }
        if !departments.is_empty() {
            in_list(&mut sql, &mut params, "t.department_id", departments);
        }
        match query.assignee {
            Some(None) => sql.push_str(" AND t.assignee_id IS NULL"),
            Some(Some(agent)) => {
                let p = push_param(&mut params, Value::Integer(agent.get()));
                sql.push_str(&format!(" AND t.assignee_id = {p}"));
            }
            None => {}
        }
        if let Some(requester) = query.requester {
            let p = push_param(&mut params, Value::Integer(requester.get()));
            sql.push_str(&format!(" AND t.requester_id = {p}"));
        }
        for tag in tags {
            let p = push_param(&mut params, Value::Text(tag));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = {p})"
            ));
        }
        for (column, bound, op) in [
            ("t.created_at", query.created_from, ">="),
            ("t.created_at", query.created_until, "<"),
            ("t.updated_at", query.updated_from, ">="),
            ("t.updated_at", query.updated_until, "<"),
        ] {
            if let Some(at) = bound {
                let p = push_param(&mut params, Value::Integer(at.as_millis()));
                sql.push_str(&format!(" AND {column} {op} {p}"));
            }
        }
        let key_column = match query.sort {
            SortBy::UpdatedAt => "t.updated_at",
            SortBy::CreatedAt => "t.created_at",
        };
        let (cmp, dir) = match query.order {
            SortOrder::Descending => ("<", "DESC"),
            SortOrder::Ascending => (">", "ASC"),
        };
        if let Some(cursor) = &query.cursor {
            let k = push_param(&mut params, Value::Integer(cursor.key()));
            let i = push_param(&mut params, Value::Integer(cursor.id()));
            sql.push_str(&format!(" AND ({key_column}, t.id) {cmp} ({k}, {i})"));
        }
        let l = push_param(
            &mut params,
            Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)),
        );
        sql.push_str(&format!(
            " ORDER BY {key_column} {dir}, t.id {dir} LIMIT {l}"
        ));

        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut tickets = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), read_ticket_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let more = tickets.len() > limit;
            tickets.truncate(limit);
            complete_tickets(tx, &mut tickets)?;
            let next = match tickets.last() {
                Some(last) if more => {
                    let key = match query.sort {
                        SortBy::UpdatedAt => last.updated_at.as_millis(),
                        SortBy::CreatedAt => last.created_at.as_millis(),
                    };
                    Some(Cursor::at(query.sort, key, last.id.get()))
                }
                _ => None,
            };
            Ok(SearchPage { tickets, next })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_becomes_safe_fts() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(fts_query(input).as_deref(), expected, "{input}")
        };
        check("printer", Some("\"printer\""));
        check("printer fire", Some("\"printer\" \"fire\""));
        check("print*", Some("\"print\"*"));
        check(
            "\"quoted\" OR NEAR(",
            Some("\"\"\"quoted\"\"\" \"OR\" \"NEAR(\""),
        );
        check("  ", None);
        check("!!! *", None);
        check("zbob\0subj", Some("\"zbob\" \"subj\""));
        check("a\u{1b}[31m*", Some("\"a\" \"[31m\"*"));
    }
}
