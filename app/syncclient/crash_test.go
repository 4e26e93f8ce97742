package syncclient_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"pult/app/syncclient"
	"pult/backend/auth"
	"pult/store"
	"pult/store/syncproto"
)

// backendProcess is the real backend binary serving a data folder, so that a test can kill it like a power cut
// would (SIGKILL: no shutdown, no flush beyond what SQLite committed).
type backendProcess struct {
	t       *testing.T
	bin     string
	dataDir string
	master  string
	addr    string
	cmd     *exec.Cmd
}

func (b *backendProcess) start() {
	b.t.Helper()
	cmd := exec.Command(b.bin, "serve")
	cmd.Env = append(os.Environ(), "PULT_DATA="+b.dataDir, "PULT_MASTER_KEY="+b.master, "PULT_ADDR="+b.addr, "PULT_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.cmd = cmd
	eventually(b.t, "the backend answers", func() bool {
		resp, err := http.Get("http://" + b.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

func (b *backendProcess) kill() {
	b.cmd.Process.Signal(syscall.SIGKILL)
	b.cmd.Wait()
}

// TestBackendKilledMidPush: the backend dies (SIGKILL) while a device pushes thousands of changes; after the
// restart every change it had acknowledged is there, the device re-sends the rest, and each is applied exactly
// once.
func TestBackendKilledMidPush(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "pult-backend")
	if out, err := exec.Command("go", "build", "-o", bin, "pult/backend").CombinedOutput(); err != nil {
		t.Fatalf("build the backend: %v\n%s", err, out)
	}

	// The school is prepared in the data folder before the backend starts.
	master, _ := store.NewKey()
	dataDir := filepath.Join(dir, "data")
	os.MkdirAll(dataDir, 0o700)
	db, err := store.Open(ctx, filepath.Join(dataDir, "pult.db"), master)
	if err != nil {
		t.Fatal(err)
	}
	school, err := db.CreateSchool(ctx, "Musikschule Absturz")
	if err != nil {
		t.Fatal(err)
	}
	hasher, _ := auth.NewHasher(auth.Params{MemoryKiB: 1024, Time: 1, Threads: 1})
	hash, _ := hasher.Hash(ctx, password)
	sys := store.SchoolAdmin(school.ID)
	teacher, err := db.CreateUser(ctx, sys, store.NewUser{Username: "t.one", DisplayName: "Tara", Role: store.RoleTeacher, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	course, err := db.CreateCourse(ctx, sys, store.Course{Name: "Klavier", TeacherID: teacher.ID})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := &backendProcess{t: t, bin: bin, dataDir: dataDir, master: master.Hex(), addr: addr}
	b.start()
	t.Cleanup(b.kill)

	// The device: a replica with thousands of lessons made offline.
	key, _ := store.NewKey()
	replicaPath := filepath.Join(dir, "device.db")
	replica, err := store.Open(ctx, replicaPath, key)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { replica.Close() }()
	if err := replica.AdoptSchool(ctx, school); err != nil {
		t.Fatal(err)
	}
	if err := replica.AdoptUser(ctx, teacher); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Post("http://"+addr+"/api/v1/session", "application/json", strings.NewReader(`{"username":"t.one","password":"`+password+`"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	pullInto(t, replica, school.ID, hc, addr)
	const lessons = 3000
	for i := range lessons {
		if _, err := replica.CreateLesson(ctx, teacher.Actor(), course.ID, store.Lesson{Date: "2026-12-01", Topic: fmt.Sprintf("Stunde %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	headBefore := serverHead(t, master, dataDir, school.ID)

	run := func() (stop func()) {
		client := syncclient.New(syncclient.Config{DB: replica, SchoolID: school.ID, Log: slog.New(slog.DiscardHandler),
			Dial: func(ctx context.Context) (*websocket.Conn, error) {
				ws, _, err := websocket.Dial(ctx, "ws://"+addr+syncproto.Path, &websocket.DialOptions{HTTPClient: hc})
				return ws, err
			}})
		replica.OnChange(func(string) { client.Kick() })
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { client.Run(cctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := run()
	eventually(t, "the first acknowledged batch", func() bool {
		n, _ := replica.Pending(ctx, school.ID)
		return n < lessons
	})
	b.kill()
	stop()
	pending, _ := replica.Pending(ctx, school.ID)
	if pending == 0 {
		t.Fatal("every change was acknowledged before the kill: nothing was in flight")
	}
	acknowledged := map[string]bool{}
	waiting := map[string]bool{}
	// The outbox's record ids are in the clear; read all of them (Outbox pages by the push batch size).
	raw, err := sql.Open("sqlite", replicaPath+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := raw.Query(`SELECT record_id FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		waiting[id] = true
	}
	rows.Close()
	raw.Close()
	if len(waiting) != pending {
		t.Fatalf("%d ids in the outbox, %d pending", len(waiting), pending)
	}
	ls, _ := replica.Lessons(ctx, teacher.Actor(), course.ID)
	for _, l := range ls {
		if !waiting[l.ID] {
			acknowledged[l.ID] = true
		}
	}
	t.Logf("killed the backend with %d of %d changes acknowledged", lessons-pending, lessons)

	// The backend comes back; before the device reconnects, everything acknowledged is there.
	b.start()
	srv := openServerStore(t, master, dataDir)
	have := map[string]bool{}
	got, _ := srv.Lessons(ctx, teacher.Actor(), course.ID)
	for _, l := range got {
		have[l.ID] = true
	}
	srv.Close()
	for id := range acknowledged {
		if !have[id] {
			t.Fatalf("lesson %s was acknowledged but is gone after the kill", id)
		}
	}

	stop = run()
	eventually(t, "the device's outbox empties", func() bool {
		n, _ := replica.Pending(ctx, school.ID)
		return n == 0
	})
	stop()
	srv = openServerStore(t, master, dataDir)
	defer srv.Close()
	got, err = srv.Lessons(ctx, teacher.Actor(), course.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != lessons {
		t.Fatalf("the server has %d lessons, want %d", len(got), lessons)
	}
	head, _ := srv.Head(ctx, school.ID)
	if head-headBefore != lessons {
		t.Errorf("the server stored %d changes for %d lessons: some were applied more than once", head-headBefore, lessons)
	}
}

// openServerStore opens the backend's database beside the running process (SQLite allows it in WAL mode).
func openServerStore(t *testing.T, master store.Key, dataDir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dataDir, "pult.db"), master)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func serverHead(t *testing.T, master store.Key, dataDir, schoolID string) int64 {
	t.Helper()
	db := openServerStore(t, master, dataDir)
	defer db.Close()
	head, err := db.Head(context.Background(), schoolID)
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// pullInto brings a fresh replica up to date with one sync connection.
func pullInto(t *testing.T, replica *store.DB, schoolID string, hc *http.Client, addr string) {
	t.Helper()
	client := syncclient.New(syncclient.Config{DB: replica, SchoolID: schoolID, Log: slog.New(slog.DiscardHandler),
		Dial: func(ctx context.Context) (*websocket.Conn, error) {
			ws, _, err := websocket.Dial(ctx, "ws://"+addr+syncproto.Path, &websocket.DialOptions{HTTPClient: hc})
			return ws, err
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { client.Run(ctx); close(done) }()
	eventually(t, "the first sync", func() bool {
		s := client.Status()
		return s.Online && !s.CatchingUp
	})
	cancel()
	<-done
}
