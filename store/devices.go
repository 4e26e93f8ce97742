package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DeviceKind is how a device proves itself.
type DeviceKind string

const (
	DeviceBrowser DeviceKind = "browser"
	DeviceDesktop DeviceKind = "desktop"
)

// DeviceState is what a user's device may do.
type DeviceState string

const (
	DeviceTrusted  DeviceState = "trusted"
	DevicePending  DeviceState = "pending"
	DeviceRejected DeviceState = "rejected"
	DeviceBlocked  DeviceState = "blocked"
)

// NewUserLearning is how long a new account's learning mode lasts (any number of devices).
const NewUserLearning = 30 * 24 * time.Hour

// MaxLearningDevices bounds the devices an admin lets a user add in one learning mode.
const MaxLearningDevices = 9

// DeviceInfo is what a device tells about itself and where it was seen: data-minimal, no pupils' data.
type DeviceInfo struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
	OSUser   string `json:"osUser"`
	FirstIP  string `json:"firstIp"`
	LastIP   string `json:"lastIp"`
}

// UserDevice is one device of one user and its state.
type UserDevice struct {
	DeviceID  string      `json:"id"`
	UserID    string      `json:"userId"`
	Kind      DeviceKind  `json:"kind"`
	State     DeviceState `json:"state"`
	FirstSeen time.Time   `json:"firstSeen"`
	LastSeen  time.Time   `json:"lastSeen"`
	DecidedAt time.Time   `json:"decidedAt,omitzero"`
	DeviceInfo
	// Code is the security code of a pending device, which the user reads out to the admin.
	Code string `json:"code,omitempty"`
	// Current marks the device the request came from (set by the host).
	Current bool `json:"current"`
	// Wipe is a desktop device's remote wipe, once an admin asked for it (LE4).
	Wipe *DeviceWipe `json:"wipe,omitempty"`
	// A desktop device's inventory from its last sync connection (DP1).
	AppVersion string    `json:"appVersion,omitempty"`
	OS         string    `json:"os,omitempty"`
	LastSync   time.Time `json:"lastSync,omitzero"`
}

// NoteSync records a desktop device's inventory and the time of its sync.
func (db *DB) NoteSync(ctx context.Context, deviceID, appVersion, os string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO device_inventory (device_id, app_version, os, last_sync) VALUES (?, ?, ?, ?)
			ON CONFLICT (device_id) DO UPDATE SET app_version = excluded.app_version, os = excluded.os, last_sync = excluded.last_sync`,
			deviceID, appVersion, os, db.now().Unix())
		if err != nil {
			return fmt.Errorf("note sync: %w", err)
		}
		return nil
	})
}

// LearningMode says until when, and for how many more devices, a user's new devices become trusted.
type LearningMode struct {
	Until time.Time `json:"until"`
	// DevicesLeft is nil for any number.
	DevicesLeft *int `json:"devicesLeft"`
}

// Active reports whether learning mode still trusts new devices at now.
func (l LearningMode) Active(now time.Time) bool {
	return now.Before(l.Until) && (l.DevicesLeft == nil || *l.DevicesLeft > 0)
}

// SetClock replaces the store's clock (tests of deadlines and timeouts).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Now is the store's clock, which decides deadlines.
func (db *DB) Now() time.Time { return db.now() }

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte("pult device secret v1\x00" + secret))
	return sum[:]
}

// CreateBrowserDevice registers a new browser and returns its credential: an id and a secret that only the
// browser's HttpOnly cookie holds.
func (db *DB) CreateBrowserDevice(ctx context.Context) (id, secret string, err error) {
	b := make([]byte, 32)
	rand.Read(b)
	id, secret = NewID(), fmt.Sprintf("%x", b)
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO devices (id, kind, secret_hash, created_at) VALUES (?, ?, ?, ?)`,
			id, DeviceBrowser, hashSecret(secret), db.now().Unix())
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("create browser device: %w", err)
	}
	return id, secret, nil
}

// BrowserDevice checks a browser's credential; a wrong or unknown one is not found.
func (db *DB) BrowserDevice(ctx context.Context, id, secret string) error {
	if !ValidID(id) {
		return notFound("device")
	}
	var hash []byte
	err := db.read.QueryRowContext(ctx, `SELECT secret_hash FROM devices WHERE id = ? AND kind = ?`, id, DeviceBrowser).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("device")
	}
	if err != nil {
		return fmt.Errorf("read device: %w", err)
	}
	if subtle.ConstantTimeCompare(hash, hashSecret(secret)) != 1 {
		return notFound("device")
	}
	return nil
}

// securityCode derives a pending device's code from its credential and the nonce the server picked after the
// device committed to the credential: a device cannot be made to match a code it was told. Nine digits.
func securityCode(secretHash, nonce []byte) string {
	sum := sha256.Sum256(append(append([]byte("pult security code v1\x00"), secretHash...), nonce...))
	n := binary.BigEndian.Uint64(sum[:8]) % 1_000_000_000
	s := fmt.Sprintf("%09d", n)
	return s[:3] + "-" + s[3:6] + "-" + s[6:]
}

// NormalizeCode strips what people type between digits.
func NormalizeCode(code string) string {
	var b bytes.Buffer
	for _, r := range code {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LoginOutcome is the device half of a login decision.
type LoginOutcome struct {
	// Reason is "" when the device may log in, else "device_pending" or "device_blocked".
	Reason string
	Device UserDevice
	// Learned says the device was trusted now by learning mode, using one slot.
	Learned bool
	// Location says the device is a location's trusted device, which admits any active staff member of its school.
	Location bool
}

// Login reasons the device step gives.
const (
	ReasonDevicePending = "device_pending"
	ReasonDeviceBlocked = "device_blocked"
)

// AdmitDevice decides whether user may log in from device: trusted → in; unknown, pending or rejected while the
// user's learning mode is on → trusted now, one learning slot used; otherwise pending with a fresh security
// code when it was not pending yet; blocked → refused. info updates what is known of the device.
func (db *DB) AdmitDevice(ctx context.Context, u User, deviceID string, info DeviceInfo) (LoginOutcome, error) {
	var out LoginOutcome
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, u.SchoolID)
		if err != nil {
			return err
		}
		d, err := db.userDevice(ctx, tx, s, u.ID, deviceID)
		known := err == nil
		if err != nil && ErrorCode(err) != CodeNotFound {
			return err
		}
		now := db.now()
		if !known {
			d = UserDevice{DeviceID: deviceID, UserID: u.ID, FirstSeen: now, DeviceInfo: info}
			d.FirstIP = info.LastIP
		}
		d.LastSeen, d.LastIP = now, info.LastIP
		if info.Name != "" && d.Name == "" {
			d.Name = info.Name
		}
		if info.Platform != "" {
			d.Platform = info.Platform
		}
		if info.OSUser != "" {
			d.OSUser = info.OSUser
		}
		var nonce []byte
		switch d.State {
		case DeviceTrusted:
		case DeviceBlocked:
			out.Reason = ReasonDeviceBlocked
		default:
			if located, err := db.locationTrusted(ctx, tx, u.SchoolID, deviceID); err != nil || located {
				// A shared terminal's trust is the location's, not the person's: nothing is learnt for the user.
				d.State, out.Location, out.Device = DeviceTrusted, located, d
				return err
			}
			lm, err := db.learningMode(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			if lm.Active(now) {
				d.State, d.DecidedAt, out.Learned = DeviceTrusted, now, true
				if lm.DevicesLeft != nil {
					if _, err := tx.ExecContext(ctx, `UPDATE learning_modes SET devices_left = devices_left - 1 WHERE user_id = ?`, u.ID); err != nil {
						return fmt.Errorf("use learning slot: %w", err)
					}
				}
			} else {
				out.Reason = ReasonDevicePending
				if d.State != DevicePending {
					nonce = make([]byte, 16)
					rand.Read(nonce)
				}
				d.State = DevicePending
			}
		}
		if err := db.writeUserDevice(ctx, tx, s, u.SchoolID, d, nonce); err != nil {
			return err
		}
		out.Device, err = db.userDevice(ctx, tx, s, u.ID, deviceID)
		return err
	})
	return out, err
}

func userDeviceAD(userID, deviceID string) []byte {
	return []byte("pult user device v1\x00" + userID + "\x00" + deviceID)
}

// writeUserDevice inserts or updates a user's device; a nil nonce keeps the stored one.
func (db *DB) writeUserDevice(ctx context.Context, tx *sql.Tx, s sealer, schoolID string, d UserDevice, nonce []byte) error {
	plain, err := json.Marshal(d.DeviceInfo)
	if err != nil {
		return fmt.Errorf("encode device: %w", err)
	}
	packet := s.seal(userDeviceAD(d.UserID, d.DeviceID), plain)
	if nonce == nil {
		nonce = []byte{}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO user_devices (user_id, device_id, school_id, state, nonce, first_seen, last_seen, decided_at, packet)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, device_id) DO UPDATE SET state = excluded.state,
			nonce = CASE WHEN length(excluded.nonce) > 0 THEN excluded.nonce ELSE user_devices.nonce END,
			last_seen = excluded.last_seen, decided_at = excluded.decided_at, packet = excluded.packet`,
		d.UserID, d.DeviceID, schoolID, d.State, nonce, d.FirstSeen.Unix(), d.LastSeen.Unix(), unixOrZero(d.DecidedAt), packet)
	if err != nil {
		return fmt.Errorf("write device %s of user %s: %w", d.DeviceID, d.UserID, err)
	}
	return nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

const userDeviceColumns = `ud.user_id, ud.device_id, d.kind, d.secret_hash, ud.state, ud.nonce, ud.first_seen, ud.last_seen, ud.decided_at, ud.packet,
	COALESCE((SELECT requested_at FROM device_wipes WHERE device_id = ud.device_id), 0), COALESCE((SELECT done_at FROM device_wipes WHERE device_id = ud.device_id), 0),
	COALESCE((SELECT app_version FROM device_inventory WHERE device_id = ud.device_id), ''), COALESCE((SELECT os FROM device_inventory WHERE device_id = ud.device_id), ''),
	COALESCE((SELECT last_sync FROM device_inventory WHERE device_id = ud.device_id), 0)`

func scanUserDevice(s sealer, row rowScanner) (UserDevice, error) {
	var d UserDevice
	var secretHash, nonce, packet []byte
	var first, last, decided, wipeRequested, wipeDone, lastSync int64
	if err := row.Scan(&d.UserID, &d.DeviceID, &d.Kind, &secretHash, &d.State, &nonce, &first, &last, &decided, &packet, &wipeRequested, &wipeDone,
		&d.AppVersion, &d.OS, &lastSync); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return UserDevice{}, notFound("device")
		}
		return UserDevice{}, fmt.Errorf("read device: %w", err)
	}
	plain, err := s.open(userDeviceAD(d.UserID, d.DeviceID), packet)
	if err != nil {
		return UserDevice{}, fmt.Errorf("open device %s: %w", d.DeviceID, err)
	}
	if err := json.Unmarshal(plain, &d.DeviceInfo); err != nil {
		return UserDevice{}, fmt.Errorf("decode device %s: %w", d.DeviceID, err)
	}
	d.FirstSeen, d.LastSeen, d.DecidedAt, d.LastSync = timeOrZero(first), timeOrZero(last), timeOrZero(decided), timeOrZero(lastSync)
	if d.Kind == DeviceDesktop {
		d.Wipe = wipeOf(wipeRequested, wipeDone)
	}
	if d.State == DevicePending {
		d.Code = securityCode(secretHash, nonce)
	}
	return d, nil
}

func (db *DB) userDevice(ctx context.Context, q querier, s sealer, userID, deviceID string) (UserDevice, error) {
	return scanUserDevice(s, q.QueryRowContext(ctx, `SELECT `+userDeviceColumns+` FROM user_devices ud JOIN devices d ON d.id = ud.device_id
		WHERE ud.user_id = ? AND ud.device_id = ?`, userID, deviceID))
}

// learningMode returns a user's learning mode; a user without one has one that ended long ago.
func (db *DB) learningMode(ctx context.Context, q querier, userID string) (LearningMode, error) {
	var until int64
	var left sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT until, devices_left FROM learning_modes WHERE user_id = ?`, userID).Scan(&until, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return LearningMode{}, nil
	}
	if err != nil {
		return LearningMode{}, fmt.Errorf("read learning mode: %w", err)
	}
	lm := LearningMode{Until: time.Unix(until, 0).UTC()}
	if left.Valid {
		n := int(left.Int64)
		lm.DevicesLeft = &n
	}
	return lm, nil
}

func startLearning(ctx context.Context, tx *sql.Tx, userID string, until time.Time, devices *int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO learning_modes (user_id, until, devices_left) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET until = excluded.until, devices_left = excluded.devices_left`, userID, until.Unix(), devices)
	if err != nil {
		return fmt.Errorf("start learning mode: %w", err)
	}
	return nil
}

// canSeeDevices allows a user their own devices and an admin those of their school's users.
func (db *DB) canSeeDevices(ctx context.Context, q querier, a Actor, userID string) error {
	if a.UserID != userID {
		if err := a.RequireAdmin(); err != nil {
			return err
		}
	}
	_, err := db.schoolUser(ctx, q, a.SchoolID, userID)
	return err
}

// UserLearningMode returns a user's learning mode: the user's own, or any of the school's for an admin.
func (db *DB) UserLearningMode(ctx context.Context, a Actor, userID string) (LearningMode, error) {
	if err := db.canSeeDevices(ctx, db.read, a, userID); err != nil {
		return LearningMode{}, err
	}
	return db.learningMode(ctx, db.read, userID)
}

// EndLearningMode ends a user's learning mode: the user's own, or any of the school's for an admin. Only an admin
// can turn it on again.
func (db *DB) EndLearningMode(ctx context.Context, a Actor, userID string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := db.canSeeDevices(ctx, tx, a, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE learning_modes SET until = MIN(until, ?) WHERE user_id = ?`, db.now().Unix(), userID)
		if err != nil {
			return fmt.Errorf("end learning mode: %w", err)
		}
		return nil
	})
}

// EnableLearningMode turns learning mode on for users of the admin's school, until a deadline and for 1 to 9
// devices. All or nothing.
func (db *DB) EnableLearningMode(ctx context.Context, a Actor, userIDs []string, until time.Time, devices int) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	f := FieldErrors{}
	if devices < 1 || devices > MaxLearningDevices {
		f.Add("devices", FieldOutOfRange)
	}
	if !until.After(db.now()) {
		f.Add("until", FieldOutOfRange)
	}
	if len(userIDs) == 0 {
		f.Add("userIds", FieldRequired)
	}
	if err := f.Err("learning mode"); err != nil {
		return err
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		for _, id := range userIDs {
			if _, err := db.schoolUser(ctx, tx, a.SchoolID, id); err != nil {
				return err
			}
			n := devices
			if err := startLearning(ctx, tx, id, until, &n); err != nil {
				return err
			}
		}
		return nil
	})
}

// UserDevices lists a user's devices, newest contact first: the user's own, or any of the school's for an admin.
func (db *DB) UserDevices(ctx context.Context, a Actor, userID string) ([]UserDevice, error) {
	if err := db.canSeeDevices(ctx, db.read, a, userID); err != nil {
		return nil, err
	}
	return db.listUserDevices(ctx, a.SchoolID, `AND ud.user_id = ?`, userID)
}

// SchoolDevices lists every device of the admin's school's users.
func (db *DB) SchoolDevices(ctx context.Context, a Actor) ([]UserDevice, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	return db.listUserDevices(ctx, a.SchoolID, "")
}

func (db *DB) listUserDevices(ctx context.Context, schoolID, filter string, args ...any) ([]UserDevice, error) {
	s, err := db.schoolSealer(ctx, db.read, schoolID)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+userDeviceColumns+` FROM user_devices ud JOIN devices d ON d.id = ud.device_id
		WHERE ud.school_id = ? `+filter+` ORDER BY ud.last_seen DESC, ud.device_id`, append([]any{schoolID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := []UserDevice{}
	for rows.Next() {
		d, err := scanUserDevice(s, rows)
		if err != nil {
			return nil, err
		}
		// The code is shown only to the device itself at login: an admin must hear it from the user (LE3).
		d.Code = ""
		out = append(out, d)
	}
	return out, rows.Err()
}

// ApproveDevice trusts the pending device of a user whose security code the admin typed. A wrong code, or the
// code of another user's device, approves nothing.
func (db *DB) ApproveDevice(ctx context.Context, a Actor, userID, code string) (UserDevice, error) {
	if err := a.RequireAdmin(); err != nil {
		return UserDevice{}, err
	}
	typed := NormalizeCode(code)
	var out UserDevice
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.schoolUser(ctx, tx, a.SchoolID, userID); err != nil {
			return err
		}
		s, err := db.schoolSealer(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+userDeviceColumns+` FROM user_devices ud JOIN devices d ON d.id = ud.device_id
			WHERE ud.user_id = ? AND ud.state = ?`, userID, DevicePending)
		if err != nil {
			return fmt.Errorf("list pending devices: %w", err)
		}
		var match *UserDevice
		for rows.Next() {
			d, err := scanUserDevice(s, rows)
			if err != nil {
				rows.Close()
				return err
			}
			if len(typed) == 9 && subtle.ConstantTimeCompare([]byte(NormalizeCode(d.Code)), []byte(typed)) == 1 {
				match = &d
			}
		}
		rows.Close()
		if match == nil {
			return &Error{Code: CodeInvalid, Message: "no pending device of this user has that code", Fields: map[string]string{"code": FieldInvalid}}
		}
		match.State, match.DecidedAt, match.Code = DeviceTrusted, db.now(), ""
		if err := db.writeUserDevice(ctx, tx, s, a.SchoolID, *match, nil); err != nil {
			return err
		}
		out = *match
		return nil
	})
	return out, err
}

// DevicePatch changes a user's device: its name, or its state (an admin rejects or blocks; trusting goes through
// ApproveDevice, so it always needs the code).
type DevicePatch struct {
	Name  *string      `json:"name"`
	State *DeviceState `json:"state"`
}

// UpdateDevice renames a device (its user or an admin) or rejects or blocks it (an admin).
func (db *DB) UpdateDevice(ctx context.Context, a Actor, userID, deviceID string, p DevicePatch) (UserDevice, error) {
	var out UserDevice
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := db.canSeeDevices(ctx, tx, a, userID); err != nil {
			return err
		}
		s, err := db.schoolSealer(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		d, err := db.userDevice(ctx, tx, s, userID, deviceID)
		if err != nil {
			return err
		}
		f := FieldErrors{}
		if p.Name != nil {
			checkText(f, "name", *p.Name, true, 80)
			d.Name = *p.Name
		}
		if p.State != nil {
			if err := a.RequireAdmin(); err != nil {
				return err
			}
			switch *p.State {
			case DeviceRejected, DeviceBlocked:
				d.State, d.DecidedAt = *p.State, db.now()
			default:
				f.Add("state", FieldUnknownValue)
			}
		}
		if err := f.Err("device"); err != nil {
			return err
		}
		d.Code = ""
		if d.State != DeviceTrusted {
			if err := db.guardLastAdmin(ctx, tx, userID, deviceID); err != nil {
				return err
			}
		}
		if err := db.writeUserDevice(ctx, tx, s, a.SchoolID, d, nil); err != nil {
			return err
		}
		if d.State != DeviceTrusted {
			if err := endDeviceSessions(ctx, tx, userID, deviceID); err != nil {
				return err
			}
		}
		if d.State == DeviceBlocked && d.Kind == DeviceDesktop {
			// A blocked desktop wipes itself at its next contact (LE4).
			if err := db.requestWipe(ctx, tx, deviceID); err != nil {
				return err
			}
			if d.Wipe, err = db.deviceWipe(ctx, tx, deviceID); err != nil {
				return err
			}
		}
		out = d
		return nil
	})
	return out, err
}

// RemoveDevice forgets a user's device: the next login from it is an unknown device again.
func (db *DB) RemoveDevice(ctx context.Context, a Actor, userID, deviceID string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := db.canSeeDevices(ctx, tx, a, userID); err != nil {
			return err
		}
		if err := db.guardLastAdmin(ctx, tx, userID, deviceID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM user_devices WHERE user_id = ? AND device_id = ? AND school_id = ?`, userID, deviceID, a.SchoolID)
		if err != nil {
			return fmt.Errorf("remove device: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("device")
		}
		return endDeviceSessions(ctx, tx, userID, deviceID)
	})
}

// endDeviceSessions logs a user out on a device that is no longer trusted.
func endDeviceSessions(ctx context.Context, tx *sql.Tx, userID, deviceID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND device_id = ?`, userID, deviceID); err != nil {
		return fmt.Errorf("end device sessions: %w", err)
	}
	return nil
}

// guardLastAdmin refuses to take away deviceID when that would leave the school without an admin who can log
// in: the user is an active admin, no other active admin has a trusted device, and the user has no other trusted
// device, no running learning mode and no unused recovery code. The admin is told to print recovery codes first.
func (db *DB) guardLastAdmin(ctx context.Context, tx *sql.Tx, userID, deviceID string) error {
	var schoolID string
	err := tx.QueryRowContext(ctx, `SELECT school_id FROM users WHERE id = ? AND role = 'admin' AND active = 1`, userID).Scan(&schoolID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not an admin: nothing to guard
	}
	if err != nil {
		return fmt.Errorf("check last admin: %w", err)
	}
	var ways int
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM user_devices ud JOIN users u ON u.id = ud.user_id
			WHERE u.school_id = ? AND u.role = 'admin' AND u.active = 1 AND ud.state = 'trusted'
			AND NOT (ud.user_id = ? AND ud.device_id = ?))
		+ (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at = 0)
		+ (SELECT COUNT(*) FROM learning_modes WHERE user_id = ? AND until > ? AND (devices_left IS NULL OR devices_left > 0))`,
		schoolID, userID, deviceID, userID, userID, db.now().Unix()).Scan(&ways)
	if err != nil {
		return fmt.Errorf("check last admin: %w", err)
	}
	if ways == 0 {
		return Errorf(CodeLastAdminDevice, "this is the last device from which an admin of the school can log in; print recovery codes first")
	}
	return nil
}
