//! Principals (who an operation is performed as) and the system handle that mints them; the
//! principals of API keys and access tokens come from [`Helpdesk::authenticate`].

use helpdesk_authz::{Scopes, Subject};
use helpdesk_domain::{
    ActAs, Actor, AgentId, Attribution, InstallId, KeyId, OrganizationId, RequesterId, Timestamp,
    TokenId,
};

use crate::Helpdesk;
use crate::error::Result;

/// Who an operation is performed as, with the credential layers that narrow it. Outside code
/// cannot forge one: principals come from the [`SystemHandle`] that only the embedding
/// application holds (and from authentication with keys and tokens).
///
/// Kept small (it is made and moved on every request): what history records is derived from
/// the engine's subject rather than stored beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    pub(crate) subject: Subject,
    /// What the key in `subject.key` (and the token in `subject.token`) were when this principal
    /// was made, so that one whose credential changed since is refused (see `guard/credential.rs`).
    pub(crate) held: Held,
}

/// What a principal's credential was when the principal was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Held {
    /// The revision of the key (see `KeySnap::revision`); zero without a key.
    pub(crate) revision: u64,
    /// The version of the key and token tables the principal was made under: while the tables
    /// have not moved since, neither have its key and token.
    pub(crate) tables: u64,
    /// When the key or token expires, the earlier, in milliseconds; `i64::MAX` if neither does
    /// (kept as a plain number so that the principal stays small: it is moved on every request).
    pub(crate) until: i64,
}

impl Held {
    /// The earlier of two expiries, as kept in [`Held::until`].
    pub(crate) fn until(a: Option<Timestamp>, b: Option<Timestamp>) -> i64 {
        let millis = |t: Option<Timestamp>| t.map_or(i64::MAX, Timestamp::as_millis);
        millis(a).min(millis(b))
    }
}

impl Principal {
    /// The person (or the system) acting.
    pub fn actor(&self) -> Actor {
        match self.subject.principal {
            helpdesk_authz::Principal::System => Actor::System,
            helpdesk_authz::Principal::Agent(id) => Actor::Agent(id),
            helpdesk_authz::Principal::Requester { id, .. } => Actor::Requester(id),
        }
    }

    /// What history and events record about this principal: the person, and the key, token
    /// and plugin install it acts through.
    pub fn attribution(&self) -> Attribution {
        Attribution {
            actor: self.actor(),
            key: self.key(),
            token: self.token(),
            install: self.install(),
        }
    }

    /// The plugin install acting (or rendering, for a widget), if any.
    pub(crate) fn install(&self) -> Option<InstallId> {
        self.subject.plugin.map(|r| r.id)
    }

    /// Whether this principal sees internal notes and agent-only fields (agents and the system).
    pub fn sees_internal(&self) -> bool {
        self.subject.sees_internal()
    }

    /// The API key the request was authenticated with, if any.
    pub fn key(&self) -> Option<KeyId> {
        self.subject.key.map(|r| r.id)
    }

    /// The access token the request was authenticated with, if any.
    pub fn token(&self) -> Option<TokenId> {
        self.subject.token.map(|r| r.id)
    }

    /// What the credentials allow: the intersection of the key's and the token's scopes, or every
    /// scope for a principal without credentials. The person's own rights narrow it further.
    pub fn scopes(&self) -> Scopes {
        self.subject.layer_scopes()
    }

    /// The principal of a request authenticated with `key` (and `token`), acting as `person`;
    /// `organization` is the requester's, when the person is a requester. History records the
    /// person, the key and the token; the engine intersects the person's rights with every scope
    /// layer.
    pub(crate) fn through_key(
        person: ActAs,
        organization: Option<OrganizationId>,
        key: (KeyId, Scopes),
        token: Option<(TokenId, Scopes)>,
        held: Held,
    ) -> Self {
        let subject = match person {
            ActAs::Agent(id) => Subject::agent(id),
            ActAs::Requester(id) => Subject::requester(id, organization),
        };
        let mut subject = subject.with_key(key.0, key.1);
        if let Some((id, scopes)) = token {
            subject = subject.with_token(id, scopes);
        }
        Principal { subject, held }
    }

    /// A principal acting directly, without credentials.
    pub(crate) const fn direct(subject: Subject) -> Self {
        Self {
            subject,
            held: Held {
                revision: 0,
                tables: 0,
                until: i64::MAX,
            },
        }
    }
}

/// The embedding application's own handle: it maps the application's signed-in users to
/// principals and performs administration as the system. Returned once by [`Helpdesk::open`];
/// code that holds only a [`Helpdesk`] cannot act as the system.
#[derive(Clone, Debug)]
pub struct SystemHandle {
    pub(crate) helpdesk: Helpdesk,
}

impl SystemHandle {
    /// The system itself: may do everything, recorded as `system` in history.
    pub fn principal(&self) -> Principal {
        Principal::direct(Subject::system())
    }

    /// A principal for an agent the application has signed in. The agent must exist, be active
    /// and not be a plugin's app identity (which acts only through its install).
    pub fn agent(&self, id: AgentId) -> Result<Principal> {
        self.helpdesk.may_sign_in(id)?;
        Ok(Principal::direct(Subject::agent(id)))
    }

    /// A principal for a requester the application has signed in (a customer portal user).
    pub fn requester(&self, id: RequesterId) -> Result<Principal> {
        let requester = self.helpdesk.store().requester(id)?;
        Ok(Principal::direct(Subject::requester(
            id,
            requester.organization,
        )))
    }

    /// The helpdesk this handle belongs to.
    pub fn helpdesk(&self) -> &Helpdesk {
        &self.helpdesk
    }
}
