package desktop

import (
	"context"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pult/app/pin"
	"pult/store"
)

const goodPIN = "481937"

// TestFirstRunOfflineAndWipe is a teacher's first days with the app: the first run, the PIN, work offline, the
// lock, and the wipe after too many wrong PINs.
func TestFirstRunOfflineAndWipe(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "profile")
	d := newDesk(t, dir, machine("tara"))

	if p := d.phase(); p != PhaseWelcome {
		t.Fatalf("a fresh profile starts at %q, want welcome", p)
	}
	if files := profileFiles(t, dir); len(files) != 0 {
		t.Errorf("the first start wrote %v before the user chose anything", files)
	}
	if st, m := d.call(http.MethodGet, "/api/v1/courses", ""); st != http.StatusLocked || errCode(m) != "locked" {
		t.Errorf("school data before enrollment: %d %v, want 423 locked", st, m)
	}
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"en"}`)
	if dev := d.device(); dev["phase"] != PhaseConnect || dev["language"] != "en" {
		t.Fatalf("after choosing the language: %v", dev)
	}
	// A wrong password enrolls nothing.
	if st, m := d.call(http.MethodPost, "/api/v1/device/enroll/login", `{"server":"`+w.url+`","username":"t.one","password":"wrong"}`); st != http.StatusUnauthorized {
		t.Fatalf("enroll with a wrong password: %d %v", st, m)
	}
	if p := d.phase(); p != PhaseConnect {
		t.Fatalf("after a wrong password the phase is %q, want connect", p)
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/enroll/login", `{"server":"`+w.url+`","username":"t.one","password":"`+password+`"}`)

	// PIN rules, then a good PIN.
	for body, field := range map[string]string{
		`{"pin":"123456","repeat":"123456"}`: "pin",
		`{"pin":"4819","repeat":"4819"}`:     "pin",
		`{"pin":"481937","repeat":"481938"}`: "repeat",
	} {
		if st, m := d.call(http.MethodPost, "/api/v1/device/pin", body); st != http.StatusUnprocessableEntity || errField(m, field) == "" {
			t.Errorf("PIN %s: %d %v, want 422 on %s", body, st, m, field)
		}
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/pin", `{"pin":"`+goodPIN+`","repeat":"`+goodPIN+`"}`)
	_, env := d.call(http.MethodGet, "/api/v1/env", "")
	if u, _ := env["user"].(map[string]any); u["displayName"] != "Tara One" || env["host"] != "desktop" {
		t.Fatalf("env after the PIN: %v", env)
	}

	// The teacher's course arrived in the local store; then the backend goes away.
	courses := d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")["items"].([]any)
	if len(courses) != 1 || courses[0].(map[string]any)["name"] != "Klavier A" {
		t.Fatalf("local courses = %v", courses)
	}
	w.stop()
	lesson := d.must(http.StatusCreated, http.MethodPost, "/api/v1/courses/"+w.course+"/lessons",
		`{"date":"2026-11-30","startTime":"08:00","endTime":"08:45","topic":"`+secretTopic+`"}`)
	lessonID := lesson["id"].(string)
	d.must(http.StatusOK, http.MethodPut, "/api/v1/lessons/"+lessonID+"/attendance/"+w.students[0].ID, `{"status":"late","lateMinutes":5}`)
	if st, m := d.call(http.MethodGet, "/api/v1/users", ""); st != http.StatusServiceUnavailable || errCode(m) != "needs_connection" {
		t.Errorf("an online function while offline: %d %v, want 503 needs_connection", st, m)
	}
	// The sync connection notices the closed socket on its own goroutine, so the status follows shortly.
	eventually(t, "the device shows that it is offline", func() bool { return d.device()["online"] == false })

	// Nothing personal and not the data key is in any file of the profile.
	key, err := pin.Unwrap(*d.app.st.PIN, goodPIN)
	if err != nil {
		t.Fatal(err)
	}
	grepProfile(t, dir, []byte(studentLast), []byte(secretTopic), []byte("Tara One"), []byte("t.one"), []byte(goodPIN),
		key.Bytes(), []byte(hex.EncodeToString(key.Bytes())))

	// Locked: nothing is answered; a wrong PIN counts, also across a restart.
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	if st, m := d.call(http.MethodGet, "/api/v1/lessons/"+lessonID, ""); st != http.StatusLocked || errCode(m) != "locked" {
		t.Errorf("a lesson while locked: %d %v", st, m)
	}
	if _, env := d.call(http.MethodGet, "/api/v1/env", ""); env["user"] != nil {
		t.Errorf("env shows the user while locked: %v", env["user"])
	}
	if st, m := d.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"999999"}`); st != http.StatusForbidden || errCode(m) != "wrong_pin" {
		t.Fatalf("a wrong PIN: %d %v", st, m)
	}
	d.restart()
	if dev := d.device(); dev["phase"] != PhaseLocked || dev["pinAttemptsLeft"] != float64(4) {
		t.Fatalf("after a restart: %v, want locked with 4 attempts left", dev)
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`)
	if got := d.must(http.StatusOK, http.MethodGet, "/api/v1/lessons/"+lessonID, "")["topic"]; got != secretTopic {
		t.Errorf("the lesson made offline reads %v after a restart", got)
	}
	if left := d.device()["pinAttemptsLeft"]; left != float64(5) {
		t.Errorf("after the right PIN %v attempts are left, want 5", left)
	}

	// Five wrong PINs in a row erase everything.
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	for i := 1; i <= 4; i++ {
		st, m := d.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"99999`+string(rune('0'+i))+`"}`)
		if st != http.StatusForbidden || m["error"].(map[string]any)["attemptsLeft"] != float64(5-i) {
			t.Fatalf("wrong PIN %d: %d %v", i, st, m)
		}
	}
	if st, m := d.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"999995"}`); st != http.StatusGone || errCode(m) != "wiped" {
		t.Fatalf("the fifth wrong PIN: %d %v, want 410 wiped", st, m)
	}
	if files := profileFiles(t, dir); len(files) != 0 {
		t.Errorf("after the wipe the profile holds %v", files)
	}
	if p := d.phase(); p != PhaseWelcome {
		t.Errorf("after the wipe the phase is %q, want welcome", p)
	}
	d.restart()
	if p := d.phase(); p != PhaseWelcome {
		t.Errorf("after the wipe and a restart the phase is %q, want welcome", p)
	}
}

func TestIdleTimeoutLocks(t *testing.T) {
	w := newWorld(t)
	d := newDesk(t, filepath.Join(t.TempDir(), "profile"), machine("tara"))
	d.enrollByLogin(w, goodPIN)
	d.clock.advance(9 * time.Minute)
	d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")
	d.clock.advance(9 * time.Minute) // 18 minutes since start, but only 9 since the last request
	d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")
	// Typing a long note asks for no data; the UI reports the activity.
	d.clock.advance(9 * time.Minute)
	d.must(http.StatusNoContent, http.MethodPost, "/api/v1/device/activity", "")
	d.clock.advance(9 * time.Minute)
	d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")
	d.clock.advance(DefaultIdleTimeout + time.Second)
	if st, m := d.call(http.MethodGet, "/api/v1/courses", ""); st != http.StatusLocked || errCode(m) != "locked" {
		t.Fatalf("after the idle timeout: %d %v, want 423 locked", st, m)
	}
	if p := d.phase(); p != PhaseLocked {
		t.Errorf("phase %q, want locked", p)
	}
	if st, m := d.call(http.MethodPost, "/api/v1/device/activity", ""); st != http.StatusLocked || errCode(m) != "locked" {
		t.Errorf("activity while locked: %d %v, want 423 locked", st, m)
	}
}

// A profile copied to another OS user (or another PC) is not the device: its hardware token differs, so the
// backend refuses its proof.
func TestCopiedProfileIsNotTheDevice(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "tara")
	d := newDesk(t, dir, machine("tara"))
	d.enrollByLogin(w, goodPIN)
	d.app.Close()

	copyDir := filepath.Join(t.TempDir(), "bob")
	os.MkdirAll(copyDir, 0o700)
	for _, f := range profileFiles(t, dir) {
		raw, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(copyDir, filepath.Base(f)), raw, 0o600)
	}
	bob := newDesk(t, copyDir, machine("bob"))
	bob.must(http.StatusOK, http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`)
	st, m := bob.call(http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"`+password+`"}`)
	if st != http.StatusUnauthorized || errCode(m) != "device_proof_invalid" {
		t.Fatalf("login from the copied profile of another OS user: %d %v, want 401 device_proof_invalid", st, m)
	}
	tara := newDesk(t, dir, machine("tara"))
	tara.must(http.StatusOK, http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`)
	tara.must(http.StatusOK, http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"`+password+`"}`)
}

// Bad requests get a clear error and change nothing.
func TestBadRequestsChangeNothing(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "profile")
	d := newDesk(t, dir, machine("tara"))
	for _, c := range []struct{ method, path, body, code string }{
		{http.MethodPut, "/api/v1/device/language", `{"language":"fr"}`, "validation_failed"},
		{http.MethodPut, "/api/v1/device/language", `{"language":`, "invalid_json"},
		{http.MethodPut, "/api/v1/device/language", `{"language":"de","x":1}`, "unknown_field"},
		{http.MethodPut, "/api/v1/device/language", `{"language":"` + strings.Repeat("d", 70000) + `"}`, "body_too_large"},
		{http.MethodPost, "/api/v1/device/pin", `{"pin":"481937","repeat":"481937"}`, "wrong_phase"},
		{http.MethodPost, "/api/v1/device/unlock", `{"pin":"481937"}`, "wrong_phase"},
		{http.MethodPost, "/api/v1/device/enroll", `{"link":"https://evil.example/enroll?code=x"}`, "wrong_phase"},
	} {
		if st, m := d.call(c.method, c.path, c.body); errCode(m) != c.code {
			t.Errorf("%s %s %.40s: %d %v, want %s", c.method, c.path, c.body, st, m, c.code)
		}
	}
	if files := profileFiles(t, dir); len(files) != 0 || d.phase() != PhaseWelcome {
		t.Errorf("refused requests wrote %v (phase %s)", files, d.phase())
	}
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"de"}`)
	for _, c := range []struct{ body, code string }{
		{`{"link":"https://evil.example/enroll?code=x"}`, "validation_failed"},
		{`{"link":"pult://enroll?code=ABCD"}`, "validation_failed"},
		{`{"server":"ftp://school","licenseCode":"ABCD"}`, "validation_failed"},
		{`{"server":"","licenseCode":""}`, "validation_failed"},
		{`{"server":"http://127.0.0.1:1","licenseCode":"ABCD-EFGH"}`, "needs_connection"},
		{`{"link":"pult://enroll?server=` + w.url + `&code=ABCD&fp=zz"}`, "validation_failed"},
	} {
		if st, m := d.call(http.MethodPost, "/api/v1/device/enroll", c.body); errCode(m) != c.code {
			t.Errorf("enroll %s: %d %v, want %s", c.body, st, m, c.code)
		}
	}
	if p := d.phase(); p != PhaseConnect {
		t.Errorf("after refused enrollments the phase is %q, want connect", p)
	}
}

// TestOfflineEditsReachBackend: what the teacher does offline waits as pending changes and reaches the school's
// server once it is back; what changes at the server meanwhile arrives in the app.
func TestOfflineEditsReachBackend(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	d := newDesk(t, filepath.Join(t.TempDir(), "profile"), machine("tara"))
	d.enrollByLogin(w, goodPIN)
	w.stop()
	lesson := d.must(http.StatusCreated, http.MethodPost, "/api/v1/courses/"+w.course+"/lessons", `{"date":"2026-11-30","topic":"Offline"}`)
	id := lesson["id"].(string)
	d.must(http.StatusOK, http.MethodPut, "/api/v1/lessons/"+id+"/attendance/"+w.students[1].ID, `{"status":"excused"}`)
	eventually(t, "two pending changes while offline", func() bool {
		s, _ := d.device()["sync"].(map[string]any)
		return s["pending"] == float64(2) && s["online"] == false
	})
	if _, err := w.db.UpdateCourse(ctx, w.adminActor(), w.course, store.CoursePatch{Subject: ptr("Klavier")}); err != nil {
		t.Fatal(err)
	}
	w.start()
	eventually(t, "the offline lesson and mark at the server", func() bool {
		l, err := w.db.Lesson(ctx, w.teacher.Actor(), id)
		marks, _ := w.db.Attendance(ctx, w.teacher.Actor(), id)
		return err == nil && l.Topic == "Offline" && len(marks) == 1 && marks[0].Status == store.Excused
	})
	eventually(t, "the server's change in the app, nothing pending", func() bool {
		c := d.must(http.StatusOK, http.MethodGet, "/api/v1/courses/"+w.course, "")
		s, _ := d.device()["sync"].(map[string]any)
		return c["subject"] == "Klavier" && s["pending"] == float64(0)
	})
}

func ptr[T any](v T) *T { return &v }

// TestSessionEndedNeedsLogin: when the backend session ended (here: the admin reset the password), the app
// keeps working offline and asks for a login; after it, sync runs again.
func TestSessionEndedNeedsLogin(t *testing.T) {
	w := newWorld(t)
	d := newDesk(t, filepath.Join(t.TempDir(), "profile"), machine("tara"))
	d.enrollByLogin(w, goodPIN)
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	if st, m := w.adminCall(http.MethodPost, "/api/v1/users/"+w.teacher.ID+"/password", `{"password":"a brand new password"}`); st != http.StatusNoContent {
		t.Fatalf("reset: %d %v", st, m)
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`)
	if dev := d.device(); dev["needsLogin"] != true {
		t.Fatalf("after the session ended: %v, want needsLogin", dev)
	}
	d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "") // offline work goes on
	d.must(http.StatusOK, http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"a brand new password"}`)
	eventually(t, "sync after the login", func() bool {
		dev := d.device()
		s, _ := dev["sync"].(map[string]any)
		return dev["needsLogin"] == nil && s["online"] == true
	})
}
