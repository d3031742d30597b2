//! Writing and reading the audit history.

use helpdesk_domain::{
    Attribution, Change, HistoryEntry, HistoryField, HistoryId, HistorySubject, HistoryValue,
    Timestamp,
};
use rusqlite::{Connection, params};

use crate::Store;
use crate::error::Result;
use crate::row::{attribution_params, from_json, read_attribution, to_json};

fn subject_key(subject: HistorySubject) -> (&'static str, i64) {
    match subject {
        HistorySubject::Ticket(id) => ("ticket", id.get()),
        HistorySubject::Agent(id) => ("agent", id.get()),
        HistorySubject::Department(id) => ("department", id.get()),
        HistorySubject::Requester(id) => ("requester", id.get()),
        HistorySubject::Organization(id) => ("organization", id.get()),
        HistorySubject::Field(id) => ("field", id.get()),
        HistorySubject::Role(id) => ("role", id.get()),
        HistorySubject::Key(id) => ("key", id.get()),
    }
}

/// Appends one history entry inside the caller's transaction.
pub(crate) fn record(
    conn: &Connection,
    at: Timestamp,
    by: &Attribution,
    subject: HistorySubject,
    change: &Change,
) -> Result<()> {
    let (kind, id) = subject_key(subject);
    let (bk, bi, bkey, btok, binst) = attribution_params(by);
    conn.prepare_cached(
        "INSERT INTO history (at, subject_kind, subject_id, by_kind, by_id, by_key, by_token, by_install, change)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![at.as_millis(), kind, id, bk, bi, bkey, btok, binst, to_json(change)?])?;
    Ok(())
}

/// Appends one `Change::Set` entry per `(field, old, new)` inside the caller's transaction, and
/// returns the fields as an update event lists them (`[{"field": "name"}, …]`).
pub(crate) fn record_sets(
    conn: &Connection,
    at: Timestamp,
    by: &Attribution,
    subject: HistorySubject,
    changes: Vec<(HistoryField, HistoryValue, HistoryValue)>,
) -> Result<Vec<serde_json::Value>> {
    let mut fields = Vec::with_capacity(changes.len());
    for (field, old, new) in changes {
        fields.push(serde_json::to_value(&field).unwrap_or_default());
        record(conn, at, by, subject, &Change::Set { field, old, new })?;
    }
    Ok(fields)
}

impl Store {
    /// The history of one subject, oldest first.
    pub fn history(&self, subject: HistorySubject) -> helpdesk_domain::Result<Vec<HistoryEntry>> {
        let (kind, id) = subject_key(subject);
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, at, by_kind, by_id, by_key, by_token, by_install, change
                 FROM history WHERE subject_kind = ?1 AND subject_id = ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![kind, id], |r| {
                Ok(HistoryEntry {
                    id: HistoryId::new(r.get(0)?),
                    at: Timestamp::from_millis(r.get(1)?),
                    by: read_attribution(r, 2)?,
                    subject,
                    change: from_json(7, &r.get::<_, String>(7)?)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
