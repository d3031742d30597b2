//! The example apps, run for real: auto-triage and the ledger (key-value store, secret setting).

use helpdesk::{Actor, Change, HistoryField, InstallState, Priority};

use crate::support::{Env, secret_key};

#[test]
fn auto_triage_sets_priority_and_tags_from_its_rules() {
    let env = Env::new();
    let app = env.install("auto-triage", None, &[]);
    let refund = env.ticket("I want a refund, I was charged twice");
    let other = env.ticket("Question about my invoice");
    let report = env.host.deliver().unwrap();
    assert_eq!(report.delivered, 2, "{report:?}");
    assert!(report.failures.is_empty(), "{report:?}");

    let t = env.f.desk.ticket(&env.root, refund.id).unwrap();
    assert_eq!(
        t.priority,
        Priority::Urgent,
        "`charged twice` is urgent, `refund` only high"
    );
    assert_eq!(t.tags, ["billing"]);
    let untouched = env.f.desk.ticket(&env.root, other.id).unwrap();
    assert_eq!(untouched.version, other.version);

    // The change is recorded as the app identity, through the install.
    let history = env.f.desk.ticket_history(&env.root, refund.id).unwrap();
    let set = history
        .iter()
        .find(|h| {
            matches!(
                &h.change,
                Change::Set {
                    field: HistoryField::Priority,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(set.by.actor, Actor::Agent(app.app_agent));
    assert_eq!(set.by.install, Some(app.id));
    let agent = env.f.desk.agent(&env.root, app.app_agent).unwrap();
    assert_eq!(agent.name, "Auto-triage (app)");
    assert_eq!(agent.app_install, Some(app.id));

    // Its rules are settings: an administrator changes them without a new version.
    env.set(app.id, "rules", "printer => low hardware");
    let printer = env.ticket("The printer is jammed");
    env.host.deliver().unwrap();
    let t = env.f.desk.ticket(&env.root, printer.id).unwrap();
    assert_eq!(
        (t.priority, t.tags.clone()),
        (Priority::Low, vec!["hardware".to_owned()])
    );
}

#[test]
fn ledger_counts_events_with_its_store_and_secret_setting() {
    let env = Env::new();
    let app = env.install("ledger", None, &[]);
    // Without its secret the app fails, and the event waits for a retry.
    env.ticket("First");
    let report = env.host.deliver().unwrap();
    assert_eq!(report.retried, 1, "{report:?}");
    assert!(
        report.failures[0]
            .1
            .contains("`api-token` setting is not set"),
        "{report:?}"
    );

    env.f
        .desk
        .set_plugin_setting(
            &env.root,
            app.id,
            "api-token",
            Some("s3cr3t-token"),
            Some(&secret_key()),
        )
        .unwrap();
    env.f.clock.advance_millis(1000);
    let report = env.host.deliver().unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(env.kv(app.id, "total").as_deref(), Some("1"));
    assert_eq!(env.kv(app.id, "count/ticket.created").as_deref(), Some("1"));
    assert!(env.kv(app.id, "last-signature").is_some());

    // No read API shows the secret: administrators see only that it is set.
    let views = env.f.desk.plugin_settings(&env.root, app.id).unwrap();
    let token = views.iter().find(|v| v.name == "api-token").unwrap();
    assert!(
        token.secret && token.is_set && token.value.is_none(),
        "{token:?}"
    );
    // Setting it needs the key; the admin cannot read it back through the install's door.
    assert!(
        env.f
            .desk
            .set_plugin_setting(&env.root, app.id, "api-token", Some("x"), None)
            .is_err()
    );
    assert!(
        env.f
            .desk
            .own_plugin_setting(&env.root, app.id, "api-token", Some(&secret_key()))
            .is_err()
    );

    // A replay redelivers with the same delivery id; the app counts each event once.
    env.f
        .desk
        .replay_plugin_events(&env.root, app.id, 0)
        .unwrap();
    let report = env.host.deliver().unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(env.kv(app.id, "total").as_deref(), Some("1"));
    assert_eq!(
        env.f.desk.plugin(&env.root, app.id).unwrap().state,
        InstallState::Enabled
    );
}

#[test]
fn the_install_keys_log_shows_the_plugins_calls() {
    let env = Env::new();
    let app = env.install("auto-triage", None, &[]);
    env.ticket("I want a refund, I was charged twice");
    let report = env.host.deliver().unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    let key = app.key.expect("an install has its own key");
    let log = env.f.desk.key_log(&env.root, key).unwrap();
    let operations: Vec<&str> = log.iter().map(|r| r.operation.as_str()).collect();
    assert!(operations.contains(&"tickets.get"), "{operations:?}");
    assert!(operations.contains(&"tickets.update"), "{operations:?}");
    assert!(
        log.iter()
            .all(|r| r.actor == Some(helpdesk::ActAs::Agent(app.app_agent)))
    );
}
