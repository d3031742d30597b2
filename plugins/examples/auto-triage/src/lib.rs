//! Example app: on `ticket.created`, sets the ticket's priority and tags from keyword rules kept
//! in its settings (`keyword => priority tag tag`, one a line).

use helpdesk_plugin_sdk::{
    Error, Event, Plugin, Priority, TicketUpdate, export_plugin, log, setting, tickets,
};

struct AutoTriage;

/// One rule: a keyword and what a ticket mentioning it gets.
struct Rule {
    keyword: String,
    priority: Option<Priority>,
    tags: Vec<String>,
}

fn parse_priority(word: &str) -> Option<Priority> {
    match word {
        "low" => Some(Priority::Low),
        "normal" => Some(Priority::Normal),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
}

fn rank(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

fn parse_rules(text: &str) -> Vec<Rule> {
    text.lines()
        .filter_map(|line| {
            let (keyword, rest) = line.split_once("=>")?;
            let keyword = keyword.trim().to_lowercase();
            if keyword.is_empty() {
                return None;
            }
            let mut words = rest.split_whitespace();
            let first = words.next();
            let priority = first.and_then(parse_priority);
            let mut tags: Vec<String> = words.map(str::to_owned).collect();
            if let (None, Some(tag)) = (priority, first) {
                tags.insert(0, tag.to_owned());
            }
            Some(Rule {
                keyword,
                priority,
                tags,
            })
        })
        .collect()
}

impl Plugin for AutoTriage {
    fn on_event(event: Event) -> Result<(), String> {
        if event.kind != "ticket.created" {
            return Ok(());
        }
        let Some(id) = event.ticket else {
            return Ok(());
        };
        let rules = parse_rules(&setting::or("rules", ""));
        // A change can race with an agent's; read again and retry once on a conflict.
        for _ in 0..2 {
            let ticket = tickets::get(id).map_err(|e| e.describe())?;
            let mut text = ticket.subject.to_lowercase();
            if let Ok(messages) = tickets::messages(id) {
                for m in messages {
                    text.push('\n');
                    text.push_str(&m.body.to_lowercase());
                }
            }
            let mut update = TicketUpdate::default();
            for rule in rules.iter().filter(|r| text.contains(&r.keyword)) {
                if let Some(p) = rule.priority
                    && update.priority.is_none_or(|q| rank(p) > rank(q))
                {
                    update.priority = Some(p);
                }
                for tag in &rule.tags {
                    if !ticket.tags.contains(tag) && !update.add_tags.contains(tag) {
                        update.add_tags.push(tag.clone());
                    }
                }
            }
            if update.priority == Some(ticket.priority) {
                update.priority = None;
            }
            if update.priority.is_none() && update.add_tags.is_empty() {
                return Ok(());
            }
            match tickets::update(id, ticket.version, &update) {
                Ok(_) => {
                    log::info(&format!("triaged ticket {id}"));
                    return Ok(());
                }
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e.describe()),
            }
        }
        Err(format!("ticket {id} kept changing; will retry"))
    }
}

export_plugin!(AutoTriage);
