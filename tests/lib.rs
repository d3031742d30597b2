//! Shared fixtures for the integration tests: a helpdesk with a manual clock and a small cast.

use helpdesk::{
    Agent, Department, Helpdesk, ManualClock, NewAgent, NewRequester, Options, Principal,
    Requester, SystemHandle, Timestamp,
};

/// 2026-01-01T00:00:00Z, where every fixture clock starts.
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// A helpdesk with two departments, three agents and two requesters.
#[derive(Debug)]
pub struct Fixture {
    /// The helpdesk.
    pub desk: Helpdesk,
    /// Its system handle.
    pub system: SystemHandle,
    /// The clock it reads.
    pub clock: ManualClock,
    /// The system principal.
    pub root: Principal,
    /// Department "Billing".
    pub billing: Department,
    /// Department "Hardware".
    pub hardware: Department,
    /// An administrator, member of nothing.
    pub admin: Agent,
    /// Ann, in Billing.
    pub ann: Agent,
    /// Hal, in Hardware.
    pub hal: Agent,
    /// Bob, a requester.
    pub bob: Requester,
    /// Cat, another requester.
    pub cat: Requester,
}

impl Fixture {
    /// A fresh in-memory fixture.
    pub fn new() -> anyhow::Result<Fixture> {
        Self::new_with(|options| options)
    }

    /// A fresh in-memory fixture opened with `options` applied to the defaults (and the
    /// fixture's manual clock).
    pub fn new_with(options: impl FnOnce(Options) -> Options) -> anyhow::Result<Fixture> {
        let clock = ManualClock::new(START);
        let options = options(Options::default().with_clock(clock.clone()));
        let (desk, system) = Helpdesk::open_in_memory(options)?;
        Self::populate(desk, system, clock)
    }

    /// A fixture on an already opened helpdesk whose clock is `clock`.
    pub fn populate(
        desk: Helpdesk,
        system: SystemHandle,
        clock: ManualClock,
    ) -> anyhow::Result<Fixture> {
        let root = system.principal();
        let admin = system.bootstrap_admin("Ada Admin", "ada@example.com")?;
        let billing = desk.create_department(&root, "Billing")?;
        let hardware = desk.create_department(&root, "Hardware")?;
        let agent = |name: &str, email: &str| {
            desk.create_agent(
                &root,
                NewAgent {
                    name: name.into(),
                    email: email.into(),
                    admin: false,
                },
            )
        };
        let ann = agent("Ann", "ann@example.com")?;
        let hal = agent("Hal", "hal@example.com")?;
        desk.add_member(&root, billing.id, ann.id, helpdesk::AccessLevel::Change)?;
        desk.add_member(&root, hardware.id, hal.id, helpdesk::AccessLevel::Change)?;
        let requester = |name: &str, email: &str| {
            desk.create_requester(
                &root,
                NewRequester {
                    name: name.into(),
                    email: email.into(),
                    organization: None,
                },
            )
        };
        let bob = requester("Bob", "bob@example.org")?;
        let cat = requester("Cat", "cat@example.org")?;
        let ann = desk.agent(&root, ann.id)?;
        let hal = desk.agent(&root, hal.id)?;
        Ok(Fixture {
            desk,
            system,
            clock,
            root,
            billing,
            hardware,
            admin,
            ann,
            hal,
            bob,
            cat,
        })
    }

    /// The principal of an agent of the fixture.
    pub fn as_agent(&self, agent: &Agent) -> helpdesk::Result<Principal> {
        self.system.agent(agent.id)
    }

    /// The principal of a requester of the fixture.
    pub fn as_requester(&self, requester: &Requester) -> helpdesk::Result<Principal> {
        self.system.requester(requester.id)
    }
}

impl Fixture {
    /// A non-administrator agent named `name` holding only a custom role with `scopes`, member
    /// of `departments` at `level`.
    pub fn agent_with_role(
        &self,
        name: &str,
        scopes: &[&str],
        departments: &[helpdesk::DepartmentId],
        level: helpdesk::AccessLevel,
    ) -> anyhow::Result<Agent> {
        let role = self
            .desk
            .create_role(&self.root, &format!("{name} role"), scopes)?;
        let agent = self.desk.create_agent(
            &self.root,
            NewAgent {
                name: name.into(),
                email: format!("{}@example.com", name.to_lowercase()),
                admin: false,
            },
        )?;
        self.desk
            .set_agent_roles(&self.root, agent.id, &[role.id])?;
        for &department in departments {
            self.desk
                .add_member(&self.root, department, agent.id, level)?;
        }
        Ok(self.desk.agent(&self.root, agent.id)?)
    }

    /// A second administrator.
    pub fn another_admin(&self, name: &str) -> anyhow::Result<Agent> {
        Ok(self.desk.create_agent(
            &self.root,
            NewAgent {
                name: name.into(),
                email: format!("{}@example.com", name.to_lowercase()),
                admin: true,
            },
        )?)
    }
}

/// Asserts that `hidden` (the error for something that exists but may not be read, named
/// `hidden_id`) reads exactly like `missing` (the error for something that does not exist, named
/// `missing_id`): the same variant and the same message once the ids are taken out.
pub fn assert_reads_like_missing(
    hidden: &helpdesk::Error,
    hidden_id: impl std::fmt::Display,
    missing: &helpdesk::Error,
    missing_id: impl std::fmt::Display,
) {
    let hidden_text = hidden.to_string().replace(&hidden_id.to_string(), "<id>");
    let missing_text = missing.to_string().replace(&missing_id.to_string(), "<id>");
    assert!(
        matches!(hidden, helpdesk::Error::NotFound { .. }),
        "expected not found, got {hidden:?}"
    );
    assert!(
        std::mem::discriminant(hidden) == std::mem::discriminant(missing),
        "{hidden:?} vs {missing:?}"
    );
    assert_eq!(hidden_text, missing_text);
}
