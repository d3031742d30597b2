//! Event delivery state: the queue an install takes from the outbox, attempts, retries, dead
//! letters and replays.

use super::*;

impl Store {
    /// Puts `events` on an install's delivery queue, counts `missed` events that retention
    /// dropped before the install took them, and moves its outbox consumer to `ack_to`, in one
    /// transaction (a crash before it redelivers: at least once).
    pub fn enqueue_deliveries(
        &self,
        id: InstallId,
        events: &[Event],
        missed: u64,
        ack_to: u64,
        now: Timestamp,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            if missed > 0 {
                tx.prepare_cached(
                    "UPDATE plugin_installs SET missed_events = missed_events + ?2 WHERE id = ?1",
                )?
                .execute(params![id.get(), i64::try_from(missed).unwrap_or(i64::MAX)])?;
            }
            for event in events {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO plugin_deliveries (install_id, seq, ticket_key, event, next_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    id.get(),
                    i64::try_from(event.seq).unwrap_or(i64::MAX),
                    ticket_key(event),
                    to_json(event)?,
                    now.as_millis()
                ])?;
            }
            let queue = consumer_name(id);
            let ack_to = i64::try_from(ack_to).unwrap_or(i64::MAX);
            let cursor = cursor(tx, ConsumerOwner::Core, &queue)?
                .ok_or_else(|| not_found(Entity::Consumer, &queue))?;
            set_cursor(tx, ConsumerOwner::Core, &queue, cursor.max(ack_to))?;
            Ok(())
        })
    }

    /// The deliveries due at `now`: per ticket only the oldest queued event (so each ticket's
    /// events arrive in order), in sequence order, at most `limit`.
    pub fn due_deliveries(
        &self,
        id: InstallId,
        now: Timestamp,
        limit: usize,
    ) -> helpdesk_domain::Result<Vec<PendingDelivery>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT d.event, d.attempts, d.next_at, d.last_error FROM plugin_deliveries d
                 WHERE d.install_id = ?1 AND d.next_at <= ?2
                   AND d.seq = (SELECT min(seq) FROM plugin_deliveries o
                                WHERE o.install_id = d.install_id AND o.ticket_key = d.ticket_key)
                 ORDER BY d.seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![
                    id.get(),
                    now.as_millis(),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok(PendingDelivery {
                        event: from_json(0, &r.get::<_, String>(0)?)?,
                        attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                        next_at: Timestamp::from_millis(r.get(2)?),
                        last_error: r.get(3)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Every queued delivery of an install, in sequence order.
    pub fn queued_deliveries(
        &self,
        id: InstallId,
    ) -> helpdesk_domain::Result<Vec<PendingDelivery>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT event, attempts, next_at, last_error FROM plugin_deliveries
                 WHERE install_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id.get()], |r| {
                Ok(PendingDelivery {
                    event: from_json(0, &r.get::<_, String>(0)?)?,
                    attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                    next_at: Timestamp::from_millis(r.get(2)?),
                    last_error: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Records a successful delivery: off the queue, and the failure count back to zero.
    pub fn delivery_succeeded(&self, id: InstallId, seq: u64) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM plugin_deliveries WHERE install_id = ?1 AND seq = ?2")?
                .execute(params![id.get(), i64::try_from(seq).unwrap_or(i64::MAX)])?;
            tx.prepare_cached(
                "UPDATE plugin_installs SET consecutive_failures = 0 WHERE id = ?1 AND consecutive_failures <> 0",
            )?
            .execute([id.get()])?;
            Ok(())
        })
    }

    /// Records a failed attempt: either retried at `retry_at`, or (with `None`) moved to the
    /// dead letters. Returns the install's failures in a row, this one included.
    pub fn delivery_failed(
        &self,
        id: InstallId,
        seq: u64,
        now: Timestamp,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> helpdesk_domain::Result<u32> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.write(|tx| {
            match retry_at {
                Some(at) => {
                    tx.prepare_cached(
                        "UPDATE plugin_deliveries SET attempts = attempts + 1, next_at = ?3, last_error = ?4
                         WHERE install_id = ?1 AND seq = ?2",
                    )?
                    .execute(params![id.get(), seq, at.as_millis(), error])?;
                }
                None => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO plugin_dead_letters (install_id, seq, event, attempts, last_error, at)
                         SELECT install_id, seq, event, attempts + 1, ?3, ?4 FROM plugin_deliveries
                         WHERE install_id = ?1 AND seq = ?2",
                    )?
                    .execute(params![id.get(), seq, error, now.as_millis()])?;
                    tx.prepare_cached(
                        "DELETE FROM plugin_deliveries WHERE install_id = ?1 AND seq = ?2",
                    )?
                    .execute(params![id.get(), seq])?;
                }
            }
            tx.prepare_cached(
                "UPDATE plugin_installs SET consecutive_failures = consecutive_failures + 1 WHERE id = ?1",
            )?
            .execute([id.get()])?;
            let n: i64 = tx
                .prepare_cached("SELECT consecutive_failures FROM plugin_installs WHERE id = ?1")?
                .query_row([id.get()], |r| r.get(0))?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    /// The dead letters of an install, oldest first.
    pub fn dead_letters(&self, id: InstallId) -> helpdesk_domain::Result<Vec<DeadLetterRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT event, attempts, last_error, at FROM plugin_dead_letters
                 WHERE install_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id.get()], |r| {
                Ok(DeadLetterRecord {
                    event: from_json(0, &r.get::<_, String>(0)?)?,
                    attempts: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                    last_error: r.get(2)?,
                    at: Timestamp::from_millis(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Moves dead letters back onto the queue, due at `now` with no attempts counted; `seq`
    /// `None` moves them all. Returns how many.
    pub fn requeue_dead_letters(
        &self,
        id: InstallId,
        seq: Option<u64>,
        now: Timestamp,
    ) -> helpdesk_domain::Result<usize> {
        let seq = seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO plugin_deliveries (install_id, seq, ticket_key, event, next_at)
                     SELECT install_id, seq, coalesce(json_extract(event, '$.ticket'), 0), event, ?3
                     FROM plugin_dead_letters WHERE install_id = ?1 AND (?2 IS NULL OR seq = ?2)",
                )?
                .execute(params![id.get(), seq, now.as_millis()])?;
            tx.prepare_cached(
                "DELETE FROM plugin_dead_letters WHERE install_id = ?1 AND (?2 IS NULL OR seq = ?2)",
            )?
            .execute(params![id.get(), seq])?;
            Ok(n)
        })
    }

    /// Moves an install's outbox consumer back to `after` (clamped to the oldest retained
    /// event), so that the events after it are taken again. Returns the new cursor.
    pub fn rewind_install_consumer(
        &self,
        id: InstallId,
        after: u64,
    ) -> helpdesk_domain::Result<u64> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        self.write(|tx| {
            let oldest: Option<i64> =
                tx.query_row("SELECT min(seq) FROM outbox", [], |r| r.get(0))?;
            let floor = oldest.map_or(after, |o| o - 1);
            let queue = consumer_name(id);
            let current = cursor(tx, ConsumerOwner::Core, &queue)?
                .ok_or_else(|| not_found(Entity::Consumer, &queue))?;
            let cursor = after.max(floor).min(current);
            set_cursor(tx, ConsumerOwner::Core, &queue, cursor)?;
            Ok(u64::try_from(cursor).unwrap_or(0))
        })
    }
}
