-- Parents and students (PA1–PA5). A parent account belongs to no school (one account holds children of several
-- schools), so its packet is sealed under the server's key; the e-mail address is found by its keyed hash.
CREATE TABLE parents (
	id           TEXT PRIMARY KEY,
	email_mac    BLOB NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	-- 0 until the link in the confirmation mail was opened (double opt-in); the account cannot log in before
	confirmed_at INTEGER NOT NULL DEFAULT 0,
	-- sealed: e-mail address, password hash, language
	packet       BLOB NOT NULL
) STRICT;

CREATE TABLE parent_sessions (
	token_hash   BLOB PRIMARY KEY,
	parent_id    TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
) STRICT;

CREATE INDEX parent_sessions_parent ON parent_sessions (parent_id);

-- The one-time links of mails: confirm a registration, reset a password. Only the token's hash is stored; a
-- confirmation carries the password hash of the registration it confirms (sealed), so a second registration of
-- the same address by someone else cannot set the password that the owner's link activates.
CREATE TABLE parent_tokens (
	token_hash BLOB PRIMARY KEY,
	parent_id  TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
	expires_at INTEGER NOT NULL,
	packet     BLOB NOT NULL
) STRICT;

CREATE INDEX parent_tokens_parent ON parent_tokens (parent_id, purpose);

-- Access codes (PA3): at most one live code per student. The code is found by its keyed hash and sealed in the
-- packet under the school's key, for the school's letters.
CREATE TABLE access_codes (
	id         TEXT PRIMARY KEY,
	school_id  TEXT NOT NULL REFERENCES schools (id),
	student_id TEXT NOT NULL,
	code_mac   BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0,
	packet     BLOB NOT NULL
) STRICT;

CREATE INDEX access_codes_student ON access_codes (school_id, student_id, revoked_at);

-- The children a parent account added with a code (PA4). Revoking the code ends the link.
CREATE TABLE parent_children (
	parent_id  TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE,
	school_id  TEXT NOT NULL REFERENCES schools (id),
	student_id TEXT NOT NULL,
	code_id    TEXT NOT NULL REFERENCES access_codes (id),
	linked_at  INTEGER NOT NULL,
	PRIMARY KEY (parent_id, student_id)
) STRICT;

CREATE INDEX parent_children_school ON parent_children (school_id, student_id);

-- Shared access (PA5): an account that added a child grants it to another e-mail address. It counts for the
-- account with that address, now or once it exists, as long as the row and the owner's own link last.
CREATE TABLE parent_shares (
	id          TEXT PRIMARY KEY,
	owner_id    TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE,
	student_id  TEXT NOT NULL,
	grantee_mac BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	-- sealed under the server's key: the grantee's e-mail address
	packet      BLOB NOT NULL,
	UNIQUE (owner_id, student_id, grantee_mac)
) STRICT;

CREATE INDEX parent_shares_grantee ON parent_shares (grantee_mac, student_id);

-- Letter templates of a school's correspondence (PA3): name, subject and body sealed under the school's key.
CREATE TABLE letter_templates (
	id         TEXT PRIMARY KEY,
	school_id  TEXT NOT NULL REFERENCES schools (id),
	created_at INTEGER NOT NULL,
	packet     BLOB NOT NULL
) STRICT;

CREATE INDEX letter_templates_school ON letter_templates (school_id, created_at);
