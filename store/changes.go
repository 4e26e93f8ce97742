package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
)

// Change is one record as it travels between replicas: its identity, its per-field clock stamps and its fields
// in the clear. Seq is the sender's sequence number of the record's latest change (the receiver's cursor).
type Change struct {
	ID       string                     `json:"id"`
	Kind     string                     `json:"kind"`
	ScopeID  string                     `json:"scopeId"`
	ParentID string                     `json:"parentId"`
	Seq      int64                      `json:"seq"`
	Clocks   map[string]string          `json:"clocks"`
	Deleted  bool                       `json:"deleted"`
	Fields   map[string]json.RawMessage `json:"fields"`
	// Bases are, in a push, the clock stamps that the device's changes of conflict-tracked fields were based on
	// (store/conflicts.go).
	Bases map[string]string `json:"bases,omitempty"`
}

// MaxChangesPage is the most changes one call of Changes returns.
const MaxChangesPage = 1000

var knownKinds = map[string]bool{KindCourse: true, KindStudent: true, KindEnrollment: true, KindLesson: true, KindAttendance: true}

// Changes returns the records the actor may see whose latest change is after the cursor, in sequence order, at
// most limit of them. An admin sees the whole school; a teacher their own courses, everything inside them, and
// the students enrolled in them.
func (db *DB) Changes(ctx context.Context, a Actor, after int64, limit int) ([]Change, error) {
	p, err := db.ChangesAfter(ctx, a, after, limit)
	return p.Changes, err
}

// ChangesPage is one page of the changes feed.
type ChangesPage struct {
	Changes []Change
	// Cursor is where the next page starts: the sequence number of the last change, or of the last record looked
	// at when the actor may not see it, so that a teacher does not look at other courses' records again.
	Cursor int64
	// More says that the feed goes on after Cursor (or may: the next page can be empty).
	More bool
}

// maxScan bounds the records one page looks at: a teacher's page ends there even when it holds fewer changes
// than asked for (More is then set).
const maxScan = 20 * MaxChangesPage

const qChanges = `SELECT ` + recordColumns + ` FROM records WHERE school_id = ? AND seq > ? ORDER BY seq`

// ChangesAfter is Changes with the page's cursor. Records are filtered on what is stored in the clear, and only
// those the actor may see are opened.
func (db *DB) ChangesAfter(ctx context.Context, a Actor, after int64, limit int) (ChangesPage, error) {
	if limit <= 0 || limit > MaxChangesPage {
		limit = MaxChangesPage
	}
	page := ChangesPage{Changes: []Change{}, Cursor: after}
	s, err := db.reader(ctx, a)
	if err != nil {
		return page, err
	}
	vis, err := db.visibility(ctx, s, a)
	if err != nil {
		return page, err
	}
	stmt, err := db.prepared(ctx, db.read, qChanges)
	if err != nil {
		return page, err
	}
	rows, err := stmt.QueryContext(ctx, a.SchoolID, after)
	if err != nil {
		return page, fmt.Errorf("list changes: %w", err)
	}
	var seen []*sealedRecord
	visible, end := 0, true
	for rows.Next() {
		sr, err := scanSealed(rows)
		if err != nil {
			rows.Close()
			return page, fmt.Errorf("list changes: %w", err)
		}
		seen = append(seen, sr)
		if vis.sees(&sr.r) {
			visible++
		}
		if visible == limit || len(seen) == maxScan {
			end = false
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list changes: %w", err)
	}
	if !db.scope.current(vis) {
		// What the teacher may see changed while the records were read: decide on what holds now, which is at
		// least as new as the records (a new enrollment's student must not be skipped).
		if vis, err = db.computeVisibility(ctx, db.read, s, a); err != nil {
			return page, err
		}
	}
	for i, sr := range seen {
		page.Cursor = sr.r.Seq
		if !vis.sees(&sr.r) {
			continue
		}
		r, err := sr.open(s)
		if err != nil {
			return page, err
		}
		page.Changes = append(page.Changes, *r.change())
		if len(page.Changes) == limit {
			end = end && i == len(seen)-1
			break
		}
	}
	page.More = !end
	return page, nil
}

// FilterChanges returns those of changes (read from the feed before the call) that the actor may see.
func (db *DB) FilterChanges(ctx context.Context, a Actor, changes []Change) ([]Change, error) {
	if a.IsAdmin() {
		return changes, nil
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	vis, err := db.visibility(ctx, s, a)
	if err != nil {
		return nil, err
	}
	var out []Change
	for i := range changes {
		c := &changes[i]
		if vis.sees(&record{ID: c.ID, Kind: c.Kind, ScopeID: c.ScopeID, Deleted: c.Deleted}) {
			out = append(out, *c)
		}
	}
	return out, nil
}

// visibility is what a teacher may receive: the records of their own courses and the students enrolled in them.
// A nil visibility (an admin's) sees everything.
type visibility struct {
	version  uint64 // the scope version it holds for; odd: none
	courses  map[string]bool
	students map[string]bool
	// left are the courses the teacher lost (course_leavers): only the course's own record still reaches them,
	// so that their replicas learn it went to another teacher or was deleted.
	left map[string]bool
}

func (v *visibility) sees(r *record) bool {
	if v == nil {
		return true
	}
	switch r.Kind {
	case KindStudent:
		// A deleted student's tombstone reaches every teacher (it holds nothing but the id): whoever had the
		// student must erase their data, and who had them is no longer known.
		return v.students[r.ID] || r.Deleted
	case KindCourse:
		return v.courses[r.ID] || v.left[r.ID]
	}
	return v.courses[r.ScopeID]
}

// noteLeaver records that a teacher lost a course (see visibility.left).
func (db *DB) noteLeaver(ctx context.Context, tx *sql.Tx, schoolID, courseID, userID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO course_leavers (school_id, course_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		schoolID, courseID, userID)
	if err != nil {
		return fmt.Errorf("note leaver: %w", err)
	}
	return nil
}

// scopeCache keeps each teacher's visibility while no course or enrollment changes. Its version counts such
// changes twice: a write transaction that stores a course or an enrollment makes it odd (before its commit) and
// even again after its commit or rollback. A visibility worked out while the version was even and stayed so
// holds until the version moves; while it is odd, a commit may have made any visibility stale.
type scopeCache struct {
	version atomic.Uint64
	mu      sync.Mutex
	txs     map[*sql.Tx]bool
	cache   map[string]*visibility // by school and user
}

// begin notes that tx stores a course or an enrollment.
func (c *scopeCache) begin(tx *sql.Tx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.txs[tx] {
		return
	}
	if c.txs == nil {
		c.txs = map[*sql.Tx]bool{}
	}
	c.txs[tx] = true
	c.version.Add(1)
}

// end notes that tx committed or rolled back.
func (c *scopeCache) end(tx *sql.Tx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.txs[tx] {
		delete(c.txs, tx)
		c.version.Add(1)
	}
}

// moved says whether tx stored (or dropped) a course or an enrollment: only then can what a teacher may see have
// changed with it.
func (c *scopeCache) moved(tx *sql.Tx) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.txs[tx]
}

// current says whether a visibility still holds: no course or enrollment changed since it was worked out.
func (c *scopeCache) current(v *visibility) bool {
	if v == nil {
		return true
	}
	n := c.version.Load()
	return n%2 == 0 && v.version == n
}

// visibility returns what the actor may see as it holds now (nil for an admin), kept while it holds.
func (db *DB) visibility(ctx context.Context, s sealer, a Actor) (*visibility, error) {
	if a.IsAdmin() {
		return nil, nil
	}
	key := a.SchoolID + "/" + a.UserID
	n := db.scope.version.Load()
	if n%2 == 0 {
		db.scope.mu.Lock()
		v := db.scope.cache[key]
		db.scope.mu.Unlock()
		if v != nil && v.version == n {
			return v, nil
		}
	}
	v, err := db.computeVisibility(ctx, db.read, s, a)
	if err != nil {
		return nil, err
	}
	if n%2 == 0 && db.scope.version.Load() == n {
		v.version = n
		db.scope.mu.Lock()
		if db.scope.cache == nil {
			db.scope.cache = map[string]*visibility{}
		}
		db.scope.cache[key] = v
		db.scope.mu.Unlock()
	}
	return v, nil
}

// computeVisibility works out a teacher's visibility from the courses and enrollments as q holds them now (a
// replica's write transaction: what it has merged so far).
func (db *DB) computeVisibility(ctx context.Context, q querier, s sealer, a Actor) (*visibility, error) {
	if a.IsAdmin() {
		return nil, nil
	}
	courses, err := db.listRecords(ctx, q, s, a.SchoolID, KindCourse, "")
	if err != nil {
		return nil, err
	}
	v := &visibility{version: 1, courses: map[string]bool{}, students: map[string]bool{}, left: map[string]bool{}}
	rows, err := q.QueryContext(ctx, `SELECT course_id FROM course_leavers WHERE school_id = ? AND user_id = ?`, a.SchoolID, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("read left courses: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read left courses: %w", err)
		}
		v.left[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read left courses: %w", err)
	}
	for _, r := range courses {
		c, err := decode[Course](r)
		if err != nil {
			return nil, err
		}
		if c.TeacherID == a.UserID {
			v.courses[c.ID] = true
		}
	}
	for id := range v.courses {
		recs, err := db.listRecords(ctx, q, s, a.SchoolID, KindEnrollment, id)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			e, err := decode[Enrollment](r)
			if err != nil {
				return nil, err
			}
			v.students[e.StudentID] = true
		}
	}
	return v, nil
}

// visibleTo returns the filter of the records a teacher may receive, or nil for an admin (everything).
func (db *DB) visibleTo(ctx context.Context, s sealer, a Actor) (func(*record) bool, error) {
	v, err := db.visibility(ctx, s, a)
	if err != nil || v == nil {
		return nil, err
	}
	return v.sees, nil
}

// ApplyChanges merges changes from another replica into a school's records, all or none: per field, the value
// with the later clock stamp wins (ties broken by node, which is part of the stamp), and a delete wins as merge says. A
// change that leaves a record as it was writes nothing. The local clock moves past every stamp it saw, so a
// later local edit sorts after what arrived.
func (db *DB) ApplyChanges(ctx context.Context, schoolID string, changes []Change) error {
	for i := range changes {
		if err := changes[i].validate(); err != nil {
			return err
		}
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, schoolID)
		if err != nil {
			return err
		}
		for i := range changes {
			c := &changes[i]
			old, err := db.loadRecord(ctx, tx, s, schoolID, c.ID)
			if err != nil && ErrorCode(err) != CodeNotFound {
				return err
			}
			if old != nil && old.Kind != c.Kind {
				return Errorf(CodeConflict, "record %s exists with another kind", c.ID)
			}
			merged, changed := merge(old, schoolID, c)
			for _, stamp := range c.Clocks {
				if h, err := ParseHLC(stamp); err == nil {
					db.clock.Observe(h)
				}
			}
			if changed {
				if err := db.storeRecord(ctx, tx, s, merged); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (c *Change) validate() error {
	f := FieldErrors{}
	if !ValidID(c.ID) {
		f.Add("id", FieldInvalid)
	}
	if !knownKinds[c.Kind] {
		f.Add("kind", FieldUnknownValue)
	}
	for _, stamp := range c.Clocks {
		if _, err := ParseHLC(stamp); err != nil {
			f.Add("clocks", FieldInvalid)
		}
	}
	for name := range c.Fields {
		if c.Clocks[name] == "" {
			f.Add("clocks", FieldInvalid)
		}
	}
	if c.Deleted && c.Clocks[deletedField] == "" {
		f.Add("deleted", FieldInvalid)
	}
	return f.Err("change")
}

// revivable are the kinds whose records have ids derived from others (an enrollment from its course and student,
// a mark from its lesson and student), so that the same record is written again after a delete. For them the
// tombstone is a field with a stamp like any other (the later of delete and revival wins) and a tombstone keeps
// the values written after its delete, which the revival may need. Every other kind's delete is final and
// erases the record's fields on every replica.
var revivable = map[string]bool{KindEnrollment: true, KindAttendance: true}

// coupled are fields that are valid only together, by kind: a mark's status and minutes late (only "late" has
// minutes), a lesson's start and end (the end comes after the start).
var coupled = map[string][][]string{
	KindAttendance: {{"status", "lateMinutes"}},
	KindLesson:     {{"startTime", "endTime"}},
}

// stampCoupled gives every field of a coupled group the stamp of a local write that changed one of them, so that
// a merge takes the whole group from one writer: one device's "excused" beside another's 10 minutes late would
// be a mark that no device could push again.
func stampCoupled(r *record, stamp string) {
	for _, group := range coupled[r.Kind] {
		touched := false
		for _, f := range group {
			touched = touched || r.Clocks[f] == stamp
		}
		if !touched {
			continue
		}
		for _, f := range group {
			if _, ok := r.Fields[f]; ok {
				r.Clocks[f] = stamp
			}
		}
	}
}

// merge returns the record that results from a change arriving at a replica that holds old (nil: none), and
// whether it differs from old. It is symmetric: whichever of two replicas applies the other's state, both end
// with the same record.
func merge(old *record, schoolID string, c *Change) (*record, bool) {
	in := &record{ID: c.ID, SchoolID: schoolID, Kind: c.Kind, ScopeID: c.ScopeID, ParentID: c.ParentID, Deleted: c.Deleted,
		Clocks: maps.Clone(c.Clocks), Fields: maps.Clone(c.Fields)}
	if in.Clocks == nil {
		in.Clocks = map[string]string{}
	}
	if in.Fields == nil {
		in.Fields = map[string]json.RawMessage{}
	}
	final := !revivable[c.Kind]
	if old == nil {
		if in.Deleted && final {
			in.Fields = map[string]json.RawMessage{}
		}
		return in, true
	}
	out := &record{ID: old.ID, SchoolID: schoolID, Kind: old.Kind, ScopeID: old.ScopeID, ParentID: old.ParentID,
		Deleted: old.Deleted || in.Deleted, Clocks: maps.Clone(old.Clocks), Fields: maps.Clone(old.Fields)}
	if !final {
		// Whether a record with a derived id is deleted is a field like the others: the later stamp wins, so a
		// mark set again after it was cleared stays, on every replica.
		out.Deleted = old.Deleted
		if in.Clocks[deletedField] > old.Clocks[deletedField] {
			out.Deleted = in.Deleted
		}
	}
	if newest(in.Clocks) > newest(old.Clocks) {
		out.ScopeID, out.ParentID = in.ScopeID, in.ParentID
	}
	for name, stamp := range in.Clocks {
		if stamp <= out.Clocks[name] {
			continue
		}
		out.Clocks[name] = stamp
		if v, ok := in.Fields[name]; ok {
			out.Fields[name] = v
		} else {
			delete(out.Fields, name)
		}
	}
	if out.Deleted && final {
		out.Fields = map[string]json.RawMessage{}
	}
	changed := out.Deleted != old.Deleted || out.ScopeID != old.ScopeID || out.ParentID != old.ParentID ||
		!maps.Equal(out.Clocks, old.Clocks)
	return out, changed
}

// newest returns the latest of a record's stamps; stamps sort as strings.
func newest(clocks map[string]string) string {
	var n string
	for _, c := range clocks {
		n = max(n, c)
	}
	return n
}
