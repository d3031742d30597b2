//! What a plugin says about itself: its manifest (`plugin.toml`), the widgets and settings it
//! declares and the limits it asks for, checked before anything is stored.

use std::collections::BTreeSet;
use std::fmt;

use helpdesk_authz::{Action, Scopes};
use helpdesk_domain::{EventKind, check_free_text, normalize_line};
use serde::{Deserialize, Serialize};

use super::invalid;
use crate::error::Result;

/// Where a widget can appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WidgetLocation {
    /// Beside a ticket.
    TicketSidebar,
    /// Above a ticket.
    TicketHeader,
    /// On the agent's dashboard.
    AgentDashboard,
}

impl WidgetLocation {
    /// The stable name used in manifests: `ticket-sidebar`, `ticket-header`, `agent-dashboard`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TicketSidebar => "ticket-sidebar",
            Self::TicketHeader => "ticket-header",
            Self::AgentDashboard => "agent-dashboard",
        }
    }
}

impl fmt::Display for WidgetLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A setting a plugin declares; the administrator fills it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SettingSpec {
    /// Its name, as the plugin asks for it.
    pub name: String,
    /// A label for the administrator.
    #[serde(default)]
    pub label: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// A secret (an API token of another service): stored encrypted, never shown by any read.
    #[serde(default)]
    pub secret: bool,
    /// Whether the plugin needs a value.
    #[serde(default)]
    pub required: bool,
    /// The value when none is set (not for secrets).
    #[serde(default)]
    pub default: Option<String>,
}

/// What a plugin needs per call; the host applies these up to its own ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Linear memory per instance, in MiB (at most 256).
    pub memory_mib: u32,
    /// WebAssembly fuel per call: roughly the instructions it may run.
    pub fuel: u64,
    /// Wall-clock time per call, in milliseconds (at most 30 000).
    pub timeout_ms: u32,
    /// The key-value store's size: keys and values together, in bytes (at most 16 MiB).
    pub kv_bytes: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_mib: 16,
            fuel: 100_000_000,
            timeout_ms: 1000,
            kv_bytes: 1 << 20,
        }
    }
}

/// A plugin's manifest (`plugin.toml`): what it is, what it asks for and what it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PluginManifest {
    /// A stable id: 1 to 64 of `a-z`, `0-9` and `-`.
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// Its version, such as `1.2.0`.
    pub version: String,
    /// The plugin API it was built for, such as `0.1.0`.
    pub api_version: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The scopes it asks for, such as `tickets.read`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The events it subscribes to, such as `ticket.created` (needs `events.read`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Where its widget appears.
    #[serde(default)]
    pub widgets: Vec<WidgetLocation>,
    /// The settings it declares.
    #[serde(default)]
    pub settings: Vec<SettingSpec>,
    /// What it needs per call.
    #[serde(default)]
    pub limits: PluginLimits,
}

impl PluginManifest {
    /// Parses and checks a `plugin.toml`.
    pub fn from_toml(text: &str) -> Result<Self> {
        let manifest: Self =
            toml::from_str(text).map_err(|e| invalid("manifest", e.message().to_owned()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks the manifest's rules: id form, one-line name and version, no control characters
    /// in what is shown to people, known scopes and events, `events.read` for subscriptions,
    /// unique settings, limits within bounds.
    pub fn check(&self) -> Result<()> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(invalid(
                "id",
                format!("`{}` must be 1 to 64 of `a-z`, `0-9` and `-`", self.id),
            ));
        }
        // The name and version are shown to the administrator who reviews the install: one
        // line each, without control characters that a terminal would obey.
        normalize_line("name", &self.name, 100)?;
        normalize_line("version", &self.version, 32)?;
        check_free_text("description", &self.description)?;
        self.api_major_minor()?;
        let requested = self.requested()?;
        for name in &self.events {
            if EventKind::from_name(name).is_none() {
                return Err(invalid("events", format!("`{name}` is not an event kind")));
            }
        }
        if !self.events.is_empty() && !requested.contains(Action::EventRead) {
            return Err(invalid(
                "permissions",
                "a plugin that subscribes to events must ask for `events.read`",
            ));
        }
        let mut names = BTreeSet::new();
        for s in &self.settings {
            if s.name.is_empty()
                || s.name.len() > 64
                || s.name.contains(char::is_control)
                || !names.insert(s.name.as_str())
            {
                return Err(invalid(
                    "settings",
                    format!(
                        "setting `{}` is empty, too long, holds control characters or is declared twice",
                        s.name
                    ),
                ));
            }
            check_free_text("label", &s.label)?;
            check_free_text("description", &s.description)?;
            if s.secret && s.default.is_some() {
                return Err(invalid(
                    "settings",
                    format!("secret setting `{}` cannot have a default", s.name),
                ));
            }
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.memory_mib > 256 {
            return Err(invalid("limits", "`memory-mib` must be 1 to 256"));
        }
        if l.timeout_ms == 0 || l.timeout_ms > 30_000 {
            return Err(invalid("limits", "`timeout-ms` must be 1 to 30000"));
        }
        if l.fuel == 0 || l.fuel > 10_000_000_000 {
            return Err(invalid("limits", "`fuel` must be 1 to 10000000000"));
        }
        if l.kv_bytes > 16 << 20 {
            return Err(invalid("limits", "`kv-bytes` must be at most 16 MiB"));
        }
        Ok(())
    }

    /// The API version's `(major, minor)`.
    pub fn api_major_minor(&self) -> Result<(u32, u32)> {
        let bad = || {
            invalid(
                "api-version",
                format!("`{}` is not a version like `0.1.0`", self.api_version),
            )
        };
        let mut parts = self.api_version.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if let Some(patch) = parts.next()
            && patch.parse::<u32>().is_err()
        {
            return Err(bad());
        }
        Ok((major, minor))
    }

    /// The scopes asked for.
    pub fn requested(&self) -> Result<Scopes> {
        Scopes::parse(self.permissions.iter().map(String::as_str))
            .map_err(|e| invalid("permissions", e.to_string()))
    }

    /// Whether the plugin subscribes to this kind of event.
    pub fn subscribes(&self, kind: EventKind) -> bool {
        self.events.iter().any(|e| e == kind.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn manifests_refuse_control_characters_in_what_people_read() {
        // A TOML basic string with every character but letters, digits, dots and spaces escaped.
        let quoted = |text: &str| -> String {
            let escaped: String = text
                .chars()
                .map(|c| match c {
                    ' ' | 'a'..='z' | 'A'..='Z' | '0'..='9' | '.' => c.to_string(),
                    c => format!("\\U{:08X}", u32::from(c)),
                })
                .collect();
            format!("\"{escaped}\"")
        };
        let manifest = |name: &str, description: &str, label: &str| {
            format!(
                "id = \"probe\"\nname = {}\nversion = \"1.0.0\"\napi-version = \"0.1.0\"\n\
                 description = {}\n[[settings]]\nname = \"mode\"\nlabel = {}\n",
                quoted(name),
                quoted(description),
                quoted(label)
            )
        };
        let check = |name: &str, description: &str, label: &str, refused: Option<&str>| {
            let got = PluginManifest::from_toml(&manifest(name, description, label));
            match (got, refused) {
                (Ok(_), None) => {}
                (Err(Error::Invalid(e)), Some(field)) => {
                    assert!(e.to_string().starts_with(&format!("`{field}`")), "{e}")
                }
                (got, want) => panic!("{name:?} {description:?} {label:?}: {got:?}, want {want:?}"),
            }
        };
        check("Probe", "Looks around.\nTwice.\t", "Mode", None);
        check("Probe\u{1b}[2K\rTrusted", "", "Mode", Some("name"));
        check("Two\nlines", "", "Mode", Some("name"));
        check("  ", "", "Mode", Some("name"));
        check("Probe", "bell\u{7}", "Mode", Some("description"));
        check("Probe", "", "Mode\u{0}", Some("label"));
    }

    #[test]
    fn api_versions_parse() {
        let check = |v: &str, expected: Option<(u32, u32)>| {
            let m = PluginManifest {
                id: "x".into(),
                name: "X".into(),
                version: "1".into(),
                api_version: v.into(),
                description: String::new(),
                permissions: Vec::new(),
                events: Vec::new(),
                widgets: Vec::new(),
                settings: Vec::new(),
                limits: PluginLimits::default(),
            };
            assert_eq!(m.api_major_minor().ok(), expected, "{v}");
        };
        check("0.1.0", Some((0, 1)));
        check("0.1", Some((0, 1)));
        check("1.2.3", Some((1, 2)));
        check("one", None);
        check("0.x.0", None);
        check("0.1.beta", None);
    }
}
