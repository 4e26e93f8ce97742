package store

import (
	"context"
	"database/sql"
	"sort"
	"strings"
)

// StudentPatch changes a student; nil fields stay as they are.
type StudentPatch struct {
	FirstName     *string `json:"firstName"`
	LastName      *string `json:"lastName"`
	BirthDate     *string `json:"birthDate"`
	Class         *string `json:"class"`
	GuardianEmail *string `json:"guardianEmail"`
}

func (s *Student) trim() {
	s.FirstName = strings.TrimSpace(s.FirstName)
	s.LastName = strings.TrimSpace(s.LastName)
	s.BirthDate = strings.TrimSpace(s.BirthDate)
	s.Class = strings.TrimSpace(s.Class)
	s.GuardianEmail = strings.TrimSpace(s.GuardianEmail)
}

func sortStudents(list []Student) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].LastName != list[j].LastName {
			return collateLess(list[i].LastName, list[j].LastName)
		}
		return collateLess(list[i].FirstName, list[j].FirstName)
	})
}

// Students lists the school's students by last and first name; admins only.
func (db *DB) Students(ctx context.Context, a Actor) ([]Student, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	recs, err := db.listRecords(ctx, db.read, s, a.SchoolID, KindStudent, "")
	if err != nil {
		return nil, err
	}
	list, err := decodeAll[Student](recs)
	if err != nil {
		return nil, err
	}
	sortStudents(list)
	return list, nil
}

// CreateStudent adds a student; admins only.
func (db *DB) CreateStudent(ctx context.Context, a Actor, st Student) (Student, error) {
	if err := a.RequireAdmin(); err != nil {
		return Student{}, err
	}
	st.ID = NewID()
	st.trim()
	if err := st.validate(); err != nil {
		return Student{}, err
	}
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		return db.put(ctx, tx, s, a.SchoolID, KindStudent, st.ID, a.SchoolID, "", st)
	})
	if err != nil {
		return Student{}, err
	}
	return st, nil
}

// UpdateStudent changes a student; admins only.
func (db *DB) UpdateStudent(ctx context.Context, a Actor, id string, p StudentPatch) (Student, error) {
	if err := a.RequireAdmin(); err != nil {
		return Student{}, err
	}
	var st Student
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		r, err := db.getRecord(ctx, tx, s, a.SchoolID, KindStudent, id)
		if err != nil {
			return err
		}
		if st, err = decode[Student](r); err != nil {
			return err
		}
		for _, f := range []struct {
			p *string
			v *string
		}{{p.FirstName, &st.FirstName}, {p.LastName, &st.LastName}, {p.BirthDate, &st.BirthDate}, {p.Class, &st.Class}, {p.GuardianEmail, &st.GuardianEmail}} {
			if f.p != nil {
				*f.v = *f.p
			}
		}
		st.trim()
		if err := st.validate(); err != nil {
			return err
		}
		return db.put(ctx, tx, s, a.SchoolID, KindStudent, st.ID, a.SchoolID, "", st)
	})
	return st, err
}

// DeleteStudent deletes a student with their enrolments and attendance marks; admins only. Their personal data
// is erased from the record, not just hidden.
func (db *DB) DeleteStudent(ctx context.Context, a Actor, id string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		r, err := db.getRecord(ctx, tx, s, a.SchoolID, KindStudent, id)
		if err != nil {
			return err
		}
		courses, err := liveIDs(ctx, tx, a.SchoolID, KindCourse)
		if err != nil {
			return err
		}
		for _, c := range courses {
			if err := db.tombstoneID(ctx, tx, s, a.SchoolID, enrollmentID(c, id)); err != nil {
				return err
			}
		}
		lessons, err := liveIDs(ctx, tx, a.SchoolID, KindLesson)
		if err != nil {
			return err
		}
		for _, l := range lessons {
			if err := db.tombstoneID(ctx, tx, s, a.SchoolID, attendanceID(l, id)); err != nil {
				return err
			}
		}
		return db.tombstone(ctx, tx, s, r)
	})
}

func enrollmentID(courseID, studentID string) string {
	return derivedID(KindEnrollment, courseID, studentID)
}

// CourseStudents lists the students enrolled in a course the actor may reach.
func (db *DB) CourseStudents(ctx context.Context, a Actor, courseID string) ([]Student, error) {
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	return db.courseStudents(ctx, db.read, s, a, courseID)
}

func (db *DB) courseStudents(ctx context.Context, q querier, s sealer, a Actor, courseID string) ([]Student, error) {
	if _, err := db.course(ctx, q, s, a, courseID); err != nil {
		return nil, err
	}
	recs, err := db.listRecords(ctx, q, s, a.SchoolID, KindEnrollment, courseID)
	if err != nil {
		return nil, err
	}
	enrollments, err := decodeAll[Enrollment](recs)
	if err != nil {
		return nil, err
	}
	list := make([]Student, 0, len(enrollments))
	for _, e := range enrollments {
		r, err := db.getRecord(ctx, q, s, a.SchoolID, KindStudent, e.StudentID)
		if ErrorCode(err) == CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		st, err := decode[Student](r)
		if err != nil {
			return nil, err
		}
		list = append(list, st)
	}
	sortStudents(list)
	return list, nil
}

// Enroll adds a student to a course; admins only. Enrolling twice changes nothing.
func (db *DB) Enroll(ctx context.Context, a Actor, courseID, studentID string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		return db.enroll(ctx, tx, s, a, courseID, studentID)
	})
}

func (db *DB) enroll(ctx context.Context, tx *sql.Tx, s sealer, a Actor, courseID, studentID string) error {
	if _, err := db.course(ctx, tx, s, a, courseID); err != nil {
		return err
	}
	st, err := db.getRecord(ctx, tx, s, a.SchoolID, KindStudent, studentID)
	if err != nil {
		return err
	}
	e := Enrollment{ID: enrollmentID(courseID, studentID), CourseID: courseID, StudentID: studentID}
	old, err := db.loadRecord(ctx, tx, s, a.SchoolID, e.ID)
	if err != nil && ErrorCode(err) != CodeNotFound {
		return err
	}
	if err := db.put(ctx, tx, s, a.SchoolID, KindEnrollment, e.ID, courseID, courseID, e); err != nil {
		return err
	}
	if old == nil || old.Deleted {
		return db.touch(ctx, tx, s, a.SchoolID, st) // the course's teacher receives the student from now on
	}
	return nil
}

// Unenroll removes a student from a course; admins only. The student's attendance marks stay with the lessons.
func (db *DB) Unenroll(ctx context.Context, a Actor, courseID, studentID string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if _, err := db.course(ctx, tx, s, a, courseID); err != nil {
			return err
		}
		if !ValidID(studentID) {
			return notFound(KindEnrollment)
		}
		r, err := db.getRecord(ctx, tx, s, a.SchoolID, KindEnrollment, enrollmentID(courseID, studentID))
		if err != nil {
			return err
		}
		return db.tombstone(ctx, tx, s, r)
	})
}

// ImportStudents adds students in one transaction, enrolling them in a course when courseID is set: all or
// nothing. Admins only.
func (db *DB) ImportStudents(ctx context.Context, a Actor, students []Student, courseID string) (enrolled int, err error) {
	if err := a.RequireAdmin(); err != nil {
		return 0, err
	}
	for i := range students {
		students[i].ID = NewID()
		students[i].trim()
		if err := students[i].validate(); err != nil {
			return 0, err
		}
	}
	err = db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if courseID != "" {
			if _, err := db.course(ctx, tx, s, a, courseID); err != nil {
				return err
			}
		}
		for _, st := range students {
			if err := db.put(ctx, tx, s, a.SchoolID, KindStudent, st.ID, a.SchoolID, "", st); err != nil {
				return err
			}
			if courseID != "" {
				if err := db.enroll(ctx, tx, s, a, courseID, st.ID); err != nil {
					return err
				}
				enrolled++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return enrolled, nil
}
