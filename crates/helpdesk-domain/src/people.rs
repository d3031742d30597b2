//! The people and groups of a helpdesk: agents, departments, requesters and organisations.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{AgentId, DepartmentId, OrganizationId, RequesterId};
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
    /// The departments the agent belongs to, sorted.
    pub departments: Vec<DepartmentId>,
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
