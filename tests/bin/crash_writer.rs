//! Test helper: creates tickets in a loop on the database given as first argument, printing each
//! id only after the call has returned (and so is acknowledged as durable), until killed.
//! With `--open-only`, it only opens the database and reports the outcome.

use std::io::Write;

use helpdesk::{Helpdesk, NewMessage, NewRequester, NewTicket, Options, TicketUpdate};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: crash-writer <db> [--open-only]"))?;
    let (desk, system) = match Helpdesk::open(&path, Options::default()) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if args.next().as_deref() == Some("--open-only") {
        return Ok(());
    }
    let root = system.principal();
    system.bootstrap_admin("Crash Admin", "crash@example.com")?;
    let dept = desk.create_department(&root, "Crash")?;
    let requester = desk.create_requester(
        &root,
        NewRequester {
            name: "R".into(),
            email: "r@example.com".into(),
            organization: None,
        },
    )?;
    let mut out = std::io::stdout().lock();
    loop {
        let mut new = NewTicket::new("pending", dept.id, requester.id);
        new.message = Some(NewMessage::reply("first message"));
        let t = desk.create_ticket(&root, new)?;
        let subject = format!("crash test {}", t.id.get());
        desk.update_ticket(
            &root,
            t.id,
            t.version,
            TicketUpdate {
                subject: Some(subject),
                ..Default::default()
            },
        )?;
        writeln!(out, "{}", t.id.get())?;
        out.flush()?;
    }
}
