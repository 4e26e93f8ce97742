package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SetOperator makes the account with this username a server operator, or no longer one; it is for the server's
// command line, whose user runs the server anyway. The audit log of the account's school records it.
func (db *DB) SetOperator(ctx context.Context, username string, on bool) (User, error) {
	u, err := db.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	action := "operator_granted"
	if !on {
		action = "operator_revoked"
	}
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := setOperator(ctx, tx, u.ID, on, db.now()); err != nil {
			return err
		}
		return db.audit(ctx, tx, AuditEntry{SchoolID: u.SchoolID, UserID: u.ID, Action: action, Outcome: OutcomeDone})
	})
	if err != nil {
		return User{}, err
	}
	u.Operator = on
	return u, nil
}

func setOperator(ctx context.Context, tx *sql.Tx, userID string, on bool, now time.Time) error {
	var err error
	if on {
		_, err = tx.ExecContext(ctx, `INSERT INTO operators (user_id, granted_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, now.Unix())
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM operators WHERE user_id = ?`, userID)
	}
	if err != nil {
		return fmt.Errorf("set operator %s: %w", userID, err)
	}
	return nil
}
