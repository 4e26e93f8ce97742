package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// RecoveryCodeCount is how many codes one printed sheet holds.
const RecoveryCodeCount = 10

// Letters and digits that cannot be mistaken for each other on paper.
const recoveryAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func newRecoveryCode() string {
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = recoveryAlphabet[int(b[i])%len(recoveryAlphabet)] // 256 is a multiple of 32: no bias
	}
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r == '-' || r == ' ':
			return -1
		}
		return r
	}, strings.TrimSpace(code))
}

// NewRecoveryCodes replaces the acting admin's recovery codes with a new set and returns it; only hashes are
// kept, so this is the only time the codes are seen.
func (db *DB) NewRecoveryCodes(ctx context.Context, a Actor) ([]string, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, a.UserID); err != nil {
			return fmt.Errorf("replace recovery codes: %w", err)
		}
		for i := range codes {
			codes[i] = newRecoveryCode()
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_mac, created_at) VALUES (?, ?, ?)`,
				a.UserID, db.keys.lookup("recovery code "+a.UserID, normalizeRecoveryCode(codes[i])), db.now().Unix()); err != nil {
				return fmt.Errorf("store recovery code: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryCodesLeft says how many of the acting admin's codes are unused, and when the set was made.
func (db *DB) RecoveryCodesLeft(ctx context.Context, a Actor) (int, time.Time, error) {
	if err := a.RequireAdmin(); err != nil {
		return 0, time.Time{}, err
	}
	var n int
	var created sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE used_at = 0), MAX(created_at) FROM recovery_codes WHERE user_id = ?`, a.UserID).Scan(&n, &created)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count recovery codes: %w", err)
	}
	if !created.Valid {
		return 0, time.Time{}, nil
	}
	return n, time.Unix(created.Int64, 0).UTC(), nil
}

// RecoverDevice trusts deviceID for admin u when code is one of u's unused recovery codes, and uses the code up.
// It reports whether it did.
func (db *DB) RecoverDevice(ctx context.Context, u User, deviceID, code string) (bool, error) {
	if u.Role != RoleAdmin || !u.Active {
		return false, nil
	}
	mac := db.keys.lookup("recovery code "+u.ID, normalizeRecoveryCode(code))
	var used bool
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_mac = ? AND used_at = 0`, db.now().Unix(), u.ID, mac)
		if err != nil {
			return fmt.Errorf("use recovery code: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		s, err := db.schoolSealer(ctx, tx, u.SchoolID)
		if err != nil {
			return err
		}
		d, err := db.userDevice(ctx, tx, s, u.ID, deviceID)
		if err != nil {
			return err
		}
		d.State, d.DecidedAt = DeviceTrusted, db.now()
		used = true
		return db.writeUserDevice(ctx, tx, s, u.SchoolID, d, nil)
	})
	return used, err
}
