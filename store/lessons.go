package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// LessonPatch changes a lesson; nil fields stay as they are.
type LessonPatch struct {
	Date       *string `json:"date"`
	StartTime  *string `json:"startTime"`
	EndTime    *string `json:"endTime"`
	Topic      *string `json:"topic"`
	Homework   *string `json:"homework"`
	Note       *string `json:"note"`
	ParentNote *string `json:"parentNote"`
}

func (l *Lesson) apply(p LessonPatch) {
	for _, f := range []struct {
		p *string
		v *string
	}{{p.Date, &l.Date}, {p.StartTime, &l.StartTime}, {p.EndTime, &l.EndTime}, {p.Topic, &l.Topic}, {p.Homework, &l.Homework}, {p.Note, &l.Note}, {p.ParentNote, &l.ParentNote}} {
		if f.p != nil {
			*f.v = *f.p
		}
	}
	l.trim()
}

func (l *Lesson) trim() {
	for _, v := range []*string{&l.Date, &l.StartTime, &l.EndTime, &l.Topic, &l.Homework, &l.Note, &l.ParentNote} {
		*v = strings.TrimSpace(*v)
	}
}

// lesson returns a lesson whose course the actor may reach.
func (db *DB) lesson(ctx context.Context, q querier, s sealer, a Actor, id string) (Lesson, *record, error) {
	r, err := db.getRecord(ctx, q, s, a.SchoolID, KindLesson, id)
	if err != nil {
		return Lesson{}, nil, err
	}
	l, err := decode[Lesson](r)
	if err != nil {
		return Lesson{}, nil, err
	}
	if _, err := db.course(ctx, q, s, a, l.CourseID); err != nil {
		return Lesson{}, nil, notFound(KindLesson)
	}
	return l, r, nil
}

// Lessons lists a course's lessons, newest first.
func (db *DB) Lessons(ctx context.Context, a Actor, courseID string) ([]Lesson, error) {
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	if _, err := db.course(ctx, db.read, s, a, courseID); err != nil {
		return nil, err
	}
	recs, err := db.listRecords(ctx, db.read, s, a.SchoolID, KindLesson, courseID)
	if err != nil {
		return nil, err
	}
	list, err := decodeAll[Lesson](recs)
	if err != nil {
		return nil, err
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Date != list[j].Date {
			return list[i].Date > list[j].Date
		}
		return list[i].StartTime > list[j].StartTime
	})
	return list, nil
}

// Lesson returns a lesson whose course the actor may reach.
func (db *DB) Lesson(ctx context.Context, a Actor, id string) (Lesson, error) {
	s, err := db.reader(ctx, a)
	if err != nil {
		return Lesson{}, err
	}
	l, _, err := db.lesson(ctx, db.read, s, a, id)
	return l, err
}

// CreateLesson adds a lesson to a course the actor may reach.
func (db *DB) CreateLesson(ctx context.Context, a Actor, courseID string, l Lesson) (Lesson, error) {
	l.ID, l.CourseID = NewID(), courseID
	l.trim()
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if _, err := db.course(ctx, tx, s, a, courseID); err != nil {
			return err
		}
		if err := l.validate(); err != nil {
			return err
		}
		return db.put(ctx, tx, s, a.SchoolID, KindLesson, l.ID, courseID, courseID, l)
	})
	if err != nil {
		return Lesson{}, err
	}
	return l, nil
}

// UpdateLesson changes a lesson whose course the actor may reach.
func (db *DB) UpdateLesson(ctx context.Context, a Actor, id string, p LessonPatch) (Lesson, error) {
	var l Lesson
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		var err error
		if l, _, err = db.lesson(ctx, tx, s, a, id); err != nil {
			return err
		}
		l.apply(p)
		if err := l.validate(); err != nil {
			return err
		}
		return db.put(ctx, tx, s, a.SchoolID, KindLesson, l.ID, l.CourseID, l.CourseID, l)
	})
	return l, err
}

// DeleteLesson deletes a lesson and its attendance marks.
func (db *DB) DeleteLesson(ctx context.Context, a Actor, id string) error {
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		_, r, err := db.lesson(ctx, tx, s, a, id)
		if err != nil {
			return err
		}
		if err := db.tombstoneChildren(ctx, tx, s, a.SchoolID, KindAttendance, id); err != nil {
			return err
		}
		return db.tombstone(ctx, tx, s, r)
	})
}

func attendanceID(lessonID, studentID string) string {
	return derivedID(KindAttendance, lessonID, studentID)
}

func markFrom(r *record) (AttendanceMark, error) {
	m, err := decode[AttendanceMark](r)
	if err != nil {
		return AttendanceMark{}, err
	}
	m.UpdatedAt = r.updatedAt()
	if c, ok := conflictsOf(r)["status"]; ok {
		var status AttendanceStatus
		if json.Unmarshal(c.Value, &status) == nil {
			at := time.Time{}
			if h, err := ParseHLC(c.At); err == nil {
				at = time.UnixMilli(h.Wall).UTC()
			}
			m.Conflict = &StatusConflict{Status: status, At: at}
		}
	}
	return m, nil
}

// Attendance lists the marks of a lesson whose course the actor may reach. Unmarked students have no entry.
func (db *DB) Attendance(ctx context.Context, a Actor, lessonID string) ([]AttendanceMark, error) {
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	if _, _, err := db.lesson(ctx, db.read, s, a, lessonID); err != nil {
		return nil, err
	}
	return db.marks(ctx, db.read, s, a.SchoolID, lessonID)
}

func (db *DB) marks(ctx context.Context, q querier, s sealer, schoolID, lessonID string) ([]AttendanceMark, error) {
	recs, err := db.listRecords(ctx, q, s, schoolID, KindAttendance, lessonID)
	if err != nil {
		return nil, err
	}
	out := make([]AttendanceMark, 0, len(recs))
	for _, r := range recs {
		m, err := markFrom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StudentID < out[j].StudentID })
	return out, nil
}

// MarkAttendance sets one enrolled student's attendance in a lesson. Setting the same mark again changes nothing.
func (db *DB) MarkAttendance(ctx context.Context, a Actor, lessonID, studentID string, m AttendanceMark) (AttendanceMark, error) {
	m.LessonID, m.StudentID = lessonID, studentID
	m.Comment = strings.TrimSpace(m.Comment)
	if err := m.validate(); err != nil {
		return AttendanceMark{}, err
	}
	var out AttendanceMark
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		l, _, err := db.lesson(ctx, tx, s, a, lessonID)
		if err != nil {
			return err
		}
		if !ValidID(studentID) {
			return notFound(KindStudent)
		}
		if _, err := db.getRecord(ctx, tx, s, a.SchoolID, KindEnrollment, enrollmentID(l.CourseID, studentID)); err != nil {
			if ErrorCode(err) == CodeNotFound {
				return &Error{Code: CodeInvalid, Message: "student is not enrolled in the course", Fields: map[string]string{"studentId": FieldNotEnrolled}}
			}
			return err
		}
		r, err := db.putMark(ctx, tx, s, a.SchoolID, l.CourseID, m)
		if err != nil {
			return err
		}
		out, err = markFrom(r)
		return err
	})
	return out, err
}

func (db *DB) putMark(ctx context.Context, tx *sql.Tx, s sealer, schoolID, courseID string, m AttendanceMark) (*record, error) {
	fields, err := toFields(m)
	if err != nil {
		return nil, err
	}
	delete(fields, "updatedAt") // derived from the clocks, not stored
	delete(fields, "conflict")  // kept by the merge under conflictsField
	r := &record{ID: attendanceID(m.LessonID, m.StudentID), SchoolID: schoolID, Kind: KindAttendance, ScopeID: courseID, ParentID: m.LessonID, Fields: fields}
	if err := db.putRecord(ctx, tx, s, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ClearAttendance removes a student's mark from a lesson, so the student is unmarked again.
func (db *DB) ClearAttendance(ctx context.Context, a Actor, lessonID, studentID string) error {
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if _, _, err := db.lesson(ctx, tx, s, a, lessonID); err != nil {
			return err
		}
		if !ValidID(studentID) {
			return notFound(KindStudent)
		}
		return db.tombstoneID(ctx, tx, s, a.SchoolID, attendanceID(lessonID, studentID))
	})
}

// MarkAllPresent marks every enrolled student without a mark as present, leaving existing marks alone, and
// returns all marks of the lesson.
func (db *DB) MarkAllPresent(ctx context.Context, a Actor, lessonID string) ([]AttendanceMark, error) {
	var out []AttendanceMark
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		l, _, err := db.lesson(ctx, tx, s, a, lessonID)
		if err != nil {
			return err
		}
		students, err := db.courseStudents(ctx, tx, s, a, l.CourseID)
		if err != nil {
			return err
		}
		existing, err := db.marks(ctx, tx, s, a.SchoolID, lessonID)
		if err != nil {
			return err
		}
		marked := map[string]bool{}
		for _, m := range existing {
			marked[m.StudentID] = true
		}
		for _, st := range students {
			if marked[st.ID] {
				continue
			}
			if _, err := db.putMark(ctx, tx, s, a.SchoolID, l.CourseID, AttendanceMark{LessonID: lessonID, StudentID: st.ID, Status: Present}); err != nil {
				return err
			}
		}
		out, err = db.marks(ctx, tx, s, a.SchoolID, lessonID)
		return err
	})
	return out, err
}
