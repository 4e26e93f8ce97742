package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// A replica is a store that holds a copy of a server's school, like the desktop app's local store: the school and
// its user keep the server's ids, so records move between both unchanged, but the replica seals everything under
// a key of its own.

// AdoptSchool creates a school with a server's id and name and a fresh data key of this store; adopting it again
// changes nothing.
func (db *DB) AdoptSchool(ctx context.Context, sc School) error {
	if !ValidID(sc.ID) {
		return Errorf(CodeInvalid, "school id %q is not valid", sc.ID)
	}
	key, err := NewKey()
	if err != nil {
		return err
	}
	name := strings.TrimSpace(sc.Name)
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO schools (id, name, name_key, wrapped_key, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key`,
			sc.ID, name, schoolNameKey(name), db.keys.wrapSchoolKey(sc.ID, key), db.now().Unix())
		if err != nil {
			return fmt.Errorf("adopt school: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO replica (school_id) VALUES (?) ON CONFLICT DO NOTHING`, sc.ID); err != nil {
			return fmt.Errorf("adopt school: %w", err)
		}
		db.replica.Store(true)
		return nil
	})
}

// AdoptUser writes a server's account into an adopted school, without any password: a replica never checks one.
// The first account adopted is the replica's own user, whose view of the school the replica keeps (prune.go).
// Adopting it again (the desktop does at every unlock) prunes what the user no longer sees: after a change of
// role, or what an older version of the app kept.
func (db *DB) AdoptUser(ctx context.Context, u User) error {
	if !ValidID(u.ID) || !u.Role.Valid() {
		return Errorf(CodeInvalid, "user %q is not valid", u.ID)
	}
	u.PasswordHash, u.Active = "", true
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.now().UTC().Truncate(time.Second)
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = ?`, u.ID).Scan(&n); err != nil {
			return fmt.Errorf("adopt user: %w", err)
		}
		if n > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET username_mac = ? WHERE id = ?`, db.usernameMAC(u.Username), u.ID); err != nil {
				return fmt.Errorf("adopt user: %w", err)
			}
		}
		if err := db.writeUser(ctx, tx, u, n == 0); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qClaimReplica, u.ID, u.SchoolID); err != nil {
			return fmt.Errorf("adopt user: %w", err)
		}
		s, err := db.schoolSealer(ctx, tx, u.SchoolID)
		if err != nil {
			return err
		}
		return db.pruneReplica(ctx, tx, s, u.SchoolID)
	})
}
