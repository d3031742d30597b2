//! The schema and its versioned migrations, applied in order when a database is opened.

/// `PRAGMA application_id` of our databases ("HDK1"), so a foreign file is recognised and refused.
pub(crate) const APPLICATION_ID: i64 = 0x4844_4B31;

/// The migrations; the database's `user_version` counts how many have been applied. Each is
/// applied in its own transaction, in order; a migration, once released, never changes.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1,
    include_str!("schema/v2_keys.sql"),
    include_str!("schema/v3_plugins.sql"),
    include_str!("schema/v4_rules.sql"),
];

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = r#"
CREATE TABLE agents (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL UNIQUE,
    active        INTEGER NOT NULL,
    admin         INTEGER NOT NULL,
    only_assigned INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Roles: named permission sets. Rows 1-3 are the built-in roles; their permissions are defined
-- by the code (so a new version can refine them), and `permissions` stays empty for them.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    name_norm   TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    builtin     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
INSERT INTO roles (id, name, name_norm, permissions, builtin, created_at) VALUES
    (1, 'administrator', 'administrator', '', 1, 0),
    (2, 'agent', 'agent', '', 1, 0),
    (3, 'read-only', 'read-only', '', 1, 0);

CREATE TABLE agent_roles (
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    role_id  INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, role_id)
) WITHOUT ROWID;

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    name_norm   TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE department_members (
    department_id INTEGER NOT NULL REFERENCES departments(id),
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    level         INTEGER NOT NULL,
    PRIMARY KEY (department_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX department_members_agent ON department_members(agent_id, department_id);

CREATE TABLE organizations (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    name_norm      TEXT NOT NULL UNIQUE,
    shared_tickets INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE requesters (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    email_norm      TEXT NOT NULL UNIQUE,
    organization_id INTEGER REFERENCES organizations(id),
    created_at      INTEGER NOT NULL
);

CREATE TABLE custom_fields (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    agent_only  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    subject         TEXT NOT NULL,
    status          INTEGER NOT NULL,
    priority        INTEGER NOT NULL,
    department_id   INTEGER NOT NULL REFERENCES departments(id),
    assignee_id     INTEGER REFERENCES agents(id),
    requester_id    INTEGER NOT NULL REFERENCES requesters(id),
    organization_id INTEGER REFERENCES organizations(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
);
CREATE INDEX tickets_updated ON tickets(updated_at, id);
CREATE INDEX tickets_created ON tickets(created_at, id);
CREATE INDEX tickets_status ON tickets(status, updated_at);
CREATE INDEX tickets_department ON tickets(department_id, updated_at);
CREATE INDEX tickets_assignee ON tickets(assignee_id, updated_at);
CREATE INDEX tickets_requester ON tickets(requester_id, updated_at);
CREATE INDEX tickets_organization ON tickets(organization_id, updated_at);

CREATE TABLE ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_tag ON ticket_tags(tag, ticket_id);

CREATE TABLE ticket_field_values (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    field_id  INTEGER NOT NULL REFERENCES custom_fields(id),
    value     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id)
) WITHOUT ROWID;

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    ticket_id           INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind                INTEGER NOT NULL,
    body                TEXT NOT NULL,
    author_agent_id     INTEGER REFERENCES agents(id),
    author_requester_id INTEGER REFERENCES requesters(id),
    by_kind             INTEGER NOT NULL,
    by_id               INTEGER,
    by_key              INTEGER,
    by_token            INTEGER,
    by_install          INTEGER,
    created_at          INTEGER NOT NULL,
    CHECK ((author_agent_id IS NULL) <> (author_requester_id IS NULL))
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);

-- Full-text index: one row per ticket subject (rowid = -ticket id) and per message (rowid = message id).
CREATE VIRTUAL TABLE search_index USING fts5(
    body,
    ticket_id UNINDEXED,
    public UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Typed audit history. Entries outlive the records they describe.
CREATE TABLE history (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    by_kind      INTEGER NOT NULL,
    by_id        INTEGER,
    by_key       INTEGER,
    by_token     INTEGER,
    by_install   INTEGER,
    change       TEXT NOT NULL
);
CREATE INDEX history_subject ON history(subject_kind, subject_id, id);
CREATE INDEX history_key ON history(by_key, id) WHERE by_key IS NOT NULL;

-- The durable outbox. AUTOINCREMENT: a sequence number is never reused, even after pruning.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    at            INTEGER NOT NULL,
    by_kind       INTEGER NOT NULL,
    by_id         INTEGER,
    by_key        INTEGER,
    by_token      INTEGER,
    by_install    INTEGER,
    ticket_id     INTEGER,
    department_id INTEGER,
    data          TEXT NOT NULL
);

CREATE TABLE outbox_consumers (
    name       TEXT PRIMARY KEY,
    cursor     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;
