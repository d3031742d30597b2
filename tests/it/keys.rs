//! API keys and access tokens through the facade: header schemes, act-as rules, scopes, admin
//! functions, updates, regeneration with overlap, disable, delete, expiry, networks, tokens, the
//! request log, bounded argon2 work, rehashing with new parameters, and that no secret ever shows
//! in an error, a `Debug` or on disk.

use std::net::IpAddr;
use std::time::Duration;

use helpdesk::{
    AccessLevel, ActAs, Action, Actor, AgentUpdate, ApiRequest, AuthError, Change,
    CredentialScheme, Error, EventKind, Helpdesk, HistoryField, HistorySubject, HistoryValue,
    IssuedKey, KeyCode, KeyId, KeyKind, KeyUpdate, ManualClock, NewKey, NewMessage, NewTicket,
    NewToken, Options, Principal, RequestOutcome, RoleId, Scopes, SecretHashing, StartFrom, Ticket,
    TicketAttributes, Timestamp, TokenId,
};
use helpdesk_tests::{Fixture, START, assert_reads_like_missing};
use proptest::prelude::*;

/// A fixture whose secrets are hashed with the cheap test-only parameters.
fn fixture() -> anyhow::Result<Fixture> {
    fixture_with(|options| options)
}

fn fixture_with(options: impl FnOnce(Options) -> Options) -> anyhow::Result<Fixture> {
    let clock = ManualClock::new(START);
    let options = options(
        Options::default()
            .with_clock(clock.clone())
            .with_secret_hashing(SecretHashing::InsecureForTests),
    );
    let (desk, system) = Helpdesk::open_in_memory(options)?;
    Fixture::populate(desk, system, clock)
}

fn scopes(names: &str) -> anyhow::Result<Scopes> {
    Ok(names.parse()?)
}

const MINUTE: i64 = 60_000;

/// The `key` header of `code`'s secret presented for another key id.
fn secret_for(code: &KeyCode, id: KeyId) -> String {
    let text = code.expose();
    let secret = text.split_once(':').map_or("", |(_, secret)| secret);
    format!("key {id}:{secret}")
}

/// The secret half of a code, to look for in places it must never appear.
fn secret_of(code: &KeyCode) -> String {
    code.expose()
        .split_once(':')
        .map(|(_, secret)| secret.to_owned())
        .unwrap_or_default()
}

fn ip(text: &str) -> anyhow::Result<IpAddr> {
    Ok(text.parse()?)
}

/// An agent key for Ann (member of Billing with `change`) with `names`.
fn ann_key(f: &Fixture, names: &str) -> anyhow::Result<KeyCode> {
    let key = NewKey::agent("Ann's sync", f.ann.id, scopes(names)?);
    Ok(f.desk.create_key(&f.root, key)?.code)
}

/// A superuser key without a default agent, with every scope, made by the root administrator.
fn portal_key(f: &Fixture) -> anyhow::Result<IssuedKey> {
    Ok(f.desk
        .create_key(&f.root, NewKey::superuser("Portal", None, Scopes::ALL))?)
}

fn billing_ticket(f: &Fixture) -> anyhow::Result<Ticket> {
    Ok(f.desk.create_ticket(
        &f.root,
        NewTicket::new("Charged twice", f.billing.id, f.bob.id),
    )?)
}

fn auth(f: &Fixture, header: &str) -> Result<Principal, AuthError> {
    f.desk.authenticate(header, None, None)
}

fn auth_as(f: &Fixture, header: &str, person: ActAs) -> Result<Principal, AuthError> {
    f.desk.authenticate(header, Some(person), None)
}

#[test]
fn a_created_key_is_shown_once_and_works_with_every_scheme() -> anyhow::Result<()> {
    let f = fixture_with(|o| {
        o.with_scheme_alias("DdApi", CredentialScheme::Key)
            .with_scheme_alias("DdBasic", CredentialScheme::Basic)
    })?;
    let issued = f.desk.create_key(
        &f.root,
        NewKey::agent("Billing sync", f.ann.id, scopes("tickets.read")?),
    )?;
    let code = &issued.code;
    let id = issued.key.id;
    assert_eq!(code.id(), id);
    assert!(code.expose().starts_with(&format!("{id}:hdk_")));
    assert_eq!(issued.key.description, "Billing sync");
    assert_eq!(issued.key.kind, KeyKind::Agent { agent: f.ann.id });
    assert!(issued.key.enabled);

    let basic = code.basic_authorization();
    let dd_basic = basic.replacen("Basic", "ddbasic", 1);
    for header in [
        code.authorization(),
        format!("KEY   {}  ", code.expose()),
        basic.clone(),
        format!("DdApi {}", code.expose()),
        dd_basic,
    ] {
        let p = auth(&f, &header).map_err(|e| anyhow::anyhow!("{header:?}: {e}"))?;
        assert_eq!(p.actor(), Actor::Agent(f.ann.id));
        assert_eq!((p.key(), p.token()), (Some(id), None));
        assert_eq!(p.scopes(), scopes("tickets.read")?);
    }

    let listed = f.desk.keys(&f.root)?;
    assert_eq!(listed, std::slice::from_ref(&issued.key));
    assert_eq!(f.desk.key(&f.root, id)?, issued.key);
    let shown = format!("{listed:?} {issued:?}");
    assert!(!shown.contains(&secret_of(code)), "{shown}");
    assert!(shown.contains("[redacted]"));
    Ok(())
}

#[test]
fn malformed_headers_say_which_part_is_wrong_and_never_echo_it() -> anyhow::Result<()> {
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read")?;
    let secret = secret_of(&code);
    let mut typo = secret.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo)?;
    let id = code.id();
    let check = |header: &str, expected: &str| {
        let message = match auth(&f, header) {
            Err(AuthError::Malformed(e)) => e.to_string(),
            other => panic!("{header:?}: expected a malformed credential, got {other:?}"),
        };
        assert_eq!(message, expected, "{header:?}");
        let shown = format!("{message} {:?}", auth(&f, header));
        assert!(!shown.contains(&secret[4..]), "{shown}");
        assert!(!shown.contains(&typo[4..]), "{shown}");
    };
    check("", "authorization header is empty");
    check("Digest abc", "authorization scheme is not supported");
    check(
        "key",
        "authorization header has no credentials after the scheme",
    );
    check(
        &format!("key {id}{secret}"),
        "key code has no `:` between the key id and the secret",
    );
    check(
        &format!("key 0{id}:{secret}"),
        "key id is not a positive decimal number without leading zeros",
    );
    check(
        &format!("key {id}:{typo}"),
        "key secret checksum does not match, the code is mistyped or damaged",
    );
    check(
        &format!("key {id}:{}", &secret[..20]),
        "key secret is not 32 characters long",
    );
    check(
        &format!("Bearer {secret}"),
        "access token does not start with `hdt_`",
    );
    check("Basic !!!!", "basic credentials are not valid base64");
    check(
        &format!("key {}", "1".repeat(600)),
        "authorization header is longer than 512 bytes",
    );
    Ok(())
}

#[test]
fn an_agent_key_acts_as_its_agent_and_history_records_the_key() -> anyhow::Result<()> {
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read tickets.create tickets.reply")?;
    let consumer = f.desk.register_consumer(&f.root, "audit", StartFrom::Now)?;
    assert!(consumer > 0);
    let p = auth(&f, &code.authorization())?;
    let ticket = f.desk.create_ticket(
        &p,
        NewTicket::new("Opened through the API", f.billing.id, f.bob.id),
    )?;
    f.desk
        .add_message(&p, ticket.id, NewMessage::reply("On it"))?;
    let history = f.desk.ticket_history(&f.root, ticket.id)?;
    assert!(!history.is_empty());
    for entry in &history {
        assert_eq!(entry.by.actor, Actor::Agent(f.ann.id));
        assert_eq!(entry.by.key, Some(code.id()));
        assert_eq!(entry.by.token, None);
    }
    let events = f.desk.read_events(&f.root, "audit", 100)?.events;
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert!(kinds.starts_with(&[EventKind::TicketCreated, EventKind::MessageAdded]));
    assert!(events.iter().all(|e| e.by.key == Some(code.id())));
    Ok(())
}

#[test]
fn a_key_never_does_more_than_its_agent_nor_more_than_its_scopes() -> anyhow::Result<()> {
    let f = fixture()?;
    let ticket = billing_ticket(&f)?;
    let attrs = TicketAttributes::from(&ticket);
    let hardware = TicketAttributes {
        department: f.hardware.id,
        ..attrs
    };
    let read_only = auth(&f, &ann_key(&f, "tickets.read")?.authorization())?;
    let everything = auth(&f, &ann_key(&f, &Scopes::ALL.to_string())?.authorization())?;

    assert!(
        f.desk
            .decide(&read_only, Action::TicketRead, &attrs)
            .is_ok()
    );
    let denied = f
        .desk
        .decide(&read_only, Action::TicketReply, &attrs)
        .expect_err("the key lacks tickets.reply");
    assert_eq!(denied.missing_scope(), Some(Action::TicketReply));
    assert!(
        f.desk
            .decide(&everything, Action::TicketReply, &attrs)
            .is_ok()
    );
    let denied = f
        .desk
        .decide(&everything, Action::TicketDelete, &attrs)
        .expect_err("Ann's role does not delete tickets");
    assert_eq!(denied.missing_scope(), None);
    assert_eq!(
        denied.to_string(),
        "no role of agent `Ann` grants `tickets.delete`"
    );
    assert!(
        f.desk
            .decide(&everything, Action::TicketRead, &hardware)
            .is_err()
    );
    assert!(
        f.desk
            .decide_global(&everything, Action::AgentManage)
            .is_err()
    );
    let refused = f
        .desk
        .add_message(&read_only, ticket.id, NewMessage::reply("no"));
    assert!(matches!(refused, Err(Error::Denied(_))), "{refused:?}");
    Ok(())
}

#[test]
fn superuser_keys_act_as_the_named_agent_or_the_default_one() -> anyhow::Result<()> {
    let f = fixture()?;
    let all = Scopes::ALL;
    let no_default = f
        .desk
        .create_key(&f.root, NewKey::superuser("Integration", None, all))?;
    let with_default = f
        .desk
        .create_key(&f.root, NewKey::superuser("Bot", Some(f.hal.id), all))?;
    let header = no_default.code.authorization();
    let id = no_default.key.id;

    match auth(&f, &header) {
        Err(e @ AuthError::NoAgentToActAs { .. }) => assert_eq!(
            e.to_string(),
            format!("superuser key {id} has no default agent: name the agent to act as")
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let as_ann = auth_as(&f, &header, ActAs::Agent(f.ann.id))?;
    assert_eq!(as_ann.actor(), Actor::Agent(f.ann.id));
    assert_eq!(as_ann.key(), Some(id));
    let default = auth(&f, &with_default.code.authorization())?;
    assert_eq!(default.actor(), Actor::Agent(f.hal.id));
    let named = auth_as(
        &f,
        &with_default.code.authorization(),
        ActAs::Agent(f.ann.id),
    )?;
    assert_eq!(named.actor(), Actor::Agent(f.ann.id));

    let unknown = auth_as(&f, &header, ActAs::Agent(helpdesk::AgentId::new(999)));
    assert!(
        matches!(unknown, Err(AuthError::UnknownPerson { .. })),
        "{unknown:?}"
    );
    f.desk.update_agent(
        &f.root,
        f.hal.id,
        AgentUpdate {
            active: Some(false),
            ..AgentUpdate::default()
        },
    )?;
    let disabled = auth(&f, &with_default.code.authorization());
    assert!(matches!(disabled, Err(AuthError::AgentDisabled { agent }) if agent == f.hal.id));

    let agent_key = ann_key(&f, "tickets.read")?;
    assert!(auth_as(&f, &agent_key.authorization(), ActAs::Agent(f.ann.id)).is_ok());
    for person in [ActAs::Agent(f.admin.id), ActAs::Requester(f.bob.id)] {
        let refused = auth_as(&f, &agent_key.authorization(), person);
        assert!(
            matches!(refused, Err(AuthError::ActAsNotAllowed { .. })),
            "{refused:?}"
        );
    }
    Ok(())
}

#[test]
fn acting_as_a_requester_gives_the_requesters_rights_and_records_both() -> anyhow::Result<()> {
    let f = fixture()?;
    let key = portal_key(&f)?;
    let header = key.code.authorization();
    let own = billing_ticket(&f)?;
    let other = f.desk.create_ticket(
        &f.root,
        NewTicket::new("Cat's ticket", f.billing.id, f.cat.id),
    )?;
    let as_bob = auth_as(&f, &header, ActAs::Requester(f.bob.id))?;
    assert_eq!(as_bob.actor(), Actor::Requester(f.bob.id));
    assert!(!as_bob.sees_internal());

    let reply = f.desk.add_message(
        &as_bob,
        own.id,
        NewMessage::reply("Posted by the portal for Bob"),
    )?;
    let entry = f
        .desk
        .ticket_history(&f.root, own.id)?
        .into_iter()
        .find(|h| {
            h.change
                == Change::MessageAdded {
                    message: reply.id,
                    kind: reply.kind,
                }
        })
        .expect("the reply is in the history");
    assert_eq!(entry.by.actor, Actor::Requester(f.bob.id));
    assert_eq!(entry.by.key, Some(key.key.id));

    assert!(matches!(
        f.desk.ticket(&as_bob, other.id),
        Err(Error::NotFound { .. })
    ));
    let note = f
        .desk
        .add_message(&as_bob, own.id, NewMessage::note("internal"));
    assert!(note.is_err());
    let attrs = TicketAttributes::from(&own);
    assert!(
        f.desk
            .decide(&as_bob, Action::TicketDelete, &attrs)
            .is_err()
    );
    assert!(f.desk.decide_global(&as_bob, Action::KeyManage).is_err());
    let unknown = auth_as(
        &f,
        &header,
        ActAs::Requester(helpdesk::RequesterId::new(999)),
    );
    assert!(matches!(unknown, Err(AuthError::UnknownPerson { .. })));
    Ok(())
}

#[test]
fn only_superuser_keys_with_admin_functions_administer_keys() -> anyhow::Result<()> {
    let f = fixture()?;
    let plain = f.desk.create_key(
        &f.root,
        NewKey::superuser("No admin", Some(f.admin.id), Scopes::ALL),
    )?;
    let mut admin_key = NewKey::superuser("Admin", Some(f.admin.id), Scopes::ALL);
    admin_key.admin_functions = true;
    let admin_key = f.desk.create_key(&f.root, admin_key)?;
    let bound = f.desk.create_key(
        &f.root,
        NewKey::agent("Admin's own", f.admin.id, Scopes::ALL),
    )?;
    let mut narrow = NewKey::superuser(
        "Admin, no log scope",
        Some(f.admin.id),
        scopes("keys.manage")?,
    );
    narrow.admin_functions = true;
    let narrow = f.desk.create_key(&f.root, narrow)?;

    let admin = auth(&f, &admin_key.code.authorization())?;
    assert_eq!(f.desk.keys(&admin)?.len(), 4);
    let created = f.desk.create_key(
        &admin,
        NewKey::agent("Made through a key", f.ann.id, scopes("tickets.read")?),
    )?;
    f.desk.regenerate_key(&admin, created.key.id, None)?;
    assert_eq!(f.desk.key_log(&admin, plain.key.id)?.len(), 0);
    let history = f
        .desk
        .history(&f.root, HistorySubject::Key(created.key.id))?;
    assert!(history.iter().all(|h| h.by.key == Some(admin_key.key.id)));
    f.desk.delete_key(&admin, created.key.id)?;

    for (name, header) in [
        ("no admin functions", plain.code.authorization()),
        ("agent key", bound.code.authorization()),
    ] {
        let p = auth(&f, &header)?;
        let refused = f.desk.keys(&p);
        match refused {
            Err(Error::Denied(d)) => assert_eq!(
                d.to_string(),
                "only superuser keys with admin functions may administer keys or read their logs",
                "{name}"
            ),
            other => panic!("{name}: {other:?}"),
        }
        assert!(f.desk.key_log(&p, plain.key.id).is_err(), "{name}");
        assert!(
            f.desk.set_key_enabled(&p, plain.key.id, false).is_err(),
            "{name}"
        );
    }
    let narrow = auth(&f, &narrow.code.authorization())?;
    assert!(f.desk.keys(&narrow).is_ok());
    let no_logs = f.desk.key_log(&narrow, plain.key.id);
    assert!(
        matches!(&no_logs, Err(Error::Denied(d)) if d.missing_scope() == Some(Action::KeyLogs)),
        "{no_logs:?}"
    );
    let token = f.desk.mint_token(&admin, NewToken::for_agent(f.admin.id))?;
    let through_token = auth(&f, &token.token.authorization())?;
    assert!(
        f.desk.keys(&through_token).is_err(),
        "tokens never administer keys"
    );
    Ok(())
}

#[test]
fn issuing_secrets_that_act_as_others_needs_an_administrator() -> anyhow::Result<()> {
    let f = fixture()?;
    let role = f
        .desk
        .create_role(&f.root, "key keeper", &["keys.manage", "keys.logs"])?;
    f.desk
        .set_agent_roles(&f.root, f.ann.id, &[RoleId::new(2), role.id])?;
    let ann = f.as_agent(&f.ann)?;
    let own = f
        .desk
        .create_key(&ann, NewKey::agent("Mine", f.ann.id, Scopes::ALL))?;
    f.desk.regenerate_key(&ann, own.key.id, None)?;
    let superuser = f
        .desk
        .create_key(&f.root, NewKey::superuser("Root's", None, Scopes::ALL))?;
    for refused in [
        f.desk
            .create_key(&ann, NewKey::superuser("Escalation", None, Scopes::ALL))
            .map(drop),
        f.desk
            .create_key(&ann, NewKey::agent("Hal's", f.hal.id, Scopes::ALL))
            .map(drop),
    ] {
        assert!(matches!(refused, Err(Error::Denied(_))), "{refused:?}");
    }
    for refused in [
        f.desk
            .regenerate_key(&ann, superuser.key.id, None)
            .map(drop),
        f.desk
            .set_key_enabled(&ann, superuser.key.id, false)
            .map(drop),
    ] {
        assert!(
            matches!(refused, Err(Error::NotFound { .. })),
            "a key Ann could not have issued reads like a missing one: {refused:?}"
        );
    }
    assert_eq!(
        f.desk.keys(&ann)?.len(),
        1,
        "Ann lists the keys she could have issued"
    );
    let hal = f.as_agent(&f.hal)?;
    assert!(f.desk.keys(&hal).is_err());
    Ok(())
}

#[test]
fn regenerate_refuses_the_old_secret_on_the_very_next_request() -> anyhow::Result<()> {
    let f = fixture()?;
    let old = ann_key(&f, "tickets.read")?;
    auth(&f, &old.authorization())?;
    let new = f.desk.regenerate_key(&f.root, old.id(), None)?;
    assert_eq!(new.code.id(), old.id());
    assert_eq!(new.key.description, "Ann's sync");
    assert_ne!(new.code.expose(), old.expose());
    assert_eq!(new.key.overlap_until, None);
    assert!(matches!(
        auth(&f, &old.authorization()),
        Err(AuthError::InvalidCredentials)
    ));
    assert!(auth(&f, &new.code.authorization()).is_ok());
    let history = f.desk.history(&f.root, HistorySubject::Key(old.id()))?;
    assert_eq!(
        history.last().map(|h| &h.change),
        Some(&Change::SecretRegenerated {
            overlap_until: None
        })
    );
    Ok(())
}

#[test]
fn an_overlap_window_ends_when_it_says() -> anyhow::Result<()> {
    let f = fixture()?;
    let old = ann_key(&f, "tickets.read")?;
    auth(&f, &old.authorization())?;
    let until = START.add_millis(10 * MINUTE);
    let overlap = Some(Duration::from_secs(600));
    let new = f.desk.regenerate_key(&f.root, old.id(), overlap)?;
    assert_eq!(new.key.overlap_until, Some(until));
    for (at, old_works) in [(0, true), (10 * MINUTE - 1, true), (10 * MINUTE, false)] {
        f.clock.set(START.add_millis(at));
        let result = auth(&f, &old.authorization());
        assert_eq!(result.is_ok(), old_works, "at +{at} ms: {result:?}");
        assert!(auth(&f, &new.code.authorization()).is_ok());
    }
    assert_eq!(f.desk.key(&f.root, old.id())?.overlap_until, None);
    let history = f.desk.history(&f.root, HistorySubject::Key(old.id()))?;
    assert_eq!(
        history.last().map(|h| &h.change),
        Some(&Change::SecretRegenerated {
            overlap_until: Some(until)
        })
    );
    let too_long = f
        .desk
        .regenerate_key(&f.root, old.id(), Some(Duration::from_secs(8 * 86_400)));
    assert!(matches!(too_long, Err(Error::Invalid(_))));
    Ok(())
}

#[test]
fn disable_enable_and_delete_take_effect_on_the_very_next_request() -> anyhow::Result<()> {
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read")?;
    let other = ann_key(&f, "tickets.read")?;
    let header = code.authorization();
    auth(&f, &header)?;
    let disabled = f.desk.set_key_enabled(&f.root, code.id(), false)?;
    assert!(!disabled.enabled);
    assert!(matches!(auth(&f, &header), Err(AuthError::KeyDisabled { key }) if key == code.id()));
    assert!(
        matches!(
            auth(&f, &secret_for(&other, code.id())),
            Err(AuthError::InvalidCredentials)
        ),
        "a disabled key says so only to whoever proves its secret"
    );
    f.desk.set_key_enabled(&f.root, code.id(), true)?;
    assert!(auth(&f, &header).is_ok());

    f.desk.delete_key(&f.root, code.id())?;
    assert!(matches!(
        auth(&f, &header),
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        f.desk.key(&f.root, code.id()),
        Err(Error::NotFound { .. })
    ));
    let history = f.desk.history(&f.root, HistorySubject::Key(code.id()))?;
    let changes: Vec<_> = history.iter().map(|h| h.change.clone()).collect();
    assert_eq!(changes.first(), Some(&Change::Created));
    assert_eq!(changes.last(), Some(&Change::Deleted));
    assert_eq!(changes.len(), 4, "{changes:?}");
    f.desk.delete_key(&f.root, other.id())?;
    let next = ann_key(&f, "tickets.read")?;
    assert!(next.id().get() > other.id().get(), "ids are never reused");
    Ok(())
}

#[test]
fn an_update_applies_to_the_key_and_its_tokens_on_the_very_next_request() -> anyhow::Result<()> {
    let f = fixture()?;
    let ticket = billing_ticket(&f)?;
    let attrs = TicketAttributes::from(&ticket);
    let code = ann_key(&f, "tickets.read tickets.reply")?;
    let id = code.id();
    let header = code.authorization();
    let p = auth(&f, &header)?;
    let token = f.desk.mint_token(&p, NewToken::for_agent(f.ann.id))?;
    let token = token.token.authorization();
    let may_reply = |header: &str, address: &str| -> anyhow::Result<bool> {
        let p = f.desk.authenticate(header, None, Some(ip(address)?))?;
        Ok(f.desk.decide(&p, Action::TicketReply, &attrs).is_ok())
    };
    assert!(may_reply(&header, "192.0.2.1")? && may_reply(&token, "192.0.2.1")?);
    let verifications = f.desk.auth_stats().argon2_verifications;

    let narrowed = f.desk.update_key(
        &f.root,
        id,
        KeyUpdate {
            scopes: Some(scopes("tickets.read")?),
            ..KeyUpdate::default()
        },
    )?;
    assert_eq!(narrowed.scopes, scopes("tickets.read")?);
    assert!(
        !may_reply(&header, "192.0.2.1")?,
        "the key's scopes narrowed"
    );
    assert!(
        !may_reply(&token, "192.0.2.1")?,
        "and its token's with them"
    );

    let update = KeyUpdate {
        networks: Some(vec!["10.0.0.0/8".parse()?]),
        ..KeyUpdate::default()
    };
    f.desk.update_key(&f.root, id, update)?;
    for header in [&header, &token] {
        assert!(matches!(
            f.desk.authenticate(header, None, Some(ip("192.0.2.1")?)),
            Err(AuthError::AddressNotAllowed { key, .. }) if key == id
        ));
        assert!(
            f.desk
                .authenticate(header, None, Some(ip("10.1.2.3")?))
                .is_ok()
        );
    }
    let update = KeyUpdate {
        networks: Some(Vec::new()),
        expires_at: Some(Some(START.add_millis(10 * MINUTE))),
        ..KeyUpdate::default()
    };
    f.desk.update_key(&f.root, id, update)?;
    assert!(auth(&f, &header).is_ok(), "any address again");
    f.clock.set(START.add_millis(10 * MINUTE));
    for header in [&header, &token] {
        assert!(matches!(
            auth(&f, header),
            Err(AuthError::KeyExpired { .. })
        ));
    }
    let update = KeyUpdate {
        expires_at: Some(None),
        description: Some("  Ann's nightly sync ".into()),
        ..KeyUpdate::default()
    };
    let updated = f.desk.update_key(&f.root, id, update)?;
    assert_eq!(updated.description, "Ann's nightly sync");
    assert_eq!(updated.expires_at, None);
    assert_eq!(updated.updated_at, START.add_millis(10 * MINUTE));
    assert!(auth(&f, &header).is_ok() && auth(&f, &token).is_ok());
    assert_eq!(
        f.desk.auth_stats().argon2_verifications,
        verifications,
        "an update keeps the secret, so the secret's tag still proves it"
    );

    let history = f.desk.history(&f.root, HistorySubject::Key(id))?;
    let sets: Vec<_> = history
        .iter()
        .filter_map(|h| match &h.change {
            Change::Set { field, old, new } => Some((field.clone(), old.clone(), new.clone())),
            _ => None,
        })
        .collect();
    let names = |list: &[&str]| HistoryValue::Names(list.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        sets,
        [
            (
                HistoryField::Scopes,
                names(&["tickets.read", "tickets.reply"]),
                names(&["tickets.read"])
            ),
            (HistoryField::Networks, names(&[]), names(&["10.0.0.0/8"])),
            (
                HistoryField::ExpiresAt,
                HistoryValue::None,
                HistoryValue::Time(START.add_millis(10 * MINUTE))
            ),
            (HistoryField::Networks, names(&["10.0.0.0/8"]), names(&[])),
            (
                HistoryField::Description,
                HistoryValue::Text("Ann's sync".into()),
                HistoryValue::Text("Ann's nightly sync".into())
            ),
            (
                HistoryField::ExpiresAt,
                HistoryValue::Time(START.add_millis(10 * MINUTE)),
                HistoryValue::None
            ),
        ]
    );
    let same = f.desk.update_key(
        &f.root,
        id,
        KeyUpdate {
            scopes: Some(scopes("tickets.read")?),
            ..KeyUpdate::default()
        },
    )?;
    assert_eq!(same, updated, "an update that changes nothing");
    assert_eq!(
        f.desk.history(&f.root, HistorySubject::Key(id))?.len(),
        history.len()
    );
    Ok(())
}

#[test]
fn superuser_key_settings_change_who_it_acts_as_and_what_it_administers() -> anyhow::Result<()> {
    let f = fixture()?;
    let issued = portal_key(&f)?;
    let id = issued.key.id;
    let header = issued.code.authorization();
    assert!(matches!(
        auth(&f, &header),
        Err(AuthError::NoAgentToActAs { .. })
    ));
    let update = KeyUpdate {
        default_agent: Some(Some(f.ann.id)),
        ..KeyUpdate::default()
    };
    let updated = f.desk.update_key(&f.root, id, update)?;
    assert_eq!(
        updated.kind,
        KeyKind::Superuser {
            default_agent: Some(f.ann.id)
        }
    );
    assert_eq!(auth(&f, &header)?.actor(), Actor::Agent(f.ann.id));

    let admin = auth_as(&f, &header, ActAs::Agent(f.admin.id))?;
    assert!(f.desk.keys(&admin).is_err(), "no admin functions yet");
    let update = KeyUpdate {
        admin_functions: Some(true),
        ..KeyUpdate::default()
    };
    f.desk.update_key(&f.root, id, update)?;
    assert!(
        matches!(f.desk.keys(&admin), Err(Error::Revoked)),
        "a principal made before the change is refused"
    );
    let admin = auth_as(&f, &header, ActAs::Agent(f.admin.id))?;
    assert!(
        f.desk.keys(&admin).is_ok(),
        "admin functions from the next request on"
    );
    let update = KeyUpdate {
        admin_functions: Some(false),
        default_agent: Some(None),
        ..KeyUpdate::default()
    };
    f.desk.update_key(&admin, id, update)?;
    assert!(
        f.desk.keys(&admin).is_err(),
        "a key may take its own admin functions away"
    );
    assert!(matches!(
        auth(&f, &header),
        Err(AuthError::NoAgentToActAs { .. })
    ));
    let history = f.desk.history(&f.root, HistorySubject::Key(id))?;
    let last = history.last().map(|h| (&h.change, h.by.key));
    assert_eq!(
        last,
        Some((
            &Change::Set {
                field: HistoryField::DefaultAgent,
                old: HistoryValue::Agent(f.ann.id),
                new: HistoryValue::None,
            },
            Some(id)
        )),
        "recorded with the key that made the change"
    );
    Ok(())
}

#[test]
fn a_refused_update_says_why_and_changes_nothing() -> anyhow::Result<()> {
    let f = fixture()?;
    let agent_key = ann_key(&f, "tickets.read")?.id();
    let superuser = portal_key(&f)?.key.id;
    // Ann may manage keys, but issue (and so change) only her own, not a superuser key.
    let role = f
        .desk
        .create_role(&f.root, "key keeper", &["keys.manage"])?;
    f.desk
        .set_agent_roles(&f.root, f.ann.id, &[RoleId::new(2), role.id])?;
    let ann = f.as_agent(&f.ann)?;
    let before = f.desk.keys(&f.root)?;
    let cases: Vec<(&str, &Principal, KeyId, KeyUpdate)> = vec![
        (
            "empty scopes",
            &f.root,
            agent_key,
            (KeyUpdate {
                scopes: Some(Scopes::EMPTY),
                ..KeyUpdate::default()
            }),
        ),
        (
            "admin functions on an agent key",
            &f.root,
            agent_key,
            (KeyUpdate {
                admin_functions: Some(true),
                ..KeyUpdate::default()
            }),
        ),
        (
            "a default agent for an agent key",
            &f.root,
            agent_key,
            (KeyUpdate {
                default_agent: Some(Some(f.hal.id)),
                ..KeyUpdate::default()
            }),
        ),
        (
            "an expiry in the past",
            &f.root,
            agent_key,
            (KeyUpdate {
                expires_at: Some(Some(START)),
                ..KeyUpdate::default()
            }),
        ),
        (
            "too many networks",
            &f.root,
            agent_key,
            (KeyUpdate {
                networks: Some(vec!["10.0.0.0/8".parse()?; 65]),
                ..KeyUpdate::default()
            }),
        ),
        (
            "an empty description",
            &f.root,
            agent_key,
            (KeyUpdate {
                description: Some("  ".into()),
                ..KeyUpdate::default()
            }),
        ),
        (
            "an unknown default agent",
            &f.root,
            superuser,
            (KeyUpdate {
                default_agent: Some(Some(helpdesk::AgentId::new(999))),
                ..KeyUpdate::default()
            }),
        ),
        (
            "an unknown key",
            &f.root,
            KeyId::new(999),
            (KeyUpdate {
                description: Some("x".into()),
                ..KeyUpdate::default()
            }),
        ),
        (
            "a superuser key by a non-administrator",
            &ann,
            superuser,
            (KeyUpdate {
                description: Some("mine".into()),
                ..KeyUpdate::default()
            }),
        ),
    ];
    for (what, p, id, update) in cases {
        let result = f.desk.update_key(p, id, update);
        let error = result.expect_err(what);
        let expected = match what {
            "an unknown key" | "an unknown default agent" => {
                matches!(error, Error::NotFound { .. })
            }
            // A key its holder could not have issued reads like a missing one.
            "a superuser key by a non-administrator" => matches!(error, Error::NotFound { .. }),
            _ => matches!(error, Error::Invalid(_)),
        };
        assert!(expected, "{what}: {error:?}");
        assert_eq!(f.desk.keys(&f.root)?, before, "{what} changed something");
    }
    let through_agent_key = auth(&f, &ann_key(&f, "keys.manage")?.authorization())?;
    let update = KeyUpdate {
        description: Some("renamed".into()),
        ..KeyUpdate::default()
    };
    assert!(matches!(
        f.desk.update_key(&through_agent_key, agent_key, update),
        Err(Error::Denied(_))
    ));
    Ok(())
}

#[test]
fn an_expired_key_is_refused_from_its_expiry_on() -> anyhow::Result<()> {
    let f = fixture()?;
    let mut key = NewKey::agent("Temporary", f.ann.id, scopes("tickets.read")?);
    key.expires_at = Some(START.add_millis(60 * MINUTE));
    let issued = f.desk.create_key(&f.root, key.clone())?;
    let header = issued.code.authorization();
    f.clock.set(START.add_millis(60 * MINUTE - 1));
    assert!(auth(&f, &header).is_ok());
    f.clock.set(START.add_millis(60 * MINUTE));
    match auth(&f, &header) {
        Err(e @ AuthError::KeyExpired { .. }) => {
            assert_eq!(
                e.to_string(),
                format!("key {} expired at 2026-01-01T01:00:00.000Z", issued.key.id)
            );
        }
        other => panic!("{other:?}"),
    }
    let in_the_past = f.desk.create_key(&f.root, key);
    assert!(
        matches!(in_the_past, Err(Error::Invalid(_))),
        "{in_the_past:?}"
    );
    Ok(())
}

#[test]
fn source_networks_are_checked_on_every_request() -> anyhow::Result<()> {
    let f = fixture()?;
    let mut key = NewKey::agent("Office only", f.ann.id, scopes("tickets.read")?);
    key.networks = vec!["10.0.0.0/8".parse()?, "2001:db8::/32".parse()?];
    let issued = f.desk.create_key(&f.root, key)?;
    assert_eq!(issued.key.networks.len(), 2);
    let header = issued.code.authorization();
    let from = |address: Option<&str>| {
        let address = address.map(str::parse::<IpAddr>).transpose();
        f.desk.authenticate(&header, None, address.ok().flatten())
    };
    for allowed in ["10.1.2.3", "::ffff:10.200.0.1", "2001:db8:1::5"] {
        assert!(from(Some(allowed)).is_ok(), "{allowed}");
    }
    for refused in ["192.168.0.1", "11.0.0.1", "2001:db9::1"] {
        match from(Some(refused)) {
            Err(e @ AuthError::AddressNotAllowed { .. }) => assert_eq!(
                e.to_string(),
                format!(
                    "key {} does not accept requests from `{refused}`",
                    issued.key.id
                )
            ),
            other => panic!("{refused}: {other:?}"),
        }
    }
    assert!(matches!(
        from(None),
        Err(AuthError::AddressNotAllowed { address: None, .. })
    ));
    let token = f
        .desk
        .mint_token(&from(Some("10.0.0.1"))?, NewToken::for_agent(f.ann.id))?;
    let token = token.token.authorization();
    assert!(
        f.desk
            .authenticate(&token, None, Some(ip("10.9.9.9")?))
            .is_ok()
    );
    assert!(
        f.desk
            .authenticate(&token, None, Some(ip("8.8.8.8")?))
            .is_err(),
        "a token is held to its key's networks"
    );
    Ok(())
}

#[test]
fn a_v4_mapped_network_is_the_ipv4_network() -> anyhow::Result<()> {
    let f = fixture()?;
    let mut key = NewKey::agent("Mapped office", f.ann.id, scopes("tickets.read")?);
    key.networks = vec!["::ffff:10.0.0.0/104".parse()?, "::/0".parse()?];
    let issued = f.desk.create_key(&f.root, key)?;
    let listed: Vec<String> = f
        .desk
        .key(&f.root, issued.key.id)?
        .networks
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(listed, ["10.0.0.0/8", "::/0"]);
    let header = issued.code.authorization();
    let from = |address: &str| f.desk.authenticate(&header, None, address.parse().ok());
    for allowed in ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::1"] {
        assert!(from(allowed).is_ok(), "{allowed}");
    }
    for refused in ["11.0.0.1", "::ffff:11.0.0.1"] {
        assert!(
            matches!(from(refused), Err(AuthError::AddressNotAllowed { .. })),
            "{refused}: `::/0` covers IPv6 clients only"
        );
    }
    Ok(())
}

#[test]
fn tokens_are_minted_with_a_lifetime_and_at_most_the_keys_scopes() -> anyhow::Result<()> {
    let f = fixture_with(|o| o.with_scheme_alias("DdAccessToken", CredentialScheme::Token))?;
    let code = ann_key(&f, "tickets.read tickets.reply")?;
    let key = auth(&f, &code.authorization())?;
    let minted = f.desk.mint_token(&key, NewToken::for_agent(f.ann.id))?;
    assert_eq!(minted.expires_in, 3600);
    assert_eq!(minted.expires_on, START.add_millis(60 * MINUTE));
    assert_eq!(minted.scopes, scopes("tickets.read tickets.reply")?);
    assert_eq!(
        (minted.key, minted.person),
        (code.id(), ActAs::Agent(f.ann.id))
    );
    assert!(minted.token.expose().starts_with("hdt_"));
    assert_eq!(minted.token.id(), minted.id);
    let text = minted.token.expose();
    for header in [
        format!("Bearer {text}"),
        format!("token {text}"),
        format!("ddaccesstoken {text}"),
    ] {
        let p = auth(&f, &header)?;
        assert_eq!(p.actor(), Actor::Agent(f.ann.id));
        assert_eq!((p.key(), p.token()), (Some(code.id()), Some(minted.id)));
    }

    let narrow = f.desk.mint_token(
        &key,
        NewToken::for_agent(f.ann.id)
            .with_scopes(scopes("tickets.read")?)
            .with_lifetime_minutes(5),
    )?;
    assert_eq!(narrow.expires_in, 300);
    let p = auth(&f, &narrow.token.authorization())?;
    assert_eq!(p.scopes(), scopes("tickets.read")?);
    let ticket = billing_ticket(&f)?;
    let denied = f
        .desk
        .decide(&p, Action::TicketReply, &TicketAttributes::from(&ticket))
        .expect_err("the token lacks tickets.reply");
    assert_eq!(denied.missing_scope(), Some(Action::TicketReply));

    let check = |token: NewToken, expected: &str| {
        let message = match f.desk.mint_token(&key, token) {
            Err(e) => e.to_string(),
            Ok(minted) => panic!("minted {minted:?}"),
        };
        assert_eq!(message, expected);
    };
    check(
        NewToken::for_agent(f.ann.id).with_scopes(scopes("tickets.read tickets.delete")?),
        &format!(
            "`scopes` is not valid: `tickets.delete` is not allowed by key {}",
            code.id()
        ),
    );
    check(
        NewToken::for_agent(f.ann.id).with_lifetime_minutes(24 * 60 + 1),
        "`lifetime_minutes` is not valid: `1441` is more than the 1440 minutes allowed",
    );
    check(
        NewToken::for_agent(f.ann.id).with_lifetime_minutes(0),
        "`lifetime_minutes` is not valid: must be at least one minute",
    );
    check(
        NewToken::for_agent(f.hal.id),
        "denied: an agent key mints access tokens for its own agent only",
    );
    let through_token = auth(&f, &minted.token.authorization())?;
    let again = f
        .desk
        .mint_token(&through_token, NewToken::for_agent(f.ann.id));
    assert!(matches!(again, Err(Error::Denied(_))));
    assert!(
        f.desk
            .mint_token(&f.root, NewToken::for_agent(f.ann.id))
            .is_err()
    );
    let acting = auth_as(&f, &minted.token.authorization(), ActAs::Agent(f.hal.id));
    assert!(
        matches!(acting, Err(AuthError::TokenCannotActAs { .. })),
        "{acting:?}"
    );

    let history = f.desk.history(&f.root, HistorySubject::Key(code.id()))?;
    assert!(history.iter().any(|h| h.change
        == Change::TokenMinted {
            token: minted.id,
            person: ActAs::Agent(f.ann.id),
            expires_at: minted.expires_on
        }
        && h.by.key == Some(code.id())));
    Ok(())
}

#[test]
fn tokens_expire_and_die_when_their_key_is_regenerated() -> anyhow::Result<()> {
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read")?;
    let mint = |minutes: u32| -> anyhow::Result<String> {
        let key = auth(&f, &code.authorization())?;
        let token = NewToken::for_agent(f.ann.id).with_lifetime_minutes(minutes);
        Ok(f.desk.mint_token(&key, token)?.token.authorization())
    };
    let dead = |header: &str| matches!(auth(&f, header), Err(AuthError::InvalidCredentials));

    let short = mint(1)?;
    f.clock.set(START.add_millis(MINUTE - 1));
    assert!(auth(&f, &short).is_ok());
    f.clock.set(START.add_millis(MINUTE));
    assert!(matches!(
        auth(&f, &short),
        Err(AuthError::TokenExpired { .. })
    ));

    let token = mint(60)?;
    let new_code = f.desk.regenerate_key(&f.root, code.id(), None)?.code;
    assert!(dead(&token), "regenerated");
    let code = new_code;
    let mint = |minutes: u32| -> anyhow::Result<String> {
        let key = auth(&f, &code.authorization())?;
        let token = NewToken::for_agent(f.ann.id).with_lifetime_minutes(minutes);
        Ok(f.desk.mint_token(&key, token)?.token.authorization())
    };
    let with_overlap = mint(60)?;
    f.desk
        .regenerate_key(&f.root, code.id(), Some(Duration::from_secs(600)))?;
    assert!(
        dead(&with_overlap),
        "an overlap window keeps the old secret, not the tokens"
    );
    Ok(())
}

#[test]
fn tokens_die_when_their_key_is_disabled_or_deleted_or_their_agent_disabled() -> anyhow::Result<()>
{
    let f = fixture()?;
    let key = portal_key(&f)?;
    let mint = |person: ActAs| -> anyhow::Result<String> {
        let token = NewToken {
            person,
            scopes: None,
            lifetime_minutes: None,
        };
        Ok(f.system
            .mint_token(key.key.id, token)?
            .token
            .authorization())
    };
    let dead = |header: &str| matches!(auth(&f, header), Err(AuthError::InvalidCredentials));

    let token = mint(ActAs::Agent(f.ann.id))?;
    f.desk.set_key_enabled(&f.root, key.key.id, false)?;
    assert!(dead(&token));
    f.desk.set_key_enabled(&f.root, key.key.id, true)?;
    assert!(
        dead(&token),
        "enabling the key again does not revive its tokens"
    );

    let token = mint(ActAs::Agent(f.hal.id))?;
    assert!(auth(&f, &token).is_ok());
    f.desk.update_agent(
        &f.root,
        f.hal.id,
        AgentUpdate {
            active: Some(false),
            ..AgentUpdate::default()
        },
    )?;
    assert!(dead(&token), "disabling the agent kills its tokens");
    assert!(
        f.system
            .mint_token(key.key.id, NewToken::for_agent(f.hal.id))
            .is_err()
    );

    let token = mint(ActAs::Requester(f.bob.id))?;
    f.desk.delete_key(&f.root, key.key.id)?;
    assert!(dead(&token));
    assert_eq!(f.desk.auth_stats().tokens, 0);
    Ok(())
}

#[test]
fn a_portal_token_has_the_requesters_rights_and_history_records_key_and_token() -> anyhow::Result<()>
{
    let f = fixture()?;
    let key = portal_key(&f)?;
    let portal = auth_as(&f, &key.code.authorization(), ActAs::Requester(f.bob.id))?;
    let minted = f
        .desk
        .mint_token(&portal, NewToken::for_requester(f.bob.id))?;
    let bob = auth(&f, &minted.token.authorization())?;
    assert_eq!(bob.actor(), Actor::Requester(f.bob.id));
    let own = billing_ticket(&f)?;
    let other = f
        .desk
        .create_ticket(&f.root, NewTicket::new("Cat's", f.billing.id, f.cat.id))?;
    let reply = f
        .desk
        .add_message(&bob, own.id, NewMessage::reply("Thanks"))?;
    assert!(f.desk.ticket(&bob, other.id).is_err());
    let entry = f
        .desk
        .ticket_history(&f.root, own.id)?
        .into_iter()
        .find(|h| {
            h.change
                == Change::MessageAdded {
                    message: reply.id,
                    kind: reply.kind,
                }
        })
        .expect("recorded");
    assert_eq!(entry.by.actor, Actor::Requester(f.bob.id));
    assert_eq!(
        (entry.by.key, entry.by.token),
        (Some(key.key.id), Some(minted.id))
    );

    f.desk.revoke_token(&bob, minted.id)?;
    assert!(matches!(
        auth(&f, &minted.token.authorization()),
        Err(AuthError::InvalidCredentials)
    ));
    let second = f
        .desk
        .mint_token(&portal, NewToken::for_requester(f.bob.id))?;
    let ann = f.as_agent(&f.ann)?;
    assert!(f.desk.revoke_token(&ann, second.id).is_err());
    f.desk.revoke_token(&portal, second.id)?;
    assert!(auth(&f, &second.token.authorization()).is_err());
    Ok(())
}

#[test]
fn the_request_log_keeps_exactly_the_last_50_requests() -> anyhow::Result<()> {
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read")?;
    let other = ann_key(&f, "tickets.read")?;
    let header = code.authorization();
    for i in 0..59 {
        f.clock.set(START.add_millis(i * 1000));
        let operation = format!("GET /tickets/{i}");
        let request = ApiRequest::new(&header)
            .operation(&operation)
            .source_ip(ip("10.0.0.7")?);
        f.desk.authenticate_request(&request)?;
    }
    f.clock.set(START.add_millis(59_000));
    assert!(auth(&f, &secret_for(&other, code.id())).is_err());
    let log = f.desk.key_log(&f.root, code.id())?;
    assert_eq!(log.len(), 50);
    let newest = &log[0];
    assert_eq!(newest.at, START.add_millis(59_000));
    assert_eq!(newest.outcome, RequestOutcome::InvalidCredentials);
    assert_eq!((newest.actor, newest.operation.as_str()), (None, "request"));
    let oldest = &log[49];
    assert_eq!(oldest.operation, "GET /tickets/10");
    assert_eq!(oldest.actor, Some(ActAs::Agent(f.ann.id)));
    assert_eq!(oldest.outcome, RequestOutcome::Accepted);
    assert_eq!(oldest.source_ip, Some(ip("10.0.0.7")?));
    let times: Vec<Timestamp> = log.iter().map(|r| r.at).collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(f.desk.key_log(&f.root, other.id())?.is_empty());

    for _ in 0..5 {
        auth(&f, &header)?;
    }
    let log = f.desk.key_log(&f.root, code.id())?;
    assert_eq!(log.len(), 50);
    assert_eq!(log[49].operation, "GET /tickets/15");
    Ok(())
}

#[test]
fn requests_of_many_threads_all_reach_the_log_and_revocation_reaches_every_thread()
-> anyhow::Result<()> {
    const THREADS: usize = 4;
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read")?;
    let header = code.authorization();
    let barrier = std::sync::Barrier::new(THREADS + 1);
    let refused = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (f, header, barrier) = (&f, &header, &barrier);
                scope.spawn(move || {
                    for i in 0..10 {
                        let operation = format!("thread {t} request {i}");
                        let request = ApiRequest::new(header).operation(&operation);
                        assert!(f.desk.authenticate_request(&request).is_ok());
                    }
                    // Every thread now holds its own copy of the key table.
                    barrier.wait();
                    barrier.wait();
                    matches!(
                        f.desk.authenticate(header, None, None),
                        Err(AuthError::KeyDisabled { .. })
                    )
                })
            })
            .collect();
        barrier.wait();
        f.desk.set_key_enabled(&f.root, code.id(), false)?;
        barrier.wait();
        Ok(workers
            .into_iter()
            .map(|w| w.join().unwrap_or(false))
            .filter(|refused| *refused)
            .count())
    })?;
    assert_eq!(refused, THREADS, "the very next request of every thread");
    let log = f.desk.key_log(&f.root, code.id())?;
    assert_eq!(log.len(), THREADS * 10 + THREADS);
    for t in 0..THREADS {
        let mine: Vec<&str> = log
            .iter()
            .rev()
            .filter(|r| r.operation.starts_with(&format!("thread {t} ")))
            .map(|r| r.operation.as_str())
            .collect();
        let expected: Vec<String> = (0..10).map(|i| format!("thread {t} request {i}")).collect();
        assert_eq!(mine, expected, "each thread's requests, in its order");
    }
    let disabled = log
        .iter()
        .filter(|r| r.outcome == RequestOutcome::KeyDisabled)
        .count();
    assert_eq!(disabled, THREADS);
    Ok(())
}

#[test]
fn a_thread_serving_many_helpdesks_sees_each_ones_changes() -> anyhow::Result<()> {
    // More helpdesks than a thread keeps copies for, used in turn.
    let desks = (0..10)
        .map(|_| -> anyhow::Result<(Fixture, KeyCode)> {
            let f = fixture()?;
            let code = ann_key(&f, "tickets.read")?;
            Ok((f, code))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for _ in 0..20 {
        for (f, code) in &desks {
            auth(f, &code.authorization())?;
        }
    }
    for (f, _) in &desks {
        // The key's shared ring and the one this thread holds or let go: a thread that keeps
        // coming back takes the ring it let go, never a new one.
        assert_eq!(f.desk.auth_stats().log_rings, 2);
    }
    let (first, first_code) = &desks[0];
    first.desk.delete_key(&first.root, first_code.id())?;
    let (last, last_code) = &desks[9];
    last.desk
        .set_key_enabled(&last.root, last_code.id(), false)?;
    for (i, (f, code)) in desks.iter().enumerate() {
        let result = auth(f, &code.authorization());
        match i {
            0 => assert!(matches!(result, Err(AuthError::InvalidCredentials))),
            9 => assert!(matches!(result, Err(AuthError::KeyDisabled { .. }))),
            _ => assert!(result.is_ok(), "{result:?}"),
        }
        if i > 0 {
            assert_eq!(f.desk.key_log(&f.root, code.id())?.len(), 21);
        }
    }
    // A key id of one helpdesk is another key in the next: each request lands in its own log.
    assert_eq!(desks[1].1.id(), desks[2].1.id());
    Ok(())
}

/// A clock whose cheap reading lags the precise one by 400 ms and says it may lag by a second.
#[derive(Debug)]
struct LaggingClock(ManualClock);

impl helpdesk::Clock for LaggingClock {
    fn now(&self) -> Timestamp {
        self.0.now()
    }

    fn recent(&self) -> helpdesk::Reading {
        helpdesk::Reading {
            at: self.0.now().add_millis(-400),
            lag_ms: 1_000,
        }
    }
}

#[test]
fn expiry_is_judged_by_the_precise_clock_when_the_cheap_reading_cannot_tell() -> anyhow::Result<()>
{
    let clock = ManualClock::new(START);
    let (desk, system) = Helpdesk::open_in_memory(
        Options::default()
            .with_clock(LaggingClock(clock.clone()))
            .with_secret_hashing(SecretHashing::InsecureForTests),
    )?;
    let f = Fixture::populate(desk, system, clock)?;
    let mut key = NewKey::agent("Temporary", f.ann.id, scopes("tickets.read")?);
    key.expires_at = Some(START.add_millis(60 * MINUTE));
    let issued = f.desk.create_key(&f.root, key)?;
    let header = issued.code.authorization();
    let token = {
        let p = auth(&f, &header)?;
        f.desk
            .mint_token(&p, NewToken::for_agent(f.ann.id).with_lifetime_minutes(10))?
            .token
            .authorization()
    };
    // Far from any boundary the cheap reading settles it.
    auth(&f, &header)?;
    auth(&f, &token)?;
    // Within the reading's lag of a boundary the precise clock decides, to the millisecond.
    f.clock.set(START.add_millis(10 * MINUTE - 1));
    auth(&f, &token)?;
    f.clock.set(START.add_millis(10 * MINUTE));
    assert!(matches!(
        auth(&f, &token),
        Err(AuthError::TokenExpired { .. })
    ));
    f.clock.set(START.add_millis(60 * MINUTE - 1));
    auth(&f, &header)?;
    f.clock.set(START.add_millis(60 * MINUTE));
    assert!(matches!(
        auth(&f, &header),
        Err(AuthError::KeyExpired { .. })
    ));
    // The log records the precise time when it was read, else the cheap reading.
    let log = f.desk.key_log(&f.root, issued.key.id)?;
    assert_eq!(log[0].at, START.add_millis(60 * MINUTE));
    let cheap = log.iter().find(|r| r.at == START.add_millis(-400));
    assert!(cheap.is_some(), "{log:?}");
    Ok(())
}

#[test]
fn keys_tokens_and_logs_survive_a_reopen() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let clock = ManualClock::new(START);
    let options = || {
        Options::default()
            .with_clock(clock.clone())
            .with_secret_hashing(SecretHashing::InsecureForTests)
    };
    let (code, token, old, new) = {
        let (desk, system) = Helpdesk::open(&path, options())?;
        let f = Fixture::populate(desk, system, clock.clone())?;
        let code = ann_key(&f, "tickets.read")?;
        let p = auth(&f, &code.authorization())?;
        let token = f.desk.mint_token(&p, NewToken::for_agent(f.ann.id))?;
        let old = ann_key(&f, "tickets.read")?;
        let overlap = Some(Duration::from_secs(600));
        let new = f.desk.regenerate_key(&f.root, old.id(), overlap)?.code;
        (code, token.token.authorization(), old, new)
    };
    let (desk, system) = Helpdesk::open(&path, options())?;
    assert_eq!(
        desk.key_log(&system.principal(), code.id())?.len(),
        1,
        "flushed on close"
    );
    let before = desk.auth_stats().argon2_verifications;
    for _ in 0..3 {
        desk.authenticate(code.authorization(), None, None)?;
        desk.authenticate(&token, None, None)?;
    }
    assert_eq!(
        desk.auth_stats().argon2_verifications - before,
        2,
        "one argon2 run per secret after a restart, then the in-memory tag"
    );
    assert_eq!(desk.key_log(&system.principal(), code.id())?.len(), 7);

    // The replaced secret of a regeneration with overlap: argon2 against the previous hash
    // once, then the tag, until the window ends.
    for _ in 0..3 {
        desk.authenticate(old.authorization(), None, None)?;
        desk.authenticate(new.authorization(), None, None)?;
    }
    assert_eq!(desk.auth_stats().argon2_verifications - before, 4);
    clock.set(START.add_millis(10 * MINUTE));
    assert!(matches!(
        desk.authenticate(old.authorization(), None, None),
        Err(AuthError::InvalidCredentials)
    ));
    assert!(desk.authenticate(new.authorization(), None, None).is_ok());
    Ok(())
}

#[test]
fn a_flood_of_wrong_secrets_runs_a_bounded_number_of_argon2_verifications() -> anyhow::Result<()> {
    let f = fixture()?;
    let code = ann_key(&f, "tickets.read")?;
    let other = ann_key(&f, "tickets.read")?;
    let wrong = secret_for(&other, code.id());
    let unknown = secret_for(&other, KeyId::new(9_999));
    auth(&f, &code.authorization())?;
    let start = f.desk.auth_stats().argon2_verifications;
    let mut known_errors = Vec::new();
    let mut unknown_errors = Vec::new();
    for _ in 0..1_000 {
        known_errors.push(auth(&f, &wrong).expect_err("wrong").to_string());
        unknown_errors.push(auth(&f, &unknown).expect_err("unknown").to_string());
        assert!(
            auth(&f, &code.authorization()).is_ok(),
            "the right secret is never locked out"
        );
    }
    let ran = f.desk.auth_stats().argon2_verifications - start;
    assert_eq!(ran, 10, "five per id, then the per-id limit refuses");
    assert_eq!(
        known_errors, unknown_errors,
        "refusals say nothing about existence"
    );
    assert_eq!(known_errors[0], "credentials are not valid");
    assert_eq!(
        known_errors[5],
        "too many attempts with these credentials, retry in 2000 ms"
    );

    f.clock.advance_millis(2_000);
    assert!(matches!(
        auth(&f, &wrong),
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        auth(&f, &wrong),
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert_eq!(f.desk.auth_stats().argon2_verifications - start, 11);

    // Spraying many ids at once: the overall limit caps the total work.
    let before = f.desk.auth_stats().argon2_verifications;
    let refused = (10_000..10_500)
        .filter(|id| {
            let header = secret_for(&other, KeyId::new(*id));
            matches!(auth(&f, &header), Err(AuthError::TooManyAttempts { .. }))
        })
        .count();
    let ran = f.desk.auth_stats().argon2_verifications - before;
    assert!(ran <= 32, "{ran} argon2 runs for 500 ids");
    assert_eq!(refused as u64, 500 - ran);
    Ok(())
}

#[test]
fn no_secret_shows_in_any_error_or_debug_output() -> anyhow::Result<()> {
    let f = fixture()?;
    let mut new = NewKey::superuser("Everything", None, scopes("tickets.read")?);
    new.networks = vec!["10.0.0.0/8".parse()?];
    let issued = f.desk.create_key(&f.root, new)?;
    let code = &issued.code;
    let from = Some(ip("10.0.0.1")?);
    let p = f
        .desk
        .authenticate(code.authorization(), Some(ActAs::Agent(f.ann.id)), from)?;
    let minted = f.desk.mint_token(&p, NewToken::for_agent(f.ann.id))?;
    let token = minted.token.expose().to_owned();
    let header = code.authorization();
    let requests = [
        f.desk.authenticate(&header, None, from),
        f.desk.authenticate(&header, None, Some(ip("8.8.8.8")?)),
        f.desk.authenticate(
            &header,
            Some(ActAs::Agent(helpdesk::AgentId::new(77))),
            from,
        ),
        f.desk.authenticate(
            format!("Bearer {token}"),
            Some(ActAs::Agent(f.hal.id)),
            from,
        ),
        f.desk.authenticate(format!("Bearer {token}x"), None, from),
        f.desk
            .authenticate(format!("key {}", &code.expose()[..20]), None, from),
        f.desk
            .authenticate(header.replace("hdk_", "hdk-"), None, from),
    ];
    let regenerated = f.desk.regenerate_key(&f.root, code.id(), None)?;
    let mut shown = format!(
        "{issued:?} {minted:?} {p:?} {regenerated:?} {:?}",
        ApiRequest::new(&header)
    );
    for result in &requests {
        shown.push_str(&format!("{result:?}"));
        if let Err(e) = result {
            shown.push_str(&e.to_string());
        }
    }
    let stale = f.desk.authenticate(&header, None, from);
    shown.push_str(&format!(
        "{stale:?} {}",
        stale.as_ref().map(drop).unwrap_err()
    ));
    for secret in [
        secret_of(code),
        secret_of(&regenerated.code),
        token[4..].to_owned(),
    ] {
        assert!(!shown.contains(&secret[4..]), "{shown}");
    }
    Ok(())
}

#[test]
fn production_parameters_at_rest_and_no_secret_on_disk() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let clock = ManualClock::new(START);
    let (code, token) = {
        let (desk, system) = Helpdesk::open(&path, Options::default().with_clock(clock.clone()))?;
        let f = Fixture::populate(desk, system, clock.clone())?;
        let code = ann_key(&f, "tickets.read")?;
        let p = auth(&f, &code.authorization())?;
        let minted = f.desk.mint_token(&p, NewToken::for_agent(f.ann.id))?;
        auth(&f, &minted.token.authorization())?;
        (secret_of(&code), minted.token.expose().to_owned())
    };
    let db = rusqlite::Connection::open(&path)?;
    for table in ["api_keys", "access_tokens"] {
        let hash: String = db.query_row(&format!("SELECT secret_hash FROM {table}"), [], |r| {
            r.get(0)
        })?;
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{table}: {hash}"
        );
    }
    drop(db);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path())? {
        bytes.extend(std::fs::read(entry?.path())?);
    }
    for secret in [&code[4..], &token[4..]] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret was written to disk"
        );
    }
    Ok(())
}

#[test]
fn a_secret_hashed_with_other_parameters_is_rehashed_on_its_first_use() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let clock = ManualClock::new(START);
    let stored_hash = || -> anyhow::Result<String> {
        let db = rusqlite::Connection::open(&path)?;
        Ok(db.query_row("SELECT secret_hash FROM api_keys", [], |r| r.get(0))?)
    };
    let code = {
        let options = Options::default()
            .with_clock(clock.clone())
            .with_secret_hashing(SecretHashing::InsecureForTests);
        let (desk, system) = Helpdesk::open(&path, options)?;
        let f = Fixture::populate(desk, system, clock.clone())?;
        ann_key(&f, "tickets.read")?
    };
    assert!(stored_hash()?.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
    let production = || Options::default().with_clock(clock.clone());
    {
        let (desk, system) = Helpdesk::open(&path, production())?;
        let before = desk.key(&system.principal(), code.id())?;
        for _ in 0..3 {
            desk.authenticate(code.authorization(), None, None)?;
        }
        let stats = desk.auth_stats();
        assert_eq!(
            stats.secrets_rehashed, 1,
            "once, on the first successful verification"
        );
        assert_eq!(
            desk.key(&system.principal(), code.id())?.updated_at,
            before.updated_at,
            "a rehash is not a change of the key's settings"
        );
        assert!(
            desk.history(&system.principal(), HistorySubject::Key(code.id()))?
                .len()
                == 1
        );
    }
    assert!(
        stored_hash()?.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "the stored hash now has the configured parameters"
    );
    let (desk, _system) = Helpdesk::open(&path, production())?;
    desk.authenticate(code.authorization(), None, None)?;
    assert_eq!(
        desk.auth_stats().secrets_rehashed,
        0,
        "nothing left to rehash"
    );
    assert!(matches!(
        desk.authenticate(secret_for(&code, KeyId::new(999)), None, None),
        Err(AuthError::InvalidCredentials)
    ));
    Ok(())
}

#[test]
fn key_changes_emit_events_with_their_attribution() -> anyhow::Result<()> {
    let f = fixture()?;
    f.desk.register_consumer(&f.root, "keys", StartFrom::Now)?;
    let key = portal_key(&f)?;
    f.desk.regenerate_key(&f.root, key.key.id, None)?;
    f.desk.set_key_enabled(&f.root, key.key.id, false)?;
    f.desk.set_key_enabled(&f.root, key.key.id, true)?;
    let token = f
        .system
        .mint_token(key.key.id, NewToken::for_requester(f.bob.id))?;
    f.desk.revoke_token(&f.root, token.id)?;
    f.desk.delete_key(&f.root, key.key.id)?;
    let kinds: Vec<EventKind> = f
        .desk
        .read_events(&f.root, "keys", 100)?
        .events
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::KeyCreated,
            EventKind::KeyRegenerated,
            EventKind::KeyUpdated,
            EventKind::KeyUpdated,
            EventKind::TokenMinted,
            EventKind::TokenRevoked,
            EventKind::KeyDeleted,
        ]
    );
    Ok(())
}

#[test]
fn bad_options_are_refused_when_opening() {
    let open = |options: Options| Helpdesk::open_in_memory(options).map(drop);
    let alias = Options::default().with_scheme_alias("Bearer", CredentialScheme::Key);
    assert!(matches!(open(alias), Err(Error::Invalid(_))));
    let spaces = Options::default().with_scheme_alias("Dd Api", CredentialScheme::Key);
    assert!(matches!(open(spaces), Err(Error::Invalid(_))));
    let weak = Options::default().with_secret_hashing(SecretHashing::Custom {
        memory_kib: 8 * 1024,
        iterations: 1,
        lanes: 1,
    });
    assert!(matches!(open(weak), Err(Error::Invalid(_))));
    let strong = Options::default().with_secret_hashing(SecretHashing::Custom {
        memory_kib: 64 * 1024,
        iterations: 3,
        lanes: 1,
    });
    assert!(open(strong).is_ok());
}

/// A helpdesk where one agent has random role permissions, department levels and
/// only-assigned flag, and an agent key with random scopes.
struct RightsCase {
    permissions: Vec<Action>,
    levels: [Option<AccessLevel>; 2],
    only_assigned: bool,
    key_scopes: Vec<Action>,
}

fn check_rights(case: &RightsCase) -> anyhow::Result<()> {
    let f = fixture()?;
    let names: Vec<&str> = case.permissions.iter().map(|a| a.name()).collect();
    let role = f.desk.create_role(&f.root, "random", &names)?;
    let departments = [f.billing.id, f.hardware.id];
    f.desk.remove_member(&f.root, f.billing.id, f.ann.id)?;
    for (department, level) in departments.iter().zip(case.levels) {
        if let Some(level) = level {
            f.desk.add_member(&f.root, *department, f.ann.id, level)?;
        }
    }
    f.desk.set_agent_roles(&f.root, f.ann.id, &[role.id])?;
    f.desk.update_agent(
        &f.root,
        f.ann.id,
        AgentUpdate {
            only_assigned: Some(case.only_assigned),
            ..AgentUpdate::default()
        },
    )?;
    // A key needs at least one scope.
    let mut key_scopes: Scopes = case.key_scopes.iter().copied().collect();
    if key_scopes.is_empty() {
        key_scopes = Scopes::from(Action::EventRead);
    }
    let code = f
        .desk
        .create_key(&f.root, NewKey::agent("random", f.ann.id, key_scopes))?
        .code;
    let agent = f.as_agent(&f.ann)?;
    let key = auth(&f, &code.authorization())?;
    let tickets = departments.iter().flat_map(|&department| {
        [None, Some(f.ann.id)].map(|assignee| TicketAttributes {
            department,
            assignee,
            requester: f.bob.id,
            organization: None,
        })
    });
    for ticket in tickets {
        for &action in Action::ALL {
            let by_agent = f.desk.decide(&agent, action, &ticket).is_ok();
            let by_key = f.desk.decide(&key, action, &ticket).is_ok();
            let in_scope = key.scopes().contains(action);
            anyhow::ensure!(
                by_key == (by_agent && in_scope),
                "{action} on {ticket:?}: key {by_key}, agent {by_agent}, in scope {in_scope}"
            );
        }
    }
    Ok(())
}

fn level() -> impl Strategy<Value = Option<AccessLevel>> {
    prop_oneof![
        Just(None),
        Just(Some(AccessLevel::Read)),
        Just(Some(AccessLevel::Create)),
        Just(Some(AccessLevel::Change)),
        Just(Some(AccessLevel::Full)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_keys_rights_are_exactly_its_scopes_within_its_agents_rights(
        permissions in proptest::sample::subsequence(Action::ALL.to_vec(), 0..=Action::ALL.len()),
        levels in [level(), level()],
        only_assigned in any::<bool>(),
        key_scopes in proptest::sample::subsequence(Action::ALL.to_vec(), 0..=Action::ALL.len()),
    ) {
        let case = RightsCase { permissions, levels, only_assigned, key_scopes };
        if let Err(e) = check_rights(&case) {
            return Err(TestCaseError::fail(e.to_string()));
        }
    }

    #[test]
    fn authenticate_never_panics_and_never_echoes_its_input(
        scheme in prop_oneof![
            Just(""), Just("key "), Just("Basic "), Just("Bearer "), Just("token "), Just("KEY\t"),
        ],
        body in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let f = HEADER_FIXTURE.with(|f| f.clone());
        let mut header = scheme.as_bytes().to_vec();
        header.extend(&body);
        let result = f.authenticate(&header, None, None);
        prop_assert!(result.is_err());
        let shown = format!("{result:?} {}", result.as_ref().map(drop).unwrap_err());
        let text = String::from_utf8_lossy(&body);
        if text.trim().len() >= 12 {
            prop_assert!(!shown.contains(text.trim()), "{}", shown);
        }
    }
}

thread_local! {
    #[expect(clippy::expect_used, reason = "a fixture that cannot open fails every case anyway")]
    static HEADER_FIXTURE: Helpdesk = Helpdesk::open_in_memory(
        Options::default()
            .with_clock(ManualClock::new(START))
            .with_secret_hashing(SecretHashing::InsecureForTests),
    )
    .expect("open")
    .0;
}

/// Someone else's token and a missing one read the same through `revoke_token`.
#[test]
fn revoking_a_token_out_of_reach_reads_like_a_missing_token() -> anyhow::Result<()> {
    let f = fixture()?;
    let ann = auth(&f, &ann_key(&f, "tickets.read")?.authorization())?;
    let token = f.desk.mint_token(&ann, NewToken::for_agent(f.ann.id))?;
    let hal_key = f
        .desk
        .create_key(&f.root, NewKey::agent("Hal's", f.hal.id, Scopes::ALL))?;
    let hal = auth(&f, &hal_key.code.authorization())?;
    let missing = TokenId::new(token.id.get() + 1000);
    for p in [&hal, &f.as_agent(&f.hal)?] {
        let hidden = f.desk.revoke_token(p, token.id).unwrap_err();
        let absent = f.desk.revoke_token(p, missing).unwrap_err();
        assert_reads_like_missing(&hidden, token.id, &absent, missing);
    }
    assert!(
        auth(&f, &token.token.authorization()).is_ok(),
        "still alive"
    );
    Ok(())
}

/// `keys.manage` without being an administrator reaches only the keys its holder could have
/// issued: its own agent keys. Every other key reads like a missing one, and nothing changes.
#[test]
fn managing_keys_never_reaches_keys_the_manager_could_not_issue() -> anyhow::Result<()> {
    let f = fixture()?;
    let keeper = f.agent_with_role(
        "Kim",
        &["keys.manage", "keys.logs", "agents.read"],
        &[f.billing.id],
        AccessLevel::Change,
    )?;
    let kim = f.as_agent(&keeper)?;
    let own = f.desk.create_key(
        &kim,
        NewKey::agent("Mine", keeper.id, scopes("agents.read")?),
    )?;
    let superuser = portal_key(&f)?;
    let hals = f
        .desk
        .create_key(&f.root, NewKey::agent("Hal's", f.hal.id, Scopes::ALL))?;
    let missing = KeyId::new(hals.key.id.get() + 1000);
    for id in [superuser.key.id, hals.key.id] {
        let checks: [(&str, helpdesk::Result<()>, helpdesk::Result<()>); 7] = [
            (
                "show",
                f.desk.key(&kim, id).map(drop),
                f.desk.key(&kim, missing).map(drop),
            ),
            (
                "disable",
                f.desk.set_key_enabled(&kim, id, false).map(drop),
                f.desk.set_key_enabled(&kim, missing, false).map(drop),
            ),
            (
                "update",
                f.desk
                    .update_key(
                        &kim,
                        id,
                        KeyUpdate {
                            description: Some("x".into()),
                            ..KeyUpdate::default()
                        },
                    )
                    .map(drop),
                f.desk
                    .update_key(
                        &kim,
                        missing,
                        KeyUpdate {
                            description: Some("x".into()),
                            ..KeyUpdate::default()
                        },
                    )
                    .map(drop),
            ),
            (
                "regenerate",
                f.desk.regenerate_key(&kim, id, None).map(drop),
                f.desk.regenerate_key(&kim, missing, None).map(drop),
            ),
            (
                "log",
                f.desk.key_log(&kim, id).map(drop),
                f.desk.key_log(&kim, missing).map(drop),
            ),
            (
                "history",
                f.desk.history(&kim, HistorySubject::Key(id)).map(drop),
                f.desk.history(&kim, HistorySubject::Key(missing)).map(drop),
            ),
            (
                "delete",
                f.desk.delete_key(&kim, id),
                f.desk.delete_key(&kim, missing),
            ),
        ];
        for (name, hidden, absent) in checks {
            let (hidden, absent) = (hidden.unwrap_err(), absent.unwrap_err());
            println!("{name}");
            assert_reads_like_missing(&hidden, id, &absent, missing);
        }
    }
    let listed: Vec<KeyId> = f.desk.keys(&kim)?.iter().map(|k| k.id).collect();
    assert_eq!(listed, [own.key.id]);
    assert!(
        auth_as(
            &f,
            &superuser.code.authorization(),
            ActAs::Agent(f.admin.id)
        )
        .is_ok()
    );
    assert!(
        auth(&f, &hals.code.authorization()).is_ok(),
        "nothing changed"
    );
    f.desk.set_key_enabled(&kim, own.key.id, false)?;
    f.desk.set_key_enabled(&kim, own.key.id, true)?;
    f.desk.delete_key(&kim, own.key.id)?;
    Ok(())
}

/// A token is dead for good once its agent is disabled, even after the agent comes back.
#[test]
fn a_token_stays_dead_when_its_agent_is_enabled_again() -> anyhow::Result<()> {
    let f = fixture()?;
    let key = portal_key(&f)?;
    let token = f
        .system
        .mint_token(key.key.id, NewToken::for_agent(f.hal.id))?
        .token
        .authorization();
    assert!(auth(&f, &token).is_ok());
    let set_active = |active| {
        f.desk.update_agent(
            &f.root,
            f.hal.id,
            AgentUpdate {
                active: Some(active),
                ..AgentUpdate::default()
            },
        )
    };
    set_active(false)?;
    assert!(auth(&f, &token).is_err());
    set_active(true)?;
    assert!(
        matches!(auth(&f, &token), Err(AuthError::InvalidCredentials)),
        "{:?}",
        auth(&f, &token)
    );
    Ok(())
}

/// A principal kept after its key was deleted, regenerated, disabled or changed, or its token
/// revoked, is refused from then on, by facade calls and by `decide` alike.
#[test]
fn a_held_principal_is_refused_once_its_credential_changes() -> anyhow::Result<()> {
    let f = fixture()?;
    let ticket = billing_ticket(&f)?;
    let attrs = TicketAttributes::from(&ticket);
    let read = |p: &Principal| f.desk.ticket(p, ticket.id).map(drop);
    let decide = |p: &Principal| f.desk.decide(p, Action::TicketRead, &attrs);
    let narrower = scopes("tickets.read tickets.note")?;
    type Change<'a> = Box<dyn Fn(KeyId) -> helpdesk::Result<()> + 'a>;
    let changes: [(&str, Change<'_>); 4] = [
        ("delete", Box::new(|id| f.desk.delete_key(&f.root, id))),
        (
            "regenerate",
            Box::new(|id| f.desk.regenerate_key(&f.root, id, None).map(drop)),
        ),
        (
            "disable",
            Box::new(|id| f.desk.set_key_enabled(&f.root, id, false).map(drop)),
        ),
        (
            "narrow",
            Box::new(|id| {
                let update = KeyUpdate {
                    scopes: Some(narrower),
                    ..KeyUpdate::default()
                };
                f.desk.update_key(&f.root, id, update).map(drop)
            }),
        ),
    ];
    for (name, change) in &changes {
        let code = ann_key(&f, "tickets.read tickets.reply")?;
        let held = auth(&f, &code.authorization())?;
        let minted = f.desk.mint_token(&held, NewToken::for_agent(f.ann.id))?;
        let held_token = auth(&f, &minted.token.authorization())?;
        for p in [&held, &held_token] {
            read(p)?;
            assert!(decide(p).is_ok());
        }
        change(code.id())?;
        for p in [&held, &held_token] {
            assert!(read(p).is_err(), "{name}: a facade call");
            assert!(decide(p).is_err(), "{name}: decide");
        }
    }
    let code = ann_key(&f, "tickets.read")?;
    let held = auth(&f, &code.authorization())?;
    let minted = f.desk.mint_token(&held, NewToken::for_agent(f.ann.id))?;
    let held_token = auth(&f, &minted.token.authorization())?;
    // A new description grants nothing new and takes nothing away: nothing is revoked.
    let described = KeyUpdate {
        description: Some("Ann's nightly sync".into()),
        ..KeyUpdate::default()
    };
    f.desk.update_key(&f.root, code.id(), described)?;
    for p in [&held, &held_token] {
        read(p)?;
        assert!(decide(p).is_ok(), "a new description revokes nothing");
    }
    f.desk.revoke_token(&held, minted.id)?;
    assert!(read(&held_token).is_err(), "revoked token");
    assert!(decide(&held_token).is_err(), "revoked token");
    read(&held)?;
    Ok(())
}
