-- Version 2: API keys, access tokens and the per-key request log.
--
-- No secret and no fast hash of one is ever stored: only argon2id PHC strings
-- (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`). Ids are AUTOINCREMENT so a deleted key's or
-- token's number is never given to another one (it is printed in codes, logs and history).

CREATE TABLE api_keys (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    description      TEXT NOT NULL,
    -- 1 = agent key (bound to agent_id), 2 = superuser key (optional default_agent_id).
    kind             INTEGER NOT NULL,
    agent_id         INTEGER REFERENCES agents(id),
    default_agent_id INTEGER REFERENCES agents(id),
    admin_functions  INTEGER NOT NULL,
    -- Scope names separated by spaces, such as `tickets.read tickets.reply`.
    scopes           TEXT NOT NULL,
    expires_at       INTEGER,
    -- CIDR networks separated by spaces; empty means any source address.
    networks         TEXT NOT NULL,
    enabled          INTEGER NOT NULL,
    secret_hash      TEXT NOT NULL,
    -- Bumped by regenerate and disable: access tokens minted under another generation are dead.
    generation       INTEGER NOT NULL,
    -- The replaced secret during a regeneration's overlap window, and the end of the window.
    previous_hash    TEXT,
    previous_until   INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (kind IN (1, 2)),
    CHECK ((kind = 1) = (agent_id IS NOT NULL)),
    CHECK (kind = 2 OR (default_agent_id IS NULL AND admin_functions = 0)),
    CHECK ((previous_hash IS NULL) = (previous_until IS NULL))
);

CREATE TABLE access_tokens (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id         INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    -- The key's generation when the token was minted.
    key_generation INTEGER NOT NULL,
    agent_id       INTEGER REFERENCES agents(id),
    requester_id   INTEGER REFERENCES requesters(id),
    scopes         TEXT NOT NULL,
    secret_hash    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked        INTEGER NOT NULL DEFAULT 0,
    CHECK ((agent_id IS NULL) <> (requester_id IS NULL))
);
CREATE INDEX access_tokens_key ON access_tokens(key_id);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);

-- The last requests of each key (the facade keeps 50), written in batches from memory.
CREATE TABLE key_requests (
    key_id     INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    operation  TEXT NOT NULL,
    -- 0 = nobody (refused before a person was known), 1 = agent, 2 = requester.
    actor_kind INTEGER NOT NULL,
    actor_id   INTEGER,
    token_id   INTEGER,
    outcome    TEXT NOT NULL,
    source_ip  TEXT,
    PRIMARY KEY (key_id, seq)
) WITHOUT ROWID;
