package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Sync between a server and its replicas (docs/sync-protocol.md). Changes travel as whole records with per-field
// clock stamps (Change), so applying one twice, or an old one after a newer one, changes nothing: a batch resent
// after a crash is harmless. The server checks every pushed record against its user's rights and answers each
// with a PushResult; a replica keeps the records changed locally in its outbox until the server answered them.

// MaxPushBatch is the most changes one push may carry.
const MaxPushBatch = 500

// PushError says why the server refused one pushed change.
type PushError struct {
	Code    Code              `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// PushResult is the server's answer to one pushed change: accepted (Error nil) or refused. With a refusal comes
// the record as the server holds it and the user may see it (Current; nil when there is none), so the replica
// drops its own version and ends up like the server. Seq is the replica's own sequence number of the change,
// echoed: an acknowledgement removes the change from the outbox only if nothing changed locally since.
type PushResult struct {
	ID      string     `json:"id"`
	Seq     int64      `json:"seq"`
	Error   *PushError `json:"error,omitempty"`
	Current *Change    `json:"current,omitempty"`
}

// Ingest applies the changes a device pushed for its user, each merged per field with what the server holds and
// given the school's next sequence number when it changed anything. A change outside the user's rights, or one
// that is invalid, is refused on its own; the rest of the batch still applies.
func (db *DB) Ingest(ctx context.Context, a Actor, changes []Change) ([]PushResult, error) {
	if len(changes) > MaxPushBatch {
		return nil, Errorf(CodeInvalid, "a push carries at most %d changes", MaxPushBatch)
	}
	results := make([]PushResult, len(changes))
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if err := db.noteAbsent(ctx, tx, a.SchoolID, changes); err != nil {
			return err
		}
		var visible func(*record) bool
		for i := range changes {
			c := &changes[i]
			results[i] = PushResult{ID: c.ID, Seq: c.Seq}
			var old *record
			if ValidID(c.ID) {
				r, err := db.loadRecord(ctx, tx, s, a.SchoolID, c.ID)
				if err != nil && ErrorCode(err) != CodeNotFound {
					return err
				}
				old = r
			}
			if pushedBefore(old, c) {
				// The device sends a batch again whose answer it lost: this change was applied then, and is answered
				// so again, whatever changed around it since (the student left the course, say).
				continue
			}
			if err := db.checkPush(ctx, tx, s, a, c, old); err != nil {
				var e *Error
				if !errors.As(err, &e) {
					return err
				}
				results[i].Error = &PushError{Code: e.Code, Message: e.Message, Fields: e.Fields}
				if old != nil {
					if visible == nil {
						if visible, err = db.visibleTo(ctx, s, a); err != nil {
							return err
						}
						if visible == nil {
							visible = func(*record) bool { return true }
						}
					}
					if visible(old) {
						results[i].Current = old.change()
					}
				}
				continue
			}
			if err := db.mergeRecord(ctx, tx, s, a.SchoolID, c, old, true); err != nil {
				return err
			}
			if err := db.widenScope(ctx, tx, s, a.SchoolID, c, old); err != nil {
				return err
			}
			if err := db.narrowScope(ctx, tx, s, a.SchoolID, c, old); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// pushedBefore reports whether the record holds exactly what a change carries: every field's stamp is the
// change's (stamps name the replica that made them, so no other change has them), in the same place.
func pushedBefore(old *record, c *Change) bool {
	if old == nil || len(c.Clocks) == 0 || old.Kind != c.Kind || old.ScopeID != c.ScopeID || old.ParentID != c.ParentID || old.Deleted != c.Deleted {
		return false
	}
	for name, stamp := range c.Clocks {
		if old.Clocks[name] != stamp {
			return false
		}
	}
	return true
}

// widenScope touches what a teacher may see only from now on because of a pushed change: the student of a new
// enrollment, or the records of a course that went to another teacher (as the HTTP API's writes do).
func (db *DB) widenScope(ctx context.Context, tx *sql.Tx, s sealer, schoolID string, c *Change, old *record) error {
	if c.Deleted {
		return nil
	}
	switch c.Kind {
	case KindEnrollment:
		if old != nil && !old.Deleted {
			return nil
		}
		var e Enrollment
		if err := fromFields(c.Fields, &e); err != nil {
			return err
		}
		st, err := db.loadRecord(ctx, tx, s, schoolID, e.StudentID)
		if err != nil {
			return err
		}
		return db.touch(ctx, tx, s, schoolID, st)
	case KindCourse:
		// Only a teacher the merge kept widens anything: a deleted course stays deleted, and a push whose teacher
		// lost to a newer one (or was applied before) changes nobody's view.
		if old == nil || old.Deleted {
			return nil
		}
		merged, err := db.loadRecord(ctx, tx, s, schoolID, c.ID)
		if err != nil {
			return err
		}
		if merged.Deleted || string(merged.Fields["teacherId"]) == string(old.Fields["teacherId"]) {
			return nil
		}
		return db.touchCourse(ctx, tx, s, schoolID, c.ID)
	}
	return nil
}

// narrowScope notes the teacher who loses a course because of a pushed change (given to another teacher, or
// deleted), as the HTTP API's writes do: their replicas still receive the course's record.
func (db *DB) narrowScope(ctx context.Context, tx *sql.Tx, s sealer, schoolID string, c *Change, old *record) error {
	if c.Kind != KindCourse || old == nil || old.Deleted {
		return nil
	}
	merged, err := db.loadRecord(ctx, tx, s, schoolID, c.ID)
	if err != nil {
		return err
	}
	teacher := string(old.Fields["teacherId"])
	if !merged.Deleted && string(merged.Fields["teacherId"]) == teacher {
		return nil
	}
	var id string
	if err := json.Unmarshal([]byte(teacher), &id); err != nil {
		return fmt.Errorf("teacher of course %s: %w", c.ID, err)
	}
	return db.noteLeaver(ctx, tx, schoolID, c.ID, id)
}

func (r *record) change() *Change {
	return &Change{ID: r.ID, Kind: r.Kind, ScopeID: r.ScopeID, ParentID: r.ParentID, Seq: r.Seq, Clocks: r.Clocks, Deleted: r.Deleted, Fields: r.Fields}
}

// mergeRecord merges one change into the record old (nil: none) and stores the result if it differs. The server
// (detect) also keeps the losing value of a concurrent change of a conflict-tracked field.
func (db *DB) mergeRecord(ctx context.Context, tx *sql.Tx, s sealer, schoolID string, c *Change, old *record, detect bool) error {
	if old != nil && old.Kind != c.Kind {
		return Errorf(CodeConflict, "record %s exists with another kind", c.ID)
	}
	merged, changed := merge(old, schoolID, c)
	if detect {
		before := merged.Clocks[conflictsField]
		withConflicts(old, c, merged, func() string { return db.clock.Now().String() })
		changed = changed || merged.Clocks[conflictsField] != before
	}
	for _, stamp := range c.Clocks {
		if h, err := ParseHLC(stamp); err == nil {
			db.clock.Observe(h)
		}
	}
	if !changed {
		return nil
	}
	return db.storeRecord(ctx, tx, s, merged)
}

// checkPush decides whether the actor may write a change: the same rights as the HTTP API (a teacher writes
// lessons and attendance of their own courses; an admin anything of the school), records stay where they are, and
// a live record's fields must be valid as its entity.
func (db *DB) checkPush(ctx context.Context, tx *sql.Tx, s sealer, a Actor, c *Change, old *record) error {
	if err := c.validate(); err != nil {
		return err
	}
	if old != nil && (old.Kind != c.Kind || old.ScopeID != c.ScopeID || old.ParentID != c.ParentID) {
		return Errorf(CodeConflict, "record %s cannot change its kind or place", c.ID)
	}
	switch c.Kind {
	case KindCourse, KindStudent, KindEnrollment:
		if err := a.RequireAdmin(); err != nil {
			return err
		}
	}
	switch c.Kind {
	case KindCourse:
		if c.ScopeID != c.ID || c.ParentID != "" {
			return Errorf(CodeInvalid, "a course is its own scope")
		}
		return checkEntity[Course](c, func(v *Course) (string, error) { return v.ID, v.validate() })
	case KindStudent:
		if c.ScopeID != a.SchoolID || c.ParentID != "" {
			return Errorf(CodeInvalid, "a student belongs to the school")
		}
		return checkEntity[Student](c, func(v *Student) (string, error) { return v.ID, v.validate() })
	case KindEnrollment:
		if c.ParentID != c.ScopeID {
			return Errorf(CodeInvalid, "an enrollment belongs to its course")
		}
		if _, err := db.course(ctx, tx, s, a, c.ScopeID); err != nil && !c.Deleted {
			return err
		}
		return checkEntity[Enrollment](c, func(v *Enrollment) (string, error) {
			if v.CourseID != c.ScopeID {
				return "", Errorf(CodeInvalid, "the enrollment's course is not its scope")
			}
			if _, err := db.viewLiveRecord(ctx, tx, s, a.SchoolID, KindStudent, v.StudentID); err != nil {
				return "", err
			}
			return enrollmentID(v.CourseID, v.StudentID), nil
		})
	case KindLesson:
		if c.ParentID != c.ScopeID {
			return Errorf(CodeInvalid, "a lesson belongs to its course")
		}
		if _, err := db.course(ctx, tx, s, a, c.ScopeID); err != nil {
			return err
		}
		return checkEntity[Lesson](c, func(v *Lesson) (string, error) {
			if v.CourseID != c.ScopeID {
				return "", Errorf(CodeInvalid, "the lesson's course is not its scope")
			}
			return v.ID, v.validate()
		})
	case KindAttendance:
		if _, err := db.course(ctx, tx, s, a, c.ScopeID); err != nil {
			return err
		}
		if c.Deleted {
			return nil
		}
		l, err := db.viewLiveRecord(ctx, tx, s, a.SchoolID, KindLesson, c.ParentID)
		if err != nil {
			return err
		}
		if l.ScopeID != c.ScopeID {
			return Errorf(CodeInvalid, "the mark's lesson is not in its course")
		}
		return checkEntity[AttendanceMark](c, func(v *AttendanceMark) (string, error) {
			if v.LessonID != c.ParentID {
				return "", Errorf(CodeInvalid, "the mark's lesson is not its parent")
			}
			if _, err := db.viewLiveRecord(ctx, tx, s, a.SchoolID, KindEnrollment, enrollmentID(c.ScopeID, v.StudentID)); err != nil {
				return "", &Error{Code: CodeInvalid, Message: "student is not enrolled in the course", Fields: map[string]string{"studentId": FieldNotEnrolled}}
			}
			return attendanceID(v.LessonID, v.StudentID), v.validate()
		})
	}
	return Errorf(CodeInvalid, "unknown kind %q", c.Kind)
}

// checkEntity decodes a live change's fields as its entity and checks it; check returns the id the entity must
// have. A tombstone has no fields to check.
func checkEntity[T any](c *Change, check func(*T) (string, error)) error {
	if c.Deleted {
		return nil
	}
	var v T
	if err := fromFields(c.Fields, &v); err != nil {
		return Errorf(CodeInvalid, "the fields of %s do not fit a %s", c.ID, c.Kind)
	}
	id, err := check(&v)
	if err != nil {
		return err
	}
	if id != c.ID {
		return Errorf(CodeInvalid, "the id of %s does not fit its fields", c.Kind)
	}
	return nil
}

// Head is the school's latest sequence number: a connection that wants only what changes from now on starts there.
func (db *DB) Head(ctx context.Context, schoolID string) (int64, error) {
	var head int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM records WHERE school_id = ?`, schoolID).Scan(&head); err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	return head, nil
}

// Replicas.

// loadReplica notes whether this store copies a server's school: then local changes go to the outbox.
func (db *DB) loadReplica(ctx context.Context) error {
	var n int
	if err := db.write.QueryRowContext(ctx, `SELECT COUNT(*) FROM replica`).Scan(&n); err != nil {
		return fmt.Errorf("read replica: %w", err)
	}
	db.replica.Store(n > 0)
	return nil
}

// toOutbox notes a local change of a replica's record; the caller stored it with its new sequence number.
// The stamps the change of a conflict-tracked field is based on stay those of its first local change since the
// last acknowledgement: what the server held when the device last agreed with it.
func (db *DB) toOutbox(ctx context.Context, tx *sql.Tx, old, r *record) error {
	if !db.replica.Load() {
		return nil
	}
	bases, err := outboxBases(ctx, tx, r.ID)
	if err != nil {
		return err
	}
	for f, b := range basesOf(old, r) {
		if _, ok := bases[f]; !ok {
			bases[f] = b
		}
	}
	raw, err := json.Marshal(bases)
	if err != nil {
		return fmt.Errorf("encode outbox bases: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (record_id, school_id, seq, bases) VALUES (?, ?, ?, ?)
		ON CONFLICT (record_id) DO UPDATE SET seq = excluded.seq, bases = excluded.bases`, r.ID, r.SchoolID, r.Seq, string(raw))
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Outbox returns up to limit records changed here and not yet acknowledged; each change's Seq is the record's
// local sequence number, to echo in the acknowledgement. Live records come first, parents before children (a
// course, a student, an enrollment, a lesson, a mark), each kind by its latest change, then the deletes in the
// order they were made: the server checks a mark against its lesson and enrollment, and a lesson edited after
// its marks were set has the later sequence number, so in plain order its marks would come first and be refused.
func (db *DB) Outbox(ctx context.Context, schoolID string, limit int) ([]Change, error) {
	if limit <= 0 || limit > MaxPushBatch {
		limit = MaxPushBatch
	}
	s, err := db.schoolSealer(ctx, db.read, schoolID)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT r.id, r.school_id, r.kind, r.scope_id, r.parent_id, r.seq, r.clocks, r.deleted, r.packet, o.bases
		FROM outbox o JOIN records r ON r.id = o.record_id WHERE o.school_id = ?
		ORDER BY r.deleted, CASE r.kind WHEN 'course' THEN 0 WHEN 'student' THEN 1 WHEN 'enrollment' THEN 2 WHEN 'lesson' THEN 3 ELSE 4 END, o.seq
		LIMIT ?`, schoolID, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		// Seq is the record's local sequence number as it goes out (not older than its latest local change): the
		// acknowledgement tells by it whether the record changed here since, by an edit or a pull.
		var bases string
		r, err := openRecord(s, rowWith{rows, &bases})
		if err != nil {
			return nil, err
		}
		c := r.change()
		if err := json.Unmarshal([]byte(bases), &c.Bases); err != nil {
			return nil, fmt.Errorf("decode outbox bases: %w", err)
		}
		if len(c.Bases) == 0 {
			c.Bases = nil
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// rowWith scans a record row followed by extra columns.
type rowWith struct {
	row   rowScanner
	extra *string
}

func (r rowWith) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }

// Pending counts a replica's changes that wait for the server.
func (db *DB) Pending(ctx context.Context, schoolID string) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE school_id = ?`, schoolID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// Cursor is the server's sequence number up to which a replica holds every change of the school.
func (db *DB) Cursor(ctx context.Context, schoolID string) (int64, error) {
	var c int64
	err := db.read.QueryRowContext(ctx, `SELECT cursor FROM replica WHERE school_id = ?`, schoolID).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cursor: %w", err)
	}
	return c, nil
}

// ApplyPulled merges changes from the server into a replica and moves its cursor, in one transaction: after a
// crash the replica asks again from where it stood, and what arrives twice merges to the same.
func (db *DB) ApplyPulled(ctx context.Context, schoolID string, changes []Change, cursor int64) error {
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
		if err := db.noteAbsent(ctx, tx, schoolID, changes); err != nil {
			return err
		}
		for i := range changes {
			c := &changes[i]
			old, err := db.loadRecord(ctx, tx, s, schoolID, c.ID)
			if err != nil && ErrorCode(err) != CodeNotFound {
				return err
			}
			if err := db.mergeRecord(ctx, tx, s, schoolID, c, old, false); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE replica SET cursor = MAX(cursor, ?) WHERE school_id = ?`, cursor, schoolID)
		if err != nil {
			return fmt.Errorf("move cursor: %w", err)
		}
		if !db.scope.moved(tx) {
			return nil // only a course or an enrollment narrows what the user sees, or settles what was kept back
		}
		return db.pruneReplica(ctx, tx, s, schoolID)
	})
}

// Acknowledge takes the server's answers to a push: an accepted change leaves the outbox (unless the record
// changed here again since); a refused one is replaced by the server's record, or removed when the server has none
// the user may see, so that the replica ends up like the server. What left the outbox goes too if the user no
// longer sees it (prune.go).
func (db *DB) Acknowledge(ctx context.Context, schoolID string, results []PushResult) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, schoolID)
		if err != nil {
			return err
		}
		var released []string // records whose change the server answered
		for _, res := range results {
			if res.Error != nil {
				// A pull may have merged a newer server version into the record after the push (the server sends
				// changes and acknowledgements on one socket in no fixed order): Current would then set it back,
				// and dropping it would lose what the device pulled, with its cursor already past. Such a record
				// stays in the outbox and goes again with the next push, for the server to judge as it is now.
				var seq int64
				err := tx.QueryRowContext(ctx, `SELECT seq FROM records WHERE id = ? AND school_id = ?`, res.ID, schoolID).Scan(&seq)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("acknowledge: %w", err)
				}
				if seq > res.Seq {
					continue
				}
			}
			gone, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE record_id = ? AND school_id = ? AND seq <= ?`, res.ID, schoolID, res.Seq)
			if err != nil {
				return fmt.Errorf("acknowledge: %w", err)
			}
			n, _ := gone.RowsAffected()
			if n > 0 {
				released = append(released, res.ID)
			}
			if n == 0 || res.Error == nil {
				continue // accepted, or changed here again: the newer change goes with the next push
			}
			if res.Current != nil && res.Current.ID == res.ID {
				if err := res.Current.validate(); err != nil {
					return err
				}
				for _, stamp := range res.Current.Clocks {
					if h, err := ParseHLC(stamp); err == nil {
						db.clock.Observe(h)
					}
				}
				merged, _ := merge(nil, schoolID, res.Current)
				if err := db.storeRecord(ctx, tx, s, merged); err != nil {
					return err
				}
				continue
			}
			if err := db.dropRecord(ctx, tx, schoolID, res.ID); err != nil {
				return fmt.Errorf("acknowledge: %w", err)
			}
		}
		// A record kept back for its push may go now; a course or an enrollment the server sent back, or dropped,
		// may narrow what the user sees.
		if !db.scope.moved(tx) {
			if left, err := db.leftView(ctx, tx, s, schoolID, released); err != nil || !left {
				return err
			}
		}
		return db.pruneReplica(ctx, tx, s, schoolID)
	})
}
