package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"pult/store"
)

// pullAll brings a replica up to date with everything the actor may receive from the server.
func pullAll(tb testing.TB, f *fixture, r *store.DB, a store.Actor) {
	tb.Helper()
	ctx := context.Background()
	cursor, err := r.Cursor(ctx, f.school.ID)
	if err != nil {
		tb.Fatal(err)
	}
	changes := allChanges(tb, f.db, a, cursor)
	if len(changes) == 0 {
		return
	}
	if err := r.ApplyPulled(ctx, f.school.ID, changes, changes[len(changes)-1].Seq); err != nil {
		tb.Fatal(err)
	}
}

func outbox(tb testing.TB, f *fixture, r *store.DB) []store.Change {
	tb.Helper()
	out, err := r.Outbox(context.Background(), f.school.ID, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestOutboxPushAcknowledge: what a teacher changes on a replica waits in its outbox, reaches the server with a
// push, and leaves the outbox when acknowledged; what the replica pulled never goes back; a batch pushed twice
// changes nothing the second time.
func TestOutboxPushAcknowledge(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	r := mustReplica(t, f)
	pullAll(t, f, r, f.t1)
	if got := outbox(t, f, r); len(got) != 0 {
		t.Fatalf("pulled records are in the outbox: %v", got)
	}
	if c, _ := r.Cursor(ctx, f.school.ID); c == 0 {
		t.Fatal("the cursor did not move")
	}

	l, err := r.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-30", Topic: "Offline geplant"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.MarkAttendance(ctx, f.t1, l.ID, f.students[0].ID, store.AttendanceMark{Status: store.Late, LateMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	batch := outbox(t, f, r)
	if n, _ := r.Pending(ctx, f.school.ID); len(batch) != 2 || n != 2 {
		t.Fatalf("outbox after two local changes: %d changes, %d pending", len(batch), n)
	}
	results, err := f.db.Ingest(ctx, f.t1, batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Error != nil {
			t.Fatalf("refused: %+v", res.Error)
		}
	}
	if got, err := f.db.Lesson(ctx, f.t1, l.ID); err != nil || got.Topic != "Offline geplant" {
		t.Fatalf("the server's lesson: %+v %v", got, err)
	}
	marks, _ := f.db.Attendance(ctx, f.t1, l.ID)
	if len(marks) != 1 || marks[0].Status != store.Late || marks[0].LateMinutes != 5 {
		t.Fatalf("the server's marks: %+v", marks)
	}
	before := allChanges(t, f.db, f.admin, 0)
	if _, err := f.db.Ingest(ctx, f.t1, batch); err != nil {
		t.Fatal(err)
	}
	if after := allChanges(t, f.db, f.admin, 0); len(after) != len(before) || after[len(after)-1].Seq != before[len(before)-1].Seq {
		t.Errorf("the batch pushed again changed the server: %d → %d changes", len(before), len(after))
	}

	// A local edit after the push stays in the outbox when the push's acknowledgement comes.
	if _, err := r.UpdateLesson(ctx, f.t1, l.ID, store.LessonPatch{Topic: ptr("Doch anders")}); err != nil {
		t.Fatal(err)
	}
	if err := r.Acknowledge(ctx, f.school.ID, results); err != nil {
		t.Fatal(err)
	}
	left := outbox(t, f, r)
	if len(left) != 1 || left[0].ID != l.ID {
		t.Fatalf("outbox after the acknowledgement: %v", left)
	}
	res, err := f.db.Ingest(ctx, f.t1, left)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Acknowledge(ctx, f.school.ID, res); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, f, r); len(got) != 0 {
		t.Errorf("outbox after the second acknowledgement: %v", got)
	}
	if got, _ := f.db.Lesson(ctx, f.t1, l.ID); got.Topic != "Doch anders" {
		t.Errorf("the server's topic: %q", got.Topic)
	}
}

func ptr[T any](v T) *T { return &v }

// TestIngestRefusesPerRecord: a teacher's push outside their rights, or with invalid data, is refused record by
// record with a reason, and the rest of the batch applies; the answer carries the server's version where the
// teacher may see it, and nothing of what they may not.
func TestIngestRefusesPerRecord(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	other, err := f.db.CreateLesson(ctx, f.t2, f.course2.ID, store.Lesson{Date: "2026-11-02", Topic: "Fremder Unterricht"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03", Topic: "Eigener Unterricht"})
	if err != nil {
		t.Fatal(err)
	}
	server := map[string]store.Change{}
	for _, c := range allChanges(t, f.db, f.admin, 0) {
		server[c.ID] = c
	}
	stamp := "0190000000ff-000000-evil"
	lesson := func(id, course, date, topic string) store.Change {
		fields := map[string]json.RawMessage{}
		for k, v := range map[string]string{"id": id, "courseId": course, "date": date, "topic": topic, "startTime": "", "endTime": "", "homework": "", "note": ""} {
			fields[k], _ = json.Marshal(v)
		}
		clocks := map[string]string{}
		for k := range fields {
			clocks[k] = "ffffffffffff-000000-evil"
		}
		return store.Change{ID: id, Kind: store.KindLesson, ScopeID: course, ParentID: course, Seq: 7, Clocks: clocks, Fields: fields}
	}
	renamed := server[f.course1.ID]
	renamed.Fields = map[string]json.RawMessage{"id": renamed.Fields["id"], "name": json.RawMessage(`"Umbenannt"`), "subject": renamed.Fields["subject"], "teacherId": renamed.Fields["teacherId"]}
	renamed.Clocks = map[string]string{"id": stamp, "name": "ffffffffffff-000000-evil", "subject": stamp, "teacherId": stamp}
	moved := lesson(mine.ID, f.course2.ID, "2026-11-03", "Verschoben")
	notEnrolled := store.Change{ID: "0190abcd-0000-7000-8000-000000000001", Kind: store.KindAttendance, ScopeID: f.course1.ID, ParentID: mine.ID,
		Clocks: map[string]string{"lessonId": stamp, "studentId": stamp, "status": stamp},
		Fields: map[string]json.RawMessage{"lessonId": json.RawMessage(`"` + mine.ID + `"`), "studentId": json.RawMessage(`"0190abcd-0000-7000-8000-000000000002"`), "status": json.RawMessage(`"present"`)}}
	good := lesson(store.NewID(), f.course1.ID, "2026-12-01", "Gültig")
	batch := []store.Change{
		lesson(other.ID, f.course2.ID, "2026-11-02", "Übernommen"), // another teacher's course
		renamed, // courses are the admin's
		lesson(store.NewID(), f.course1.ID, "2026-13-45", "Falsches Datum"),
		moved,
		notEnrolled,
		{ID: "not-an-id", Kind: store.KindLesson},
		good,
	}
	results, err := f.db.Ingest(ctx, f.t1, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		code    store.Code
		current bool
	}{{store.CodeNotFound, false}, {store.CodeForbidden, true}, {store.CodeInvalid, false}, {store.CodeConflict, true}, {store.CodeInvalid, false}, {store.CodeInvalid, false}, {"", false}}
	for i, res := range results {
		got := store.Code("")
		if res.Error != nil {
			got = res.Error.Code
		}
		if got != want[i].code || (res.Current != nil) != want[i].current || res.ID != batch[i].ID || res.Seq != batch[i].Seq {
			t.Errorf("change %d: %+v, want code %q, current %v", i, res, want[i].code, want[i].current)
		}
		if res.Current != nil && res.Current.ScopeID == f.course2.ID {
			t.Errorf("change %d: the answer shows another teacher's record", i)
		}
	}
	if results[2].Error.Fields["date"] == "" || results[4].Error.Fields["studentId"] != store.FieldNotEnrolled {
		t.Errorf("the reasons lack their fields: %+v / %+v", results[2].Error, results[4].Error)
	}
	if l, _ := f.db.Lesson(ctx, f.t2, other.ID); l.Topic != "Fremder Unterricht" {
		t.Errorf("another teacher's lesson became %q", l.Topic)
	}
	if c, _ := f.db.Course(ctx, f.admin, f.course1.ID); c.Name == "Umbenannt" {
		t.Error("a teacher renamed a course through a push")
	}
	if l, err := f.db.Lesson(ctx, f.t1, good.ID); err != nil || l.Topic != "Gültig" {
		t.Errorf("the valid change of the batch: %+v %v", l, err)
	}
}

// TestRefusedChangeReverts: a replica whose change the server refused takes the server's version of the record,
// or drops a record the server does not have, so it ends up like the server.
func TestRefusedChangeReverts(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	l, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03", Topic: "Auf dem Server"})
	if err != nil {
		t.Fatal(err)
	}
	r := mustReplica(t, f)
	pullAll(t, f, r, f.t1)
	if _, err := r.UpdateLesson(ctx, f.t1, l.ID, store.LessonPatch{Topic: ptr("Nur hier")}); err != nil {
		t.Fatal(err)
	}
	local, err := r.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-04", Topic: "Nie angekommen"})
	if err != nil {
		t.Fatal(err)
	}
	// Meanwhile the admin gives the course to another teacher: both pushes are refused.
	if _, err := f.db.UpdateCourse(ctx, f.admin, f.course1.ID, store.CoursePatch{TeacherID: ptr(f.t2.UserID)}); err != nil {
		t.Fatal(err)
	}
	results, err := f.db.Ingest(ctx, f.t1, outbox(t, f, r))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Error == nil || res.Current != nil {
			t.Fatalf("a push into a course that is no longer the teacher's: %+v", res)
		}
	}
	if err := r.Acknowledge(ctx, f.school.ID, results); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, f, r); len(got) != 0 {
		t.Errorf("refused changes stay in the outbox: %v", got)
	}
	for _, id := range []string{l.ID, local.ID} {
		if _, err := r.Lesson(ctx, f.t1, id); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("lesson %s is still on the replica: %v", id, err)
		}
	}

	// A refusal with the server's version puts that version back.
	back := store.PushResult{ID: l.ID, Seq: 1 << 40, Error: &store.PushError{Code: store.CodeForbidden}}
	for _, c := range allChanges(t, f.db, f.admin, 0) {
		if c.ID == l.ID {
			back.Current = &c
		}
	}
	admin, _ := mustReplicaOf(t, f, f.admin)
	pullAll(t, f, admin, f.admin)
	if _, err := admin.UpdateLesson(ctx, f.admin, l.ID, store.LessonPatch{Topic: ptr("Admin lokal")}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Acknowledge(ctx, f.school.ID, []store.PushResult{back}); err != nil {
		t.Fatal(err)
	}
	if got, err := admin.Lesson(ctx, f.admin, l.ID); err != nil || got.Topic != "Auf dem Server" {
		t.Errorf("after the refusal the replica's lesson is %+v %v, want the server's", got, err)
	}
}

// TestLateScopeArrives: a student enrolled in a teacher's course after the teacher's replica pulled, and the
// records of a course that goes to the teacher later, reach the replica with its next pull.
func TestLateScopeArrives(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	old, err := f.db.CreateStudent(ctx, f.admin, store.Student{FirstName: "Spät", LastName: "Eingeschrieben"})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := f.db.CreateLesson(ctx, f.t2, f.course2.ID, store.Lesson{Date: "2026-11-02", Topic: "Übergabe"})
	if err != nil {
		t.Fatal(err)
	}
	r := mustReplica(t, f)
	pullAll(t, f, r, f.t1)
	if err := f.db.Enroll(ctx, f.admin, f.course1.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.UpdateCourse(ctx, f.admin, f.course2.ID, store.CoursePatch{TeacherID: ptr(f.t1.UserID)}); err != nil {
		t.Fatal(err)
	}
	pullAll(t, f, r, f.t1)
	students, err := r.CourseStudents(ctx, f.t1, f.course1.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range students {
		found = found || st.ID == old.ID
	}
	if !found {
		t.Errorf("the student enrolled later is not on the replica: %v", students)
	}
	if l, err := r.Lesson(ctx, f.t1, l2.ID); err != nil || l.Topic != "Übergabe" {
		t.Errorf("the lesson of the course handed over: %+v %v", l, err)
	}
}

// push sends a replica's whole outbox to the server as the actor and applies the answers.
func push(tb testing.TB, f *fixture, r *store.DB, a store.Actor) {
	tb.Helper()
	ctx := context.Background()
	for {
		batch := outbox(tb, f, r)
		if len(batch) == 0 {
			return
		}
		res, err := f.db.Ingest(ctx, a, batch)
		if err != nil {
			tb.Fatal(err)
		}
		if err := r.Acknowledge(ctx, f.school.ID, res); err != nil {
			tb.Fatal(err)
		}
	}
}

func markOf(tb testing.TB, db *store.DB, a store.Actor, lessonID string) store.AttendanceMark {
	tb.Helper()
	marks, err := db.Attendance(context.Background(), a, lessonID)
	if err != nil || len(marks) != 1 {
		tb.Fatalf("marks: %v %v", marks, err)
	}
	return marks[0]
}

// TestAttendanceConflict: two devices that change the same student's attendance while apart both keep the
// later value, and the teacher sees the other one as a conflict until marking again; a change made after seeing
// the other is no conflict.
func TestAttendanceConflict(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	l, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03"})
	if err != nil {
		t.Fatal(err)
	}
	st := f.students[0].ID
	if _, err := f.db.MarkAttendance(ctx, f.t1, l.ID, st, store.AttendanceMark{Status: store.Present}); err != nil {
		t.Fatal(err)
	}
	laptop, tablet := mustReplica(t, f), mustReplica(t, f)
	pullAll(t, f, laptop, f.t1)
	pullAll(t, f, tablet, f.t1)
	if _, err := laptop.MarkAttendance(ctx, f.t1, l.ID, st, store.AttendanceMark{Status: store.Excused}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the tablet's change is the later one
	if _, err := tablet.MarkAttendance(ctx, f.t1, l.ID, st, store.AttendanceMark{Status: store.Unexcused}); err != nil {
		t.Fatal(err)
	}
	push(t, f, laptop, f.t1)
	if m := markOf(t, f.db, f.t1, l.ID); m.Status != store.Excused || m.Conflict != nil {
		t.Fatalf("after the first push: %+v", m)
	}
	push(t, f, tablet, f.t1)
	pullAll(t, f, laptop, f.t1)
	pullAll(t, f, tablet, f.t1)
	for name, db := range map[string]*store.DB{"server": f.db, "laptop": laptop, "tablet": tablet} {
		m := markOf(t, db, f.t1, l.ID)
		if m.Status != store.Unexcused || m.Conflict == nil || m.Conflict.Status != store.Excused || m.Conflict.At.IsZero() {
			t.Errorf("%s: %+v (conflict %+v), want unexcused with excused as the conflict", name, m, m.Conflict)
		}
	}

	// The teacher decides on the laptop: the conflict is resolved everywhere.
	if _, err := laptop.MarkAttendance(ctx, f.t1, l.ID, st, store.AttendanceMark{Status: store.Excused}); err != nil {
		t.Fatal(err)
	}
	push(t, f, laptop, f.t1)
	pullAll(t, f, tablet, f.t1)
	for name, db := range map[string]*store.DB{"server": f.db, "laptop": laptop, "tablet": tablet} {
		if m := markOf(t, db, f.t1, l.ID); m.Status != store.Excused || m.Conflict != nil {
			t.Errorf("%s after resolving: %+v", name, m)
		}
	}

	// The tablet, having seen that, changes again: no conflict.
	if _, err := tablet.MarkAttendance(ctx, f.t1, l.ID, st, store.AttendanceMark{Status: store.Late, LateMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	push(t, f, tablet, f.t1)
	if m := markOf(t, f.db, f.t1, l.ID); m.Status != store.Late || m.Conflict != nil {
		t.Errorf("a change after seeing the other: %+v", m)
	}
}

// TestBatchPushedAgain: a device that lost the answer to a push sends the batch again. It gets the same answers
// and moves nothing, even when the school changed around it meanwhile: the pupil left the course, or the
// course went to another teacher after the push.
func TestBatchPushedAgain(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	head := func() int64 {
		h, err := f.db.Head(ctx, f.school.ID)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	pushOK := func(a store.Actor, batch []store.Change) {
		t.Helper()
		results, err := f.db.Ingest(ctx, a, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, res := range results {
			if res.Error != nil {
				t.Errorf("%s %s answered %+v", batch[i].Kind, batch[i].ID, res.Error)
			}
		}
	}

	t.Run("PupilLeftTheCourse", func(t *testing.T) {
		r := mustReplica(t, f)
		pullAll(t, f, r, f.t1)
		l, err := r.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-30", Topic: "Vor dem Wechsel"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.MarkAttendance(ctx, f.t1, l.ID, f.students[0].ID, store.AttendanceMark{Status: store.Present}); err != nil {
			t.Fatal(err)
		}
		batch := outbox(t, f, r)
		pushOK(f.t1, batch)
		if err := f.db.Unenroll(ctx, f.admin, f.course1.ID, f.students[0].ID); err != nil {
			t.Fatal(err)
		}
		before := head()
		pushOK(f.t1, batch)
		if after := head(); after != before {
			t.Errorf("the batch pushed again moved the server from %d to %d", before, after)
		}
	})

	t.Run("CourseWentElsewhere", func(t *testing.T) {
		if _, err := f.db.CreateLesson(ctx, f.admin, f.course2.ID, store.Lesson{Date: "2026-11-30", Topic: "Geige"}); err != nil {
			t.Fatal(err)
		}
		r, _ := mustReplicaOf(t, f, f.admin)
		pullAll(t, f, r, f.admin)
		// On the admin's laptop course 2 goes to the admin; at the server, later, to T1: the laptop's change loses.
		if _, err := r.UpdateCourse(ctx, f.admin, f.course2.ID, store.CoursePatch{TeacherID: ptr(f.admin.UserID)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, err := f.db.UpdateCourse(ctx, f.admin, f.course2.ID, store.CoursePatch{TeacherID: ptr(f.t1.UserID)}); err != nil {
			t.Fatal(err)
		}
		before := head()
		pushOK(f.admin, outbox(t, f, r))
		if after := head(); after != before {
			t.Errorf("a teacher that lost to a newer one moved the server from %d to %d", before, after)
		}
		if got, err := f.db.Course(ctx, f.t1, f.course2.ID); err != nil || got.TeacherID != f.t1.UserID {
			t.Errorf("course 2 after the push that lost: %+v %v, want T1's", got.TeacherID, err)
		}
	})
}
