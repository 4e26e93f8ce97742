package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// A teacher's replica keeps only what the teacher may see: laptops get lost, and pupils' data must leave one
// once its teacher no longer has the right to it. When a course goes to another teacher or is deleted, or a
// pupil leaves the teacher's last course with them, the replica deletes what the server no longer sends the
// teacher — the course with its lessons, marks and enrollments, and the pupils — by the server's own rules
// (visibility), worked out for the replica's user from what the replica holds.
//
// Pruning is local forgetting, not a delete that syncs: the rows go without a tombstone and nothing enters the
// outbox, so neither the server nor the other devices hear of it. Should the teacher see the records again (the
// course comes back, the pupil is enrolled again), the server touches them and they arrive whole, as on a new
// device. Until then the server sends the teacher nothing of them but the lost course's own record, which goes
// again as it arrives.

const (
	qReplicaUser  = `SELECT r.user_id, u.role FROM replica r JOIN users u ON u.id = r.user_id WHERE r.school_id = ?`
	qClaimReplica = `UPDATE replica SET user_id = ? WHERE school_id = ? AND user_id = ''`
	qRecordPlace  = `SELECT kind, scope_id, deleted FROM records WHERE id = ? AND school_id = ?`
	qHeld         = `SELECT r.id, r.kind, r.scope_id, r.seq, r.deleted, o.record_id IS NOT NULL
		FROM records r LEFT JOIN outbox o ON o.record_id = r.id WHERE r.school_id = ?`
	qHeldOfKind  = qHeld + ` AND r.kind = ?`
	qHeldInScope = qHeld + ` AND r.scope_id = ?`
	qDropRecord  = `DELETE FROM records WHERE id = ? AND school_id = ?`
)

// replicaUser returns the user a replica holds a school for; false when it holds it for no one (a server's
// store, or a replica that has not adopted an account yet).
func replicaUser(ctx context.Context, q querier, schoolID string) (Actor, bool, error) {
	a := Actor{SchoolID: schoolID}
	err := q.QueryRowContext(ctx, qReplicaUser, schoolID).Scan(&a.UserID, &a.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Actor{}, false, nil
	}
	if err != nil {
		return Actor{}, false, fmt.Errorf("read the replica's user: %w", err)
	}
	return a, true, nil
}

// pruneReplica deletes, in the caller's transaction, every record of a replica that its user no longer sees. An
// admin sees the whole school: their replica keeps everything. Kept back are
//   - a record with a change in the outbox, until the server answered the push (Acknowledge prunes again): the
//     teacher's offline work is not lost unheard, and the server decides on it as on any push;
//   - what the replica cannot judge yet, because what decides arrives later in the feed (a catch-up sends each
//     record once, at its latest change): a lesson, mark or enrollment of a course the replica does not hold (the
//     course was renamed after its lessons were written), or that arrived after the course's record said the
//     course is lost (the server sent it because the user had the course again, whose newer record follows), and
//     a student with such an enrollment, or none here;
//   - a course's record while one of its records is kept back, so that it can tell, later, that those go too.
func (db *DB) pruneReplica(ctx context.Context, tx *sql.Tx, s sealer, schoolID string) error {
	a, ok, err := replicaUser(ctx, tx, schoolID)
	if err != nil || !ok || a.IsAdmin() {
		return err
	}
	vis, err := db.computeVisibility(ctx, tx, s, a)
	if err != nil {
		return err
	}
	courses, err := held(ctx, tx, qHeldOfKind, schoolID, KindCourse)
	if err != nil {
		return err
	}
	// Besides students, only a course the user does not see has records they do not see: the rest is not read.
	var gone []string
	for _, c := range courses {
		if vis.sees(&c.r) {
			continue
		}
		recs, err := held(ctx, tx, qHeldInScope, schoolID, c.r.ID)
		if err != nil {
			return err
		}
		gone = append(gone, lostCourse(c, recs)...)
	}
	students, err := lostStudents(ctx, tx, schoolID, vis, gone)
	if err != nil {
		return err
	}
	gone = append(gone, students...)
	for _, id := range gone {
		if err := db.dropRecord(ctx, tx, schoolID, id); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		db.noteChange(tx, schoolID) // the teacher's UI shows less now
	}
	return nil
}

// lostCourse returns the ids of a course's records (recs, its own among them) that the replica may forget, the
// user not seeing the course: those it held before the course's record came (local sequence numbers count up as
// records arrive) and not waiting in the outbox, and the course's record once nothing else of it stays.
func lostCourse(course heldRecord, recs []heldRecord) []string {
	var out []string
	for _, h := range recs {
		if h.r.ID != course.r.ID && !h.pending && h.r.Seq < course.r.Seq {
			out = append(out, h.r.ID)
		}
	}
	if len(out) == len(recs)-1 {
		out = append(out, course.r.ID)
	}
	return out
}

// lostStudents returns the ids of the students the user does not see that the replica may forget: those of
// whom it holds enrollments, each in a course of the user's or going (gone).
func lostStudents(ctx context.Context, tx *sql.Tx, schoolID string, vis *visibility, gone []string) ([]string, error) {
	students, err := held(ctx, tx, qHeldOfKind, schoolID, KindStudent)
	if err != nil {
		return nil, err
	}
	var unseen []heldRecord
	for _, st := range students {
		if !vis.sees(&st.r) && !st.pending {
			unseen = append(unseen, st)
		}
	}
	if len(unseen) == 0 {
		return nil, nil
	}
	enrollments, err := held(ctx, tx, qHeldOfKind, schoolID, KindEnrollment)
	if err != nil {
		return nil, err
	}
	byID := map[string]*heldRecord{}
	courses := map[string]bool{} // with enrollments here
	for i := range enrollments {
		e := &enrollments[i]
		byID[e.r.ID], courses[e.r.ScopeID] = e, true
	}
	going := map[string]bool{}
	for _, id := range gone {
		going[id] = true
	}
	judged := func(studentID string) bool {
		some := false
		for c := range courses {
			if e := byID[enrollmentID(c, studentID)]; e != nil {
				if !vis.sees(&e.r) && !going[e.r.ID] {
					return false // the enrollment's course, or its newer record, is on its way
				}
				some = true
			}
		}
		return some
	}
	var out []string
	for _, st := range unseen {
		if judged(st.r.ID) {
			out = append(out, st.r.ID)
		}
	}
	return out, nil
}

// leftView says whether the replica's user does not see one of the records ids, by the visibility of what is
// committed: the caller's transaction stored no course or enrollment. A record that is gone counts as seen.
func (db *DB) leftView(ctx context.Context, tx *sql.Tx, s sealer, schoolID string, ids []string) (bool, error) {
	if len(ids) == 0 {
		return false, nil
	}
	a, ok, err := replicaUser(ctx, tx, schoolID)
	if err != nil || !ok || a.IsAdmin() {
		return false, err
	}
	vis, err := db.visibility(ctx, s, a)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		r := record{ID: id}
		err := tx.QueryRowContext(ctx, qRecordPlace, id, schoolID).Scan(&r.Kind, &r.ScopeID, &r.Deleted)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read record %s: %w", id, err)
		}
		if !vis.sees(&r) {
			return true, nil
		}
	}
	return false, nil
}

// heldRecord is a record of a replica as far as pruning needs it: its clear columns (Fields stay empty; Seq is
// the replica's own sequence number), and whether it waits in the outbox.
type heldRecord struct {
	r       record
	pending bool
}

// held reads the records a qHeld query selects.
func held(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]heldRecord, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list the replica's records: %w", err)
	}
	defer rows.Close()
	list := []heldRecord{}
	for rows.Next() {
		var h heldRecord
		if err := rows.Scan(&h.r.ID, &h.r.Kind, &h.r.ScopeID, &h.r.Seq, &h.r.Deleted, &h.pending); err != nil {
			return nil, fmt.Errorf("list the replica's records: %w", err)
		}
		list = append(list, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the replica's records: %w", err)
	}
	return list, nil
}

// dropRecord deletes a record of a replica without a trace: no tombstone, nothing to push.
func (db *DB) dropRecord(ctx context.Context, tx *sql.Tx, schoolID, id string) error {
	if _, err := tx.ExecContext(ctx, qDropRecord, id, schoolID); err != nil {
		return fmt.Errorf("drop record %s: %w", id, err)
	}
	db.txs.forget(tx, schoolID, id)
	db.scope.begin(tx) // it may have been a course or an enrollment (changes.go)
	return nil
}
