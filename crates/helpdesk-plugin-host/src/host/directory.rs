//! `helpdesk:plugin/directory`: agents and departments, with the call's principal.

use crate::bindings::v0_1::helpdesk::plugin::directory::Host;
use crate::bindings::v0_1::helpdesk::plugin::types::{Agent, Department, Error};
use crate::host::types::error;
use crate::sandbox::HostState;

impl Host for HostState {
    fn agents(&mut self) -> Result<Vec<Agent>, Error> {
        let desk = &self.ctx.desk;
        if let Some(also) = &self.call.also {
            desk.agents(also).map_err(error)?;
        }
        Ok(desk
            .agents(&self.call.principal)
            .map_err(error)?
            .into_iter()
            .map(|a| Agent {
                id: a.id.get(),
                name: a.name,
                email: a.email,
                active: a.active,
                admin: a.admin,
            })
            .collect())
    }

    fn departments(&mut self) -> Result<Vec<Department>, Error> {
        let desk = &self.ctx.desk;
        if let Some(also) = &self.call.also {
            desk.departments(also).map_err(error)?;
        }
        Ok(desk
            .departments(&self.call.principal)
            .map_err(error)?
            .into_iter()
            .map(|d| Department {
                id: d.id.get(),
                name: d.name,
            })
            .collect())
    }
}
