//! `helpdesk demo`: a guided tour of every capability on a fresh SQLite file, with output a
//! person can follow, ending with timings measured in this run.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use helpdesk::{
    AccessLevel, ActAs, Action, AgentId, Author, CredentialScheme, DepartmentId, Helpdesk,
    ImportTicket, ManualClock, NewAgent, NewKey, NewMessage, NewRequester, NewTicket, NewToken,
    Options, Priority, RequesterId, Scopes, SystemClock, SystemHandle, TicketAttributes, TicketId,
};

use crate::output::progress;

/// Prints a numbered section heading.
pub(crate) fn section(n: &mut u32, title: &str) {
    *n += 1;
    println!();
    println!("{n}. {title}");
    println!("{}", "-".repeat(title.len() + 4));
}

/// What the demo measured, for the closing summary.
#[derive(Debug, Default)]
struct Timings {
    argon2_wrong_secret: Option<Duration>,
    hot_path_ns: Option<f64>,
    token_path_ns: Option<f64>,
    plugin_dispatch: Vec<(String, Duration)>,
}

/// The people and places the tour uses.
#[derive(Debug)]
struct Cast {
    admin: AgentId,
    billing: DepartmentId,
    hardware: DepartmentId,
    billing_lead: AgentId,
    hardware_lead: AgentId,
    customer: RequesterId,
}

pub(crate) fn run(path: &Path) -> anyhow::Result<()> {
    remove_database(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // The tour's clock starts at the real time and is moved on by hand to show expiry.
    let clock = ManualClock::new(helpdesk::Clock::now(&SystemClock));
    let options = Options::default()
        .with_clock(clock.clone())
        .with_scheme_alias("DdApi", CredentialScheme::Key);
    let (desk, system) = Helpdesk::open(path, options)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    println!("helpdesk demo on a fresh SQLite file: {}", path.display());
    let mut n = 0;
    let mut timings = Timings::default();

    section(&mut n, "Seeding a realistic helpdesk");
    let cast = seed(&desk, &system)?;

    section(&mut n, "API keys: a superuser key and an agent key");
    let root = system.principal();
    let scopes = Scopes::parse([
        "tickets.read",
        "tickets.create",
        "tickets.update",
        "tickets.reply",
        "tickets.note",
        "agents.read",
    ])?;
    let portal_scopes = scopes | Scopes::parse(["keys.logs"])?;
    let portal = desk.create_key(&root, {
        let mut k = NewKey::superuser(
            "Customer portal integration",
            Some(cast.billing_lead),
            portal_scopes,
        );
        k.admin_functions = true;
        k
    })?;
    let bot = desk.create_key(
        &root,
        NewKey::agent("Hardware inventory bot", cast.hardware_lead, scopes),
    )?;
    println!(
        "superuser key {} \"{}\": default agent {}, admin functions",
        portal.key.id, portal.key.description, cast.billing_lead
    );
    println!(
        "agent key {} \"{}\": acts as agent {} (Hardware)",
        bot.key.id, bot.key.description, cast.hardware_lead
    );
    println!(
        "codes are shown once, e.g. key {} -> {}…",
        bot.key.id,
        &bot.code.expose()[..12]
    );
    println!(
        "at rest only argon2id hashes are stored; the codes carry a prefix and checksum for secret scanners"
    );

    let portal_header = portal.code.authorization();
    let bot_header = bot.code.authorization();
    let ip = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));

    section(
        &mut n,
        "A superuser key acting as a named agent, as its default agent, and as a requester",
    );
    let as_hardware =
        desk.authenticate(&portal_header, Some(ActAs::Agent(cast.hardware_lead)), ip)?;
    let t = desk.create_ticket(
        &as_hardware,
        NewTicket::new("Docking station flickers", cast.hardware, cast.customer),
    )?;
    println!(
        "acting as agent {} it opened ticket {} in Hardware",
        cast.hardware_lead, t.id
    );
    let as_default = desk.authenticate(&portal_header, None, ip)?;
    let t2 = desk.create_ticket(
        &as_default,
        NewTicket::new("Refund for order 1182", cast.billing, cast.customer),
    )?;
    println!(
        "naming nobody it acted as its default agent {} and opened ticket {} in Billing",
        cast.billing_lead, t2.id
    );
    let as_customer =
        desk.authenticate(&portal_header, Some(ActAs::Requester(cast.customer)), ip)?;
    desk.add_message(
        &as_customer,
        t2.id,
        NewMessage::reply("Thanks, the order number is 1182."),
    )?;
    let history = desk.ticket_history(&root, t2.id)?;
    if let Some(last) = history.last() {
        println!(
            "acting as requester {} it replied; history records: {}",
            cast.customer,
            crate::commands::actor(&last.by)
        );
    }
    match desk.add_message(&as_customer, t2.id, NewMessage::note("sneaky note")) {
        Err(e) => println!("as the requester it cannot write an internal note: {e}"),
        Ok(_) => return Err(anyhow!("a requester wrote an internal note")),
    }

    section(
        &mut n,
        "An agent key outside its department is refused, with the engine's reason",
    );
    let bot_p = desk.authenticate(&bot_header, None, ip)?;
    match desk.ticket(&bot_p, t2.id) {
        Err(e) => println!(
            "reading Billing ticket {}: {e} (out of reach looks exactly like missing)",
            t2.id
        ),
        Ok(_) => {
            return Err(anyhow!(
                "the agent key read a ticket outside its department"
            ));
        }
    }
    match desk.create_ticket(
        &bot_p,
        NewTicket::new("Move my invoice", cast.billing, cast.customer),
    ) {
        Err(e) => println!("opening a ticket in Billing: {e}"),
        Ok(_) => {
            return Err(anyhow!(
                "the agent key opened a ticket outside its department"
            ));
        }
    }
    match desk.delete_ticket(&bot_p, t.id) {
        Err(e) => println!("deleting its own department's ticket {}: {e}", t.id),
        Ok(()) => return Err(anyhow!("the key deleted a ticket without tickets.delete")),
    }

    section(&mut n, "An access token that works, then expires");
    let minted = system.mint_token(
        bot.key.id,
        NewToken::for_agent(cast.hardware_lead).with_lifetime_minutes(15),
    )?;
    println!(
        "minted token {} from key {}: expires_in {} s, expires_on {}",
        minted.id, minted.key, minted.expires_in, minted.expires_on
    );
    let token_header = minted.token.authorization();
    let via_token = desk.authenticate(&token_header, None, ip)?;
    println!(
        "Bearer token works: ticket {} is \"{}\"",
        t.id,
        desk.ticket(&via_token, t.id)?.subject
    );
    clock.advance_millis(16 * 60 * 1000);
    match desk.authenticate(&token_header, None, ip) {
        Err(e) => println!("16 minutes later (by the helpdesk's clock): {e}"),
        Ok(_) => return Err(anyhow!("an expired token was accepted")),
    }

    section(
        &mut n,
        "Regenerating a key: the old code is refused at once",
    );
    let old_header = bot_header.clone();
    let regenerated = desk.regenerate_key(&root, bot.key.id, None)?;
    match desk.authenticate(&old_header, None, ip) {
        Err(e) => println!("old code of key {}: {e}", bot.key.id),
        Ok(_) => return Err(anyhow!("the old code still worked after regeneration")),
    }
    let bot_header = regenerated.code.authorization();
    desk.authenticate(&bot_header, None, ip)?;
    println!(
        "the new code works; the DeskDirector-style `DdApi` scheme works too: {}",
        {
            let alias = format!("DdApi {}", regenerated.code.expose());
            desk.authenticate(&alias, None, ip).is_ok()
        }
    );
    let portal_code = portal.code.expose();
    let other_secret = portal_code
        .split_once(':')
        .map(|(_, s)| s)
        .unwrap_or_default();
    let started = Instant::now();
    let refused = desk.authenticate(format!("key {}:{other_secret}", bot.key.id), None, ip);
    timings.argon2_wrong_secret = Some(started.elapsed());
    if let Err(e) = refused {
        println!(
            "a well-formed but wrong secret: {e} (the same answer as for a key that does not exist)"
        );
    }
    let typo = format!("{}x", regenerated.code.authorization());
    if let Err(e) = desk.authenticate(&typo, None, ip) {
        println!("a mistyped code is refused before any lookup: {e}");
    }

    section(&mut n, "The request log of a key (last 50 requests)");
    // Reading logs needs a superuser key with admin functions, acting as someone allowed to.
    let auditor = desk.authenticate(&portal_header, Some(ActAs::Agent(cast.admin)), ip)?;
    println!("read through the portal key (admin functions) acting as the administrator:");
    for r in desk.key_log(&auditor, bot.key.id)?.iter().take(10) {
        let actor = match r.actor {
            Some(ActAs::Agent(a)) => format!("agent {a}"),
            Some(ActAs::Requester(q)) => format!("requester {q}"),
            None => "-".into(),
        };
        let via = r.token.map(|t| format!("token {t}")).unwrap_or_default();
        let ip = r.source_ip.map(|i| i.to_string()).unwrap_or_default();
        println!(
            "  {}  {:<10} {:<10} {:<8} {:<20} {ip}",
            r.at,
            r.operation,
            actor,
            via,
            r.outcome.to_string()
        );
    }

    crate::demo_plugins::tour(
        &desk,
        &system,
        &mut n,
        &cast_ids(&cast),
        &mut timings.plugin_dispatch,
    )?;

    section(&mut n, "Summary, measured in this run");
    let bot_p = desk.authenticate(&bot_header, None, ip)?;
    let ticket = desk.ticket(&root, t.id)?;
    let attrs = TicketAttributes::from(&ticket);
    timings.hot_path_ns = Some(measure(200_000, || {
        desk.authenticate(&bot_header, None, ip).is_ok()
            && desk.decide(&bot_p, Action::TicketUpdate, &attrs).is_ok()
    })?);
    let fresh = system.mint_token(regenerated.key.id, NewToken::for_agent(cast.hardware_lead))?;
    let fresh_header = fresh.token.authorization();
    desk.authenticate(&fresh_header, None, ip)?;
    timings.token_path_ns = Some(measure(200_000, || {
        desk.authenticate(&fresh_header, None, ip).is_ok()
    })?);
    let stats = desk.auth_stats();
    summary(&timings, stats.argon2_verifications)?;
    Ok(())
}

fn cast_ids(cast: &Cast) -> crate::demo_plugins::Places {
    crate::demo_plugins::Places {
        hardware: cast.hardware,
        billing: cast.billing,
        customer: cast.customer,
        billing_lead: cast.billing_lead,
    }
}

/// Runs `f` `n` times and returns nanoseconds per call; every call must succeed.
fn measure(n: u32, mut f: impl FnMut() -> bool) -> anyhow::Result<f64> {
    let started = Instant::now();
    for _ in 0..n {
        if !std::hint::black_box(f()) {
            return Err(anyhow!("a measured call failed"));
        }
    }
    Ok(started.elapsed().as_nanos() as f64 / f64::from(n))
}

fn summary(t: &Timings, argon2_runs: u64) -> anyhow::Result<()> {
    if let Some(d) = t.argon2_wrong_secret {
        println!(
            "a wrong secret (one argon2id verification, rate-limited):{:>9.1} ms",
            d.as_secs_f64() * 1e3
        );
    }
    if let Some(ns) = t.hot_path_ns {
        println!(
            "warmed key: parse header, verify, resolve, decide:      {ns:>10.0} ns per request"
        );
    }
    if let Some(ns) = t.token_path_ns {
        println!(
            "warmed access token: parse, verify, resolve:            {ns:>10.0} ns per request"
        );
    }
    for (what, d) in &t.plugin_dispatch {
        let us = d.as_secs_f64() * 1e6;
        if us >= 10_000.0 {
            println!("{:<55}{:>10.1} ms", format!("{what}:"), us / 1e3);
        } else {
            println!("{:<55}{:>10.1} µs", format!("{what}:"), us);
        }
    }
    println!("argon2id verifications in the whole run: {argon2_runs} (never one per request)");
    Ok(())
}

/// Deletes a previous demo database and its companion files.
fn remove_database(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove `{}`", p.display()))?;
        }
    }
    Ok(())
}

const SUBJECTS: &[(&str, &str)] = &[
    (
        "Cannot log in after password reset",
        "The reset link says it expired.",
    ),
    (
        "Invoice shows the wrong amount",
        "I was charged 49 EUR twice in March.",
    ),
    (
        "Printer on the third floor jams",
        "Paper jam every second page.",
    ),
    (
        "Refund for a duplicate charge",
        "Please refund the second charge.",
    ),
    (
        "Laptop battery drains overnight",
        "Fully charged at 6pm, empty by 8am.",
    ),
    (
        "VPN disconnects every hour",
        "The client drops the tunnel at minute 60.",
    ),
    (
        "Order arrived damaged",
        "The box was crushed and the screen cracked.",
    ),
    (
        "Export to CSV is empty",
        "The file only has the header row.",
    ),
    (
        "Checkout page shows an error",
        "Error 500 after entering the card.",
    ),
    ("Change the billing address", "We moved to a new office."),
];

fn seed(desk: &Helpdesk, system: &SystemHandle) -> anyhow::Result<Cast> {
    let admin = system.bootstrap_admin("Ada Admin", "ada@example.com")?;
    let root = system.agent(admin.id)?;
    let mut departments = Vec::new();
    let mut leads = Vec::new();
    let people = [
        ("Billing", ["Bea", "Bill"]),
        ("Hardware", ["Hal", "Hugo"]),
        ("Accounts", ["Ava", "Abe"]),
        ("Shipping", ["Sol", "Sue"]),
    ];
    for (dept, names) in people {
        let d = desk.create_department(&root, dept)?;
        for (i, name) in names.iter().enumerate() {
            let a = desk.create_agent(
                &root,
                NewAgent {
                    name: format!("{name} ({dept})"),
                    email: format!("{}@example.com", name.to_lowercase()),
                    admin: false,
                },
            )?;
            desk.add_member(&root, d.id, a.id, AccessLevel::Change)?;
            if i == 0 {
                leads.push(a.id);
            }
        }
        departments.push(d.id);
    }
    println!(
        "1 administrator, {} departments with 2 agents each",
        departments.len()
    );
    let mut requesters = Vec::new();
    for i in 0..40 {
        let r = desk.create_requester(
            &root,
            NewRequester {
                name: format!("Customer {}", i + 1),
                email: format!("customer{}@example.org", i + 1),
                organization: None,
            },
        )?;
        requesters.push(r.id);
    }
    println!("{} requesters", requesters.len());
    let total = 300;
    let mut batch = Vec::with_capacity(total);
    for i in 0..total {
        let (subject, body) = SUBJECTS[i % SUBJECTS.len()];
        let requester = requesters[i % requesters.len()];
        let mut t = NewTicket::new(
            format!("{subject} (#{})", i + 1),
            departments[i % departments.len()],
            requester,
        );
        t.priority = Some(Priority::ALL[i % 4]);
        t.message = Some(NewMessage::reply(body).by(Author::Requester(requester)));
        let follow_up = NewMessage::note("Checked the account, looks like a known issue.")
            .by(Author::Agent(leads[i % leads.len()]));
        batch.push(ImportTicket {
            ticket: t,
            messages: vec![follow_up],
            created_at: None,
        });
    }
    let mut done = 0;
    while !batch.is_empty() {
        let rest = batch.split_off(batch.len().min(50));
        let chunk = std::mem::replace(&mut batch, rest);
        // A migration writes in other people's names: that is the system's right.
        done += desk.import_tickets(&system.principal(), chunk)?.len();
        progress("importing tickets", done, total);
    }
    println!(
        "{done} tickets with a public message and an internal note each (bulk import, one transaction per 50)"
    );
    let first = TicketId::new(1);
    println!(
        "e.g. ticket {first}: \"{}\"",
        desk.ticket(&root, first)?.subject
    );
    Ok(Cast {
        admin: admin.id,
        billing: departments[0],
        hardware: departments[1],
        billing_lead: leads[0],
        hardware_lead: leads[1],
        customer: requesters[0],
    })
}
