package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// put seals an entity as the fields of a record.
func (db *DB) put(ctx context.Context, tx *sql.Tx, s sealer, schoolID, kind, id, scope, parent string, v any) error {
	fields, err := toFields(v)
	if err != nil {
		return err
	}
	return db.putRecord(ctx, tx, s, &record{ID: id, SchoolID: schoolID, Kind: kind, ScopeID: scope, ParentID: parent, Fields: fields})
}

// tombstone deletes a record: its fields are erased, only its identity and a delete stamp remain for sync.
func (db *DB) tombstone(ctx context.Context, tx *sql.Tx, s sealer, r *record) error {
	if r.Deleted {
		return nil
	}
	r.Deleted = true
	r.Fields = map[string]json.RawMessage{}
	return db.putRecord(ctx, tx, s, r)
}

// tombstoneScope deletes every live record of a kind under a parent.
func (db *DB) tombstoneChildren(ctx context.Context, tx *sql.Tx, s sealer, schoolID, kind, parentID string) error {
	recs, err := db.listRecords(ctx, tx, s, schoolID, kind, parentID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := db.tombstone(ctx, tx, s, r); err != nil {
			return err
		}
	}
	return nil
}

// tombstoneID deletes a record by id if it is live.
func (db *DB) tombstoneID(ctx context.Context, tx *sql.Tx, s sealer, schoolID, id string) error {
	r, err := db.loadRecord(ctx, tx, s, schoolID, id)
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return db.tombstone(ctx, tx, s, r)
}

// touch gives records the school's next sequence number without changing them, so that they reach replicas
// whose cursor is past them but who may see them only now: a student newly enrolled in a teacher's course, or the
// records of a course that went to another teacher.
func (db *DB) touch(ctx context.Context, tx *sql.Tx, s sealer, schoolID string, recs ...*record) error {
	for _, r := range recs {
		if err := db.storeRecord(ctx, tx, s, r); err != nil {
			return err
		}
	}
	return nil
}

// touchCourse touches everything a course's teacher receives of it: its lessons, their marks, its enrollments
// and the enrolled students.
func (db *DB) touchCourse(ctx context.Context, tx *sql.Tx, s sealer, schoolID, courseID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE school_id = ? AND scope_id = ? AND id != ?`, schoolID, courseID, courseID)
	if err != nil {
		return fmt.Errorf("list course records: %w", err)
	}
	var recs []*record
	for rows.Next() {
		r, err := openRecord(s, rows)
		if err != nil {
			rows.Close()
			return err
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list course records: %w", err)
	}
	var students []*record
	for _, r := range recs {
		if r.Kind != KindEnrollment || r.Deleted {
			continue
		}
		e, err := decode[Enrollment](r)
		if err != nil {
			return err
		}
		st, err := db.loadRecord(ctx, tx, s, schoolID, e.StudentID)
		if err != nil && ErrorCode(err) != CodeNotFound {
			return err
		}
		if st != nil {
			students = append(students, st)
		}
	}
	return db.touch(ctx, tx, s, schoolID, append(recs, students...)...)
}

// liveIDs lists the ids of a kind's live records in a school without opening them.
func liveIDs(ctx context.Context, q querier, schoolID, kind string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM records WHERE school_id = ? AND kind = ? AND deleted = 0`, schoolID, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s ids: %w", kind, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list %s ids: %w", kind, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// decode opens a record into its entity type.
func decode[T any](r *record) (T, error) {
	var v T
	err := fromFields(r.Fields, &v)
	return v, err
}

// decodeAll opens records into entities.
func decodeAll[T any](recs []*record) ([]T, error) {
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		v, err := decode[T](r)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// updatedAt is when a record last changed, from its newest clock stamp.
func (r *record) updatedAt() time.Time {
	var newest HLC
	for _, c := range r.Clocks {
		if h, err := ParseHLC(c); err == nil && h.Wall > newest.Wall {
			newest = h
		}
	}
	return time.UnixMilli(newest.Wall).UTC()
}

// readTx gives a school's sealer for reads on the reader pool.
func (db *DB) reader(ctx context.Context, a Actor) (sealer, error) {
	return db.schoolSealer(ctx, db.read, a.SchoolID)
}

// schoolWrite runs fn in a write transaction with the actor's school sealer.
func (db *DB) schoolWrite(ctx context.Context, a Actor, fn func(tx *sql.Tx, s sealer) error) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		return fn(tx, s)
	})
}
