package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// CoursePatch changes a course; nil fields stay as they are.
type CoursePatch struct {
	Name      *string `json:"name"`
	Subject   *string `json:"subject"`
	TeacherID *string `json:"teacherId"`
}

// course returns a course the actor may reach: any of the school's for an admin, only their own for a teacher.
// A course the actor may not reach is "not found", so its existence is not revealed.
// A write transaction decodes each course once: a push checks the course of each of its changes.
func (db *DB) course(ctx context.Context, q querier, s sealer, a Actor, id string) (Course, error) {
	tx, _ := q.(*sql.Tx)
	c, ok := db.txs.course(tx, a.SchoolID, id)
	if !ok {
		r, err := db.viewLiveRecord(ctx, q, s, a.SchoolID, KindCourse, id)
		if err != nil {
			return Course{}, err
		}
		if c, err = decode[Course](r); err != nil {
			return Course{}, err
		}
		db.txs.keepCourse(tx, a.SchoolID, id, c)
	}
	if !a.IsAdmin() && c.TeacherID != a.UserID {
		return Course{}, notFound(KindCourse)
	}
	return c, nil
}

func enrollmentCounts(ctx context.Context, q querier, schoolID string) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT parent_id, COUNT(*) FROM records WHERE school_id = ? AND kind = ? AND deleted = 0 GROUP BY parent_id`, schoolID, KindEnrollment)
	if err != nil {
		return nil, fmt.Errorf("count enrollments: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count enrollments: %w", err)
		}
		counts[id] = n
	}
	return counts, rows.Err()
}

func (db *DB) summarize(ctx context.Context, q querier, schoolID string, courses []Course) ([]CourseSummary, error) {
	users, err := db.schoolUsers(ctx, q, schoolID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.DisplayName
	}
	counts, err := enrollmentCounts(ctx, q, schoolID)
	if err != nil {
		return nil, err
	}
	out := make([]CourseSummary, len(courses))
	for i, c := range courses {
		out[i] = CourseSummary{Course: c, TeacherName: names[c.TeacherID], StudentCount: counts[c.ID]}
	}
	sort.Slice(out, func(i, j int) bool { return collateLess(out[i].Name, out[j].Name) })
	return out, nil
}

// Courses lists the courses the actor may reach, by name.
func (db *DB) Courses(ctx context.Context, a Actor) ([]CourseSummary, error) {
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	recs, err := db.listRecords(ctx, db.read, s, a.SchoolID, KindCourse, "")
	if err != nil {
		return nil, err
	}
	all, err := decodeAll[Course](recs)
	if err != nil {
		return nil, err
	}
	var mine []Course
	for _, c := range all {
		if a.IsAdmin() || c.TeacherID == a.UserID {
			mine = append(mine, c)
		}
	}
	return db.summarize(ctx, db.read, a.SchoolID, mine)
}

// Course returns one course the actor may reach.
func (db *DB) Course(ctx context.Context, a Actor, id string) (CourseSummary, error) {
	s, err := db.reader(ctx, a)
	if err != nil {
		return CourseSummary{}, err
	}
	c, err := db.course(ctx, db.read, s, a, id)
	if err != nil {
		return CourseSummary{}, err
	}
	out, err := db.summarize(ctx, db.read, a.SchoolID, []Course{c})
	if err != nil {
		return CourseSummary{}, err
	}
	return out[0], nil
}

// CourseByName finds a course of the actor's school by name, ignoring case.
func (db *DB) CourseByName(ctx context.Context, a Actor, name string) (CourseSummary, error) {
	all, err := db.Courses(ctx, a)
	if err != nil {
		return CourseSummary{}, err
	}
	for _, c := range all {
		if strings.EqualFold(strings.TrimSpace(c.Name), strings.TrimSpace(name)) {
			return c, nil
		}
	}
	return CourseSummary{}, notFound(KindCourse)
}

func (db *DB) checkTeacher(ctx context.Context, q querier, schoolID string, c *Course) error {
	if c.TeacherID == "" {
		return nil // validate reports it
	}
	if _, err := db.schoolUser(ctx, q, schoolID, c.TeacherID); err != nil {
		if ErrorCode(err) == CodeNotFound {
			return &Error{Code: CodeInvalid, Message: "unknown teacher", Fields: map[string]string{"teacherId": FieldUnknownValue}}
		}
		return err
	}
	return nil
}

// CreateCourse creates a course; admins only.
func (db *DB) CreateCourse(ctx context.Context, a Actor, c Course) (CourseSummary, error) {
	if err := a.RequireAdmin(); err != nil {
		return CourseSummary{}, err
	}
	c.ID = NewID()
	c.Name, c.Subject = strings.TrimSpace(c.Name), strings.TrimSpace(c.Subject)
	if err := c.validate(); err != nil {
		return CourseSummary{}, err
	}
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if err := db.checkTeacher(ctx, tx, a.SchoolID, &c); err != nil {
			return err
		}
		return db.put(ctx, tx, s, a.SchoolID, KindCourse, c.ID, c.ID, "", c)
	})
	if err != nil {
		return CourseSummary{}, err
	}
	return db.Course(ctx, a, c.ID)
}

// UpdateCourse changes a course; admins only.
func (db *DB) UpdateCourse(ctx context.Context, a Actor, id string, p CoursePatch) (CourseSummary, error) {
	if err := a.RequireAdmin(); err != nil {
		return CourseSummary{}, err
	}
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		c, err := db.course(ctx, tx, s, a, id)
		if err != nil {
			return err
		}
		teacher := c.TeacherID
		if p.Name != nil {
			c.Name = strings.TrimSpace(*p.Name)
		}
		if p.Subject != nil {
			c.Subject = strings.TrimSpace(*p.Subject)
		}
		if p.TeacherID != nil {
			c.TeacherID = *p.TeacherID
		}
		if err := c.validate(); err != nil {
			return err
		}
		if err := db.checkTeacher(ctx, tx, a.SchoolID, &c); err != nil {
			return err
		}
		if err := db.put(ctx, tx, s, a.SchoolID, KindCourse, c.ID, c.ID, "", c); err != nil {
			return err
		}
		if p.TeacherID != nil && *p.TeacherID != teacher {
			if err := db.noteLeaver(ctx, tx, a.SchoolID, c.ID, teacher); err != nil {
				return err
			}
			return db.touchCourse(ctx, tx, s, a.SchoolID, c.ID) // the new teacher receives the course's records
		}
		return nil
	})
	if err != nil {
		return CourseSummary{}, err
	}
	return db.Course(ctx, a, id)
}

// DeleteCourse deletes a course with its lessons, enrolments and attendance; admins only.
func (db *DB) DeleteCourse(ctx context.Context, a Actor, id string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		r, err := db.getRecord(ctx, tx, s, a.SchoolID, KindCourse, id)
		if err != nil {
			return err
		}
		c, err := decode[Course](r)
		if err != nil {
			return err
		}
		if err := db.noteLeaver(ctx, tx, a.SchoolID, id, c.TeacherID); err != nil {
			return err
		}
		lessons, err := db.listRecords(ctx, tx, s, a.SchoolID, KindLesson, id)
		if err != nil {
			return err
		}
		for _, l := range lessons {
			if err := db.tombstoneChildren(ctx, tx, s, a.SchoolID, KindAttendance, l.ID); err != nil {
				return err
			}
			if err := db.tombstone(ctx, tx, s, l); err != nil {
				return err
			}
		}
		if err := db.tombstoneChildren(ctx, tx, s, a.SchoolID, KindEnrollment, id); err != nil {
			return err
		}
		return db.tombstone(ctx, tx, s, r)
	})
}
