//! Event delivery to apps: each round takes the due deliveries of every running app from the
//! core (which keeps the queue, the per-ticket order, the backoff and the dead letters), calls
//! the app's `on-event`, and records the outcome.

use std::sync::Arc;

use helpdesk::{Delivery, DeliveryOutcome, InstallId};

use crate::bindings::v0_1::exports::helpdesk::plugin::app::Event;
use crate::error::{Result, full_message};
use crate::host::types::attribution;
use crate::sandbox::{CallCtx, Mode, truncate};
use crate::{Loaded, PluginHost};

/// Deliveries taken per app per round.
const BATCH: usize = 32;
/// Rounds per [`PluginHost::deliver`]: each round delivers at most one event per ticket.
const ROUNDS: usize = 16;

/// What one [`PluginHost::deliver`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Events handled.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retried: usize,
    /// Deliveries given up (moved to the dead letters).
    pub dead_lettered: usize,
    /// Apps disabled automatically in this run.
    pub disabled: Vec<InstallId>,
    /// Failed attempts, with the app and the error, in order.
    pub failures: Vec<(InstallId, String)>,
}

impl PluginHost {
    /// Delivers every due event to the running apps subscribed to it. Failures are retried with
    /// backoff by the helpdesk's clock (call again later); a call that traps or exceeds a limit
    /// fails only that delivery. Returns what was done.
    pub fn deliver(&self) -> Result<DeliveryReport> {
        self.sync()?;
        let apps: Vec<Arc<Loaded>> = {
            let running = self.inner.running.read();
            let mut apps: Vec<Arc<Loaded>> = running
                .values()
                .filter(|l| !l.install.manifest.events.is_empty())
                .cloned()
                .collect();
            apps.sort_by_key(|l| l.install.id);
            apps
        };
        let mut report = DeliveryReport::default();
        for app in apps {
            for _ in 0..ROUNDS {
                let handled = self.deliver_round(&app, &mut report)?;
                if handled == 0 || report.disabled.contains(&app.install.id) {
                    break;
                }
            }
        }
        if !report.disabled.is_empty() {
            self.sync()?;
        }
        Ok(report)
    }

    /// One round for one app; returns how many deliveries were attempted.
    fn deliver_round(&self, app: &Loaded, report: &mut DeliveryReport) -> Result<usize> {
        let desk = &self.inner.desk;
        let id = app.install.id;
        let deliveries = match desk.plugin_deliveries(&app.principal, id, BATCH) {
            Ok(d) => d,
            Err(e) => {
                report.failures.push((id, full_message(&e)));
                return Ok(0);
            }
        };
        let n = deliveries.len();
        for delivery in deliveries {
            let result = self.call_event(app, &delivery);
            let message = result.as_ref().err().map(|e| full_message(e));
            let recorded = desk.record_delivery(
                &app.principal,
                &delivery,
                match &message {
                    None => Ok(()),
                    Some(m) => Err(m.as_str()),
                },
                &self.inner.config.delivery,
            );
            let outcome = match recorded {
                Ok(outcome) => outcome,
                // Uninstalled meanwhile, or storage trouble: the delivery stays queued (at least
                // once) and the other apps go on.
                Err(e) => {
                    report.failures.push((id, full_message(&e)));
                    return Ok(n);
                }
            };
            match outcome {
                DeliveryOutcome::Delivered => report.delivered += 1,
                DeliveryOutcome::Retry { .. } => report.retried += 1,
                _ => report.dead_lettered += 1,
            }
            if let Some(m) = message {
                tracing::warn!(plugin = app.plugin(), install = id.get(), delivery = %delivery.id, error = %m, "delivery failed");
                report.failures.push((id, m));
                if !desk.plugin(&self.root(), id).is_ok_and(|i| i.is_enabled()) {
                    tracing::error!(
                        plugin = app.plugin(),
                        install = id.get(),
                        "plugin disabled after repeated failures"
                    );
                    report.disabled.push(id);
                    return Ok(n);
                }
            }
        }
        Ok(n)
    }

    /// Sends one event to a running app at once, outside its queue and its bookkeeping: what an
    /// administrator's "send a test event" does (and what the benchmarks measure). Its delivery
    /// id is `test-<seq>`. Unlike [`PluginHost::deliver`], this does not check that the app may
    /// read the event: the embedding application vouches for that (use an event the install's
    /// principal read with `Helpdesk::read_events`, or one about a ticket it may read).
    pub fn test_event(&self, install: InstallId, event: &helpdesk::Event) -> Result<()> {
        let app = self.loaded(install)?;
        self.dispatch(&app, format!("test-{}", event.seq), 1, event)
    }

    /// Calls the app's `on-event` with one delivery.
    fn call_event(&self, app: &Loaded, delivery: &Delivery) -> Result<()> {
        self.dispatch(app, delivery.id.clone(), delivery.attempt, &delivery.event)
    }

    fn dispatch(&self, app: &Loaded, id: String, attempt: u32, e: &helpdesk::Event) -> Result<()> {
        let event = Event {
            delivery_id: id,
            seq: e.seq,
            kind: e.kind.as_str().to_owned(),
            at: e.at.as_millis(),
            by: attribution(e.by),
            ticket: e.ticket.map(helpdesk::TicketId::get),
            department: e.department.map(helpdesk::DepartmentId::get),
            data: truncate(&e.data.to_string(), 64 * 1024),
            attempt,
        };
        let call = CallCtx {
            principal: app.principal,
            also: None,
            mode: Mode::Event,
            logs: 0,
        };
        let reuse = self.inner.config.reuse_instances;
        let result = self.run(app, call, reuse, |store, plugin| {
            plugin.helpdesk_plugin_app().call_on_event(store, &event)
        })?;
        result.map_err(|m| PluginHost::returned(app, m))
    }
}
