package store_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"pult/store"
)

// pruneWorld is the fixture plus teacher 1's courses "Gitarre" (two lessons with marks, the students only and
// shared) and "Cello" (a lesson with a mark of shared), and teacher 1's replica, up to date.
type pruneWorld struct {
	*fixture
	guitar, cello         string
	only, shared          store.Student
	lessons               []string // of guitar
	celloLesson           string
	replica               *store.DB
	raw                   *sql.DB // the replica's file, read past the store
	guitarRows, celloRows int     // rows of each course in the replica's file before anything was pruned
}

func newPruneWorld(t *testing.T) *pruneWorld {
	t.Helper()
	ctx := context.Background()
	w := &pruneWorld{fixture: mustFixture(t)}
	course := func(name string) string {
		c, err := w.db.CreateCourse(ctx, w.admin, store.Course{Name: name, TeacherID: w.t1.UserID})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	w.guitar, w.cello = course("Gitarre"), course("Cello")
	var err error
	if w.only, err = w.db.CreateStudent(ctx, w.admin, store.Student{FirstName: "Nur", LastName: "Gitarre"}); err != nil {
		t.Fatal(err)
	}
	if w.shared, err = w.db.CreateStudent(ctx, w.admin, store.Student{FirstName: "Geteilt", LastName: "Beide"}); err != nil {
		t.Fatal(err)
	}
	for _, e := range [][2]string{{w.guitar, w.only.ID}, {w.guitar, w.shared.ID}, {w.cello, w.shared.ID}} {
		if err := w.db.Enroll(ctx, w.admin, e[0], e[1]); err != nil {
			t.Fatal(err)
		}
	}
	lesson := func(course, date string) string {
		l, err := w.db.CreateLesson(ctx, w.t1, course, store.Lesson{Date: date, Topic: "Tonleitern"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.MarkAllPresent(ctx, w.t1, l.ID); err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	w.lessons = []string{lesson(w.guitar, "2026-11-02"), lesson(w.guitar, "2026-11-09")}
	w.celloLesson = lesson(w.cello, "2026-11-03")
	var path string
	w.replica, path = mustReplicaOf(t, w.fixture, w.t1)
	w.raw = rawDB(t, path)
	pullAll(t, w.fixture, w.replica, w.t1)
	// the course, 2 lessons, 4 marks, 2 enrollments; the course, a lesson, a mark, an enrollment
	if w.guitarRows, w.celloRows = w.scopeRows(t, w.guitar), w.scopeRows(t, w.cello); w.guitarRows != 9 || w.celloRows != 4 {
		t.Fatalf("the replica's file holds %d rows of Gitarre and %d of Cello, want 9 and 4", w.guitarRows, w.celloRows)
	}
	return w
}

// scopeRows counts the rows of a course in the replica's file: its record, lessons, marks and enrollments.
func (w *pruneWorld) scopeRows(t *testing.T, courseID string) int {
	t.Helper()
	return w.rowsWhere(t, "scope_id", courseID)
}

// inFile says whether the replica's file holds a row of the record.
func (w *pruneWorld) inFile(t *testing.T, id string) bool {
	t.Helper()
	return w.rowsWhere(t, "id", id) > 0
}

func (w *pruneWorld) rowsWhere(t *testing.T, column, value string) int {
	t.Helper()
	var n int
	if err := w.raw.QueryRow(`SELECT COUNT(*) FROM records WHERE `+column+` = ?`, value).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// replicaStudents lists the students the replica holds, read as an admin would: whatever is on the replica.
func (w *pruneWorld) replicaStudents(t *testing.T) []string {
	t.Helper()
	list, err := w.replica.Students(context.Background(), w.admin)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range list {
		ids = append(ids, st.ID)
	}
	return ids
}

// checkCelloKept fails unless teacher 1's other course is on the replica whole, with the shared student.
func (w *pruneWorld) checkCelloKept(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if n := w.scopeRows(t, w.cello); n != w.celloRows {
		t.Errorf("the replica's file holds %d rows of Cello, want all %d", n, w.celloRows)
	}
	students, err := w.replica.CourseStudents(ctx, w.t1, w.cello)
	if err != nil || len(students) != 1 || students[0].ID != w.shared.ID {
		t.Errorf("Cello's students on the replica: %+v %v, want the shared student", students, err)
	}
	if marks, err := w.replica.Attendance(ctx, w.t1, w.celloLesson); err != nil || len(marks) != 1 {
		t.Errorf("Cello's marks on the replica: %+v %v", marks, err)
	}
}

// checkNothingPushed fails if pruning wrote to the outbox: forgetting is no change to sync.
func (w *pruneWorld) checkNothingPushed(t *testing.T) {
	t.Helper()
	if got := outbox(t, w.fixture, w.replica); len(got) != 0 {
		t.Errorf("pruning put %d changes into the outbox: %+v", len(got), got)
	}
}

// TestPruneLostCourse: when teacher 1's course goes to another teacher, or is deleted, the pull that brings its
// record removes the course, its lessons, marks and enrollments, and the student who was only in it from the
// replica's file; teacher 1's other course and the student shared with it stay, nothing goes to the server, and
// an admin's replica keeps everything. A course that comes back arrives whole.
func TestPruneLostCourse(t *testing.T) {
	for name, lose := range map[string]func(*pruneWorld) error{
		"given to another teacher": func(w *pruneWorld) error {
			_, err := w.db.UpdateCourse(context.Background(), w.admin, w.guitar, store.CoursePatch{TeacherID: ptr(w.t2.UserID)})
			return err
		},
		"deleted": func(w *pruneWorld) error { return w.db.DeleteCourse(context.Background(), w.admin, w.guitar) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := newPruneWorld(t)
			admin, _ := mustReplicaOf(t, w.fixture, w.admin)
			pullAll(t, w.fixture, admin, w.admin)
			if err := lose(w); err != nil {
				t.Fatal(err)
			}
			pullAll(t, w.fixture, w.replica, w.t1)
			pullAll(t, w.fixture, admin, w.admin)

			if n := w.scopeRows(t, w.guitar); n != 0 {
				t.Errorf("the replica's file still holds %d rows of the lost course", n)
			}
			if w.inFile(t, w.only.ID) {
				t.Error("the replica's file still holds the student who was only in the lost course")
			}
			if _, err := w.replica.Course(ctx, w.admin, w.guitar); store.ErrorCode(err) != store.CodeNotFound {
				t.Errorf("the lost course read from the replica: %v", err)
			}
			for _, id := range w.lessons {
				if _, err := w.replica.Lesson(ctx, w.admin, id); store.ErrorCode(err) != store.CodeNotFound {
					t.Errorf("a lesson of the lost course read from the replica: %v", err)
				}
			}
			if got := w.replicaStudents(t); !slices.Contains(got, w.shared.ID) || slices.Contains(got, w.only.ID) {
				t.Errorf("the replica's students: %v, want the shared one and not %s", got, w.only.ID)
			}
			w.checkCelloKept(t)
			w.checkNothingPushed(t)
			if _, err := w.db.Lesson(ctx, w.admin, w.lessons[0]); name == "given to another teacher" && err != nil {
				t.Errorf("the server lost the lesson a replica forgot: %v", err)
			}
			if students, err := admin.Students(ctx, w.admin); err != nil || !slices.ContainsFunc(students, func(st store.Student) bool { return st.ID == w.only.ID }) {
				t.Errorf("the admin's replica lost a student: %v", err)
			}
			if _, err := admin.Lesson(ctx, w.admin, w.lessons[0]); name == "given to another teacher" && err != nil {
				t.Errorf("the admin's replica lost a lesson: %v", err)
			}
		})
	}

	t.Run("comes back", func(t *testing.T) {
		ctx := context.Background()
		w := newPruneWorld(t)
		for _, teacher := range []string{w.t2.UserID, w.t1.UserID} {
			if _, err := w.db.UpdateCourse(ctx, w.admin, w.guitar, store.CoursePatch{TeacherID: &teacher}); err != nil {
				t.Fatal(err)
			}
			pullAll(t, w.fixture, w.replica, w.t1)
		}
		if n := w.scopeRows(t, w.guitar); n != w.guitarRows {
			t.Errorf("the course came back with %d rows, want %d", n, w.guitarRows)
		}
		if marks, err := w.replica.Attendance(ctx, w.t1, w.lessons[1]); err != nil || len(marks) != 2 {
			t.Errorf("the marks of the course that came back: %+v %v", marks, err)
		}
		students, err := w.replica.CourseStudents(ctx, w.t1, w.guitar)
		if err != nil || len(students) != 2 {
			t.Errorf("the students of the course that came back: %+v %v", students, err)
		}
		w.checkNothingPushed(t)
	})
}

// TestPruneUnenrolledStudent: a student unenrolled from teacher 1's only course with them leaves the replica; a
// student unenrolled from one course but still in another of teacher 1's stays. Both students' marks stay with
// the lessons, as on the server. Enrolled again, the student comes back.
func TestPruneUnenrolledStudent(t *testing.T) {
	ctx := context.Background()
	w := newPruneWorld(t)
	for _, st := range []string{w.only.ID, w.shared.ID} {
		if err := w.db.Unenroll(ctx, w.admin, w.guitar, st); err != nil {
			t.Fatal(err)
		}
	}
	pullAll(t, w.fixture, w.replica, w.t1)
	if w.inFile(t, w.only.ID) {
		t.Error("the replica's file still holds the unenrolled student")
	}
	if !w.inFile(t, w.shared.ID) {
		t.Error("the replica forgot the student still enrolled in Cello")
	}
	if got := w.replicaStudents(t); slices.Contains(got, w.only.ID) || !slices.Contains(got, w.shared.ID) {
		t.Errorf("the replica's students: %v", got)
	}
	if n := w.scopeRows(t, w.guitar); n != w.guitarRows {
		t.Errorf("the course kept %d of its %d rows (its enrollments' tombstones and marks stay)", n, w.guitarRows)
	}
	if marks, err := w.replica.Attendance(ctx, w.t1, w.lessons[0]); err != nil || len(marks) != 2 {
		t.Errorf("the marks of the lesson: %+v %v", marks, err)
	}
	w.checkCelloKept(t)
	w.checkNothingPushed(t)

	if err := w.db.Enroll(ctx, w.admin, w.guitar, w.only.ID); err != nil {
		t.Fatal(err)
	}
	pullAll(t, w.fixture, w.replica, w.t1)
	if got := w.replicaStudents(t); !slices.Contains(got, w.only.ID) {
		t.Errorf("the student enrolled again is not back: %v", got)
	}
}

// TestPrunePendingEdit: lessons the teacher edited offline in a course that goes to another teacher stay on the
// replica, with their course's record, until the server answered their push: one pushed before the handover
// whose acknowledgement comes late, one pushed after it and refused. Each goes with its answer, the course's
// record with the last.
func TestPrunePendingEdit(t *testing.T) {
	ctx := context.Background()
	w := newPruneWorld(t)
	if _, err := w.replica.UpdateLesson(ctx, w.t1, w.lessons[0], store.LessonPatch{Topic: ptr("Vor der Übergabe")}); err != nil {
		t.Fatal(err)
	}
	early, err := w.db.Ingest(ctx, w.t1, outbox(t, w.fixture, w.replica))
	if err != nil || len(early) != 1 || early[0].Error != nil {
		t.Fatalf("the push before the handover: %+v %v", early, err)
	}
	if _, err := w.replica.UpdateLesson(ctx, w.t1, w.lessons[1], store.LessonPatch{Topic: ptr("Nach der Übergabe")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.UpdateCourse(ctx, w.admin, w.guitar, store.CoursePatch{TeacherID: ptr(w.t2.UserID)}); err != nil {
		t.Fatal(err)
	}
	pullAll(t, w.fixture, w.replica, w.t1)
	for _, id := range append([]string{w.guitar}, w.lessons...) {
		if !w.inFile(t, id) {
			t.Errorf("%s went before the server answered", id)
		}
	}
	if n := w.scopeRows(t, w.guitar); n != 3 {
		t.Errorf("the replica's file holds %d rows of the course, want its record and the two edited lessons", n)
	}
	if w.inFile(t, w.only.ID) {
		t.Error("the student of the lost course waits with the edited lessons")
	}

	if err := w.replica.Acknowledge(ctx, w.school.ID, early); err != nil {
		t.Fatal(err)
	}
	if w.inFile(t, w.lessons[0]) || !w.inFile(t, w.lessons[1]) || !w.inFile(t, w.guitar) {
		t.Errorf("after the late acknowledgement: lesson %v, other lesson %v, course %v; want only the other lesson and the course",
			w.inFile(t, w.lessons[0]), w.inFile(t, w.lessons[1]), w.inFile(t, w.guitar))
	}
	if l, err := w.db.Lesson(ctx, w.t2, w.lessons[0]); err != nil || l.Topic != "Vor der Übergabe" {
		t.Errorf("the server's lesson pushed before the handover: %+v %v", l, err)
	}

	late, err := w.db.Ingest(ctx, w.t1, outbox(t, w.fixture, w.replica))
	if err != nil || len(late) != 1 || late[0].Error == nil {
		t.Fatalf("the push after the handover: %+v %v", late, err)
	}
	if err := w.replica.Acknowledge(ctx, w.school.ID, late); err != nil {
		t.Fatal(err)
	}
	if n := w.scopeRows(t, w.guitar); n != 0 {
		t.Errorf("after the refusal the replica's file holds %d rows of the course", n)
	}
	w.checkCelloKept(t)
	w.checkNothingPushed(t)
}

// TestPruneWaitsForCatchUp: a catch-up sends each record at its latest change, so a course renamed after its
// lessons were written and its students enrolled arrives behind them, and other enrollments come between. A
// replica that pulls page by page must keep what belongs to the course it does not hold yet: its lessons,
// marks and enrollments, and a student enrolled in it, even one it holds an old enrollment of elsewhere.
func TestPruneWaitsForCatchUp(t *testing.T) {
	ctx := context.Background()
	w := newPruneWorld(t)
	late, err := w.db.CreateStudent(ctx, w.admin, store.Student{FirstName: "Spät", LastName: "Dabei"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { return w.db.Enroll(ctx, w.admin, w.course1.ID, late.ID) },
		func() error { return w.db.Unenroll(ctx, w.admin, w.course1.ID, late.ID) },
		func() error { return w.db.Enroll(ctx, w.admin, w.guitar, late.ID) },
		func() error { return w.db.Enroll(ctx, w.admin, w.course1.ID, w.only.ID) },
		func() error {
			_, err := w.db.UpdateCourse(ctx, w.admin, w.guitar, store.CoursePatch{Name: ptr("Gitarre (neu)")})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	fresh, path := mustReplicaOf(t, w.fixture, w.t1)
	pullByOne(t, w.fixture, fresh, w.t1)
	w.raw = rawDB(t, path)
	if n := w.scopeRows(t, w.guitar); n != w.guitarRows+1 {
		t.Errorf("after a catch-up page by page the replica holds %d rows of the course, want %d", n, w.guitarRows+1)
	}
	students, err := fresh.CourseStudents(ctx, w.t1, w.guitar)
	if err != nil || len(students) != 3 {
		t.Errorf("the course's students after the catch-up: %+v %v", students, err)
	}
}

// TestPruneWhenAdopted: a replica that holds more than its user sees — written by a version of the app that did
// not prune — forgets it when the desktop adopts its user again at the next unlock.
func TestPruneWhenAdopted(t *testing.T) {
	ctx := context.Background()
	w := newPruneWorld(t)
	if err := w.replica.ApplyChanges(ctx, w.school.ID, allChanges(t, w.db, w.admin, 0)); err != nil {
		t.Fatal(err)
	}
	if n := w.scopeRows(t, w.course2.ID); n == 0 {
		t.Fatal("the replica did not take the other teacher's course")
	}
	u, err := w.db.UserByID(ctx, w.t1.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.replica.AdoptUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if n := w.scopeRows(t, w.course2.ID); n != 0 {
		t.Errorf("the replica still holds %d rows of the other teacher's course", n)
	}
	w.checkCelloKept(t)
	w.checkNothingPushed(t)
}

// pullByOne brings a replica up to date with what the actor may receive, one change per batch.
func pullByOne(t *testing.T, f *fixture, r *store.DB, a store.Actor) {
	t.Helper()
	ctx := context.Background()
	cursor, err := r.Cursor(ctx, f.school.ID)
	if err != nil {
		t.Fatal(err)
	}
	for {
		page, err := f.db.ChangesAfter(ctx, a, cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		if page.Cursor == cursor {
			return
		}
		if err := r.ApplyPulled(ctx, f.school.ID, page.Changes, page.Cursor); err != nil {
			t.Fatal(err)
		}
		cursor = page.Cursor
	}
}

// TestPruneCourseBackWhilePending: a course goes to another teacher while teacher 1's replica holds an offline
// edit of it, and comes back before the replica pushed. The catch-up brings the course's records (touched when it
// came back) before the course's own newer record (renamed since): the replica, still holding the record that
// says the course is lost, must keep what arrives after it.
func TestPruneCourseBackWhilePending(t *testing.T) {
	ctx := context.Background()
	w := newPruneWorld(t)
	if _, err := w.replica.UpdateLesson(ctx, w.t1, w.lessons[0], store.LessonPatch{Topic: ptr("Offline")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.UpdateCourse(ctx, w.admin, w.guitar, store.CoursePatch{TeacherID: ptr(w.t2.UserID)}); err != nil {
		t.Fatal(err)
	}
	pullAll(t, w.fixture, w.replica, w.t1)
	if n := w.scopeRows(t, w.guitar); n != 2 {
		t.Fatalf("the replica holds %d rows of the lost course, want its record and the edited lesson", n)
	}
	for _, p := range []store.CoursePatch{{TeacherID: ptr(w.t1.UserID)}, {Name: ptr("Gitarre (zurück)")}} {
		if _, err := w.db.UpdateCourse(ctx, w.admin, w.guitar, p); err != nil {
			t.Fatal(err)
		}
	}
	pullByOne(t, w.fixture, w.replica, w.t1)
	if n := w.scopeRows(t, w.guitar); n != w.guitarRows {
		t.Errorf("the course came back with %d rows, want %d", n, w.guitarRows)
	}
	if !w.inFile(t, w.only.ID) {
		t.Error("the student of the course that came back is missing")
	}
	push(t, w.fixture, w.replica, w.t1)
	if l, err := w.db.Lesson(ctx, w.t1, w.lessons[0]); err != nil || l.Topic != "Offline" {
		t.Errorf("the offline edit on the server: %+v %v", l, err)
	}
}
