-- Version 2: API keys, access tokens and the per-key request log.
CREATE TABLE schema_v2_placeholder (id INTEGER PRIMARY KEY);
