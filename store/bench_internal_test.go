package store

import (
	"context"
	"fmt"
	"testing"
	"time"
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
