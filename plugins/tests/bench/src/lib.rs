//! Benchmark plugin: the smallest real app and widget. On an event it reads the event's ticket
//! (one host call); rendering reads the ticket and shows its subject.

use helpdesk_plugin_sdk::{Context, Event, Plugin, Widget, export_plugin, tickets};

struct Bench;

impl Plugin for Bench {
    fn on_event(event: Event) -> Result<(), String> {
        if let Some(id) = event.ticket {
            tickets::get(id).map_err(|e| e.describe())?;
        }
        Ok(())
    }

    fn render(context: Context) -> Result<Widget, String> {
        let id = context.ticket.ok_or("no ticket")?;
        let ticket = tickets::get(id).map_err(|e| e.describe())?;
        Ok(Widget::new("Bench").text(ticket.subject))
    }
}

export_plugin!(Bench);
