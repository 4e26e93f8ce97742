package store

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestEraseDeleted: on a store opened with EraseDeleted, a pupil's record that a replica forgot (pruned) is gone
// from the file once the WAL is checkpointed; without it, the ciphertext stays in the file's free space (which is
// why devices open their store with it).
func TestEraseDeleted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []Option
		stays bool
	}{{"Device", []Option{EraseDeleted()}, false}, {"Server", nil, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			key, err := NewKey()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "pult.db")
			db, err := Open(ctx, path, key, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			school, err := db.CreateSchool(ctx, "Schule")
			if err != nil {
				t.Fatal(err)
			}
			admin := SchoolAdmin(school.ID)
			st, err := db.CreateStudent(ctx, admin, Student{FirstName: "Erna", LastName: "Entfernt", BirthDate: "2015-03-04", Class: "4a"})
			if err != nil {
				t.Fatal(err)
			}
			var packet []byte
			if err := db.write.QueryRowContext(ctx, `SELECT packet FROM records WHERE id = ?`, st.ID).Scan(&packet); err != nil {
				t.Fatal(err)
			}
			if err := db.writeTx(ctx, func(tx *sql.Tx) error { return db.dropRecord(ctx, tx, school.ID, st.ID) }); err != nil {
				t.Fatal(err)
			}
			if _, err := db.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(raw, packet[len(packet)-32:]); got != tc.stays {
				t.Errorf("the deleted record's ciphertext is in the file: %v, want %v", got, tc.stays)
			}
		})
	}
}
