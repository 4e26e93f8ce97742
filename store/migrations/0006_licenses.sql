-- Licenses of a school (LE1–LE3) and the wipe receipts of desktop devices (LE4).

-- A license enrolls one desktop device. It is held by nobody, a teacher of the school, or a location (a shared
-- terminal such as "Zimmer 12"). The code is found by its keyed hash; the code itself, a location's name and what
-- a location's device told about itself are sealed in the packet, bound to the clear columns.
CREATE TABLE licenses (
	id           TEXT PRIMARY KEY,
	school_id    TEXT NOT NULL REFERENCES schools (id),
	code_mac     BLOB NOT NULL UNIQUE,
	holder       TEXT NOT NULL CHECK (holder IN ('none', 'teacher', 'location')),
	user_id      TEXT REFERENCES users (id),
	assigned_at  INTEGER NOT NULL DEFAULT 0,
	-- the device the license enrolled; its trust is the teacher's (user_devices), or, for a location, kept here
	device_id    TEXT REFERENCES devices (id) ON DELETE SET NULL,
	device_state TEXT NOT NULL DEFAULT '' CHECK (device_state IN ('', 'trusted', 'pending', 'rejected', 'blocked')),
	-- picked by the server after the location's device committed to its key; with it the security code is derived
	nonce        BLOB NOT NULL DEFAULT x'',
	first_seen   INTEGER NOT NULL DEFAULT 0,
	decided_at   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	packet       BLOB NOT NULL
) STRICT;

CREATE INDEX licenses_school ON licenses (school_id, created_at);
CREATE INDEX licenses_device ON licenses (device_id);

-- A remote wipe of a desktop device: requested when an admin blocks it, done when the device sent its signed
-- receipt.
CREATE TABLE device_wipes (
	device_id    TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	requested_at INTEGER NOT NULL DEFAULT 0,
	done_at      INTEGER NOT NULL DEFAULT 0
) STRICT;
