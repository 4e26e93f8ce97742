package store

import (
	"context"
	"database/sql"
	"fmt"
)

// ParentPatch changes a parent's own account; nil fields stay as they are.
type ParentPatch struct {
	Language     *string
	PasswordHash *string
}

// UpdateParent changes a parent's account. A new password ends every other session of the account (keep is the
// one it was changed from) and voids its reset links, as a reset would.
func (db *DB) UpdateParent(ctx context.Context, p Parent, patch ParentPatch, keep []byte) (Parent, error) {
	if patch.Language != nil {
		if !ValidLanguage(*patch.Language) {
			return Parent{}, &Error{Code: CodeInvalid, Message: "unknown language", Fields: map[string]string{"language": FieldInvalid}}
		}
		p.Language = *patch.Language
	}
	if patch.PasswordHash != nil {
		p.PasswordHash = *patch.PasswordHash
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if patch.PasswordHash != nil {
			return db.writeParentPassword(ctx, tx, p, true, keep)
		}
		return db.writeParent(ctx, tx, p)
	})
	if err != nil {
		return Parent{}, err
	}
	return p, nil
}

func (db *DB) writeParent(ctx context.Context, tx *sql.Tx, p Parent) error {
	if _, err := tx.ExecContext(ctx, `UPDATE parents SET packet = ? WHERE id = ?`, db.sealParent(p), p.ID); err != nil {
		return fmt.Errorf("update parent %s: %w", p.ID, err)
	}
	return nil
}

// writeParentPassword stores an account with a new password, as a reset link or a change from an open session
// does: the account's reset links stop working, and with endSessions its sessions end, all but keep (nil: all).
func (db *DB) writeParentPassword(ctx context.Context, tx *sql.Tx, p Parent, endSessions bool, keep []byte) error {
	if err := db.writeParent(ctx, tx, p); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM parent_tokens WHERE parent_id = ? AND purpose = ?`, p.ID, TokenReset); err != nil {
		return fmt.Errorf("drop reset links: %w", err)
	}
	if !endSessions {
		return nil
	}
	// The keep of a reset is nil, and no session's hash is empty: every session ends.
	if _, err := tx.ExecContext(ctx, `DELETE FROM parent_sessions WHERE parent_id = ? AND token_hash <> ?`, p.ID, append([]byte{}, keep...)); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// DeleteParent erases a parent's account: its sessions, links, children, the shares it granted, the schools'
// record of its registration, and the mails to it still waiting in the outbox. Shares others granted to its
// address stay theirs: they count again if the address registers anew.
func (db *DB) DeleteParent(ctx context.Context, p Parent) error {
	waiting, err := db.outbox(ctx, "", false)
	if err != nil {
		return err
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM parents WHERE id = ?`, p.ID); err != nil {
			return fmt.Errorf("delete parent: %w", err)
		}
		for _, m := range waiting {
			if NormalizeEmail(m.To) != NormalizeEmail(p.Email) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_outbox WHERE id = ?`, m.ID); err != nil {
				return fmt.Errorf("delete mail %s: %w", m.ID, err)
			}
		}
		return nil
	})
}
