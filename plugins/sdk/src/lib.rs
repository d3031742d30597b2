//! The guest SDK for helpdesk plugins: write an app or a widget as an ordinary Rust crate.
//!
//! Implement [`Plugin`] (every method has a default, so write only what the plugin uses), export
//! it with [`export_plugin!`], and build with `cargo build --release --target wasm32-wasip2`.
//! The host calls the plugin in a sandbox; every host call below is authorized with the
//! install's own key, so a call the install was not granted fails with [`Error::Denied`].
//!
//! ```ignore
//! use helpdesk_plugin_sdk::{export_plugin, tickets, Event, Plugin};
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn on_event(event: Event) -> Result<(), String> {
//!         if let Some(id) = event.ticket {
//!             let ticket = tickets::get(id).map_err(|e| e.to_string())?;
//!             helpdesk_plugin_sdk::log::info(&format!("saw `{}`", ticket.subject));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! export_plugin!(Hello);
//! ```

extern crate self as helpdesk_plugin_sdk;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The raw `wit-bindgen` output for the `helpdesk:plugin/plugin` world (WIT in `plugins/wit`).
#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "helpdesk_plugin_sdk::bindings",
        runtime_path: "helpdesk_plugin_sdk::__wit_bindgen::rt",
        generate_all,
    });
}

pub use bindings::exports::helpdesk::plugin::app::Event;
pub use bindings::exports::helpdesk::plugin::widget::{
    Badge, Button, Context, Link, Location, Node, Table, Tone, Tree as Widget,
};
pub use bindings::helpdesk::plugin::types::{
    Actor, Agent, Attribution, Author, Department, Error, Message, MessageKind, Priority, Status,
    Ticket,
};
pub use bindings::helpdesk::plugin::{clock, directory, kv, settings, tickets};
pub use tickets::{NewTicket, SearchQuery, TicketUpdate};

/// The version of the plugin API this SDK builds for; put it in the manifest's `api-version`.
pub const API_VERSION: &str = "0.1.0";

/// What a plugin does. Every method has a default: an app implements [`Plugin::on_event`], a
/// widget [`Plugin::render`] (and [`Plugin::on_action`] for its buttons).
pub trait Plugin {
    /// Handles one event the plugin subscribed to. An `Err` (or a panic) makes the host retry
    /// later with backoff, with the same [`Event::delivery_id`].
    fn on_event(event: Event) -> Result<(), String> {
        let _ = event;
        Ok(())
    }

    /// Renders the widget for a location and a viewing agent.
    fn render(context: Context) -> Result<Widget, String> {
        let _ = context;
        Err("this plugin has no widget".to_owned())
    }

    /// Runs when the viewing agent presses one of the widget's buttons; returns a message for
    /// the agent.
    fn on_action(context: Context, action: String, payload: String) -> Result<String, String> {
        let _ = (context, payload);
        Err(format!("this plugin has no action `{action}`"))
    }
}

/// Exports a type implementing [`Plugin`] as the component's `app` and `widget`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct __HelpdeskPluginExport;

            impl $crate::bindings::exports::helpdesk::plugin::app::Guest for __HelpdeskPluginExport {
                fn on_event(event: $crate::Event) -> ::core::result::Result<(), ::std::string::String> {
                    <$plugin as $crate::Plugin>::on_event(event)
                }
            }

            impl $crate::bindings::exports::helpdesk::plugin::widget::Guest for __HelpdeskPluginExport {
                fn render(
                    context: $crate::Context,
                ) -> ::core::result::Result<$crate::Widget, ::std::string::String> {
                    <$plugin as $crate::Plugin>::render(context)
                }

                fn on_action(
                    context: $crate::Context,
                    action: ::std::string::String,
                    payload: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                    <$plugin as $crate::Plugin>::on_action(context, action, payload)
                }
            }

            $crate::bindings::__export_plugin_world!(__HelpdeskPluginExport with_types_in $crate::bindings);
        };
    };
}

impl Error {
    /// The error for people: its kind and the host's message, such as
    /// ``denied: plugin install 3 was not granted `tickets.update` ``.
    pub fn describe(&self) -> String {
        match self {
            Error::Denied(m) => format!("denied: {m}"),
            Error::NotFound(m) => format!("not found: {m}"),
            Error::Invalid(m) => format!("invalid: {m}"),
            Error::Conflict(m) => format!("conflict: {m}"),
            Error::LimitExceeded(m) => format!("limit exceeded: {m}"),
            Error::Unavailable(m) => format!("unavailable: {m}"),
        }
    }
}

#[expect(
    clippy::derivable_impls,
    reason = "the type is generated by wit-bindgen, where a derive cannot be added to it alone"
)]
impl Default for TicketUpdate {
    fn default() -> Self {
        Self {
            status: None,
            priority: None,
            assignee: None,
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            fields: Vec::new(),
        }
    }
}

#[expect(
    clippy::derivable_impls,
    reason = "the type is generated by wit-bindgen, where a derive cannot be added to it alone"
)]
impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: None,
            statuses: Vec::new(),
            priorities: Vec::new(),
            departments: Vec::new(),
            requester: None,
            tags: Vec::new(),
            created_from: None,
            limit: None,
        }
    }
}

impl Widget {
    /// An empty widget with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            nodes: Vec::new(),
        }
    }

    /// Adds a heading.
    pub fn heading(mut self, text: impl Into<String>) -> Self {
        self.nodes.push(Node::Heading(text.into()));
        self
    }

    /// Adds a paragraph of text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.nodes.push(Node::Text(text.into()));
        self
    }

    /// Adds a badge.
    pub fn badge(mut self, label: impl Into<String>, tone: Tone) -> Self {
        self.nodes.push(Node::Badge(Badge {
            label: label.into(),
            tone,
        }));
        self
    }

    /// Adds a list of label-value pairs.
    pub fn key_values(mut self, pairs: Vec<(String, String)>) -> Self {
        self.nodes.push(Node::KeyValues(pairs));
        self
    }

    /// Adds a table.
    pub fn table(mut self, columns: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        self.nodes.push(Node::Table(Table { columns, rows }));
        self
    }

    /// Adds a link (the host only renders `http`, `https` and `mailto` links).
    pub fn link(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.nodes.push(Node::Link(Link {
            label: label.into(),
            url: url.into(),
        }));
        self
    }

    /// Adds a button that calls [`Plugin::on_action`] with `action` and `payload`.
    pub fn button(
        mut self,
        label: impl Into<String>,
        action: impl Into<String>,
        payload: impl Into<String>,
    ) -> Self {
        self.nodes.push(Node::Button(Button {
            label: label.into(),
            action: action.into(),
            payload: payload.into(),
        }));
        self
    }

    /// Adds a divider.
    pub fn divider(mut self) -> Self {
        self.nodes.push(Node::Divider);
        self
    }
}

/// Logging into the host's log, tagged with the plugin's id.
pub mod log {
    use crate::bindings::helpdesk::plugin::log::{Level, log};

    /// Logs at `trace`.
    pub fn trace(message: &str) {
        log(Level::Trace, message);
    }
    /// Logs at `debug`.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at `info`.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs at `warn`.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs at `error`.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Settings helpers.
pub mod setting {
    /// A setting's value, or `default` when it is unset or cannot be read.
    pub fn or(name: &str, default: &str) -> String {
        crate::settings::get(name)
            .ok()
            .flatten()
            .unwrap_or_else(|| default.to_owned())
    }
}
