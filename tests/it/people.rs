//! Agents, departments, requesters and organisations, and who may administer them.

use helpdesk::{
    AccessLevel, AgentUpdate, Entity, Error, Helpdesk, NewAgent, NewRequester, Options, RoleId,
};
use helpdesk_tests::Fixture;

#[test]
fn bootstrap_only_on_an_empty_database() -> anyhow::Result<()> {
    let (desk, system) = Helpdesk::open_in_memory(Options::default())?;
    let admin = system.bootstrap_admin("Root", "root@example.com")?;
    assert!(admin.admin && admin.active);
    assert!(matches!(
        system.bootstrap_admin("Again", "again@example.com"),
        Err(Error::AlreadyInitialized)
    ));
    let as_admin = system.agent(admin.id)?;
    assert_eq!(desk.agents(&as_admin)?.len(), 1);
    Ok(())
}

#[test]
fn emails_are_unique_regardless_of_case() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let dup = f.desk.create_agent(
        &f.root,
        NewAgent {
            name: "Ann 2".into(),
            email: "ANN@example.com".into(),
            admin: false,
        },
    );
    match dup {
        Err(Error::Duplicate {
            entity: Entity::Agent,
            field: "email",
            value,
        }) => assert_eq!(value, "ANN@example.com"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let dup = f.desk.create_requester(
        &f.root,
        NewRequester {
            name: "B".into(),
            email: "Bob@Example.org".into(),
            organization: None,
        },
    );
    assert!(matches!(
        dup,
        Err(Error::Duplicate {
            entity: Entity::Requester,
            ..
        })
    ));
    let bad = f.desk.create_agent(
        &f.root,
        NewAgent {
            name: "X".into(),
            email: "not-an-email".into(),
            admin: false,
        },
    );
    assert!(matches!(bad, Err(Error::Invalid(_))));
    let dept = f.desk.create_department(&f.root, "billing");
    assert!(matches!(
        dept,
        Err(Error::Duplicate {
            entity: Entity::Department,
            ..
        })
    ));
    Ok(())
}

#[test]
fn administration_needs_an_active_administrator() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ann = f.as_agent(&f.ann)?;
    let admin = f.as_agent(&f.admin)?;
    let new = || NewAgent {
        name: "Zed".into(),
        email: "zed@example.com".into(),
        admin: false,
    };
    assert!(matches!(
        f.desk.create_agent(&ann, new()),
        Err(Error::Denied(_))
    ));
    assert!(matches!(
        f.desk.create_department(&ann, "Sales"),
        Err(Error::Denied(_))
    ));
    assert!(matches!(
        f.desk
            .add_member(&ann, f.billing.id, f.hal.id, helpdesk::AccessLevel::Change),
        Err(Error::Denied(_))
    ));
    let zed = f.desk.create_agent(&admin, new())?;
    // A disabled agent can no longer act, and no new principal is minted for it.
    f.desk.update_agent(
        &admin,
        zed.id,
        AgentUpdate {
            active: Some(false),
            ..Default::default()
        },
    )?;
    assert!(matches!(f.system.agent(zed.id), Err(Error::Denied(_))));
    f.desk.update_agent(
        &admin,
        f.ann.id,
        AgentUpdate {
            active: Some(false),
            ..Default::default()
        },
    )?;
    assert!(
        matches!(f.desk.agents(&ann), Err(Error::Denied(_))),
        "a principal minted before disabling stops working"
    );
    let bob = f.as_requester(&f.bob)?;
    assert!(matches!(f.desk.agents(&bob), Err(Error::Denied(_))));
    Ok(())
}

#[test]
fn agent_updates_and_membership() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let ann = f.desk.update_agent(
        root,
        f.ann.id,
        AgentUpdate {
            name: Some(" Ann Lee ".into()),
            email: Some("ann.lee@example.com".into()),
            ..Default::default()
        },
    )?;
    assert_eq!(
        (ann.name.as_str(), ann.email.as_str()),
        ("Ann Lee", "ann.lee@example.com")
    );
    let taken = f.desk.update_agent(
        root,
        f.ann.id,
        AgentUpdate {
            email: Some("HAL@example.com".into()),
            ..Default::default()
        },
    );
    assert!(matches!(taken, Err(Error::Duplicate { .. })));
    f.desk
        .add_member(root, f.hardware.id, f.ann.id, helpdesk::AccessLevel::Change)?;
    f.desk
        .add_member(root, f.hardware.id, f.ann.id, helpdesk::AccessLevel::Change)?; // idempotent
    assert_eq!(
        f.desk
            .agent(root, f.ann.id)?
            .departments
            .iter()
            .map(|m| m.department)
            .collect::<Vec<_>>(),
        [f.billing.id, f.hardware.id]
    );
    assert!(matches!(
        f.desk.add_member(
            root,
            helpdesk::DepartmentId::new(77),
            f.ann.id,
            helpdesk::AccessLevel::Change
        ),
        Err(Error::NotFound { .. })
    ));
    let agents = f.desk.agents(root)?;
    assert_eq!(
        agents
            .iter()
            .find(|a| a.id == f.hal.id)
            .map(|a| a.departments.clone()),
        Some(vec![helpdesk::Membership {
            department: f.hardware.id,
            level: helpdesk::AccessLevel::Change
        }])
    );
    Ok(())
}

#[test]
fn organizations_and_requesters() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let acme = f.desk.create_organization(&f.root, "Acme", true)?;
    let r = f.desk.create_requester(
        &f.root,
        NewRequester {
            name: "Dee".into(),
            email: "dee@acme.test".into(),
            organization: Some(acme.id),
        },
    )?;
    assert_eq!(r.organization, Some(acme.id));
    let ghost = NewRequester {
        name: "E".into(),
        email: "e@acme.test".into(),
        organization: Some(helpdesk::OrganizationId::new(404)),
    };
    assert!(matches!(
        f.desk.create_requester(&f.root, ghost),
        Err(Error::NotFound {
            entity: Entity::Organization,
            ..
        })
    ));
    let dee = f.system.requester(r.id)?;
    assert_eq!(f.desk.requester(&dee, r.id)?, r);
    assert!(
        f.desk.requester(&dee, f.bob.id).is_err(),
        "a requester reads only themselves"
    );
    assert_eq!(f.desk.organizations(&f.root)?.len(), 1);
    Ok(())
}

/// Nobody changes a person they could not have created: a non-administrator with
/// `agents.manage`, `roles.manage` or `departments.manage` cannot touch an administrator.
#[test]
fn managing_people_never_reaches_an_administrator() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let manager = f.agent_with_role(
        "Moe",
        &[
            "agents.read",
            "agents.manage",
            "roles.manage",
            "departments.read",
            "departments.manage",
        ],
        &[f.billing.id],
        AccessLevel::Change,
    )?;
    let moe = f.as_agent(&manager)?;
    let before = f.desk.agent(&f.root, f.admin.id)?;
    let refused: Vec<(&str, helpdesk::Result<()>)> = vec![
        (
            "change the email",
            f.desk
                .update_agent(
                    &moe,
                    f.admin.id,
                    AgentUpdate {
                        email: Some("moe@example.com".into()),
                        ..AgentUpdate::default()
                    },
                )
                .map(drop),
        ),
        (
            "disable",
            f.desk
                .update_agent(
                    &moe,
                    f.admin.id,
                    AgentUpdate {
                        active: Some(false),
                        ..AgentUpdate::default()
                    },
                )
                .map(drop),
        ),
        (
            "set roles",
            f.desk
                .set_agent_roles(&moe, f.admin.id, &[RoleId::new(3)])
                .map(drop),
        ),
        (
            "add to a department",
            f.desk
                .add_member(&moe, f.billing.id, f.admin.id, AccessLevel::Read),
        ),
    ];
    for (name, result) in refused {
        assert!(
            matches!(result, Err(Error::Denied(_))),
            "{name}: {result:?}"
        );
    }
    assert_eq!(
        f.desk.agent(&f.root, f.admin.id)?,
        before,
        "nothing changed"
    );
    let renamed = f.desk.update_agent(
        &moe,
        f.hal.id,
        AgentUpdate {
            name: Some("Hal B.".into()),
            ..AgentUpdate::default()
        },
    )?;
    assert_eq!(renamed.name, "Hal B.", "other agents stay manageable");
    Ok(())
}

/// Roles hand out only what their giver holds: a non-administrator with `roles.manage` cannot
/// make itself (or anyone) more than it is.
#[test]
fn roles_hand_out_only_what_their_giver_holds() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let manager = f.agent_with_role(
        "Rey",
        &["agents.read", "roles.manage", "tickets.read"],
        &[f.billing.id],
        AccessLevel::Read,
    )?;
    let rey = f.as_agent(&manager)?;
    let refused = [
        f.desk
            .set_agent_roles(&rey, manager.id, &[RoleId::new(1)])
            .map(drop),
        f.desk
            .create_role(&rey, "wide", &["tickets.read", "keys.manage"])
            .map(drop),
    ];
    for result in refused {
        assert!(matches!(result, Err(Error::Denied(_))), "{result:?}");
    }
    let narrow = f.desk.create_role(&rey, "readers", &["tickets.read"])?;
    f.desk.set_agent_roles(&rey, f.hal.id, &[narrow.id])?;
    Ok(())
}
