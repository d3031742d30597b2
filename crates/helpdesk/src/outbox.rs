//! The event outbox as its consumers see it: named cursors that belong to whoever registered
//! them, for principals that may read every event.

use crate::error::Result;
use crate::principal::Principal;
use crate::{ConsumerInfo, EventBatch, Helpdesk, StartFrom};

impl Helpdesk {
    /// Registers an outbox consumer of the principal's own (idempotent) and returns its cursor.
    ///
    /// Reading the outbox takes `events.read` and the right to read every event in it: the
    /// system, or an administrator whose credentials (if any) carry every read scope and, for a
    /// key, admin functions. Consumers belong to whoever registered them (an agent's, whichever
    /// key or token it acts through): another principal's of the same name is another consumer.
    pub fn register_consumer(&self, p: &Principal, name: &str, start: StartFrom) -> Result<u64> {
        let owner = self.guard(p)?.consumer_owner()?;
        self.store()
            .register_consumer(owner, name, self.now(), start)
    }

    /// Removes one of the principal's outbox consumers (see
    /// [`register_consumer`](Self::register_consumer)).
    pub fn remove_consumer(&self, p: &Principal, name: &str) -> Result<()> {
        let owner = self.guard(p)?.consumer_owner()?;
        self.store().remove_consumer(owner, name)
    }

    /// The next events for one of the principal's consumers, at most `limit`, without moving its
    /// cursor (see [`register_consumer`](Self::register_consumer)).
    pub fn read_events(&self, p: &Principal, consumer: &str, limit: usize) -> Result<EventBatch> {
        let owner = self.guard(p)?.consumer_owner()?;
        self.store().read_events(owner, consumer, limit)
    }

    /// Acknowledges every event up to `seq` for one of the principal's consumers.
    pub fn ack_events(&self, p: &Principal, consumer: &str, seq: u64) -> Result<()> {
        let owner = self.guard(p)?.consumer_owner()?;
        self.store().ack_events(owner, consumer, seq)
    }

    /// The principal's consumers with their cursors and lag.
    pub fn consumers(&self, p: &Principal) -> Result<Vec<ConsumerInfo>> {
        let owner = self.guard(p)?.consumer_owner()?;
        self.store().consumers(owner)
    }
}
