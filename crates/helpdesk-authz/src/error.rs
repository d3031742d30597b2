//! Errors of the permission engine: compiling a policy.

use helpdesk_domain::{AgentId, DepartmentId, OrganizationId, RoleId};

/// Inconsistent input to [`Policy::build`](crate::Policy::build).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Two roles share an id.
    #[error("role {0} is listed twice")]
    DuplicateRole(RoleId),
    /// Two agents share an id.
    #[error("agent {0} is listed twice")]
    DuplicateAgent(AgentId),
    /// Two departments share an id.
    #[error("department {0} is listed twice")]
    DuplicateDepartment(DepartmentId),
    /// Two organizations share an id.
    #[error("organization {0} is listed twice")]
    DuplicateOrganization(OrganizationId),
    /// An agent holds a role that is not listed.
    #[error("agent {agent} holds unknown role {role}")]
    UnknownRole {
        /// The agent.
        agent: AgentId,
        /// The role it refers to.
        role: RoleId,
    },
    /// An agent has a level in a department that is not listed.
    #[error("agent {agent} has a level in unknown department {department}")]
    UnknownDepartment {
        /// The agent.
        agent: AgentId,
        /// The department it refers to.
        department: DepartmentId,
    },
}
