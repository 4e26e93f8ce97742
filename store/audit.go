package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Audit outcomes.
const (
	OutcomeAllowed = "allowed"
	OutcomeRefused = "refused"
	OutcomeDone    = "done"
)

// AuditEntry is one decision or change: when, who acted, on whom and which device, what, with which outcome and
// why, from where.
type AuditEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	SchoolID string    `json:"-"`
	ActorID  string    `json:"actorId"`
	UserID   string    `json:"userId"`
	DeviceID string    `json:"deviceId"`
	Action   string    `json:"action"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason"`
	IP       string    `json:"ip"`
}

type auditPacket struct {
	IP string `json:"ip"`
}

func auditAD(schoolID string, at int64, action string) []byte {
	return []byte("pult audit v1\x00" + schoolID + "\x00" + strconv.FormatInt(at, 10) + "\x00" + action)
}

// auditSealer seals entries of a school under its key, and entries that name no known school under the server's.
func (db *DB) auditSealer(ctx context.Context, q querier, schoolID string) (sealer, error) {
	if schoolID == "" {
		return db.keys.wrap, nil
	}
	return db.schoolSealer(ctx, q, schoolID)
}

// Audit appends an entry to the audit log.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error { return db.audit(ctx, tx, e) })
}

// audit appends an entry within tx, so that it lands together with the change it records.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	s, err := db.auditSealer(ctx, tx, e.SchoolID)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(auditPacket{IP: e.IP})
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	at := e.At.UnixMilli()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (school_id, at, actor_id, user_id, device_id, action, outcome, reason, packet)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.SchoolID, at, e.ActorID, e.UserID, e.DeviceID, e.Action, e.Outcome, e.Reason,
		s.seal(auditAD(e.SchoolID, at, e.Action), plain))
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// AuditFilter narrows the audit log; empty fields match everything.
type AuditFilter struct {
	UserID  string
	Action  string
	Outcome string
	From    time.Time
	To      time.Time
}

// MaxAuditEntries bounds one read of the audit log.
const MaxAuditEntries = 10000

// AuditLog returns the newest entries of the admin's school that match f, newest first.
func (db *DB) AuditLog(ctx context.Context, a Actor, f AuditFilter) ([]AuditEntry, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	return db.auditLog(ctx, a.SchoolID, f)
}

// ServerAuditLog returns the newest entries of the server's own log that match f, newest first, for an operator:
// what names no school — logins with unknown usernames, unknown license and access codes, parent accounts.
func (db *DB) ServerAuditLog(ctx context.Context, a Actor, f AuditFilter) ([]AuditEntry, error) {
	if err := a.RequireOperator(); err != nil {
		return nil, err
	}
	return db.auditLog(ctx, "", f)
}

func (db *DB) auditLog(ctx context.Context, schoolID string, f AuditFilter) ([]AuditEntry, error) {
	s, err := db.auditSealer(ctx, db.read, schoolID)
	if err != nil {
		return nil, err
	}
	query := `SELECT id, at, actor_id, user_id, device_id, action, outcome, reason, packet FROM audit_log WHERE school_id = ?`
	args := []any{schoolID}
	for _, c := range []struct {
		cond string
		v    string
	}{{" AND user_id = ?", f.UserID}, {" AND action = ?", f.Action}, {" AND outcome = ?", f.Outcome}} {
		if c.v != "" {
			query += c.cond
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		query += " AND at >= ?"
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		query += " AND at < ?"
		args = append(args, f.To.UnixMilli())
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY id DESC LIMIT `+strconv.Itoa(MaxAuditEntries), args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var packet []byte
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.UserID, &e.DeviceID, &e.Action, &e.Outcome, &e.Reason, &packet); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		plain, err := s.open(auditAD(schoolID, at, e.Action), packet)
		if err != nil {
			return nil, fmt.Errorf("open audit entry %d: %w", e.ID, err)
		}
		var p auditPacket
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("decode audit entry %d: %w", e.ID, err)
		}
		e.SchoolID, e.At, e.IP = schoolID, time.UnixMilli(at).UTC(), p.IP
		out = append(out, e)
	}
	return out, rows.Err()
}
