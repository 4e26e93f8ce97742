package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Record kinds of school data.
const (
	KindCourse     = "course"
	KindStudent    = "student"
	KindEnrollment = "enrollment"
	KindLesson     = "lesson"
	KindAttendance = "attendance"
)

// deletedField is the clock entry of a record's tombstone, so that a delete merges like any other field change.
const deletedField = "_deleted"

// record is one sealed row of school data, opened: its identity in the clear and its fields.
type record struct {
	ID       string
	SchoolID string
	Kind     string
	ScopeID  string
	ParentID string
	Seq      int64
	Clocks   map[string]string
	Deleted  bool
	Fields   map[string]json.RawMessage
}

// ad is the associated data of a record's packet: everything stored in the clear beside it except the sequence
// number, which the server assigns. A packet copied to another row, or a row whose clear columns were edited,
// fails to open.
func (r *record) ad(clocks []byte) []byte {
	var b bytes.Buffer
	b.WriteString("pult record v1")
	for _, s := range []string{r.SchoolID, r.Kind, r.ID, r.ScopeID, r.ParentID} {
		b.WriteByte(0)
		b.WriteString(s)
	}
	b.WriteByte(0)
	if r.Deleted {
		b.WriteByte(1)
	} else {
		b.WriteByte(0)
	}
	b.Write(clocks)
	return b.Bytes()
}

// schoolSealer returns the sealer of a school's data key, unwrapping it on first use.
func (db *DB) schoolSealer(ctx context.Context, q querier, schoolID string) (sealer, error) {
	db.mu.RLock()
	s, ok := db.schools[schoolID]
	db.mu.RUnlock()
	if ok {
		return s, nil
	}
	var wrapped []byte
	err := q.QueryRowContext(ctx, `SELECT wrapped_key FROM schools WHERE id = ?`, schoolID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("school")
	}
	if err != nil {
		return nil, fmt.Errorf("load key of school %s: %w", schoolID, err)
	}
	key, err := db.keys.unwrapSchoolKey(schoolID, wrapped)
	if err != nil {
		return nil, err
	}
	s, err = db.newSealer(key)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	db.schools[schoolID] = s
	db.mu.Unlock()
	return s, nil
}

// toFields turns an entity into the field map that is sealed and merged per field.
func toFields(v any) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode fields: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("split fields: %w", err)
	}
	return fields, nil
}

// fromFields fills an entity from a record's fields.
func fromFields(fields map[string]json.RawMessage, v any) error {
	raw, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("join fields: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode fields: %w", err)
	}
	return nil
}

// putRecord writes a record's fields. Fields whose value changed (or are new) get a fresh clock stamp; the record
// gets the school's next sequence number. Writing identical fields again changes nothing, not even the sequence.
func (db *DB) putRecord(ctx context.Context, tx *sql.Tx, s sealer, r *record) error {
	old, err := db.loadRecord(ctx, tx, s, r.SchoolID, r.ID)
	if err != nil && ErrorCode(err) != CodeNotFound {
		return err
	}
	if old != nil && (old.Kind != r.Kind || old.SchoolID != r.SchoolID) {
		return Errorf(CodeConflict, "record %s exists with another kind", r.ID)
	}
	r.Clocks = map[string]string{}
	keepConflicts(old, r)
	changed := old == nil || old.Deleted != r.Deleted || old.ScopeID != r.ScopeID || old.ParentID != r.ParentID
	var stamp string
	nextStamp := func() string {
		if stamp == "" {
			stamp = db.clock.Now().String()
		}
		return stamp
	}
	if old != nil {
		for f, c := range old.Clocks {
			r.Clocks[f] = c
		}
	}
	for f, v := range r.Fields {
		if old == nil || !bytes.Equal(old.Fields[f], v) {
			r.Clocks[f] = nextStamp()
			changed = true
		}
	}
	if old != nil {
		for f := range old.Fields {
			if _, ok := r.Fields[f]; !ok {
				r.Clocks[f] = nextStamp()
				changed = true
			}
		}
	}
	if r.Deleted && (old == nil || !old.Deleted) {
		r.Clocks[deletedField] = nextStamp()
	}
	if !changed {
		r.Seq = old.Seq
		return nil
	}
	if err := db.storeRecord(ctx, tx, s, r); err != nil {
		return err
	}
	return db.toOutbox(ctx, tx, old, r)
}

// storeRecord seals and writes a record as it is, with the school's next sequence number.
func (db *DB) storeRecord(ctx context.Context, tx *sql.Tx, s sealer, r *record) error {
	next, err := db.prepared(ctx, tx, qNextSeq)
	if err != nil {
		return err
	}
	if err := next.QueryRowContext(ctx, r.SchoolID).Scan(&r.Seq); err != nil {
		return fmt.Errorf("next seq: %w", err)
	}
	clocks, err := json.Marshal(r.Clocks)
	if err != nil {
		return fmt.Errorf("encode clocks: %w", err)
	}
	plain, err := json.Marshal(r.Fields)
	if err != nil {
		return fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	packet := s.seal(r.ad(clocks), plain)
	insert, err := db.prepared(ctx, tx, qPutRecord)
	if err != nil {
		return err
	}
	_, err = insert.ExecContext(ctx, r.ID, r.SchoolID, r.Kind, r.ScopeID, r.ParentID, r.Seq, string(clocks), r.Deleted, packet)
	if err != nil {
		return fmt.Errorf("write record %s: %w", r.ID, err)
	}
	db.noteChange(tx, r.SchoolID)
	return nil
}

const recordColumns = `id, school_id, kind, scope_id, parent_id, seq, clocks, deleted, packet`

type rowScanner interface{ Scan(dest ...any) error }

// openRecord reads one row and opens its packet. A packet that fails authentication is an error, never shown.
func openRecord(s sealer, row rowScanner) (*record, error) {
	var r record
	var clocks string
	var packet []byte
	if err := row.Scan(&r.ID, &r.SchoolID, &r.Kind, &r.ScopeID, &r.ParentID, &r.Seq, &clocks, &r.Deleted, &packet); err != nil {
		return nil, err
	}
	plain, err := s.open(r.ad([]byte(clocks)), packet)
	if err != nil {
		return nil, fmt.Errorf("open record %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(clocks), &r.Clocks); err != nil {
		return nil, fmt.Errorf("decode clocks of record %s: %w", r.ID, err)
	}
	if err := json.Unmarshal(plain, &r.Fields); err != nil {
		return nil, fmt.Errorf("decode record %s: %w", r.ID, err)
	}
	return &r, nil
}

// loadRecord reads a record by id, tombstones included.
func (db *DB) loadRecord(ctx context.Context, q querier, s sealer, schoolID, id string) (*record, error) {
	stmt, err := db.prepared(ctx, q, qLoadRecord)
	if err != nil {
		return nil, err
	}
	r, err := openRecord(s, stmt.QueryRowContext(ctx, id, schoolID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("record")
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// getRecord reads a live record of a kind.
func (db *DB) getRecord(ctx context.Context, q querier, s sealer, schoolID, kind, id string) (*record, error) {
	if !ValidID(id) {
		return nil, notFound(kind)
	}
	r, err := db.loadRecord(ctx, q, s, schoolID, id)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return nil, notFound(kind)
		}
		return nil, err
	}
	if r.Kind != kind || r.Deleted {
		return nil, notFound(kind)
	}
	return r, nil
}

// listRecords reads the live records of a kind in a school, optionally those of one parent.
func (db *DB) listRecords(ctx context.Context, q querier, s sealer, schoolID, kind, parentID string) ([]*record, error) {
	query, args := qListKind, []any{schoolID, kind}
	if parentID != "" {
		query, args = qListParent, append(args, parentID)
	}
	stmt, err := db.prepared(ctx, q, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []*record
	for rows.Next() {
		r, err := openRecord(s, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, nil
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
