package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
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
	if limit <= 0 || limit > MaxChangesPage {
		limit = MaxChangesPage
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	visible, err := db.visibleTo(ctx, s, a)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE school_id = ? AND seq > ? ORDER BY seq`, a.SchoolID, after)
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() && len(out) < limit {
		r, err := openRecord(s, rows)
		if err != nil {
			return nil, err
		}
		if visible != nil && !visible(r) {
			continue
		}
		out = append(out, Change{ID: r.ID, Kind: r.Kind, ScopeID: r.ScopeID, ParentID: r.ParentID, Seq: r.Seq, Clocks: r.Clocks, Deleted: r.Deleted, Fields: r.Fields})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	return out, nil
}

// visibleTo returns the filter of the records a teacher may receive, or nil for an admin (everything).
func (db *DB) visibleTo(ctx context.Context, s sealer, a Actor) (func(*record) bool, error) {
	if a.IsAdmin() {
		return nil, nil
	}
	courses, err := db.listRecords(ctx, db.read, s, a.SchoolID, KindCourse, "")
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, r := range courses {
		c, err := decode[Course](r)
		if err != nil {
			return nil, err
		}
		if c.TeacherID == a.UserID {
			own[c.ID] = true
		}
	}
	students := map[string]bool{}
	for id := range own {
		recs, err := db.listRecords(ctx, db.read, s, a.SchoolID, KindEnrollment, id)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			e, err := decode[Enrollment](r)
			if err != nil {
				return nil, err
			}
			students[e.StudentID] = true
		}
	}
	return func(r *record) bool {
		if r.Kind == KindStudent {
			return students[r.ID]
		}
		return own[r.ScopeID]
	}, nil
}

// ApplyChanges merges changes from another replica into a school's records, all or none: per field, the value
// with the later clock stamp wins (ties broken by node, which is part of the stamp), and a delete is final. A
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
	if old == nil {
		if in.Deleted {
			in.Fields = map[string]json.RawMessage{}
		}
		return in, true
	}
	out := &record{ID: old.ID, SchoolID: schoolID, Kind: old.Kind, ScopeID: old.ScopeID, ParentID: old.ParentID,
		Deleted: old.Deleted || in.Deleted, Clocks: maps.Clone(old.Clocks), Fields: maps.Clone(old.Fields)}
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
	if out.Deleted {
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
