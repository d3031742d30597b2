//! The compiled permission policy: built from storage, swapped in atomically after every change
//! to roles, agents, memberships, departments or organisations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use helpdesk_authz::{
    AgentGrant, DepartmentInfo, OrganizationInfo, Policy, PolicyInput, Role as PolicyRole,
};
use helpdesk_store::{PolicyData, Store};
use parking_lot::Mutex;

use crate::error::Result;

/// The current policy. Readers load it without locks (the hot path through its thread's copy,
/// see [`local`](crate::local)); rebuilds are serialised so that the last rebuild to run always
/// reads the latest committed state.
#[derive(Debug)]
pub(crate) struct PolicyCell {
    current: ArcSwap<Policy>,
    /// Bumped after every swap, so that threads know to reload their copy.
    version: AtomicU64,
    rebuild: Mutex<()>,
}

impl PolicyCell {
    pub(crate) fn load(store: &Store) -> Result<Self> {
        Ok(Self {
            current: ArcSwap::from_pointee(compile(store.policy_data()?)?),
            version: AtomicU64::new(0),
            rebuild: Mutex::new(()),
        })
    }

    /// The policy in force now, to keep.
    pub(crate) fn load_full(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Moves on after every swap.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Recompiles from storage and swaps the result in; the very next decision uses it.
    pub(crate) fn refresh(&self, store: &Store) -> Result<()> {
        let _serialised = self.rebuild.lock();
        let policy = compile(store.policy_data()?)?;
        self.current.store(Arc::new(policy));
        self.version.fetch_add(1, Ordering::Release);
        Ok(())
    }
}

/// Turns stored roles, agents and memberships into the engine's compiled form.
fn compile(data: PolicyData) -> Result<Policy> {
    let builtins = PolicyRole::builtins();
    let mut roles: Vec<PolicyRole> = builtins.to_vec();
    for role in data.roles.into_iter().filter(|r| !r.builtin) {
        roles.push(PolicyRole {
            id: role.id,
            name: role.name,
            permissions: role.permissions,
        });
    }
    let agents = data
        .agents
        .into_iter()
        .map(|a| AgentGrant {
            id: a.id,
            name: a.name,
            active: a.active,
            admin: a.admin,
            roles: a.roles,
            levels: a
                .departments
                .into_iter()
                .map(|m| (m.department, m.level))
                .collect(),
            only_assigned: a.only_assigned,
            app_identity: a.app_install.is_some(),
        })
        .collect();
    let departments = data
        .departments
        .into_iter()
        .map(|d| DepartmentInfo {
            id: d.id,
            name: d.name,
        })
        .collect();
    let organizations = data
        .organizations
        .into_iter()
        .map(|o| OrganizationInfo {
            id: o.id,
            shared_tickets: o.shared_tickets,
        })
        .collect();
    Policy::build(PolicyInput {
        roles,
        agents,
        departments,
        organizations,
    })
    .map_err(crate::error::policy_error)
}
