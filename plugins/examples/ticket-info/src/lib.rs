//! Example widget for the ticket sidebar: the ticket's age, its status and priority, the
//! requester's other tickets, and a button that adds a follow-up note.

use helpdesk_plugin_sdk::{
    Context, MessageKind, Plugin, Priority, SearchQuery, Status, Tone, Widget, clock,
    export_plugin, tickets,
};

struct TicketInfo;

fn age(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0 => "just now".to_owned(),
        1..=59 => format!("{minutes} min"),
        60..=1439 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes / 1440),
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::New => "new",
        Status::Open => "open",
        Status::Pending => "pending",
        Status::Resolved => "resolved",
        Status::Closed => "closed",
    }
}

fn priority_badge(p: Priority) -> (&'static str, Tone) {
    match p {
        Priority::Low => ("low", Tone::Neutral),
        Priority::Normal => ("normal", Tone::Info),
        Priority::High => ("high", Tone::Warning),
        Priority::Urgent => ("urgent", Tone::Danger),
    }
}

impl Plugin for TicketInfo {
    fn render(context: Context) -> Result<Widget, String> {
        let Some(id) = context.ticket else {
            return Ok(Widget::new("Ticket info").text("Open a ticket to see its details."));
        };
        let ticket = tickets::get(id).map_err(|e| e.describe())?;
        let (label, tone) = priority_badge(ticket.priority);
        let mut widget = Widget::new("Ticket info")
            .badge(label, tone)
            .key_values(vec![
                ("Age".to_owned(), age(clock::now() - ticket.created_at)),
                ("Status".to_owned(), status_name(ticket.status).to_owned()),
                ("Tags".to_owned(), ticket.tags.join(", ")),
            ]);
        let query = SearchQuery {
            requester: Some(ticket.requester),
            limit: Some(10),
            ..SearchQuery::default()
        };
        match tickets::search(&query) {
            Ok(others) => {
                let rows: Vec<Vec<String>> = others
                    .into_iter()
                    .filter(|t| t.id != id)
                    .map(|t| {
                        vec![
                            format!("#{}", t.id),
                            t.subject,
                            status_name(t.status).to_owned(),
                        ]
                    })
                    .collect();
                widget = widget.heading("Other tickets from this requester");
                widget = if rows.is_empty() {
                    widget.text("None.")
                } else {
                    widget.table(
                        vec!["Ticket".into(), "Subject".into(), "Status".into()],
                        rows,
                    )
                };
            }
            Err(e) => {
                widget = widget.text(format!("Other tickets are not available: {}", e.describe()))
            }
        }
        Ok(widget
            .divider()
            .button("Ask for a follow-up", "follow-up", id.to_string()))
    }

    fn on_action(context: Context, action: String, payload: String) -> Result<String, String> {
        if action != "follow-up" {
            return Err(format!("unknown action `{action}`"));
        }
        let id: i64 = payload.parse().map_err(|_| "bad payload".to_owned())?;
        if context.ticket != Some(id) {
            return Err("the button belongs to another ticket".to_owned());
        }
        tickets::add_message(
            id,
            MessageKind::Note,
            "Follow-up requested from the ticket-info widget.",
        )
        .map_err(|e| e.describe())?;
        Ok("A follow-up note was added.".to_owned())
    }
}

export_plugin!(TicketInfo);
