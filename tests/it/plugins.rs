//! Plugin installs as the core sees them, without running any plugin code: the app identity
//! that acts only through its install, the install's queue that nobody else moves, and events
//! an app never got.

use helpdesk::{
    ActAs, AgentUpdate, Error, EventKind, Install, KeyUpdate, NewInstall, NewKey, NewTicket,
    NewToken, PluginManifest, Scopes, SecretHashing, StartFrom,
};
use helpdesk_tests::Fixture;

fn fixture() -> anyhow::Result<Fixture> {
    Fixture::new_with(|o| o.with_secret_hashing(SecretHashing::InsecureForTests))
}

/// Installs (as the system, so its app identity is an administrator) an app subscribing to
/// ticket creations with `tickets.read` and `events.read`. The core stores the component
/// without running it, so any bytes do.
fn install_app(f: &Fixture) -> anyhow::Result<Install> {
    let manifest = PluginManifest::from_toml(
        r#"
        id = "triage"
        name = "Triage"
        version = "1.0.0"
        api-version = "0.1.0"
        permissions = ["tickets.read", "events.read"]
        events = ["ticket.created"]
        "#,
    )?;
    let new = NewInstall::granting_all(manifest, b"\0asm not really".to_vec())?;
    Ok(f.desk.install_plugin(&f.root, new)?)
}

/// The identity "acts only through its install and must never be signed in as": not through
/// the system handle, not by a superuser key acting as it (named or as its default agent), not
/// with a token minted for it, not with a key bound to it, and not after its install is gone.
#[test]
fn a_plugins_app_identity_is_never_signed_in_as() -> anyhow::Result<()> {
    let f = fixture()?;
    let app = install_app(&f)?;
    let identity = app.app_agent;
    let portal = f
        .desk
        .create_key(&f.root, NewKey::superuser("Portal", None, Scopes::ALL))?;
    let header = portal.code.authorization();
    let refused = |what: &str, result: Result<(), String>| {
        assert!(result.is_err(), "{what} was allowed");
    };
    let check = |f: &Fixture| {
        refused(
            "the system handle",
            f.system
                .agent(identity)
                .map(drop)
                .map_err(|e| e.to_string()),
        );
        refused(
            "acting as it",
            f.desk
                .authenticate(&header, Some(ActAs::Agent(identity)), None)
                .map(drop)
                .map_err(|e| e.to_string()),
        );
        refused(
            "a token minted by the system",
            f.system
                .mint_token(portal.key.id, NewToken::for_agent(identity))
                .map(drop)
                .map_err(|e| e.to_string()),
        );
        let through_key = f
            .desk
            .authenticate(&header, Some(ActAs::Agent(f.admin.id)), None)
            .map_err(|e| e.to_string());
        if let Ok(p) = &through_key {
            refused(
                "a token minted with a key",
                f.desk
                    .mint_token(p, NewToken::for_agent(identity))
                    .map(drop)
                    .map_err(|e| e.to_string()),
            );
        }
        refused(
            "a key bound to it",
            f.desk
                .create_key(&f.root, NewKey::agent("Bound", identity, Scopes::ALL))
                .map(drop)
                .map_err(|e| e.to_string()),
        );
        refused(
            "a superuser key defaulting to it",
            f.desk
                .create_key(
                    &f.root,
                    NewKey::superuser("Default", Some(identity), Scopes::ALL),
                )
                .map(drop)
                .map_err(|e| e.to_string()),
        );
        refused(
            "a key updated to default to it",
            f.desk
                .update_key(
                    &f.root,
                    portal.key.id,
                    KeyUpdate {
                        default_agent: Some(Some(identity)),
                        ..KeyUpdate::default()
                    },
                )
                .map(drop)
                .map_err(|e| e.to_string()),
        );
    };
    check(&f);
    if let Some(key) = app.key {
        let regenerated = f.desk.regenerate_key(&f.root, key, None);
        assert!(
            regenerated.is_err(),
            "the install's key hands out no secret: {regenerated:?}"
        );
    }
    f.desk.uninstall_plugin(&f.root, app.id)?;
    let revived = f.desk.update_agent(
        &f.root,
        identity,
        AgentUpdate {
            active: Some(true),
            ..AgentUpdate::default()
        },
    );
    assert!(revived.is_err(), "{revived:?}");
    check(&f);
    Ok(())
}

/// The install's queue is in the system's own namespace: no principal, not even the system
/// through the consumer API, can move or remove it, so the app never silently skips events.
#[test]
fn nobody_moves_or_removes_an_installs_queue() -> anyhow::Result<()> {
    let f = fixture()?;
    let app = install_app(&f)?;
    let name = format!("plugin-{}", app.id);
    let admin = f.as_agent(&f.admin)?;
    let t = f
        .desk
        .create_ticket(&f.root, NewTicket::new("Printer", f.hardware.id, f.bob.id))?;
    for p in [&f.root, &admin] {
        assert!(matches!(
            f.desk.ack_events(p, &name, u64::MAX >> 1),
            Err(Error::NotFound { .. } | Error::Outbox(_))
        ));
        assert!(matches!(
            f.desk.remove_consumer(p, &name),
            Err(Error::NotFound { .. })
        ));
        assert!(f.desk.consumers(p)?.iter().all(|c| c.name != name));
        // A consumer of that name is the principal's own, and changes nothing for the app.
        f.desk.register_consumer(p, &name, StartFrom::Now)?;
        let head = f
            .desk
            .read_events(p, &name, 10)?
            .events
            .last()
            .map(|e| e.seq);
        if let Some(head) = head {
            f.desk.ack_events(p, &name, head)?;
        }
        f.desk.remove_consumer(p, &name)?;
    }
    let deliveries = f.desk.plugin_deliveries(&f.root, app.id, 10)?;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event.kind, EventKind::TicketCreated);
    assert_eq!(deliveries[0].event.ticket, Some(t.id));
    Ok(())
}

/// A disabled app whose backlog passed the outbox retention lost events it never got: an
/// administrator is told how many.
#[test]
fn events_a_disabled_app_never_got_are_reported() -> anyhow::Result<()> {
    let f = Fixture::new_with(|o| {
        o.with_secret_hashing(SecretHashing::InsecureForTests)
            .with_outbox_retention(100)
    })?;
    let app = install_app(&f)?;
    f.desk.disable_plugin(&f.root, app.id)?;
    for i in 0..300 {
        f.desk.create_ticket(
            &f.root,
            NewTicket::new(format!("Ticket {i}"), f.billing.id, f.bob.id),
        )?;
    }
    f.desk.enable_plugin(&f.root, app.id)?;
    let deliveries = f.desk.plugin_deliveries(&f.root, app.id, 1000)?;
    assert!(deliveries.len() < 300, "retention dropped some");
    let install = f.desk.plugin(&f.root, app.id)?;
    assert!(
        install.missed_events > 0,
        "the loss is reported: {install:?}"
    );
    Ok(())
}
