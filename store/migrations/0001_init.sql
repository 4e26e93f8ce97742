-- Pult's first schema. Only random ids, kinds, scopes, clocks, sequence numbers and flags are in the clear;
-- everything a person wrote is inside a sealed packet.

CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE schools (
	id          TEXT PRIMARY KEY,
	-- The school's name is the institution's public name, not personal data; name_key is its normalised form.
	name        TEXT NOT NULL,
	name_key    TEXT NOT NULL UNIQUE,
	wrapped_key BLOB NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	school_id     TEXT NOT NULL REFERENCES schools (id),
	-- A keyed hash of the normalised username: logins find the user without the name being stored in the clear.
	username_mac  BLOB NOT NULL UNIQUE,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'teacher')),
	active        INTEGER NOT NULL DEFAULT 1,
	created_at    INTEGER NOT NULL,
	last_login_at INTEGER NOT NULL DEFAULT 0,
	-- sealed: username as typed, display name, e-mail, password hash
	packet        BLOB NOT NULL
) STRICT;

CREATE INDEX users_school ON users (school_id);

CREATE TABLE sessions (
	token_hash   BLOB PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins per username key (known or not, so that the answer does not reveal which usernames exist).
CREATE TABLE login_failures (
	username_mac BLOB PRIMARY KEY,
	failures     INTEGER NOT NULL,
	first_at     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0
) STRICT;

-- School data: one row per record, its fields sealed in packet. scope_id is the course a record belongs to (the
-- school for school-wide records), parent_id its direct parent; clocks holds the per-field HLC stamps that sync
-- merges by; seq is the school's sequence number of the record's latest change.
CREATE TABLE records (
	id        TEXT PRIMARY KEY,
	school_id TEXT NOT NULL REFERENCES schools (id),
	kind      TEXT NOT NULL,
	scope_id  TEXT NOT NULL,
	parent_id TEXT NOT NULL,
	seq       INTEGER NOT NULL,
	clocks    TEXT NOT NULL,
	deleted   INTEGER NOT NULL DEFAULT 0,
	packet    BLOB NOT NULL
) STRICT;

CREATE UNIQUE INDEX records_school_seq ON records (school_id, seq);
CREATE INDEX records_parent ON records (school_id, kind, parent_id);
CREATE INDEX records_scope ON records (school_id, scope_id, kind);
