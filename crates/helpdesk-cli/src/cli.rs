//! The command line: every subcommand and flag, as clap definitions. Every value that is parsed
//! (ids, statuses, priorities, levels, scopes, networks, cursors, numbers) is parsed here, so a
//! bad one is a usage error (exit status 2) naming its argument, before the database is opened.

use std::path::PathBuf;

use clap::builder::{RangedI64ValueParser, RangedU64ValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use helpdesk::{Action, Cursor, Network, Priority, Status};

/// A record id: a positive whole number.
fn id() -> RangedI64ValueParser<i64> {
    RangedI64ValueParser::new().range(1..)
}

/// A count of days or minutes: a whole number from 1.
fn positive() -> RangedU64ValueParser<u32> {
    RangedU64ValueParser::new().range(1..)
}

/// A search page size: 1 to the largest page the core serves.
fn page_size() -> RangedU64ValueParser<usize> {
    let max = u64::try_from(helpdesk::Limits::default().max_page_size).unwrap_or(u64::MAX);
    RangedU64ValueParser::new().range(1..=max)
}

/// A plugin setting, `name=value`.
fn setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("a setting is `name=value`, got `{text}`")),
    }
}

/// An administrator's tool for a helpdesk database, and a guided demo of the core.
///
/// It opens the SQLite file itself, so it works on a database no application holds open at that
/// moment; on a database in use it says so and changes nothing.
#[derive(Debug, Parser)]
#[command(name = "helpdesk", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The database file (created on first use).
    #[arg(long, global = true, env = "HELPDESK_DB")]
    pub(crate) db: Option<PathBuf>,

    /// Print JSON for scripts instead of tables (with a `schema_version` field).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Act as this agent (email); defaults to the first administrator.
    #[arg(long = "as", global = true, value_name = "EMAIL")]
    pub(crate) acting: Option<String>,

    /// Name of the first administrator, used when the database is new.
    #[arg(long, global = true, default_value = "Administrator")]
    pub(crate) admin_name: String,

    /// Email of the first administrator, used when the database is new.
    #[arg(long, global = true, default_value = "admin@helpdesk.local")]
    pub(crate) admin_email: String,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Agents: list, create, update, roles.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Departments and their members.
    #[command(subcommand)]
    Department(DepartmentCmd),
    /// Roles: named sets of scopes.
    #[command(subcommand)]
    Role(RoleCmd),
    /// Custom ticket fields.
    #[command(subcommand)]
    Field(FieldCmd),
    /// Requesters (end users).
    #[command(subcommand)]
    Requester(RequesterCmd),
    /// Organisations of requesters.
    #[command(subcommand)]
    Org(OrgCmd),
    /// Tickets: create, list, search, show, update, reply, note.
    #[command(subcommand)]
    Ticket(TicketCmd),
    /// API keys: create (shows the code once), list, show, log, regenerate, enable, disable, delete.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Access tokens minted from a key.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Plugins: install (review and grant), list, enable, disable, uninstall, deliveries, replay, render.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Import tickets from a JSON Lines file (one ticket per line), in one transaction.
    Import(ImportArgs),
    /// Fill the database with realistic sample data.
    Seed(SeedArgs),
    /// A guided tour of every capability on a fresh database file (`--db`, default
    /// `target/helpdesk-demo.db`, replaced on each run).
    Demo,
    /// Write an online backup of the database to a new file.
    Backup {
        /// The target file (must not exist).
        target: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCmd {
    /// List agents.
    List,
    /// Create an agent.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Make the agent an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Change an agent.
    Update {
        /// The agent id.
        #[arg(value_parser = id())]
        id: i64,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New email.
        #[arg(long)]
        email: Option<String>,
        /// Disable the agent.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enable the agent.
        #[arg(long)]
        enable: bool,
        /// Restrict the agent to tickets assigned to it (true or false).
        #[arg(long)]
        only_assigned: Option<bool>,
        /// Grant (true) or take away (false) administrator rights.
        #[arg(long)]
        admin: Option<bool>,
    },
    /// Replace an agent's roles.
    Roles {
        /// The agent id.
        #[arg(value_parser = id())]
        id: i64,
        /// Role ids.
        #[arg(value_parser = id(), required = true)]
        roles: Vec<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DepartmentCmd {
    /// List departments.
    List,
    /// Create a department.
    Create {
        /// Its name.
        name: String,
    },
    /// Add an agent to a department, or change its level there.
    AddMember {
        /// The department id.
        #[arg(value_parser = id())]
        department: i64,
        /// The agent id.
        #[arg(value_parser = id())]
        agent: i64,
        /// The access level.
        #[arg(long, value_enum, default_value_t = Level::Change)]
        level: Level,
    },
    /// Remove an agent from a department.
    RemoveMember {
        /// The department id.
        #[arg(value_parser = id())]
        department: i64,
        /// The agent id.
        #[arg(value_parser = id())]
        agent: i64,
    },
}

/// An access level, as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Level {
    /// See the department's tickets.
    Read,
    /// Also open tickets.
    Create,
    /// Also change, assign, reply and note.
    Change,
    /// Also delete.
    Full,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleCmd {
    /// List roles with their scopes.
    List,
    /// Create a role.
    Create {
        /// Its name.
        name: String,
        /// Scope names, such as `tickets.read`.
        #[arg(required = true)]
        scopes: Vec<Action>,
    },
    /// Replace a custom role's scopes.
    Update {
        /// The role id.
        #[arg(value_parser = id())]
        id: i64,
        /// Scope names.
        #[arg(required = true)]
        scopes: Vec<Action>,
    },
    /// Delete a custom role.
    Delete {
        /// The role id.
        #[arg(value_parser = id())]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FieldCmd {
    /// List custom fields.
    List,
    /// Define a custom field.
    Create {
        /// The stable key (`a-z`, `0-9`, `_`).
        key: String,
        /// The label shown to people.
        #[arg(long)]
        label: String,
        /// The type.
        #[arg(long, value_enum)]
        kind: Kind,
        /// An option of a choice field (repeat for each).
        #[arg(long = "option")]
        options: Vec<String>,
        /// Hide from requesters.
        #[arg(long)]
        agent_only: bool,
    },
}

/// A custom field type, as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Kind {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// Yes or no.
    Boolean,
    /// A date, YYYY-MM-DD.
    Date,
    /// One of the given options.
    Choice,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RequesterCmd {
    /// Create a requester.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Organisation id.
        #[arg(long, value_parser = id())]
        org: Option<i64>,
    },
    /// Show a requester.
    Show {
        /// The requester id.
        #[arg(value_parser = id())]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgCmd {
    /// List organisations.
    List,
    /// Create an organisation.
    Create {
        /// Its name.
        name: String,
        /// Let its requesters see each other's tickets.
        #[arg(long)]
        shared: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TicketCmd {
    /// Open a ticket.
    Create {
        /// One-line summary.
        #[arg(long)]
        subject: String,
        /// Department id.
        #[arg(long, value_parser = id())]
        department: i64,
        /// Requester id.
        #[arg(long, value_parser = id())]
        requester: i64,
        /// Priority: low, normal, high or urgent.
        #[arg(long)]
        priority: Option<Priority>,
        /// First message, from the requester.
        #[arg(long)]
        message: Option<String>,
        /// A tag (repeat for each).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// List tickets, newest first.
    List(SearchArgs),
    /// Full-text search with filters.
    Search {
        /// Words that must all appear.
        text: String,
        #[command(flatten)]
        filters: SearchArgs,
    },
    /// Show a ticket with its messages and history.
    Show {
        /// The ticket id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Change a ticket (name the version you based the change on).
    Update {
        /// The ticket id.
        #[arg(value_parser = id())]
        id: i64,
        /// The version the change is based on (see `ticket show`).
        #[arg(long)]
        version: u64,
        /// New subject.
        #[arg(long)]
        subject: Option<String>,
        /// New status: new, open, pending, resolved or closed.
        #[arg(long)]
        status: Option<Status>,
        /// New priority: low, normal, high or urgent.
        #[arg(long)]
        priority: Option<Priority>,
        /// Assign to this agent id.
        #[arg(long, value_parser = id(), conflicts_with = "unassign")]
        assignee: Option<i64>,
        /// Remove the assignee.
        #[arg(long)]
        unassign: bool,
        /// Move to this department id.
        #[arg(long, value_parser = id())]
        department: Option<i64>,
        /// Add a tag (repeat for each).
        #[arg(long = "add-tag")]
        add_tags: Vec<String>,
        /// Remove a tag (repeat for each).
        #[arg(long = "remove-tag")]
        remove_tags: Vec<String>,
    },
    /// Post a public reply.
    Reply {
        /// The ticket id.
        #[arg(value_parser = id())]
        id: i64,
        /// The text (`-` reads it from standard input).
        body: String,
    },
    /// Post an internal note.
    Note {
        /// The ticket id.
        #[arg(value_parser = id())]
        id: i64,
        /// The text (`-` reads it from standard input).
        body: String,
    },
}

/// Filters shared by `ticket list` and `ticket search`.
#[derive(Debug, Args, Default)]
pub(crate) struct SearchArgs {
    /// Only this status: new, open, pending, resolved or closed (repeat for several).
    #[arg(long = "status")]
    pub(crate) statuses: Vec<Status>,
    /// Only this department id (repeat for several).
    #[arg(long = "department", value_parser = id())]
    pub(crate) departments: Vec<i64>,
    /// Only tickets carrying this tag (repeat: all must match).
    #[arg(long = "tag")]
    pub(crate) tags: Vec<String>,
    /// Page size (1 to 500).
    #[arg(long, default_value_t = 20, value_parser = page_size())]
    pub(crate) limit: usize,
    /// The cursor printed after the previous page.
    #[arg(long)]
    pub(crate) cursor: Option<Cursor>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// A JSON Lines file: one ticket per line, as `{"ticket": {...}, "messages": [...]}`.
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// How many tickets.
    #[arg(long, default_value_t = 300)]
    pub(crate) tickets: usize,
    /// How many departments.
    #[arg(long, default_value_t = 4)]
    pub(crate) departments: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCmd {
    /// Create a key; its full code is printed this once.
    #[command(group(ArgGroup::new("kind").required(true).args(["agent", "superuser"])))]
    Create {
        /// What the key is for.
        #[arg(long)]
        description: String,
        /// An agent key acting as this agent id.
        #[arg(long, value_parser = id(), conflicts_with = "superuser")]
        agent: Option<i64>,
        /// A superuser key (acts as the person each request names).
        #[arg(long)]
        superuser: bool,
        /// The agent a superuser key acts as when a request names nobody.
        #[arg(long, value_parser = id(), requires = "superuser")]
        default_agent: Option<i64>,
        /// Let a superuser key administer keys and read their logs.
        #[arg(long, requires = "superuser")]
        admin_functions: bool,
        /// A scope the key allows (repeat for each), such as `tickets.read`.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Action>,
        /// The key stops working after this many days.
        #[arg(long, value_parser = positive())]
        expires_in_days: Option<u32>,
        /// A network requests may come from, as CIDR (repeat for each).
        #[arg(long = "network")]
        networks: Vec<Network>,
    },
    /// List keys (never their secrets).
    List,
    /// Show one key.
    Show {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// The key's last 50 requests.
    Log {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Change a key's settings; its code stays the same. Options not given are left as they are.
    Update {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// The scopes the key allows from now on (repeat for each); replaces the current ones.
        #[arg(long = "scope")]
        scopes: Vec<Action>,
        /// Let a superuser key administer keys and read their logs (`true` or `false`).
        #[arg(long)]
        admin_functions: Option<bool>,
        /// The key stops working this many days from now.
        #[arg(long, value_parser = positive(), conflicts_with = "no_expiry")]
        expires_in_days: Option<u32>,
        /// The key never expires.
        #[arg(long)]
        no_expiry: bool,
        /// The networks requests may come from from now on, as CIDR (repeat for each); replaces
        /// the current ones.
        #[arg(long = "network", conflicts_with = "any_network")]
        networks: Vec<Network>,
        /// Requests may come from any address.
        #[arg(long)]
        any_network: bool,
        /// A superuser key's new default agent.
        #[arg(long, value_parser = id(), conflicts_with = "no_default_agent")]
        default_agent: Option<i64>,
        /// A superuser key without a default agent.
        #[arg(long)]
        no_default_agent: bool,
    },
    /// Give a key a new secret; the old one stops working at once, or after the overlap.
    Regenerate {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
        /// Keep the old secret working this many minutes (rotation without downtime).
        #[arg(long)]
        overlap_minutes: Option<u64>,
    },
    /// Enable a key.
    Enable {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Disable a key (its tokens die).
    Disable {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Delete a key (its tokens die).
    Delete {
        /// The key id.
        #[arg(value_parser = id())]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCmd {
    /// Mint an access token from a key, for an agent or a requester.
    #[command(group(ArgGroup::new("person").required(true).args(["agent", "requester"])))]
    Mint {
        /// The key id (the command acts for the application that owns the key).
        #[arg(long, value_parser = id())]
        key: i64,
        /// The token acts as this agent id.
        #[arg(long, value_parser = id(), conflicts_with = "requester")]
        agent: Option<i64>,
        /// The token acts as this requester id (a portal session).
        #[arg(long, value_parser = id())]
        requester: Option<i64>,
        /// Lifetime in minutes (default 60).
        #[arg(long, value_parser = positive())]
        minutes: Option<u32>,
        /// Narrow the token to these scopes (repeat; default: the key's).
        #[arg(long = "scope")]
        scopes: Vec<Action>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PluginCmd {
    /// Review a plugin's requested permissions and install it with an explicit grant.
    Install {
        /// The plugin's `plugin.toml`.
        #[arg(long)]
        manifest: PathBuf,
        /// The component built for `wasm32-wasip2`.
        #[arg(long)]
        wasm: PathBuf,
        /// A requested scope to grant (repeat); without a grant the command only shows the review.
        #[arg(long = "grant")]
        grant: Vec<Action>,
        /// Grant everything the plugin requests.
        #[arg(long, conflicts_with = "grant")]
        grant_all: bool,
        /// A setting `name=value` (repeat).
        #[arg(long = "setting", value_parser = setting)]
        settings: Vec<(String, String)>,
    },
    /// List installs with their state.
    List,
    /// Enable an install.
    Enable {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Disable an install.
    Disable {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Uninstall: removes its key, data and subscriptions.
    Uninstall {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Deliver the due events to the apps now (one round).
    Deliver,
    /// An install's pending deliveries.
    Deliveries {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// An install's dead letters (deliveries given up).
    DeadLetters {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
    },
    /// Replay the dead letters, or every event after a sequence number.
    Replay {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
        /// Replay the events after this sequence number instead of the dead letters.
        #[arg(long)]
        after: Option<u64>,
    },
    /// Render a widget for the acting agent.
    Render {
        /// The install id.
        #[arg(value_parser = id())]
        id: i64,
        /// Where the widget appears.
        #[arg(long, value_enum, default_value_t = Location::TicketSidebar)]
        location: Location,
        /// The ticket shown, for ticket locations.
        #[arg(long, value_parser = id())]
        ticket: Option<i64>,
    },
}

/// A widget location, as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Location {
    /// Beside a ticket.
    TicketSidebar,
    /// Above a ticket.
    TicketHeader,
    /// On the agent's dashboard.
    AgentDashboard,
}
