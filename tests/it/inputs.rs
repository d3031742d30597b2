//! Hostile input: whatever text a caller sends as search words, filters, names, subjects, tags,
//! bodies or other free text, the answer is a result or `Error::Invalid` (a record that must be
//! unique may also be a duplicate), never a storage failure and never a panic.

use std::fmt::Debug;

use helpdesk::{
    Author, Cursor, DepartmentId, Error, FieldKind, FieldValue, Helpdesk, Limits, ManualClock,
    NewAgent, NewFieldDefinition, NewKey, NewMessage, NewRequester, NewTicket, Options, Principal,
    Priority, Scopes, SearchQuery, SecretHashing, StartFrom, Status, TicketUpdate,
};
use helpdesk_tests::{Fixture, START};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Pieces of text that break naive code: SQL and FTS5 syntax, quotes, NUL and other control
/// characters, odd white space, invisible and direction-changing characters.
const NASTY: &[&str] = &[
    "\0",
    "\"",
    "\"\"",
    "'",
    "';--",
    "*",
    "(",
    ")",
    ":",
    "^",
    "+",
    "-",
    "{",
    "}",
    "NEAR",
    "NEAR(",
    "OR",
    "AND",
    "NOT",
    "body:",
    "%",
    "_",
    "\\",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\u{7}",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{200b}",
    "\u{202e}",
    "\u{feff}",
    "\u{fffd}",
    "\u{10ffff}",
    "é",
    "ß",
    "İ",
    "日本",
    "🎫",
];

/// Text made of words, white space, nasty pieces and any character at all.
fn hostile_text(pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9]{1,8}",
        3 => Just(" ".to_owned()),
        3 => proptest::sample::select(NASTY).prop_map(str::to_owned),
        2 => any::<char>().prop_map(String::from),
        1 => (0u8..0x20).prop_map(|b| char::from(b).to_string()),
    ];
    proptest::collection::vec(piece, 0..pieces).prop_map(|pieces| pieces.concat())
}

/// Mostly short hostile text, sometimes far longer than any limit.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => hostile_text(24),
        1 => (hostile_text(6), 1usize..2_000).prop_map(|(text, times)| text.repeat(times)),
    ]
}

/// Cursor text: garbage, or well-formed with any numbers.
fn cursor_text() -> impl Strategy<Value = String> {
    prop_oneof![
        hostile_text(6),
        (any::<bool>(), any::<i64>(), any::<i64>())
            .prop_map(|(u, key, id)| format!("{}{key}.{id}", if u { 'u' } else { 'c' })),
    ]
}

/// A query built from arbitrary parts.
fn any_query() -> impl Strategy<Value = SearchQuery> {
    (
        proptest::option::of(any_text()),
        proptest::collection::vec(hostile_text(4), 0..4),
        proptest::collection::vec(any::<i64>(), 0..4),
        proptest::collection::vec(proptest::sample::select(Status::ALL), 0..3),
        proptest::collection::vec(proptest::sample::select(Priority::ALL), 0..3),
        proptest::option::of(cursor_text()),
        proptest::option::of(prop_oneof![0usize..600, any::<usize>()]),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(
            |(text, tags, departments, statuses, priorities, cursor, limit, from)| SearchQuery {
                text,
                tags,
                departments: departments.into_iter().map(DepartmentId::new).collect(),
                statuses,
                priorities,
                cursor: cursor.and_then(|c| c.parse::<Cursor>().ok()),
                limit,
                created_from: from.map(helpdesk::Timestamp::from_millis),
                ..SearchQuery::default()
            },
        )
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// `Ok`, or a refusal of the input; anything else fails the case.
fn answered<T>(
    what: &str,
    input: &impl Debug,
    result: helpdesk::Result<T>,
) -> Result<Option<T>, TestCaseError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::Invalid(_)) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("{what} {input:?}: {e:?}"))),
    }
}

/// As [`answered`], but a value that must be unique may also be taken.
fn answered_unique<T>(
    what: &str,
    input: &impl Debug,
    result: helpdesk::Result<T>,
) -> Result<Option<T>, TestCaseError> {
    match result {
        Err(Error::Duplicate { .. }) => Ok(None),
        other => answered(what, input, other),
    }
}

/// As [`answered`], but the record looked up by the input may not exist.
fn answered_lookup<T>(
    what: &str,
    input: &impl Debug,
    result: helpdesk::Result<T>,
) -> Result<Option<T>, TestCaseError> {
    match result {
        Err(Error::NotFound { .. }) => Ok(None),
        other => answered(what, input, other),
    }
}

/// A single-line value that was accepted: trimmed, not empty, and free of control characters.
fn single_line(field: &str, stored: &str) -> Result<(), TestCaseError> {
    prop_assert!(!stored.is_empty(), "{field} stored empty");
    prop_assert_eq!(stored.trim(), stored, "{} stored untrimmed", field);
    prop_assert!(
        !stored.chars().any(char::is_control),
        "{field} {stored:?} stored with a control character"
    );
    Ok(())
}

fn fixture() -> anyhow::Result<Fixture> {
    let clock = ManualClock::new(START);
    let options = Options::default()
        .with_clock(clock.clone())
        .with_secret_hashing(SecretHashing::InsecureForTests);
    let (desk, system) = Helpdesk::open_in_memory(options)?;
    Fixture::populate(desk, system, clock)
}

/// Everyone who searches differently: the system, an agent (a department's tickets), a
/// requester (their own, public messages only) and an agent in no department (nothing).
fn searchers(f: &Fixture) -> anyhow::Result<Vec<Principal>> {
    let nobody = f.desk.create_agent(
        &f.root,
        NewAgent {
            name: "Nia".into(),
            email: "nia@example.com".into(),
            admin: false,
        },
    )?;
    Ok(vec![
        f.root,
        f.as_agent(&f.ann)?,
        f.as_requester(&f.bob)?,
        f.system.agent(nobody.id)?,
    ])
}

/// A fixture with one ticket carrying a public reply and an internal note, so that full-text
/// queries have something to run against.
fn searchable() -> anyhow::Result<Fixture> {
    let f = fixture()?;
    let mut new = NewTicket::new("Printer on fire", f.billing.id, f.bob.id);
    new.tags = vec!["vip".into()];
    new.message = Some(
        NewMessage::reply("smoke \"everywhere\" NEAR(the desk)").by(Author::Requester(f.bob.id)),
    );
    let t = f.desk.create_ticket(&f.root, new)?;
    f.desk.add_message(
        &f.root,
        t.id,
        NewMessage::note("internal: call the fire brigade").by(Author::Agent(f.ann.id)),
    )?;
    Ok(f)
}

#[test]
fn a_nul_in_a_search_word_is_refused_as_invalid() -> anyhow::Result<()> {
    let f = searchable()?;
    let searchers = searchers(&f)?;
    for text in [
        "zbob\0subj",
        "\0",
        "printer \0",
        "fire\0*",
        "smoke \u{1b}[31m",
    ] {
        let query = SearchQuery {
            text: Some(text.into()),
            ..SearchQuery::default()
        };
        // Whoever asks, even one who can see nothing.
        for p in &searchers {
            match f.desk.search(p, &query) {
                Err(Error::Invalid(e)) => {
                    assert!(e.to_string().contains("`text`"), "{text:?}: {e}")
                }
                other => panic!("{text:?} by {p:?}: {other:?}"),
            }
        }
    }
    Ok(())
}

#[test]
fn huge_filter_lists_are_answered_or_refused() -> anyhow::Result<()> {
    let f = searchable()?;
    let queries = [
        SearchQuery {
            tags: vec!["vip".into(); 5_000],
            ..SearchQuery::default()
        },
        SearchQuery {
            tags: (0..5_000).map(|i| format!("t{i}")).collect(),
            ..SearchQuery::default()
        },
        SearchQuery {
            departments: vec![f.billing.id; 40_000],
            ..SearchQuery::default()
        },
        SearchQuery {
            departments: (0..40_000).map(DepartmentId::new).collect(),
            ..SearchQuery::default()
        },
        SearchQuery {
            statuses: Status::ALL.repeat(10_000),
            priorities: Priority::ALL.repeat(10_000),
            ..SearchQuery::default()
        },
    ];
    for query in queries {
        let shape = (
            query.tags.len(),
            query.departments.len(),
            query.statuses.len(),
        );
        answered("search", &shape, f.desk.search(&f.root, &query))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // Repeating a value changes nothing.
    let repeated = SearchQuery {
        tags: vec!["VIP".into(), "vip".into()],
        departments: vec![f.billing.id; 3],
        statuses: vec![Status::New; 3],
        ..SearchQuery::default()
    };
    assert_eq!(f.desk.search(&f.root, &repeated)?.tickets.len(), 1);
    Ok(())
}

#[test]
fn many_search_words_are_answered_when_the_limit_allows_them() -> anyhow::Result<()> {
    let clock = ManualClock::new(START);
    let options = Options::default()
        .with_clock(clock.clone())
        .with_limits(Limits {
            max_query_chars: 1_000_000,
            ..Limits::default()
        });
    let (desk, system) = Helpdesk::open_in_memory(options)?;
    let f = Fixture::populate(desk, system, clock)?;
    f.desk
        .create_ticket(&f.root, NewTicket::new("a b c", f.billing.id, f.bob.id))?;
    for text in [
        "a ".repeat(20_000),
        "a* ".repeat(20_000),
        "\"a\" OR ".repeat(20_000),
    ] {
        let query = SearchQuery {
            text: Some(text),
            ..SearchQuery::default()
        };
        answered("search", &"many words", f.desk.search(&f.root, &query))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any query, by any kind of principal, is answered or refused as invalid.
    #[test]
    fn any_search_is_answered_or_refused(query in any_query()) {
        let f = searchable().map_err(fail)?;
        let mut refused = Vec::new();
        for p in &searchers(&f).map_err(fail)? {
            refused.push(answered("search", &query, f.desk.search(p, &query))?.is_none());
        }
        // Whether a query is well-formed does not depend on who asks.
        prop_assert!(refused.iter().all(|r| *r == refused[0]), "{:?}: {:?}", query, refused);
    }

    /// Names, subjects, tags, bodies, descriptions and the other free text of new records are
    /// stored normalised or refused as invalid.
    #[test]
    fn any_text_in_new_records_is_stored_or_refused(
        name in any_text(),
        email in any_text(),
        subject in any_text(),
        body in any_text(),
        tags in proptest::collection::vec(hostile_text(4), 0..4),
        key in hostile_text(4),
        value in any_text(),
    ) {
        let f = fixture().map_err(fail)?;
        let (desk, root) = (&f.desk, &f.root);

        let person = NewRequester { name: name.clone(), email: email.clone(), organization: None };
        if let Some(r) = answered_unique("requester", &person, desk.create_requester(root, person.clone()))? {
            single_line("requester name", &r.name)?;
            single_line("requester email", &r.email)?;
        }
        let agent = NewAgent { name: name.clone(), email: format!("{email}@example.com"), admin: false };
        if let Some(a) = answered_unique("agent", &agent, desk.create_agent(root, agent.clone()))? {
            single_line("agent name", &a.name)?;
        }
        if let Some(d) = answered_unique("department", &name, desk.create_department(root, &name))? {
            single_line("department name", &d.name)?;
        }
        if let Some(o) = answered_unique("organization", &name, desk.create_organization(root, &name, false))? {
            single_line("organization name", &o.name)?;
        }
        if let Some(r) = answered_unique("role", &name, desk.create_role(root, &name, &["tickets.read"]))? {
            single_line("role name", &r.name)?;
        }
        let cursor = answered("consumer", &name, desk.register_consumer(root, &name, StartFrom::Now))?;
        answered_lookup("events", &name, desk.read_events(root, &name, 10))?;
        answered_lookup("ack", &name, desk.ack_events(root, &name, cursor.unwrap_or(0)))?;
        answered_lookup("remove", &name, desk.remove_consumer(root, &name))?;
        let new_key = NewKey::agent(name.clone(), f.ann.id, Scopes::parse(["tickets.read"]).map_err(fail)?);
        if let Some(k) = answered("key", &name, desk.create_key(root, new_key))? {
            single_line("key description", &k.key.description)?;
        }
        let field = NewFieldDefinition {
            key: key.clone(),
            label: name.clone(),
            kind: FieldKind::Choice(vec![value.clone(), subject.clone()]),
            agent_only: false,
        };
        if let Some(d) = answered_unique("field", &field, desk.create_field(root, field.clone()))? {
            single_line("field label", &d.label)?;
            if let FieldKind::Choice(options) = &d.kind {
                for option in options {
                    single_line("field option", option)?;
                }
            }
        }
        let text_field = NewFieldDefinition {
            key: "notes".into(),
            label: "Notes".into(),
            kind: FieldKind::Text,
            agent_only: false,
        };
        desk.create_field(root, text_field).map_err(fail)?;

        let mut new = NewTicket::new(subject.clone(), f.billing.id, f.bob.id);
        new.tags = tags.clone();
        new.message = Some(NewMessage::reply(body.clone()).by(Author::Requester(f.bob.id)));
        new.fields.insert("notes".into(), FieldValue::Text(value.clone()));
        new.fields.insert(key.clone(), FieldValue::Choice(value.clone()));
        let ticket = answered("ticket", &new, desk.create_ticket(root, new.clone()))?;
        if let Some(t) = &ticket {
            single_line("subject", &t.subject)?;
            for tag in &t.tags {
                single_line("tag", tag)?;
            }
        }
        let plain = NewTicket::new("Plain", f.billing.id, f.bob.id);
        let plain = desk.create_ticket(root, plain).map_err(fail)?;
        if let Some(m) = answered("message", &body, desk.add_message(root, plain.id, NewMessage::note(body.clone()).by(Author::Agent(f.ann.id))))? {
            prop_assert!(
                !m.body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')),
                "body {:?} stored with a control character", m.body
            );
        }
        let update = TicketUpdate {
            subject: Some(subject.clone()),
            add_tags: tags.clone(),
            remove_tags: tags.clone(),
            fields: [("notes".to_owned(), Some(FieldValue::Text(value.clone())))].into(),
            ..TicketUpdate::default()
        };
        answered("update", &update, desk.update_ticket(root, plain.id, plain.version, update.clone()))?;
    }
}
