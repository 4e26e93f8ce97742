package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
)

// Conflicts (SD5). Per-field last-writer-wins never loses a value silently for the fields the domain marks here:
// when two devices changed one of them concurrently — the later change was not based on the earlier — the losing
// value stays on the record under conflictsField, for the teacher to see and resolve. Writing the field again
// resolves its conflict.

// conflictFields are the fields whose concurrent changes are kept as conflicts, by record kind.
var conflictFields = map[string]map[string]bool{
	KindAttendance: {"status": true},
}

// conflictsField holds a record's open conflicts, {field: FieldConflict}; it syncs like any other field.
const conflictsField = "_conflicts"

// FieldConflict is the value that lost against a concurrent change of the same field, and when it was written.
type FieldConflict struct {
	Value json.RawMessage `json:"value"`
	At    string          `json:"at"` // the losing value's clock stamp
}

// conflictsOf reads a record's open conflicts.
func conflictsOf(r *record) map[string]FieldConflict {
	out := map[string]FieldConflict{}
	if raw, ok := r.Fields[conflictsField]; ok {
		json.Unmarshal(raw, &out)
	}
	return out
}

// keepConflicts carries a record's open conflicts over a local write that does not know them (entities have no
// conflicts field), dropping those of the fields this write changed: the teacher decided.
func keepConflicts(old, r *record) {
	if old == nil {
		return
	}
	open := conflictsOf(old)
	if len(open) == 0 {
		return
	}
	for f := range open {
		if string(old.Fields[f]) != string(r.Fields[f]) {
			delete(open, f)
		}
	}
	if len(open) == 0 {
		return // the write leaves the field out: it is deleted with a fresh stamp
	}
	raw, _ := json.Marshal(open)
	r.Fields[conflictsField] = raw
}

// basesOf returns, for the marked fields a local write stamped, the stamp each change is based on ("" for a
// field new here). A field is stamped when its value changed, or with its coupled group (changes.go): a change
// of minutes late overrides a concurrent change of the status too.
func basesOf(old, r *record) map[string]string {
	marked := conflictFields[r.Kind]
	if len(marked) == 0 {
		return nil
	}
	bases := map[string]string{}
	for f := range marked {
		if old == nil {
			if _, ok := r.Fields[f]; ok {
				bases[f] = ""
			}
			continue
		}
		if r.Clocks[f] != old.Clocks[f] {
			bases[f] = old.Clocks[f]
		}
	}
	return bases
}

// withConflicts returns the merge of an incoming change into old, recording as a conflict every marked field
// that both changed concurrently to different values: the incoming change was based on another stamp than the
// one old holds. stamp gives the conflicts field a fresh clock stamp.
func withConflicts(old *record, c *Change, merged *record, stamp func() string) {
	marked := conflictFields[c.Kind]
	if old == nil || len(marked) == 0 || merged.Deleted {
		return
	}
	open := conflictsOf(merged)
	found := false
	for f := range marked {
		in, ok := c.Fields[f]
		base, based := c.Bases[f]
		had, has := old.Fields[f]
		if !ok || !based || !has || base == old.Clocks[f] || string(in) == string(had) {
			continue
		}
		loser := FieldConflict{Value: had, At: old.Clocks[f]}
		if c.Clocks[f] <= old.Clocks[f] {
			loser = FieldConflict{Value: in, At: c.Clocks[f]}
		}
		if known, ok := open[f]; ok && known.At == loser.At && string(known.Value) == string(loser.Value) {
			continue // the same change again (a batch resent after a lost acknowledgement): nothing new
		}
		open[f] = loser
		found = true
	}
	if !found {
		return
	}
	raw, _ := json.Marshal(open)
	merged.Fields = maps.Clone(merged.Fields)
	merged.Clocks = maps.Clone(merged.Clocks)
	merged.Fields[conflictsField] = raw
	merged.Clocks[conflictsField] = stamp()
}

// outboxBases reads the bases a replica's outbox keeps for a record.
func outboxBases(ctx context.Context, tx *sql.Tx, recordID string) (map[string]string, error) {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT bases FROM outbox WHERE record_id = ?`, recordID).Scan(&raw)
	if err == sql.ErrNoRows {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read outbox bases: %w", err)
	}
	bases := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &bases); err != nil {
		return nil, fmt.Errorf("decode outbox bases: %w", err)
	}
	return bases, nil
}
