//! A tour of the helpdesk core on a real SQLite file: people, tickets, messages, history,
//! search and the event outbox. Run with `cargo run --example quickstart [path.db]`.

use std::path::PathBuf;

use helpdesk::{
    Author, Helpdesk, NewAgent, NewMessage, NewRequester, NewTicket, Options, Priority,
    SearchQuery, StartFrom, Status, TicketUpdate,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/quickstart.db"), PathBuf::from);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    println!("opened {} (SQLite, WAL, durable commits)", path.display());

    let root = system.principal();
    let admin = system.bootstrap_admin("Ada Admin", "ada@example.com")?;
    println!(
        "created the first administrator: {} <{}>",
        admin.name, admin.email
    );
    let billing = desk.create_department(&root, "Billing")?;
    let hardware = desk.create_department(&root, "Hardware")?;
    let ann = desk.create_agent(
        &root,
        NewAgent {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            admin: false,
        },
    )?;
    let hal = desk.create_agent(
        &root,
        NewAgent {
            name: "Hal".into(),
            email: "hal@example.com".into(),
            admin: false,
        },
    )?;
    desk.add_member(&root, billing.id, ann.id, helpdesk::AccessLevel::Change)?;
    desk.add_member(&root, hardware.id, hal.id, helpdesk::AccessLevel::Change)?;
    let bob = desk.create_requester(
        &root,
        NewRequester {
            name: "Bob".into(),
            email: "bob@example.org".into(),
            organization: None,
        },
    )?;
    println!(
        "departments: {}, {}; agents: Ann (Billing), Hal (Hardware); requester: Bob",
        billing.name, hardware.name
    );

    desk.register_consumer(&root, "quickstart", StartFrom::Now)?;
    let as_bob = system.requester(bob.id)?;
    let as_ann = system.agent(ann.id)?;
    let mut subjects = Vec::new();
    for (subject, body, dept) in [
        (
            "Charged twice for March",
            "My card shows two charges of 49 EUR.",
            billing.id,
        ),
        (
            "Printer on fire",
            "Smoke coming out of the second floor printer.",
            hardware.id,
        ),
        (
            "Invoice address is wrong",
            "Please change the billing address on my invoice.",
            billing.id,
        ),
    ] {
        let mut new = NewTicket::new(subject, dept, bob.id);
        new.message = Some(NewMessage::reply(body).by(Author::Requester(bob.id)));
        let t = desk.create_ticket(&as_bob, new)?;
        println!("bob opened ticket {}: {:?} ({})", t.id, t.subject, t.status);
        subjects.push(t);
    }

    let t = &subjects[0];
    let t = desk.update_ticket(
        &as_ann,
        t.id,
        t.version,
        TicketUpdate {
            assignee: Some(Some(ann.id)),
            priority: Some(Priority::High),
            add_tags: vec!["refund".into()],
            ..TicketUpdate::default()
        },
    )?;
    desk.add_message(
        &as_ann,
        t.id,
        NewMessage::note("Payment provider confirms a duplicate capture."),
    )?;
    desk.add_message(
        &as_ann,
        t.id,
        NewMessage::reply("Sorry about that, the second charge is refunded."),
    )?;
    let stale = desk.update_ticket(
        &as_ann,
        t.id,
        t.version,
        TicketUpdate {
            status: Some(Status::Resolved),
            ..TicketUpdate::default()
        },
    );
    println!(
        "an update based on a stale version is refused: {}",
        stale.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let t = desk.ticket(&as_ann, t.id)?;
    let t = desk.update_ticket(
        &as_ann,
        t.id,
        t.version,
        TicketUpdate {
            status: Some(Status::Resolved),
            ..TicketUpdate::default()
        },
    )?;
    println!("ann resolved ticket {} (version {})", t.id, t.version);

    println!(
        "bob sees {} message(s) on it; ann sees {}",
        desk.messages(&as_bob, t.id)?.len(),
        desk.messages(&as_ann, t.id)?.len()
    );
    println!("history of ticket {}:", t.id);
    for entry in desk.ticket_history(&as_ann, t.id)? {
        println!("  {} {:?} by {:?}", entry.at, entry.change, entry.by.actor);
    }

    let query = SearchQuery {
        text: Some("invoice".into()),
        ..SearchQuery::default()
    };
    let page = desk.search(&as_ann, &query)?;
    println!(
        "search `invoice`: {:?}",
        page.tickets
            .iter()
            .map(|t| t.subject.as_str())
            .collect::<Vec<_>>()
    );

    let batch = desk.read_events(&root, "quickstart", 100)?;
    println!("outbox: {} events", batch.events.len());
    for event in &batch.events {
        println!(
            "  #{} {} ticket={:?}",
            event.seq,
            event.kind,
            event.ticket.map(|t| t.get())
        );
    }
    if let Some(last) = batch.events.last() {
        desk.ack_events(&root, "quickstart", last.seq)?;
    }
    let backup = path.with_extension("backup.db");
    let _ = std::fs::remove_file(&backup);
    system.backup_to(&backup)?;
    println!(
        "online backup written to {}; integrity check: {:?}",
        backup.display(),
        system.integrity_check()?
    );
    Ok(())
}
