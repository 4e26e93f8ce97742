package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"pult/store"
)

// allChanges pages through everything the actor may receive after the cursor.
func allChanges(tb testing.TB, db *store.DB, a store.Actor, after int64) []store.Change {
	tb.Helper()
	var out []store.Change
	for {
		page, err := db.Changes(context.Background(), a, after, 2)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// mustReplica opens a second store, under a key of its own, that holds the fixture's school for teacher 1.
func mustReplica(tb testing.TB, f *fixture) *store.DB {
	tb.Helper()
	db, _ := mustReplicaOf(tb, f, f.t1)
	return db
}

// mustReplicaOf opens a replica of the fixture's school for a user (it keeps what they see) and returns its path.
func mustReplicaOf(tb testing.TB, f *fixture, a store.Actor) (*store.DB, string) {
	tb.Helper()
	ctx := context.Background()
	key, err := store.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "replica.db")
	db, err := store.Open(ctx, path, key)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.AdoptSchool(ctx, f.school); err != nil {
		tb.Fatal(err)
	}
	u, err := f.db.UserByID(ctx, a.UserID)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.AdoptUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	return db, path
}

func TestChangesScope(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	other, err := f.db.CreateStudent(ctx, f.admin, store.Student{FirstName: "Olga", LastName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.Enroll(ctx, f.admin, f.course2.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	l2, err := f.db.CreateLesson(ctx, f.t2, f.course2.ID, store.Lesson{Date: "2026-11-02", Topic: "Tonleitern"})
	if err != nil {
		t.Fatal(err)
	}
	l1, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03", Topic: "Etüden"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.MarkAllPresent(ctx, f.t1, l1.ID); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	var last int64
	for _, c := range allChanges(t, f.db, f.t1, 0) {
		if c.Seq <= last {
			t.Fatalf("changes not in sequence order: %d after %d", c.Seq, last)
		}
		last = c.Seq
		seen[c.ID] = true
	}
	for _, id := range []string{f.course1.ID, l1.ID, f.students[0].ID, f.students[2].ID} {
		if !seen[id] {
			t.Errorf("teacher 1 does not receive %s of their own course", id)
		}
	}
	for _, id := range []string{f.course2.ID, l2.ID, other.ID} {
		if seen[id] {
			t.Errorf("teacher 1 receives %s of another teacher's course", id)
		}
	}
	if got := len(allChanges(t, f.db, f.t1, last)); got != 0 {
		t.Errorf("after the last cursor: %d changes, want none", got)
	}
	admin := allChanges(t, f.db, f.admin, 0)
	if len(admin) <= len(seen) {
		t.Errorf("the admin receives %d records, teacher 1 %d: the admin should see the whole school", len(admin), len(seen))
	}
	otherSchool, err := f.db.CreateSchool(ctx, "Andere Schule")
	if err != nil {
		t.Fatal(err)
	}
	if got := allChanges(t, f.db, store.SchoolAdmin(otherSchool.ID), 0); len(got) != 0 {
		t.Errorf("another school's admin receives %d records of this school", len(got))
	}
}

func TestReplicaConverges(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	l, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03", Topic: "Etüden"})
	if err != nil {
		t.Fatal(err)
	}
	replica := mustReplica(t, f)
	if err := replica.ApplyChanges(ctx, f.school.ID, allChanges(t, f.db, f.t1, 0)); err != nil {
		t.Fatal(err)
	}
	courses, err := replica.Courses(ctx, f.t1)
	if err != nil {
		t.Fatal(err)
	}
	if len(courses) != 1 || courses[0].Name != "Klavier A" || courses[0].TeacherName != "Tara One" || courses[0].StudentCount != 3 {
		t.Fatalf("replica's courses = %+v, want Klavier A of Tara One with 3 students", courses)
	}
	if _, err := replica.Course(ctx, f.t1, f.course2.ID); store.ErrorCode(err) != store.CodeNotFound {
		t.Fatalf("replica holds another teacher's course: %v", err)
	}

	// Offline on both sides: the replica changes the topic, the server the homework, and both the note.
	topic, homework, note1, note2 := "Czerny", "Seite 4", "replica's note", "server's note"
	if _, err := replica.UpdateLesson(ctx, f.t1, l.ID, store.LessonPatch{Topic: &topic, Note: &note1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the server's note is the later edit
	if _, err := f.db.UpdateLesson(ctx, f.t1, l.ID, store.LessonPatch{Homework: &homework, Note: &note2}); err != nil {
		t.Fatal(err)
	}
	mark, err := replica.MarkAttendance(ctx, f.t1, l.ID, f.students[1].ID, store.AttendanceMark{Status: store.Late, LateMinutes: 7})
	if err != nil {
		t.Fatal(err)
	}

	fromReplica := allChanges(t, replica, f.t1, 0)
	fromServer := allChanges(t, f.db, f.t1, 0)
	if err := f.db.ApplyChanges(ctx, f.school.ID, fromReplica); err != nil {
		t.Fatal(err)
	}
	if err := replica.ApplyChanges(ctx, f.school.ID, fromServer); err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]*store.DB{"server": f.db, "replica": replica} {
		got, err := db.Lesson(ctx, f.t1, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Topic != topic || got.Homework != homework || got.Note != note2 {
			t.Errorf("%s: lesson = %q/%q/%q, want %q/%q/%q", name, got.Topic, got.Homework, got.Note, topic, homework, note2)
		}
		marks, err := db.Attendance(ctx, f.t1, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range marks {
			if m.StudentID == mark.StudentID && m.Status == store.Late && m.LateMinutes == 7 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: the replica's late mark is missing: %+v", name, marks)
		}
	}

	// Applying the same changes again writes nothing.
	before := allChanges(t, f.db, f.admin, 0)
	if err := f.db.ApplyChanges(ctx, f.school.ID, fromReplica); err != nil {
		t.Fatal(err)
	}
	if after := allChanges(t, f.db, f.admin, 0); after[len(after)-1].Seq != before[len(before)-1].Seq {
		t.Errorf("re-applying known changes moved the sequence from %d to %d", before[len(before)-1].Seq, after[len(after)-1].Seq)
	}

	// A later local edit wins over what arrived, even though it was made on the replica.
	topic2 := "Bach"
	if _, err := replica.UpdateLesson(ctx, f.t1, l.ID, store.LessonPatch{Topic: &topic2}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.ApplyChanges(ctx, f.school.ID, allChanges(t, replica, f.t1, 0)); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.Lesson(ctx, f.t1, l.ID); got.Topic != topic2 {
		t.Errorf("server's topic = %q after the replica's later edit, want %q", got.Topic, topic2)
	}
}

func TestReplicaDeleteIsFinal(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	l, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03", Topic: "Etüden"})
	if err != nil {
		t.Fatal(err)
	}
	replica := mustReplica(t, f)
	if err := replica.ApplyChanges(ctx, f.school.ID, allChanges(t, f.db, f.t1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteLesson(ctx, f.t1, l.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	topic := "edited after the delete"
	if _, err := replica.UpdateLesson(ctx, f.t1, l.ID, store.LessonPatch{Topic: &topic}); err != nil {
		t.Fatal(err)
	}
	fromReplica, fromServer := allChanges(t, replica, f.t1, 0), allChanges(t, f.db, f.t1, 0)
	if err := f.db.ApplyChanges(ctx, f.school.ID, fromReplica); err != nil {
		t.Fatal(err)
	}
	if err := replica.ApplyChanges(ctx, f.school.ID, fromServer); err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]*store.DB{"server": f.db, "replica": replica} {
		if _, err := db.Lesson(ctx, f.t1, l.ID); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("%s: the deleted lesson is back after a concurrent edit: %v", name, err)
		}
	}
}

func TestApplyChangesRefusesBadChanges(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	replica := mustReplica(t, f)
	good := allChanges(t, f.db, f.t1, 0)
	for name, bad := range map[string]store.Change{
		"bad id":           {ID: "../x", Kind: store.KindLesson},
		"unknown kind":     {ID: store.NewID(), Kind: "grade-book"},
		"bad clock":        {ID: store.NewID(), Kind: store.KindLesson, Clocks: map[string]string{"topic": "yesterday"}},
		"field, no clock":  {ID: store.NewID(), Kind: store.KindLesson, Fields: map[string]json.RawMessage{"topic": json.RawMessage(`"x"`)}},
		"delete, no clock": {ID: store.NewID(), Kind: store.KindLesson, Deleted: true},
	} {
		err := replica.ApplyChanges(ctx, f.school.ID, append(append([]store.Change{}, good...), bad))
		if store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("%s: err = %v, want %s", name, err, store.CodeInvalid)
		}
		if got, err := replica.Courses(ctx, f.t1); err != nil || len(got) != 0 {
			t.Fatalf("%s: a refused batch wrote %d courses (%v)", name, len(got), err)
		}
	}
}
