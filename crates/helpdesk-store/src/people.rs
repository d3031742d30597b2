//! Agents, departments, organisations, requesters and custom field definitions.

use helpdesk_domain::{
    AccessLevel, Agent, AgentId, AgentUpdate, Attribution, Change, Department, DepartmentId,
    EventKind, FieldDefinition, FieldId, HistoryField, HistorySubject, HistoryValue, InstallId,
    Membership, NewAgent, NewFieldDefinition, NewRequester, Organization, OrganizationId,
    Requester, RequesterId, Role, RoleId, Scopes, Timestamp, normalize_email, normalize_name,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use crate::Store;
use helpdesk_domain::Error;

use crate::error::{Entity, Failure, Result, not_found, rule};
use crate::history::{record, record_sets};
use crate::outbox::{NewEvent, append};
use crate::row::{
    bad_code, from_json, is_unique_violation, read_scopes, scope_names, scopes_text, to_json,
};

const AGENT_COLUMNS: &str =
    "id, name, email, active, admin, only_assigned, created_at, updated_at, app_install";

/// The id of the built-in `agent` role, given to every new agent.
const AGENT_ROLE: i64 = 2;

fn read_agent(r: &Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: AgentId::new(r.get(0)?),
        name: r.get(1)?,
        email: r.get(2)?,
        active: r.get(3)?,
        admin: r.get(4)?,
        only_assigned: r.get(5)?,
        roles: Vec::new(),
        departments: Vec::new(),
        app_install: r.get::<_, Option<i64>>(8)?.map(InstallId::new),
        created_at: Timestamp::from_millis(r.get(6)?),
        updated_at: Timestamp::from_millis(r.get(7)?),
    })
}

fn read_membership(r: &Row<'_>, start: usize) -> rusqlite::Result<Membership> {
    let level: i64 = r.get(start + 1)?;
    Ok(Membership {
        department: DepartmentId::new(r.get(start)?),
        level: AccessLevel::from_code(level)
            .ok_or_else(|| bad_code(start + 1, "access level", level))?,
    })
}

pub(crate) fn load_agent(conn: &Connection, id: AgentId) -> Result<Agent> {
    let mut agent = conn
        .prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1"))?
        .query_row([id.get()], read_agent)
        .optional()?
        .ok_or_else(|| not_found(Entity::Agent, id))?;
    agent.departments = conn
        .prepare_cached("SELECT department_id, level FROM department_members WHERE agent_id = ?1 ORDER BY department_id")?
        .query_map([id.get()], |r| read_membership(r, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    agent.roles = conn
        .prepare_cached("SELECT role_id FROM agent_roles WHERE agent_id = ?1 ORDER BY role_id")?
        .query_map([id.get()], |r| Ok(RoleId::new(r.get(0)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(agent)
}

fn load_all_agents(conn: &Connection) -> Result<Vec<Agent>> {
    let mut agents = conn
        .prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id"))?
        .query_map([], read_agent)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let index: std::collections::HashMap<AgentId, usize> =
        agents.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let mut stmt = conn.prepare_cached("SELECT agent_id, department_id, level FROM department_members ORDER BY agent_id, department_id")?;
    for row in stmt.query_map([], |r| {
        Ok((AgentId::new(r.get(0)?), read_membership(r, 1)?))
    })? {
        let (agent, membership) = row?;
        if let Some(&i) = index.get(&agent) {
            agents[i].departments.push(membership);
        }
    }
    let mut stmt = conn
        .prepare_cached("SELECT agent_id, role_id FROM agent_roles ORDER BY agent_id, role_id")?;
    for row in stmt.query_map([], |r| {
        Ok((AgentId::new(r.get(0)?), RoleId::new(r.get(1)?)))
    })? {
        let (agent, role) = row?;
        if let Some(&i) = index.get(&agent) {
            agents[i].roles.push(role);
        }
    }
    Ok(agents)
}

fn read_role(r: &Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role {
        id: RoleId::new(r.get(0)?),
        name: r.get(1)?,
        permissions: read_scopes(r, 2)?,
        builtin: r.get(3)?,
    })
}

pub(crate) fn load_role(conn: &Connection, id: RoleId) -> Result<Role> {
    conn.prepare_cached("SELECT id, name, permissions, builtin FROM roles WHERE id = ?1")?
        .query_row([id.get()], read_role)
        .optional()?
        .ok_or_else(|| not_found(Entity::Role, id))
}

fn load_roles(conn: &Connection) -> Result<Vec<Role>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, permissions, builtin FROM roles ORDER BY id")?;
    Ok(stmt
        .query_map([], read_role)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn load_departments(conn: &Connection) -> Result<Vec<Department>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, created_at FROM departments ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(Department {
            id: DepartmentId::new(r.get(0)?),
            name: r.get(1)?,
            created_at: Timestamp::from_millis(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn load_organizations(conn: &Connection) -> Result<Vec<Organization>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, shared_tickets, created_at FROM organizations ORDER BY id",
    )?;
    Ok(stmt
        .query_map([], read_organization)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Everything the permission engine is compiled from, read in one snapshot.
#[derive(Clone, Debug, Default)]
pub struct PolicyData {
    /// Every agent with roles and memberships.
    pub agents: Vec<Agent>,
    /// Every role (built-in rows carry no permissions: the code defines them).
    pub roles: Vec<Role>,
    /// Every department.
    pub departments: Vec<Department>,
    /// Every organisation.
    pub organizations: Vec<Organization>,
}

pub(crate) fn load_department(conn: &Connection, id: DepartmentId) -> Result<Department> {
    conn.prepare_cached("SELECT id, name, created_at FROM departments WHERE id = ?1")?
        .query_row([id.get()], |r| {
            Ok(Department {
                id: DepartmentId::new(r.get(0)?),
                name: r.get(1)?,
                created_at: Timestamp::from_millis(r.get(2)?),
            })
        })
        .optional()?
        .ok_or_else(|| not_found(Entity::Department, id))
}

const REQUESTER_COLUMNS: &str = "id, name, email, organization_id, created_at";

fn read_requester(r: &Row<'_>) -> rusqlite::Result<Requester> {
    Ok(Requester {
        id: RequesterId::new(r.get(0)?),
        name: r.get(1)?,
        email: r.get(2)?,
        organization: r.get::<_, Option<i64>>(3)?.map(OrganizationId::new),
        created_at: Timestamp::from_millis(r.get(4)?),
    })
}

pub(crate) fn load_requester(conn: &Connection, id: RequesterId) -> Result<Requester> {
    conn.prepare_cached(&format!(
        "SELECT {REQUESTER_COLUMNS} FROM requesters WHERE id = ?1"
    ))?
    .query_row([id.get()], read_requester)
    .optional()?
    .ok_or_else(|| not_found(Entity::Requester, id))
}

fn read_organization(r: &Row<'_>) -> rusqlite::Result<Organization> {
    Ok(Organization {
        id: OrganizationId::new(r.get(0)?),
        name: r.get(1)?,
        shared_tickets: r.get(2)?,
        created_at: Timestamp::from_millis(r.get(3)?),
    })
}

pub(crate) fn read_field(r: &Row<'_>) -> rusqlite::Result<FieldDefinition> {
    Ok(FieldDefinition {
        id: FieldId::new(r.get(0)?),
        key: r.get(1)?,
        label: r.get(2)?,
        kind: from_json(3, &r.get::<_, String>(3)?)?,
        agent_only: r.get(4)?,
        created_at: Timestamp::from_millis(r.get(5)?),
    })
}

pub(crate) const FIELD_COLUMNS: &str = "id, key, label, kind, agent_only, created_at";

/// Maps a UNIQUE violation to a typed duplicate error.
fn unique<'a>(
    entity: Entity,
    field: &'static str,
    value: &'a str,
) -> impl FnOnce(rusqlite::Error) -> Failure + 'a {
    move |e| {
        if is_unique_violation(&e) {
            Failure::from(Error::Duplicate {
                entity,
                field,
                value: value.to_owned(),
            })
        } else {
            e.into()
        }
    }
}

impl Store {
    /// Appends an event that is not about a ticket (people, keys, plugins) to the outbox.
    pub(crate) fn event(
        &self,
        conn: &Connection,
        at: Timestamp,
        by: &Attribution,
        kind: EventKind,
        data: serde_json::Value,
    ) -> Result<u64> {
        append(
            conn,
            at,
            by,
            &NewEvent {
                kind,
                ticket: None,
                department: None,
                data,
            },
            self.outbox_retention,
        )
    }

    /// Creates an agent.
    pub fn create_agent(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewAgent,
    ) -> helpdesk_domain::Result<Agent> {
        let input = input.normalize(&self.limits)?;
        let norm = normalize_email(&input.email)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO agents (name, email, email_norm, active, admin, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?5)",
            )?
            .execute(params![input.name, input.email, norm, input.admin, at.as_millis()])
            .map_err(unique(Entity::Agent, "email", &input.email))?;
            let id = AgentId::new(tx.last_insert_rowid());
            tx.prepare_cached("INSERT INTO agent_roles (agent_id, role_id) VALUES (?1, ?2)")?
                .execute(params![id.get(), AGENT_ROLE])?;
            record(tx, at, by, HistorySubject::Agent(id), &Change::Created)?;
            self.event(
                tx,
                at,
                by,
                EventKind::AgentCreated,
                json!({ "agent": id, "admin": input.admin }),
            )?;
            load_agent(tx, id)
        })
    }

    /// Changes an agent's name, email, active or admin flag.
    pub fn update_agent(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: AgentId,
        update: AgentUpdate,
    ) -> helpdesk_domain::Result<Agent> {
        let update = update.normalize(&self.limits)?;
        self.write(|tx| {
            let before = load_agent(tx, id)?;
            let mut changes = Vec::new();
            if let Some(name) = update.name.filter(|n| *n != before.name) {
                tx.execute(
                    "UPDATE agents SET name = ?2 WHERE id = ?1",
                    params![id.get(), name],
                )?;
                changes.push((
                    HistoryField::Name,
                    HistoryValue::Text(before.name.clone()),
                    HistoryValue::Text(name),
                ));
            }
            if let Some(email) = update.email.filter(|e| *e != before.email) {
                let norm = normalize_email(&email)?;
                tx.execute(
                    "UPDATE agents SET email = ?2, email_norm = ?3 WHERE id = ?1",
                    params![id.get(), email, norm],
                )
                .map_err(unique(Entity::Agent, "email", &email))?;
                changes.push((
                    HistoryField::Email,
                    HistoryValue::Text(before.email.clone()),
                    HistoryValue::Text(email),
                ));
            }
            if let Some(active) = update.active.filter(|a| *a != before.active) {
                tx.execute(
                    "UPDATE agents SET active = ?2 WHERE id = ?1",
                    params![id.get(), active],
                )?;
                if !active {
                    self.revoke_agent_tokens(tx, at, by, id)?;
                }
                changes.push((
                    HistoryField::Active,
                    HistoryValue::Bool(before.active),
                    HistoryValue::Bool(active),
                ));
            }
            if let Some(admin) = update.admin.filter(|a| *a != before.admin) {
                tx.execute(
                    "UPDATE agents SET admin = ?2 WHERE id = ?1",
                    params![id.get(), admin],
                )?;
                changes.push((
                    HistoryField::Admin,
                    HistoryValue::Bool(before.admin),
                    HistoryValue::Bool(admin),
                ));
            }
            if let Some(only) = update.only_assigned.filter(|o| *o != before.only_assigned) {
                tx.execute(
                    "UPDATE agents SET only_assigned = ?2 WHERE id = ?1",
                    params![id.get(), only],
                )?;
                changes.push((
                    HistoryField::OnlyAssigned,
                    HistoryValue::Bool(before.only_assigned),
                    HistoryValue::Bool(only),
                ));
            }
            if changes.is_empty() {
                return Ok(before);
            }
            tx.execute(
                "UPDATE agents SET updated_at = ?2 WHERE id = ?1",
                params![id.get(), at.as_millis()],
            )?;
            let names = record_sets(tx, at, by, HistorySubject::Agent(id), changes)?;
            self.event(
                tx,
                at,
                by,
                EventKind::AgentUpdated,
                json!({ "agent": id, "changes": names }),
            )?;
            load_agent(tx, id)
        })
    }

    /// One agent, with its departments.
    pub fn agent(&self, id: AgentId) -> helpdesk_domain::Result<Agent> {
        self.read(|tx| load_agent(tx, id))
    }

    /// The agent with this email address (any case).
    pub fn agent_by_email(&self, email: &str) -> helpdesk_domain::Result<Agent> {
        let norm = normalize_email(email)?;
        self.read(|tx| {
            let id: i64 = tx
                .query_row(
                    "SELECT id FROM agents WHERE email_norm = ?1",
                    [&norm],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| not_found(Entity::Agent, email))?;
            load_agent(tx, AgentId::new(id))
        })
    }

    /// Every agent, by id, with roles and departments.
    pub fn agents(&self) -> helpdesk_domain::Result<Vec<Agent>> {
        self.read(|tx| load_all_agents(tx))
    }

    /// Everything the permission engine is compiled from, in one consistent snapshot.
    pub fn policy_data(&self) -> helpdesk_domain::Result<PolicyData> {
        self.read(|tx| {
            Ok(PolicyData {
                agents: load_all_agents(tx)?,
                roles: load_roles(tx)?,
                departments: load_departments(tx)?,
                organizations: load_organizations(tx)?,
            })
        })
    }

    /// Creates a department.
    pub fn create_department(
        &self,
        at: Timestamp,
        by: &Attribution,
        name: &str,
    ) -> helpdesk_domain::Result<Department> {
        let name = normalize_name("name", name, &self.limits)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO departments (name, name_norm, created_at) VALUES (?1, ?2, ?3)",
                params![name, name.to_lowercase(), at.as_millis()],
            )
            .map_err(unique(Entity::Department, "name", &name))?;
            let id = DepartmentId::new(tx.last_insert_rowid());
            record(tx, at, by, HistorySubject::Department(id), &Change::Created)?;
            self.event(
                tx,
                at,
                by,
                EventKind::DepartmentCreated,
                json!({ "department": id, "name": name }),
            )?;
            load_department(tx, id)
        })
    }

    /// One department.
    pub fn department(&self, id: DepartmentId) -> helpdesk_domain::Result<Department> {
        self.read(|tx| load_department(tx, id))
    }

    /// Every department, by id.
    pub fn departments(&self) -> helpdesk_domain::Result<Vec<Department>> {
        self.read(|tx| load_departments(tx))
    }

    /// Makes an agent a member of a department at `level`, or changes its level there.
    pub fn add_member(
        &self,
        at: Timestamp,
        by: &Attribution,
        department: DepartmentId,
        agent: AgentId,
        level: AccessLevel,
    ) -> helpdesk_domain::Result<()> {
        self.set_membership(at, by, department, agent, Some(level))
    }

    /// Removes an agent from a department (no change if not a member).
    pub fn remove_member(
        &self,
        at: Timestamp,
        by: &Attribution,
        department: DepartmentId,
        agent: AgentId,
    ) -> helpdesk_domain::Result<()> {
        self.set_membership(at, by, department, agent, None)
    }

    /// Sets or removes a membership. When the agent can no longer change the department's
    /// tickets (removed, or below `change`), its tickets there are unassigned in the same
    /// transaction, so no ticket keeps an assignee who cannot work on it.
    fn set_membership(
        &self,
        at: Timestamp,
        by: &Attribution,
        department: DepartmentId,
        agent: AgentId,
        level: Option<AccessLevel>,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            load_department(tx, department)?;
            let before = load_agent(tx, agent)?.level_in(department);
            if before == level {
                return Ok(());
            }
            let change = match (before, level) {
                (None, Some(level)) => Change::MemberAdded { agent, level },
                (Some(old), Some(new)) => Change::MemberLevel { agent, old, new },
                (Some(_), None) => Change::MemberRemoved { agent },
                (None, None) => return Ok(()),
            };
            match level {
                Some(level) => tx.execute(
                    "INSERT INTO department_members (department_id, agent_id, level) VALUES (?1, ?2, ?3)
                     ON CONFLICT (department_id, agent_id) DO UPDATE SET level = excluded.level",
                    params![department.get(), agent.get(), level.code()],
                )?,
                None => tx.execute(
                    "DELETE FROM department_members WHERE department_id = ?1 AND agent_id = ?2",
                    params![department.get(), agent.get()],
                )?,
            };
            record(tx, at, by, HistorySubject::Department(department), &change)?;
            self.event(tx, at, by, EventKind::DepartmentUpdated, json!({ "department": department, "change": change }))?;
            if level.is_none_or(|l| l < AccessLevel::Change) {
                crate::tickets::unassign_outside_department(self, tx, at, by, department, agent)?;
            }
            Ok(())
        })
    }

    /// Creates a role with the given permissions.
    pub fn create_role(
        &self,
        at: Timestamp,
        by: &Attribution,
        name: &str,
        permissions: Scopes,
    ) -> helpdesk_domain::Result<Role> {
        let name = normalize_name("name", name, &self.limits)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO roles (name, name_norm, permissions, builtin, created_at) VALUES (?1, ?2, ?3, 0, ?4)",
                params![name, name.to_lowercase(), scopes_text(permissions), at.as_millis()],
            )
            .map_err(unique(Entity::Role, "name", &name))?;
            let id = RoleId::new(tx.last_insert_rowid());
            record(tx, at, by, HistorySubject::Role(id), &Change::Created)?;
            self.event(tx, at, by, EventKind::RoleCreated, json!({ "role": id, "name": name, "permissions": scope_names(permissions) }))?;
            load_role(tx, id)
        })
    }

    /// Replaces a custom role's permissions. Built-in roles cannot change.
    pub fn update_role(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: RoleId,
        permissions: Scopes,
    ) -> helpdesk_domain::Result<Role> {
        self.write(|tx| {
            let before = load_role(tx, id)?;
            if before.builtin {
                return Err(rule(
                    "role",
                    format!("`{}` is built in and cannot change", before.name),
                ));
            }
            if before.permissions == permissions {
                return Ok(before);
            }
            tx.execute(
                "UPDATE roles SET permissions = ?2 WHERE id = ?1",
                params![id.get(), scopes_text(permissions)],
            )?;
            let names = |s: Scopes| {
                HistoryValue::Names(scope_names(s).into_iter().map(str::to_owned).collect())
            };
            let change = Change::Set {
                field: HistoryField::Permissions,
                old: names(before.permissions),
                new: names(permissions),
            };
            record(tx, at, by, HistorySubject::Role(id), &change)?;
            self.event(
                tx,
                at,
                by,
                EventKind::RoleUpdated,
                json!({ "role": id, "permissions": scope_names(permissions) }),
            )?;
            load_role(tx, id)
        })
    }

    /// Deletes a custom role; agents that had it lose it.
    pub fn delete_role(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: RoleId,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            let role = load_role(tx, id)?;
            if role.builtin {
                return Err(rule(
                    "role",
                    format!("`{}` is built in and cannot be deleted", role.name),
                ));
            }
            tx.execute("DELETE FROM roles WHERE id = ?1", [id.get()])?;
            record(tx, at, by, HistorySubject::Role(id), &Change::Deleted)?;
            self.event(
                tx,
                at,
                by,
                EventKind::RoleDeleted,
                json!({ "role": id, "name": role.name }),
            )?;
            Ok(())
        })
    }

    /// Every role, by id.
    pub fn roles(&self) -> helpdesk_domain::Result<Vec<Role>> {
        self.read(|tx| load_roles(tx))
    }

    /// Replaces an agent's roles.
    pub fn set_agent_roles(
        &self,
        at: Timestamp,
        by: &Attribution,
        agent: AgentId,
        roles: &[RoleId],
    ) -> helpdesk_domain::Result<Agent> {
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        self.write(|tx| {
            let before = load_agent(tx, agent)?;
            for role in &roles {
                load_role(tx, *role)?;
            }
            if before.roles == roles {
                return Ok(before);
            }
            tx.execute("DELETE FROM agent_roles WHERE agent_id = ?1", [agent.get()])?;
            for role in &roles {
                tx.prepare_cached("INSERT INTO agent_roles (agent_id, role_id) VALUES (?1, ?2)")?
                    .execute(params![agent.get(), role.get()])?;
            }
            tx.execute(
                "UPDATE agents SET updated_at = ?2 WHERE id = ?1",
                params![agent.get(), at.as_millis()],
            )?;
            let change = Change::Set {
                field: HistoryField::Roles,
                old: HistoryValue::Roles(before.roles.clone()),
                new: HistoryValue::Roles(roles.clone()),
            };
            record(tx, at, by, HistorySubject::Agent(agent), &change)?;
            self.event(
                tx,
                at,
                by,
                EventKind::AgentUpdated,
                json!({ "agent": agent, "changes": ["roles"] }),
            )?;
            load_agent(tx, agent)
        })
    }

    /// Creates an organisation.
    pub fn create_organization(
        &self,
        at: Timestamp,
        by: &Attribution,
        name: &str,
        shared_tickets: bool,
    ) -> helpdesk_domain::Result<Organization> {
        let name = normalize_name("name", name, &self.limits)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO organizations (name, name_norm, shared_tickets, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, name.to_lowercase(), shared_tickets, at.as_millis()],
            )
            .map_err(unique(Entity::Organization, "name", &name))?;
            let id = OrganizationId::new(tx.last_insert_rowid());
            record(tx, at, by, HistorySubject::Organization(id), &Change::Created)?;
            self.event(tx, at, by, EventKind::OrganizationCreated, json!({ "organization": id }))?;
            Ok(Organization { id, name, shared_tickets, created_at: at })
        })
    }

    /// Every organisation, by id.
    pub fn organizations(&self) -> helpdesk_domain::Result<Vec<Organization>> {
        self.read(|tx| load_organizations(tx))
    }

    /// Creates a requester.
    pub fn create_requester(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewRequester,
    ) -> helpdesk_domain::Result<Requester> {
        let input = input.normalize(&self.limits)?;
        let norm = normalize_email(&input.email)?;
        self.write(|tx| {
            if let Some(org) = input.organization {
                let exists: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM organizations WHERE id = ?1",
                        [org.get()],
                        |r| r.get(0),
                    )
                    .optional()?;
                exists.ok_or_else(|| not_found(Entity::Organization, org))?;
            }
            let id = insert_requester(tx, at, &input, &norm)?;
            record(tx, at, by, HistorySubject::Requester(id), &Change::Created)?;
            self.event(
                tx,
                at,
                by,
                EventKind::RequesterCreated,
                json!({ "requester": id }),
            )?;
            load_requester(tx, id)
        })
    }

    /// One requester.
    pub fn requester(&self, id: RequesterId) -> helpdesk_domain::Result<Requester> {
        self.read(|tx| load_requester(tx, id))
    }

    /// The requester with this email address (any case).
    pub fn requester_by_email(&self, email: &str) -> helpdesk_domain::Result<Requester> {
        let norm = normalize_email(email)?;
        self.read(|tx| {
            tx.prepare_cached(&format!(
                "SELECT {REQUESTER_COLUMNS} FROM requesters WHERE email_norm = ?1"
            ))?
            .query_row([&norm], read_requester)
            .optional()?
            .ok_or_else(|| not_found(Entity::Requester, email))
        })
    }

    /// Defines a custom ticket field.
    pub fn create_field(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewFieldDefinition,
    ) -> helpdesk_domain::Result<FieldDefinition> {
        let input = input.normalize(&self.limits)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO custom_fields (key, label, kind, agent_only, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![input.key, input.label, to_json(&input.kind)?, input.agent_only, at.as_millis()],
            )
            .map_err(unique(Entity::Field, "key", &input.key))?;
            let id = FieldId::new(tx.last_insert_rowid());
            record(tx, at, by, HistorySubject::Field(id), &Change::Created)?;
            self.event(tx, at, by, EventKind::FieldCreated, json!({ "field": id, "key": input.key }))?;
            Ok(FieldDefinition { id, key: input.key, label: input.label, kind: input.kind, agent_only: input.agent_only, created_at: at })
        })
    }

    /// Every custom field definition, by id.
    pub fn fields(&self) -> helpdesk_domain::Result<Vec<FieldDefinition>> {
        self.read(|tx| load_fields(tx))
    }
}

pub(crate) fn load_fields(conn: &Connection) -> Result<Vec<FieldDefinition>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FIELD_COLUMNS} FROM custom_fields ORDER BY id"
    ))?;
    Ok(stmt
        .query_map([], read_field)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn insert_requester(
    conn: &Connection,
    at: Timestamp,
    input: &NewRequester,
    norm: &str,
) -> Result<RequesterId> {
    conn.prepare_cached(
        "INSERT INTO requesters (name, email, email_norm, organization_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![input.name, input.email, norm, input.organization.map(OrganizationId::get), at.as_millis()])
    .map_err(unique(Entity::Requester, "email", &input.email))?;
    Ok(RequesterId::new(conn.last_insert_rowid()))
}
