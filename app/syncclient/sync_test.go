package syncclient_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"pult/app/syncclient"
	"pult/backend/auth"
	"pult/backend/server"
	"pult/store"
	"pult/store/syncproto"
)

// The sync tests run real clients, each with its own replica file, against a real backend served on loopback.

const password = "correct horse battery"

type world struct {
	t        testing.TB
	db       *store.DB
	srv      *server.Server
	url      string
	hs       *http.Server
	school   store.School
	admin    store.Actor
	t1, t2   store.User
	course1  string
	course2  string
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
	w.admin = admin.Actor()
	w.school = store.School{ID: admin.SchoolID, Name: "Musikschule Tal"}
	hash, _ := hasher.Hash(ctx, password)
	for i, name := range []string{"t.one", "t.two"} {
		u, err := db.CreateUser(ctx, w.admin, store.NewUser{Username: name, DisplayName: name, Role: store.RoleTeacher, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.CreateCourse(ctx, w.admin, store.Course{Name: "Kurs " + name, TeacherID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.CreateStudent(ctx, w.admin, store.Student{FirstName: "Kind", LastName: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Enroll(ctx, w.admin, c.ID, st.ID); err != nil {
			t.Fatal(err)
		}
		w.students = append(w.students, st)
		if i == 0 {
			w.t1, w.course1 = u, c.ID
		} else {
			w.t2, w.course2 = u, c.ID
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.url = "http://" + ln.Addr().String()
	w.hs = &http.Server{Handler: w.srv.Handler()}
	go w.hs.Serve(ln)
	t.Cleanup(func() { w.srv.CloseSync(); w.hs.Close() })
	return w
}

// device is one replica with its sync client, logged in as a user.
type device struct {
	t      testing.TB
	name   string
	path   string
	db     *store.DB
	user   store.User
	http   *http.Client
	client *syncclient.Client
	cancel context.CancelFunc
	done   chan error
	w      *world
}

func (w *world) device(name string, u store.User) *device {
	w.t.Helper()
	ctx := context.Background()
	key, _ := store.NewKey()
	path := filepath.Join(w.t.TempDir(), name+".db")
	db, err := store.Open(ctx, path, key)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { db.Close() })
	if err := db.AdoptSchool(ctx, w.school); err != nil {
		w.t.Fatal(err)
	}
	if err := db.AdoptUser(ctx, u); err != nil {
		w.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	d := &device{t: w.t, name: name, path: path, db: db, user: u, http: &http.Client{Jar: jar}, w: w}
	body := `{"username":"` + u.Username + `","password":"` + password + `"}`
	resp, err := d.http.Post(w.url+"/api/v1/session", "application/json", strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("login %s: %d", u.Username, resp.StatusCode)
	}
	return d
}

func (d *device) actor() store.Actor { return d.user.Actor() }

// start runs the device's sync client until stop.
func (d *device) start() {
	d.t.Helper()
	d.client = syncclient.New(syncclient.Config{
		DB: d.db, SchoolID: d.w.school.ID, Log: slog.New(slog.DiscardHandler),
		Inventory: syncproto.Inventory{Name: d.name, OS: "linux", Model: "test", AppVersion: "test"},
		Dial: func(ctx context.Context) (*websocket.Conn, error) {
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(d.w.url, "http")+syncproto.Path, &websocket.DialOptions{HTTPClient: d.http})
			return ws, err
		},
	})
	d.db.OnChange(func(string) { d.client.Kick() })
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() { d.done <- d.client.Run(ctx) }()
	d.t.Cleanup(d.stop)
}

func (d *device) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
	d.cancel = nil
	d.db.OnChange(nil)
}

// eventually waits until cond holds; sync is asynchronous, so tests wait for the state a user would see.
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

func (d *device) lessonTopic(id string) string {
	l, err := d.db.Lesson(context.Background(), d.actor(), id)
	if err != nil {
		return ""
	}
	return l.Topic
}

func (d *device) synced() bool {
	s := d.client.Status()
	return s.Online && !s.CatchingUp && s.Pending == 0
}

// TestThreeDevices: two devices of one teacher and one of another, online and offline: every edit arrives
// everywhere it may, a teacher's device never receives another teacher's course, and a push outside the user's
// rights is refused per record while the rest applies.
func TestThreeDevices(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	laptop, shared, other := w.device("laptop", w.t1), w.device("second-laptop", w.t1), w.device("other", w.t2)
	for _, d := range []*device{laptop, shared, other} {
		d.start()
	}
	for _, d := range []*device{laptop, shared, other} {
		eventually(t, d.name+" synced", d.synced)
	}
	if _, err := laptop.db.Course(ctx, laptop.actor(), w.course1); err != nil {
		t.Fatalf("the teacher's course did not arrive: %v", err)
	}

	// Online: an edit on one laptop shows on the other.
	l, err := laptop.db.CreateLesson(ctx, laptop.actor(), w.course1, store.Lesson{Date: "2026-11-30", Topic: "Tonleitern"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the lesson on the second laptop", func() bool { return shared.lessonTopic(l.ID) == "Tonleitern" })
	if got, _ := w.db.Lesson(ctx, w.t1.Actor(), l.ID); got.Topic != "Tonleitern" {
		t.Errorf("the server's lesson: %+v", got)
	}

	// Offline: the second laptop edits while disconnected, the server (a browser) edits too; both arrive.
	shared.stop()
	if _, err := shared.db.MarkAttendance(ctx, shared.actor(), l.ID, w.students[0].ID, store.AttendanceMark{Status: store.Excused}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.UpdateLesson(ctx, w.t1.Actor(), l.ID, store.LessonPatch{Homework: ptr("Seite 12")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the browser's homework on the laptop", func() bool {
		got, _ := laptop.db.Lesson(ctx, laptop.actor(), l.ID)
		return got.Homework == "Seite 12"
	})
	shared.start()
	eventually(t, "the offline mark on the laptop", func() bool {
		marks, _ := laptop.db.Attendance(ctx, laptop.actor(), l.ID)
		return len(marks) == 1 && marks[0].Status == store.Excused
	})
	eventually(t, "the homework on the second laptop", func() bool {
		got, _ := shared.db.Lesson(ctx, shared.actor(), l.ID)
		return got.Homework == "Seite 12"
	})

	// The other teacher's device has nothing of course 1.
	if _, err := other.db.Lesson(ctx, other.actor(), l.ID); store.ErrorCode(err) != store.CodeNotFound {
		t.Errorf("the other teacher's device holds the lesson: %v", err)
	}
	cursor, _ := other.db.Cursor(ctx, w.school.ID)
	if changes, _ := other.db.Changes(ctx, w.admin, 0, 0); len(changes) == 0 || cursor == 0 {
		t.Fatal("the other device received nothing at all")
	} else {
		for _, c := range changes {
			if c.ScopeID == w.course1 || c.ID == w.students[0].ID {
				t.Errorf("the other teacher's device received %s %s of course 1", c.Kind, c.ID)
			}
		}
	}

	// A push outside the rights, sent as a tampered client would: a lesson in course 1 beside a valid one of
	// course 2. The first is refused with its reason, the second applies.
	forged := lessonChange(w.course1, "Eingeschleust")
	valid := lessonChange(w.course2, "Eigenes")
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.url, "http")+syncproto.Path, &websocket.DialOptions{HTTPClient: other.http})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	send := func(m syncproto.Message) {
		raw, _ := json.Marshal(m)
		if err := ws.Write(ctx, websocket.MessageText, raw); err != nil {
			t.Fatal(err)
		}
	}
	send(syncproto.Message{Type: syncproto.TypeHello, Version: syncproto.Version, Cursor: syncproto.CursorLive})
	send(syncproto.Message{Type: syncproto.TypePush, Batch: "b1", Changes: []store.Change{forged, valid}})
	var ack syncproto.Message
	for ack.Type != syncproto.TypeAck {
		_, frame, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ack = syncproto.Message{}
		json.Unmarshal(frame, &ack)
	}
	if len(ack.Results) != 2 || ack.Results[0].Error == nil || ack.Results[0].Error.Code != store.CodeNotFound || ack.Results[0].Current != nil ||
		ack.Results[1].Error != nil || ack.Batch != "b1" {
		t.Fatalf("ack: %+v", ack)
	}
	if _, err := w.db.Lesson(ctx, w.admin, forged.ID); store.ErrorCode(err) != store.CodeNotFound {
		t.Errorf("the forged lesson reached the server: %v", err)
	}
	eventually(t, "the valid lesson on the other teacher's device", func() bool { return other.lessonTopic(valid.ID) == "Eigenes" })
	if laptop.lessonTopic(valid.ID) != "" || laptop.lessonTopic(forged.ID) != "" {
		t.Error("the first teacher's laptop received the other teacher's lesson")
	}
}

// lessonChange is a new lesson as a device would push it.
func lessonChange(course, topic string) store.Change {
	id := store.NewID()
	fields := map[string]json.RawMessage{}
	clocks := map[string]string{}
	for k, v := range map[string]string{"id": id, "courseId": course, "date": "2026-12-01", "topic": topic, "startTime": "", "endTime": "", "homework": "", "note": ""} {
		fields[k], _ = json.Marshal(v)
		clocks[k] = "0190ffffffff-000000-test"
	}
	return store.Change{ID: id, Kind: store.KindLesson, ScopeID: course, ParentID: course, Seq: 1, Clocks: clocks, Fields: fields}
}

func ptr[T any](v T) *T { return &v }

// TestLostCourseLeavesDevice: the admin gives a teacher's course to the other teacher while the teacher's device
// is connected. Soon the device holds nothing of the course and not its student — neither in its file, read past
// the store, nor in its store, read as an admin would — while the other teacher's device receives it all, and
// the server loses nothing.
func TestLostCourseLeavesDevice(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	l, err := w.db.CreateLesson(ctx, w.t1.Actor(), w.course1, store.Lesson{Date: "2026-11-30", Topic: "Tonleitern"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.MarkAllPresent(ctx, w.t1.Actor(), l.ID); err != nil {
		t.Fatal(err)
	}
	laptop, other := w.device("laptop", w.t1), w.device("other", w.t2)
	pupil := w.students[0].ID
	holds := func(d *device, studentID string) bool {
		list, err := d.db.Students(ctx, w.admin)
		return err == nil && slices.ContainsFunc(list, func(st store.Student) bool { return st.ID == studentID })
	}
	for _, d := range []*device{laptop, other} {
		d.start()
		eventually(t, d.name+" synced", d.synced)
	}
	if laptop.lessonTopic(l.ID) != "Tonleitern" || !holds(laptop, pupil) {
		t.Fatal("the course did not reach the teacher's laptop")
	}

	if _, err := w.db.UpdateCourse(ctx, w.admin, w.course1, store.CoursePatch{TeacherID: &w.t2.ID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the course's student leaves the laptop", func() bool { return !holds(laptop, pupil) })
	raw, err := sql.Open("sqlite", laptop.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var rows int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM records WHERE scope_id = ? OR id = ?`, w.course1, pupil).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("the laptop's file still holds %d rows of the course and its student", rows)
	}
	if _, err := laptop.db.Lesson(ctx, w.admin, l.ID); store.ErrorCode(err) != store.CodeNotFound {
		t.Errorf("the lesson read from the laptop's store: %v", err)
	}
	if _, err := laptop.db.Course(ctx, w.admin, w.course1); store.ErrorCode(err) != store.CodeNotFound {
		t.Errorf("the course read from the laptop's store: %v", err)
	}
	eventually(t, "the course on the other teacher's device", func() bool {
		marks, err := other.db.Attendance(ctx, other.actor(), l.ID)
		return other.lessonTopic(l.ID) == "Tonleitern" && err == nil && len(marks) == 1 && holds(other, pupil)
	})
	eventually(t, "the laptop synced", laptop.synced)
	if got, err := w.db.Lesson(ctx, w.admin, l.ID); err != nil || got.Topic != "Tonleitern" {
		t.Errorf("the server's lesson after the laptop forgot it: %+v %v", got, err)
	}
}
