package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateSession stores a new session by the hash of its token (the token itself is never stored) and clears the
// user's failure status: this login succeeded.
func (db *DB) CreateSession(ctx context.Context, tokenHash []byte, userID, deviceID string) error {
	now := db.now().Unix()
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ?, last_failure = '' WHERE id = ?`, now, userID); err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, device_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
			tokenHash, userID, deviceID, now, now); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// SessionUser returns the active user of a live session and the device it was opened from, and marks the session
// as used. A session idle for longer than idle, or older than absolute, ends.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte, idle, absolute time.Duration) (User, string, error) {
	var userID, device string
	var created, seen int64
	err := db.read.QueryRowContext(ctx, `SELECT user_id, device_id, created_at, last_seen_at FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&userID, &device, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", Errorf(CodeUnauthenticated, "no session")
	}
	if err != nil {
		return User{}, "", fmt.Errorf("read session: %w", err)
	}
	now := db.now()
	if now.Sub(time.Unix(seen, 0)) > idle || now.Sub(time.Unix(created, 0)) > absolute {
		if err := db.DeleteSession(ctx, tokenHash); err != nil {
			return User{}, "", err
		}
		return User{}, "", Errorf(CodeUnauthenticated, "session expired")
	}
	u, err := db.UserByID(ctx, userID)
	if err != nil {
		return User{}, "", err
	}
	if !u.Active {
		return User{}, "", Errorf(CodeUnauthenticated, "account inactive")
	}
	// Writing on every request would serialise all reads behind the writer; a minute's precision is enough for
	// an idle timeout of minutes.
	if now.Unix()-seen >= 60 {
		err := db.writeTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, now.Unix(), tokenHash)
			return err
		})
		if err != nil {
			return User{}, "", fmt.Errorf("touch session: %w", err)
		}
	}
	return u, device, nil
}

// SessionAlive says whether a session is still live, without marking it as used: a browser's open sync
// connection must not keep a shared PC's session from timing out.
func (db *DB) SessionAlive(ctx context.Context, tokenHash []byte, idle, absolute time.Duration) error {
	var created, seen int64
	err := db.read.QueryRowContext(ctx, `SELECT created_at, last_seen_at FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(CodeUnauthenticated, "no session")
	}
	if err != nil {
		return fmt.Errorf("read session: %w", err)
	}
	now := db.now()
	if now.Sub(time.Unix(seen, 0)) > idle || now.Sub(time.Unix(created, 0)) > absolute {
		return Errorf(CodeUnauthenticated, "session expired")
	}
	return nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}

// LoginLockedUntil returns until when logins for a username are refused (zero when they are not). Unknown
// usernames are counted like known ones, so the answer tells nothing about which exist.
func (db *DB) LoginLockedUntil(ctx context.Context, username string) (time.Time, error) {
	var until int64
	err := db.read.QueryRowContext(ctx, `SELECT locked_until FROM login_failures WHERE username_mac = ?`, db.usernameMAC(username)).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && until <= db.now().Unix()) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read login failures: %w", err)
	}
	return time.Unix(until, 0), nil
}

// RecordLoginFailure counts a failed login for a username within window; at maxFailures the username is locked
// for lockFor and the count starts again. It returns the lock's end, or zero.
func (db *DB) RecordLoginFailure(ctx context.Context, username string, window time.Duration, maxFailures int, lockFor time.Duration) (time.Time, error) {
	mac := db.usernameMAC(username)
	now := db.now().Unix()
	var until int64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var failures int
		var first int64
		err := tx.QueryRowContext(ctx, `SELECT failures, first_at FROM login_failures WHERE username_mac = ?`, mac).Scan(&failures, &first)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && now-first > int64(window.Seconds())) {
			failures, first = 0, now
		} else if err != nil {
			return fmt.Errorf("read login failures: %w", err)
		}
		failures++
		if failures >= maxFailures {
			until = now + int64(lockFor.Seconds())
			failures, first = 0, now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO login_failures (username_mac, failures, first_at, locked_until) VALUES (?, ?, ?, ?)
			ON CONFLICT (username_mac) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at,
				locked_until = MAX(login_failures.locked_until, excluded.locked_until)`, mac, failures, first, until)
		if err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		return nil
	})
	if err != nil || until == 0 {
		return time.Time{}, err
	}
	return time.Unix(until, 0), nil
}

// ClearLoginFailures forgets the failures of a username after a successful login.
func (db *DB) ClearLoginFailures(ctx context.Context, username string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username_mac = ?`, db.usernameMAC(username)); err != nil {
			return fmt.Errorf("clear login failures: %w", err)
		}
		return nil
	})
}

// SetLoginFailure records why a user's last login failed, for the admin's status column.
func (db *DB) SetLoginFailure(ctx context.Context, userID, reason string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_failure = ? WHERE id = ?`, reason, userID); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		return nil
	})
}

// Unlock lifts a lock on a user of the admin's school after wrong passwords.
func (db *DB) Unlock(ctx context.Context, a Actor, userID string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	u, err := db.schoolUser(ctx, db.read, a.SchoolID, userID)
	if err != nil {
		return err
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username_mac = ?`, db.usernameMAC(u.Username)); err != nil {
			return fmt.Errorf("unlock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_failure = '' WHERE id = ?`, userID); err != nil {
			return fmt.Errorf("unlock: %w", err)
		}
		return nil
	})
}
