//! Test-only plugin: runs host calls named by text (`tickets.get 5`, `kv.set k v`, ...) and
//! reports each result as `ok ...` or the typed error, so tests can check every host call
//! against every grant. On events it runs its `commands` setting and records what it saw in
//! its key-value store; while rendering it runs its `render` setting; an action runs its name.

use helpdesk_plugin_sdk::{
    Context, Event, MessageKind, NewTicket, Plugin, Priority, SearchQuery, Status, TicketUpdate,
    Widget, clock, directory, export_plugin, kv, log, setting, settings, tickets,
};

struct Probe;

fn arg<T: std::str::FromStr>(words: &[&str], i: usize) -> Result<T, String> {
    words
        .get(i)
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| format!("argument {i} missing or malformed"))
}

fn rest(words: &[&str], from: usize) -> String {
    words.get(from..).map(|w| w.join(" ")).unwrap_or_default()
}

fn show<T>(r: Result<T, helpdesk_plugin_sdk::Error>, f: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => format!("ok {}", f(v)).trim_end().to_owned(),
        Err(e) => e.describe(),
    }
}

fn update(id: i64, change: impl FnOnce(&mut TicketUpdate)) -> String {
    let ticket = match tickets::get(id) {
        Ok(t) => t,
        Err(e) => return e.describe(),
    };
    let mut u = TicketUpdate::default();
    change(&mut u);
    show(tickets::update(id, ticket.version, &u), |t| {
        format!("v{}", t.version)
    })
}

/// Runs one command and reports its result.
fn run(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let id = || arg::<i64>(&words, 1);
    let result: Result<String, String> = (|| {
        Ok(match words.first().copied().unwrap_or("") {
            "tickets.get" => show(tickets::get(id()?), |t| t.subject),
            "tickets.messages" => show(tickets::messages(id()?), |m| m.len().to_string()),
            "tickets.search" => {
                let q = SearchQuery {
                    text: Some(rest(&words, 1)).filter(|t| !t.is_empty()),
                    ..SearchQuery::default()
                };
                show(tickets::search(&q), |t| t.len().to_string())
            }
            "tickets.create" => {
                let new = NewTicket {
                    subject: rest(&words, 3),
                    department: arg(&words, 1)?,
                    requester: arg(&words, 2)?,
                    priority: None,
                    tags: Vec::new(),
                    body: None,
                };
                show(tickets::create(&new), |t| t.id.to_string())
            }
            "tickets.priority" => {
                let p = match words.get(2).copied() {
                    Some("low") => Priority::Low,
                    Some("high") => Priority::High,
                    Some("urgent") => Priority::Urgent,
                    _ => Priority::Normal,
                };
                update(id()?, |u| u.priority = Some(p))
            }
            "tickets.status" => {
                let s = match words.get(2).copied() {
                    Some("pending") => Status::Pending,
                    Some("resolved") => Status::Resolved,
                    Some("closed") => Status::Closed,
                    _ => Status::Open,
                };
                update(id()?, |u| u.status = Some(s))
            }
            "tickets.assign" => {
                let agent: i64 = arg(&words, 2)?;
                update(id()?, |u| u.assignee = Some(Some(agent)))
            }
            "tickets.tag" => {
                let tag = rest(&words, 2);
                update(id()?, |u| u.add_tags = vec![tag])
            }
            "tickets.field" => {
                let (key, json) = (rest(&words, 2), String::new());
                let mut parts = key.splitn(2, ' ');
                let key = parts.next().unwrap_or("").to_owned();
                let json = parts.next().map(str::to_owned).unwrap_or(json);
                update(id()?, |u| u.fields = vec![(key, Some(json))])
            }
            "tickets.note" => show(
                tickets::add_message(id()?, MessageKind::Note, &rest(&words, 2)),
                |m| m.id.to_string(),
            ),
            "tickets.reply" => show(
                tickets::add_message(id()?, MessageKind::Reply, &rest(&words, 2)),
                |m| m.id.to_string(),
            ),
            "directory.agents" => show(directory::agents(), |a| a.len().to_string()),
            "directory.departments" => show(directory::departments(), |d| d.len().to_string()),
            "clock.now" => format!("ok {}", clock::now()),
            "kv.get" => show(kv::get(&rest(&words, 1)), |v| {
                v.map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_else(|| "none".to_owned())
            }),
            "kv.set" => show(
                kv::set(
                    words.get(1).copied().unwrap_or(""),
                    rest(&words, 2).as_bytes(),
                ),
                |()| String::new(),
            ),
            "kv.fill" => {
                let n: usize = arg(&words, 2)?;
                show(
                    kv::set(words.get(1).copied().unwrap_or(""), &vec![b'x'; n]),
                    |()| String::new(),
                )
            }
            "kv.delete" => show(kv::delete(&rest(&words, 1)), |()| String::new()),
            "settings.get" => show(settings::get(&rest(&words, 1)), |v| {
                v.unwrap_or_else(|| "none".to_owned())
            }),
            "log" => {
                log::info(&rest(&words, 1));
                "ok".to_owned()
            }
            other => format!("unknown command `{other}`"),
        })
    })();
    result.unwrap_or_else(|e| format!("bad command: {e}"))
}

fn run_all(script: &str) -> Vec<(String, String)> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| (l.to_owned(), run(l)))
        .collect()
}

impl Plugin for Probe {
    fn on_event(event: Event) -> Result<(), String> {
        let seen = format!(
            "{} {} ticket={} attempt={} by={:?}/{:?}\n",
            event.delivery_id,
            event.kind,
            event.ticket.unwrap_or(0),
            event.attempt,
            event.by.key,
            event.by.install
        );
        let mut log = kv::get("log").ok().flatten().unwrap_or_default();
        log.extend_from_slice(seen.as_bytes());
        if let Some(ticket) = event.ticket {
            let failing = setting::or("fail-tickets", "");
            if failing.split(',').any(|t| t.trim() == ticket.to_string()) {
                kv::set("log", &log).map_err(|e| e.describe())?;
                return Err(format!("told to fail on ticket {ticket}"));
            }
        }
        kv::set("log", &log).map_err(|e| e.describe())?;
        let script = setting::or("commands", "");
        if !script.is_empty() {
            let report: Vec<String> = run_all(&script)
                .into_iter()
                .map(|(c, r)| format!("{c} => {r}"))
                .collect();
            kv::set("results", report.join("\n").as_bytes()).map_err(|e| e.describe())?;
        }
        Ok(())
    }

    fn render(_context: Context) -> Result<Widget, String> {
        let mut widget = Widget::new(setting::or("title", "Probe"));
        let pairs = run_all(&setting::or("render", ""));
        if !pairs.is_empty() {
            widget = widget.key_values(pairs);
        }
        Ok(widget
            .text(setting::or("title", "Probe"))
            .link("home", "https://example.com/?a=1&b=2")
            .link("sneaky", "javascript:alert(1)")
            .button("press <me>", "tickets.note 1 pressed", "\"payload\""))
    }

    fn on_action(_context: Context, action: String, _payload: String) -> Result<String, String> {
        Ok(run(&action))
    }
}

export_plugin!(Probe);
