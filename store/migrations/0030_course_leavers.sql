-- Sync: a teacher who lost a course (the admin gave it to another teacher, or deleted it) keeps receiving the
-- course's own record, so that their replicas learn it is no longer theirs; nothing else of the course reaches
-- them any more.
CREATE TABLE course_leavers (
	school_id TEXT NOT NULL REFERENCES schools (id),
	course_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	PRIMARY KEY (course_id, user_id)
) STRICT;
