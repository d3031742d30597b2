//! An embedded, in-process helpdesk core on SQLite.
//!
//! Link it as a library: [`Helpdesk::open`] gives a cheap-to-clone, thread-safe [`Helpdesk`] and
//! the [`SystemHandle`] through which the embedding application maps its own signed-in users to
//! [`Principal`]s. Every operation is performed as a principal, checked before it touches
//! storage, recorded in the ticket's typed history and emitted as an event on a durable outbox,
//! all in one transaction.
//!
//! ```
//! use helpdesk::{Helpdesk, NewAgent, NewRequester, NewTicket, NewMessage, Options, SearchQuery};
//!
//! # fn main() -> Result<(), helpdesk::Error> {
//! let (desk, system) = Helpdesk::open_in_memory(Options::default())?;
//! let root = system.principal();
//! let ann = desk.create_agent(&root, NewAgent { name: "Ann".into(), email: "ann@example.com".into(), admin: false })?;
//! let billing = desk.create_department(&root, "Billing")?;
//! desk.add_member(&root, billing.id, ann.id, helpdesk::AccessLevel::Change)?;
//! let bob = desk.create_requester(&root, NewRequester { name: "Bob".into(), email: "bob@example.org".into(), organization: None })?;
//!
//! let as_ann = system.agent(ann.id)?;
//! let mut new = NewTicket::new("Invoice shows the wrong amount", billing.id, bob.id);
//! new.message = Some(NewMessage::reply("I was charged twice in March.").by(helpdesk::Author::Requester(bob.id)));
//! let ticket = desk.create_ticket(&as_ann, new)?;
//!
//! let page = desk.search(&as_ann, &SearchQuery { text: Some("charged".into()), ..SearchQuery::default() })?;
//! assert_eq!(page.tickets[0].id, ticket.id);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod error;
mod guard;
mod history;
mod keys;
mod local;
mod operations;
mod options;
mod outbox;
mod people;
mod plugins;
mod policy;
mod principal;
mod tickets;

use std::path::Path;
use std::sync::Arc;

use helpdesk_store::Store;

use policy::PolicyCell;

pub use error::{Denied, Error, Result, StorageError};
pub use helpdesk_authz::{Action, Scopes};
pub use helpdesk_domain::{
    AccessLevel, Actor, Agent, AgentId, AgentUpdate, Attribution, Author, Change, Clock,
    ConsumerInfo, Cursor, Department, DepartmentId, Durability, Entity, Event, EventBatch,
    EventKind, FieldDefinition, FieldId, FieldKind, FieldValue, HistoryEntry, HistoryField,
    HistoryId, HistorySubject, HistoryValue, ImportTicket, InstallId, KeyId, Limits, ManualClock,
    Membership, Message, MessageId, MessageKind, NewAgent, NewFieldDefinition, NewMessage,
    NewRequester, NewTicket, Organization, OrganizationId, Priority, Reading, Requester,
    RequesterId, Role, RoleId, SearchPage, SearchQuery, SortBy, SortOrder, StartFrom, Status,
    SystemClock, Ticket, TicketId, TicketUpdate, Timestamp, TokenId, ValidationError,
};
pub use keys::{
    AccessToken, ActAs, ApiKey, ApiRequest, AuthError, AuthStats, IssuedKey, KeyCode, KeyKind,
    KeyRequest, KeyUpdate, MalformedCredential, MintedToken, Network, NewKey, NewToken,
    RequestOutcome, TicketAttributes,
};
pub use options::{CredentialScheme, Options, SecretHashing};
pub use plugins::{
    DeadLetter, Delivery, DeliveryOutcome, DeliveryPolicy, Install, InstallState, NewInstall,
    PluginLimits, PluginManifest, SecretKey, SettingSpec, SettingView, Upgrade, WidgetLocation,
    wasm_hash,
};
pub use principal::{Principal, SystemHandle};

/// A helpdesk database, open. Cheap to clone and shareable across threads; every clone is the
/// same helpdesk. The file stays locked against other owners until the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Helpdesk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Tells this helpdesk's copies in each thread's [`local`] storage from another's.
    instance: u64,
    store: Store,
    clock: Arc<dyn Clock>,
    policy: PolicyCell,
    keys: keys::KeyState,
    deliveries: plugins::DeliveryNumbers,
}

impl Helpdesk {
    /// Opens the helpdesk database at `path`, creating it if the path does not exist or names an
    /// empty file, and returns it with the system handle. Fails if another handle (in this or
    /// another process) owns the file, by this name or through a symlink ([`Error::InUse`]), if
    /// the file has several names ([`Error::HardLinked`]), if the file is not a helpdesk database
    /// ([`Error::NotOurs`]; it is left untouched), or if a newer version wrote it.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let store = Store::open(path.as_ref(), &options.store_options())?;
        Self::assemble(store, options)
    }

    /// Opens a fresh helpdesk in memory (for tests and trials; nothing is kept).
    pub fn open_in_memory(options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let store = Store::open_in_memory(&options.store_options())?;
        Self::assemble(store, options)
    }

    fn assemble(store: Store, options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let policy = PolicyCell::load(&store)?;
        let keys = keys::KeyState::load(&store, &options)?;
        let deliveries = plugins::DeliveryNumbers::new(store.delivery_key()?);
        let helpdesk = Helpdesk {
            inner: Arc::new(Inner {
                instance: local::new_instance(),
                store,
                clock: options.clock,
                policy,
                keys,
                deliveries,
            }),
        };
        let system = SystemHandle {
            helpdesk: helpdesk.clone(),
        };
        Ok((helpdesk, system))
    }

    /// The current time by the helpdesk's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Rebuilds the permission policy after a change that affects it; the very next decision
    /// uses the new one.
    fn policy_changed<T>(&self, value: T) -> Result<T> {
        self.inner.policy.refresh(self.store())?;
        Ok(value)
    }
}
