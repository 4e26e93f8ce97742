-- The audit log (TD7): every login decision and every change to accounts and devices. Who and what are ids and
-- codes; the IP address is personal data and sealed under the school's key (the server's, for attempts that name
-- no known user).
CREATE TABLE audit_log (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	school_id TEXT NOT NULL,
	at        INTEGER NOT NULL,
	actor_id  TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	device_id TEXT NOT NULL,
	action    TEXT NOT NULL,
	outcome   TEXT NOT NULL CHECK (outcome IN ('allowed', 'refused', 'done')),
	reason    TEXT NOT NULL,
	packet    BLOB NOT NULL
) STRICT;

CREATE INDEX audit_log_school ON audit_log (school_id, at);
