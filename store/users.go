package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// User is a staff member's account. PasswordHash never leaves the server.
type User struct {
	ID          string    `json:"id"`
	SchoolID    string    `json:"-"`
	Username    string    `json:"username"`
	DisplayName string    `json:"displayName"`
	Email       string    `json:"email"`
	Role        Role      `json:"role"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"createdAt"`
	LastLoginAt time.Time `json:"lastLoginAt,omitzero"`
	// LastFailure says why the last login failed ("" after a success): wrong_password, device_pending,
	// device_blocked, locked.
	LastFailure    string        `json:"lastFailure"`
	TrustedDevices int           `json:"trustedDevices"`
	LearningMode   *LearningMode `json:"learningMode,omitempty"`
	PasswordHash   string        `json:"-"`
	// Operator: the account also runs this server (see RequireOperator).
	Operator bool `json:"operator"`
}

// Actor returns the user acting as themself.
func (u User) Actor() Actor {
	return Actor{UserID: u.ID, SchoolID: u.SchoolID, Role: u.Role, Operator: u.Operator}
}

// NewUser is what an admin gives to create an account; the password arrives already hashed.
type NewUser struct {
	Username     string
	DisplayName  string
	Email        string
	Role         Role
	PasswordHash string
	// Operator makes the account a server operator; only the setup link and the command line set it.
	Operator bool
}

// UserPatch changes an account; nil fields stay as they are.
type UserPatch struct {
	DisplayName *string `json:"displayName"`
	Email       *string `json:"email"`
	Role        *Role   `json:"role"`
	Active      *bool   `json:"active"`
}

// userPacket is what is sealed of a user.
type userPacket struct {
	Username     string `json:"username"`
	DisplayName  string `json:"displayName"`
	Email        string `json:"email"`
	PasswordHash string `json:"passwordHash"`
}

var foldCase = cases.Fold()

// NormalizeUsername folds a username so that "V.Name", "v.name" and their Unicode variants are one user.
func NormalizeUsername(s string) string {
	return norm.NFKC.String(foldCase.String(norm.NFKC.String(strings.TrimSpace(s))))
}

func checkUsername(f FieldErrors, username string) {
	n := NormalizeUsername(username)
	switch {
	case n == "":
		f.Add("username", FieldRequired)
	case utf8.RuneCountInString(n) < 2:
		f.Add("username", FieldTooShort)
	case utf8.RuneCountInString(n) > 64:
		f.Add("username", FieldTooLong)
	default:
		for _, r := range n {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(".-_@", r) {
				f.Add("username", FieldInvalid)
				break
			}
		}
	}
}

func (u *NewUser) validate() error {
	f := FieldErrors{}
	checkUsername(f, u.Username)
	checkText(f, "displayName", u.DisplayName, true, 100)
	checkEmail(f, "email", u.Email)
	if !u.Role.Valid() {
		f.Add("role", FieldUnknownValue)
	}
	if u.PasswordHash == "" {
		f.Add("password", FieldRequired)
	}
	return f.Err("user")
}

// SchoolAdmin is the actor of the server's own command line and of first setup: an admin of one school.
func SchoolAdmin(schoolID string) Actor { return Actor{SchoolID: schoolID, Role: RoleAdmin} }

func schoolNameKey(name string) string { return NormalizeUsername(name) }

// CreateSchool creates a school with a fresh data key.
func (db *DB) CreateSchool(ctx context.Context, name string) (School, error) {
	f := FieldErrors{}
	checkText(f, "schoolName", name, true, 120)
	if err := f.Err("school"); err != nil {
		return School{}, err
	}
	key, err := NewKey()
	if err != nil {
		return School{}, err
	}
	s := School{ID: NewID(), Name: strings.TrimSpace(name), CreatedAt: db.now().UTC().Truncate(time.Second)}
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools WHERE name_key = ?`, schoolNameKey(s.Name)).Scan(&n); err != nil {
			return fmt.Errorf("check school name: %w", err)
		}
		if n > 0 {
			return &Error{Code: CodeConflict, Message: "school exists", Fields: map[string]string{"schoolName": FieldTaken}}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schools (id, name, name_key, wrapped_key, created_at) VALUES (?, ?, ?, ?, ?)`,
			s.ID, s.Name, schoolNameKey(s.Name), db.keys.wrapSchoolKey(s.ID, key), s.CreatedAt.Unix())
		if err != nil {
			return fmt.Errorf("insert school: %w", err)
		}
		return nil
	})
	if err != nil {
		return School{}, err
	}
	return s, nil
}

const schoolColumns = `id, name, created_at`

func scanSchool(row rowScanner) (School, error) {
	var s School
	var created int64
	if err := row.Scan(&s.ID, &s.Name, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return School{}, notFound("school")
		}
		return School{}, fmt.Errorf("read school: %w", err)
	}
	s.CreatedAt = time.Unix(created, 0).UTC()
	return s, nil
}

// School returns a school by id.
func (db *DB) School(ctx context.Context, id string) (School, error) {
	return scanSchool(db.read.QueryRowContext(ctx, `SELECT `+schoolColumns+` FROM schools WHERE id = ?`, id))
}

// SchoolByName finds a school by its name, ignoring case.
func (db *DB) SchoolByName(ctx context.Context, name string) (School, error) {
	return scanSchool(db.read.QueryRowContext(ctx, `SELECT `+schoolColumns+` FROM schools WHERE name_key = ?`, schoolNameKey(name)))
}

// HasUsers reports whether any account exists on this server; without one, the server offers first setup.
func (db *DB) HasUsers(ctx context.Context) (bool, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	return n > 0, nil
}

func (db *DB) usernameMAC(username string) []byte {
	return db.keys.lookup("username", NormalizeUsername(username))
}

// userAD binds a user's packet to the clear columns, so that editing role or active in the file breaks the packet.
func userAD(id, schoolID string, mac []byte, role Role, active bool) []byte {
	var b bytes.Buffer
	b.WriteString("pult user v1")
	for _, s := range []string{id, schoolID, string(mac), string(role)} {
		b.WriteByte(0)
		b.WriteString(s)
	}
	if active {
		b.WriteString("\x00active")
	}
	return b.Bytes()
}

// CreateUser creates an account in the actor's school.
func (db *DB) CreateUser(ctx context.Context, a Actor, in NewUser) (User, error) {
	if err := a.RequireAdmin(); err != nil {
		return User{}, err
	}
	if err := in.validate(); err != nil {
		return User{}, err
	}
	u := User{
		ID: NewID(), SchoolID: a.SchoolID, Username: strings.TrimSpace(in.Username), DisplayName: strings.TrimSpace(in.DisplayName),
		Email: in.Email, Role: in.Role, Active: true, CreatedAt: db.now().UTC().Truncate(time.Second), PasswordHash: in.PasswordHash,
		Operator: in.Operator,
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE username_mac = ?`, db.usernameMAC(u.Username)).Scan(&n); err != nil {
			return fmt.Errorf("check username: %w", err)
		}
		if n > 0 {
			return &Error{Code: CodeUsernameTaken, Message: "username taken", Fields: map[string]string{"username": FieldTaken}}
		}
		if err := db.writeUser(ctx, tx, u, true); err != nil {
			return err
		}
		if u.Operator {
			if err := setOperator(ctx, tx, u.ID, true, db.now()); err != nil {
				return err
			}
		}
		return startLearning(ctx, tx, u.ID, db.now().Add(NewUserLearning), nil)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func (db *DB) writeUser(ctx context.Context, tx *sql.Tx, u User, insert bool) error {
	s, err := db.schoolSealer(ctx, tx, u.SchoolID)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(userPacket{Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, PasswordHash: u.PasswordHash})
	if err != nil {
		return fmt.Errorf("encode user: %w", err)
	}
	mac := db.usernameMAC(u.Username)
	packet := s.seal(userAD(u.ID, u.SchoolID, mac, u.Role, u.Active), plain)
	if insert {
		_, err = tx.ExecContext(ctx, `INSERT INTO users (id, school_id, username_mac, role, active, created_at, packet) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.SchoolID, mac, u.Role, u.Active, u.CreatedAt.Unix(), packet)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE users SET role = ?, active = ?, packet = ? WHERE id = ?`, u.Role, u.Active, packet, u.ID)
	}
	if err != nil {
		return fmt.Errorf("write user %s: %w", u.ID, err)
	}
	return nil
}

const userColumns = `id, school_id, username_mac, role, active, created_at, last_login_at, last_failure, packet,
	EXISTS (SELECT 1 FROM operators WHERE operators.user_id = users.id)`

func (db *DB) scanUser(ctx context.Context, q querier, row rowScanner) (User, error) {
	var u User
	var mac, packet []byte
	var created, lastLogin int64
	if err := row.Scan(&u.ID, &u.SchoolID, &mac, &u.Role, &u.Active, &created, &lastLogin, &u.LastFailure, &packet, &u.Operator); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, notFound("user")
		}
		return User{}, fmt.Errorf("read user: %w", err)
	}
	s, err := db.schoolSealer(ctx, q, u.SchoolID)
	if err != nil {
		return User{}, err
	}
	plain, err := s.open(userAD(u.ID, u.SchoolID, mac, u.Role, u.Active), packet)
	if err != nil {
		return User{}, fmt.Errorf("open user %s: %w", u.ID, err)
	}
	var p userPacket
	if err := json.Unmarshal(plain, &p); err != nil {
		return User{}, fmt.Errorf("decode user %s: %w", u.ID, err)
	}
	u.Username, u.DisplayName, u.Email, u.PasswordHash = p.Username, p.DisplayName, p.Email, p.PasswordHash
	u.CreatedAt = time.Unix(created, 0).UTC()
	if lastLogin > 0 {
		u.LastLoginAt = time.Unix(lastLogin, 0).UTC()
	}
	return u, nil
}

// UserByUsername finds an account for login, in any school.
func (db *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	return db.scanUser(ctx, db.read, db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username_mac = ?`, db.usernameMAC(username)))
}

// UserByID returns an account by id, for the server's own session checks.
func (db *DB) UserByID(ctx context.Context, id string) (User, error) {
	return db.scanUser(ctx, db.read, db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// Users lists the accounts of the actor's school by display name, with their trusted devices and learning mode.
func (db *DB) Users(ctx context.Context, a Actor) ([]User, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	users, err := db.schoolUsers(ctx, db.read, a.SchoolID)
	if err != nil {
		return nil, err
	}
	return users, db.describeAccounts(ctx, a.SchoolID, users)
}

// Account returns one account of the admin's school as the user list shows it.
func (db *DB) Account(ctx context.Context, a Actor, id string) (User, error) {
	if err := a.RequireAdmin(); err != nil {
		return User{}, err
	}
	u, err := db.schoolUser(ctx, db.read, a.SchoolID, id)
	if err != nil {
		return User{}, err
	}
	list := []User{u}
	if err := db.describeAccounts(ctx, a.SchoolID, list); err != nil {
		return User{}, err
	}
	return list[0], nil
}

// describeAccounts adds what the admin's user list shows beside an account: trusted devices and learning mode.
func (db *DB) describeAccounts(ctx context.Context, schoolID string, users []User) error {
	counts := map[string]int{}
	rows, err := db.read.QueryContext(ctx, `SELECT user_id, COUNT(*) FROM user_devices WHERE school_id = ? AND state = ? GROUP BY user_id`, schoolID, DeviceTrusted)
	if err != nil {
		return fmt.Errorf("count devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("count devices: %w", err)
		}
		counts[id] = n
	}
	now := db.now()
	for i := range users {
		users[i].TrustedDevices = counts[users[i].ID]
		lm, err := db.learningMode(ctx, db.read, users[i].ID)
		if err != nil {
			return err
		}
		if lm.Active(now) {
			users[i].LearningMode = &lm
		}
	}
	return rows.Err()
}

func (db *DB) schoolUsers(ctx context.Context, q querier, schoolID string) ([]User, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE school_id = ?`, schoolID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := db.scanUser(ctx, q, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return collateLess(out[i].DisplayName, out[j].DisplayName) })
	return out, nil
}

// schoolUser returns an account of one school; another school's account is not found.
func (db *DB) schoolUser(ctx context.Context, q querier, schoolID, id string) (User, error) {
	if !ValidID(id) {
		return User{}, notFound("user")
	}
	return db.scanUser(ctx, q, q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ? AND school_id = ?`, id, schoolID))
}

// UpdateUser changes an account of the actor's school. The last active admin of a school cannot be demoted or
// deactivated.
func (db *DB) UpdateUser(ctx context.Context, a Actor, id string, p UserPatch) (User, error) {
	if err := a.RequireAdmin(); err != nil {
		return User{}, err
	}
	var out User
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		u, err := db.schoolUser(ctx, tx, a.SchoolID, id)
		if err != nil {
			return err
		}
		wasAdmin := u.Role == RoleAdmin && u.Active
		if p.DisplayName != nil {
			u.DisplayName = strings.TrimSpace(*p.DisplayName)
		}
		if p.Email != nil {
			u.Email = *p.Email
		}
		if p.Role != nil {
			u.Role = *p.Role
		}
		if p.Active != nil {
			u.Active = *p.Active
		}
		f := FieldErrors{}
		checkText(f, "displayName", u.DisplayName, true, 100)
		checkEmail(f, "email", u.Email)
		if !u.Role.Valid() {
			f.Add("role", FieldUnknownValue)
		}
		if err := f.Err("user"); err != nil {
			return err
		}
		if wasAdmin && !(u.Role == RoleAdmin && u.Active) {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE school_id = ? AND role = 'admin' AND active = 1`, a.SchoolID).Scan(&admins); err != nil {
				return fmt.Errorf("count admins: %w", err)
			}
			if admins <= 1 {
				return Errorf(CodeLastAdmin, "the school's last admin cannot be demoted or deactivated")
			}
		}
		if err := db.writeUser(ctx, tx, u, false); err != nil {
			return err
		}
		if !u.Active {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		out = u
		return nil
	})
	return out, err
}

// SetPasswordHash replaces the password of an account of the actor's school (an admin's reset, or a user's own
// change when actor and id are the same person) and ends the account's sessions except keepSession.
func (db *DB) SetPasswordHash(ctx context.Context, a Actor, id, hash string, keepSession []byte) error {
	if a.UserID != id {
		if err := a.RequireAdmin(); err != nil {
			return err
		}
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		u, err := db.schoolUser(ctx, tx, a.SchoolID, id)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		if err := db.writeUser(ctx, tx, u, false); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?`, id, keepSession); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}
