//! Event delivery to apps: taking outbox events onto an install's queue (only what it
//! subscribes to and may read, never its own changes, and counting what retention dropped
//! before it could), due deliveries in order per ticket, retries with backoff, dead letters,
//! replay and automatic disabling.
//!
//! An install sees the events it is given under delivery numbers: a keyed hash of the install
//! and the outbox sequence number under a key the database keeps, stable across attempts and
//! replays, so that an install cannot tell from gaps how many events it was not given.

use helpdesk_authz::Action;
use helpdesk_domain::{Event, InstallId, Timestamp};
use helpdesk_store::{ConsumerOwner, InstallStateRecord, PendingDelivery, consumer_name};
use siphasher::sip::SipHasher13;

use super::Install;
use crate::Helpdesk;
use crate::error::Result;
use crate::principal::Principal;

/// An event to deliver to an app.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// Stable across attempts and replays: apps de-duplicate on it.
    pub id: String,
    /// The install.
    pub install: InstallId,
    /// 1 on the first attempt.
    pub attempt: u32,
    /// The event, with who made the change (person, key, install). Its `seq` is the install's
    /// delivery number for it: stable across attempts and replays, but not the outbox's
    /// sequence number, so an install cannot count the events it was not given.
    pub event: Event,
    /// The outbox sequence number behind the delivery number.
    seq: u64,
}

/// How deliveries are retried and when an app is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery goes to the dead letters.
    pub max_attempts: u32,
    /// The wait after the first failure, doubled after each further one.
    pub backoff_base_ms: i64,
    /// The longest wait.
    pub backoff_max_ms: i64,
    /// Failed attempts in a row (over all events) after which the app is disabled.
    pub auto_disable_after: u32,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base_ms: 1000,
            backoff_max_ms: 3_600_000,
            auto_disable_after: 20,
        }
    }
}

impl DeliveryPolicy {
    /// The wait before attempt `attempt + 1`, after `attempt` failures.
    pub fn backoff_ms(&self, attempt: u32) -> i64 {
        let shift = attempt.saturating_sub(1).min(30);
        self.backoff_base_ms
            .saturating_mul(1_i64 << shift)
            .min(self.backoff_max_ms)
    }
}

/// What became of a delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Handled; off the queue.
    Delivered,
    /// Failed; retried at this time.
    Retry {
        /// When.
        at: Timestamp,
    },
    /// Failed for the last time; moved to the dead letters.
    DeadLettered,
}

/// A delivery given up after repeated failure.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The event; its `seq` is the install's delivery number for it, as in [`Delivery`].
    pub event: Event,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure.
    pub last_error: String,
    /// When it was given up.
    pub at: Timestamp,
}

/// Turns outbox sequence numbers into delivery numbers (see the module docs).
#[derive(Debug)]
pub(crate) struct DeliveryNumbers {
    key: [u8; 16],
}

impl DeliveryNumbers {
    pub(crate) fn new(key: [u8; 16]) -> Self {
        Self { key }
    }

    /// Install `install`'s delivery number for outbox event `seq`.
    fn number(&self, install: InstallId, seq: u64) -> u64 {
        use std::hash::Hasher;
        let mut hasher = SipHasher13::new_with_key(&self.key);
        hasher.write_i64(install.get());
        hasher.write_u64(seq);
        hasher.finish()
    }

    /// The event as install `install` sees it.
    fn event(&self, install: InstallId, mut event: Event) -> Event {
        event.seq = self.number(install, event.seq);
        event
    }

    fn delivery(&self, install: InstallId, pending: PendingDelivery) -> Delivery {
        let seq = pending.event.seq;
        let event = self.event(install, pending.event);
        Delivery {
            id: format!("{install}-{}", event.seq),
            install,
            attempt: pending.attempts.saturating_add(1),
            event,
            seq,
        }
    }
}

impl Helpdesk {
    /// The deliveries due now for an app (the install itself, or `plugins.manage`), at most
    /// `limit`, in sequence order and at most one per ticket (so each ticket's events arrive in
    /// order). New outbox events are first taken onto the install's queue: only kinds it
    /// subscribes to, only about what it may read (as the install: its app identity narrowed
    /// by its grant and key), and never its own changes (the loop guard); events retention
    /// dropped before it could take them are counted in [`Install::missed_events`]. A disabled
    /// install gets nothing; its events wait.
    pub fn plugin_deliveries(
        &self,
        p: &Principal,
        id: InstallId,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        self.guard(p)?.install_or_manager(id)?;
        let record = self.install_record(id)?;
        if record.state != InstallStateRecord::Enabled {
            return Ok(Vec::new());
        }
        let principal = self.principal_of(&record)?;
        let install = Install::from_record(record)?;
        let g = self.guard(&principal)?;
        if g.allow_global(Action::EventRead).is_err() {
            // An install that may not read events subscribes to none (its manifest cannot ask
            // for events without `events.read`): nothing is due.
            return Ok(Vec::new());
        }
        let consumer = consumer_name(id);
        const PAGE: usize = 256;
        for _ in 0..64 {
            let batch = self
                .store()
                .read_events(ConsumerOwner::Core, &consumer, PAGE)?;
            let missed = batch.missed.map_or(0, |(first, last)| last - first + 1);
            let last_read = batch.events.last().map(|e| e.seq);
            let Some(ack_to) = last_read.or(batch.missed.map(|(_, last)| last)) else {
                break;
            };
            let full = batch.events.len() == PAGE;
            let mut keep: Vec<Event> = Vec::new();
            for event in batch.events {
                if install.manifest.subscribes(event.kind)
                    && event.by.install != Some(id)
                    && g.event_visible(&event)?
                {
                    keep.push(event);
                }
            }
            self.store()
                .enqueue_deliveries(id, &keep, missed, ack_to, self.now())?;
            if !full {
                break;
            }
        }
        let numbers = &self.inner.deliveries;
        Ok(self
            .store()
            .due_deliveries(id, self.now(), limit)?
            .into_iter()
            .map(|d| numbers.delivery(id, d))
            .collect())
    }

    /// Records the outcome of a delivery attempt (the install itself, or `plugins.manage`).
    /// A failure is retried with exponential backoff by the helpdesk clock, and after
    /// `policy.max_attempts` goes to the dead letters; after `policy.auto_disable_after` failed
    /// attempts in a row the install is disabled automatically, with the reason.
    pub fn record_delivery(
        &self,
        p: &Principal,
        delivery: &Delivery,
        outcome: std::result::Result<(), &str>,
        policy: &DeliveryPolicy,
    ) -> Result<DeliveryOutcome> {
        let id = delivery.install;
        self.guard(p)?.install_or_manager(id)?;
        let seq = delivery.seq;
        let error = match outcome {
            Ok(()) => {
                self.store().delivery_succeeded(id, seq)?;
                return Ok(DeliveryOutcome::Delivered);
            }
            Err(e) => e,
        };
        let now = self.now();
        let retry_at = (delivery.attempt < policy.max_attempts)
            .then(|| now.add_millis(policy.backoff_ms(delivery.attempt)));
        let failures = self
            .store()
            .delivery_failed(id, seq, now, error, retry_at)?;
        if policy.auto_disable_after > 0 && failures >= policy.auto_disable_after {
            let reason = format!(
                "disabled automatically after {failures} failed deliveries in a row; the last: {error}"
            );
            self.write_install_state(
                &p.attribution(),
                id,
                InstallStateRecord::AutoDisabled(reason),
            )?;
        }
        Ok(match retry_at {
            Some(at) => DeliveryOutcome::Retry { at },
            None => DeliveryOutcome::DeadLettered,
        })
    }

    /// Every queued delivery of an install, due or waiting (`plugins.manage`).
    pub fn plugin_queue(&self, p: &Principal, id: InstallId) -> Result<Vec<Delivery>> {
        self.guard(p)?.allow_global(Action::PluginManage)?;
        self.install_record(id)?;
        let numbers = &self.inner.deliveries;
        Ok(self
            .store()
            .queued_deliveries(id)?
            .into_iter()
            .map(|d| numbers.delivery(id, d))
            .collect())
    }

    /// The dead letters of an install, oldest first (`plugins.manage`).
    pub fn plugin_dead_letters(&self, p: &Principal, id: InstallId) -> Result<Vec<DeadLetter>> {
        self.guard(p)?.allow_global(Action::PluginManage)?;
        self.install_record(id)?;
        let numbers = &self.inner.deliveries;
        Ok(self
            .store()
            .dead_letters(id)?
            .into_iter()
            .map(|d| DeadLetter {
                event: numbers.event(id, d.event),
                attempts: d.attempts,
                last_error: d.last_error,
                at: d.at,
            })
            .collect())
    }

    /// Puts dead letters back on the queue, due now with fresh attempts (`plugins.manage`,
    /// within what the principal could have installed): one by its delivery number
    /// ([`DeadLetter::event`]'s `seq`), or all with `None`. Returns how many.
    pub fn replay_dead_letters(
        &self,
        p: &Principal,
        id: InstallId,
        number: Option<u64>,
    ) -> Result<usize> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        self.managed_install(&g, id)?;
        let seq = match number {
            None => None,
            Some(number) => {
                let numbers = &self.inner.deliveries;
                let found = self
                    .store()
                    .dead_letters(id)?
                    .into_iter()
                    .map(|d| d.event.seq)
                    .find(|&seq| numbers.number(id, seq) == number);
                match found {
                    Some(seq) => Some(seq),
                    None => return Ok(0),
                }
            }
        };
        self.store().requeue_dead_letters(id, seq, self.now())
    }

    /// Replays events from an outbox sequence number (`plugins.manage`, within what the
    /// principal could have installed): the install takes again every retained outbox event
    /// after `after`, with the same delivery ids (apps de-duplicate). Returns the sequence
    /// number it restarts from (later than `after` if older events were already pruned).
    pub fn replay_plugin_events(&self, p: &Principal, id: InstallId, after: u64) -> Result<u64> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        self.managed_install(&g, id)?;
        self.store().rewind_install_consumer(id, after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = DeliveryPolicy {
            backoff_base_ms: 1000,
            backoff_max_ms: 5000,
            ..DeliveryPolicy::default()
        };
        let waits: Vec<i64> = (1..=5).map(|a| policy.backoff_ms(a)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
    }
}
