//! Agents, departments, organisations, requesters and custom field definitions.

use helpdesk_domain::{
    Agent, AgentId, AgentUpdate, Attribution, Change, Department, DepartmentId, EventKind,
    FieldDefinition, FieldId, HistoryField, HistorySubject, HistoryValue, NewAgent,
    NewFieldDefinition, NewRequester, Organization, OrganizationId, Requester, RequesterId,
    Timestamp, normalize_email, normalize_name,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

use crate::Store;
use crate::error::{Entity, Result, StoreError, not_found};
use crate::history::record;
use crate::outbox::{NewEvent, append};
use crate::row::{from_json, is_unique_violation, to_json};

const AGENT_COLUMNS: &str = "id, name, email, active, admin, created_at, updated_at";

fn read_agent(r: &Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: AgentId::new(r.get(0)?),
        name: r.get(1)?,
        email: r.get(2)?,
        active: r.get(3)?,
        admin: r.get(4)?,
        departments: Vec::new(),
        created_at: Timestamp::from_millis(r.get(5)?),
        updated_at: Timestamp::from_millis(r.get(6)?),
    })
}

fn agent_departments(conn: &Connection, agent: AgentId) -> rusqlite::Result<Vec<DepartmentId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT department_id FROM department_members WHERE agent_id = ?1 ORDER BY department_id",
    )?;
    let rows = stmt.query_map([agent.get()], |r| Ok(DepartmentId::new(r.get(0)?)))?;
    rows.collect()
}

pub(crate) fn load_agent(conn: &Connection, id: AgentId) -> Result<Agent> {
    let agent = conn
        .prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1"))?
        .query_row([id.get()], read_agent)
        .optional()?
        .ok_or_else(|| not_found(Entity::Agent, id))?;
    Ok(Agent {
        departments: agent_departments(conn, id)?,
        ..agent
    })
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
) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                entity,
                field,
                value: value.to_owned(),
            }
        } else {
            e.into()
        }
    }
}

impl Store {
    fn event(
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
    pub fn create_agent(&self, at: Timestamp, by: &Attribution, input: NewAgent) -> Result<Agent> {
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
    ) -> Result<Agent> {
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
            if changes.is_empty() {
                return Ok(before);
            }
            tx.execute(
                "UPDATE agents SET updated_at = ?2 WHERE id = ?1",
                params![id.get(), at.as_millis()],
            )?;
            let mut names = Vec::new();
            for (field, old, new) in changes {
                names.push(serde_json::to_value(&field).unwrap_or_default());
                record(
                    tx,
                    at,
                    by,
                    HistorySubject::Agent(id),
                    &Change::Set { field, old, new },
                )?;
            }
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
    pub fn agent(&self, id: AgentId) -> Result<Agent> {
        self.read(|tx| load_agent(tx, id))
    }

    /// The agent with this email address (any case).
    pub fn agent_by_email(&self, email: &str) -> Result<Agent> {
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

    /// Every agent, by id, with departments.
    pub fn agents(&self) -> Result<Vec<Agent>> {
        self.read(|tx| {
            let mut agents = tx
                .prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id"))?
                .query_map([], read_agent)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = tx.prepare_cached("SELECT agent_id, department_id FROM department_members ORDER BY agent_id, department_id")?;
            let members = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, DepartmentId::new(r.get(1)?))))?;
            let mut i = 0;
            for member in members {
                let (agent, dept) = member?;
                while i < agents.len() && agents[i].id.get() < agent {
                    i += 1;
                }
                if let Some(a) = agents.get_mut(i).filter(|a| a.id.get() == agent) {
                    a.departments.push(dept);
                }
            }
            Ok(agents)
        })
    }

    /// Creates a department.
    pub fn create_department(
        &self,
        at: Timestamp,
        by: &Attribution,
        name: &str,
    ) -> Result<Department> {
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
    pub fn department(&self, id: DepartmentId) -> Result<Department> {
        self.read(|tx| load_department(tx, id))
    }

    /// Every department, by id.
    pub fn departments(&self) -> Result<Vec<Department>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT id, name, created_at FROM departments ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(Department {
                    id: DepartmentId::new(r.get(0)?),
                    name: r.get(1)?,
                    created_at: Timestamp::from_millis(r.get(2)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Adds an agent to a department (no change if already a member).
    pub fn add_member(
        &self,
        at: Timestamp,
        by: &Attribution,
        department: DepartmentId,
        agent: AgentId,
    ) -> Result<()> {
        self.set_membership(at, by, department, agent, true)
    }

    /// Removes an agent from a department. Tickets of that department assigned to the agent are
    /// unassigned in the same transaction, so no ticket keeps an assignee outside its department.
    pub fn remove_member(
        &self,
        at: Timestamp,
        by: &Attribution,
        department: DepartmentId,
        agent: AgentId,
    ) -> Result<()> {
        self.set_membership(at, by, department, agent, false)
    }

    fn set_membership(
        &self,
        at: Timestamp,
        by: &Attribution,
        department: DepartmentId,
        agent: AgentId,
        member: bool,
    ) -> Result<()> {
        self.write(|tx| {
            load_department(tx, department)?;
            load_agent(tx, agent)?;
            let changed = if member {
                tx.execute(
                    "INSERT OR IGNORE INTO department_members (department_id, agent_id) VALUES (?1, ?2)",
                    params![department.get(), agent.get()],
                )?
            } else {
                tx.execute(
                    "DELETE FROM department_members WHERE department_id = ?1 AND agent_id = ?2",
                    params![department.get(), agent.get()],
                )?
            };
            if changed == 0 {
                return Ok(());
            }
            let change = if member { Change::MemberAdded { agent } } else { Change::MemberRemoved { agent } };
            record(tx, at, by, HistorySubject::Department(department), &change)?;
            self.event(
                tx,
                at,
                by,
                EventKind::DepartmentUpdated,
                json!({ "department": department, if member { "member_added" } else { "member_removed" }: agent }),
            )?;
            if !member {
                crate::tickets::unassign_outside_department(self, tx, at, by, department, agent)?;
            }
            Ok(())
        })
    }

    /// Creates an organisation.
    pub fn create_organization(
        &self,
        at: Timestamp,
        by: &Attribution,
        name: &str,
        shared_tickets: bool,
    ) -> Result<Organization> {
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
    pub fn organizations(&self) -> Result<Vec<Organization>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, name, shared_tickets, created_at FROM organizations ORDER BY id",
            )?;
            Ok(stmt
                .query_map([], read_organization)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Creates a requester.
    pub fn create_requester(
        &self,
        at: Timestamp,
        by: &Attribution,
        input: NewRequester,
    ) -> Result<Requester> {
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
    pub fn requester(&self, id: RequesterId) -> Result<Requester> {
        self.read(|tx| load_requester(tx, id))
    }

    /// The requester with this email address (any case).
    pub fn requester_by_email(&self, email: &str) -> Result<Requester> {
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
    ) -> Result<FieldDefinition> {
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
    pub fn fields(&self) -> Result<Vec<FieldDefinition>> {
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
