//! A short run through the main paths of the library on a file database in a temporary
//! directory: people, a ticket with messages, a search, its history, one API key and one request
//! authenticated with it, then close. CI runs it under valgrind (`.ci/run`), where everything is
//! some fifty times slower, so it stays small: the key costs two argon2id hashes (issuing it and
//! its first use). Run with `cargo run -p helpdesk --example smoke`.

use helpdesk::{
    AccessLevel, Author, Helpdesk, NewAgent, NewKey, NewMessage, NewRequester, NewTicket, Options,
    SearchQuery,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("smoke.db");
    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    let root = system.principal();
    system.bootstrap_admin("Ada Admin", "ada@example.com")?;
    let billing = desk.create_department(&root, "Billing")?;
    let ann = desk.create_agent(
        &root,
        NewAgent {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            admin: false,
        },
    )?;
    desk.add_member(&root, billing.id, ann.id, AccessLevel::Change)?;
    let bob = desk.create_requester(
        &root,
        NewRequester {
            name: "Bob".into(),
            email: "bob@example.org".into(),
            organization: None,
        },
    )?;
    let mut new = NewTicket::new("Charged twice for March", billing.id, bob.id);
    new.message = Some(NewMessage::reply("Two charges of 49 EUR.").by(Author::Requester(bob.id)));
    let ticket = desk.create_ticket(&system.requester(bob.id)?, new)?;
    desk.add_message(
        &system.agent(ann.id)?,
        ticket.id,
        NewMessage::note("A duplicate capture.").by(Author::Agent(ann.id)),
    )?;

    let query = SearchQuery {
        text: Some("charged".into()),
        ..SearchQuery::default()
    };
    let found = desk.search(&root, &query)?.tickets.len();
    let history = desk.ticket_history(&root, ticket.id)?.len();

    let issued = desk.create_key(
        &root,
        NewKey::agent("Smoke", ann.id, "tickets.read".parse()?),
    )?;
    let as_key = desk.authenticate(issued.code.authorization(), None, None)?;
    let seen = desk.ticket(&as_key, ticket.id)?;
    let integrity = system.integrity_check()?;
    drop((desk, system));

    println!(
        "search found {found}, history has {history} entries, the key read {:?}, integrity {integrity:?}",
        seen.subject
    );
    if found != 1 || history == 0 || integrity != ["ok"] {
        return Err("the run did not see what it wrote".into());
    }
    Ok(())
}
