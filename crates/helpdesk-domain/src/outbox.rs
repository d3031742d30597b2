//! The outbox as consumers see it: where a consumer starts, a batch of events and a consumer's
//! state.

use crate::event::Event;

/// Where a new consumer starts reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// At the oldest event still retained.
    Oldest,
    /// After the newest event: only what is committed from now on.
    Now,
    /// After the given sequence number.
    After(u64),
}

/// A page of events for one consumer.
#[derive(Clone, Debug, PartialEq)]
pub struct EventBatch {
    /// The events, in sequence order.
    pub events: Vec<Event>,
    /// Events the consumer never read that retention has already dropped, as an inclusive
    /// range of sequence numbers. The consumer's cursor moves past them when it acknowledges.
    pub missed: Option<(u64, u64)>,
}

/// A consumer's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerInfo {
    /// Its name.
    pub name: String,
    /// The last sequence number it acknowledged.
    pub cursor: u64,
    /// How many retained events it has not acknowledged yet.
    pub lag: u64,
}
