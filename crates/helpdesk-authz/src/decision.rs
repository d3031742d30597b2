//! The outcome of a permission check: `Decision`, the `DenyReason` data behind a denial, and
//! its explanation, formatted only when shown.

use std::fmt;

use helpdesk_domain::{AgentId, DepartmentId, InstallId, KeyId, RequesterId, TokenId};

use crate::input::AccessLevel;
use crate::policy::Policy;
use helpdesk_domain::Action;

/// Whether an action is allowed, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum Decision {
    /// The action is allowed.
    Allow,
    /// The action is denied.
    Deny(DenyReason),
}

impl Decision {
    /// Whether the action is allowed.
    pub const fn is_allowed(self) -> bool {
        matches!(self, Self::Allow)
    }

    /// The reason of a denial.
    pub const fn reason(self) -> Option<DenyReason> {
        match self {
            Self::Allow => None,
            Self::Deny(reason) => Some(reason),
        }
    }

    /// `Ok(())` if allowed, the reason otherwise, for use with `?`.
    pub const fn into_result(self) -> Result<(), DenyReason> {
        match self {
            Self::Allow => Ok(()),
            Self::Deny(reason) => Err(reason),
        }
    }
}

/// Why an action was denied: plain data, cheap to copy; see [`DenyReason::explain`] for a
/// message a person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", Explanation { reason: *self, policy: None })]
#[non_exhaustive]
pub enum DenyReason {
    /// The agent is not in the policy.
    UnknownAgent {
        /// The agent.
        agent: AgentId,
    },
    /// The agent is disabled.
    AgentDisabled {
        /// The agent.
        agent: AgentId,
    },
    /// None of the agent's roles permits the action.
    RoleLacks {
        /// The agent.
        agent: AgentId,
        /// The action.
        action: Action,
    },
    /// The ticket's department is not in the policy.
    UnknownDepartment {
        /// The department.
        department: DepartmentId,
    },
    /// The agent's level in the ticket's department is too low for the action.
    DepartmentLevel {
        /// The agent.
        agent: AgentId,
        /// The ticket's department.
        department: DepartmentId,
        /// The agent's level there, if any.
        has: Option<AccessLevel>,
        /// The level the action needs.
        needs: AccessLevel,
    },
    /// The agent has access to no department at all (from [`Policy::reach`]).
    NoDepartments {
        /// The agent.
        agent: AgentId,
    },
    /// The agent works only on tickets assigned to it, and this one is not.
    OnlyAssigned {
        /// The agent.
        agent: AgentId,
    },
    /// Requesters may never perform the action.
    RequesterCannot {
        /// The requester.
        requester: RequesterId,
        /// The action.
        action: Action,
    },
    /// The ticket is neither the requester's own nor shared by its organization.
    NotOwnTicket {
        /// The requester.
        requester: RequesterId,
    },
    /// The action does not apply to the kind of resource given (a caller error).
    WrongResource {
        /// The action.
        action: Action,
    },
    /// The API key's scopes lack the action.
    KeyLacksScope {
        /// The key.
        key: KeyId,
        /// The action.
        action: Action,
    },
    /// The access token's scopes lack the action.
    TokenLacksScope {
        /// The token.
        token: TokenId,
        /// The action.
        action: Action,
    },
    /// The plugin install was not granted the action.
    PluginLacksScope {
        /// The plugin install.
        install: InstallId,
        /// The action.
        action: Action,
    },
    /// The agent is a plugin's app identity: it acts only through its install, never signed in
    /// as (from [`Policy::may_sign_in`]).
    AppIdentity {
        /// The agent.
        agent: AgentId,
    },
}

impl DenyReason {
    /// The reason as a message a person can act on, with agent and department names taken
    /// from `policy`. Formatting happens only when the result is displayed.
    ///
    /// Without a policy (`reason.to_string()`), ids stand in for names.
    pub const fn explain(self, policy: &Policy) -> Explanation<'_> {
        Explanation {
            reason: self,
            policy: Some(policy),
        }
    }
}

/// A [`DenyReason`] ready to be displayed with names from a [`Policy`].
#[derive(Clone, Copy, Debug)]
pub struct Explanation<'p> {
    reason: DenyReason,
    policy: Option<&'p Policy>,
}

impl Explanation<'_> {
    fn agent(&self, id: AgentId) -> Named<'_> {
        Named {
            kind: "agent",
            id: id.get(),
            name: self.policy.and_then(|p| p.agent_name(id)),
        }
    }

    fn department(&self, id: DepartmentId) -> Named<'_> {
        Named {
            kind: "department",
            id: id.get(),
            name: self.policy.and_then(|p| p.department_name(id)),
        }
    }
}

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            DenyReason::UnknownAgent { agent } => write!(f, "agent {agent} does not exist"),
            DenyReason::AgentDisabled { agent } => write!(f, "{} is disabled", self.agent(agent)),
            DenyReason::RoleLacks { agent, action } => {
                write!(f, "no role of {} grants `{action}`", self.agent(agent))
            }
            DenyReason::UnknownDepartment { department } => {
                write!(f, "department {department} does not exist")
            }
            DenyReason::DepartmentLevel {
                agent,
                department,
                has: None,
                ..
            } => {
                write!(
                    f,
                    "{} has no access to {}",
                    self.agent(agent),
                    self.department(department)
                )
            }
            DenyReason::DepartmentLevel {
                agent,
                department,
                has: Some(has),
                needs,
            } => write!(
                f,
                "{} may {} but not {} tickets in {}",
                self.agent(agent),
                level_verb(has),
                level_verb(needs),
                self.department(department)
            ),
            DenyReason::NoDepartments { agent } => {
                write!(f, "{} has no access to any department", self.agent(agent))
            }
            DenyReason::OnlyAssigned { agent } => {
                write!(
                    f,
                    "{} may only work on tickets assigned to them",
                    self.agent(agent)
                )
            }
            DenyReason::RequesterCannot { action, .. } => {
                write!(f, "requesters may never use `{action}`")
            }
            DenyReason::NotOwnTicket { requester } => write!(
                f,
                "requester {requester} may only access their own tickets and those their organization shares"
            ),
            DenyReason::WrongResource {
                action: action @ Action::TicketCreate,
            } => {
                write!(f, "`{action}` applies only to a new ticket")
            }
            DenyReason::WrongResource { action } => {
                write!(f, "`{action}` applies only to an existing ticket")
            }
            DenyReason::KeyLacksScope { key, action } => write!(f, "key {key} lacks `{action}`"),
            DenyReason::TokenLacksScope { token, action } => {
                write!(f, "token {token} lacks `{action}`")
            }
            DenyReason::PluginLacksScope { install, action } => {
                write!(f, "plugin install {install} was not granted `{action}`")
            }
            DenyReason::AppIdentity { agent } => write!(
                f,
                "{} is a plugin's app identity: it acts only through its install",
                self.agent(agent)
            ),
        }
    }
}

/// An agent or department shown by name if known, by id otherwise.
struct Named<'a> {
    kind: &'static str,
    id: i64,
    name: Option<&'a str>,
}

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "{} `{name}`", self.kind),
            None => write!(f, "{} {}", self.kind, self.id),
        }
    }
}

/// What a level allows on tickets beyond the level below, as a verb for messages.
pub(crate) const fn level_verb(level: AccessLevel) -> &'static str {
    match level {
        AccessLevel::Read => "read",
        AccessLevel::Create => "create",
        AccessLevel::Change => "change",
        AccessLevel::Full => "delete",
    }
}
