//! People and directories: agents, roles, departments and memberships, organisations,
//! requesters and custom field definitions.

use helpdesk_authz::{Action, Scopes};
use helpdesk_domain::{
    AccessLevel, ActAs, Agent, AgentId, AgentUpdate, Department, DepartmentId, FieldDefinition,
    NewAgent, NewFieldDefinition, NewRequester, Organization, Requester, RequesterId, Role, RoleId,
    ValidationError,
};

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::principal::Principal;

impl Helpdesk {
    /// Creates an agent with the built-in `agent` role (`agents.manage`; only administrators may
    /// create administrators).
    pub fn create_agent(&self, p: &Principal, agent: NewAgent) -> Result<Agent> {
        self.guard(p)?.new_agent(agent.admin)?;
        let created = self
            .store()
            .create_agent(self.now(), &p.attribution(), agent)?;
        self.policy_changed(created)
    }

    /// Changes an agent: name, email, enabled, only-assigned (`agents.manage`). Only
    /// administrators change administrators or grant and take away administrator rights; a
    /// plugin's app identity changes only with its install. Disabling an agent kills its access
    /// tokens for good.
    pub fn update_agent(&self, p: &Principal, id: AgentId, update: AgentUpdate) -> Result<Agent> {
        let g = self.guard(p)?;
        g.allow_global(Action::AgentManage)?;
        let before = self.store().agent(id)?;
        g.change_agent(&before, &update)?;
        let updated = self.administer(|store, state| {
            let updated = store.update_agent(self.now(), &p.attribution(), id, update)?;
            if before.active && !updated.active {
                state.drop_tokens(|token| token.person == ActAs::Agent(id));
            }
            Ok(updated)
        })?;
        self.policy_changed(updated)
    }

    /// Replaces an agent's roles (`roles.manage`): only administrators change an administrator's
    /// roles, and a non-administrator gives only roles within the permissions it holds.
    pub fn set_agent_roles(&self, p: &Principal, id: AgentId, roles: &[RoleId]) -> Result<Agent> {
        let g = self.guard(p)?;
        g.allow_global(Action::RoleManage)?;
        g.person(&self.store().agent(id)?)?;
        g.hand_out(self.role_permissions(roles)?)?;
        let updated = self
            .store()
            .set_agent_roles(self.now(), &p.attribution(), id, roles)?;
        self.policy_changed(updated)
    }

    /// One agent (`agents.read` or `agents.manage`).
    pub fn agent(&self, p: &Principal, id: AgentId) -> Result<Agent> {
        self.guard(p)?.see(Action::AgentRead, Action::AgentManage)?;
        self.store().agent(id)
    }

    /// Every agent (`agents.read` or `agents.manage`).
    pub fn agents(&self, p: &Principal) -> Result<Vec<Agent>> {
        self.guard(p)?.see(Action::AgentRead, Action::AgentManage)?;
        self.store().agents()
    }

    /// Creates a role from scope names such as `tickets.read` (`roles.manage`; a
    /// non-administrator only with permissions it holds).
    pub fn create_role(&self, p: &Principal, name: &str, permissions: &[&str]) -> Result<Role> {
        let g = self.guard(p)?;
        g.allow_global(Action::RoleManage)?;
        let permissions = scope_names(permissions)?;
        g.hand_out(permissions)?;
        let role = self
            .store()
            .create_role(self.now(), &p.attribution(), name, permissions)?;
        self.policy_changed(role)
    }

    /// Replaces a custom role's permissions (`roles.manage`; a non-administrator only for a role
    /// within the permissions it holds, before and after); built-in roles cannot change.
    pub fn update_role(&self, p: &Principal, id: RoleId, permissions: &[&str]) -> Result<Role> {
        let g = self.guard(p)?;
        g.allow_global(Action::RoleManage)?;
        let permissions = scope_names(permissions)?;
        g.hand_out(permissions | self.role_permissions(&[id])?)?;
        let role = self
            .store()
            .update_role(self.now(), &p.attribution(), id, permissions)?;
        self.policy_changed(role)
    }

    /// Deletes a custom role (`roles.manage`; a non-administrator only one within the permissions
    /// it holds); its agents lose it at once.
    pub fn delete_role(&self, p: &Principal, id: RoleId) -> Result<()> {
        let g = self.guard(p)?;
        g.allow_global(Action::RoleManage)?;
        g.hand_out(self.role_permissions(&[id])?)?;
        self.store().delete_role(self.now(), &p.attribution(), id)?;
        self.policy_changed(())
    }

    /// Every role, built-in ones with the permissions this version gives them (`agents.read` or
    /// `roles.manage`).
    pub fn roles(&self, p: &Principal) -> Result<Vec<Role>> {
        self.guard(p)?.see(Action::AgentRead, Action::RoleManage)?;
        self.all_roles()
    }

    /// Every role, built-in ones with the permissions this version gives them.
    fn all_roles(&self) -> Result<Vec<Role>> {
        let builtins = helpdesk_authz::Role::builtins();
        let mut roles = self.store().roles()?;
        for role in roles.iter_mut().filter(|r| r.builtin) {
            if let Some(b) = builtins.iter().find(|b| b.id == role.id) {
                role.permissions = b.permissions;
            }
        }
        Ok(roles)
    }

    /// The permissions `roles` grant together; an unknown role is not found.
    fn role_permissions(&self, roles: &[RoleId]) -> Result<Scopes> {
        let all = self.all_roles()?;
        roles.iter().try_fold(Scopes::EMPTY, |held, id| {
            let role = all
                .iter()
                .find(|r| r.id == *id)
                .ok_or_else(|| Error::NotFound {
                    entity: helpdesk_domain::Entity::Role,
                    key: id.to_string(),
                })?;
            Ok(held | role.permissions)
        })
    }

    /// Creates a department (`departments.manage`).
    pub fn create_department(&self, p: &Principal, name: &str) -> Result<Department> {
        self.guard(p)?.allow_global(Action::DepartmentManage)?;
        let created = self
            .store()
            .create_department(self.now(), &p.attribution(), name)?;
        self.policy_changed(created)
    }

    /// Every department (`departments.read` or `departments.manage`).
    pub fn departments(&self, p: &Principal) -> Result<Vec<Department>> {
        self.guard(p)?
            .see(Action::DepartmentRead, Action::DepartmentManage)?;
        self.store().departments()
    }

    /// Makes an agent a member of a department at `level`, or changes its level there
    /// (`departments.manage`; an administrator's memberships only by an administrator, an app
    /// identity's never). Below `change`, its tickets there are unassigned.
    pub fn add_member(
        &self,
        p: &Principal,
        department: DepartmentId,
        agent: AgentId,
        level: AccessLevel,
    ) -> Result<()> {
        let g = self.guard(p)?;
        g.allow_global(Action::DepartmentManage)?;
        g.person(&self.store().agent(agent)?)?;
        self.store()
            .add_member(self.now(), &p.attribution(), department, agent, level)?;
        self.policy_changed(())
    }

    /// Removes an agent from a department; its tickets there are unassigned
    /// (`departments.manage`, with the same rules as [`add_member`](Self::add_member)).
    pub fn remove_member(
        &self,
        p: &Principal,
        department: DepartmentId,
        agent: AgentId,
    ) -> Result<()> {
        let g = self.guard(p)?;
        g.allow_global(Action::DepartmentManage)?;
        g.person(&self.store().agent(agent)?)?;
        self.store()
            .remove_member(self.now(), &p.attribution(), department, agent)?;
        self.policy_changed(())
    }

    /// Creates an organisation; with `shared_tickets` its requesters see each other's tickets
    /// (`requesters.manage`).
    pub fn create_organization(
        &self,
        p: &Principal,
        name: &str,
        shared_tickets: bool,
    ) -> Result<Organization> {
        self.guard(p)?.allow_global(Action::RequesterManage)?;
        let created =
            self.store()
                .create_organization(self.now(), &p.attribution(), name, shared_tickets)?;
        self.policy_changed(created)
    }

    /// Every organisation (`requesters.read` or `requesters.manage`).
    pub fn organizations(&self, p: &Principal) -> Result<Vec<Organization>> {
        self.guard(p)?
            .see(Action::RequesterRead, Action::RequesterManage)?;
        self.store().organizations()
    }

    /// Creates a requester (`requesters.manage`).
    pub fn create_requester(&self, p: &Principal, requester: NewRequester) -> Result<Requester> {
        self.guard(p)?.allow_global(Action::RequesterManage)?;
        self.store()
            .create_requester(self.now(), &p.attribution(), requester)
    }

    /// One requester (`requesters.read` or `requesters.manage`; a requester may always read
    /// themselves).
    pub fn requester(&self, p: &Principal, id: RequesterId) -> Result<Requester> {
        self.guard(p)?.requester(id)?;
        self.store().requester(id)
    }

    /// Defines a custom ticket field (`fields.manage`).
    pub fn create_field(
        &self,
        p: &Principal,
        field: NewFieldDefinition,
    ) -> Result<FieldDefinition> {
        self.guard(p)?.allow_global(Action::FieldManage)?;
        self.store()
            .create_field(self.now(), &p.attribution(), field)
    }

    /// The custom field definitions the principal may see (requesters: not agent-only ones).
    pub fn fields(&self, p: &Principal) -> Result<Vec<FieldDefinition>> {
        let g = self.guard(p)?;
        Ok(g.visible_fields(self.store().fields()?))
    }
}

/// Validates scope names.
fn scope_names(names: &[&str]) -> Result<Scopes> {
    Scopes::parse(names.iter().copied()).map_err(|e| {
        Error::Invalid(ValidationError::Malformed {
            field: "permissions",
            reason: e.to_string(),
        })
    })
}
