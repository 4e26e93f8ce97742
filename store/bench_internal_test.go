package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pult/internal/cputime"
)

// plainSealer stores packets unencrypted. It exists only in this benchmark, as the baseline that shows what
// encryption costs: the same store, the same SQLite, the same statements, without the AEAD.
type plainSealer struct{}

func (plainSealer) seal(ad, plaintext []byte) []byte       { return append([]byte(nil), plaintext...) }
func (plainSealer) open(ad, packet []byte) ([]byte, error) { return packet, nil }

type benchStore struct {
	db    *DB
	actor Actor
	ids   []string
}

func openBenchStore(b *testing.B, plain bool, students int) *benchStore {
	b.Helper()
	ctx := context.Background()
	key, _ := NewKey()
	db, err := Open(ctx, b.TempDir()+"/pult.db", key)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if plain {
		db.newSealer = func(Key) (sealer, error) { return plainSealer{}, nil }
	}
	s, err := db.CreateSchool(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	bs := &benchStore{db: db, actor: SchoolAdmin(s.ID)}
	list := make([]Student, students)
	for i := range list {
		list[i] = benchStudent(i)
	}
	if _, err := db.ImportStudents(ctx, bs.actor, list, ""); err != nil {
		b.Fatal(err)
	}
	for _, st := range list {
		bs.ids = append(bs.ids, st.ID)
	}
	return bs
}

func benchStudent(i int) Student {
	return Student{FirstName: fmt.Sprintf("Vorname%d", i), LastName: fmt.Sprintf("Nachname%d", i), BirthDate: "2015-03-04",
		Class: "4a", GuardianEmail: fmt.Sprintf("eltern%d@example.org", i)}
}

// BenchmarkStore runs each workload on a plain and an encrypted store in alternation, in the same run, and
// reports both and their ratio (sealed/plain): the target is at most 1.15.
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	const batch = 500
	workloads := []struct {
		name string
		rows int // rows per operation, for rows/s
		op   func(bs *benchStore, i int) error
	}{
		{"BulkInsert", batch, func(bs *benchStore, i int) error {
			list := make([]Student, batch)
			for j := range list {
				list[j] = benchStudent(i*batch + j)
			}
			_, err := bs.db.ImportStudents(ctx, bs.actor, list, "")
			return err
		}},
		{"SingleRowTx", 1, func(bs *benchStore, i int) error {
			_, err := bs.db.CreateStudent(ctx, bs.actor, benchStudent(i))
			return err
		}},
		{"PointRead", 1, func(bs *benchStore, i int) error {
			sl, err := bs.db.schoolSealer(ctx, bs.db.read, bs.actor.SchoolID)
			if err != nil {
				return err
			}
			_, err = bs.db.getRecord(ctx, bs.db.read, sl, bs.actor.SchoolID, KindStudent, bs.ids[i%len(bs.ids)])
			return err
		}},
		{"Scan1000", 1000, func(bs *benchStore, i int) error {
			list, err := bs.db.Students(ctx, bs.actor)
			if err == nil && len(list) < 1000 {
				err = fmt.Errorf("scan found %d students", len(list))
			}
			return err
		}},
	}
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			plain, sealed := openBenchStore(b, true, 1000), openBenchStore(b, false, 1000)
			var plainNs, sealedNs time.Duration
			b.ResetTimer()
			type side struct {
				bs  *benchStore
				sum *time.Duration
			}
			for i := 0; i < b.N; i++ {
				// Alternate which side goes first, so neither always meets a warm cache or a pending checkpoint.
				order := []side{{plain, &plainNs}, {sealed, &sealedNs}}
				if i%2 == 1 {
					order[0], order[1] = order[1], order[0]
				}
				for _, side := range order {
					start := time.Now()
					if err := w.op(side.bs, i); err != nil {
						b.Fatal(err)
					}
					*side.sum += time.Since(start)
				}
			}
			b.ReportMetric(float64(plainNs.Nanoseconds())/float64(b.N), "plain-ns/op")
			b.ReportMetric(float64(sealedNs.Nanoseconds())/float64(b.N), "sealed-ns/op")
			b.ReportMetric(float64(w.rows*b.N)/sealedNs.Seconds(), "sealed-rows/s")
			b.ReportMetric(float64(sealedNs)/float64(plainNs), "ratio")
		})
	}
}

// ingestWorld is a server's store with teachers, each with a course of enrolled pupils, and the lessons with a
// mark for every pupil that the teachers recorded on a replica, as the replica holds them to push: the shape of
// syncbench's ingest at a smaller size.
type ingestWorld struct {
	path     string
	key      Key
	teachers []Actor
	pushes   [][]Change // pushes[i] are teacher i's changes, in the order the replica sends them
}

func newIngestWorld(b *testing.B, courses, enrolled, lessons, students int) *ingestWorld {
	b.Helper()
	ctx := context.Background()
	w := &ingestWorld{path: b.TempDir() + "/server.db"}
	w.key, _ = NewKey()
	db, err := Open(ctx, w.path, w.key)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	school, err := db.CreateSchool(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	sys := SchoolAdmin(school.ID)
	admin, err := db.CreateUser(ctx, sys, NewUser{Username: "admin", DisplayName: "Ada Admin", Role: RoleAdmin, PasswordHash: "$argon2id$bench"})
	if err != nil {
		b.Fatal(err)
	}
	var users []User
	var courseIDs []string
	n := 0
	for i := range courses {
		u, err := db.CreateUser(ctx, sys, NewUser{Username: fmt.Sprintf("lehrer%03d", i), DisplayName: fmt.Sprintf("Lehrkraft %d", i),
			Role: RoleTeacher, PasswordHash: "$argon2id$bench"})
		if err != nil {
			b.Fatal(err)
		}
		c, err := db.CreateCourse(ctx, admin.Actor(), Course{Name: fmt.Sprintf("Klavier %d", i), Subject: "Klavier", TeacherID: u.ID})
		if err != nil {
			b.Fatal(err)
		}
		list := make([]Student, enrolled)
		for j := range list {
			list[j] = benchStudent(n)
			n++
		}
		if _, err := db.ImportStudents(ctx, admin.Actor(), list, c.ID); err != nil {
			b.Fatal(err)
		}
		users, courseIDs = append(users, u), append(courseIDs, c.ID)
		w.teachers = append(w.teachers, u.Actor())
	}
	rest := make([]Student, max(0, students-n))
	for j := range rest {
		rest[j] = benchStudent(n + j)
	}
	if _, err := db.ImportStudents(ctx, admin.Actor(), rest, ""); err != nil {
		b.Fatal(err)
	}

	devKey, _ := NewKey()
	dev, err := Open(ctx, b.TempDir()+"/device.db", devKey)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	if err := dev.AdoptSchool(ctx, school); err != nil {
		b.Fatal(err)
	}
	for _, u := range append([]User{admin}, users...) {
		if err := dev.AdoptUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	for cursor := int64(0); ; {
		page, err := db.Changes(ctx, admin.Actor(), cursor, MaxChangesPage)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		cursor = page[len(page)-1].Seq
		if err := dev.ApplyPulled(ctx, school.ID, page, cursor); err != nil {
			b.Fatal(err)
		}
	}
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range courseIDs {
		for l := range lessons {
			lesson, err := dev.CreateLesson(ctx, w.teachers[i], c, Lesson{Date: day.AddDate(0, 0, l).Format(time.DateOnly), StartTime: "14:00",
				EndTime: "14:45", Topic: fmt.Sprintf("Etüde %d", l+1), Homework: "Tonleitern C-Dur und a-Moll üben"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := dev.MarkAllPresent(ctx, w.teachers[i], lesson.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	byCourse := map[string][]Change{}
	for {
		out, err := dev.Outbox(ctx, school.ID, MaxPushBatch)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) == 0 {
			break
		}
		for _, c := range out {
			byCourse[c.ScopeID] = append(byCourse[c.ScopeID], c)
		}
		res := make([]PushResult, len(out))
		for i, c := range out {
			res[i] = PushResult{ID: c.ID, Seq: c.Seq}
		}
		if err := dev.Acknowledge(ctx, school.ID, res); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range courseIDs {
		w.pushes = append(w.pushes, byCourse[c])
	}
	return w
}

// BenchmarkIngest measures store.Ingest alone: every teacher's replica pushes its lessons and marks in batches of
// MaxPushBatch into a fresh copy of the server's store, one batch after another. It reports changes/s, and the CPU
// time per change, which other work on a shared machine does not change as much.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	w := newIngestWorld(b, 8, 20, 24, 1000)
	total := 0
	for _, p := range w.pushes {
		total += len(p)
	}
	var ingest, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		copyPath := fmt.Sprintf("%s/copy-%d.db", b.TempDir(), i)
		src, err := Open(ctx, w.path, w.key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.write.ExecContext(ctx, `VACUUM INTO ?`, copyPath); err != nil {
			b.Fatal(err)
		}
		src.Close()
		db, err := Open(ctx, copyPath, w.key)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cputime.Process()
		for t, list := range w.pushes {
			for len(list) > 0 {
				k := min(len(list), MaxPushBatch)
				res, err := db.Ingest(ctx, w.teachers[t], list[:k])
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Error != nil {
						b.Fatalf("refused %s: %s", r.ID, r.Error.Message)
					}
				}
				list = list[k:]
			}
		}
		ingest, cpu = ingest+time.Since(start), cpu+cputime.Process()-cpu0
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/ingest.Seconds(), "changes/s")
	b.ReportMetric(float64(ingest.Nanoseconds())/float64(total*b.N), "ns/change")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total*b.N), "cpu-ns/change")
}
