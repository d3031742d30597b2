//! The per-key request log: the last [`LOG_LEN`] requests of each key, kept in a ring in memory
//! (one lock per key, no allocation per request) and written to the database in batches.
//!
//! Durability trade: entries reach the database when a key is administered, when a log is read,
//! on [`Helpdesk::flush_key_logs`](crate::Helpdesk::flush_key_logs) and when the helpdesk closes.
//! A crash loses the entries since the last flush. The log is a diagnostic aid; the audit trail
//! of changes is the history, which records the key and token of every change transactionally.

use std::collections::VecDeque;
use std::net::IpAddr;

use helpdesk_domain::{ActAs, KeyId, Timestamp, TokenId};
use helpdesk_store::KeyLogRecord;

use super::{KeyRequest, RequestOutcome};

/// How many requests of each key are kept.
pub(crate) const LOG_LEN: usize = 50;

/// The longest operation name kept, in bytes.
const LABEL_MAX: usize = 63;

/// An operation name: the default, or a short name stored inline so that logging a request never
/// allocates.
#[derive(Clone, Copy)]
pub(crate) enum Label {
    /// `request`.
    Default,
    /// A name the application gave.
    Inline { len: u8, bytes: [u8; LABEL_MAX] },
}

impl Label {
    /// `text` cut to at most 63 bytes at a character boundary.
    pub(crate) fn new(text: &str) -> Self {
        let mut end = text.len().min(LABEL_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; LABEL_MAX];
        let kept = text.as_bytes().get(..end).unwrap_or_default();
        if let Some(target) = bytes.get_mut(..kept.len()) {
            target.copy_from_slice(kept);
        }
        Self::Inline {
            len: u8::try_from(kept.len()).unwrap_or(0),
            bytes,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Default => "request",
            Self::Inline { len, bytes } => {
                let kept = bytes.get(..usize::from(*len)).unwrap_or_default();
                // Cut at a character boundary of a `str`, so always valid UTF-8.
                std::str::from_utf8(kept).unwrap_or_default()
            }
        }
    }
}

/// What a request left in its key's log.
#[derive(Clone, Copy)]
pub(crate) struct LogEntry {
    pub(crate) at: Timestamp,
    pub(crate) operation: Label,
    pub(crate) actor: Option<ActAs>,
    pub(crate) token: Option<TokenId>,
    pub(crate) outcome: RequestOutcome,
    pub(crate) source_ip: Option<IpAddr>,
}

/// The last requests of one key, numbered, with how far they have reached the database.
#[derive(Default)]
pub(crate) struct RequestRing {
    entries: VecDeque<(u64, LogEntry)>,
    /// The number of the last request appended.
    last: u64,
    /// Requests up to this number are in the database.
    flushed: u64,
}

impl RequestRing {
    /// A ring whose database copy ends at request `stored`.
    pub(crate) fn after(stored: u64) -> Self {
        Self {
            entries: VecDeque::new(),
            last: stored,
            flushed: stored,
        }
    }

    /// Appends a request, dropping the oldest once [`LOG_LEN`] are kept. Allocates only the
    /// first time.
    pub(crate) fn push(&mut self, entry: LogEntry) {
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(LOG_LEN);
        }
        if self.entries.len() >= LOG_LEN {
            self.entries.pop_front();
        }
        self.last += 1;
        self.entries.push_back((self.last, entry));
    }

    /// The entries not yet in the database, as store records of `key`, and the number of the
    /// newest.
    pub(crate) fn unflushed(&self, key: KeyId) -> (Vec<KeyLogRecord>, u64) {
        let records = self
            .entries
            .iter()
            .filter(|(seq, _)| *seq > self.flushed)
            .map(|(seq, entry)| KeyLogRecord {
                key,
                seq: *seq,
                at: entry.at,
                operation: entry.operation.as_str().to_owned(),
                actor: entry.actor,
                token: entry.token,
                outcome: entry.outcome.as_str().to_owned(),
                source_ip: entry.source_ip.map(|ip| ip.to_string()),
            })
            .collect();
        (records, self.last)
    }

    /// Records that requests up to `seq` are in the database.
    pub(crate) fn mark_flushed(&mut self, seq: u64) {
        self.flushed = self.flushed.max(seq);
    }
}

/// A stored log entry as the public type. Unknown outcome names (from a newer version) read
/// as [`RequestOutcome::Failed`].
pub(crate) fn to_request(record: KeyLogRecord) -> KeyRequest {
    KeyRequest {
        at: record.at,
        operation: record.operation,
        actor: record.actor,
        token: record.token,
        outcome: RequestOutcome::from_name(&record.outcome).unwrap_or(RequestOutcome::Failed),
        source_ip: record.source_ip.and_then(|ip| ip.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: i64) -> LogEntry {
        LogEntry {
            at: Timestamp::from_millis(ms),
            operation: Label::Default,
            actor: None,
            token: None,
            outcome: RequestOutcome::Accepted,
            source_ip: None,
        }
    }

    #[test]
    fn labels_are_cut_at_character_boundaries() {
        assert_eq!(Label::Default.as_str(), "request");
        assert_eq!(Label::new("GET /tickets").as_str(), "GET /tickets");
        assert_eq!(Label::new("").as_str(), "");
        let long = "é".repeat(40);
        let cut = Label::new(&long);
        assert_eq!(cut.as_str(), "é".repeat(31));
        assert_eq!(Label::new(&"x".repeat(100)).as_str().len(), LABEL_MAX);
    }

    #[test]
    fn ring_keeps_the_last_entries_and_what_is_unflushed() {
        let mut ring = RequestRing::after(7);
        for i in 0..120 {
            ring.push(entry(i));
        }
        assert_eq!(ring.entries.len(), LOG_LEN);
        assert_eq!(
            ring.entries.capacity(),
            LOG_LEN,
            "no growth after the first push"
        );
        let (records, last) = ring.unflushed(KeyId::new(1));
        assert_eq!(last, 127);
        assert_eq!(records.len(), LOG_LEN);
        assert_eq!(records.first().map(|r| r.seq), Some(78));
        ring.mark_flushed(last);
        ring.push(entry(500));
        let (records, last) = ring.unflushed(KeyId::new(1));
        assert_eq!((records.len(), last), (1, 128));
        assert_eq!(
            to_request(records[0].clone()).at,
            Timestamp::from_millis(500)
        );
    }
}
