package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Licenses (LE1–LE3): a school's licenses, each held by nobody, a teacher or a location, each enrolling at most
// one desktop device, and the remote wipe of desktop devices (LE4).

// LicenseHolder says who holds a license.
type LicenseHolder string

const (
	HolderNone     LicenseHolder = "none"
	HolderTeacher  LicenseHolder = "teacher"
	HolderLocation LicenseHolder = "location"
)

// Codes of the license routes.
const (
	// CodeLicenseInvalid answers any license code that enrolls nothing: unknown, detached, or its teacher's
	// account is off. It does not say which.
	CodeLicenseInvalid Code = "license_invalid"
	// CodeLicenseInUse answers enrolling with a license whose device is trusted, and deleting a license that
	// still has a device.
	CodeLicenseInUse Code = "license_in_use"
)

// MaxNewLicenses bounds the licenses one request creates.
const MaxNewLicenses = 50

// MaxLocationLength bounds a location's name ("Zimmer 12").
const MaxLocationLength = 80

// licenseAlphabet has no characters that people mix up on paper or when reading out: no 0/O, no 1/I/L, no U/V.
// 30 symbols, 16 of them: 78.5 bits.
const licenseAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

const licenseCodeLength = 16

func newLicenseCode() string {
	out := make([]byte, 0, licenseCodeLength)
	buf := make([]byte, 32)
	for len(out) < licenseCodeLength {
		rand.Read(buf)
		for _, b := range buf {
			// 240 is the largest multiple of 30 up to 256: rejecting the rest keeps every symbol equally likely.
			if b < 240 && len(out) < licenseCodeLength {
				out = append(out, licenseAlphabet[int(b)%len(licenseAlphabet)])
			}
		}
	}
	return formatLicenseCode(string(out))
}

// formatLicenseCode groups a normalised code as it is printed: XXXX-XXXX-XXXX-XXXX.
func formatLicenseCode(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(raw[i:min(i+4, len(raw))])
	}
	return b.String()
}

// NormalizeLicenseCode turns a typed or scanned license code into its 16 symbols: capitals, without spaces or
// dashes, full-width characters folded. It returns "" for anything that cannot be a license code.
func NormalizeLicenseCode(code string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(code) {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '.' || r == '_':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > 0x7f || !strings.ContainsRune(licenseAlphabet, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != licenseCodeLength {
		return ""
	}
	return b.String()
}

func (db *DB) licenseCodeMAC(normalized string) []byte {
	return db.keys.lookup("license code", normalized)
}

// License is one license as an admin sees it.
type License struct {
	ID     string        `json:"id"`
	Code   string        `json:"code"`
	Holder LicenseHolder `json:"holder"`
	// TeacherID is the holding teacher (or admin), when Holder is teacher.
	TeacherID string `json:"teacherId,omitempty"`
	// HolderName is the teacher's display name or the location's name; "" when nobody holds the license.
	HolderName string    `json:"holderName"`
	CreatedAt  time.Time `json:"createdAt"`
	AssignedAt time.Time `json:"assignedAt,omitzero"`
	// Device is the desktop device the license enrolled, while it is bound to it.
	Device *LicenseDevice `json:"device,omitempty"`
}

// LicenseDevice is the device a license enrolled and its state: the holding teacher's trust in it, or the
// location's.
type LicenseDevice struct {
	ID        string      `json:"id"`
	State     DeviceState `json:"state"`
	FirstSeen time.Time   `json:"firstSeen"`
	LastSeen  time.Time   `json:"lastSeen"`
	DecidedAt time.Time   `json:"decidedAt,omitzero"`
	Name      string      `json:"name"`
	Platform  string      `json:"platform"`
	OSUser    string      `json:"osUser"`
	LastIP    string      `json:"lastIp"`
	Wipe      *DeviceWipe `json:"wipe,omitempty"`
}

// DeviceWipe is the receipt of a remote wipe: when an admin asked for it (by blocking the device) and when the
// device confirmed it.
type DeviceWipe struct {
	RequestedAt time.Time `json:"requestedAt"`
	DoneAt      time.Time `json:"doneAt,omitzero"`
}

// LicenseAssignment gives a license to a teacher (TeacherID) or a location (Location): exactly one of them.
type LicenseAssignment struct {
	TeacherID string `json:"teacherId"`
	Location  string `json:"location"`
}

// licensePacket is what is sealed of a license.
type licensePacket struct {
	Code     string `json:"code"`
	Location string `json:"location,omitempty"`
	// Device is what a location's device told about itself when it enrolled.
	Device *DeviceInfo `json:"device,omitempty"`
}

// licenseAD binds a license's packet to its identity, school and holder: a packet copied to another license or
// school, or a holder changed in the file, does not open.
func licenseAD(id, schoolID string, holder LicenseHolder, userID string) []byte {
	return []byte("pult license v1\x00" + id + "\x00" + schoolID + "\x00" + string(holder) + "\x00" + userID)
}

// licenseRow is a license as stored.
type licenseRow struct {
	id, schoolID string
	holder       LicenseHolder
	userID       string
	assignedAt   int64
	deviceID     string
	deviceState  DeviceState
	nonce        []byte
	firstSeen    int64
	decidedAt    int64
	createdAt    int64
	packet       []byte
	p            licensePacket
}

const licenseColumns = `id, school_id, holder, user_id, assigned_at, device_id, device_state, nonce, first_seen, decided_at, created_at, packet`

// scanLicense reads a license row; open unseals it.
func scanLicense(row rowScanner) (*licenseRow, error) {
	var l licenseRow
	var userID, deviceID sql.NullString
	err := row.Scan(&l.id, &l.schoolID, &l.holder, &userID, &l.assignedAt, &deviceID, &l.deviceState, &l.nonce, &l.firstSeen, &l.decidedAt, &l.createdAt, &l.packet)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("license")
	}
	if err != nil {
		return nil, fmt.Errorf("read license: %w", err)
	}
	l.userID, l.deviceID = userID.String, deviceID.String
	return &l, nil
}

func (l *licenseRow) open(s sealer) error {
	plain, err := s.open(licenseAD(l.id, l.schoolID, l.holder, l.userID), l.packet)
	if err != nil {
		return fmt.Errorf("open license %s: %w", l.id, err)
	}
	if err := json.Unmarshal(plain, &l.p); err != nil {
		return fmt.Errorf("decode license %s: %w", l.id, err)
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeLicense stores a license's changes (not its code).
func (db *DB) writeLicense(ctx context.Context, tx *sql.Tx, s sealer, l *licenseRow) error {
	plain, err := json.Marshal(l.p)
	if err != nil {
		return fmt.Errorf("encode license: %w", err)
	}
	if l.nonce == nil {
		l.nonce = []byte{}
	}
	_, err = tx.ExecContext(ctx, `UPDATE licenses SET holder = ?, user_id = ?, assigned_at = ?, device_id = ?, device_state = ?, nonce = ?,
		first_seen = ?, decided_at = ?, packet = ? WHERE id = ?`,
		l.holder, nullIfEmpty(l.userID), l.assignedAt, nullIfEmpty(l.deviceID), l.deviceState, l.nonce, l.firstSeen, l.decidedAt,
		s.seal(licenseAD(l.id, l.schoolID, l.holder, l.userID), plain), l.id)
	if err != nil {
		return fmt.Errorf("write license %s: %w", l.id, err)
	}
	return nil
}

// unbind forgets a license's device; the device itself stays as it is.
func (l *licenseRow) unbind() {
	l.deviceID, l.deviceState, l.nonce, l.firstSeen, l.decidedAt, l.p.Device = "", "", []byte{}, 0, 0, nil
}

// schoolLicense reads and opens one license of a school; another school's is not found.
func (db *DB) schoolLicense(ctx context.Context, q querier, s sealer, schoolID, id string) (*licenseRow, error) {
	if !ValidID(id) {
		return nil, notFound("license")
	}
	l, err := scanLicense(q.QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE id = ? AND school_id = ?`, id, schoolID))
	if err != nil {
		return nil, err
	}
	return l, l.open(s)
}

// licenseView is a license as the admin sees it: its holder's name and its device's state.
func (db *DB) licenseView(ctx context.Context, q querier, s sealer, l *licenseRow, names map[string]string) (License, error) {
	out := License{ID: l.id, Code: l.p.Code, Holder: l.holder, CreatedAt: timeOrZero(l.createdAt), AssignedAt: timeOrZero(l.assignedAt)}
	switch l.holder {
	case HolderTeacher:
		out.TeacherID = l.userID
		if name, ok := names[l.userID]; ok {
			out.HolderName = name
		} else if u, err := db.schoolUser(ctx, q, l.schoolID, l.userID); err == nil {
			out.HolderName = u.DisplayName
		} else if ErrorCode(err) != CodeNotFound {
			return License{}, err
		}
	case HolderLocation:
		out.HolderName = l.p.Location
	}
	if l.deviceID == "" {
		return out, nil
	}
	wipe, err := db.deviceWipe(ctx, q, l.deviceID)
	if err != nil {
		return License{}, err
	}
	switch l.holder {
	case HolderTeacher:
		d, err := db.userDevice(ctx, q, s, l.userID, l.deviceID)
		if ErrorCode(err) == CodeNotFound {
			return out, nil // removed from the teacher's devices: nothing to show
		}
		if err != nil {
			return License{}, err
		}
		out.Device = &LicenseDevice{ID: d.DeviceID, State: d.State, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, DecidedAt: d.DecidedAt,
			Name: d.Name, Platform: d.Platform, OSUser: d.OSUser, LastIP: d.LastIP, Wipe: wipe}
	case HolderLocation:
		dev := &LicenseDevice{ID: l.deviceID, State: l.deviceState, FirstSeen: timeOrZero(l.firstSeen), LastSeen: timeOrZero(l.firstSeen),
			DecidedAt: timeOrZero(l.decidedAt), Wipe: wipe}
		if info := l.p.Device; info != nil {
			dev.Name, dev.Platform, dev.OSUser, dev.LastIP = info.Name, info.Platform, info.OSUser, info.LastIP
		}
		out.Device = dev
	}
	return out, nil
}

// userNames maps the ids of a school's users to their display names.
func (db *DB) userNames(ctx context.Context, q querier, schoolID string) (map[string]string, error) {
	users, err := db.schoolUsers(ctx, q, schoolID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(users))
	for _, u := range users {
		names[u.ID] = u.DisplayName
	}
	return names, nil
}

// CreateLicenses adds n (1–50) new licenses, held by nobody, to the admin's school.
func (db *DB) CreateLicenses(ctx context.Context, a Actor, n int) ([]License, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxNewLicenses {
		return nil, &Error{Code: CodeInvalid, Message: "count must be 1-50", Fields: map[string]string{"count": FieldOutOfRange}}
	}
	var out []License
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		now := db.now().Unix()
		for range n {
			code := newLicenseCode()
			l := &licenseRow{id: NewID(), schoolID: a.SchoolID, holder: HolderNone, createdAt: now, p: licensePacket{Code: code}}
			plain, err := json.Marshal(l.p)
			if err != nil {
				return fmt.Errorf("encode license: %w", err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO licenses (id, school_id, code_mac, holder, created_at, packet) VALUES (?, ?, ?, ?, ?, ?)`,
				l.id, l.schoolID, db.licenseCodeMAC(NormalizeLicenseCode(code)), l.holder, l.createdAt,
				s.seal(licenseAD(l.id, l.schoolID, l.holder, ""), plain))
			if err != nil {
				return fmt.Errorf("insert license: %w", err)
			}
			v, err := db.licenseView(ctx, tx, s, l, nil)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Licenses lists the admin's school's licenses, oldest first.
func (db *DB) Licenses(ctx context.Context, a Actor) ([]License, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	s, err := db.schoolSealer(ctx, db.read, a.SchoolID)
	if err != nil {
		return nil, err
	}
	names, err := db.userNames(ctx, db.read, a.SchoolID)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE school_id = ? ORDER BY created_at, rowid`, a.SchoolID)
	if err != nil {
		return nil, fmt.Errorf("list licenses: %w", err)
	}
	var list []*licenseRow
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list licenses: %w", err)
	}
	out := make([]License, 0, len(list))
	for _, l := range list {
		if err := l.open(s); err != nil {
			return nil, err
		}
		v, err := db.licenseView(ctx, db.read, s, l, names)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// LicensesByID returns licenses of the admin's school in the order asked (for the printed sheet); one that is
// not the school's makes the whole answer not found.
func (db *DB) LicensesByID(ctx context.Context, a Actor, ids []string) ([]License, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	s, err := db.schoolSealer(ctx, db.read, a.SchoolID)
	if err != nil {
		return nil, err
	}
	names, err := db.userNames(ctx, db.read, a.SchoolID)
	if err != nil {
		return nil, err
	}
	out := make([]License, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		l, err := db.schoolLicense(ctx, db.read, s, a.SchoolID, id)
		if err != nil {
			return nil, err
		}
		v, err := db.licenseView(ctx, db.read, s, l, names)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// changeLicense runs fn on one license of the admin's school and stores the result.
func (db *DB) changeLicense(ctx context.Context, a Actor, id string, fn func(tx *sql.Tx, s sealer, l *licenseRow) error) (License, error) {
	if err := a.RequireAdmin(); err != nil {
		return License{}, err
	}
	var out License
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		l, err := db.schoolLicense(ctx, tx, s, a.SchoolID, id)
		if err != nil {
			return err
		}
		if err := fn(tx, s, l); err != nil {
			return err
		}
		if err := db.writeLicense(ctx, tx, s, l); err != nil {
			return err
		}
		out, err = db.licenseView(ctx, tx, s, l, nil)
		return err
	})
	return out, err
}

// AssignLicense gives a license of the admin's school to an active teacher or admin of the school, or to a
// location (1–80 characters). A license that goes to another holder lets go of its device, which stays as it
// is; renaming a location keeps it.
func (db *DB) AssignLicense(ctx context.Context, a Actor, id string, in LicenseAssignment) (License, error) {
	f := FieldErrors{}
	location := strings.TrimSpace(in.Location)
	switch {
	case in.TeacherID == "" && location == "":
		f.Add("teacherId", FieldRequired)
	case in.TeacherID != "" && in.Location != "":
		f.Add("location", FieldInvalid)
	case in.TeacherID == "":
		checkText(f, "location", location, true, MaxLocationLength)
	}
	if err := a.RequireAdmin(); err != nil {
		return License{}, err
	}
	if err := f.Err("holder"); err != nil {
		return License{}, err
	}
	return db.changeLicense(ctx, a, id, func(tx *sql.Tx, s sealer, l *licenseRow) error {
		holder, userID := HolderLocation, ""
		if in.TeacherID != "" {
			u, err := db.schoolUser(ctx, tx, a.SchoolID, in.TeacherID)
			if ErrorCode(err) == CodeNotFound || err == nil && !u.Active {
				return &Error{Code: CodeInvalid, Message: "no active teacher of the school has that id", Fields: map[string]string{"teacherId": FieldUnknownValue}}
			}
			if err != nil {
				return err
			}
			holder, userID, location = HolderTeacher, u.ID, ""
		}
		same := l.holder == holder && l.userID == userID && (holder == HolderLocation || holder == HolderTeacher)
		if same && l.p.Location == location {
			return nil
		}
		if !same {
			l.unbind()
		}
		l.holder, l.userID, l.p.Location, l.assignedAt = holder, userID, location, db.now().Unix()
		return nil
	})
}

// DetachLicense takes a license of the admin's school from its holder and its device: the device stays as it is
// (a teacher keeps trusting it until an admin blocks it; a location's device is no longer trusted), and the
// license can be assigned and enrolled again.
func (db *DB) DetachLicense(ctx context.Context, a Actor, id string) (License, error) {
	return db.changeLicense(ctx, a, id, func(tx *sql.Tx, s sealer, l *licenseRow) error {
		l.unbind()
		l.holder, l.userID, l.p.Location, l.assignedAt = HolderNone, "", "", 0
		return nil
	})
}

// DeleteLicense deletes a license of the admin's school that has no device; one with a device is detached first.
func (db *DB) DeleteLicense(ctx context.Context, a Actor, id string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		s, err := db.schoolSealer(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		l, err := db.schoolLicense(ctx, tx, s, a.SchoolID, id)
		if err != nil {
			return err
		}
		// As the admin sees it: a teacher's device that was removed from the teacher's devices is gone.
		v, err := db.licenseView(ctx, tx, s, l, nil)
		if err != nil {
			return err
		}
		if v.Device != nil {
			return Errorf(CodeLicenseInUse, "the license has a device; detach it first")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM licenses WHERE id = ? AND school_id = ?`, id, a.SchoolID); err != nil {
			return fmt.Errorf("delete license: %w", err)
		}
		return nil
	})
}

// DesktopEnrollment is what a desktop device learns when it enrolls with a license: its id, the security code to read
// out to the admin, and the school's name. The rest is for the server's audit log.
type DesktopEnrollment struct {
	DeviceID     string `json:"deviceId"`
	SecurityCode string `json:"securityCode"`
	SchoolName   string `json:"schoolName"`

	SchoolID  string `json:"-"`
	LicenseID string `json:"-"`
	// UserID is the holding teacher ("" for a location).
	UserID string `json:"-"`
	// Replaced is the pending device the license was bound to before, if any.
	Replaced string `json:"-"`
}

// EnrollDesktop registers a desktop device with a license code (LE3). When the code names a license, the
// enrollment's SchoolID, LicenseID and UserID are set also with a refusal, for the audit log. The device is bound to the license and
// waits: for a teacher's license as the teacher's pending device, which the admin approves with ApproveDevice or
// ApproveLicenseDevice; for a location's, as the location's pending device (ApproveLicenseDevice). The security
// code comes from the device's key and a nonce the server picks now, after the device committed to its key. A
// license whose device is trusted is in use; a pending one is replaced. A code that enrolls nothing is
// license_invalid, whatever the reason.
func (db *DB) EnrollDesktop(ctx context.Context, code string, publicKey, tokenHash []byte, info DeviceInfo) (DesktopEnrollment, error) {
	if err := checkDesktopKey(publicKey, tokenHash); err != nil {
		return DesktopEnrollment{}, err
	}
	invalid := Errorf(CodeLicenseInvalid, "this license code enrolls no device")
	normalized := NormalizeLicenseCode(code)
	if normalized == "" {
		return DesktopEnrollment{}, invalid
	}
	info.Name = clip(info.Name, 80)
	info.Platform = clip(info.Platform, 80)
	info.OSUser = clip(info.OSUser, 80)
	info.FirstIP = info.LastIP
	var out DesktopEnrollment
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		l, err := scanLicense(tx.QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE code_mac = ?`, db.licenseCodeMAC(normalized)))
		if ErrorCode(err) == CodeNotFound {
			return invalid
		}
		if err != nil {
			return err
		}
		s, err := db.schoolSealer(ctx, tx, l.schoolID)
		if err != nil {
			return err
		}
		if err := l.open(s); err != nil {
			return err
		}
		out.SchoolID, out.LicenseID, out.UserID = l.schoolID, l.id, l.userID
		if l.holder == HolderNone {
			return invalid
		}
		if l.holder == HolderTeacher {
			u, err := db.schoolUser(ctx, tx, l.schoolID, l.userID)
			if ErrorCode(err) == CodeNotFound || err == nil && !u.Active {
				return invalid
			}
			if err != nil {
				return err
			}
		}
		if l.deviceID != "" {
			state := l.deviceState
			if l.holder == HolderTeacher {
				d, err := db.userDevice(ctx, tx, s, l.userID, l.deviceID)
				if err != nil && ErrorCode(err) != CodeNotFound {
					return err
				}
				state = d.State
			}
			switch state {
			case DeviceTrusted:
				return Errorf(CodeLicenseInUse, "the license's device is trusted; an admin detaches the license to enroll another")
			case DevicePending:
				out.Replaced = l.deviceID
				if l.holder == HolderTeacher {
					// The replaced device's code must not approve anything any more.
					if _, err := tx.ExecContext(ctx, `DELETE FROM user_devices WHERE user_id = ? AND device_id = ? AND state = ?`,
						l.userID, l.deviceID, DevicePending); err != nil {
						return fmt.Errorf("replace pending device: %w", err)
					}
				}
			}
		}
		deviceID, err := db.insertDesktopDevice(ctx, tx, publicKey, tokenHash)
		if err != nil {
			return err
		}
		nonce := make([]byte, 16)
		rand.Read(nonce)
		now := db.now()
		l.unbind()
		l.deviceID, l.firstSeen = deviceID, now.Unix()
		if l.holder == HolderTeacher {
			d := UserDevice{DeviceID: deviceID, UserID: l.userID, State: DevicePending, FirstSeen: now, LastSeen: now, DeviceInfo: info}
			if err := db.writeUserDevice(ctx, tx, s, l.schoolID, d, nonce); err != nil {
				return err
			}
		} else {
			l.deviceState, l.nonce, l.p.Device = DevicePending, nonce, &info
		}
		if err := db.writeLicense(ctx, tx, s, l); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT name FROM schools WHERE id = ?`, l.schoolID).Scan(&out.SchoolName); err != nil {
			return fmt.Errorf("read school: %w", err)
		}
		out.DeviceID, out.SecurityCode = deviceID, securityCode(desktopSecretHash(publicKey, tokenHash), nonce)
		return nil
	})
	return out, err
}

// clip cuts what a device says about itself to a length the lists can show.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "")
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// ApproveLicenseDevice trusts the pending device of a license of the admin's school whose security code the
// admin typed: a location's device (from then on any active staff member of the school logs in from it), or the
// holding teacher's. A wrong code approves nothing.
func (db *DB) ApproveLicenseDevice(ctx context.Context, a Actor, licenseID, code string) (License, error) {
	typed := NormalizeCode(code)
	wrong := &Error{Code: CodeInvalid, Message: "the license has no pending device with that code", Fields: map[string]string{"code": FieldInvalid}}
	return db.changeLicense(ctx, a, licenseID, func(tx *sql.Tx, s sealer, l *licenseRow) error {
		if l.deviceID == "" || len(typed) != 9 {
			return wrong
		}
		now := db.now()
		switch l.holder {
		case HolderLocation:
			if l.deviceState != DevicePending {
				return wrong
			}
			var secretHash []byte
			if err := tx.QueryRowContext(ctx, `SELECT secret_hash FROM devices WHERE id = ?`, l.deviceID).Scan(&secretHash); err != nil {
				return fmt.Errorf("read device: %w", err)
			}
			if subtle.ConstantTimeCompare([]byte(NormalizeCode(securityCode(secretHash, l.nonce))), []byte(typed)) != 1 {
				return wrong
			}
			l.deviceState, l.decidedAt = DeviceTrusted, now.Unix()
		case HolderTeacher:
			d, err := db.userDevice(ctx, tx, s, l.userID, l.deviceID)
			if ErrorCode(err) == CodeNotFound || err == nil && d.State != DevicePending {
				return wrong
			}
			if err != nil {
				return err
			}
			if subtle.ConstantTimeCompare([]byte(NormalizeCode(d.Code)), []byte(typed)) != 1 {
				return wrong
			}
			d.State, d.DecidedAt, d.Code = DeviceTrusted, now, ""
			return db.writeUserDevice(ctx, tx, s, l.schoolID, d, nil)
		default:
			return wrong
		}
		return nil
	})
}

// BlockLocationDevice blocks the device of a location license of the admin's school — a shared terminal that
// was lost or stolen — and has it wipe itself at its next contact (LE4); every session on it ends. A teacher's
// license's device is blocked as the teacher's device (UpdateDevice).
func (db *DB) BlockLocationDevice(ctx context.Context, a Actor, licenseID string) (License, error) {
	return db.changeLicense(ctx, a, licenseID, func(tx *sql.Tx, s sealer, l *licenseRow) error {
		if l.holder != HolderLocation || l.deviceID == "" {
			return Errorf(CodeConflict, "the license has no location's device to block")
		}
		l.deviceState, l.decidedAt = DeviceBlocked, db.now().Unix()
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE device_id = ?`, l.deviceID); err != nil {
			return fmt.Errorf("end the device's sessions: %w", err)
		}
		return db.requestWipe(ctx, tx, l.deviceID)
	})
}

// locationTrusted reports whether a device is the trusted device of a location license of the school, which
// admits any active staff member of the school.
func (db *DB) locationTrusted(ctx context.Context, q querier, schoolID, deviceID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM licenses WHERE device_id = ? AND school_id = ? AND holder = ? AND device_state = ?
		AND NOT EXISTS (SELECT 1 FROM device_wipes WHERE device_id = licenses.device_id)`,
		deviceID, schoolID, HolderLocation, DeviceTrusted).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check location device: %w", err)
	}
	return n > 0, nil
}

// DesktopStatus is what a desktop device learns of itself: pending (with its security code), trusted, rejected
// or blocked.
type DesktopStatus struct {
	State        DeviceState `json:"state"`
	SecurityCode string      `json:"securityCode,omitempty"`
	// Policy is the school's, for a device that belongs to one.
	Policy *DevicePolicy `json:"policy,omitempty"`
}

// DesktopDeviceStatus says where a desktop device stands (the caller has checked the device's proof). A wipe
// requested makes it blocked. Else a device that a license enrolled has the state that the license's holder
// gives it; one that logged in has its users' (blocked before trusted before pending before rejected). A device
// that stands nowhere (replaced, removed, its location license detached) is rejected.
func (db *DB) DesktopDeviceStatus(ctx context.Context, deviceID string) (DesktopStatus, error) {
	st, err := db.desktopDeviceState(ctx, deviceID)
	if err != nil || st.State == DeviceRejected {
		return st, err
	}
	var schoolID string
	err = db.read.QueryRowContext(ctx, `SELECT school_id FROM licenses WHERE device_id = ?
		UNION ALL SELECT school_id FROM user_devices WHERE device_id = ? LIMIT 1`, deviceID, deviceID).Scan(&schoolID)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return DesktopStatus{}, fmt.Errorf("read device's school: %w", err)
	}
	p, err := db.schoolPolicy(ctx, schoolID)
	if err != nil {
		return DesktopStatus{}, err
	}
	st.Policy = &p
	return st, nil
}

// qUserDeviceState reads a desktop device's state for each user who has it, and whether that user's account is
// active.
const qUserDeviceState = `SELECT ud.state, ud.nonce, u.active FROM user_devices ud JOIN users u ON u.id = ud.user_id
	WHERE ud.device_id = ?`

// effectiveState is what a user's trusted desktop device is told: blocked once the account was deactivated (the
// teacher left, say), so that it wipes itself at its next contact — a deactivated teacher must not keep reading
// pupils' data on the laptop with the PIN. The admin sees the wipe done when the device confirms it.
func effectiveState(state DeviceState, active bool) DeviceState {
	if state == DeviceTrusted && !active {
		return DeviceBlocked
	}
	return state
}

func (db *DB) desktopDeviceState(ctx context.Context, deviceID string) (DesktopStatus, error) {
	var secretHash []byte
	var requested int64
	err := db.read.QueryRowContext(ctx, `SELECT d.secret_hash, COALESCE(w.requested_at, 0) FROM devices d LEFT JOIN device_wipes w ON w.device_id = d.id
		WHERE d.id = ? AND d.kind = ?`, deviceID, DeviceDesktop).Scan(&secretHash, &requested)
	if errors.Is(err, sql.ErrNoRows) {
		return DesktopStatus{}, notFound("device")
	}
	if err != nil {
		return DesktopStatus{}, fmt.Errorf("read device: %w", err)
	}
	if requested > 0 {
		return DesktopStatus{State: DeviceBlocked}, nil
	}
	l, err := scanLicense(db.read.QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE device_id = ? ORDER BY rowid LIMIT 1`, deviceID))
	switch {
	case err == nil && l.holder == HolderLocation:
		out := DesktopStatus{State: l.deviceState}
		if l.deviceState == DevicePending {
			out.SecurityCode = securityCode(secretHash, l.nonce)
		}
		return out, nil
	case err == nil && l.holder == HolderTeacher:
		var state DeviceState
		var nonce []byte
		var active bool
		err := db.read.QueryRowContext(ctx, qUserDeviceState+` AND ud.user_id = ?`, deviceID, l.userID).Scan(&state, &nonce, &active)
		if errors.Is(err, sql.ErrNoRows) {
			return DesktopStatus{State: DeviceRejected}, nil
		}
		if err != nil {
			return DesktopStatus{}, fmt.Errorf("read device state: %w", err)
		}
		state = effectiveState(state, active)
		out := DesktopStatus{State: state}
		if state == DevicePending {
			out.SecurityCode = securityCode(secretHash, nonce)
		}
		return out, nil
	case err != nil && ErrorCode(err) != CodeNotFound:
		return DesktopStatus{}, err
	}
	rows, err := db.read.QueryContext(ctx, qUserDeviceState+` ORDER BY ud.last_seen DESC`, deviceID)
	if err != nil {
		return DesktopStatus{}, fmt.Errorf("read device states: %w", err)
	}
	defer rows.Close()
	rank := map[DeviceState]int{DeviceRejected: 0, DevicePending: 1, DeviceTrusted: 2, DeviceBlocked: 3}
	out := DesktopStatus{State: DeviceRejected}
	for rows.Next() {
		var state DeviceState
		var nonce []byte
		var active bool
		if err := rows.Scan(&state, &nonce, &active); err != nil {
			return DesktopStatus{}, fmt.Errorf("read device states: %w", err)
		}
		state = effectiveState(state, active)
		if rank[state] > rank[out.State] {
			out = DesktopStatus{State: state}
			if state == DevicePending {
				out.SecurityCode = securityCode(secretHash, nonce)
			}
		}
	}
	return out, rows.Err()
}

// deviceWipe returns the wipe of a device, or nil when none was asked for or done.
func (db *DB) deviceWipe(ctx context.Context, q querier, deviceID string) (*DeviceWipe, error) {
	var requested, done int64
	err := q.QueryRowContext(ctx, `SELECT requested_at, done_at FROM device_wipes WHERE device_id = ?`, deviceID).Scan(&requested, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read wipe: %w", err)
	}
	return wipeOf(requested, done), nil
}

func wipeOf(requested, done int64) *DeviceWipe {
	if requested == 0 && done == 0 {
		return nil
	}
	return &DeviceWipe{RequestedAt: timeOrZero(requested), DoneAt: timeOrZero(done)}
}

// requestWipe records that a desktop device is to wipe itself at its next contact; a first request stays.
func (db *DB) requestWipe(ctx context.Context, tx *sql.Tx, deviceID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO device_wipes (device_id, requested_at) VALUES (?, ?) ON CONFLICT (device_id) DO NOTHING`,
		deviceID, db.now().Unix())
	if err != nil {
		return fmt.Errorf("request wipe: %w", err)
	}
	return nil
}

// WipeReceipt says whose device confirmed its wipe, for the audit log.
type WipeReceipt struct {
	SchoolID string
	UserID   string
}

// DeviceWiped records that a desktop device wiped itself (the caller has checked the device's signed receipt):
// the wipe an admin asked for is done, or, when the device wiped itself unasked (too many wrong PINs), asked and
// done at once. The first receipt counts.
func (db *DB) DeviceWiped(ctx context.Context, deviceID string) (WipeReceipt, error) {
	var out WipeReceipt
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		now := db.now().Unix()
		_, err := tx.ExecContext(ctx, `INSERT INTO device_wipes (device_id, requested_at, done_at) VALUES (?, ?, ?)
			ON CONFLICT (device_id) DO UPDATE SET done_at = CASE WHEN done_at = 0 THEN excluded.done_at ELSE done_at END`, deviceID, now, now)
		if err != nil {
			return fmt.Errorf("record wipe: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT school_id, COALESCE(user_id, '') FROM licenses WHERE device_id = ?
			UNION ALL SELECT school_id, user_id FROM user_devices WHERE device_id = ? LIMIT 1`, deviceID, deviceID).Scan(&out.SchoolID, &out.UserID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read device's school: %w", err)
		}
		return nil
	})
	return out, err
}
