//! The plain inputs a [`Policy`](crate::Policy) is compiled from: roles, agent grants,
//! departments and organizations, as loaded from storage.

use helpdesk_domain::{AgentId, DepartmentId, OrganizationId, RoleId};

use helpdesk_domain::{Action, Scopes};

pub use helpdesk_domain::AccessLevel;

/// A named set of permissions. An agent's permissions are the union of its roles'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// The role's id.
    pub id: RoleId,
    /// The role's display name.
    pub name: String,
    /// The actions the role permits.
    pub permissions: Scopes,
}

impl Role {
    /// Id of the built-in `administrator` role.
    pub const ADMINISTRATOR: RoleId = RoleId::new(1);
    /// Id of the built-in `agent` role.
    pub const AGENT: RoleId = RoleId::new(2);
    /// Id of the built-in `read-only` role.
    pub const READ_ONLY: RoleId = RoleId::new(3);

    /// Permissions of the built-in `agent` role: every ticket action except delete, reading
    /// agents, requesters and departments, and managing requesters.
    pub const AGENT_PERMISSIONS: Scopes = Scopes::of(&[
        Action::TicketRead,
        Action::TicketCreate,
        Action::TicketUpdate,
        Action::TicketAssign,
        Action::TicketStatus,
        Action::TicketReply,
        Action::TicketNote,
        Action::AgentRead,
        Action::RequesterRead,
        Action::RequesterManage,
        Action::DepartmentRead,
    ]);

    /// Permissions of the built-in `read-only` role: reading tickets, agents, requesters and
    /// departments.
    pub const READ_ONLY_PERMISSIONS: Scopes = Scopes::of(&[
        Action::TicketRead,
        Action::AgentRead,
        Action::RequesterRead,
        Action::DepartmentRead,
    ]);

    /// The built-in roles, `administrator` (every permission), `agent` and `read-only`, with
    /// their fixed ids. Storage seeds them; [`PolicyInput::with_builtin_roles`] starts from them.
    ///
    /// The `administrator` role grants every permission but, unlike an agent's admin flag, no
    /// department level.
    pub fn builtins() -> [Self; 3] {
        [
            Self {
                id: Self::ADMINISTRATOR,
                name: "administrator".to_owned(),
                permissions: Scopes::ALL,
            },
            Self {
                id: Self::AGENT,
                name: "agent".to_owned(),
                permissions: Self::AGENT_PERMISSIONS,
            },
            Self {
                id: Self::READ_ONLY,
                name: "read-only".to_owned(),
                permissions: Self::READ_ONLY_PERMISSIONS,
            },
        ]
    }
}

/// Everything that decides what one agent may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentGrant {
    /// The agent's id.
    pub id: AgentId,
    /// The agent's display name, used in explanations.
    pub name: String,
    /// Whether the agent may act at all; a disabled agent is denied everything.
    pub active: bool,
    /// An admin has every permission and [`AccessLevel::Full`] in every department, whatever
    /// its roles, levels and `only_assigned` say.
    pub admin: bool,
    /// The agent's roles; its permissions are their union.
    pub roles: Vec<RoleId>,
    /// The agent's level per department; no entry means no access. If a department is listed
    /// more than once, the highest level counts.
    pub levels: Vec<(DepartmentId, AccessLevel)>,
    /// If set, the agent sees and works on only the tickets assigned to it, though it may
    /// still open tickets where it has [`AccessLevel::Create`].
    pub only_assigned: bool,
    /// Whether the agent is a plugin's app identity: it acts only through its install (whose
    /// grant narrows it) and is never signed in as ([`Policy::may_sign_in`]).
    ///
    /// [`Policy::may_sign_in`]: crate::Policy::may_sign_in
    pub app_identity: bool,
}

/// A department, as far as permissions care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentInfo {
    /// The department's id.
    pub id: DepartmentId,
    /// The department's display name, used in explanations.
    pub name: String,
}

/// An organization's sharing setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrganizationInfo {
    /// The organization's id.
    pub id: OrganizationId,
    /// Whether requesters of the organization may read (and reply to) each other's tickets.
    pub shared_tickets: bool,
}

/// The plain inputs a [`Policy`](crate::Policy) is compiled from.
///
/// Departments and organizations that are not listed are unknown: tickets in an unknown
/// department are denied to every agent, and an unlisted organization shares nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyInput {
    /// Every role agents may hold, built-in ones included.
    pub roles: Vec<Role>,
    /// Every agent.
    pub agents: Vec<AgentGrant>,
    /// Every department.
    pub departments: Vec<DepartmentInfo>,
    /// Organizations; only those that share tickets matter.
    pub organizations: Vec<OrganizationInfo>,
}

impl PolicyInput {
    /// An input holding the built-in roles and nothing else.
    pub fn with_builtin_roles() -> Self {
        Self {
            roles: Role::builtins().into(),
            ..Self::default()
        }
    }
}
