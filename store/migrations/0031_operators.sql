-- Server operators (DP2, first part): staff accounts that also run this server. They read the mails to parent
-- accounts that wait in the outbox while no SMTP server is configured (confirmation and reset links belong to no
-- school, so no school's admin may read them). Being an operator adds no access to any school's data. The first
-- admin, created through the setup link printed on the server's console, is one; the command line grants and
-- revokes it.
CREATE TABLE operators (
	user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	granted_at INTEGER NOT NULL
) STRICT;
