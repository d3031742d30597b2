-- Version 4: what the permission rules need to remember: app identities after their install is
-- gone, the reach of deleted tickets, who owns each outbox consumer, events an install never got,
-- and the key that makes delivery numbers opaque.

-- The install an agent is the app identity of. Kept when the install is removed: an app identity
-- is never signed in as, and changes only with its install.
ALTER TABLE agents ADD COLUMN app_install INTEGER;
UPDATE agents SET app_install = (SELECT id FROM plugin_installs WHERE app_agent_id = agents.id);
UPDATE agents SET app_install = (
    SELECT json_extract(data, '$.install') FROM outbox
    WHERE kind = 'plugin.installed' AND json_extract(data, '$.agent') = agents.id
) WHERE app_install IS NULL;

-- The attributes a ticket had when it was deleted, so that its history and events stay in the
-- reach they were in. Tickets deleted before this version keep only their department (from their
-- `ticket.deleted` event, when the outbox still holds it).
CREATE TABLE deleted_tickets (
    id              INTEGER PRIMARY KEY,
    department_id   INTEGER NOT NULL,
    assignee_id     INTEGER,
    requester_id    INTEGER,
    organization_id INTEGER,
    deleted_at      INTEGER NOT NULL
);
INSERT OR IGNORE INTO deleted_tickets (id, department_id, deleted_at)
    SELECT ticket_id, department_id, at FROM outbox
    WHERE kind = 'ticket.deleted' AND ticket_id IS NOT NULL AND department_id IS NOT NULL;

-- Outbox consumers belong to whoever registered them. `owner_kind`: 0 the core itself (the
-- queues of plugin installs, never reached through the consumer API), 1 the system principal,
-- 2 an agent (`owner_id`). Consumers of earlier versions belong to the system principal.
CREATE TABLE outbox_consumers_v4 (
    owner_kind INTEGER NOT NULL,
    owner_id   INTEGER NOT NULL DEFAULT 0,
    name       TEXT NOT NULL,
    cursor     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, name)
) WITHOUT ROWID;
INSERT INTO outbox_consumers_v4 (owner_kind, owner_id, name, cursor, created_at)
    SELECT CASE WHEN name GLOB 'plugin-[0-9]*' THEN 0 ELSE 1 END, 0, name, cursor, created_at
    FROM outbox_consumers;
DROP TABLE outbox_consumers;
ALTER TABLE outbox_consumers_v4 RENAME TO outbox_consumers;

-- Outbox events an install never got: dropped by retention before it took them onto its queue.
ALTER TABLE plugin_installs ADD COLUMN missed_events INTEGER NOT NULL DEFAULT 0;

-- Values the database keeps about itself. `delivery_key`: the key of the keyed hash that turns an
-- outbox sequence number into an install's delivery number, so that a plugin cannot count the
-- events it was not given.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('delivery_key', randomblob(16));
