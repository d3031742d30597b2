-- Version 3: plugin installs, their data and event delivery state.

-- Compiled plugins are content-addressed: installs and upgrades refer to the wasm by its SHA-256.
CREATE TABLE plugin_wasm (
    hash       TEXT PRIMARY KEY,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per install; ids are never reused (they are recorded in history and events).
-- `state`: 0 enabled, 1 disabled by an administrator, 2 disabled
-- automatically after repeated failures (`state_reason` says why).
CREATE TABLE plugin_installs (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin_id            TEXT NOT NULL UNIQUE,
    version              TEXT NOT NULL,
    manifest             TEXT NOT NULL,
    wasm_hash            TEXT NOT NULL REFERENCES plugin_wasm(hash),
    granted              TEXT NOT NULL,
    app_agent_id         INTEGER REFERENCES agents(id),
    key_id               INTEGER,
    state                INTEGER NOT NULL,
    state_reason         TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    installed_by_kind    INTEGER NOT NULL,
    installed_by_id      INTEGER,
    installed_at         INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX plugin_installs_agent ON plugin_installs(app_agent_id);

-- Settings: plain values in `value`; secret ones only as `secret` (nonce || AEAD ciphertext,
-- encrypted with a key the embedding application supplies; never stored in clear).
CREATE TABLE plugin_settings (
    install_id INTEGER NOT NULL REFERENCES plugin_installs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT,
    secret     BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (install_id, name),
    CHECK ((value IS NULL) OR (secret IS NULL))
) WITHOUT ROWID;

-- Each install's key-value store; its total size is bounded by the install's limits.
CREATE TABLE plugin_kv (
    install_id INTEGER NOT NULL REFERENCES plugin_installs(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    PRIMARY KEY (install_id, key)
) WITHOUT ROWID;

-- Events taken from the outbox for an install and not yet delivered. Per ticket, only the
-- oldest is attempted (in order per ticket); `ticket_key` is the ticket id, or 0 for events
-- about no ticket. The event is copied, so outbox pruning cannot lose it.
CREATE TABLE plugin_deliveries (
    install_id INTEGER NOT NULL REFERENCES plugin_installs(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    ticket_key INTEGER NOT NULL,
    event      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    last_error TEXT,
    PRIMARY KEY (install_id, seq)
) WITHOUT ROWID;
CREATE INDEX plugin_deliveries_ticket ON plugin_deliveries(install_id, ticket_key, seq);

-- Deliveries given up after repeated failure, kept for inspection and replay.
CREATE TABLE plugin_dead_letters (
    install_id INTEGER NOT NULL REFERENCES plugin_installs(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    event      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (install_id, seq)
) WITHOUT ROWID;
