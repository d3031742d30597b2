//! Conversions between domain values and SQL columns shared by several tables.

use helpdesk_domain::{
    Action, Actor, AgentId, Attribution, InstallId, KeyId, Network, RequesterId, Scopes, TokenId,
};
use rusqlite::Row;

/// The five attribution columns (`by_kind, by_id, by_key, by_token, by_install`) as SQL values.
pub(crate) fn attribution_params(
    by: &Attribution,
) -> (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
    let (kind, id) = match by.actor {
        Actor::System => (0, None),
        Actor::Agent(a) => (1, Some(a.get())),
        Actor::Requester(r) => (2, Some(r.get())),
    };
    (
        kind,
        id,
        by.key.map(KeyId::get),
        by.token.map(TokenId::get),
        by.install.map(InstallId::get),
    )
}

/// Reads the five attribution columns starting at column `start`.
pub(crate) fn read_attribution(row: &Row<'_>, start: usize) -> rusqlite::Result<Attribution> {
    let kind: i64 = row.get(start)?;
    let id: Option<i64> = row.get(start + 1)?;
    let actor = match (kind, id) {
        (1, Some(id)) => Actor::Agent(AgentId::new(id)),
        (2, Some(id)) => Actor::Requester(RequesterId::new(id)),
        _ => Actor::System,
    };
    Ok(Attribution {
        actor,
        key: row.get::<_, Option<i64>>(start + 2)?.map(KeyId::new),
        token: row.get::<_, Option<i64>>(start + 3)?.map(TokenId::new),
        install: row.get::<_, Option<i64>>(start + 4)?.map(InstallId::new),
    })
}

/// Serializes a value stored as JSON text. Our own types always serialize.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Deserializes a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    col: usize,
    text: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A stored enum code that this code does not know: the file is damaged or from the future.
pub(crate) fn bad_code(col: usize, what: &'static str, code: i64) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Integer,
        format!("unknown {what} code {code}").into(),
    )
}

/// Whether an error is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Reads a set of scope names separated by spaces; a name this version does not know means the
/// row is damaged, not that it grants nothing.
pub(crate) fn read_scopes(row: &Row<'_>, col: usize) -> rusqlite::Result<Scopes> {
    let text: String = row.get(col)?;
    Scopes::parse(text.split_whitespace()).map_err(|e| bad_text(col, e))
}

/// Scopes as stored: their names, in canonical order, separated by spaces.
pub(crate) fn scopes_text(scopes: Scopes) -> String {
    scope_names(scopes).join(" ")
}

/// Scope names in canonical order, as events and history carry them.
pub(crate) fn scope_names(scopes: Scopes) -> Vec<&'static str> {
    scopes.iter().map(Action::name).collect()
}

/// Reads CIDR networks separated by spaces; one that does not parse means the row is damaged.
pub(crate) fn read_networks(row: &Row<'_>, col: usize) -> rusqlite::Result<Vec<Network>> {
    let text: String = row.get(col)?;
    text.split_whitespace()
        .map(|n| n.parse().map_err(|e| bad_text(col, e)))
        .collect()
}

/// Networks as stored: CIDR texts separated by spaces.
pub(crate) fn networks_text(networks: &[Network]) -> String {
    networks
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A stored text that does not parse as what its column holds.
pub(crate) fn bad_text(
    col: usize,
    e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, e.into())
}
