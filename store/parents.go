package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CodeLinkInvalid answers a confirmation or reset link that is unknown, used, expired or for another purpose. It
// does not say which.
const CodeLinkInvalid Code = "link_invalid"

// Languages of parent accounts: their mails are written in it.
const (
	LangGerman  = "de"
	LangEnglish = "en"
)

// Purposes of one-time links.
const (
	TokenConfirm = "confirm"
	TokenReset   = "reset"
)

// Parent is a parent's (or a student's own) account. It belongs to no school: its children may be at several.
// PasswordHash never leaves the server.
type Parent struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Language     string    `json:"language"`
	CreatedAt    time.Time `json:"createdAt"`
	ConfirmedAt  time.Time `json:"confirmedAt,omitzero"`
	PasswordHash string    `json:"-"`
}

// Confirmed reports whether the address was confirmed: only then can the account log in.
func (p Parent) Confirmed() bool { return !p.ConfirmedAt.IsZero() }

type parentPacket struct {
	Email        string `json:"email"`
	PasswordHash string `json:"passwordHash"`
	Language     string `json:"language"`
}

type tokenPacket struct {
	PasswordHash string `json:"passwordHash"`
}

// NormalizeEmail is how an address is compared: trimmed and in lower case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckParentEmail validates an address a parent typed.
func CheckParentEmail(f FieldErrors, field, email string) {
	if strings.TrimSpace(email) == "" {
		f.Add(field, FieldRequired)
		return
	}
	checkEmail(f, field, NormalizeEmail(email))
}

// ValidLanguage reports whether lang is a language mails are written in.
func ValidLanguage(lang string) bool { return lang == LangGerman || lang == LangEnglish }

func (db *DB) emailMAC(email string) []byte {
	return db.keys.lookup("parent email", NormalizeEmail(email))
}

func parentAD(id string, mac []byte) []byte {
	return []byte("pult parent v1\x00" + id + "\x00" + string(mac))
}

func tokenAD(hash []byte, parentID, purpose string) []byte {
	return []byte("pult parent token v1\x00" + string(hash) + "\x00" + parentID + "\x00" + purpose)
}

func (db *DB) sealParent(p Parent) []byte {
	plain, _ := json.Marshal(parentPacket{Email: p.Email, PasswordHash: p.PasswordHash, Language: p.Language})
	return db.keys.wrap.seal(parentAD(p.ID, db.emailMAC(p.Email)), plain)
}

const parentColumns = `id, email_mac, created_at, confirmed_at, packet`

func (db *DB) scanParent(row rowScanner) (Parent, error) {
	var p Parent
	var mac, packet []byte
	var created, confirmed int64
	if err := row.Scan(&p.ID, &mac, &created, &confirmed, &packet); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Parent{}, notFound("parent")
		}
		return Parent{}, fmt.Errorf("read parent: %w", err)
	}
	plain, err := db.keys.wrap.open(parentAD(p.ID, mac), packet)
	if err != nil {
		return Parent{}, fmt.Errorf("open parent %s: %w", p.ID, err)
	}
	var pp parentPacket
	if err := json.Unmarshal(plain, &pp); err != nil {
		return Parent{}, fmt.Errorf("decode parent %s: %w", p.ID, err)
	}
	p.Email, p.PasswordHash, p.Language = pp.Email, pp.PasswordHash, pp.Language
	p.CreatedAt = time.Unix(created, 0).UTC()
	if confirmed > 0 {
		p.ConfirmedAt = time.Unix(confirmed, 0).UTC()
	}
	return p, nil
}

// ParentByEmail finds an account by its address.
func (db *DB) ParentByEmail(ctx context.Context, email string) (Parent, error) {
	return db.scanParent(db.read.QueryRowContext(ctx, `SELECT `+parentColumns+` FROM parents WHERE email_mac = ?`, db.emailMAC(email)))
}

// ParentByID returns an account by id.
func (db *DB) ParentByID(ctx context.Context, id string) (Parent, error) {
	return db.scanParent(db.read.QueryRowContext(ctx, `SELECT `+parentColumns+` FROM parents WHERE id = ?`, id))
}

// Registration is what registering an address did, for the mail that answers it.
type Registration struct {
	Parent Parent
	// Existing is true when the address already has a confirmed account: nothing changed, and the mail says so.
	Existing bool
}

// RegisterParent registers an address with a password hash and stores the hash of its confirmation link's token
// (valid until expires). A new address gets an unconfirmed account; an unconfirmed one gets another link, which
// activates this registration's password; a confirmed one is left as it is (no token is stored). schoolID names
// the school whose letter the parent came from ("" for none; an unknown one is ignored, so the answer stays the
// same): that school sees the registration.
func (db *DB) RegisterParent(ctx context.Context, email, passwordHash, lang string, tokenHash []byte, expires time.Time, schoolID string) (Registration, error) {
	email = NormalizeEmail(email)
	var reg Registration
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := db.registerParent(ctx, tx, &reg, email, passwordHash, lang, tokenHash, expires); err != nil {
			return err
		}
		if schoolID == "" || !ValidID(schoolID) {
			return nil
		}
		// A school that does not exist records nothing.
		_, err := tx.ExecContext(ctx, `INSERT INTO parent_registrations (parent_id, school_id, registered_at)
			SELECT ?, id, ? FROM schools WHERE id = ? ON CONFLICT DO NOTHING`, reg.Parent.ID, db.now().Unix(), schoolID)
		if err != nil {
			return fmt.Errorf("record registration's school: %w", err)
		}
		return nil
	})
	return reg, err
}

// registerParent is RegisterParent's work on the account: create it, or give an unconfirmed one another link.
func (db *DB) registerParent(ctx context.Context, tx *sql.Tx, reg *Registration, email, passwordHash, lang string, tokenHash []byte, expires time.Time) error {
	p, err := db.scanParent(tx.QueryRowContext(ctx, `SELECT `+parentColumns+` FROM parents WHERE email_mac = ?`, db.emailMAC(email)))
	switch {
	case ErrorCode(err) == CodeNotFound:
		p = Parent{ID: NewID(), Email: email, Language: lang, CreatedAt: db.now().UTC().Truncate(time.Second), PasswordHash: ""}
		if _, err := tx.ExecContext(ctx, `INSERT INTO parents (id, email_mac, created_at, packet) VALUES (?, ?, ?, ?)`,
			p.ID, db.emailMAC(email), p.CreatedAt.Unix(), db.sealParent(p)); err != nil {
			return fmt.Errorf("insert parent: %w", err)
		}
	case err != nil:
		return err
	case p.Confirmed():
		*reg = Registration{Parent: p, Existing: true}
		return nil
	}
	*reg = Registration{Parent: p}
	return db.addToken(ctx, tx, tokenHash, p.ID, TokenConfirm, expires, passwordHash)
}

func (db *DB) addToken(ctx context.Context, tx *sql.Tx, hash []byte, parentID, purpose string, expires time.Time, passwordHash string) error {
	plain, _ := json.Marshal(tokenPacket{PasswordHash: passwordHash})
	_, err := tx.ExecContext(ctx, `INSERT INTO parent_tokens (token_hash, parent_id, purpose, expires_at, packet) VALUES (?, ?, ?, ?, ?)`,
		hash, parentID, purpose, expires.Unix(), db.keys.wrap.seal(tokenAD(hash, parentID, purpose), plain))
	if err != nil {
		return fmt.Errorf("store link: %w", err)
	}
	return nil
}

// AddResetToken stores the hash of a password-reset link's token for a confirmed account.
func (db *DB) AddResetToken(ctx context.Context, parentID string, tokenHash []byte, expires time.Time) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error { return db.addToken(ctx, tx, tokenHash, parentID, TokenReset, expires, "") })
}

// useToken takes a one-time link's token: it is deleted whatever comes next, so it works once.
func (db *DB) useToken(ctx context.Context, tx *sql.Tx, hash []byte, purpose string) (Parent, tokenPacket, error) {
	invalid := Errorf(CodeLinkInvalid, "the link is not valid (used, expired or unknown)")
	var parentID, stored string
	var expires int64
	var packet []byte
	err := tx.QueryRowContext(ctx, `SELECT parent_id, purpose, expires_at, packet FROM parent_tokens WHERE token_hash = ?`, hash).Scan(&parentID, &stored, &expires, &packet)
	if errors.Is(err, sql.ErrNoRows) {
		return Parent{}, tokenPacket{}, invalid
	}
	if err != nil {
		return Parent{}, tokenPacket{}, fmt.Errorf("read link: %w", err)
	}
	if stored != purpose {
		return Parent{}, tokenPacket{}, invalid
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM parent_tokens WHERE token_hash = ?`, hash); err != nil {
		return Parent{}, tokenPacket{}, fmt.Errorf("use link: %w", err)
	}
	if expires <= db.now().Unix() {
		return Parent{}, tokenPacket{}, invalid
	}
	plain, err := db.keys.wrap.open(tokenAD(hash, parentID, purpose), packet)
	if err != nil {
		return Parent{}, tokenPacket{}, fmt.Errorf("open link: %w", err)
	}
	var tp tokenPacket
	if err := json.Unmarshal(plain, &tp); err != nil {
		return Parent{}, tokenPacket{}, fmt.Errorf("decode link: %w", err)
	}
	p, err := db.scanParent(tx.QueryRowContext(ctx, `SELECT `+parentColumns+` FROM parents WHERE id = ?`, parentID))
	if err != nil {
		return Parent{}, tokenPacket{}, err
	}
	return p, tp, nil
}

// ConfirmParent opens a confirmation link: the account is confirmed with the password of the registration that
// sent the link. A used link is kept used even when confirming fails.
func (db *DB) ConfirmParent(ctx context.Context, tokenHash []byte) (Parent, error) {
	var out Parent
	var linkErr error
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		p, tp, err := db.useToken(ctx, tx, tokenHash, TokenConfirm)
		if ErrorCode(err) == CodeLinkInvalid {
			linkErr = err // commit the deletion of an expired token
			return nil
		}
		if err != nil {
			return err
		}
		if !p.Confirmed() {
			p.ConfirmedAt = db.now().UTC().Truncate(time.Second)
			p.PasswordHash = tp.PasswordHash
			if _, err := tx.ExecContext(ctx, `UPDATE parents SET confirmed_at = ?, packet = ? WHERE id = ?`, p.ConfirmedAt.Unix(), db.sealParent(p), p.ID); err != nil {
				return fmt.Errorf("confirm parent: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM parent_tokens WHERE parent_id = ? AND purpose = ?`, p.ID, TokenConfirm); err != nil {
			return fmt.Errorf("drop other links: %w", err)
		}
		out = p
		return nil
	})
	if err != nil {
		return Parent{}, err
	}
	return out, linkErr
}

// ResetParentPassword opens a reset link and sets the new password hash; with endSessions every session of the
// account ends. Every other reset link of the account stops working.
func (db *DB) ResetParentPassword(ctx context.Context, tokenHash []byte, passwordHash string, endSessions bool) (Parent, error) {
	var out Parent
	var linkErr error
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		p, _, err := db.useToken(ctx, tx, tokenHash, TokenReset)
		if ErrorCode(err) == CodeLinkInvalid {
			linkErr = err
			return nil
		}
		if err != nil {
			return err
		}
		p.PasswordHash = passwordHash
		if err := db.writeParentPassword(ctx, tx, p, endSessions, nil); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return Parent{}, err
	}
	return out, linkErr
}

// CreateParentSession stores a parent's session by the hash of its token.
func (db *DB) CreateParentSession(ctx context.Context, tokenHash []byte, parentID string) error {
	now := db.now().Unix()
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO parent_sessions (token_hash, parent_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)`,
			tokenHash, parentID, now, now); err != nil {
			return fmt.Errorf("create parent session: %w", err)
		}
		return nil
	})
}

// ParentSession returns the confirmed account of a live parent session and marks it used; idle or too old
// sessions end.
func (db *DB) ParentSession(ctx context.Context, tokenHash []byte, idle, absolute time.Duration) (Parent, error) {
	var parentID string
	var created, seen int64
	err := db.read.QueryRowContext(ctx, `SELECT parent_id, created_at, last_seen_at FROM parent_sessions WHERE token_hash = ?`, tokenHash).Scan(&parentID, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Parent{}, Errorf(CodeUnauthenticated, "no session")
	}
	if err != nil {
		return Parent{}, fmt.Errorf("read parent session: %w", err)
	}
	now := db.now()
	if now.Sub(time.Unix(seen, 0)) > idle || now.Sub(time.Unix(created, 0)) > absolute {
		if err := db.DeleteParentSession(ctx, tokenHash); err != nil {
			return Parent{}, err
		}
		return Parent{}, Errorf(CodeUnauthenticated, "session expired")
	}
	p, err := db.ParentByID(ctx, parentID)
	if err != nil {
		return Parent{}, err
	}
	if now.Unix()-seen >= 60 {
		err := db.writeTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE parent_sessions SET last_seen_at = ? WHERE token_hash = ?`, now.Unix(), tokenHash)
			return err
		})
		if err != nil {
			return Parent{}, fmt.Errorf("touch parent session: %w", err)
		}
	}
	return p, nil
}

// DeleteParentSession ends one parent session.
func (db *DB) DeleteParentSession(ctx context.Context, tokenHash []byte) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM parent_sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return fmt.Errorf("delete parent session: %w", err)
		}
		return nil
	})
}
