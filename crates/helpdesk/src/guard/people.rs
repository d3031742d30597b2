//! People: changing agents, handing out roles and permissions, reading requesters.

use super::*;

impl Guard<'_> {
    /// Changing `agent` by `update` (`agents.manage` checked by the caller): only an
    /// administrator changes an administrator or makes one, and an app identity changes only
    /// with its install.
    pub(crate) fn change_agent(
        &self,
        agent: &helpdesk_domain::Agent,
        update: &AgentUpdate,
    ) -> Result<()> {
        self.person(agent)?;
        if update.admin.is_some() {
            self.admin_or("only an administrator may grant or take away administrator rights")?;
        }
        Ok(())
    }

    /// Changing anything about `agent` (its fields, roles or memberships): nobody changes a
    /// person they could not have created.
    pub(crate) fn person(&self, agent: &helpdesk_domain::Agent) -> Result<()> {
        if agent.app_install.is_some() {
            return Err(rule(
                "this agent is a plugin's app identity: it changes only with its install",
            ));
        }
        if agent.admin {
            self.admin_or("only an administrator may change an administrator")?;
        }
        Ok(())
    }

    /// Creating an agent, an administrator only by an administrator.
    pub(crate) fn new_agent(&self, admin: bool) -> Result<()> {
        self.allow_global(Action::AgentManage)?;
        if admin {
            self.admin_or("only an administrator may grant administrator rights")?;
        }
        Ok(())
    }

    /// Handing out `permissions` (a role's, a role given to someone, a plugin grant): a
    /// non-administrator hands out only what it holds itself.
    pub(crate) fn hand_out(&self, permissions: Scopes) -> Result<()> {
        let lacking = permissions - self.holds();
        if self.is_admin() || lacking.is_empty() {
            Ok(())
        } else {
            Err(Error::Denied(Denied::not_held(lacking)))
        }
    }

    /// Reading requester `id`: a requester may always read themselves.
    pub(crate) fn requester(&self, id: RequesterId) -> Result<()> {
        if self.p.actor() == Actor::Requester(id) {
            Ok(())
        } else {
            self.see(Action::RequesterRead, Action::RequesterManage)
        }
    }
}
