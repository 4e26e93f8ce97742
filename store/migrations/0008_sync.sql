-- Sync (docs/sync-protocol.md). A replica (the desktop app's local store) has one row in replica per school it
-- copies, with its cursor: the server's sequence number up to which it holds every change. Its outbox names the
-- records changed here that the server has not acknowledged yet, with the local sequence number of the latest
-- local change; an acknowledgement removes the row only if no newer local change came since.
CREATE TABLE replica (
	school_id TEXT PRIMARY KEY REFERENCES schools (id),
	cursor    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE outbox (
	record_id TEXT PRIMARY KEY,
	school_id TEXT NOT NULL REFERENCES schools (id),
	seq       INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_school_seq ON outbox (school_id, seq);
