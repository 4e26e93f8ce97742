package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Mail states in the outbox.
const (
	MailQueued = "queued"
	MailHeld   = "held"
	MailFailed = "failed"
)

// Mail is one mail in the outbox. SchoolID is "" for mails to parent accounts, which belong to no school.
type Mail struct {
	ID        string    `json:"id"`
	SchoolID  string    `json:"-"`
	CreatedAt time.Time `json:"createdAt"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html"`
}

type mailPacket struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

func mailAD(id, schoolID string) []byte { return []byte("pult mail v1\x00" + id + "\x00" + schoolID) }

// mailSealer seals a school's mails under its key and mails to parents under the server's.
func (db *DB) mailSealer(ctx context.Context, q querier, schoolID string) (sealer, error) {
	if schoolID == "" {
		return db.keys.wrap, nil
	}
	return db.schoolSealer(ctx, q, schoolID)
}

// QueueMail puts a mail into the outbox: queued for sending, or held when send is false (no SMTP configured).
func (db *DB) QueueMail(ctx context.Context, m Mail, send bool) (Mail, error) {
	return m, db.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = db.queueMail(ctx, tx, m, send)
		return err
	})
}

func (db *DB) queueMail(ctx context.Context, tx *sql.Tx, m Mail, send bool) (Mail, error) {
	s, err := db.mailSealer(ctx, tx, m.SchoolID)
	if err != nil {
		return Mail{}, err
	}
	m.ID, m.CreatedAt, m.State, m.Attempts = NewID(), db.now().UTC().Truncate(time.Second), MailQueued, 0
	if !send {
		m.State = MailHeld
	}
	plain, err := json.Marshal(mailPacket{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	if err != nil {
		return Mail{}, fmt.Errorf("encode mail: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO mail_outbox (id, school_id, created_at, state, attempts, next_at, packet) VALUES (?, ?, ?, ?, 0, ?, ?)`,
		m.ID, m.SchoolID, m.CreatedAt.Unix(), m.State, m.CreatedAt.Unix(), s.seal(mailAD(m.ID, m.SchoolID), plain))
	if err != nil {
		return Mail{}, fmt.Errorf("queue mail: %w", err)
	}
	return m, nil
}

const mailColumns = `id, school_id, created_at, state, attempts, packet`

func (db *DB) scanMails(ctx context.Context, rows *sql.Rows) ([]Mail, error) {
	defer rows.Close()
	out := []Mail{}
	for rows.Next() {
		var m Mail
		var created int64
		var packet []byte
		if err := rows.Scan(&m.ID, &m.SchoolID, &created, &m.State, &m.Attempts, &packet); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		s, err := db.mailSealer(ctx, db.read, m.SchoolID)
		if err != nil {
			return nil, err
		}
		plain, err := s.open(mailAD(m.ID, m.SchoolID), packet)
		if err != nil {
			return nil, fmt.Errorf("open mail %s: %w", m.ID, err)
		}
		var p mailPacket
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("decode mail %s: %w", m.ID, err)
		}
		m.To, m.Subject, m.Text, m.HTML = p.To, p.Subject, p.Text, p.HTML
		m.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// DueMails returns up to limit queued mails whose time to be sent has come, oldest first.
func (db *DB) DueMails(ctx context.Context, limit int) ([]Mail, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+mailColumns+` FROM mail_outbox WHERE state = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?`,
		MailQueued, db.now().Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return db.scanMails(ctx, rows)
}

// MailSent deletes a sent mail: nothing of it is kept.
func (db *DB) MailSent(ctx context.Context, id string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_outbox WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete sent mail: %w", err)
		}
		return nil
	})
}

// MailFailed records a failed attempt: the mail is tried again at retryAt, or given up when retryAt is zero.
func (db *DB) MailFailed(ctx context.Context, id string, retryAt time.Time) error {
	state, next := MailQueued, retryAt.Unix()
	if retryAt.IsZero() {
		state, next = MailFailed, 0
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, state = ?, next_at = ? WHERE id = ?`, state, next, id); err != nil {
			return fmt.Errorf("record failed mail: %w", err)
		}
		return nil
	})
}

// MailOutbox lists the mails of the admin's school that are held or failed, newest first.
func (db *DB) MailOutbox(ctx context.Context, a Actor) ([]Mail, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	return db.outbox(ctx, a.SchoolID, false)
}

// OperatorOutbox lists the held or failed mails to parent accounts, which belong to no school, for a server
// operator: with no SMTP server configured this is how confirmation and reset links reach people. Schools'
// letters stay with their admins.
func (db *DB) OperatorOutbox(ctx context.Context, a Actor) ([]Mail, error) {
	if err := a.RequireOperator(); err != nil {
		return nil, err
	}
	return db.outbox(ctx, "", false)
}

// ServerOutbox lists every mail in the outbox, of every school and to parent accounts, newest first: the
// operator's view on the server's command line.
func (db *DB) ServerOutbox(ctx context.Context) ([]Mail, error) {
	return db.outbox(ctx, "", true)
}

func (db *DB) outbox(ctx context.Context, schoolID string, all bool) ([]Mail, error) {
	query, args := `SELECT `+mailColumns+` FROM mail_outbox WHERE school_id = ? ORDER BY created_at DESC, id DESC`, []any{schoolID}
	if all {
		query, args = `SELECT `+mailColumns+` FROM mail_outbox ORDER BY created_at DESC, id DESC`, nil
	}
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return db.scanMails(ctx, rows)
}
