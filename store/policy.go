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
	MinOfflineGraceDays       = 1
	MaxOfflineGraceDays       = 90
	DefaultOfflineGraceDays   = 14
	MaxWipeAfterDays          = 365
	DefaultWipeAfterDays      = 90
)

// DevicePolicy is what a school asks of its desktop devices.
type DevicePolicy struct {
	MaxPINAttempts     int `json:"maxPinAttempts"`
	IdleTimeoutMinutes int `json:"idleTimeoutMinutes"`
	// OfflineGraceDays: a device that has not reached the server for so long locks until it is online again.
	OfflineGraceDays int `json:"offlineGraceDays"`
	// WipeAfterDays: after so long without reaching the server, a device erases its data (more than the grace).
	WipeAfterDays int `json:"wipeAfterDays"`
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
	if p.OfflineGraceDays < MinOfflineGraceDays || p.OfflineGraceDays > MaxOfflineGraceDays {
		f.Add("offlineGraceDays", FieldOutOfRange)
	}
	if p.WipeAfterDays <= p.OfflineGraceDays || p.WipeAfterDays > MaxWipeAfterDays {
		f.Add("wipeAfterDays", FieldOutOfRange)
	}
	return f.Err("device policy")
}

// DevicePolicy returns the policy of the actor's school; every member may read it.
func (db *DB) DevicePolicy(ctx context.Context, a Actor) (DevicePolicy, error) {
	return db.schoolPolicy(ctx, a.SchoolID)
}

func (db *DB) schoolPolicy(ctx context.Context, schoolID string) (DevicePolicy, error) {
	var p DevicePolicy
	err := db.read.QueryRowContext(ctx, `SELECT max_pin_attempts, idle_timeout_minutes, offline_grace_days, wipe_after_days FROM schools WHERE id = ?`, schoolID).
		Scan(&p.MaxPINAttempts, &p.IdleTimeoutMinutes, &p.OfflineGraceDays, &p.WipeAfterDays)
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
		_, err := tx.ExecContext(ctx, `UPDATE schools SET max_pin_attempts = ?, idle_timeout_minutes = ?, offline_grace_days = ?, wipe_after_days = ? WHERE id = ?`,
			p.MaxPINAttempts, p.IdleTimeoutMinutes, p.OfflineGraceDays, p.WipeAfterDays, a.SchoolID)
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
