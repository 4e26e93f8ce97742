package desktop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pult/app/identity"
	"pult/backend/auth"
	"pult/backend/server"
	"pult/store"
)

// The desktop tests run the app's real handler against a real backend (a real store file, served over HTTP on
// loopback), which they can stop and start again at the same address to take the app offline.

const password = "correct horse battery"

// A student's name and a lesson's topic that must never appear in plaintext in the profile.
const (
	studentFirst = "Zoë"
	studentLast  = "Quellenhof"
	secretTopic  = "Geheimnisvolle Etüde"
)

type world struct {
	t        testing.TB
	db       *store.DB
	srv      *server.Server
	addr     string
	http     *http.Server
	url      string
	admin    *http.Client
	schoolID string
	adminID  string
	teacher  store.User
	course   string
	students []store.Student
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	key, _ := store.NewKey()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "backend.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hasher, err := auth.NewHasher(auth.Params{MemoryKiB: 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, db: db, srv: server.New(db, slog.New(slog.DiscardHandler), server.Config{Version: "test", Hasher: hasher})}
	admin, err := server.CreateAdmin(ctx, db, hasher, "Musikschule Tal", store.NewUser{Username: "a.admin", DisplayName: "Ada Admin"}, password)
	if err != nil {
		t.Fatal(err)
	}
	w.schoolID, w.adminID = admin.SchoolID, admin.ID
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	if w.teacher, err = db.CreateUser(ctx, admin.Actor(), store.NewUser{Username: "t.one", DisplayName: "Tara One", Role: store.RoleTeacher, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	c, err := db.CreateCourse(ctx, admin.Actor(), store.Course{Name: "Klavier A", TeacherID: w.teacher.ID})
	if err != nil {
		t.Fatal(err)
	}
	w.course = c.ID
	for _, n := range [][2]string{{studentFirst, studentLast}, {"Anton", "Zweig"}} {
		st, err := db.CreateStudent(ctx, admin.Actor(), store.Student{FirstName: n[0], LastName: n[1]})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Enroll(ctx, admin.Actor(), c.ID, st.ID); err != nil {
			t.Fatal(err)
		}
		w.students = append(w.students, st)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	w.url = "http://" + w.addr
	w.serve(ln)
	t.Cleanup(w.stop)
	jar, _ := cookiejar.New(nil)
	w.admin = &http.Client{Jar: jar}
	if st, _ := w.adminCall(http.MethodPost, "/api/v1/session", `{"username":"a.admin","password":"`+password+`"}`); st != http.StatusOK {
		t.Fatalf("admin login: %d", st)
	}
	return w
}

func (w *world) serve(ln net.Listener) {
	w.http = &http.Server{Handler: w.srv.Handler()}
	go w.http.Serve(ln)
}

// stop takes the backend offline; start brings it back at the same address.
func (w *world) stop() {
	if w.http != nil {
		w.http.Close()
		w.srv.CloseSync()
		w.http = nil
	}
}

func (w *world) start() {
	w.t.Helper()
	ln, err := net.Listen("tcp", w.addr)
	if err != nil {
		w.t.Fatal(err)
	}
	w.serve(ln)
}

func (w *world) adminActor() store.Actor {
	return store.Actor{UserID: w.adminID, SchoolID: w.schoolID, Role: store.RoleAdmin}
}

// adminCall is a request of the school's admin in a browser.
func (w *world) adminCall(method, path, body string) (int, map[string]any) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.admin.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, decodeBody(resp.Body)
}

func decodeBody(r io.Reader) map[string]any {
	raw, _ := io.ReadAll(r)
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		var list []any
		if json.Unmarshal(raw, &list) == nil {
			return map[string]any{"list": list}
		}
	}
	return m
}

// machine is a simulated PC and OS user.
func machine(user string) identity.Machine {
	return identity.Machine{ID: "test-machine", OSUser: user + "\x001000", Hostname: "laptop-" + user, Platform: "linux/amd64"}
}

// clock is a test clock for idle timeouts.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// desk is one desktop app in a profile folder.
type desk struct {
	t     testing.TB
	app   *App
	dir   string
	m     identity.Machine
	clock *clock
}

func newDesk(t testing.TB, dir string, m identity.Machine) *desk {
	t.Helper()
	d := &desk{t: t, dir: dir, m: m, clock: &clock{t: time.Now()}}
	d.restart()
	return d
}

// restart closes the app and starts it again on the same profile, as after quitting or a crash.
func (d *desk) restart() {
	d.t.Helper()
	if d.app != nil {
		d.app.Close()
	}
	a, err := New(Config{ProfileDir: d.dir, Machine: d.m, Version: "test", Log: slog.New(slog.DiscardHandler), Now: d.clock.now})
	if err != nil {
		d.t.Fatal(err)
	}
	d.app = a
	d.t.Cleanup(func() { a.Close() })
}

// call is a request of the window to the in-process handler.
func (d *desk) call(method, path, body string) (int, map[string]any) {
	d.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	d.app.ServeHTTP(rec, req)
	return rec.Code, decodeBody(rec.Body)
}

// must is a call that has to answer want.
func (d *desk) must(want int, method, path, body string) map[string]any {
	d.t.Helper()
	st, m := d.call(method, path, body)
	if st != want {
		d.t.Fatalf("%s %s: %d %v, want %d", method, path, st, m, want)
	}
	return m
}

func (d *desk) phase() string {
	d.t.Helper()
	_, env := d.call(http.MethodGet, "/api/v1/env", "")
	dev, _ := env["device"].(map[string]any)
	p, _ := dev["phase"].(string)
	return p
}

func (d *desk) device() map[string]any {
	d.t.Helper()
	_, env := d.call(http.MethodGet, "/api/v1/env", "")
	dev, _ := env["device"].(map[string]any)
	return dev
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errField(m map[string]any, name string) string {
	e, _ := m["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	c, _ := f[name].(string)
	return c
}

// enrollByLogin takes a fresh desk through the first run by logging in during learning mode, and sets a PIN.
func (d *desk) enrollByLogin(w *world, pin string) {
	d.t.Helper()
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"de"}`)
	if got := d.must(http.StatusOK, http.MethodPost, "/api/v1/device/enroll/login",
		`{"server":"`+w.url+`","username":"t.one","password":"`+password+`"}`)["phase"]; got != PhasePIN {
		d.t.Fatalf("after a learning-mode login the phase is %v, want pin", got)
	}
	if got := d.must(http.StatusOK, http.MethodPost, "/api/v1/device/pin", `{"pin":"`+pin+`","repeat":"`+pin+`"}`)["phase"]; got != PhaseReady {
		d.t.Fatalf("after setting the PIN the phase is %v, want ready", got)
	}
}

// profileFiles lists the files in a profile folder (none when it is gone).
func profileFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// grepProfile fails the test when any file of the profile holds one of the secrets.
func grepProfile(t testing.TB, dir string, secrets ...[]byte) {
	t.Helper()
	files := profileFiles(t, dir)
	if len(files) == 0 {
		t.Fatal("the profile holds no files to search")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(raw, s) {
				t.Errorf("%s holds %q in plaintext", filepath.Base(f), s)
			}
		}
	}
}

// eventually waits until cond holds: sync runs in the background, so tests wait for what a user would see.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
