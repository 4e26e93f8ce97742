-- Printed one-time recovery codes of admins (TD8), stored as keyed hashes.
CREATE TABLE recovery_codes (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_mac   BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, code_mac)
) STRICT;

-- Single-use login challenges of desktop devices (TD2): a signature over one can be used once, within minutes.
CREATE TABLE device_challenges (
	challenge_hash BLOB PRIMARY KEY,
	device_id      TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	expires_at     INTEGER NOT NULL
) STRICT;
