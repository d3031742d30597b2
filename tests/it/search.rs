//! Search: full text with filters, stable order, cursor pagination, and reach.

use helpdesk::{
    Author, Cursor, NewMessage, NewTicket, Priority, SearchQuery, SortBy, SortOrder, Status,
    TicketId, TicketUpdate,
};
use helpdesk_tests::Fixture;

fn ids(page: &helpdesk::SearchPage) -> Vec<TicketId> {
    page.tickets.iter().map(|t| t.id).collect()
}

#[test]
fn text_and_filters_combine() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let mut made = Vec::new();
    for (i, (subject, body)) in [
        ("Printer on fire", "smoke everywhere"),
        ("Printer jammed", "paper stuck"),
        ("Invoice question", "why was the printer billed twice"),
        ("Password reset", "cannot log in"),
    ]
    .into_iter()
    .enumerate()
    {
        f.clock.advance_millis(1000);
        let dept = if i < 2 { f.hardware.id } else { f.billing.id };
        let mut new = NewTicket::new(subject, dept, if i % 2 == 0 { f.bob.id } else { f.cat.id });
        new.message = Some(NewMessage::reply(body).by(Author::Requester(f.bob.id)));
        new.tags = vec![format!("t{i}")];
        made.push(f.desk.create_ticket(root, new)?);
    }
    let q = |text: &str| SearchQuery {
        text: Some(text.into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&f.desk.search(root, &q("printer"))?),
        [made[2].id, made[1].id, made[0].id],
        "subjects and messages, newest first"
    );
    assert_eq!(
        ids(&f.desk.search(root, &q("PRINTER fire"))?),
        [made[0].id],
        "all words must match, any case"
    );
    assert_eq!(
        ids(&f.desk.search(root, &q("pass*"))?),
        [made[3].id],
        "prefix"
    );
    assert_eq!(
        ids(&f.desk.search(root, &q("nothing-like-this"))?),
        Vec::<TicketId>::new()
    );
    let filtered = SearchQuery {
        text: Some("printer".into()),
        departments: vec![f.hardware.id],
        requester: Some(f.cat.id),
        ..Default::default()
    };
    assert_eq!(ids(&f.desk.search(root, &filtered)?), [made[1].id]);
    let tagged = SearchQuery {
        tags: vec!["T3".into()],
        ..Default::default()
    };
    assert_eq!(ids(&f.desk.search(root, &tagged)?), [made[3].id]);
    let window = SearchQuery {
        created_from: Some(made[1].created_at),
        created_until: Some(made[3].created_at),
        ..Default::default()
    };
    assert_eq!(
        ids(&f.desk.search(root, &window)?),
        [made[2].id, made[1].id]
    );
    // Hostile FTS syntax is searched as plain words, never an error.
    for text in ["\"", "NEAR(a b", "a OR", "*", "^x", "col:printer", "(((("] {
        f.desk.search(root, &q(text))?;
    }
    Ok(())
}

#[test]
fn writes_are_visible_at_once() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let t = f
        .desk
        .create_ticket(root, NewTicket::new("Blue screen", f.hardware.id, f.bob.id))?;
    let q = SearchQuery {
        text: Some("screen".into()),
        statuses: vec![Status::New],
        ..Default::default()
    };
    assert_eq!(ids(&f.desk.search(root, &q)?), [t.id]);
    f.desk.update_ticket(
        root,
        t.id,
        1,
        TicketUpdate {
            status: Some(Status::Open),
            subject: Some("Black display".into()),
            ..Default::default()
        },
    )?;
    assert!(f.desk.search(root, &q)?.tickets.is_empty());
    let q2 = SearchQuery {
        text: Some("display".into()),
        statuses: vec![Status::Open],
        ..Default::default()
    };
    assert_eq!(
        ids(&f.desk.search(root, &q2)?),
        [t.id],
        "the index follows subject changes"
    );
    f.desk.add_message(
        root,
        t.id,
        NewMessage::reply("try the kettle").by(Author::Requester(f.bob.id)),
    )?;
    let q3 = SearchQuery {
        text: Some("kettle".into()),
        ..Default::default()
    };
    assert_eq!(ids(&f.desk.search(root, &q3)?), [t.id]);
    Ok(())
}

#[test]
fn pagination_is_stable_and_complete() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let mut all = Vec::new();
    for i in 0..23 {
        // Several tickets share a timestamp, so ties must be broken by id.
        if i % 3 == 0 {
            f.clock.advance_millis(10);
        }
        let mut new = NewTicket::new(format!("Ticket {i}"), f.billing.id, f.bob.id);
        new.priority = Some(if i % 2 == 0 {
            Priority::High
        } else {
            Priority::Low
        });
        all.push(f.desk.create_ticket(root, new)?.id);
    }
    for (sort, order) in [
        (SortBy::UpdatedAt, SortOrder::Descending),
        (SortBy::CreatedAt, SortOrder::Ascending),
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let q = SearchQuery {
                limit: Some(5),
                cursor: cursor.clone(),
                sort,
                order,
                ..Default::default()
            };
            let page = f.desk.search(root, &q)?;
            assert!(page.tickets.len() <= 5);
            seen.extend(ids(&page));
            match page.next {
                Some(next) => cursor = Some(next.to_string().parse()?),
                None => break,
            }
        }
        let mut expected = all.clone();
        if order == SortOrder::Descending {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{sort:?} {order:?}");
    }
    let high = SearchQuery {
        priorities: vec![Priority::High],
        limit: Some(100),
        ..Default::default()
    };
    assert_eq!(f.desk.search(root, &high)?.tickets.len(), 12);
    let bad_limit = SearchQuery {
        limit: Some(0),
        ..Default::default()
    };
    assert!(f.desk.search(root, &bad_limit).is_err());
    assert!("garbage".parse::<Cursor>().is_err());
    let wrong_sort = SearchQuery {
        sort: SortBy::CreatedAt,
        cursor: Some("u1.1".parse()?),
        ..Default::default()
    };
    assert!(
        f.desk
            .search(root, &wrong_sort)
            .unwrap_err()
            .to_string()
            .contains("another sort")
    );
    Ok(())
}

#[test]
fn requesters_never_match_through_internal_notes() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let bob = f.as_requester(&f.bob)?;
    let ann = f.as_agent(&f.ann)?;
    let t = f.desk.create_ticket(
        &bob,
        NewTicket::new("Slow delivery", f.billing.id, f.bob.id),
    )?;
    f.desk
        .add_message(&ann, t.id, NewMessage::note("suspected chargeback"))?;
    let q = SearchQuery {
        text: Some("chargeback".into()),
        ..Default::default()
    };
    assert_eq!(ids(&f.desk.search(&ann, &q)?), [t.id]);
    assert!(f.desk.search(&bob, &q)?.tickets.is_empty());
    Ok(())
}
