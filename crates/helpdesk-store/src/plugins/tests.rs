//! Unit tests of plugin installs in the store.

use helpdesk_domain::{Actor, TicketId};

use super::*;
use crate::StoreOptions;

const SYSTEM: Attribution = Attribution::direct(Actor::System);

fn install_key(label: &str) -> Option<InstallKey> {
    Some(InstallKey {
        label: label.into(),
        secret_hash: format!("$argon2id${label}"),
    })
}

fn new_install(granted: &[&str]) -> NewInstallRecord {
    NewInstallRecord {
        plugin_id: "probe".into(),
        version: "1".into(),
        manifest: json!({}),
        wasm: b"\0asm".to_vec(),
        wasm_hash: "h".into(),
        granted: Scopes::parse(granted.iter().copied()).unwrap(),
        app_agent: AppAgentSpec {
            name: "Probe (app)".into(),
            admin: false,
            roles: Vec::new(),
            memberships: Vec::new(),
        },
        settings: vec![("secret".into(), SettingValue::Secret(vec![1, 2, 3]))],
        key: if granted.is_empty() {
            None
        } else {
            install_key("Probe")
        },
    }
}

fn install(store: &Store) -> InstallRecord {
    store
        .install_plugin(Timestamp::EPOCH, &SYSTEM, new_install(&["tickets.read"]))
        .unwrap()
        .0
}

fn upgrade(granted: &[&str], new_key: Option<InstallKey>) -> UpgradeRecord {
    UpgradeRecord {
        version: "2".into(),
        manifest: json!({}),
        wasm: b"\0asm".to_vec(),
        wasm_hash: "h".into(),
        granted: Scopes::parse(granted.iter().copied()).unwrap(),
        new_key,
    }
}

/// The key an upgrade wrote.
fn written(change: InstallKeyChange) -> KeyRecord {
    match change {
        InstallKeyChange::Written(key) => key,
        other => panic!("no key written: {other:?}"),
    }
}

#[test]
fn an_install_and_its_key_are_written_and_removed_together() {
    let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
    let mut keyless = new_install(&["tickets.read"]);
    keyless.key = None;
    assert!(
        store
            .install_plugin(Timestamp::EPOCH, &SYSTEM, keyless)
            .is_err()
    );
    assert!(store.installs().unwrap().is_empty() && store.keys().unwrap().is_empty());

    let (installed, key) = store
        .install_plugin(Timestamp::EPOCH, &SYSTEM, new_install(&["tickets.read"]))
        .unwrap();
    let key = key.unwrap();
    assert_eq!(installed.key, Some(key.id));
    assert_eq!(
        key.kind,
        KeyKind::Agent {
            agent: installed.app_agent
        }
    );
    assert_eq!(key.scopes.to_string(), "tickets.read");
    assert_eq!(
        key.description,
        format!("plugin install {}: Probe", installed.id)
    );

    let id = installed.id;
    let wider = upgrade(&["tickets.read", "tickets.update"], None);
    let (after, change) = store
        .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &wider)
        .unwrap();
    let widened = written(change);
    assert_eq!(
        (widened.id, after.key),
        (key.id, Some(key.id)),
        "the same key"
    );
    assert_eq!(widened.scopes.to_string(), "tickets.read tickets.update");

    let none = upgrade(&[], None);
    let (after, change) = store
        .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &none)
        .unwrap();
    assert_eq!(
        (after.key, change),
        (None, InstallKeyChange::Deleted(key.id))
    );
    assert!(store.keys().unwrap().is_empty());

    let again = upgrade(&["tickets.read"], None);
    assert!(
        store
            .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &again)
            .is_err()
    );
    assert_eq!(
        store.install(id).unwrap().granted,
        Scopes::EMPTY,
        "nothing changed"
    );
    let again = upgrade(&["tickets.read"], install_key("Probe 2"));
    let (after, change) = store
        .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &again)
        .unwrap();
    let issued = written(change);
    assert_eq!(after.key, Some(issued.id));
    assert_ne!(issued.id, key.id);

    // An install left without its key (as by a version before installs and keys shared a
    // transaction) gets one on its next upgrade, whatever the grant.
    store
        .write(|tx| {
            tx.execute("UPDATE plugin_installs SET key_id = NULL", [])?;
            Ok(tx.execute("DELETE FROM api_keys", [])?)
        })
        .unwrap();
    let same = upgrade(&["tickets.read"], install_key("Probe 3"));
    let (after, change) = store
        .upgrade_install(Timestamp::EPOCH, &SYSTEM, id, &same)
        .unwrap();
    let issued = written(change);
    assert_eq!(after.key, Some(issued.id));

    let change = store
        .uninstall_plugin(Timestamp::EPOCH, &SYSTEM, id)
        .unwrap();
    assert_eq!(change, InstallKeyChange::Deleted(issued.id));
    assert!(store.keys().unwrap().is_empty() && store.installs().unwrap().is_empty());
}

fn event(seq: u64, ticket: Option<i64>) -> Event {
    Event {
        seq,
        kind: EventKind::TicketUpdated,
        at: Timestamp::EPOCH,
        by: Attribution::direct(Actor::System),
        ticket: ticket.map(TicketId::new),
        department: None,
        data: json!({}),
    }
}

#[test]
fn the_key_value_store_is_bounded_per_install() {
    let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
    let id = install(&store).id;
    store.plugin_kv_set(id, "a", &[0; 60], 100).unwrap();
    // Replacing a value counts its new size only.
    store.plugin_kv_set(id, "a", &[0; 90], 100).unwrap();
    let err = store.plugin_kv_set(id, "b", &[0; 20], 100).unwrap_err();
    assert!(err.to_string().contains("key-value store"), "{err}");
    store.plugin_kv_delete(id, "a").unwrap();
    store.plugin_kv_set(id, "b", &[0; 20], 100).unwrap();
    assert_eq!(
        store.plugin_kv_get(id, "b").unwrap().map(|v| v.len()),
        Some(20)
    );
}

#[test]
fn only_the_oldest_event_of_each_ticket_is_due() {
    let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
    let id = install(&store).id;
    let now = Timestamp::from_millis(1000);
    let events = [
        event(1, Some(7)),
        event(2, Some(8)),
        event(3, Some(7)),
        event(4, None),
    ];
    store.enqueue_deliveries(id, &events, 0, 4, now).unwrap();
    let due = |at: i64| -> Vec<u64> {
        store
            .due_deliveries(id, Timestamp::from_millis(at), 10)
            .unwrap()
            .iter()
            .map(|d| d.event.seq)
            .collect()
    };
    assert_eq!(due(1000), [1, 2, 4]);
    // Ticket 7's first event fails: its second waits behind it, the others do not.
    store
        .delivery_failed(id, 1, now, "boom", Some(Timestamp::from_millis(5000)))
        .unwrap();
    store.delivery_succeeded(id, 2).unwrap();
    assert_eq!(due(1000), [4]);
    assert_eq!(due(5000), [1, 4]);
    // Given up: dead-lettered, and ticket 7's next event becomes due.
    // (A success in between reset the failures in a row.)
    assert_eq!(store.delivery_failed(id, 1, now, "boom", None).unwrap(), 1);
    assert_eq!(due(5000), [3, 4]);
    let dead = store.dead_letters(id).unwrap();
    assert_eq!(
        (dead.len(), dead[0].attempts, dead[0].last_error.as_str()),
        (1, 2, "boom")
    );
    assert_eq!(store.requeue_dead_letters(id, None, now).unwrap(), 1);
    assert_eq!(due(5000), [1, 4]);
}

#[test]
fn secrets_are_stored_only_as_given_ciphertext() {
    let store = Store::open_in_memory(&StoreOptions::default()).unwrap();
    let id = install(&store).id;
    assert_eq!(
        store.plugin_setting(id, "secret").unwrap(),
        Some(SettingValue::Secret(vec![1, 2, 3]))
    );
    store
        .set_plugin_setting(Timestamp::EPOCH, id, "secret", None)
        .unwrap();
    assert_eq!(store.plugin_setting(id, "secret").unwrap(), None);
}
