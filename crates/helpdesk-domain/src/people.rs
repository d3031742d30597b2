//! The people and groups of a helpdesk: agents, departments, requesters and organisations.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{AgentId, DepartmentId, InstallId, OrganizationId, RequesterId, RoleId};
use crate::scopes::Scopes;
use crate::ticket::AccessLevel;
use crate::time::Timestamp;
use crate::validate::{Limits, normalize_email, normalize_name};

/// A member of the support team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Display name.
    pub name: String,
    /// Email address, unique regardless of case.
    pub email: String,
    /// Disabled agents can do nothing and cannot be assigned tickets.
    pub active: bool,
    /// Administrators may do everything.
    pub admin: bool,
    /// Works only on tickets assigned to them (they may still open tickets).
    pub only_assigned: bool,
    /// The agent's roles; its permissions are their union.
    pub roles: Vec<RoleId>,
    /// The departments the agent belongs to, with its access level in each, by department id.
    pub departments: Vec<Membership>,
    /// The plugin install this agent is the app identity of, if it is one (kept after the
    /// install is removed). An app identity acts only through its install: it is never signed
    /// in as, and changes only with its install.
    #[serde(default)]
    pub app_install: Option<InstallId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Input for a new agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Whether the agent is an administrator.
    #[serde(default)]
    pub admin: bool,
}

/// An agent's membership of a department.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// The department.
    pub department: DepartmentId,
    /// What the agent may do with the department's tickets.
    pub level: AccessLevel,
}

impl Agent {
    /// The agent's access level in `department`, if a member.
    pub fn level_in(&self, department: DepartmentId) -> Option<AccessLevel> {
        self.departments
            .iter()
            .find(|m| m.department == department)
            .map(|m| m.level)
    }
}

impl NewAgent {
    /// Validates the name and email.
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        self.name = normalize_name("name", &self.name, limits)?;
        normalize_email(&self.email)?;
        self.email = self.email.trim().to_owned();
        Ok(self)
    }
}

/// A change to an agent. Fields left `None` are not touched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUpdate {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Enable or disable.
    #[serde(default)]
    pub active: Option<bool>,
    /// Grant or take away administrator rights.
    #[serde(default)]
    pub admin: Option<bool>,
    /// Restrict to (or free from) tickets assigned to the agent.
    #[serde(default)]
    pub only_assigned: Option<bool>,
}

impl AgentUpdate {
    /// Validates the name and email.
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        if let Some(name) = &self.name {
            self.name = Some(normalize_name("name", name, limits)?);
        }
        if let Some(email) = &self.email {
            normalize_email(email)?;
            self.email = Some(email.trim().to_owned());
        }
        Ok(self)
    }
}

/// A group of agents that tickets are routed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// Its id.
    pub id: DepartmentId,
    /// Its name, unique regardless of case.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A customer organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: OrganizationId,
    /// Its name, unique regardless of case.
    pub name: String,
    /// Whether its requesters may see each other's tickets.
    pub shared_tickets: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An end user who opens tickets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// Its id.
    pub id: RequesterId,
    /// Display name.
    pub name: String,
    /// Email address, unique regardless of case.
    pub email: String,
    /// The organisation, if any.
    pub organization: Option<OrganizationId>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Input for a new requester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequester {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// The organisation, if any.
    #[serde(default)]
    pub organization: Option<OrganizationId>,
}

impl NewRequester {
    /// Validates the name and email.
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        self.name = normalize_name("name", &self.name, limits)?;
        normalize_email(&self.email)?;
        self.email = self.email.trim().to_owned();
        Ok(self)
    }
}

/// A role: a named set of permissions (stable scope names such as `tickets.read`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Its id. The built-in roles are 1 (`administrator`), 2 (`agent`) and 3 (`read-only`).
    pub id: RoleId,
    /// Its name, unique regardless of case.
    pub name: String,
    /// What it grants. Built-in roles grant what this version of the code defines for them.
    pub permissions: Scopes,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
}
