-- The school whose letter a parent registered from (PA2): the school sees that registration, confirmed or not,
-- before any child is added. A parent account that registers on its own names no school.
CREATE TABLE parent_registrations (
	parent_id     TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE,
	school_id     TEXT NOT NULL REFERENCES schools (id),
	registered_at INTEGER NOT NULL,
	PRIMARY KEY (parent_id, school_id)
) STRICT;

CREATE INDEX parent_registrations_school ON parent_registrations (school_id, registered_at);
