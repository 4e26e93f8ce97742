-- Mails waiting to be sent, or kept when no SMTP server is configured (the outbox). Recipient, subject and body
-- are sealed: under the school's key for a school's letters, under the server's for mails to parent accounts
-- (school_id ''). A sent mail is deleted.
CREATE TABLE mail_outbox (
	id         TEXT PRIMARY KEY,
	school_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	-- queued: to be sent at next_at; held: no SMTP configured, readable in the outbox; failed: given up
	state      TEXT NOT NULL CHECK (state IN ('queued', 'held', 'failed')),
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	packet     BLOB NOT NULL
) STRICT;

CREATE INDEX mail_outbox_due ON mail_outbox (state, next_at);
CREATE INDEX mail_outbox_school ON mail_outbox (school_id, created_at);
