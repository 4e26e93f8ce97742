package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pult/store"
)

// MustOpen opens a store in a fresh folder and closes it when the test ends.
func MustOpen(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	dir := tb.TempDir()
	key, err := store.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "pult.db")
	db, err := store.Open(context.Background(), path, key)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

// fixture is a school with an admin, two teachers with a course each, and students enrolled in the first course.
type fixture struct {
	db               *store.DB
	path             string
	school           store.School
	admin, t1, t2    store.Actor
	course1, course2 store.CourseSummary
	students         []store.Student
}

func mustFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	db, path := MustOpen(tb)
	f := &fixture{db: db, path: path}
	var err error
	if f.school, err = db.CreateSchool(ctx, "Musikschule Nord"); err != nil {
		tb.Fatal(err)
	}
	sys := store.SchoolAdmin(f.school.ID)
	mk := func(username, name string, role store.Role) store.Actor {
		u, err := db.CreateUser(ctx, sys, store.NewUser{Username: username, DisplayName: name, Role: role, PasswordHash: "$argon2id$test"})
		if err != nil {
			tb.Fatal(err)
		}
		return u.Actor()
	}
	f.admin = mk("admin", "Ada Admin", store.RoleAdmin)
	f.t1 = mk("t.one", "Tara One", store.RoleTeacher)
	f.t2 = mk("t.two", "Theo Two", store.RoleTeacher)
	if f.course1, err = db.CreateCourse(ctx, f.admin, store.Course{Name: "Klavier A", TeacherID: f.t1.UserID}); err != nil {
		tb.Fatal(err)
	}
	if f.course2, err = db.CreateCourse(ctx, f.admin, store.Course{Name: "Geige B", TeacherID: f.t2.UserID}); err != nil {
		tb.Fatal(err)
	}
	for _, n := range [][2]string{{"Zoë", "Özdemir"}, {"Anton", "Zweig"}, {"Berta", "Ärmel"}} {
		st, err := db.CreateStudent(ctx, f.admin, store.Student{FirstName: n[0], LastName: n[1]})
		if err != nil {
			tb.Fatal(err)
		}
		if err := db.Enroll(ctx, f.admin, f.course1.ID, st.ID); err != nil {
			tb.Fatal(err)
		}
		f.students = append(f.students, st)
	}
	return f
}

func TestOpen_Reopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, _ := store.NewKey()
	path := filepath.Join(dir, "pult.db")
	db, err := store.Open(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.CreateSchool(ctx, "Schule")
	if err != nil {
		t.Fatal(err)
	}
	node := db.Node()
	db.Close()

	t.Run("OwnerOnly", func(t *testing.T) {
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(f)
			if err != nil {
				continue // the WAL files exist only while the database is open
			}
			if got := info.Mode().Perm(); got&0o077 != 0 {
				t.Errorf("%s has mode %v, want owner only", filepath.Base(f), got)
			}
		}
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("database mode = %v, %v; want 0600", info.Mode().Perm(), err)
		}
	})
	t.Run("SameKey", func(t *testing.T) {
		db, err := store.Open(ctx, path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got, want := db.Node(), node; got != want {
			t.Errorf("node = %q, want %q (stable across restarts)", got, want)
		}
		if _, err := db.CreateStudent(ctx, store.SchoolAdmin(s.ID), store.Student{FirstName: "A", LastName: "B"}); err != nil {
			t.Fatalf("write after reopen: %v", err)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		other, _ := store.NewKey()
		db, err := store.Open(ctx, path, other)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, err = db.Students(ctx, store.SchoolAdmin(s.ID))
		if err == nil {
			t.Fatal("reading with another master key succeeded")
		}
	})
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, err := store.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("key file mode = %v, want %v", got, want)
	}
	k2, err := store.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Error("second load returned another key")
	}
	if strings.Contains(k1.String(), k1.Hex()) {
		t.Error("String() prints the key")
	}
}

func TestNormalizeUsername(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"V.Name", "v.name"},
		{"  v.name ", "V.NAME"},
		{"Ｖ.Ｎａｍｅ", "v.name"}, // fullwidth letters
		{"Strasse", "STRASSE"},
		{"straße", "STRASSE"},
		{"Jürgen", "ju\u0308rgen"}, // precomposed and combining umlaut
	} {
		if store.NormalizeUsername(tc.a) != store.NormalizeUsername(tc.b) {
			t.Errorf("%q and %q normalise differently", tc.a, tc.b)
		}
	}
	if store.NormalizeUsername("v.name") == store.NormalizeUsername("v.nam") {
		t.Error("different names normalise the same")
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	t.Run("UsernameCaseInsensitive", func(t *testing.T) {
		u, err := f.db.UserByUsername(ctx, "T.ONE")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := u.ID, f.t1.UserID; got != want {
			t.Errorf("user = %s, want %s", got, want)
		}
	})
	t.Run("ErrUsernameTaken", func(t *testing.T) {
		_, err := f.db.CreateUser(ctx, f.admin, store.NewUser{Username: "T.One", DisplayName: "X", Role: store.RoleTeacher, PasswordHash: "h"})
		if got, want := store.ErrorCode(err), store.CodeUsernameTaken; got != want {
			t.Errorf("code = %v, want %v", got, want)
		}
	})
	t.Run("ErrTeacherCannotCreateUsers", func(t *testing.T) {
		_, err := f.db.CreateUser(ctx, f.t1, store.NewUser{Username: "x.y", DisplayName: "X", Role: store.RoleAdmin, PasswordHash: "h"})
		if got, want := store.ErrorCode(err), store.CodeForbidden; got != want {
			t.Errorf("code = %v, want %v", got, want)
		}
	})
	t.Run("ErrLastAdmin", func(t *testing.T) {
		teacher := store.RoleTeacher
		_, err := f.db.UpdateUser(ctx, f.admin, f.admin.UserID, store.UserPatch{Role: &teacher})
		if got, want := store.ErrorCode(err), store.CodeLastAdmin; got != want {
			t.Errorf("code = %v, want %v", got, want)
		}
	})
	t.Run("TamperedRoleRefused", func(t *testing.T) {
		// Promoting a teacher by editing the database file must not work: the role is bound to the sealed packet.
		raw := rawDB(t, f.path)
		if _, err := raw.Exec(`UPDATE users SET role = 'admin' WHERE id = ?`, f.t1.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.UserByID(ctx, f.t1.UserID); err == nil {
			t.Fatal("a user whose role was edited in the file was read")
		}
	})
}

func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

func TestScope(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	other, err := f.db.CreateSchool(ctx, "Andere Schule")
	if err != nil {
		t.Fatal(err)
	}
	otherAdmin := store.SchoolAdmin(other.ID)

	t.Run("TeacherSeesOwnCourses", func(t *testing.T) {
		list, err := f.db.Courses(ctx, f.t1)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != f.course1.ID {
			t.Fatalf("teacher 1 sees %+v, want only course 1", list)
		}
		if got, want := list[0].StudentCount, 3; got != want {
			t.Errorf("student count = %d, want %d", got, want)
		}
		if got, want := list[0].TeacherName, "Tara One"; got != want {
			t.Errorf("teacher name = %q, want %q", got, want)
		}
	})
	t.Run("AdminSeesAll", func(t *testing.T) {
		list, err := f.db.Courses(ctx, f.admin)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(list), 2; got != want {
			t.Errorf("admin sees %d courses, want %d", got, want)
		}
	})
	t.Run("ErrOtherTeachersCourse", func(t *testing.T) {
		for name, call := range map[string]func() error{
			"course":   func() error { _, err := f.db.Course(ctx, f.t2, f.course1.ID); return err },
			"students": func() error { _, err := f.db.CourseStudents(ctx, f.t2, f.course1.ID); return err },
			"lessons":  func() error { _, err := f.db.Lessons(ctx, f.t2, f.course1.ID); return err },
			"lesson": func() error {
				_, err := f.db.CreateLesson(ctx, f.t2, f.course1.ID, store.Lesson{Date: "2026-11-02"})
				return err
			},
		} {
			if got, want := store.ErrorCode(call()), store.CodeNotFound; got != want {
				t.Errorf("%s: code = %v, want %v", name, got, want)
			}
		}
	})
	t.Run("ErrOtherSchool", func(t *testing.T) {
		list, err := f.db.Courses(ctx, otherAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 {
			t.Errorf("other school's admin sees %d courses", len(list))
		}
		if _, err := f.db.Course(ctx, otherAdmin, f.course1.ID); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("other school's admin opens the course: %v", err)
		}
		if _, err := f.db.UpdateStudent(ctx, otherAdmin, f.students[0].ID, store.StudentPatch{}); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("other school's admin edits a student: %v", err)
		}
		if err := f.db.Enroll(ctx, f.admin, f.course1.ID, "01234567-89ab-7def-8123-456789abcdef"); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("enrolling an unknown student: %v", err)
		}
	})
}

func TestAttendance(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	l, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-02", StartTime: "14:00", EndTime: "14:45", Topic: "Tonleitern"})
	if err != nil {
		t.Fatal(err)
	}
	st := f.students[0]
	if _, err := f.db.MarkAttendance(ctx, f.t1, l.ID, st.ID, store.AttendanceMark{Status: store.Late, LateMinutes: 7, Comment: "Bus"}); err != nil {
		t.Fatal(err)
	}
	t.Run("AllPresentKeepsMarks", func(t *testing.T) {
		marks, err := f.db.MarkAllPresent(ctx, f.t1, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(marks), 3; got != want {
			t.Fatalf("marks = %d, want %d", got, want)
		}
		for _, m := range marks {
			want := store.Present
			if m.StudentID == st.ID {
				want = store.Late
			}
			if m.Status != want {
				t.Errorf("student %s: status %s, want %s", m.StudentID, m.Status, want)
			}
		}
	})
	t.Run("Clear", func(t *testing.T) {
		if err := f.db.ClearAttendance(ctx, f.t1, l.ID, st.ID); err != nil {
			t.Fatal(err)
		}
		marks, _ := f.db.Attendance(ctx, f.t1, l.ID)
		if got, want := len(marks), 2; got != want {
			t.Errorf("marks after clearing = %d, want %d", got, want)
		}
	})
	t.Run("ErrNotEnrolled", func(t *testing.T) {
		outsider, err := f.db.CreateStudent(ctx, f.admin, store.Student{FirstName: "Out", LastName: "Sider"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.db.MarkAttendance(ctx, f.t1, l.ID, outsider.ID, store.AttendanceMark{Status: store.Present})
		var e *store.Error
		if !asError(err, &e) || e.Fields["studentId"] != store.FieldNotEnrolled {
			t.Errorf("err = %v, want not_enrolled", err)
		}
	})
	t.Run("ErrLateMinutes", func(t *testing.T) {
		for _, m := range []store.AttendanceMark{{Status: store.Late}, {Status: store.Late, LateMinutes: 241}, {Status: store.Present, LateMinutes: 3}, {Status: "gone"}} {
			if _, err := f.db.MarkAttendance(ctx, f.t1, l.ID, st.ID, m); store.ErrorCode(err) != store.CodeInvalid {
				t.Errorf("%+v: err = %v, want validation_failed", m, err)
			}
		}
	})
	t.Run("ErrOtherTeacher", func(t *testing.T) {
		_, err := f.db.MarkAttendance(ctx, f.t2, l.ID, st.ID, store.AttendanceMark{Status: store.Present})
		if got, want := store.ErrorCode(err), store.CodeNotFound; got != want {
			t.Errorf("code = %v, want %v", got, want)
		}
	})
}

func asError(err error, target **store.Error) bool {
	e, ok := err.(*store.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestTamper flips one byte of a stored packet and moves a packet onto another record: both must fail loudly.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	raw := rawDB(t, f.path)
	a, b := f.students[0], f.students[1]

	t.Run("FlippedByte", func(t *testing.T) {
		var packet []byte
		if err := raw.QueryRow(`SELECT packet FROM records WHERE id = ?`, a.ID).Scan(&packet); err != nil {
			t.Fatal(err)
		}
		orig := bytes.Clone(packet)
		packet[len(packet)/2] ^= 0x01
		if _, err := raw.Exec(`UPDATE records SET packet = ? WHERE id = ?`, packet, a.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.db.Students(ctx, f.admin)
		if err == nil || !strings.Contains(err.Error(), "authentication") {
			t.Fatalf("reading a tampered record: err = %v, want an authentication failure", err)
		}
		if _, err := raw.Exec(`UPDATE records SET packet = ? WHERE id = ?`, orig, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Students(ctx, f.admin); err != nil {
			t.Fatalf("restored record does not read: %v", err)
		}
	})
	t.Run("SwappedPacket", func(t *testing.T) {
		if _, err := raw.Exec(`UPDATE records SET packet = (SELECT packet FROM records WHERE id = ?) WHERE id = ?`, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.CourseStudents(ctx, f.admin, f.course1.ID); err == nil {
			t.Fatal("a packet moved onto another record was read")
		}
	})
}

// TestNoPlaintext writes personal data and then reads every byte the store wrote.
func TestNoPlaintext(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	secret := []string{"Wilhelmina", "Quackenbusch", "eltern.quackenbusch@example.org", "Tonleitern in Fis-Dur", "t.one", "Tara One"}
	st, err := f.db.CreateStudent(ctx, f.admin, store.Student{FirstName: secret[0], LastName: secret[1], GuardianEmail: secret[2]})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.Enroll(ctx, f.admin, f.course1.ID, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateLesson(ctx, f.t1, f.course1.ID, store.Lesson{Date: "2026-11-03", Topic: secret[3]}); err != nil {
		t.Fatal(err)
	}
	// A mail in the outbox: to a parent account (the server's key) and a school's letter (the school's key).
	for _, school := range []string{"", f.admin.SchoolID} {
		if _, err := f.db.QueueMail(ctx, store.Mail{SchoolID: school, To: secret[2], Subject: secret[0], Text: secret[3], HTML: secret[1]}, false); err != nil {
			t.Fatal(err)
		}
	}
	// A parent account with that address, the student's access code, a share and a letter template.
	if _, err := f.db.RegisterParent(ctx, secret[2], "hash", store.LangGerman, []byte("token hash"), time.Now().Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	p, err := f.db.ConfirmParent(ctx, []byte("token hash"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := f.db.IssueAccessCode(ctx, f.admin, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret = append(secret, code.Code, store.NormalizeLicenseCode(code.Code))
	if _, err := f.db.RedeemAccessCode(ctx, p.ID, code.Code); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ShareChild(ctx, p, st.ID, "grosseltern.quackenbusch@example.org"); err != nil {
		t.Fatal(err)
	}
	secret = append(secret, "grosseltern.quackenbusch")
	if _, err := f.db.SaveLetterTemplate(ctx, f.admin, store.LetterTemplate{Name: "Brief an Wilhelmina", Subject: "Quackenbusch", Body: "{{code}}"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(f.path), "*"))
	if len(files) < 2 {
		t.Fatalf("expected the database and its WAL, found %v", files)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secret {
			if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(s))) {
				t.Errorf("%s contains %q in plaintext", filepath.Base(file), s)
			}
		}
	}
}
