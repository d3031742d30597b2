//! Event delivery: retries with backoff by the helpdesk clock, dead letters and their replay,
//! order per ticket, replay from a cursor with stable delivery ids, automatic disabling with a
//! visible reason, the loop guard, and who made each change.

use helpdesk::{InstallState, NewMessage, TicketUpdate};

use crate::support::Env;

/// The lines of the probe's delivery log: `<delivery id> <kind> ticket=<id> attempt=<n> by=...`.
fn log(env: &Env, app: helpdesk::InstallId) -> Vec<String> {
    env.kv(app, "log")
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn failures_are_retried_with_backoff_then_dead_lettered_and_replayed() {
    let env = Env::new();
    let t = env.ticket("Will fail");
    let app = env.install("probe", None, &[("fail-tickets", &t.id.to_string())]);
    // The app was installed after the ticket: it starts with events from now on.
    assert!(env.host.deliver().unwrap().failures.is_empty());
    env.f
        .desk
        .add_message(
            &env.f.system.agent(env.f.ann.id).unwrap(),
            t.id,
            NewMessage::note("now it counts"),
        )
        .unwrap();

    let attempt = |advance: i64| {
        env.f.clock.advance_millis(advance);
        env.host.deliver().unwrap()
    };
    let r = attempt(0);
    assert_eq!((r.retried, r.delivered), (1, 0), "{r:?}");
    // Not due before the backoff has passed: no sleeping, the clock decides.
    assert_eq!(attempt(999).retried, 0);
    assert_eq!(attempt(1).retried, 1, "second attempt after 1 s");
    assert_eq!(attempt(1999).retried, 0);
    let r = attempt(1);
    assert_eq!(
        r.dead_lettered, 1,
        "third attempt after 2 more s: given up: {r:?}"
    );

    let dead = env.f.desk.plugin_dead_letters(&env.root, app.id).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert!(
        dead[0].last_error.contains("told to fail"),
        "{}",
        dead[0].last_error
    );
    assert_eq!(dead[0].event.ticket, Some(t.id));

    // Fixed and replayed: delivered with the same delivery id, attempts counted afresh.
    env.set(app.id, "fail-tickets", "");
    assert_eq!(
        env.f
            .desk
            .replay_dead_letters(&env.root, app.id, None)
            .unwrap(),
        1
    );
    let r = attempt(0);
    assert_eq!(r.delivered, 1, "{r:?}");
    assert!(
        env.f
            .desk
            .plugin_dead_letters(&env.root, app.id)
            .unwrap()
            .is_empty()
    );
    let lines = log(&env, app.id);
    let id = lines[0].split(' ').next().unwrap();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l.starts_with(id)), "{lines:?}");
    assert!(lines[3].contains("attempt=1"), "{lines:?}");
}

#[test]
fn events_of_one_ticket_arrive_in_order_even_across_failures() {
    let env = Env::new();
    let app = env.install("probe", None, &[]);
    let a = env.ticket("Ticket A");
    env.set(app.id, "fail-tickets", &a.id.to_string());
    let b = env.ticket("Ticket B");
    env.f
        .desk
        .add_message(
            &env.f.system.agent(env.f.ann.id).unwrap(),
            a.id,
            NewMessage::note("second event of A"),
        )
        .unwrap();
    let r = env.host.deliver().unwrap();
    // A's first event fails, so A's second waits behind it; B is not held up.
    assert_eq!((r.delivered, r.retried), (1, 1), "{r:?}");
    env.set(app.id, "fail-tickets", "");
    env.f.clock.advance_millis(1000);
    let r = env.host.deliver().unwrap();
    assert_eq!(r.delivered, 2, "{r:?}");
    let kinds: Vec<String> = log(&env, app.id)
        .iter()
        .map(|l| {
            let mut w = l.split(' ');
            format!("{} {}", w.nth(1).unwrap(), w.next().unwrap())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            format!("ticket.created ticket={}", a.id),
            format!("ticket.created ticket={}", b.id),
            format!("ticket.created ticket={}", a.id),
            format!("message.added ticket={}", a.id),
        ]
    );
}

#[test]
fn replay_from_a_cursor_redelivers_with_the_same_ids() {
    let env = Env::new();
    let app = env.install("probe", None, &[]);
    env.ticket("One");
    env.ticket("Two");
    assert_eq!(env.host.deliver().unwrap().delivered, 2);
    let first = log(&env, app.id);
    let from = env
        .f
        .desk
        .replay_plugin_events(&env.root, app.id, 0)
        .unwrap();
    assert!(from < 10, "{from}");
    assert_eq!(env.host.deliver().unwrap().delivered, 2);
    let all = log(&env, app.id);
    assert_eq!(
        all[2..],
        first[..],
        "the same deliveries, with the same ids"
    );
}

#[test]
fn an_app_that_keeps_failing_is_disabled_with_a_visible_reason() {
    let env = Env::new();
    let app = env.install("misbehave", None, &[("mode", "panic")]);
    for i in 0..3 {
        env.ticket(&format!("Ticket {i}"));
    }
    let mut disabled = Vec::new();
    for _ in 0..5 {
        disabled.extend(env.host.deliver().unwrap().disabled);
        env.f.clock.advance_millis(60_000);
    }
    assert_eq!(disabled, [app.id]);
    let install = env.f.desk.plugin(&env.root, app.id).unwrap();
    let InstallState::AutoDisabled { reason } = install.state else {
        panic!("{:?}", install.state)
    };
    assert!(reason.contains("6 failed deliveries in a row"), "{reason}");
    assert!(reason.contains("panicked on purpose"), "{reason}");
    assert!(!env.host.running().contains(&app.id));
    // Its identity can do nothing while it is disabled.
    assert!(!env.f.desk.agent(&env.root, app.app_agent).unwrap().active);

    // Fixed and enabled again by an administrator, it catches up.
    env.set(app.id, "mode", "ok");
    env.f.desk.enable_plugin(&env.root, app.id).unwrap();
    env.f
        .desk
        .replay_dead_letters(&env.root, app.id, None)
        .unwrap();
    let r = env.host.deliver().unwrap();
    assert!(env.host.running().contains(&app.id));
    assert_eq!(r.delivered, 3, "{r:?}");
}

#[test]
fn an_apps_own_changes_do_not_trigger_it_again() {
    let env = Env::new();
    let t = env.ticket("Loop bait");
    let tagger = env.install(
        "probe",
        None,
        &[("commands", &format!("tickets.tag {} seen", t.id))],
    );
    let triage = env.install("auto-triage", None, &[("rules", "bait => high")]);
    env.ticket("More bait");
    for _ in 0..3 {
        env.host.deliver().unwrap();
    }
    // The probe tagged the ticket (a `ticket.updated` by itself: not delivered back to it), and
    // saw auto-triage's update of the new ticket, attributed to that install.
    let lines = log(&env, tagger.id);
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("ticket.updated") && l.contains(&format!("ticket={} ", t.id))),
        "{lines:?}"
    );
    let triaged: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("ticket.updated"))
        .collect();
    assert_eq!(triaged.len(), 1, "{lines:?}");
    let key = triage.key.unwrap();
    assert!(
        triaged[0].ends_with(&format!("by=Some({})/Some({})", key.get(), triage.id.get())),
        "the event names the install and its key: {lines:?}"
    );
    // A person's change is delivered.
    let ann = env.f.system.agent(env.f.ann.id).unwrap();
    let current = env.f.desk.ticket(&env.root, t.id).unwrap();
    env.f
        .desk
        .update_ticket(
            &ann,
            t.id,
            current.version,
            TicketUpdate {
                add_tags: vec!["human".into()],
                ..TicketUpdate::default()
            },
        )
        .unwrap();
    env.host.deliver().unwrap();
    let lines = log(&env, tagger.id);
    assert!(
        lines.last().unwrap().contains("ticket.updated"),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().ends_with("by=None/None"), "{lines:?}");
}

#[test]
fn an_app_sees_only_the_departments_its_identity_reaches() {
    let env = Env::new();
    let role = env
        .f
        .desk
        .create_role(
            &env.root,
            "plugin manager",
            &["plugins.manage", "events.read", "tickets.read"],
        )
        .unwrap();
    env.f
        .desk
        .set_agent_roles(&env.root, env.f.ann.id, &[role.id])
        .unwrap();
    let ann = env.f.system.agent(env.f.ann.id).unwrap();
    let app = env
        .install_as(&ann, "probe", Some(&["events.read", "tickets.read"]), &[])
        .unwrap();
    let billing = env.ticket("Billing ticket");
    env.ticket_in("Hardware ticket", env.f.hardware.id);
    assert_eq!(env.host.deliver().unwrap().delivered, 1);
    let lines = log(&env, app.id);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains(&format!("ticket={} ", billing.id)),
        "{lines:?}"
    );
}
