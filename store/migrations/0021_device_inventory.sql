-- Inventory of desktop devices (DP1): what a device reports when it connects for sync — its app version and
-- operating system, never personal data — and when it last synced.
CREATE TABLE device_inventory (
	device_id   TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	app_version TEXT NOT NULL,
	os          TEXT NOT NULL,
	last_sync   INTEGER NOT NULL
) STRICT;
