package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Bounds of a school's device policy (LE5).
const (
	MinPINAttempts            = 3
	MaxPINAttempts            = 10
	MinIdleTimeoutMinutes     = 1
	MaxIdleTimeoutMinutes     = 240
	DefaultPINAttempts        = 5
	DefaultIdleTimeoutMinutes = 10
)

// DevicePolicy is what a school asks of its desktop devices.
type DevicePolicy struct {
	MaxPINAttempts     int `json:"maxPinAttempts"`
	IdleTimeoutMinutes int `json:"idleTimeoutMinutes"`
}

// Check names the fields outside their bounds.
func (p DevicePolicy) Check() error {
	f := FieldErrors{}
	if p.MaxPINAttempts < MinPINAttempts || p.MaxPINAttempts > MaxPINAttempts {
		f.Add("maxPinAttempts", FieldOutOfRange)
	}
	if p.IdleTimeoutMinutes < MinIdleTimeoutMinutes || p.IdleTimeoutMinutes > MaxIdleTimeoutMinutes {
		f.Add("idleTimeoutMinutes", FieldOutOfRange)
	}
	return f.Err("device policy")
}

// DevicePolicy returns the policy of the actor's school; every member may read it.
func (db *DB) DevicePolicy(ctx context.Context, a Actor) (DevicePolicy, error) {
	return db.schoolPolicy(ctx, a.SchoolID)
}

func (db *DB) schoolPolicy(ctx context.Context, schoolID string) (DevicePolicy, error) {
	var p DevicePolicy
	err := db.read.QueryRowContext(ctx, `SELECT max_pin_attempts, idle_timeout_minutes FROM schools WHERE id = ?`, schoolID).
		Scan(&p.MaxPINAttempts, &p.IdleTimeoutMinutes)
	if errors.Is(err, sql.ErrNoRows) {
		return DevicePolicy{}, notFound("school")
	}
	if err != nil {
		return DevicePolicy{}, fmt.Errorf("read device policy: %w", err)
	}
	return p, nil
}

// SetDevicePolicy changes the policy of the admin's school; devices pick it up at their next contact.
func (db *DB) SetDevicePolicy(ctx context.Context, a Actor, p DevicePolicy) (DevicePolicy, error) {
	if err := a.RequireAdmin(); err != nil {
		return DevicePolicy{}, err
	}
	if err := p.Check(); err != nil {
		return DevicePolicy{}, err
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE schools SET max_pin_attempts = ?, idle_timeout_minutes = ? WHERE id = ?`,
			p.MaxPINAttempts, p.IdleTimeoutMinutes, a.SchoolID)
		if err != nil {
			return fmt.Errorf("set device policy: %w", err)
		}
		return nil
	})
	if err != nil {
		return DevicePolicy{}, err
	}
	return p, nil
}
