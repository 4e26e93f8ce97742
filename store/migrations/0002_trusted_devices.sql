-- Trusted devices (TD1–TD9): device credentials, per-user trust, learning mode, IP ranges and the audit log.

-- A device credential. Browser: a random secret in an HttpOnly cookie; desktop: the hash of its hardware token and
-- its Ed25519 public key. Only hashes and public keys are stored.
CREATE TABLE devices (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('browser', 'desktop')),
	secret_hash BLOB NOT NULL,
	public_key  BLOB,
	created_at  INTEGER NOT NULL
) STRICT;

-- Trust is always per user and device: a shared PC trusted by one teacher is nothing for another.
CREATE TABLE user_devices (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	school_id  TEXT NOT NULL REFERENCES schools (id),
	state      TEXT NOT NULL CHECK (state IN ('trusted', 'pending', 'rejected', 'blocked')),
	-- picked by the server after the device committed to its credential; with it the security code is derived
	nonce      BLOB NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	decided_at INTEGER NOT NULL DEFAULT 0,
	-- sealed: name, platform, OS user, first and last IP address
	packet     BLOB NOT NULL,
	PRIMARY KEY (user_id, device_id)
) STRICT;

CREATE INDEX user_devices_school ON user_devices (school_id, state);

-- Learning mode: while it lasts, every device the user logs in from becomes trusted. devices_left NULL means any
-- number (a new user's first 30 days).
CREATE TABLE learning_modes (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	until        INTEGER NOT NULL,
	devices_left INTEGER
) STRICT;

-- Why the user's last login failed ('' after a success): the admin's status column.
ALTER TABLE users ADD COLUMN last_failure TEXT NOT NULL DEFAULT '';

-- The device a session was opened from: removing or blocking the device ends its sessions.
ALTER TABLE sessions ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
