//! The compiled policy: dense tables and bit sets built once from a `PolicyInput`, and the
//! decision procedure over them.

use std::fmt;

use helpdesk_domain::{AgentId, DepartmentId, OrganizationId, RequesterId, RoleId};

use crate::decision::{Decision, DenyReason};
use crate::error::PolicyError;
use crate::index::IdIndex;
use crate::input::{AccessLevel, PolicyInput};
use crate::reach::{DepartmentSet, Reach};
use crate::subject::{Principal, Resource, Subject, TicketAttrs};
use helpdesk_domain::{Action, Scopes};

const LEVELS: usize = AccessLevel::ALL.len();

/// An immutable, compiled permission policy.
///
/// Built once from a [`PolicyInput`] whenever an administrator changes something, then shared
/// (it is `Send + Sync`); [`decide`](Self::decide) and [`reach`](Self::reach) take no locks and
/// allocate nothing.
///
/// Deny by default: unknown agents, disabled agents and tickets in unknown departments are
/// denied to everyone but the system.
#[derive(Clone, Default)]
pub struct Policy {
    agent_index: IdIndex,
    agents: Vec<CompiledAgent>,
    agent_names: Vec<String>,
    department_index: IdIndex,
    department_ids: Vec<DepartmentId>,
    department_names: Vec<String>,
    /// Number of `u64` words in one department bit set.
    words: usize,
    /// Per agent, per level (lowest first), a bit set of the departments where the agent has at
    /// least that level: the set for agent `a` and level `l` starts at `(a * LEVELS + l) * words`.
    levels: Vec<u64>,
    /// The bit set of every department.
    all_departments: Vec<u64>,
    organization_index: IdIndex,
    shares_tickets: Vec<bool>,
}

/// The hot part of an agent's grant.
#[derive(Clone, Copy, Debug)]
struct CompiledAgent {
    permissions: Scopes,
    active: bool,
    admin: bool,
    only_assigned: bool,
    app_identity: bool,
}

/// What a ticket action applies to, once checked against the action.
#[derive(Clone, Copy)]
enum Target<'r> {
    Global,
    Existing(&'r TicketAttrs),
    New {
        department: DepartmentId,
        requester: RequesterId,
    },
}

impl Policy {
    /// Compiles `input`, which must be consistent: ids unique, and every role and department
    /// an agent refers to listed.
    pub fn build(input: PolicyInput) -> Result<Self, PolicyError> {
        let PolicyInput {
            roles,
            agents,
            departments,
            organizations,
        } = input;

        let role_index = IdIndex::build(roles.iter().map(|role| role.id.get()))
            .map_err(|id| PolicyError::DuplicateRole(RoleId::new(id)))?;
        let department_index = IdIndex::build(departments.iter().map(|d| d.id.get()))
            .map_err(|id| PolicyError::DuplicateDepartment(DepartmentId::new(id)))?;
        let agent_index = IdIndex::build(agents.iter().map(|a| a.id.get()))
            .map_err(|id| PolicyError::DuplicateAgent(AgentId::new(id)))?;
        let organization_index = IdIndex::build(organizations.iter().map(|o| o.id.get()))
            .map_err(|id| PolicyError::DuplicateOrganization(OrganizationId::new(id)))?;

        let words = departments.len().div_ceil(64);
        let mut all_departments = vec![0; words];
        for d in 0..departments.len() {
            set_bit(&mut all_departments, d);
        }

        let mut levels = vec![0; agents.len() * LEVELS * words];
        let mut compiled = Vec::with_capacity(agents.len());
        let mut agent_names = Vec::with_capacity(agents.len());
        for (a, agent) in agents.into_iter().enumerate() {
            let mut permissions = Scopes::EMPTY;
            for &role in &agent.roles {
                let role = role_index
                    .get(role.get())
                    .and_then(|r| roles.get(r))
                    .ok_or(PolicyError::UnknownRole {
                        agent: agent.id,
                        role,
                    })?;
                permissions |= role.permissions;
            }
            if agent.admin {
                permissions = Scopes::ALL;
            }
            for &(department, level) in &agent.levels {
                let d = department_index.get(department.get()).ok_or(
                    PolicyError::UnknownDepartment {
                        agent: agent.id,
                        department,
                    },
                )?;
                for l in 0..=level as usize {
                    let start = (a * LEVELS + l) * words;
                    if let Some(set) = levels.get_mut(start..start + words) {
                        set_bit(set, d);
                    }
                }
            }
            compiled.push(CompiledAgent {
                permissions,
                active: agent.active,
                admin: agent.admin,
                only_assigned: agent.only_assigned,
                app_identity: agent.app_identity,
            });
            agent_names.push(agent.name);
        }

        let (department_ids, department_names) =
            departments.into_iter().map(|d| (d.id, d.name)).unzip();
        Ok(Self {
            agent_index,
            agents: compiled,
            agent_names,
            department_index,
            department_ids,
            department_names,
            words,
            levels,
            all_departments,
            organization_index,
            shares_tickets: organizations.iter().map(|o| o.shared_tickets).collect(),
        })
    }

    /// Decides whether `subject` may perform `action` on `resource`.
    ///
    /// Ticket actions need [`Resource::NewTicket`] (`tickets.create`) or [`Resource::Ticket`]
    /// (the others); other actions need only the permission and ignore the resource. The
    /// principal is checked first, then the key, the token and the plugin grant, and the first
    /// failing check gives the reason.
    pub fn decide(&self, subject: &Subject, action: Action, resource: &Resource) -> Decision {
        let checked = target(action, resource)
            .and_then(|target| self.principal_may(subject.principal, action, target))
            .and_then(|()| subject.check_layers(action));
        match checked {
            Ok(()) => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    }

    /// Whether agent `id` exists and is active; the reason if not. Cheaper than a decision, for
    /// callers that only need to know whether an agent may act at all.
    pub fn agent_available(&self, id: AgentId) -> Result<(), DenyReason> {
        self.active_agent(id).map(drop)
    }

    /// Whether a request may act as agent `id`: it exists, is active and is not a plugin's app
    /// identity (which acts only through its install); the reason if not. As cheap as
    /// [`agent_available`](Self::agent_available), for the authentication hot path.
    pub fn may_sign_in(&self, id: AgentId) -> Result<(), DenyReason> {
        let agent = self
            .agent_index
            .get(id.get())
            .and_then(|a| self.agents.get(a))
            .ok_or(DenyReason::UnknownAgent { agent: id })?;
        if agent.app_identity {
            Err(DenyReason::AppIdentity { agent: id })
        } else if !agent.active {
            Err(DenyReason::AgentDisabled { agent: id })
        } else {
            Ok(())
        }
    }

    /// Whether agent `id` is an administrator (and active): one who may make administrators
    /// and change them.
    pub fn is_admin(&self, id: AgentId) -> bool {
        self.active_agent(id).is_ok_and(|(_, agent)| agent.admin)
    }

    /// The permissions agent `id` holds from its roles (every one for an administrator), before
    /// department levels; none for an unknown or disabled agent.
    pub fn permissions(&self, id: AgentId) -> Scopes {
        self.active_agent(id)
            .map_or(Scopes::EMPTY, |(_, agent)| agent.permissions)
    }

    /// Which tickets `subject` may read (`tickets.read`), in a form storage can turn into a
    /// query. For every ticket, [`Reach::admits`] agrees with [`decide`](Self::decide).
    pub fn reach(&self, subject: &Subject) -> Reach<'_> {
        let reach = match subject.principal {
            Principal::System => Reach::All,
            Principal::Agent(id) => self.agent_reach(id),
            Principal::Requester { id, organization } => Reach::Requester {
                id,
                organization: organization.filter(|&o| self.organization_shares(o)),
            },
        };
        if matches!(reach, Reach::Nothing(_)) {
            return reach;
        }
        match subject.check_layers(Action::TicketRead) {
            Ok(()) => reach,
            Err(reason) => Reach::Nothing(reason),
        }
    }

    #[inline]
    fn principal_may(
        &self,
        principal: Principal,
        action: Action,
        target: Target<'_>,
    ) -> Result<(), DenyReason> {
        match principal {
            Principal::System => Ok(()),
            Principal::Agent(id) => self.agent_may(id, action, target),
            Principal::Requester { id, organization } => {
                self.requester_may(id, organization, action, target)
            }
        }
    }

    #[inline]
    fn agent_may(&self, id: AgentId, action: Action, target: Target<'_>) -> Result<(), DenyReason> {
        let (a, agent) = self.active_agent(id)?;
        if !agent.permissions.contains(action) {
            return Err(DenyReason::RoleLacks { agent: id, action });
        }
        let (department, ticket) = match target {
            Target::Global => return Ok(()),
            Target::New { department, .. } => (department, None),
            Target::Existing(ticket) => (ticket.department, Some(ticket)),
        };
        let d = self
            .department_index
            .get(department.get())
            .ok_or(DenyReason::UnknownDepartment { department })?;
        if agent.admin {
            return Ok(());
        }
        // `target` succeeded, so the action is a ticket action and has a level.
        let needs = action.required_level().unwrap_or(AccessLevel::Full);
        if !self.has_level(a, d, needs) {
            return Err(DenyReason::DepartmentLevel {
                agent: id,
                department,
                has: self.level(a, d),
                needs,
            });
        }
        if agent.only_assigned
            && let Some(ticket) = ticket
            && ticket.assignee != Some(id)
        {
            return Err(DenyReason::OnlyAssigned { agent: id });
        }
        Ok(())
    }

    fn requester_may(
        &self,
        id: RequesterId,
        organization: Option<OrganizationId>,
        action: Action,
        target: Target<'_>,
    ) -> Result<(), DenyReason> {
        match (action, target) {
            (
                Action::TicketCreate,
                Target::New {
                    department,
                    requester,
                },
            ) => {
                if requester != id {
                    return Err(DenyReason::NotOwnTicket { requester: id });
                }
                if self.department_index.get(department.get()).is_none() {
                    return Err(DenyReason::UnknownDepartment { department });
                }
                Ok(())
            }
            (Action::TicketRead | Action::TicketReply, Target::Existing(ticket)) => {
                let own = ticket.requester == id;
                let shared = organization.is_some_and(|o| {
                    ticket.requester_organization == Some(o) && self.organization_shares(o)
                });
                if own || shared {
                    Ok(())
                } else {
                    Err(DenyReason::NotOwnTicket { requester: id })
                }
            }
            _ => Err(DenyReason::RequesterCannot {
                requester: id,
                action,
            }),
        }
    }

    fn agent_reach(&self, id: AgentId) -> Reach<'_> {
        let (a, agent) = match self.active_agent(id) {
            Ok(found) => found,
            Err(reason) => return Reach::Nothing(reason),
        };
        if !agent.permissions.contains(Action::TicketRead) {
            return Reach::Nothing(DenyReason::RoleLacks {
                agent: id,
                action: Action::TicketRead,
            });
        }
        let words = if agent.admin {
            self.all_departments.as_slice()
        } else {
            self.level_set(a, AccessLevel::Read)
        };
        let departments = DepartmentSet::new(self, words);
        if departments.is_empty() {
            return Reach::Nothing(DenyReason::NoDepartments { agent: id });
        }
        let only_assigned_to = (agent.only_assigned && !agent.admin).then_some(id);
        Reach::Departments {
            departments,
            only_assigned_to,
        }
    }

    /// The agent's index and grant, if it exists and is active.
    #[inline]
    fn active_agent(&self, id: AgentId) -> Result<(usize, &CompiledAgent), DenyReason> {
        let found = self
            .agent_index
            .get(id.get())
            .and_then(|a| Some((a, self.agents.get(a)?)));
        match found {
            None => Err(DenyReason::UnknownAgent { agent: id }),
            Some((_, agent)) if !agent.active => Err(DenyReason::AgentDisabled { agent: id }),
            Some(found) => Ok(found),
        }
    }

    /// Whether agent `a` has at least `level` in department `d` (by index).
    #[inline]
    fn has_level(&self, a: usize, d: usize, level: AccessLevel) -> bool {
        let word = (a * LEVELS + level as usize) * self.words + d / 64;
        self.levels
            .get(word)
            .is_some_and(|bits| bits >> (d % 64) & 1 == 1)
    }

    /// Agent `a`'s level in department `d` (by index), if any.
    fn level(&self, a: usize, d: usize) -> Option<AccessLevel> {
        AccessLevel::ALL
            .iter()
            .copied()
            .rev()
            .find(|&level| self.has_level(a, d, level))
    }

    /// The departments where agent `a` has at least `level`.
    fn level_set(&self, a: usize, level: AccessLevel) -> &[u64] {
        let start = (a * LEVELS + level as usize) * self.words;
        self.levels
            .get(start..start + self.words)
            .unwrap_or_default()
    }

    fn organization_shares(&self, id: OrganizationId) -> bool {
        self.organization_index
            .get(id.get())
            .and_then(|o| self.shares_tickets.get(o))
            .is_some_and(|&shares| shares)
    }

    /// The index of department `id`, if known.
    pub(crate) fn department_index(&self, id: DepartmentId) -> Option<usize> {
        self.department_index.get(id.get())
    }

    /// The id of the department at index `d`.
    pub(crate) fn department_id(&self, d: usize) -> Option<DepartmentId> {
        self.department_ids.get(d).copied()
    }

    /// The name of agent `id`, if known.
    pub(crate) fn agent_name(&self, id: AgentId) -> Option<&str> {
        self.agent_index
            .get(id.get())
            .and_then(|a| self.agent_names.get(a))
            .map(String::as_str)
    }

    /// The name of department `id`, if known.
    pub(crate) fn department_name(&self, id: DepartmentId) -> Option<&str> {
        self.department_index(id)
            .and_then(|d| self.department_names.get(d))
            .map(String::as_str)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("agents", &self.agents.len())
            .field("departments", &self.department_ids.len())
            .field("organizations", &self.organization_index.len())
            .finish_non_exhaustive()
    }
}

/// Checks that `action` applies to `resource`.
#[inline]
fn target(action: Action, resource: &Resource) -> Result<Target<'_>, DenyReason> {
    match (action, resource) {
        _ if !action.is_ticket_action() => Ok(Target::Global),
        (
            Action::TicketCreate,
            &Resource::NewTicket {
                department,
                requester,
            },
        ) => Ok(Target::New {
            department,
            requester,
        }),
        (Action::TicketCreate, _) => Err(DenyReason::WrongResource { action }),
        (_, Resource::Ticket(ticket)) => Ok(Target::Existing(ticket)),
        _ => Err(DenyReason::WrongResource { action }),
    }
}

fn set_bit(set: &mut [u64], d: usize) {
    if let Some(word) = set.get_mut(d / 64) {
        *word |= 1 << (d % 64);
    }
}
