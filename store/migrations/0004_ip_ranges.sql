-- Allowed IP ranges (TD9), per school (user_id '') and per user. A school network's address ranges are not
-- personal data.
CREATE TABLE ip_ranges (
	school_id TEXT NOT NULL REFERENCES schools (id),
	user_id   TEXT NOT NULL,
	cidr      TEXT NOT NULL,
	PRIMARY KEY (school_id, user_id, cidr)
) STRICT;
