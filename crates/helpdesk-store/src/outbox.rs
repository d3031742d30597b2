//! The durable outbox: events appended in the writer's transaction, read by named consumers that
//! each keep their own cursor.

use helpdesk_domain::{
    AgentId, Attribution, ConsumerInfo, DepartmentId, Event, EventBatch, EventKind, StartFrom,
    TicketId, Timestamp, ValidationError,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::Store;
use helpdesk_domain::Error;

use crate::error::{Entity, Result, not_found};
use crate::row::{attribution_params, from_json, read_attribution, to_json};

/// Events are pruned to the retention limit every this many appends.
const PRUNE_EVERY: i64 = 256;

/// What an event carries besides its kind.
pub(crate) struct NewEvent {
    pub(crate) kind: EventKind,
    pub(crate) ticket: Option<TicketId>,
    pub(crate) department: Option<DepartmentId>,
    pub(crate) data: serde_json::Value,
}

/// Appends an event inside the caller's transaction and returns its sequence number.
pub(crate) fn append(
    conn: &Connection,
    at: Timestamp,
    by: &Attribution,
    event: &NewEvent,
    retention: u64,
) -> Result<u64> {
    let (bk, bi, bkey, btok, binst) = attribution_params(by);
    conn.prepare_cached(
        "INSERT INTO outbox (kind, at, by_kind, by_id, by_key, by_token, by_install, ticket_id, department_id, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        event.kind.as_str(),
        at.as_millis(),
        bk,
        bi,
        bkey,
        btok,
        binst,
        event.ticket.map(TicketId::get),
        event.department.map(DepartmentId::get),
        to_json(&event.data)?,
    ])?;
    let seq = conn.last_insert_rowid();
    if seq % PRUNE_EVERY == 0 {
        let keep = i64::try_from(retention).unwrap_or(i64::MAX);
        conn.prepare_cached("DELETE FROM outbox WHERE seq <= ?1")?
            .execute([seq.saturating_sub(keep)])?;
    }
    Ok(u64::try_from(seq).unwrap_or(0))
}

/// A consumer name is 1 to 64 of `a-z`, `A-Z`, `0-9`, `-`, `_`, `.`, `:`; any other is refused
/// as invalid input, whichever call names it.
fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Malformed {
            field: "consumer",
            reason: format!("`{name}` must be 1 to 64 of `a-z`, `A-Z`, `0-9`, `-`, `_`, `.`, `:`"),
        }
        .into())
    }
}

fn head(conn: &Connection) -> rusqlite::Result<i64> {
    // sqlite_sequence keeps the last sequence number even when the outbox has been pruned empty.
    conn.query_row(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
        [],
        |r| r.get(0),
    )
}

fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let kind: String = r.get(1)?;
    let kind = EventKind::from_name(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown event kind `{kind}`").into(),
        )
    })?;
    Ok(Event {
        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        kind,
        at: Timestamp::from_millis(r.get(2)?),
        by: read_attribution(r, 3)?,
        ticket: r.get::<_, Option<i64>>(8)?.map(TicketId::new),
        department: r.get::<_, Option<i64>>(9)?.map(DepartmentId::new),
        data: from_json(10, &r.get::<_, String>(10)?)?,
    })
}

const EVENT_COLUMNS: &str =
    "seq, kind, at, by_kind, by_id, by_key, by_token, by_install, ticket_id, department_id, data";

/// Who an outbox consumer belongs to. Each owner has its own names: a consumer is reached only
/// by its owner, and the core's own queues (those of plugin installs) by the core alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsumerOwner {
    /// The core itself: the queues feeding plugin installs.
    Core,
    /// The embedding application's system principal.
    System,
    /// An agent (whichever key or token it acts through).
    Agent(AgentId),
}

impl ConsumerOwner {
    fn columns(self) -> (i64, i64) {
        match self {
            Self::Core => (0, 0),
            Self::System => (1, 0),
            Self::Agent(id) => (2, id.get()),
        }
    }
}

/// The cursor of `owner`'s consumer `name`, if it exists.
pub(crate) fn cursor(conn: &Connection, owner: ConsumerOwner, name: &str) -> Result<Option<i64>> {
    let (kind, id) = owner.columns();
    Ok(conn
        .prepare_cached(
            "SELECT cursor FROM outbox_consumers WHERE owner_kind = ?1 AND owner_id = ?2 AND name = ?3",
        )?
        .query_row(params![kind, id, name], |r| r.get(0))
        .optional()?)
}

fn existing_cursor(conn: &Connection, owner: ConsumerOwner, name: &str) -> Result<i64> {
    cursor(conn, owner, name)?.ok_or_else(|| not_found(Entity::Consumer, name))
}

/// Moves `owner`'s consumer `name` to `cursor`.
pub(crate) fn set_cursor(
    conn: &Connection,
    owner: ConsumerOwner,
    name: &str,
    cursor: i64,
) -> Result<()> {
    let (kind, id) = owner.columns();
    conn.prepare_cached(
        "UPDATE outbox_consumers SET cursor = ?4 WHERE owner_kind = ?1 AND owner_id = ?2 AND name = ?3",
    )?
    .execute(params![kind, id, name, cursor])?;
    Ok(())
}

/// Creates `owner`'s consumer `name` at `cursor`.
pub(crate) fn insert_consumer(
    conn: &Connection,
    owner: ConsumerOwner,
    name: &str,
    cursor: i64,
    at: Timestamp,
) -> Result<()> {
    let (kind, id) = owner.columns();
    conn.prepare_cached(
        "INSERT INTO outbox_consumers (owner_kind, owner_id, name, cursor, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![kind, id, name, cursor, at.as_millis()])?;
    Ok(())
}

/// Deletes `owner`'s consumer `name`; whether it existed.
pub(crate) fn delete_consumer(conn: &Connection, owner: ConsumerOwner, name: &str) -> Result<bool> {
    let (kind, id) = owner.columns();
    Ok(conn
        .prepare_cached(
            "DELETE FROM outbox_consumers WHERE owner_kind = ?1 AND owner_id = ?2 AND name = ?3",
        )?
        .execute(params![kind, id, name])?
        > 0)
}

impl Store {
    /// Registers `owner`'s consumer `name`, or returns the existing one's cursor unchanged
    /// (idempotent).
    pub fn register_consumer(
        &self,
        owner: ConsumerOwner,
        name: &str,
        at: Timestamp,
        start: StartFrom,
    ) -> helpdesk_domain::Result<u64> {
        check_name(name)?;
        self.write(|tx| {
            if let Some(cursor) = cursor(tx, owner, name)? {
                return Ok(u64::try_from(cursor).unwrap_or(0));
            }
            let head = head(tx)?;
            let cursor = match start {
                StartFrom::Oldest => {
                    let oldest: Option<i64> =
                        tx.query_row("SELECT min(seq) FROM outbox", [], |r| r.get(0))?;
                    oldest.map_or(head, |s| s - 1)
                }
                StartFrom::Now => head,
                StartFrom::After(seq) => i64::try_from(seq).unwrap_or(i64::MAX).min(head),
            };
            insert_consumer(tx, owner, name, cursor, at)?;
            Ok(u64::try_from(cursor).unwrap_or(0))
        })
    }

    /// Removes `owner`'s consumer `name`; events only it was holding back become eligible for
    /// pruning.
    pub fn remove_consumer(&self, owner: ConsumerOwner, name: &str) -> helpdesk_domain::Result<()> {
        check_name(name)?;
        self.write(|tx| {
            if !delete_consumer(tx, owner, name)? {
                return Err(not_found(Entity::Consumer, name));
            }
            prune_acknowledged(tx)
        })
    }

    /// The next events after the cursor of `owner`'s consumer `name`, at most `limit`. Reading
    /// does not move the cursor; [`Store::ack_events`] does, so a crash between the two
    /// redelivers (at least once).
    pub fn read_events(
        &self,
        owner: ConsumerOwner,
        name: &str,
        limit: usize,
    ) -> helpdesk_domain::Result<EventBatch> {
        check_name(name)?;
        self.read(|tx| {
            let cursor = existing_cursor(tx, owner, name)?;
            let limit = i64::try_from(limit.min(10_000)).unwrap_or(10_000);
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?;
            let events = stmt
                .query_map(params![cursor, limit], read_event)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let first_available = match events.first() {
                Some(e) => i64::try_from(e.seq).unwrap_or(i64::MAX),
                None => head(tx)? + 1,
            };
            let missed = (first_available > cursor + 1).then(|| {
                (
                    u64::try_from(cursor + 1).unwrap_or(0),
                    u64::try_from(first_available - 1).unwrap_or(0),
                )
            });
            Ok(EventBatch { events, missed })
        })
    }

    /// Moves the cursor of `owner`'s consumer `name` to `seq` (everything up to it is handled)
    /// and prunes events every consumer has acknowledged. Acknowledging backwards or past the
    /// newest event is refused.
    pub fn ack_events(
        &self,
        owner: ConsumerOwner,
        name: &str,
        seq: u64,
    ) -> helpdesk_domain::Result<()> {
        check_name(name)?;
        self.write(|tx| {
            let cursor = existing_cursor(tx, owner, name)?;
            let seq = i64::try_from(seq).unwrap_or(i64::MAX);
            let head = head(tx)?;
            if seq < cursor || seq > head {
                return Err(Error::Outbox(format!(
                    "cannot acknowledge {seq} for `{name}`: its cursor is at {cursor} and the newest event is {head}"
                ))
                .into());
            }
            set_cursor(tx, owner, name, seq)?;
            prune_acknowledged(tx)
        })
    }

    /// `owner`'s consumers with their cursors and lag, by name.
    pub fn consumers(&self, owner: ConsumerOwner) -> helpdesk_domain::Result<Vec<ConsumerInfo>> {
        let (kind, id) = owner.columns();
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT name, cursor, (SELECT count(*) FROM outbox o WHERE o.seq > c.cursor)
                 FROM outbox_consumers c WHERE owner_kind = ?1 AND owner_id = ?2 ORDER BY name",
            )?;
            let rows = stmt.query_map(params![kind, id], |r| {
                Ok(ConsumerInfo {
                    name: r.get(0)?,
                    cursor: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    lag: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Events after `after`, at most `limit`, regardless of consumers (for replay and inspection).
    pub fn events_after(&self, after: u64, limit: usize) -> helpdesk_domain::Result<Vec<Event>> {
        self.read(|tx| {
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            let limit = i64::try_from(limit.min(10_000)).unwrap_or(10_000);
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?;
            Ok(stmt
                .query_map(params![after, limit], read_event)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// Deletes events that every consumer has acknowledged. With no consumer, events stay until the
/// retention limit drops them, so a consumer registered later can still start from the oldest.
pub(crate) fn prune_acknowledged(conn: &Connection) -> Result<()> {
    let slowest: Option<i64> =
        conn.query_row("SELECT min(cursor) FROM outbox_consumers", [], |r| r.get(0))?;
    if let Some(slowest) = slowest {
        conn.prepare_cached("DELETE FROM outbox WHERE seq <= ?1")?
            .execute([slowest])?;
    }
    Ok(())
}
