//! Principals (who an operation is performed as) and the system handle that mints them; the
//! principals of API keys and access tokens come from [`Helpdesk::authenticate`].

use helpdesk_authz::{Scopes, Subject};
use helpdesk_domain::{
    ActAs, Actor, AgentId, Attribution, KeyId, OrganizationId, RequesterId, TokenId,
};

use crate::Helpdesk;
use crate::error::Result;

/// Who an operation is performed as, with the credential layers that narrow it. Outside code
/// cannot forge one: principals come from the [`SystemHandle`] that only the embedding
/// application holds (and from authentication with keys and tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    pub(crate) by: Attribution,
    pub(crate) subject: Subject,
    /// The revision of the key in `subject.key` this principal was made under: a principal
    /// whose key changed since is refused (see `guard.rs`). Zero without a key.
    pub(crate) revision: u64,
}

impl Principal {
    /// The person (or the system) acting.
    pub fn actor(&self) -> Actor {
        self.by.actor
    }

    /// What history and events record about this principal.
    pub fn attribution(&self) -> Attribution {
        self.by
    }

    /// Whether this principal sees internal notes and agent-only fields (agents and the system).
    pub fn sees_internal(&self) -> bool {
        self.subject.sees_internal()
    }

    /// The API key the request was authenticated with, if any.
    pub fn key(&self) -> Option<KeyId> {
        self.by.key
    }

    /// The access token the request was authenticated with, if any.
    pub fn token(&self) -> Option<TokenId> {
        self.by.token
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
        key: (KeyId, Scopes, u64),
        token: Option<(TokenId, Scopes)>,
    ) -> Self {
        let subject = match person {
            ActAs::Agent(id) => Subject::agent(id),
            ActAs::Requester(id) => Subject::requester(id, organization),
        };
        let mut subject = subject.with_key(key.0, key.1);
        if let Some((id, scopes)) = token {
            subject = subject.with_token(id, scopes);
        }
        Principal {
            by: Attribution {
                actor: person.into(),
                key: Some(key.0),
                token: token.map(|(id, _)| id),
                install: None,
            },
            subject,
            revision: key.2,
        }
    }

    /// A principal acting directly, without credentials.
    pub(crate) const fn direct(by: Attribution, subject: Subject) -> Self {
        Self {
            by,
            subject,
            revision: 0,
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
        Principal::direct(Attribution::direct(Actor::System), Subject::system())
    }

    /// A principal for an agent the application has signed in. The agent must exist, be active
    /// and not be a plugin's app identity (which acts only through its install).
    pub fn agent(&self, id: AgentId) -> Result<Principal> {
        self.helpdesk.may_sign_in(id)?;
        Ok(Principal::direct(
            Attribution::direct(Actor::Agent(id)),
            Subject::agent(id),
        ))
    }

    /// A principal for a requester the application has signed in (a customer portal user).
    pub fn requester(&self, id: RequesterId) -> Result<Principal> {
        let requester = self.helpdesk.store().requester(id)?;
        Ok(Principal::direct(
            Attribution::direct(Actor::Requester(id)),
            Subject::requester(id, requester.organization),
        ))
    }

    /// The helpdesk this handle belongs to.
    pub fn helpdesk(&self) -> &Helpdesk {
        &self.helpdesk
    }
}
