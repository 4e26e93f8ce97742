package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coder/websocket"

	"pult/backend/auth"
	"pult/backend/server"
	"pult/store"
	"pult/store/syncproto"
)

const password = "correct horse battery staple"

// shape is the benchmark school: courses, each with its own teacher, enrolled pupils and lessons with a mark per
// pupil, and students (enrolled or not) up to the number of records asked for.
type shape struct {
	courses, enrolled, lessons, students int
}

func shapeFor(records int) (shape, error) {
	s := shape{courses: 100, enrolled: 20}
	perLesson := 1 + s.enrolled                                      // the lesson and its marks
	fixed := s.courses + s.courses*s.enrolled + s.courses*s.enrolled // courses, enrollments, at least the enrolled students
	if records < fixed+s.courses*perLesson {
		return shape{}, fmt.Errorf("-records must be at least %d", fixed+s.courses*perLesson)
	}
	s.lessons = (records - fixed) / (s.courses * perLesson)
	s.students = records - s.courses - s.courses*s.enrolled - s.courses*s.lessons*perLesson
	return s, nil
}

func (s shape) records() int {
	return s.students + s.courses + s.courses*s.enrolled + s.courses*s.lessons*(1+s.enrolled)
}

// bench is a real backend on loopback with its school, and the changes its teachers' devices will push.
type bench struct {
	dir    string
	db     *store.DB
	srv    *server.Server
	hs     *http.Server
	url    string
	wsURL  string
	shape  shape
	school store.School
	admin  store.User
	// teachers[i] teaches courses[i].
	teachers []store.User
	courses  []string
	// pushes[i] are the lessons and marks of courses[i], made on a device, in the order it would push them.
	pushes   [][]store.Change
	sessions int // logins so far, for distinct client addresses
	key      store.Key
}

func newBench(ctx context.Context, records int) (*bench, error) {
	sh, err := shapeFor(records)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pult-syncbench-")
	if err != nil {
		return nil, err
	}
	b := &bench{dir: dir, shape: sh}
	b.key, _ = store.NewKey()
	if b.db, err = store.Open(ctx, filepath.Join(dir, "backend.db"), b.key); err != nil {
		return nil, err
	}
	// Logins are not what this measures: a cheap hash lets a thousand browsers log in quickly.
	hasher, err := auth.NewHasher(auth.Params{MemoryKiB: 1024, Time: 1, Threads: 1})
	if err != nil {
		return nil, err
	}
	// The clients stand for devices at many addresses behind a proxy on loopback, so the per-address login
	// limit does not hold a thousand logins back.
	b.srv = server.New(b.db, slog.New(slog.DiscardHandler), server.Config{Version: "bench", Hasher: hasher,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if b.admin, err = server.CreateAdmin(ctx, b.db, hasher, "Musikschule Bench", store.NewUser{Username: "admin", DisplayName: "Ada Admin"}, password); err != nil {
		return nil, err
	}
	b.school = store.School{ID: b.admin.SchoolID, Name: "Musikschule Bench"}
	if err := b.fill(ctx, hasher); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.url = "http://" + ln.Addr().String()
	b.wsURL = "ws://" + ln.Addr().String() + syncproto.Path
	b.hs = &http.Server{Handler: b.srv.Handler()}
	go b.hs.Serve(ln)
	if err := b.generate(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	b.srv.CloseSync()
	b.hs.Close()
	b.db.Close()
	os.RemoveAll(b.dir)
}

// fill creates the school on the backend: teachers, their courses, the students and the enrollments. Lessons and
// marks come from the teachers' devices (ingest).
func (b *bench) fill(ctx context.Context, hasher *auth.Hasher) error {
	admin := b.admin.Actor()
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	for i := range b.shape.courses {
		u, err := b.db.CreateUser(ctx, admin, store.NewUser{Username: fmt.Sprintf("lehrer%03d", i), DisplayName: fmt.Sprintf("Lehrkraft %d", i),
			Role: store.RoleTeacher, PasswordHash: hash})
		if err != nil {
			return err
		}
		c, err := b.db.CreateCourse(ctx, admin, store.Course{Name: fmt.Sprintf("Klavier %d", i), Subject: "Klavier", TeacherID: u.ID})
		if err != nil {
			return err
		}
		b.teachers, b.courses = append(b.teachers, u), append(b.courses, c.ID)
	}
	student := func(i int) store.Student {
		return store.Student{FirstName: fmt.Sprintf("Vorname%d", i), LastName: fmt.Sprintf("Nachname%d", i), BirthDate: "2015-03-04",
			Class: "4a", GuardianEmail: fmt.Sprintf("eltern%d@example.org", i)}
	}
	n := 0
	for _, c := range b.courses {
		list := make([]store.Student, b.shape.enrolled)
		for j := range list {
			list[j] = student(n)
			n++
		}
		if _, err := b.db.ImportStudents(ctx, admin, list, c); err != nil {
			return err
		}
	}
	rest := make([]store.Student, b.shape.students-n)
	for j := range rest {
		rest[j] = student(n + j)
	}
	_, err = b.db.ImportStudents(ctx, admin, rest, "")
	return err
}

// generate makes on a device's replica what the teachers record during a term, lessons with a mark for every
// pupil, and keeps it as the changes their devices push (store.Change, exactly as a replica's outbox holds them).
func (b *bench) generate(ctx context.Context) error {
	key, _ := store.NewKey()
	dev, err := store.Open(ctx, filepath.Join(b.dir, "generator.db"), key)
	if err != nil {
		return err
	}
	defer dev.Close()
	if err := dev.AdoptSchool(ctx, b.school); err != nil {
		return err
	}
	for _, u := range append([]store.User{b.admin}, b.teachers...) {
		if err := dev.AdoptUser(ctx, u); err != nil {
			return err
		}
	}
	cursor := int64(0)
	for {
		page, err := b.db.Changes(ctx, b.admin.Actor(), cursor, store.MaxChangesPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		cursor = page[len(page)-1].Seq
		if err := dev.ApplyPulled(ctx, b.school.ID, page, cursor); err != nil {
			return err
		}
	}
	base, err := dev.Head(ctx, b.school.ID)
	if err != nil {
		return err
	}
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range b.courses {
		t := b.teachers[i].Actor()
		for l := range b.shape.lessons {
			lesson, err := dev.CreateLesson(ctx, t, c, store.Lesson{Date: day.AddDate(0, 0, l).Format(time.DateOnly), StartTime: "14:00", EndTime: "14:45",
				Topic: fmt.Sprintf("Etüde %d", l+1), Homework: "Tonleitern C-Dur und a-Moll üben"})
			if err != nil {
				return err
			}
			if _, err := dev.MarkAllPresent(ctx, t, lesson.ID); err != nil {
				return err
			}
		}
	}
	byCourse := map[string][]store.Change{}
	for cursor := base; ; {
		page, err := dev.Changes(ctx, b.admin.Actor(), cursor, store.MaxChangesPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		cursor = page[len(page)-1].Seq
		for _, c := range page {
			byCourse[c.ScopeID] = append(byCourse[c.ScopeID], c)
		}
	}
	for _, c := range b.courses {
		if len(byCourse[c]) != b.shape.lessons*(1+b.shape.enrolled) {
			return fmt.Errorf("course %s: %d changes generated", c, len(byCourse[c]))
		}
		b.pushes = append(b.pushes, byCourse[c])
	}
	return nil
}

// session is a logged-in client: its cookie and the address it comes from.
type session struct {
	user   store.User
	cookie string
	ip     string
}

// login logs a user in through the HTTP API, as a browser or the desktop app does.
func (b *bench) login(u store.User) (session, error) {
	b.sessions++
	n := b.sessions
	s := session{user: u, ip: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)}
	body, _ := json.Marshal(map[string]string{"username": u.Username, "password": password})
	req, _ := http.NewRequest(http.MethodPost, b.url+"/api/v1/session", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", s.ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("login %s: %s", u.Username, resp.Status)
	}
	var parts []string
	for _, c := range resp.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	s.cookie = strings.Join(parts, "; ")
	return s, nil
}

func (b *bench) logins(u store.User, n int) ([]session, error) {
	out := make([]session, n)
	for i := range out {
		s, err := b.login(u)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// dialOptions are a client's: its session, its address, and permessage-deflate offered as the desktop app and
// browsers do.
func (s session) dialOptions() *websocket.DialOptions {
	return &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {s.cookie}, "X-Forwarded-For": {s.ip}},
		CompressionMode: websocket.CompressionNoContextTakeover}
}

func (b *bench) dial(ctx context.Context, s session) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, b.wsURL, s.dialOptions())
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(syncproto.MaxFrame)
	return ws, nil
}

// hello opens a sync session on ws and waits for the end of the catch-up.
func hello(ctx context.Context, ws *websocket.Conn, cursor int64) error {
	if err := writeJSON(ctx, ws, syncproto.Message{Type: syncproto.TypeHello, Version: syncproto.Version, Cursor: cursor,
		Inventory: &syncproto.Inventory{Name: "bench", OS: "linux", Model: "bench", AppVersion: "bench"}}); err != nil {
		return err
	}
	for {
		_, frame, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		var m syncproto.Message
		if err := json.Unmarshal(frame, &m); err != nil {
			return err
		}
		switch m.Type {
		case syncproto.TypeChanges:
			if !m.More {
				return nil
			}
		case syncproto.TypeError:
			return errors.New("sync refused: " + m.Code + ": " + m.Message)
		}
	}
}

func writeJSON(ctx context.Context, ws *websocket.Conn, m syncproto.Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return ws.Write(ctx, websocket.MessageText, raw)
}
