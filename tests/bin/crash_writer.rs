//! Test helper: creates tickets in a loop on the database given as first argument, printing each
//! id only after the call has returned (and so is acknowledged as durable), until killed.
//! With `--open-only`, it only opens the database and reports the outcome. With `--create`, the
//! first argument is a directory in which it creates fresh databases `0.db`, `1.db`, ... one
//! after another, printing each number once its creation has returned, until killed.

use std::io::Write;
use std::path::Path;

use helpdesk::{Helpdesk, NewMessage, NewRequester, NewTicket, Options, TicketUpdate};

const USAGE: &str = "usage: crash-writer <db> [--open-only] | crash-writer <dir> --create";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or_else(|| anyhow::anyhow!(USAGE))?;
    let mode = args.next();
    if mode.as_deref() == Some("--create") {
        return create(Path::new(&path));
    }
    let (desk, system) = match Helpdesk::open(&path, Options::default()) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if mode.as_deref() == Some("--open-only") {
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

/// Creates fresh databases in `dir` until killed.
fn create(dir: &Path) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let opened = Helpdesk::open(dir.join(format!("{n}.db")), Options::default())?;
        writeln!(out, "{n}")?;
        out.flush()?;
        drop(opened);
    }
    Ok(())
}
