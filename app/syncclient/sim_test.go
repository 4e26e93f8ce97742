package syncclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"pult/app/syncclient"
	"pult/store"
	"pult/store/syncproto"
)

// The seeded simulation of sync (issue 5): a real backend store and three or four device replicas (real SQLite
// files), two teachers (one with two devices) and sometimes the admin's device. Devices and the server (a browser)
// edit through the store's API as their users would, while a random schedule decides when a device pulls, pushes,
// loses or delays an acknowledgement, goes offline, restarts (the store is closed and opened again from its
// file), and how far its clock is off. At the end everything heals and syncs until nothing moves; then every
// replica must show its user exactly what the server shows them and hold nothing they no longer see, every
// acknowledged change must be on the server (or be overtaken by a later one), and no record may exist twice.
//
// The transport is the one the real client and server use, called in-process so that hundreds of seeds run in
// seconds: the server's Changes and Ingest, the replica's ApplyPulled, Outbox and Acknowledge, every message
// through its JSON encoding. TestSimulationWebsocket runs a few seeds through the real client and server.
//
//	go test ./app/syncclient -run 'TestSimulation$'                      # 200 seeds (PULT_SIM_SEEDS / -sim.seeds)
//	go test ./app/syncclient -run 'TestSimulation$' -sim.seed=42 -v      # replay one seed (PULT_SIM_SEED)
//	go test ./app/syncclient -run 'TestSimulation$' -sim.first=1000 -sim.seeds=5000   # other seeds

var (
	simSeedsFlag = flag.Int("sim.seeds", 0, "TestSimulation: number of seeds (default 200, or $PULT_SIM_SEEDS)")
	simFirstFlag = flag.Uint64("sim.first", 0, "TestSimulation: first seed (default 1, or $PULT_SIM_FIRST)")
	simSeedFlag  = flag.Uint64("sim.seed", 0, "TestSimulation: replay this seed only (or $PULT_SIM_SEED)")
	simTraceFlag = flag.Bool("sim.trace", false, "TestSimulation: log every step, not only those of a failed seed")
)

const defaultSimSeeds = 200

// simSeeds returns the seeds to run: one to replay, or a range.
func simSeeds(t *testing.T, def int, prefix string) []uint64 {
	env := func(name string) uint64 {
		v := os.Getenv(prefix + name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s%s=%q: %v", prefix, name, v, err)
		}
		return n
	}
	if *simSeedFlag != 0 {
		return []uint64{*simSeedFlag}
	}
	if seed := env("SEED"); seed != 0 {
		return []uint64{seed}
	}
	n, first := uint64(def), uint64(1)
	if *simSeedsFlag > 0 {
		n = uint64(*simSeedsFlag)
	} else if v := env("SEEDS"); v != 0 {
		n = v
	}
	if *simFirstFlag != 0 {
		first = *simFirstFlag
	} else if v := env("FIRST"); v != 0 {
		first = v
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = first + uint64(i)
	}
	return seeds
}

func TestSimulation(t *testing.T) {
	for _, seed := range simSeeds(t, defaultSimSeeds, "PULT_SIM_") {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			var s *sim
			t.Cleanup(func() {
				if t.Failed() {
					if s != nil {
						s.dumpTrace()
					}
					t.Logf("seed %d failed; replay it with:\n\tgo test ./app/syncclient -run 'TestSimulation$' -sim.seed=%d -v\n\t(or PULT_SIM_SEED=%d go test ./app/syncclient -run 'TestSimulation$' -v)", seed, seed, seed)
				}
			})
			s = newSim(t, seed)
			s.run()
		})
	}
}

// sim is one seed's world.
type sim struct {
	t    testing.TB
	seed uint64
	rng  *rand.Rand
	ctx  context.Context
	dir  string

	now time.Time // the true time; every clock reads it, devices with their skew

	server     *store.DB
	serverPath string
	serverKey  store.Key
	serverSeen tracked
	school     store.School
	admin      store.User
	teachers   []store.User
	devices    []*simDevice

	ordinal   map[string]int  // record id → order of creation, so that picks do not depend on random ids
	names     int             // counter for distinct values
	acked     []ackedChange   // what the server acknowledged, to find on it at the end
	written   []ackedChange   // what devices wrote: unless the server refused the record, it must be there too
	refused   map[string]bool // records of which the server refused a change
	refusedMu sync.Mutex
	racy      bool // sync runs beside the edits (the real transport)
	trace     []string
	step      int
}

// simDevice is one replica and the state of its connection.
type simDevice struct {
	name     string
	user     store.User
	path     string
	key      store.Key
	db       *store.DB
	skew     time.Duration
	online   bool
	inflight *simPush // a push the server answered whose acknowledgement has not arrived yet
	seen     tracked
	status   func() syncclient.Status // the real client's (TestSimulationWebsocket)
}

type simPush struct {
	sent    []store.Change
	results []store.PushResult
}

// ackedChange is a record as a device pushed it and the server accepted it, or as a browser's write left it.
type ackedChange struct {
	who  string
	step int
	c    store.Change
}

// tracked follows a store's records as they change, to check every local edit's stamps.
type tracked struct {
	seq   int64
	known map[string]store.Change
}

func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d, step %d: %s", s.seed, s.step, fmt.Sprintf(format, args...))
}

// op says whether an edit (or a read for one) went through. Where sync runs beside the edits (the real
// transport), what the edit was about may be gone the moment after it was picked: the user is told so, and
// that is no failure.
func (s *sim) op(err error, what string) bool {
	s.t.Helper()
	if err == nil {
		return true
	}
	if code := store.ErrorCode(err); s.racy && (code == store.CodeNotFound || code == store.CodeInvalid) {
		s.logf("%s: %v", what, err)
		return false
	}
	s.fatalf("%s: %v", what, err)
	return false
}

func (s *sim) must(err error, what string) {
	s.t.Helper()
	if err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

func (s *sim) logf(format string, args ...any) {
	line := fmt.Sprintf("%4d %s: %s", s.step, s.now.Format("15:04:05.000"), fmt.Sprintf(format, args...))
	s.trace = append(s.trace, line)
	if *simTraceFlag {
		s.t.Log(line)
	}
}

func (s *sim) dumpTrace() {
	if *simTraceFlag {
		return
	}
	from := max(0, len(s.trace)-150)
	s.t.Logf("the last %d of %d steps:\n%s", len(s.trace)-from, len(s.trace), strings.Join(s.trace[from:], "\n"))
}

func (s *sim) name(prefix string) string {
	s.names++
	return fmt.Sprintf("%s %d", prefix, s.names)
}

func (s *sim) chance(p float64) bool { return s.rng.Float64() < p }

// open opens a store file and sets its sync clock to the simulated time plus skew.
func (s *sim) open(path string, key store.Key, skew *time.Duration) *store.DB {
	s.t.Helper()
	db, err := store.Open(s.ctx, path, key)
	s.must(err, "open "+filepath.Base(path))
	db.SetSyncClock(func() time.Time { return s.now.Add(*skew) })
	return db
}

var noSkew time.Duration

func newSim(t testing.TB, seed uint64) *sim {
	ctx := context.Background()
	s := &sim{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), ctx: ctx, dir: t.TempDir(),
		now: time.Date(2026, 11, 2, 7, 30, 0, 0, time.UTC), ordinal: map[string]int{}, refused: map[string]bool{}, serverSeen: tracked{known: map[string]store.Change{}}}
	var err error
	s.serverKey, err = store.NewKey()
	s.must(err, "key")
	s.serverPath = filepath.Join(s.dir, "server.db")
	s.server = s.open(s.serverPath, s.serverKey, &noSkew)
	t.Cleanup(func() { s.server.Close() })
	s.school, err = s.server.CreateSchool(ctx, "Musikschule Simulation")
	s.must(err, "school")
	sys := store.SchoolAdmin(s.school.ID)
	mk := func(username string, role store.Role) store.User {
		u, err := s.server.CreateUser(ctx, sys, store.NewUser{Username: username, DisplayName: username, Role: role, PasswordHash: "$argon2id$sim"})
		s.must(err, "user")
		return u
	}
	s.admin = mk("admin", store.RoleAdmin)
	s.teachers = []store.User{mk("t.one", store.RoleTeacher), mk("t.two", store.RoleTeacher)}
	a := s.admin.Actor()
	var courses []string
	for i, teacher := range []int{0, 1, 0} {
		c, err := s.server.CreateCourse(ctx, a, store.Course{Name: fmt.Sprintf("Kurs %d", i+1), TeacherID: s.teachers[teacher].ID})
		s.must(err, "course")
		s.register(c.ID)
		courses = append(courses, c.ID)
	}
	for i := range 6 {
		st, err := s.server.CreateStudent(ctx, a, store.Student{FirstName: fmt.Sprintf("Kind %d", i+1), LastName: "Sim"})
		s.must(err, "student")
		s.register(st.ID)
		for _, c := range courses {
			if s.chance(0.5) {
				s.must(s.server.Enroll(ctx, a, c, st.ID), "enroll")
			}
		}
	}
	for _, c := range courses {
		l, err := s.server.CreateLesson(ctx, a, c, store.Lesson{Date: "2026-11-02", Topic: "Erste Stunde"})
		s.must(err, "lesson")
		s.register(l.ID)
	}
	s.observe(s.server, &s.serverSeen, "")

	users := []store.User{s.teachers[0], s.teachers[0], s.teachers[1]}
	names := []string{"t1-laptop", "t1-second", "t2-laptop"}
	if s.chance(0.5) {
		users, names = append(users, s.admin), append(names, "admin-laptop")
	}
	for i, u := range users {
		d := &simDevice{name: names[i], user: u, path: filepath.Join(s.dir, names[i]+".db"), online: true,
			skew: s.randomSkew(), seen: tracked{known: map[string]store.Change{}}}
		d.key, err = store.NewKey()
		s.must(err, "key")
		d.db = s.open(d.path, d.key, &d.skew)
		t.Cleanup(func() { d.db.Close() })
		s.must(d.db.AdoptSchool(ctx, s.school), "adopt school")
		adopt := []store.User{u}
		if u.Role == store.RoleAdmin {
			adopt = append(adopt, s.teachers...) // the admin's device assigns courses to them
		}
		for _, au := range adopt {
			s.must(d.db.AdoptUser(ctx, au), "adopt user")
		}
		s.devices = append(s.devices, d)
		s.logf("%s (%s, clock %+v)", d.name, u.Username, d.skew)
	}
	return s
}

// randomSkew is how far a device's clock is off: up to five minutes either way.
func (s *sim) randomSkew() time.Duration {
	return time.Duration(s.rng.Int64N(int64(10*time.Minute))) - 5*time.Minute
}

func (s *sim) register(id string) {
	if _, ok := s.ordinal[id]; !ok {
		s.ordinal[id] = len(s.ordinal)
	}
}

// actorOf is who reads a store whole, tombstones and all, for the checks.
func (s *sim) actorOf(*store.DB) store.Actor { return store.SchoolAdmin(s.school.ID) }

// allChanges reads every record of a store after a sequence number, as the actor may see them.
func (s *sim) allChanges(db *store.DB, a store.Actor, after int64) []store.Change {
	s.t.Helper()
	var out []store.Change
	for {
		page, err := db.Changes(s.ctx, a, after, store.MaxChangesPage)
		s.must(err, "changes")
		out = append(out, page...)
		if len(page) < store.MaxChangesPage {
			return out
		}
		after = page[len(page)-1].Seq
	}
}

// observe reads what changed in a store since it was last observed. For a local edit (who is the editor) it
// checks that every new stamp sorts after the one it replaced, whatever the clock says: a user's own edits must
// never be reordered. What a browser's write left on the server counts as acknowledged.
func (s *sim) observe(db *store.DB, tr *tracked, who string) []store.Change {
	s.t.Helper()
	changed := s.allChanges(db, s.actorOf(db), tr.seq)
	for _, c := range changed {
		if prev, ok := tr.known[c.ID]; ok && who != "" && !s.wasRefused(c.ID) {
			for f, stamp := range c.Clocks {
				if old := prev.Clocks[f]; stamp != old && stamp < old {
					s.fatalf("%s's edit of %s %s stamped %q with %s, before the stamp %s of the value it replaced\nbefore %s\nafter  %s",
						who, c.Kind, c.ID, f, stamp, old, dumpChange(prev), dumpChange(c))
				}
			}
		}
		tr.known[c.ID] = c
		tr.seq = max(tr.seq, c.Seq)
		s.register(c.ID)
		switch {
		case who == "":
		case db == s.server:
			s.acked = append(s.acked, ackedChange{who: who, step: s.step, c: c})
		default:
			s.written = append(s.written, ackedChange{who: who, step: s.step, c: c})
		}
	}
	return changed
}

func (s *sim) wasRefused(id string) bool {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	return s.refused[id]
}

func (s *sim) noteRefused(id string) {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	s.refused[id] = true
}

// roundTrip sends v through JSON, as every message travels.
func roundTrip[T any](s *sim, v T) T {
	s.t.Helper()
	raw, err := json.Marshal(v)
	s.must(err, "encode")
	var out T
	s.must(json.Unmarshal(raw, &out), "decode")
	return out
}

func (s *sim) run() {
	steps := 120 + s.rng.IntN(120)
	for s.step = 1; s.step <= steps; s.step++ {
		s.now = s.now.Add(time.Duration(s.rng.IntN(3000)) * time.Millisecond)
		s.randomStep()
	}
	s.heal()
	s.check()
}

func (s *sim) randomStep() {
	d := s.devices[s.rng.IntN(len(s.devices))]
	switch r := s.rng.IntN(100); {
	case r < 30:
		s.deviceEdit(d)
	case r < 40:
		s.browserEdit()
	case r < 46:
		s.adminEdit(s.server, s.admin.Actor(), "browser(admin)")
	case r < 60:
		if d.online && d.inflight == nil {
			s.push(d, false)
		}
	case r < 74:
		if d.online {
			s.pull(d, false)
		}
	case r < 82:
		if d.inflight != nil && d.online {
			s.deliverAck(d)
		}
	case r < 90:
		d.online = !d.online
		if !d.online {
			s.disconnect(d, "goes offline")
		} else {
			s.logf("%s comes online", d.name)
		}
	case r < 94:
		s.restartDevice(d)
	case r < 95:
		s.restartServer()
	default:
		jump := time.Duration(s.rng.IntN(20)) * time.Minute
		s.now = s.now.Add(jump)
		s.logf("time passes: %v", jump)
	}
}

func (s *sim) disconnect(d *simDevice, why string) {
	if d.inflight != nil {
		s.logf("%s %s; the acknowledgement of its push is lost", d.name, why)
	} else {
		s.logf("%s %s", d.name, why)
	}
	d.online, d.inflight = false, nil
}

func (s *sim) restartDevice(d *simDevice) {
	s.must(d.db.Close(), "close "+d.name)
	if s.chance(0.3) {
		d.skew = s.randomSkew() // the clock was set anew, maybe backwards
	}
	d.db = s.open(d.path, d.key, &d.skew)
	d.inflight = nil
	d.online = s.chance(0.5)
	s.logf("%s restarts (clock %+v, online %v)", d.name, d.skew, d.online)
}

func (s *sim) restartServer() {
	s.must(s.server.Close(), "close server")
	s.server = s.open(s.serverPath, s.serverKey, &noSkew)
	for _, d := range s.devices {
		d.inflight = nil // every connection dropped; devices come back with the schedule
	}
	s.logf("the server restarts")
}

// pull fetches what changed after the device's cursor, in pages, the way the server sends them: a catch-up reads
// the feed as the user, live changes are read once for the whole school and filtered for each connection. A
// partial pull stops early, as when the connection drops during a catch-up.
func (s *sim) pull(d *simDevice, full bool) int {
	cursor, err := d.db.Cursor(s.ctx, s.school.ID)
	s.must(err, "cursor")
	size := syncproto.BatchSize
	if !full && s.chance(0.5) {
		size = 1 + s.rng.IntN(10)
	}
	live := s.chance(0.5)
	n := 0
	for {
		var page store.ChangesPage
		if live {
			page, err = s.server.ChangesAfter(s.ctx, store.SchoolAdmin(s.school.ID), cursor, size)
			s.must(err, "server feed")
			page.Changes, err = s.server.FilterChanges(s.ctx, d.user.Actor(), page.Changes)
			s.must(err, "filter changes")
		} else {
			page, err = s.server.ChangesAfter(s.ctx, d.user.Actor(), cursor, size)
			s.must(err, "server changes")
		}
		if page.Cursor == cursor {
			break
		}
		m := roundTrip(s, syncproto.Message{Type: syncproto.TypeChanges, Changes: page.Changes, Cursor: page.Cursor, More: page.More})
		s.must(d.db.ApplyPulled(s.ctx, s.school.ID, m.Changes, m.Cursor), d.name+" applies pulled changes")
		cursor = page.Cursor
		n += len(page.Changes)
		s.observe(d.db, &d.seen, "")
		if !full && s.chance(0.2) {
			s.logf("%s pulls %d changes (up to %d), then the connection drops", d.name, n, cursor)
			s.disconnect(d, "is cut off")
			return n
		}
		if !page.More {
			break
		}
	}
	if n > 0 {
		s.logf("%s pulls %d changes (up to %d)", d.name, n, cursor)
	}
	return n
}

// push sends a batch of the device's outbox; the server applies it, and its acknowledgement arrives at once,
// later (the device may pull in between) or never (the connection drops: the device resends later).
func (s *sim) push(d *simDevice, reliable bool) int {
	batch, err := d.db.Outbox(s.ctx, s.school.ID, store.MaxPushBatch)
	s.must(err, "outbox")
	if len(batch) == 0 {
		return 0
	}
	m := roundTrip(s, syncproto.Message{Type: syncproto.TypePush, Batch: "1", Changes: batch})
	results, err := s.server.Ingest(s.ctx, d.user.Actor(), m.Changes)
	s.must(err, "ingest")
	s.observe(s.server, &s.serverSeen, "")
	s.checkRefusals(d, m.Changes, results)
	if !reliable && s.chance(0.1) {
		// The same batch arrives again (the device resent it after a crash): it changes nothing, and gets the
		// same answers.
		head, err := s.server.Head(s.ctx, s.school.ID)
		s.must(err, "head")
		again, err := s.server.Ingest(s.ctx, d.user.Actor(), m.Changes)
		s.must(err, "ingest again")
		after, err := s.server.Head(s.ctx, s.school.ID)
		s.must(err, "head")
		for i := range again {
			if (again[i].Error == nil) != (results[i].Error == nil) {
				s.fatalf("%s's batch pushed again: %s %s answered %+v, before %+v", d.name, m.Changes[i].Kind, m.Changes[i].ID, again[i].Error, results[i].Error)
			}
		}
		if after != head {
			moved := s.allChanges(s.server, store.SchoolAdmin(s.school.ID), head)
			var prev []store.Change
			for _, c := range moved {
				prev = append(prev, s.serverSeen.known[c.ID])
			}
			s.fatalf("%s's batch pushed again moved the server from %d to %d:\nsent %s\nbefore %s\nafter %s", d.name, head, after, dumpJSON(m.Changes), dumpJSON(prev), dumpJSON(moved))
		}
		s.logf("%s's batch arrives twice", d.name)
	}
	ack := roundTrip(s, syncproto.Message{Type: syncproto.TypeAck, Batch: "1", Results: results})
	d.inflight = &simPush{sent: m.Changes, results: ack.Results}
	switch r := s.rng.Float64(); {
	case reliable || r < 0.7:
		s.logf("%s pushes %d changes", d.name, len(batch))
		s.deliverAck(d)
	case r < 0.85:
		s.logf("%s pushes %d changes; the server applies them", d.name, len(batch))
		s.disconnect(d, "loses the connection before the acknowledgement")
	default:
		s.logf("%s pushes %d changes; the acknowledgement is on its way", d.name, len(batch))
	}
	return len(batch)
}

func (s *sim) deliverAck(d *simDevice) {
	p := d.inflight
	d.inflight = nil
	s.must(d.db.Acknowledge(s.ctx, s.school.ID, p.results), d.name+" acknowledges")
	accepted := 0
	for i, res := range p.results {
		if res.Error == nil {
			accepted++
			s.acked = append(s.acked, ackedChange{who: d.name, step: s.step, c: p.sent[i]})
		} else if res.Current == nil {
			delete(d.seen.known, res.ID) // the device dropped its version (if it did not change it again)
		}
	}
	s.logf("%s gets the acknowledgement: %d accepted, %d refused", d.name, accepted, len(p.results)-accepted)
	s.observe(d.db, &d.seen, "")
}

// checkRefusals fails on a refusal that the server's state does not explain: devices here only write what
// their user may, with valid data, so a refusal is right only when the course is no longer theirs, the lesson or
// the enrollment of a mark is gone.
func (s *sim) checkRefusals(d *simDevice, sent []store.Change, results []store.PushResult) {
	a := d.user.Actor()
	for i, res := range results {
		if res.Error == nil {
			continue
		}
		c := sent[i]
		s.noteRefused(c.ID)
		s.logf("%s: the server refuses %s %s: %s %s %v", d.name, c.Kind, c.ID, res.Error.Code, res.Error.Message, res.Error.Fields)
		_, courseErr := s.server.Course(s.ctx, a, c.ScopeID)
		explained := courseErr != nil
		switch {
		case explained:
		case res.Error.Code == store.CodeNotFound && c.Kind == store.KindEnrollment:
			var e store.Enrollment
			b, _ := json.Marshal(c.Fields)
			json.Unmarshal(b, &e)
			students, err := s.server.Students(s.ctx, s.admin.Actor())
			s.must(err, "students")
			explained = !slices.ContainsFunc(students, func(st store.Student) bool { return st.ID == e.StudentID })
		case res.Error.Code == store.CodeNotFound && c.Kind == store.KindAttendance:
			_, err := s.server.Lesson(s.ctx, a, c.ParentID)
			explained = err != nil
		case res.Error.Code == store.CodeInvalid && res.Error.Fields["studentId"] == store.FieldNotEnrolled:
			var m store.AttendanceMark
			b, _ := json.Marshal(c.Fields)
			json.Unmarshal(b, &m)
			students, err := s.server.CourseStudents(s.ctx, a, c.ScopeID)
			s.must(err, "course students")
			explained = !slices.ContainsFunc(students, func(st store.Student) bool { return st.ID == m.StudentID })
		}
		if !explained {
			s.fatalf("the server refused %s's change of %s %s (%s: %s %v) though the user may write it: %s",
				d.name, c.Kind, c.ID, res.Error.Code, res.Error.Message, res.Error.Fields, dumpChange(c))
		}
	}
}

func dumpJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func dumpChange(c store.Change) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Edits.

func sortByOrdinal[T any](s *sim, list []T, id func(T) string) []T {
	sort.SliceStable(list, func(i, j int) bool {
		oi, iok := s.ordinal[id(list[i])]
		oj, jok := s.ordinal[id(list[j])]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return id(list[i]) < id(list[j])
	})
	return list
}

func pick[T any](s *sim, list []T) T { return list[s.rng.IntN(len(list))] }

func (s *sim) courses(db *store.DB, a store.Actor) []store.CourseSummary {
	list, err := db.Courses(s.ctx, a)
	if !s.op(err, "courses") {
		return nil
	}
	return sortByOrdinal(s, list, func(c store.CourseSummary) string { return c.ID })
}

func (s *sim) lessons(db *store.DB, a store.Actor, course string) []store.Lesson {
	list, err := db.Lessons(s.ctx, a, course)
	if !s.op(err, "lessons") {
		return nil
	}
	return sortByOrdinal(s, list, func(l store.Lesson) string { return l.ID })
}

func (s *sim) courseStudents(db *store.DB, a store.Actor, course string) []store.Student {
	list, err := db.CourseStudents(s.ctx, a, course)
	if !s.op(err, "course students") {
		return nil
	}
	return sortByOrdinal(s, list, func(st store.Student) string { return st.ID })
}

func (s *sim) deviceEdit(d *simDevice) {
	a := d.user.Actor()
	if a.IsAdmin() && s.chance(0.3) {
		s.adminEdit(d.db, a, d.name)
	} else {
		s.teacherEdit(d.db, a, d.name)
	}
	s.observe(d.db, &d.seen, d.name)
}

// browserEdit is a teacher (or the admin) working in the browser: the same API on the server's store.
func (s *sim) browserEdit() {
	u := pick(s, append([]store.User{s.admin}, s.teachers...))
	s.teacherEdit(s.server, u.Actor(), "browser("+u.Username+")")
}

func (s *sim) randomMark() store.AttendanceMark {
	m := store.AttendanceMark{Status: pick(s, []store.AttendanceStatus{store.Present, store.Late, store.Excused, store.Unexcused})}
	if m.Status == store.Late {
		m.LateMinutes = 1 + s.rng.IntN(30)
	}
	if s.chance(0.3) {
		m.Comment = s.name("Bemerkung")
	}
	return m
}

func (s *sim) randomLesson() store.Lesson {
	l := store.Lesson{Date: fmt.Sprintf("2026-11-%02d", 2+s.rng.IntN(20)), Topic: s.name("Thema")}
	if s.chance(0.5) {
		l.StartTime, l.EndTime = pick(s, []string{"08:00", "09:00", "10:00"}), pick(s, []string{"", "11:00", "12:00"})
	}
	return l
}

// Times a lesson patch picks from: some pairs are invalid (the end before the start), which the user is told.
var (
	startTimes = []string{"", "08:00", "09:00", "10:00", "11:00"}
	endTimes   = []string{"", "09:30", "10:30", "12:00"}
)

func validTimes(start, end string) bool { return start == "" || end == "" || end > start }

func (s *sim) lessonPatch() (store.LessonPatch, string) {
	var p store.LessonPatch
	var what []string
	for len(what) == 0 {
		if s.chance(0.5) {
			p.Topic, what = ptr(s.name("Thema")), append(what, "topic")
		}
		if s.chance(0.3) {
			p.Homework, what = ptr(s.name("Hausaufgabe")), append(what, "homework")
		}
		if s.chance(0.2) {
			p.Note, what = ptr(s.name("Notiz")), append(what, "note")
		}
		if s.chance(0.2) {
			p.Date, what = ptr(fmt.Sprintf("2026-11-%02d", 2+s.rng.IntN(20))), append(what, "date")
		}
		if s.chance(0.2) {
			p.StartTime, what = ptr(pick(s, startTimes)), append(what, "startTime")
		}
		if s.chance(0.2) {
			p.EndTime, what = ptr(pick(s, endTimes)), append(what, "endTime")
		}
	}
	return p, strings.Join(what, ",")
}

// teacherEdit changes lessons and attendance of a course the actor keeps, as it sees them on db.
func (s *sim) teacherEdit(db *store.DB, a store.Actor, who string) {
	ctx := s.ctx
	courses := s.courses(db, a)
	if len(courses) == 0 {
		s.logf("%s has no course", who)
		return
	}
	c := pick(s, courses)
	lessons := s.lessons(db, a, c.ID)
	r := s.rng.IntN(100)
	if len(lessons) == 0 || r < 10 {
		l, err := db.CreateLesson(ctx, a, c.ID, s.randomLesson())
		if !s.op(err, who+" creates a lesson") {
			return
		}
		s.register(l.ID)
		s.logf("%s creates lesson %s in %s", who, l.ID, c.Name)
		s.afterEdit(db, who)
		return
	}
	l := pick(s, lessons)
	if s.chance(0.6) {
		l = pick(s, lessons[:min(2, len(lessons))]) // most edits go to a few lessons, so that they collide
	}
	students := s.courseStudents(db, a, c.ID)
	switch {
	case r < 45:
		p, what := s.lessonPatch()
		start, end := l.StartTime, l.EndTime
		if p.StartTime != nil {
			start = *p.StartTime
		}
		if p.EndTime != nil {
			end = *p.EndTime
		}
		_, err := db.UpdateLesson(ctx, a, l.ID, p)
		if !validTimes(start, end) {
			if store.ErrorCode(err) != store.CodeInvalid {
				s.fatalf("%s sets lesson %s from %s to %s: %v, want it refused", who, l.ID, start, end, err)
			}
			s.logf("%s may not set lesson %s from %s to %s", who, l.ID, start, end)
			return
		}
		if !s.op(err, who+" updates a lesson") {
			return
		}
		s.logf("%s updates %s of lesson %s", who, what, l.ID)
	case r < 50:
		if !s.op(db.DeleteLesson(ctx, a, l.ID), who+" deletes a lesson") {
			return
		}
		s.logf("%s deletes lesson %s", who, l.ID)
	case r < 80 && len(students) > 0:
		st := pick(s, students[:min(2, len(students))])
		m := s.randomMark()
		_, err := db.MarkAttendance(ctx, a, l.ID, st.ID, m)
		if !s.op(err, who+" marks attendance") {
			return
		}
		s.logf("%s marks %s %s (%d) in lesson %s", who, st.FirstName, m.Status, m.LateMinutes, l.ID)
	case r < 90 && len(students) > 0:
		st := pick(s, students[:min(2, len(students))])
		if !s.op(db.ClearAttendance(ctx, a, l.ID, st.ID), who+" clears a mark") {
			return
		}
		s.logf("%s clears the mark of %s in lesson %s", who, st.FirstName, l.ID)
	default:
		_, err := db.MarkAllPresent(ctx, a, l.ID)
		if !s.op(err, who+" marks all present") {
			return
		}
		s.logf("%s marks all present in lesson %s", who, l.ID)
	}
	s.afterEdit(db, who)
}

// afterEdit observes a browser's edit on the server; a device's edit is observed by the caller.
func (s *sim) afterEdit(db *store.DB, who string) {
	if db == s.server {
		s.observe(s.server, &s.serverSeen, who)
	}
}

// adminEdit changes what the admin keeps: enrollments, students, courses (which changes teachers' scope).
func (s *sim) adminEdit(db *store.DB, a store.Actor, who string) {
	ctx := s.ctx
	courses := s.courses(db, a)
	students, err := db.Students(ctx, a)
	if !s.op(err, who+" lists students") {
		return
	}
	students = sortByOrdinal(s, students, func(st store.Student) string { return st.ID })
	if len(courses) == 0 || len(students) == 0 {
		return
	}
	c := pick(s, courses)
	switch r := s.rng.IntN(100); {
	case r < 40:
		st := pick(s, students)
		if slices.ContainsFunc(s.courseStudents(db, a, c.ID), func(x store.Student) bool { return x.ID == st.ID }) {
			if !s.op(db.Unenroll(ctx, a, c.ID, st.ID), who+" unenrolls") {
				return
			}
			s.logf("%s unenrolls %s from %s", who, st.FirstName, c.Name)
		} else {
			if !s.op(db.Enroll(ctx, a, c.ID, st.ID), who+" enrolls") {
				return
			}
			s.logf("%s enrolls %s in %s", who, st.FirstName, c.Name)
		}
	case r < 60:
		st := pick(s, students)
		p := store.StudentPatch{Class: ptr(fmt.Sprintf("%d%c", 5+s.rng.IntN(5), 'a'+rune(s.rng.IntN(3))))}
		if s.chance(0.5) {
			p.FirstName = ptr(s.name("Kind"))
		}
		_, err := db.UpdateStudent(ctx, a, st.ID, p)
		if !s.op(err, who+" updates a student") {
			return
		}
		s.logf("%s updates student %s", who, st.ID)
	case r < 70:
		_, err := db.UpdateCourse(ctx, a, c.ID, store.CoursePatch{Name: ptr(s.name("Kurs"))})
		if !s.op(err, who+" renames a course") {
			return
		}
		s.logf("%s renames %s", who, c.Name)
	case r < 75:
		st, err := db.CreateStudent(ctx, a, store.Student{FirstName: s.name("Kind"), LastName: "Neu"})
		if !s.op(err, who+" creates a student") {
			return
		}
		s.register(st.ID)
		if !s.op(db.Enroll(ctx, a, c.ID, st.ID), who+" enrolls a new student") {
			return
		}
		s.logf("%s adds student %s to %s", who, st.ID, c.Name)
	case r < 82:
		other := s.teachers[0].ID
		if c.TeacherID == other {
			other = s.teachers[1].ID
		}
		_, err := db.UpdateCourse(ctx, a, c.ID, store.CoursePatch{TeacherID: &other})
		if !s.op(err, who+" hands a course over") {
			return
		}
		s.logf("%s gives %s to %s", who, c.Name, other)
	case r < 85:
		st := pick(s, students)
		if !s.op(db.DeleteStudent(ctx, a, st.ID), who+" deletes a student") {
			return
		}
		s.logf("%s deletes student %s", who, st.ID)
	case r < 87:
		if !s.op(db.DeleteCourse(ctx, a, c.ID), who+" deletes a course") {
			return
		}
		s.logf("%s deletes course %s", who, c.Name)
	case r < 89:
		teacher := pick(s, s.teachers)
		cs, err := db.CreateCourse(ctx, a, store.Course{Name: s.name("Kurs"), TeacherID: teacher.ID})
		if !s.op(err, who+" creates a course") {
			return
		}
		s.register(cs.ID)
		s.logf("%s creates course %s for %s", who, cs.ID, teacher.Username)
	default:
		s.teacherEdit(db, a, who)
		return
	}
	s.afterEdit(db, who)
}

// Healing and the checks.

// heal brings every device online and syncs until a whole round moves nothing.
func (s *sim) heal() {
	s.step++
	s.logf("everything heals")
	for round := 0; ; round++ {
		if round == 10 {
			s.fatalf("sync does not settle after %d rounds", round)
		}
		moved := 0
		for _, d := range s.devices {
			d.online = true
			if d.inflight != nil {
				s.deliverAck(d)
				moved++
			}
			for i, n := 0, s.push(d, true); n > 0; i, n = i+1, s.push(d, true) {
				if i == 20 {
					s.fatalf("%s pushes its outbox again and again", d.name)
				}
				moved += n
			}
		}
		for _, d := range s.devices {
			moved += s.pull(d, true)
		}
		if moved == 0 {
			return
		}
	}
}

// snapshot is what a user sees of their school through the store's API.
type snapshot struct {
	Courses  []courseSnapshot `json:"courses"`
	Students []store.Student  `json:"students,omitempty"` // the admin's list
}

type courseSnapshot struct {
	Course       store.Course     `json:"course"`
	StudentCount int              `json:"studentCount"`
	Students     []store.Student  `json:"students"`
	Lessons      []lessonSnapshot `json:"lessons"`
}

type lessonSnapshot struct {
	Lesson store.Lesson           `json:"lesson"`
	Marks  []store.AttendanceMark `json:"marks"`
}

func (s *sim) snapshot(db *store.DB, a store.Actor) snapshot {
	// gone says that what was just listed went away meanwhile, which only sync running beside can do: the
	// snapshot is then incomplete, and does not match.
	gone := func(err error, what string) bool {
		s.t.Helper()
		if err != nil && !(s.racy && store.ErrorCode(err) == store.CodeNotFound) {
			s.fatalf("%s: %v", what, err)
		}
		return err != nil
	}
	var snap snapshot
	for _, c := range s.courses(db, a) {
		cs := courseSnapshot{Course: c.Course, StudentCount: c.StudentCount}
		students, err := db.CourseStudents(s.ctx, a, c.ID)
		if gone(err, "course students") {
			continue
		}
		cs.Students = sortByOrdinal(s, students, func(st store.Student) string { return st.ID })
		lessons, err := db.Lessons(s.ctx, a, c.ID)
		if gone(err, "lessons") {
			continue
		}
		sort.Slice(lessons, func(i, j int) bool { return lessons[i].ID < lessons[j].ID })
		for _, l := range lessons {
			marks, err := db.Attendance(s.ctx, a, l.ID)
			if gone(err, "attendance") {
				continue
			}
			cs.Lessons = append(cs.Lessons, lessonSnapshot{Lesson: l, Marks: marks})
		}
		snap.Courses = append(snap.Courses, cs)
	}
	if a.IsAdmin() {
		var err error
		snap.Students, err = db.Students(s.ctx, a)
		s.must(err, "students")
		sort.Slice(snap.Students, func(i, j int) bool { return snap.Students[i].ID < snap.Students[j].ID })
	}
	return snap
}

// firstDifference shows where two JSON documents part.
func firstDifference(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			from := max(0, i-8)
			return fmt.Sprintf("line %d:\n--- server\n%s\n+++ device\n%s", i+1,
				strings.Join(la[from:min(len(la), i+3)], "\n"), strings.Join(lb[from:min(len(lb), i+3)], "\n"))
		}
	}
	return "no difference"
}

// lostCourse says whether a change the server sends a teacher is only the news that a course is no longer theirs:
// the course went to another teacher or was deleted.
func lostCourse(c store.Change, a store.Actor) bool {
	if c.Kind != store.KindCourse || a.IsAdmin() {
		return false
	}
	var teacher string
	json.Unmarshal(c.Fields["teacherId"], &teacher)
	return c.Deleted || teacher != a.UserID
}

func sameRecord(a, b store.Change) bool {
	ja, _ := json.Marshal([]any{a.Kind, a.ScopeID, a.ParentID, a.Deleted, a.Clocks, a.Fields})
	jb, _ := json.Marshal([]any{b.Kind, b.ScopeID, b.ParentID, b.Deleted, b.Clocks, b.Fields})
	return bytes.Equal(ja, jb)
}

func (s *sim) check() {
	ctx := s.ctx
	serverAll := map[string]store.Change{}
	for _, c := range s.allChanges(s.server, store.SchoolAdmin(s.school.ID), 0) {
		serverAll[c.ID] = c
	}
	for _, d := range s.devices {
		a := d.user.Actor()
		if n, err := d.db.Pending(ctx, s.school.ID); err != nil || n != 0 {
			s.fatalf("%s still has %d changes to push (%v)", d.name, n, err)
		}
		// (1) The device shows its user what the server shows them.
		want, _ := json.MarshalIndent(s.snapshot(s.server, a), "", " ")
		got, _ := json.MarshalIndent(s.snapshot(d.db, a), "", " ")
		if !bytes.Equal(want, got) {
			s.fatalf("%s shows %s another state than the server: %s", d.name, d.user.Username, firstDifference(want, got))
		}
		// Record by record: everything the user may receive is on the device as on the server, and the device
		// holds nothing the server does not know.
		local := map[string]store.Change{}
		for _, c := range s.allChanges(d.db, s.actorOf(d.db), 0) {
			local[c.ID] = c
			if _, ok := serverAll[c.ID]; !ok {
				s.fatalf("%s holds %s %s that the server does not have: %s", d.name, c.Kind, c.ID, dumpChange(c))
			}
		}
		sent := map[string]bool{}
		for _, c := range s.allChanges(s.server, a, 0) {
			if lostCourse(c, a) {
				// The server still sends a teacher the record of a course taken from them, only so that their
				// replicas learn it is theirs no more; having learnt it, a replica forgets the course with
				// everything in it (store/prune.go). So the record must be gone, not equal.
				if _, ok := local[c.ID]; ok {
					s.fatalf("%s still holds course %s, which %s lost: %s", d.name, c.ID, d.user.Username, dumpChange(local[c.ID]))
				}
				continue
			}
			sent[c.ID] = true
			if l, ok := local[c.ID]; !ok || !sameRecord(c, l) {
				s.fatalf("%s's copy of %s %s differs from the server's:\nserver %s\ndevice %s", d.name, c.Kind, c.ID, dumpChange(c), dumpChange(l))
			}
		}
		// Nor does the device hold more than that: what its user no longer sees has left it.
		for id, l := range local {
			if !sent[id] {
				s.fatalf("%s still holds %s %s, which %s no longer sees: %s", d.name, l.Kind, id, d.user.Username, dumpChange(l))
			}
		}
		for id, l := range local {
			if sc := serverAll[id]; l.Kind == store.KindStudent && !l.Deleted && sc.Deleted {
				s.fatalf("%s still holds the personal data of student %s, deleted on the server", d.name, id)
			}
		}
	}
	// (2) Nothing acknowledged is lost: every field of every accepted change is on the server, or a value with a
	// later stamp; a delete stays unless the record came back later. Everything is acknowledged now, so that
	// holds for every device's edits too, except where the server refused a change of the record.
	acked := s.acked
	for _, w := range s.written {
		if !s.wasRefused(w.c.ID) {
			acked = append(acked, w)
		}
	}
	for _, ac := range acked {
		c := ac.c
		sc, ok := serverAll[c.ID]
		if !ok {
			s.fatalf("%s %s, acknowledged to %s at step %d, is not on the server", c.Kind, c.ID, ac.who, ac.step)
		}
		for f, stamp := range c.Clocks {
			if sc.Clocks[f] < stamp {
				s.fatalf("the %s of %s %s, acknowledged to %s at step %d (stamp %s), is lost: the server has stamp %q\nacked  %s\nserver %s",
					f, c.Kind, c.ID, ac.who, ac.step, stamp, sc.Clocks[f], dumpChange(c), dumpChange(sc))
			}
			if v, ok := c.Fields[f]; ok && sc.Clocks[f] == stamp && !sc.Deleted && !bytes.Equal(v, sc.Fields[f]) {
				s.fatalf("the %s of %s %s, acknowledged to %s at step %d, is %s on the server with the same stamp", f, c.Kind, c.ID, ac.who, ac.step, sc.Fields[f])
			}
		}
		const deleted = "_deleted"
		if c.Deleted && !sc.Deleted && sc.Clocks[deleted] <= c.Clocks[deleted] {
			s.fatalf("the delete of %s %s, acknowledged to %s at step %d, is lost", c.Kind, c.ID, ac.who, ac.step)
		}
		if !c.Deleted && sc.Deleted && sc.Clocks[deleted] <= c.Clocks[deleted] {
			s.fatalf("%s %s, acknowledged live to %s at step %d, is deleted on the server by a delete it had overtaken\nacked  %s\nserver %s",
				c.Kind, c.ID, ac.who, ac.step, dumpChange(c), dumpChange(sc))
		}
	}
	// (3) Nothing is there twice: records keep their ids, one mark per student and lesson, no record the
	// simulation did not make.
	for id, c := range serverAll {
		if _, ok := s.ordinal[id]; !ok {
			s.fatalf("the server holds %s %s that no one created", c.Kind, id)
		}
	}
	snap := s.snapshot(s.server, s.admin.Actor())
	for _, c := range snap.Courses {
		for _, l := range c.Lessons {
			seen := map[string]bool{}
			for _, m := range l.Marks {
				if seen[m.StudentID] {
					s.fatalf("lesson %s has two marks of student %s", l.Lesson.ID, m.StudentID)
				}
				seen[m.StudentID] = true
			}
		}
	}
	s.logf("converged: %d records on the server, %d acknowledged changes checked, %d records refused", len(serverAll), len(s.acked), len(s.refused))
}

// scenario is a fixed world for the cases the simulation found: a server with a teacher, their course with one
// enrolled student and one lesson, and devices of the teacher; every clock reads the scenario's time.
type scenario struct {
	*sim
	teacher store.User
	course  string
	student string
	lesson  string
}

func newScenario(t *testing.T) *scenario {
	ctx := context.Background()
	sc := &scenario{sim: &sim{t: t, ctx: ctx, rng: rand.New(rand.NewPCG(1, 2)), dir: t.TempDir(), now: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC),
		ordinal: map[string]int{}, refused: map[string]bool{}, serverSeen: tracked{known: map[string]store.Change{}}}}
	s := sc.sim
	var err error
	s.serverKey, err = store.NewKey()
	s.must(err, "key")
	s.server = s.open(filepath.Join(s.dir, "server.db"), s.serverKey, &noSkew)
	t.Cleanup(func() { s.server.Close() })
	s.school, err = s.server.CreateSchool(ctx, "Musikschule")
	s.must(err, "school")
	sys := store.SchoolAdmin(s.school.ID)
	s.admin = store.User{SchoolID: s.school.ID, Role: store.RoleAdmin}
	sc.teacher, err = s.server.CreateUser(ctx, sys, store.NewUser{Username: "t.one", DisplayName: "T", Role: store.RoleTeacher, PasswordHash: "$argon2id$sim"})
	s.must(err, "teacher")
	c, err := s.server.CreateCourse(ctx, sys, store.Course{Name: "Klavier", TeacherID: sc.teacher.ID})
	s.must(err, "course")
	st, err := s.server.CreateStudent(ctx, sys, store.Student{FirstName: "Kim", LastName: "K"})
	s.must(err, "student")
	s.must(s.server.Enroll(ctx, sys, c.ID, st.ID), "enroll")
	l, err := s.server.CreateLesson(ctx, sc.teacher.Actor(), c.ID, store.Lesson{Date: "2026-11-02"})
	s.must(err, "lesson")
	sc.course, sc.student, sc.lesson = c.ID, st.ID, l.ID
	return sc
}

// device adds a device of the teacher, up to date with the server.
func (sc *scenario) device(name string) *simDevice {
	s := sc.sim
	d := &simDevice{name: name, user: sc.teacher, path: filepath.Join(s.dir, name+".db"), seen: tracked{known: map[string]store.Change{}}}
	var err error
	d.key, err = store.NewKey()
	s.must(err, "key")
	d.db = s.open(d.path, d.key, &d.skew)
	s.t.Cleanup(func() { d.db.Close() })
	s.must(d.db.AdoptSchool(s.ctx, s.school), "adopt school")
	s.must(d.db.AdoptUser(s.ctx, sc.teacher), "adopt user")
	s.devices = append(s.devices, d)
	s.pull(d, true)
	return d
}

func (sc *scenario) mark(d *simDevice, status store.AttendanceStatus) {
	sc.now = sc.now.Add(time.Second)
	_, err := d.db.MarkAttendance(sc.ctx, sc.teacher.Actor(), sc.lesson, sc.student, store.AttendanceMark{Status: status})
	sc.must(err, d.name+" marks")
}

func (sc *scenario) clear(d *simDevice) {
	sc.now = sc.now.Add(time.Second)
	sc.must(d.db.ClearAttendance(sc.ctx, sc.teacher.Actor(), sc.lesson, sc.student), d.name+" clears")
}

// marks returns the marks of the lesson on a store.
func (sc *scenario) marks(db *store.DB) []store.AttendanceMark {
	m, err := db.Attendance(sc.ctx, sc.teacher.Actor(), sc.lesson)
	sc.must(err, "marks")
	return m
}

// TestRefusalAfterPull: the server refuses a change (the student was unenrolled meanwhile) and answers with its
// version of the mark; before that answer arrives, the device pulls a newer one (the teacher cleared the mark in
// the browser). The stale answer must not set the device back: it ends like the server.
func TestRefusalAfterPull(t *testing.T) {
	sc := newScenario(t)
	ctx, a := sc.ctx, sc.teacher.Actor()
	sc.sim.now = sc.now.Add(time.Second)
	_, err := sc.server.MarkAttendance(ctx, a, sc.lesson, sc.student, store.AttendanceMark{Status: store.Present})
	sc.must(err, "mark")
	d := sc.device("laptop")
	sc.mark(d, store.Excused)
	sc.must(sc.server.Unenroll(ctx, store.SchoolAdmin(sc.school.ID), sc.course, sc.student), "unenroll")
	batch, err := d.db.Outbox(ctx, sc.school.ID, 0)
	sc.must(err, "outbox")
	results, err := sc.server.Ingest(ctx, a, batch)
	sc.must(err, "ingest")
	if len(results) != 1 || results[0].Error == nil || results[0].Current == nil {
		t.Fatalf("the push of a mark of an unenrolled student: %+v", results)
	}
	sc.must(sc.server.ClearAttendance(ctx, a, sc.lesson, sc.student), "clear")
	sc.pull(d, true)
	sc.must(d.db.Acknowledge(ctx, sc.school.ID, results), "acknowledge")
	sc.heal()
	if want, got := sc.marks(sc.server), sc.marks(d.db); len(want) != 0 || len(got) != 0 {
		t.Errorf("marks on the server %+v, on the device %+v; want none (the teacher cleared the mark)", want, got)
	}
}

// TestMarkRevivedWhole: a mark cleared on one device, set anew on another that had not seen it (its values
// outlive the delete in the tombstone), set again on a third after it saw both, while a fourth clears it once
// more in between. The last mark wins with all its fields, on every replica.
func TestMarkRevivedWhole(t *testing.T) {
	sc := newScenario(t)
	a, b, c, d := sc.device("a"), sc.device("b"), sc.device("c"), sc.device("d")
	sc.mark(a, store.Present)
	sc.push(a, true)
	sc.pull(c, true)
	sc.pull(d, true)
	sc.clear(a)
	sc.push(a, true)
	sc.mark(b, store.Unexcused) // b has not seen the mark: it writes it new
	sc.push(b, true)
	sc.pull(c, true) // c holds the tombstone, with b's values
	sc.clear(d)      // d clears the mark it had, after b's values were written
	sc.mark(c, store.Excused)
	sc.push(c, true)
	sc.push(d, true)
	sc.heal()
	sc.check()
	if m := sc.marks(sc.server); len(m) != 1 || m[0].Status != store.Excused || m[0].StudentID != sc.student || m[0].LessonID != sc.lesson {
		t.Errorf("the server's marks: %+v, want the last one (excused)", m)
	}
}

// TestSimulationWebsocket runs a few seeds through the real client and server: a backend served on loopback,
// devices each with its own sync client, connections dropped at random (the client reconnects with its backoff),
// clients stopped and started, replicas closed and opened again, clocks skewed, while users edit on the devices
// and in the browser.
//
//	go test ./app/syncclient -run 'TestSimulationWebsocket$' -sim.seed=3 -v   # replay one seed (PULT_SIM_WS_SEED)
func TestSimulationWebsocket(t *testing.T) {
	for _, seed := range simSeeds(t, 5, "PULT_SIM_WS_") {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			var s *wsSim
			t.Cleanup(func() {
				if t.Failed() {
					if s != nil {
						s.dumpTrace()
					}
					t.Logf("seed %d failed; replay it with:\n\tgo test ./app/syncclient -run 'TestSimulationWebsocket$' -sim.seed=%d -v\n\t(or PULT_SIM_WS_SEED=%d go test ./app/syncclient -run 'TestSimulationWebsocket$' -v)", seed, seed, seed)
				}
			})
			s = newWebsocketSim(t, seed)
			s.run()
		})
	}
}

// wsSim is a simulation over the real transport.
type wsSim struct {
	*sim
	w       *world
	clients []*wsDevice
}

// wsDevice is a device with its real sync client.
type wsDevice struct {
	*simDevice
	s      *wsSim
	http   *http.Client
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	conn   *websocket.Conn // the client's current connection, to cut
}

// refusals hears the client's log of refused changes: the device's edits of those records need not be on the
// server.
type refusals struct{ s *sim }

func (h refusals) Enabled(context.Context, slog.Level) bool { return true }
func (h refusals) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h refusals) WithGroup(string) slog.Handler            { return h }
func (h refusals) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "change refused by the server" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "record" {
				h.s.noteRefused(a.Value.String())
			}
			return true
		})
	}
	return nil
}

func newWebsocketSim(t *testing.T, seed uint64) *wsSim {
	ctx := context.Background()
	w := newWorld(t)
	s := &wsSim{w: w, sim: &sim{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5eed5eed)), ctx: ctx, dir: t.TempDir(),
		now: time.Now(), server: w.db, school: w.school, teachers: []store.User{w.t1, w.t2}, racy: true,
		ordinal: map[string]int{}, refused: map[string]bool{}, serverSeen: tracked{known: map[string]store.Change{}}}}
	var err error
	s.admin, err = w.db.UserByID(ctx, w.admin.UserID)
	s.must(err, "admin")
	a := s.admin.Actor()
	for _, id := range []string{w.course1, w.course2} {
		s.register(id)
	}
	for _, st := range w.students {
		s.register(st.ID)
	}
	c3, err := w.db.CreateCourse(ctx, a, store.Course{Name: "Kurs 3", TeacherID: w.t1.ID})
	s.must(err, "course")
	s.register(c3.ID)
	for i := range 4 {
		st, err := w.db.CreateStudent(ctx, a, store.Student{FirstName: fmt.Sprintf("Kind %d", i+1), LastName: "Sim"})
		s.must(err, "student")
		s.register(st.ID)
		for _, c := range []string{w.course1, w.course2, c3.ID} {
			if s.chance(0.5) {
				s.must(w.db.Enroll(ctx, a, c, st.ID), "enroll")
			}
		}
	}
	s.observe(s.server, &s.serverSeen, "")

	users := []store.User{w.t1, w.t1, w.t2}
	names := []string{"t1-laptop", "t1-second", "t2-laptop"}
	if s.chance(0.5) {
		users, names = append(users, s.admin), append(names, "admin-laptop")
	}
	for i, u := range users {
		d := &wsDevice{s: s, simDevice: &simDevice{name: names[i], user: u, path: filepath.Join(s.dir, names[i]+".db"),
			skew: s.randomSkew(), seen: tracked{known: map[string]store.Change{}}}}
		d.key, err = store.NewKey()
		s.must(err, "key")
		d.open()
		t.Cleanup(func() { d.stop(); d.db.Close() })
		s.must(d.db.AdoptSchool(ctx, s.school), "adopt school")
		adopt := []store.User{u}
		if u.Role == store.RoleAdmin {
			adopt = append(adopt, s.teachers...)
		}
		for _, au := range adopt {
			s.must(d.db.AdoptUser(ctx, au), "adopt user")
		}
		jar, _ := cookiejar.New(nil)
		d.http = &http.Client{Jar: jar}
		body := `{"username":"` + u.Username + `","password":"` + password + `"}`
		resp, err := d.http.Post(w.url+"/api/v1/session", "application/json", strings.NewReader(body))
		s.must(err, "login")
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			s.fatalf("login %s: %d", u.Username, resp.StatusCode)
		}
		s.devices = append(s.devices, d.simDevice)
		s.clients = append(s.clients, d)
		d.start()
		s.logf("%s (%s, clock %+v)", d.name, u.Username, d.skew)
	}
	return s
}

func (d *wsDevice) open() {
	db, err := store.Open(d.s.ctx, d.path, d.key)
	d.s.must(err, "open "+d.name)
	skew := d.skew
	db.SetSyncClock(func() time.Time { return time.Now().Add(skew) })
	d.db = db
}

// start runs the device's sync client.
func (d *wsDevice) start() {
	client := syncclient.New(syncclient.Config{
		DB: d.db, SchoolID: d.s.school.ID, Log: slog.New(refusals{d.s.sim}),
		Inventory: syncproto.Inventory{Name: d.name, OS: "linux", Model: "sim", AppVersion: "test"},
		Dial: func(ctx context.Context) (*websocket.Conn, error) {
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(d.s.w.url, "http")+syncproto.Path, &websocket.DialOptions{HTTPClient: d.http})
			if err == nil {
				d.mu.Lock()
				d.conn = ws
				d.mu.Unlock()
			}
			return ws, err
		},
	})
	d.db.OnChange(func(string) { client.Kick() })
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done, d.online = cancel, make(chan error, 1), true
	go func() { d.done <- client.Run(ctx) }()
	d.status = client.Status
}

// stop ends the device's sync client: the device is offline.
func (d *wsDevice) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	if err := <-d.done; err != nil {
		d.s.t.Errorf("%s's sync client ended with %v", d.name, err)
	}
	d.cancel, d.online = nil, false
	d.db.OnChange(nil)
}

// cut closes the client's connection under it, as a network failure would: it reconnects with its backoff.
func (d *wsDevice) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.CloseNow()
	}
}

func (s *wsSim) run() {
	steps := 50 + s.rng.IntN(40)
	cuts := 2
	for s.step = 1; s.step <= steps; s.step++ {
		s.now = time.Now()
		d := s.clients[s.rng.IntN(len(s.clients))]
		switch r := s.rng.IntN(100); {
		case r < 35:
			s.deviceEdit(d.simDevice)
		case r < 50:
			s.browserEdit()
		case r < 56:
			s.adminEdit(s.server, s.admin.Actor(), "browser(admin)")
		case r < 66:
			if d.cancel != nil {
				d.stop()
				s.logf("%s goes offline", d.name)
			} else {
				d.start()
				s.logf("%s comes online", d.name)
			}
		case r < 70:
			online := d.cancel != nil
			d.stop()
			s.must(d.db.Close(), "close "+d.name)
			if s.chance(0.3) {
				d.skew = s.randomSkew()
			}
			d.open()
			if online {
				d.start()
			}
			s.logf("%s restarts (clock %+v)", d.name, d.skew)
		case r < 73 && cuts > 0 && d.cancel != nil:
			cuts--
			d.cut()
			s.logf("%s loses its connection", d.name)
		default:
			time.Sleep(time.Duration(s.rng.IntN(30)) * time.Millisecond)
		}
		time.Sleep(time.Duration(s.rng.IntN(8)) * time.Millisecond)
	}
	s.step++
	s.logf("everything heals")
	for _, d := range s.clients {
		if d.cancel == nil {
			d.start()
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !s.settled() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range s.clients {
		d.stop()
	}
	s.racy = false
	s.check() // fails with the difference if sync did not settle
}

// settled says whether every client is online and up to date, showing what the server shows.
func (s *wsSim) settled() bool {
	for _, d := range s.clients {
		st := d.status()
		if !st.Online || st.CatchingUp || st.Pending > 0 {
			return false
		}
		a := d.user.Actor()
		want, _ := json.Marshal(s.snapshot(s.server, a))
		got, _ := json.Marshal(s.snapshot(d.db, a))
		if !bytes.Equal(want, got) {
			return false
		}
	}
	return true
}
