//! Who asks (`Subject`: a principal plus the credential layers that narrow it) and about what
//! (`Resource`).

use helpdesk_domain::{
    AgentId, DepartmentId, InstallId, KeyId, OrganizationId, RequesterId, TokenId,
};

use crate::decision::DenyReason;
use helpdesk_domain::{Action, Scopes};

/// The person (or the embedding application) a request is made as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The embedding application: everything is allowed, unless a layer narrows it.
    System,
    /// An agent, whose rights come from the policy.
    Agent(AgentId),
    /// A requester (end user): its own tickets and, if the organization shares them, its
    /// organization's tickets.
    Requester {
        /// The requester.
        id: RequesterId,
        /// The organization the requester currently belongs to.
        organization: Option<OrganizationId>,
    },
}

impl Principal {
    /// Whether the principal may see internal notes and agent-only fields of the tickets it
    /// reads: only agents and the system do.
    pub const fn sees_internal(self) -> bool {
        matches!(self, Self::System | Self::Agent(_))
    }
}

/// A credential layer that narrows a principal's rights to a set of scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Restriction<I> {
    /// The credential (key, token or plugin install).
    pub id: I,
    /// The actions the credential allows.
    pub scopes: Scopes,
}

/// A principal together with the credential layers the request came through.
///
/// The effective rights are the intersection of the principal's rights and every layer's
/// scopes: a layer only ever narrows, never widens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subject {
    /// Who the request is made as.
    pub principal: Principal,
    /// The API key used, with its scopes.
    pub key: Option<Restriction<KeyId>>,
    /// The access token used, with its scopes.
    pub token: Option<Restriction<TokenId>>,
    /// The plugin install acting, with the scopes it was granted.
    pub plugin: Option<Restriction<InstallId>>,
}

impl Subject {
    /// A subject with no credential layers.
    pub const fn new(principal: Principal) -> Self {
        Self {
            principal,
            key: None,
            token: None,
            plugin: None,
        }
    }

    /// The embedding application itself.
    pub const fn system() -> Self {
        Self::new(Principal::System)
    }

    /// An agent acting directly.
    pub const fn agent(id: AgentId) -> Self {
        Self::new(Principal::Agent(id))
    }

    /// A requester acting directly.
    pub const fn requester(id: RequesterId, organization: Option<OrganizationId>) -> Self {
        Self::new(Principal::Requester { id, organization })
    }

    /// The same subject acting through API key `id` limited to `scopes`.
    #[must_use]
    pub const fn with_key(mut self, id: KeyId, scopes: Scopes) -> Self {
        self.key = Some(Restriction { id, scopes });
        self
    }

    /// The same subject acting through access token `id` limited to `scopes`.
    #[must_use]
    pub const fn with_token(mut self, id: TokenId, scopes: Scopes) -> Self {
        self.token = Some(Restriction { id, scopes });
        self
    }

    /// The same subject acting through plugin install `id`, granted `scopes`.
    #[must_use]
    pub const fn with_plugin(mut self, id: InstallId, scopes: Scopes) -> Self {
        self.plugin = Some(Restriction { id, scopes });
        self
    }

    /// The intersection of the layers' scopes ([`Scopes::ALL`] if there are none): what the
    /// credentials allow, before the principal's own rights are considered.
    pub fn layer_scopes(&self) -> Scopes {
        let mut scopes = Scopes::ALL;
        if let Some(key) = self.key {
            scopes &= key.scopes;
        }
        if let Some(token) = self.token {
            scopes &= token.scopes;
        }
        if let Some(plugin) = self.plugin {
            scopes &= plugin.scopes;
        }
        scopes
    }

    /// Whether the subject may see internal notes and agent-only fields; see
    /// [`Principal::sees_internal`].
    pub const fn sees_internal(&self) -> bool {
        self.principal.sees_internal()
    }

    /// Checks the layers, key first, then token, then plugin grant.
    #[inline]
    pub(crate) fn check_layers(&self, action: Action) -> Result<(), DenyReason> {
        if let Some(key) = self.key
            && !key.scopes.contains(action)
        {
            return Err(DenyReason::KeyLacksScope {
                key: key.id,
                action,
            });
        }
        if let Some(token) = self.token
            && !token.scopes.contains(action)
        {
            return Err(DenyReason::TokenLacksScope {
                token: token.id,
                action,
            });
        }
        if let Some(plugin) = self.plugin
            && !plugin.scopes.contains(action)
        {
            return Err(DenyReason::PluginLacksScope {
                install: plugin.id,
                action,
            });
        }
        Ok(())
    }
}

/// The attributes of an existing ticket that permissions depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TicketAttrs {
    /// The department the ticket is in.
    pub department: DepartmentId,
    /// The agent the ticket is assigned to.
    pub assignee: Option<AgentId>,
    /// The requester the ticket belongs to.
    pub requester: RequesterId,
    /// The organization of the ticket's requester.
    pub requester_organization: Option<OrganizationId>,
}

/// What an action is performed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// Nothing in particular: for actions that are not about tickets.
    Global,
    /// An existing ticket: for every ticket action but `tickets.create`.
    Ticket(TicketAttrs),
    /// A ticket about to be opened: for `tickets.create`.
    NewTicket {
        /// The department it is opened in.
        department: DepartmentId,
        /// The requester it is opened for.
        requester: RequesterId,
    },
}
