package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
)

// Record kinds of school data.
const (
	KindCourse     = "course"
	KindStudent    = "student"
	KindEnrollment = "enrollment"
	KindLesson     = "lesson"
	KindAttendance = "attendance"
)

// deletedField is the clock entry of a record's tombstone, so that a delete merges like any other field change; a
// record with a derived id that comes back after a delete stamps it again (see merge).
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
	const prefix = "pult record v1"
	// Sized in advance: every record sealed or opened builds it.
	b := make([]byte, 0, len(prefix)+len(r.SchoolID)+len(r.Kind)+len(r.ID)+len(r.ScopeID)+len(r.ParentID)+7+len(clocks))
	b = append(b, prefix...)
	for _, s := range [...]string{r.SchoolID, r.Kind, r.ID, r.ScopeID, r.ParentID} {
		b = append(append(b, 0), s...)
	}
	b = append(b, 0)
	if r.Deleted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, clocks...)
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
	raw, _, err := marshalFields(fields)
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
			// The clock forgets what it observed when the store closes, and a device's wall clock may be behind
			// the stamps it received (skew, or set back): a new value must still sort after the one it replaces,
			// or the other replicas would keep the old one.
			if h, err := ParseHLC(c); err == nil {
				db.clock.Observe(h)
			}
		}
	}
	// A record that comes back after a delete is written whole: a value it had before (a tombstone of a
	// record with a derived id keeps values written after its delete) must not keep its old stamp, or a
	// concurrent delete would erase it from the live record.
	revived := old != nil && old.Deleted && !r.Deleted
	for f, v := range r.Fields {
		if old == nil || revived || !bytes.Equal(old.Fields[f], v) {
			r.Clocks[f] = nextStamp()
			changed = true
		}
	}
	if stamp != "" {
		stampCoupled(r, stamp)
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
	if revived {
		// A record with a derived id comes back (a student marked again after the mark was cleared, enrolled
		// again): the live state gets its own stamp, later than the delete's, so that it wins the merge.
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
	seq, err := db.nextSeq(ctx, tx, r.SchoolID)
	if err != nil {
		return err
	}
	r.Seq = seq
	clocks, clocksVerbatim, err := marshalClocks(r.Clocks)
	if err != nil {
		return err
	}
	plain, fieldsVerbatim, err := marshalFields(r.Fields)
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
	db.txs.stored(tx, r, clocksVerbatim && fieldsVerbatim)
	if r.Kind == KindCourse || r.Kind == KindEnrollment {
		db.scope.begin(tx) // what teachers may see changes with this transaction (changes.go)
	}
	return nil
}

const recordColumns = `id, school_id, kind, scope_id, parent_id, seq, clocks, deleted, packet`

type rowScanner interface{ Scan(dest ...any) error }

// openRecord reads one row and opens its packet. A packet that fails authentication is an error, never shown.
func openRecord(s sealer, row rowScanner) (*record, error) {
	sr, err := scanSealed(row)
	if err != nil {
		return nil, err
	}
	return sr.open(s)
}

// sealedRecord is a row as read, its packet still sealed: what is in the clear can be looked at (the changes
// feed filters on it) before paying for opening the packet.
type sealedRecord struct {
	r      record // the clear columns; Clocks and Fields stay empty until open
	clocks string
	packet []byte
}

func scanSealed(row rowScanner) (*sealedRecord, error) {
	var sr sealedRecord
	r := &sr.r
	if err := row.Scan(&r.ID, &r.SchoolID, &r.Kind, &r.ScopeID, &r.ParentID, &r.Seq, &sr.clocks, &r.Deleted, &sr.packet); err != nil {
		return nil, err
	}
	return &sr, nil
}

// open opens the packet and decodes the record.
func (sr *sealedRecord) open(s sealer) (*record, error) {
	r := sr.r
	plain, err := s.open(r.ad([]byte(sr.clocks)), sr.packet)
	if err != nil {
		return nil, fmt.Errorf("open record %s: %w", r.ID, err)
	}
	if err := unmarshalClocks([]byte(sr.clocks), &r.Clocks); err != nil {
		return nil, fmt.Errorf("decode clocks of record %s: %w", r.ID, err)
	}
	if err := unmarshalFields(plain, &r.Fields); err != nil {
		return nil, fmt.Errorf("decode record %s: %w", r.ID, err)
	}
	return &r, nil
}

// loadRecord reads a record by id, tombstones included. The caller may change what it gets.
func (db *DB) loadRecord(ctx context.Context, q querier, s sealer, schoolID, id string) (*record, error) {
	tx, _ := q.(*sql.Tx)
	if r, absent := db.txs.record(tx, schoolID, id); r != nil {
		return r.clone(), nil
	} else if absent {
		return nil, notFound("record")
	}
	r, err := db.readRecord(ctx, q, s, schoolID, id)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		db.txs.keep(tx, r.clone())
	}
	return r, nil
}

// viewRecord is loadRecord for a caller that only reads the record, such as the checks of a push that look up
// the same course, lesson and enrollment for each of its changes: in a write transaction it is the record the
// transaction remembers, not a copy, and must not be changed.
func (db *DB) viewRecord(ctx context.Context, q querier, s sealer, schoolID, id string) (*record, error) {
	tx, _ := q.(*sql.Tx)
	if r, absent := db.txs.record(tx, schoolID, id); r != nil {
		return r, nil
	} else if absent {
		return nil, notFound("record")
	}
	r, err := db.readRecord(ctx, q, s, schoolID, id)
	if err != nil {
		return nil, err
	}
	db.txs.keep(tx, r)
	return r, nil
}

func (db *DB) readRecord(ctx context.Context, q querier, s sealer, schoolID, id string) (*record, error) {
	stmt, err := db.prepared(ctx, q, qLoadRecord)
	if err != nil {
		return nil, err
	}
	r, err := openRecord(s, stmt.QueryRowContext(ctx, id, schoolID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("record")
	}
	return r, err
}

// txRecords is what a write transaction remembers while it runs (writeTx drops it at the end): the records it
// read, opened, so that the checks of a batch that look up the same course, lesson or enrollment for each of its
// changes open it once, and the courses among them decoded; the records it found absent (noteAbsent); each
// school's next sequence number; and the writer's statements bound to it. Records change in a write transaction
// only through storeRecord (which updates what is remembered of the record) or by a delete that forget notes.
// What it remembers is never changed in place, only replaced: viewRecord hands it out without a copy.
type txRecords struct {
	mu sync.Mutex
	m  map[*sql.Tx]*txRecordsOf
}

type txRecordsOf struct {
	records map[string]*record
	absent  map[string]bool   // by school and id
	courses map[string]Course // live courses decoded, by school and id
	nextSeq map[string]int64
	stmts   map[*sql.Stmt]*sql.Stmt // the writer's, bound to the transaction
}

func (t *txRecords) of(tx *sql.Tx) *txRecordsOf {
	if t.m == nil {
		t.m = map[*sql.Tx]*txRecordsOf{}
	}
	o := t.m[tx]
	if o == nil {
		o = &txRecordsOf{records: map[string]*record{}, absent: map[string]bool{}, courses: map[string]Course{},
			nextSeq: map[string]int64{}, stmts: map[*sql.Stmt]*sql.Stmt{}}
		t.m[tx] = o
	}
	return o
}

// record returns a record the transaction read (not a copy), or nil, and whether it is known to be absent.
func (t *txRecords) record(tx *sql.Tx, schoolID, id string) (*record, bool) {
	if tx == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.m[tx]; o != nil {
		if r := o.records[id]; r != nil && r.SchoolID == schoolID {
			return r, false
		}
		return nil, o.absent[schoolID+"/"+id]
	}
	return nil, false
}

// noteAbsent finds out in one query which of the changes' records the school does not hold, so that loadRecord
// answers those without a query of its own: a batch of new records would otherwise look each one up in vain.
func (db *DB) noteAbsent(ctx context.Context, tx *sql.Tx, schoolID string, changes []Change) error {
	for len(changes) > MaxPushBatch {
		if err := db.noteAbsent(ctx, tx, schoolID, changes[:MaxPushBatch]); err != nil {
			return err
		}
		changes = changes[MaxPushBatch:]
	}
	if len(changes) == 0 {
		return nil
	}
	args := make([]any, 0, len(changes)+1)
	for i := range changes {
		args = append(args, changes[i].ID)
	}
	args = append(args, schoolID)
	// By the primary key: "+school_id" keeps SQLite from scanning the school's index instead.
	rows, err := tx.QueryContext(ctx, `SELECT id FROM records WHERE id IN (?`+strings.Repeat(", ?", len(changes)-1)+`) AND +school_id = ?`, args...)
	if err != nil {
		return fmt.Errorf("look up records: %w", err)
	}
	defer rows.Close()
	held := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("look up records: %w", err)
		}
		held[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look up records: %w", err)
	}
	db.txs.mu.Lock()
	defer db.txs.mu.Unlock()
	o := db.txs.of(tx)
	for i := range changes {
		if id := changes[i].ID; !held[id] {
			o.absent[schoolID+"/"+id] = true
		}
	}
	return nil
}

// keep remembers a record the transaction read; nobody may change it after.
func (t *txRecords) keep(tx *sql.Tx, r *record) {
	if tx == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.of(tx).records[r.ID] = r
}

// course returns a course the transaction decoded, if it did.
func (t *txRecords) course(tx *sql.Tx, schoolID, id string) (Course, bool) {
	if tx == nil {
		return Course{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.m[tx]; o != nil {
		c, ok := o.courses[schoolID+"/"+id]
		return c, ok
	}
	return Course{}, false
}

// keepCourse remembers a live course the transaction decoded from its record id.
func (t *txRecords) keepCourse(tx *sql.Tx, schoolID, id string, c Course) {
	if tx == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.of(tx).courses[schoolID+"/"+id] = c
}

// stmt returns the writer's statement bound to the transaction: binding it anew on every call would add a
// statement to the transaction's list each time, kept until it ends.
func (t *txRecords) stmt(ctx context.Context, tx *sql.Tx, s *sql.Stmt) *sql.Stmt {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.of(tx)
	bound := o.stmts[s]
	if bound == nil {
		bound = tx.StmtContext(ctx, s)
		o.stmts[s] = bound
	}
	return bound
}

// stored updates what the transaction remembers of a record it wrote. A record it did not read is remembered too
// when reading it would give it back byte for byte (verbatim): the marks of a pushed lesson look it up right after.
func (t *txRecords) stored(tx *sql.Tx, r *record, verbatim bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.m[tx]; o != nil {
		delete(o.absent, r.SchoolID+"/"+r.ID)
		delete(o.courses, r.SchoolID+"/"+r.ID)
		if verbatim || o.records[r.ID] != nil {
			o.records[r.ID] = r.clone()
		}
	}
}

// forget drops a record the transaction deleted.
func (t *txRecords) forget(tx *sql.Tx, schoolID, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.m[tx]; o != nil {
		delete(o.records, id)
		delete(o.courses, schoolID+"/"+id)
	}
}

// end drops what the transaction remembered: it committed or rolled back.
func (t *txRecords) end(tx *sql.Tx) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, tx)
}

// nextSeq returns the school's next sequence number in a write transaction: read once, then counted on.
func (db *DB) nextSeq(ctx context.Context, tx *sql.Tx, schoolID string) (int64, error) {
	db.txs.mu.Lock()
	o := db.txs.of(tx)
	seq, ok := o.nextSeq[schoolID]
	db.txs.mu.Unlock()
	if !ok {
		next, err := db.prepared(ctx, tx, qNextSeq)
		if err != nil {
			return 0, err
		}
		if err := next.QueryRowContext(ctx, schoolID).Scan(&seq); err != nil {
			return 0, fmt.Errorf("next seq: %w", err)
		}
	}
	db.txs.mu.Lock()
	o.nextSeq[schoolID] = seq + 1
	db.txs.mu.Unlock()
	return seq, nil
}

func (r *record) clone() *record {
	c := *r
	c.Clocks, c.Fields = maps.Clone(r.Clocks), maps.Clone(r.Fields)
	return &c
}

// getRecord reads a live record of a kind.
func (db *DB) getRecord(ctx context.Context, q querier, s sealer, schoolID, kind, id string) (*record, error) {
	return liveRecord(kind, id, func(id string) (*record, error) { return db.loadRecord(ctx, q, s, schoolID, id) })
}

// viewLiveRecord is getRecord for a caller that only reads the record (viewRecord).
func (db *DB) viewLiveRecord(ctx context.Context, q querier, s sealer, schoolID, kind, id string) (*record, error) {
	return liveRecord(kind, id, func(id string) (*record, error) { return db.viewRecord(ctx, q, s, schoolID, id) })
}

func liveRecord(kind, id string, load func(id string) (*record, error)) (*record, error) {
	if !ValidID(id) {
		return nil, notFound(kind)
	}
	r, err := load(id)
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
