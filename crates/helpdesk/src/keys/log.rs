//! The per-key request log: the last [`LOG_LEN`] requests of each key, kept in memory and
//! written to the database in batches.
//!
//! Logging a request must cost next to nothing on the hot path, and two threads must never write
//! to the same memory for it, not even when they use the same key. So every thread that uses a
//! key writes into a [`Ring`] of its own for that key (held as an [`OwnedRing`] in the thread's
//! [`Local`](crate::local::Local) copy of the tables): a single writer, a sequence lock per slot,
//! and no lock, read-modify-write or allocation per request. A ring a thread lets go (it exited,
//! or dropped its copy) goes to the next thread that needs one for the key, so a key never has
//! more rings than threads holding one. The key's [`KeyLog`] lists them all; the flush reads
//! them, merges them by time, keeps the newest [`LOG_LEN`] and numbers them after the key's last
//! stored request.
//!
//! Durability trade: entries reach the database when a key is administered, when a log is read,
//! on [`SystemHandle::flush_key_logs`](crate::SystemHandle::flush_key_logs) and when the helpdesk closes.
//! A crash loses the entries since the last flush. The log is a diagnostic aid; the audit trail
//! of changes is the history, which records the key and token of every change transactionally.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

use helpdesk_domain::{ActAs, AgentId, KeyId, RequesterId, Timestamp, TokenId};
use helpdesk_store::KeyLogRecord;
use parking_lot::Mutex;

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

/// Words of a slot: time, a word of small fields, actor id, token id, two of address, and the
/// label's 63 bytes with its length in eight.
const WORDS: usize = 6 + LABEL_WORDS;
const LABEL_WORDS: usize = (LABEL_MAX + 1) / 8;
/// The label length that stands for [`Label::Default`].
const DEFAULT_LABEL: u64 = 0xFF;

impl LogEntry {
    /// The entry as slot words; the label's words are only meaningful for inline labels.
    fn encode(&self) -> ([u64; 6], Option<[u64; LABEL_WORDS]>) {
        let (actor_kind, actor_id) = match self.actor {
            None => (0, 0),
            Some(ActAs::Agent(id)) => (1, id.get()),
            Some(ActAs::Requester(id)) => (2, id.get()),
        };
        let (ip_kind, ip) = match self.source_ip {
            None => (0, 0),
            Some(IpAddr::V4(ip)) => (1, u128::from(ip.to_bits())),
            Some(IpAddr::V6(ip)) => (2, ip.to_bits()),
        };
        let (label_len, label) = match &self.operation {
            Label::Default => (DEFAULT_LABEL, None),
            Label::Inline { len, bytes } => {
                let mut words = [0u64; LABEL_WORDS];
                for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
                    let mut padded = [0u8; 8];
                    if let Some(target) = padded.get_mut(..chunk.len()) {
                        target.copy_from_slice(chunk);
                    }
                    *word = u64::from_le_bytes(padded);
                }
                (u64::from(*len), Some(words))
            }
        };
        let meta = (self.outcome.index() as u64)
            | actor_kind << 8
            | ip_kind << 10
            | u64::from(self.token.is_some()) << 12
            | label_len << 16;
        let head = [
            self.at.as_millis().cast_unsigned(),
            meta,
            actor_id.cast_unsigned(),
            self.token.map_or(0, |t| t.get().cast_unsigned()),
            (ip >> 64) as u64,
            ip as u64,
        ];
        (head, label)
    }

    /// The entry of slot words; `None` for words no version of [`encode`](Self::encode) writes.
    fn decode(head: [u64; 6], label: [u64; LABEL_WORDS]) -> Option<Self> {
        let [at, meta, actor_id, token, ip_high, ip_low] = head;
        let outcome = *RequestOutcome::ALL.get(usize::try_from(meta & 0xFF).ok()?)?;
        let actor_id = actor_id.cast_signed();
        let actor = match (meta >> 8) & 0b11 {
            0 => None,
            1 => Some(ActAs::Agent(AgentId::new(actor_id))),
            2 => Some(ActAs::Requester(RequesterId::new(actor_id))),
            _ => return None,
        };
        let ip = u128::from(ip_high) << 64 | u128::from(ip_low);
        let source_ip = match (meta >> 10) & 0b11 {
            0 => None,
            1 => Some(IpAddr::V4(u32::try_from(ip).ok()?.into())),
            2 => Some(IpAddr::V6(ip.into())),
            _ => return None,
        };
        let token = ((meta >> 12) & 1 == 1).then(|| TokenId::new(token.cast_signed()));
        let label_len = (meta >> 16) & 0xFF;
        let operation = if label_len == DEFAULT_LABEL {
            Label::Default
        } else {
            let mut bytes = [0u8; LABEL_WORDS * 8];
            for (chunk, word) in bytes.chunks_mut(8).zip(label) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            let len = usize::try_from(label_len).ok()?;
            let text = std::str::from_utf8(bytes.get(..len)?).ok()?;
            Label::new(text)
        };
        Some(Self {
            at: Timestamp::from_millis(at.cast_signed()),
            operation,
            actor,
            token,
            outcome,
            source_ip,
        })
    }
}

/// One logged request, behind a sequence number: `2n - 1` while request `n` of the ring is
/// being written, `2n` once it is complete.
#[derive(Default)]
struct Slot {
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

/// The last [`LOG_LEN`] requests one thread made with one key. Only the thread holding it as an
/// [`OwnedRing`] writes it (or callers holding [`KeyLog::shared_writer`] for the shared ring); the
/// flush reads it.
pub(crate) struct Ring {
    /// The [`KeyLog::uid`] of the log it belongs to.
    log_uid: u64,
    /// Whether a thread holds it as its [`OwnedRing`]; a ring let go is handed to the next thread
    /// that needs one for the key, so the rings of a key never outnumber the threads using it.
    owned: AtomicBool,
    /// The number of the newest request (1 for the first); written by the writer only.
    head: AtomicU64,
    /// Requests up to this number are in the database; written by the flush only.
    flushed: AtomicU64,
    slots: [Slot; LOG_LEN],
}

impl Ring {
    fn new(log_uid: u64) -> Arc<Self> {
        Arc::new(Self {
            log_uid,
            owned: AtomicBool::new(false),
            head: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            slots: std::array::from_fn(|_| Slot::default()),
        })
    }

    fn slot(&self, n: u64) -> Option<&Slot> {
        self.slots.get(usize::try_from(n % LOG_LEN as u64).ok()?)
    }

    /// Appends a request. The caller must be the ring's only writer: the holder of its
    /// [`OwnedRing`], or a holder of the shared ring's lock.
    fn push(&self, entry: &LogEntry) {
        let n = self.head.load(Ordering::Relaxed) + 1;
        let Some(slot) = self.slot(n) else { return };
        let (head, label) = entry.encode();
        slot.seq.store(2 * n - 1, Ordering::Relaxed);
        // Orders the odd number before the words for a reader (a compiler barrier on x86).
        fence(Ordering::Release);
        for (word, value) in slot.words.iter().zip(head) {
            word.store(value, Ordering::Relaxed);
        }
        if let Some(label) = label {
            for (word, value) in slot.words.iter().skip(head.len()).zip(label) {
                word.store(value, Ordering::Relaxed);
            }
        }
        slot.seq.store(2 * n, Ordering::Release);
        self.head.store(n, Ordering::Release);
    }

    /// Request `n` of the ring, if it is still there and was not being overwritten meanwhile.
    fn read(&self, n: u64) -> Option<LogEntry> {
        let slot = self.slot(n)?;
        if slot.seq.load(Ordering::Acquire) != 2 * n {
            return None;
        }
        let words: [u64; WORDS] = std::array::from_fn(|i| {
            slot.words
                .get(i)
                .map_or(0, |word| word.load(Ordering::Relaxed))
        });
        // Orders the reads of the words before the second read of the number.
        fence(Ordering::Acquire);
        if slot.seq.load(Ordering::Relaxed) != 2 * n {
            return None;
        }
        let (head, label) = words.split_at(6);
        LogEntry::decode(head.try_into().ok()?, label.try_into().ok()?)
    }

    /// The requests not yet in the database, oldest first, with the number of the newest.
    fn unflushed(&self) -> (Vec<LogEntry>, u64) {
        let head = self.head.load(Ordering::Acquire);
        let flushed = self.flushed.load(Ordering::Relaxed);
        let from = (flushed + 1).max(head.saturating_sub(LOG_LEN as u64 - 1));
        // A request overwritten meanwhile has `LOG_LEN` newer ones after it: it is not needed.
        ((from..=head).filter_map(|n| self.read(n)).collect(), head)
    }

    fn is_flushed(&self) -> bool {
        self.flushed.load(Ordering::Relaxed) >= self.head.load(Ordering::Acquire)
    }
}

/// A ring held by the one thread that writes it; dropping it lets the ring go for reuse.
pub(crate) struct OwnedRing(Arc<Ring>);

impl OwnedRing {
    /// Appends a request.
    pub(crate) fn push(&self, entry: &LogEntry) {
        self.0.push(entry);
    }

    /// Whether this is a ring of `log`.
    pub(crate) fn belongs_to(&self, log: &KeyLog) -> bool {
        self.0.log_uid == log.uid
    }
}

impl Drop for OwnedRing {
    fn drop(&mut self) {
        // Publishes this thread's writes to the next holder, which acquires `owned`.
        self.0.owned.store(false, Ordering::Release);
    }
}

/// A key's request log: the rings of the threads that have used the key, and the number of
/// its last request in the database.
pub(crate) struct KeyLog {
    pub(crate) id: KeyId,
    /// Unique in the process, so that a thread never writes into the log of a deleted key
    /// whose id came back.
    pub(crate) uid: u64,
    rings: Mutex<Vec<Arc<Ring>>>,
    /// The ring of callers that cannot use a thread's own (on a thread being torn down, say),
    /// written only under `shared_writer`. Always the first of `rings`.
    shared: Arc<Ring>,
    shared_writer: Mutex<()>,
    /// The number of the key's last request in the database; read and written by the flush,
    /// which is serialised.
    stored: AtomicU64,
}

impl KeyLog {
    /// The log of key `id`, whose stored requests end at number `stored`.
    pub(crate) fn new(id: KeyId, stored: u64) -> Arc<Self> {
        static NEXT_UID: AtomicU64 = AtomicU64::new(1);
        let uid = NEXT_UID.fetch_add(1, Ordering::Relaxed);
        let shared = Ring::new(uid);
        Arc::new(Self {
            id,
            uid,
            rings: Mutex::new(vec![shared.clone()]),
            shared,
            shared_writer: Mutex::new(()),
            stored: AtomicU64::new(stored),
        })
    }

    /// A ring for the calling thread to write alone: one let go by another thread, else a new
    /// one, listed for the flush.
    pub(crate) fn take_ring(&self) -> OwnedRing {
        let mut rings = self.rings.lock();
        let free = rings
            .iter()
            .find(|ring| !Arc::ptr_eq(ring, &self.shared) && !ring.owned.load(Ordering::Acquire));
        let ring = match free {
            Some(ring) => ring.clone(),
            None => {
                let ring = Ring::new(self.uid);
                rings.push(ring.clone());
                ring
            }
        };
        // Taken under the list's lock, so no other thread can take it at the same time.
        ring.owned.store(true, Ordering::Relaxed);
        OwnedRing(ring)
    }

    /// Appends a request to the shared ring, for callers without a ring of their own.
    pub(crate) fn push_shared(&self, entry: &LogEntry) {
        let _one = self.shared_writer.lock();
        self.shared.push(entry);
    }

    /// Collects the requests not yet in the database, numbered after the stored ones, newest
    /// [`LOG_LEN`] only. The flush calls it, then [`mark_flushed`](Self::mark_flushed) once they
    /// are written.
    pub(crate) fn unflushed(&self) -> Unflushed {
        let rings = self.rings.lock().clone();
        let mut entries = Vec::new();
        let mut heads = Vec::with_capacity(rings.len());
        for (index, ring) in rings.iter().enumerate() {
            let (ring_entries, head) = ring.unflushed();
            entries.extend(ring_entries.into_iter().map(|entry| (index, entry)));
            heads.push(head);
        }
        // Merged by time; the sort is stable, so one thread's requests keep their order.
        entries.sort_by_key(|(_, entry)| entry.at);
        let skip = entries.len().saturating_sub(LOG_LEN);
        let stored = self.stored.load(Ordering::Relaxed);
        let records = entries
            .into_iter()
            .skip(skip)
            .zip(stored + 1..)
            .map(|((_, entry), seq)| record(self.id, seq, &entry))
            .collect::<Vec<_>>();
        Unflushed {
            last: stored + records.len() as u64,
            records,
            rings: rings.into_iter().zip(heads).collect(),
        }
    }

    /// Records that `batch` is in the database, and forgets the rings of threads that are gone
    /// once everything they wrote is stored.
    pub(crate) fn mark_flushed(&self, batch: Unflushed) {
        self.stored.store(batch.last, Ordering::Relaxed);
        for (ring, head) in &batch.rings {
            ring.flushed.fetch_max(*head, Ordering::Relaxed);
        }
        drop(batch);
        // A ring nobody holds (its thread exited or dropped its copy of the tables) is forgotten
        // once everything in it is stored.
        self.rings.lock().retain(|ring| {
            Arc::ptr_eq(ring, &self.shared)
                || ring.owned.load(Ordering::Acquire)
                || !ring.is_flushed()
        });
    }

    /// The number of rings listed (the shared one included).
    pub(crate) fn ring_count(&self) -> usize {
        self.rings.lock().len()
    }
}

/// What one flush takes from a key's log.
pub(crate) struct Unflushed {
    /// The records to write.
    pub(crate) records: Vec<KeyLogRecord>,
    /// The number of the last record (the stored head if there is none).
    last: u64,
    /// Each ring with the number of its newest request that was read.
    rings: Vec<(Arc<Ring>, u64)>,
}

fn record(key: KeyId, seq: u64, entry: &LogEntry) -> KeyLogRecord {
    KeyLogRecord {
        key,
        seq,
        at: entry.at,
        operation: entry.operation.as_str().to_owned(),
        actor: entry.actor,
        token: entry.token,
        outcome: entry.outcome,
        source_ip: entry.source_ip,
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
        outcome: record.outcome,
        source_ip: record.source_ip,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

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
    fn entries_survive_the_slot_encoding() {
        let long = "ü".repeat(40);
        let cases = [
            LogEntry {
                at: Timestamp::from_millis(-5),
                operation: Label::new("GET /tickets/7"),
                actor: Some(ActAs::Agent(AgentId::new(i64::MAX))),
                token: Some(TokenId::new(42)),
                outcome: RequestOutcome::Failed,
                source_ip: Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            },
            LogEntry {
                at: Timestamp::from_millis(1_795_444_096_123),
                operation: Label::new(&long),
                actor: Some(ActAs::Requester(RequesterId::new(3))),
                token: None,
                outcome: RequestOutcome::AddressNotAllowed,
                source_ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))),
            },
            LogEntry {
                operation: Label::new(""),
                ..entry(0)
            },
            entry(7),
        ];
        for (index, outcome) in RequestOutcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome.index(), index);
            let case = LogEntry {
                outcome,
                ..entry(1)
            };
            let (head, label) = case.encode();
            let back = LogEntry::decode(head, label.unwrap_or_default()).map(|e| e.outcome);
            assert_eq!(back, Some(outcome));
        }
        for case in cases {
            let (head, label) = case.encode();
            let back = LogEntry::decode(head, label.unwrap_or_default()).expect("decodes");
            let (a, b) = (
                record(KeyId::new(1), 1, &case),
                record(KeyId::new(1), 1, &back),
            );
            assert_eq!(a, b);
        }
    }

    #[test]
    fn a_ring_keeps_the_last_entries_and_what_is_unflushed() {
        let log = KeyLog::new(KeyId::new(1), 7);
        let ring = log.take_ring();
        for i in 0..120 {
            ring.push(&entry(i));
        }
        let batch = log.unflushed();
        assert_eq!(batch.records.len(), LOG_LEN);
        assert_eq!(batch.records.first().map(|r| r.seq), Some(8));
        assert_eq!(batch.records.first().map(|r| r.at.as_millis()), Some(70));
        assert_eq!(batch.records.last().map(|r| r.seq), Some(57));
        log.mark_flushed(batch);
        ring.push(&entry(500));
        let batch = log.unflushed();
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.records.first().map(|r| r.seq), Some(58));
        assert_eq!(
            batch.records.first().map(|r| to_request(r.clone()).at),
            Some(Timestamp::from_millis(500))
        );
    }

    #[test]
    fn rings_of_threads_are_merged_by_time_and_dropped_once_flushed() {
        let log = KeyLog::new(KeyId::new(1), 0);
        // Both threads hold a ring at once, and write interleaved times.
        let both = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            for start in [0, 1] {
                let (log, both) = (&log, &both);
                scope.spawn(move || {
                    let ring = log.take_ring();
                    both.wait();
                    for i in 0..40 {
                        ring.push(&entry(start + 2 * i));
                    }
                });
            }
        });
        log.push_shared(&entry(1000));
        assert_eq!(log.ring_count(), 3);
        let batch = log.unflushed();
        let times: Vec<i64> = batch.records.iter().map(|r| r.at.as_millis()).collect();
        let expected: Vec<i64> = (31..80).chain([1000]).collect();
        assert_eq!(times, expected);
        let seqs: Vec<u64> = batch.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
        log.mark_flushed(batch);
        assert_eq!(log.ring_count(), 1, "the exited threads' rings are gone");
        assert!(log.unflushed().records.is_empty());
    }

    #[test]
    fn a_ring_let_go_is_reused_and_the_rings_never_outnumber_their_holders() {
        let log = KeyLog::new(KeyId::new(1), 0);
        let first = log.take_ring();
        first.push(&entry(1));
        let second = log.take_ring();
        second.push(&entry(2));
        assert_eq!(log.ring_count(), 3, "the shared ring and two held ones");
        drop(first);
        let third = log.take_ring();
        third.push(&entry(3));
        assert_eq!(log.ring_count(), 3, "the ring let go was taken again");
        for _ in 0..10 {
            let passing = log.take_ring();
            passing.push(&entry(4));
        }
        assert_eq!(log.ring_count(), 4);
        let batch = log.unflushed();
        assert_eq!(
            batch.records.len(),
            13,
            "nothing written to a reused ring is lost"
        );
        log.mark_flushed(batch);
        assert_eq!(
            log.ring_count(),
            3,
            "the free ring is forgotten once stored"
        );
        drop((second, third));
        log.mark_flushed(log.unflushed());
        assert_eq!(log.ring_count(), 1);
    }

    #[test]
    fn a_reader_never_sees_a_torn_entry() {
        let log = KeyLog::new(KeyId::new(1), 0);
        let ring = log.take_ring();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..200_000i64 {
                    // Every field derived from `i`, so that a mix of two entries shows.
                    ring.push(&LogEntry {
                        at: Timestamp::from_millis(i),
                        operation: Label::new(&format!("op {i}")),
                        actor: Some(ActAs::Agent(AgentId::new(i))),
                        token: Some(TokenId::new(i)),
                        outcome: RequestOutcome::Accepted,
                        source_ip: None,
                    });
                }
                done.store(true, Ordering::Release);
            });
            let mut seen = 0usize;
            loop {
                let finished = done.load(Ordering::Acquire);
                let (entries, _) = ring.0.unflushed();
                for e in &entries {
                    let i = e.at.as_millis();
                    assert_eq!(e.actor, Some(ActAs::Agent(AgentId::new(i))));
                    assert_eq!(e.token, Some(TokenId::new(i)));
                    assert_eq!(e.operation.as_str(), format!("op {i}"));
                }
                seen += entries.len();
                if finished {
                    break;
                }
            }
            assert!(seen >= LOG_LEN);
        });
    }
}
