//! Internal crate, not a public API: the pure permission engine of the helpdesk; use the `helpdesk` crate.
//!
//! A [`Policy`] is compiled from plain inputs ([`PolicyInput`]: roles, agent grants,
//! departments, organizations) into dense tables and bit sets. [`Policy::decide`] answers
//! whether a [`Subject`] may perform an [`Action`] on a [`Resource`] with a [`Decision`], and
//! [`Policy::reach`] describes every ticket a subject may read so that storage can filter in
//! its query. No storage, no I/O, no locks, and no allocation while deciding.
//!
//! The rules:
//! - An agent's permissions are the union of its roles'. Ticket actions also need a level in
//!   the ticket's department ([`AccessLevel`]: read < create < change < full); agents marked
//!   `only_assigned` work only on tickets assigned to them. Admins may do everything in every
//!   department. Unknown and disabled agents may do nothing.
//! - Requesters may open tickets for themselves, and read and reply to their own tickets and
//!   those their organization shares; nothing else.
//! - The system may do everything.
//! - API keys, access tokens and plugin grants are layers of [`Scopes`] on top of a principal;
//!   the effective rights are the intersection, so a layer never widens anything.
//!
//! ```
//! use helpdesk_authz::{
//!     AccessLevel, Action, AgentGrant, AgentId, DepartmentId, DepartmentInfo, Policy, PolicyInput,
//!     RequesterId, Resource, Role, Subject, TicketAttrs,
//! };
//!
//! let billing = DepartmentId::new(1);
//! let mut input = PolicyInput::with_builtin_roles();
//! input.departments.push(DepartmentInfo { id: billing, name: "Billing".to_owned() });
//! input.agents.push(AgentGrant {
//!     id: AgentId::new(7),
//!     name: "Ann".to_owned(),
//!     active: true,
//!     admin: false,
//!     roles: vec![Role::AGENT],
//!     levels: vec![(billing, AccessLevel::Read)],
//!     only_assigned: false,
//!     app_identity: false,
//! });
//! let policy = Policy::build(input)?;
//!
//! let ann = Subject::agent(AgentId::new(7));
//! let ticket = Resource::Ticket(TicketAttrs {
//!     department: billing,
//!     assignee: None,
//!     requester: RequesterId::new(3),
//!     requester_organization: None,
//! });
//! assert!(policy.decide(&ann, Action::TicketRead, &ticket).is_allowed());
//! let denied = policy.decide(&ann, Action::TicketReply, &ticket).reason();
//! assert_eq!(
//!     denied.map(|reason| reason.explain(&policy).to_string()).as_deref(),
//!     Some("agent `Ann` may read but not change tickets in department `Billing`"),
//! );
//! # Ok::<(), helpdesk_authz::PolicyError>(())
//! ```

mod decision;
mod error;
mod index;
mod input;
mod policy;
mod reach;
mod subject;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

/// The domain's id types, re-exported because they appear throughout this crate's API.
pub use helpdesk_domain::{
    AgentId, DepartmentId, InstallId, KeyId, OrganizationId, RequesterId, RoleId, TokenId,
};

pub use decision::{Decision, DenyReason, Explanation};
pub use error::PolicyError;
pub use helpdesk_domain::{Action, ParseScopeError, Scopes, ScopesIter};
pub use input::{AccessLevel, AgentGrant, DepartmentInfo, OrganizationInfo, PolicyInput, Role};
pub use policy::Policy;
pub use reach::{DepartmentIter, DepartmentSet, Reach};
pub use subject::{Principal, Resource, Restriction, Subject, TicketAttrs};
