//! A driver for counting the instructions of the authentication hot path: an agent key's
//! `Authorization` header to a principal, and a permission decision with it, `N` times (the
//! first argument, 1000 by default) on a warmed key at production settings.
//!
//! Timings on a shared machine move by half between runs; instruction counts do not. Run it
//! under callgrind with two counts and divide the difference by the difference of the counts:
//!
//! ```text
//! cargo build --release -p helpdesk --example hot_path
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/n.out target/release/examples/hot_path 20000
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/6n.out target/release/examples/hot_path 120000
//! # (instructions of the second - instructions of the first) / 100000 = per request and decision
//! ```

use std::hint::black_box;

use helpdesk::{
    AccessLevel, Action, Helpdesk, NewAgent, NewKey, NewRequester, NewTicket, Options, Scopes,
    TicketAttributes,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 1000,
    };
    let (desk, system) = Helpdesk::open_in_memory(Options::default())?;
    let root = system.principal();
    system.bootstrap_admin("Admin", "admin@example.com")?;
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
    let ticket = desk.create_ticket(&root, NewTicket::new("Charged twice", billing.id, bob.id))?;
    let attrs = TicketAttributes::from(&ticket);
    let scopes: Scopes = "tickets.read tickets.update tickets.reply".parse()?;
    let header = desk
        .create_key(&root, NewKey::agent("Sync", ann.id, scopes))?
        .code
        .authorization();
    // Warm: the first request loads this thread's copy of the tables.
    let p = desk.authenticate(&header, None, None)?;
    if desk.decide(&p, Action::TicketUpdate, &attrs).is_err() {
        return Err("the warm-up request was refused".into());
    }
    let mut allowed = 0u64;
    for _ in 0..n {
        let p = desk.authenticate(black_box(&header), None, None)?;
        if desk
            .decide(&p, black_box(Action::TicketUpdate), &attrs)
            .is_ok()
        {
            allowed += 1;
        }
    }
    if allowed != n {
        return Err(format!("{} of {n} requests were refused", n - allowed).into());
    }
    Ok(())
}
