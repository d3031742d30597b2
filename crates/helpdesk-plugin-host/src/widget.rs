//! Widgets: the typed tree a plugin returns, checked for size, and rendered by the host to
//! escaped HTML and to JSON. No HTML or script ever comes from a plugin.

use std::fmt::Write as _;

use helpdesk::InstallId;
use serde::Serialize;

use crate::bindings::v0_1::exports::helpdesk::plugin::widget as wit;
use crate::error::{CallError, Fault};

/// Most nodes in one widget.
const MAX_NODES: usize = 200;
/// Most cells (table cells, key-value pairs) in one widget.
const MAX_CELLS: usize = 2000;
/// Longest text of any one string in a widget, in bytes.
const MAX_TEXT: usize = 4096;
/// Most bytes of text in one widget, all strings together.
const MAX_TOTAL: usize = 128 * 1024;

/// The colour of a badge, as a meaning; the embedding application picks the colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tone {
    /// No particular meaning.
    Neutral,
    /// Information.
    Info,
    /// Good news.
    Success,
    /// Needs attention.
    Warning,
    /// Bad news.
    Danger,
}

impl Tone {
    fn as_str(self) -> &'static str {
        match self {
            Tone::Neutral => "neutral",
            Tone::Info => "info",
            Tone::Success => "success",
            Tone::Warning => "warning",
            Tone::Danger => "danger",
        }
    }
}

/// One element of a widget.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Node {
    /// A heading.
    Heading {
        /// Its text.
        text: String,
    },
    /// A paragraph.
    Text {
        /// Its text.
        text: String,
    },
    /// A small label.
    Badge {
        /// Its text.
        label: String,
        /// Its meaning.
        tone: Tone,
    },
    /// Label-value pairs.
    KeyValues {
        /// The pairs, in order.
        pairs: Vec<(String, String)>,
    },
    /// A table.
    Table {
        /// Column headings.
        columns: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// A link; only `http`, `https` and `mailto` addresses are rendered as links.
    Link {
        /// Its text.
        label: String,
        /// Where it goes.
        url: String,
    },
    /// A button that calls back into the plugin (see `PluginHost::action`).
    Button {
        /// Its text.
        label: String,
        /// The action name passed back.
        action: String,
        /// The payload passed back.
        payload: String,
    },
    /// A horizontal rule.
    Divider,
}

/// A rendered widget: plain data, safe to show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Widget {
    /// The install that rendered it (buttons call back into it).
    pub install: InstallId,
    /// Its title.
    pub title: String,
    /// Its content.
    pub nodes: Vec<Node>,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a link address is one the host renders as a link (no `javascript:`, no `data:`).
fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

impl Widget {
    /// The widget as HTML: every string escaped, classes prefixed `hd-widget`, buttons as
    /// `<button>` elements carrying `data-install`, `data-action` and `data-payload` for the
    /// embedding application to wire to `PluginHost::action`.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<section class=\"hd-widget\" data-install=\"{}\"><h2 class=\"hd-widget-title\">{}</h2>",
            self.install,
            escape_html(&self.title)
        );
        for node in &self.nodes {
            match node {
                Node::Heading { text } => {
                    let _ = write!(h, "<h3>{}</h3>", escape_html(text));
                }
                Node::Text { text } => {
                    let _ = write!(h, "<p>{}</p>", escape_html(text));
                }
                Node::Badge { label, tone } => {
                    let _ = write!(
                        h,
                        "<span class=\"hd-badge hd-badge-{}\">{}</span>",
                        tone.as_str(),
                        escape_html(label)
                    );
                }
                Node::KeyValues { pairs } => {
                    h.push_str("<dl>");
                    for (k, v) in pairs {
                        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", escape_html(k), escape_html(v));
                    }
                    h.push_str("</dl>");
                }
                Node::Table { columns, rows } => {
                    h.push_str("<table><thead><tr>");
                    for c in columns {
                        let _ = write!(h, "<th>{}</th>", escape_html(c));
                    }
                    h.push_str("</tr></thead><tbody>");
                    for row in rows {
                        h.push_str("<tr>");
                        for cell in row {
                            let _ = write!(h, "<td>{}</td>", escape_html(cell));
                        }
                        h.push_str("</tr>");
                    }
                    h.push_str("</tbody></table>");
                }
                Node::Link { label, url } => {
                    if safe_url(url) {
                        let _ = write!(
                            h,
                            "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
                            escape_html(url.trim()),
                            escape_html(label)
                        );
                    } else {
                        let _ = write!(h, "<span>{}</span>", escape_html(label));
                    }
                }
                Node::Button {
                    label,
                    action,
                    payload,
                } => {
                    let _ = write!(
                        h,
                        "<button type=\"button\" class=\"hd-widget-action\" data-install=\"{}\" data-action=\"{}\" data-payload=\"{}\">{}</button>",
                        self.install,
                        escape_html(action),
                        escape_html(payload),
                        escape_html(label)
                    );
                }
                Node::Divider => h.push_str("<hr>"),
            }
        }
        h.push_str("</section>");
        h
    }

    /// The widget as JSON for the embedding application's own rendering.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Counts what a tree holds, refusing one beyond the bounds.
struct Budget {
    plugin: String,
    cells: usize,
    total: usize,
}

impl Budget {
    fn take(&mut self, text: String) -> Result<String, CallError> {
        self.total += text.len();
        if text.len() > MAX_TEXT || self.total > MAX_TOTAL {
            return Err(self.oversized(format!(
                "a widget's strings may be at most {MAX_TEXT} bytes each and {MAX_TOTAL} bytes together"
            )));
        }
        Ok(text)
    }

    fn cells(&mut self, n: usize) -> Result<(), CallError> {
        self.cells += n;
        if self.cells > MAX_CELLS {
            return Err(self.oversized(format!(
                "a widget may have at most {MAX_CELLS} table cells and key-value pairs"
            )));
        }
        Ok(())
    }

    fn oversized(&self, detail: String) -> CallError {
        CallError {
            plugin: self.plugin.clone(),
            fault: Fault::OversizedOutput,
            detail,
        }
    }
}

/// Checks and converts the tree a plugin returned.
pub(crate) fn from_wit(
    plugin: &str,
    install: InstallId,
    tree: wit::Tree,
) -> Result<Widget, CallError> {
    let mut b = Budget {
        plugin: plugin.to_owned(),
        cells: 0,
        total: 0,
    };
    if tree.nodes.len() > MAX_NODES {
        return Err(b.oversized(format!(
            "a widget may have at most {MAX_NODES} nodes; it returned {}",
            tree.nodes.len()
        )));
    }
    let title = b.take(tree.title)?;
    let mut nodes = Vec::with_capacity(tree.nodes.len());
    for node in tree.nodes {
        nodes.push(match node {
            wit::Node::Heading(text) => Node::Heading {
                text: b.take(text)?,
            },
            wit::Node::Text(text) => Node::Text {
                text: b.take(text)?,
            },
            wit::Node::Badge(badge) => Node::Badge {
                label: b.take(badge.label)?,
                tone: match badge.tone {
                    wit::Tone::Neutral => Tone::Neutral,
                    wit::Tone::Info => Tone::Info,
                    wit::Tone::Success => Tone::Success,
                    wit::Tone::Warning => Tone::Warning,
                    wit::Tone::Danger => Tone::Danger,
                },
            },
            wit::Node::KeyValues(pairs) => {
                b.cells(pairs.len())?;
                let mut out = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    out.push((b.take(k)?, b.take(v)?));
                }
                Node::KeyValues { pairs: out }
            }
            wit::Node::Table(table) => {
                b.cells(table.columns.len())?;
                let mut columns = Vec::with_capacity(table.columns.len());
                for c in table.columns {
                    columns.push(b.take(c)?);
                }
                let mut rows = Vec::with_capacity(table.rows.len());
                for row in table.rows {
                    b.cells(row.len().max(1))?;
                    let mut cells = Vec::with_capacity(row.len());
                    for cell in row {
                        cells.push(b.take(cell)?);
                    }
                    rows.push(cells);
                }
                Node::Table { columns, rows }
            }
            wit::Node::Link(link) => Node::Link {
                label: b.take(link.label)?,
                url: b.take(link.url)?,
            },
            wit::Node::Button(button) => Node::Button {
                label: b.take(button.label)?,
                action: b.take(button.action)?,
                payload: b.take(button.payload)?,
            },
            wit::Node::Divider => Node::Divider,
        });
    }
    Ok(Widget {
        install,
        title,
        nodes,
    })
}

pub(crate) fn location(l: helpdesk::WidgetLocation) -> wit::Location {
    match l {
        helpdesk::WidgetLocation::TicketHeader => wit::Location::TicketHeader,
        helpdesk::WidgetLocation::AgentDashboard => wit::Location::AgentDashboard,
        _ => wit::Location::TicketSidebar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        let check = |input: &str, expected: &str| assert_eq!(escape_html(input), expected);
        check("plain", "plain");
        check(
            "<script>alert(1)</script>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        );
        check("a & b", "a &amp; b");
        check("\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;");
        check(
            "<img src=x onerror=\"x\">",
            "&lt;img src=x onerror=&quot;x&quot;&gt;",
        );
    }

    #[test]
    fn only_safe_schemes_become_links() {
        let check = |url: &str, link: bool| assert_eq!(safe_url(url), link, "{url}");
        check("https://example.com", true);
        check("HTTP://example.com", true);
        check("mailto:a@example.com", true);
        check("javascript:alert(1)", false);
        check("  JavaScript:alert(1)", false);
        check("data:text/html,<b>", false);
        check("//evil.example", false);
    }
}
