-- Version 3: plugin installs, their data and event delivery state.
CREATE TABLE schema_v3_placeholder (id INTEGER PRIMARY KEY);
