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
        let clock = ManualClock::new(START);
        let (desk, system) =
            Helpdesk::open_in_memory(Options::default().with_clock(clock.clone()))?;
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
