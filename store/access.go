package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Access codes use the license codes' alphabet and length: AccessCodeLength symbols of AccessCodeAlphabet,
// grouped by four, none that people mix up (78.5 bits: guessing one within the redeem limit is hopeless).
const (
	AccessCodeAlphabet = licenseAlphabet
	AccessCodeLength   = licenseCodeLength
)

// AccessCode is a student's live access code as the school sees it.
type AccessCode struct {
	ID        string    `json:"id"`
	StudentID string    `json:"studentId"`
	Code      string    `json:"code"`
	CreatedAt time.Time `json:"createdAt"`
}

type accessCodePacket struct {
	Code string `json:"code"`
}

func accessCodeAD(id, schoolID, studentID string) []byte {
	return []byte("pult access code v1\x00" + id + "\x00" + schoolID + "\x00" + studentID)
}

func (db *DB) accessCodeMAC(normalized string) []byte {
	return db.keys.lookup("access code", normalized)
}

// liveStudent checks that a student of the actor's school exists.
func (db *DB) liveStudent(ctx context.Context, q querier, s sealer, schoolID, id string) (Student, error) {
	r, err := db.getRecord(ctx, q, s, schoolID, KindStudent, id)
	if err != nil {
		return Student{}, err
	}
	return decode[Student](r)
}

// IssueAccessCode gives a student of the admin's school a new access code. A code the student had is revoked:
// the accounts that added the child with it no longer see it.
func (db *DB) IssueAccessCode(ctx context.Context, a Actor, studentID string) (AccessCode, error) {
	if err := a.RequireAdmin(); err != nil {
		return AccessCode{}, err
	}
	var out AccessCode
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		var err error
		out, err = db.issueAccessCode(ctx, tx, s, a.SchoolID, studentID)
		return err
	})
	return out, err
}

func (db *DB) issueAccessCode(ctx context.Context, tx *sql.Tx, s sealer, schoolID, studentID string) (AccessCode, error) {
	if _, err := db.liveStudent(ctx, tx, s, schoolID, studentID); err != nil {
		return AccessCode{}, err
	}
	if err := db.revokeAccessCode(ctx, tx, schoolID, studentID); err != nil {
		return AccessCode{}, err
	}
	code := newLicenseCode()
	c := AccessCode{ID: NewID(), StudentID: studentID, Code: code, CreatedAt: db.now().UTC().Truncate(time.Second)}
	plain, _ := json.Marshal(accessCodePacket{Code: code})
	_, err := tx.ExecContext(ctx, `INSERT INTO access_codes (id, school_id, student_id, code_mac, created_at, packet) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, schoolID, studentID, db.accessCodeMAC(NormalizeLicenseCode(code)), c.CreatedAt.Unix(), s.seal(accessCodeAD(c.ID, schoolID, studentID), plain))
	if err != nil {
		return AccessCode{}, fmt.Errorf("store access code: %w", err)
	}
	return c, nil
}

// RevokeAccessCode revokes a student's live code: it redeems nothing any more, and the accounts that added the
// child with it (and those they shared it with) see it no longer.
func (db *DB) RevokeAccessCode(ctx context.Context, a Actor, studentID string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if !ValidID(studentID) {
			return notFound(KindStudent)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_codes WHERE school_id = ? AND student_id = ? AND revoked_at = 0`, a.SchoolID, studentID).Scan(&n); err != nil {
			return fmt.Errorf("find access code: %w", err)
		}
		if n == 0 {
			return notFound("access code")
		}
		return db.revokeAccessCode(ctx, tx, a.SchoolID, studentID)
	})
}

func (db *DB) revokeAccessCode(ctx context.Context, tx *sql.Tx, schoolID, studentID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM parent_children WHERE code_id IN
		(SELECT id FROM access_codes WHERE school_id = ? AND student_id = ? AND revoked_at = 0)`, schoolID, studentID); err != nil {
		return fmt.Errorf("end access by code: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE access_codes SET revoked_at = ? WHERE school_id = ? AND student_id = ? AND revoked_at = 0`,
		db.now().Unix(), schoolID, studentID); err != nil {
		return fmt.Errorf("revoke access code: %w", err)
	}
	return nil
}

// AccessCodes lists the live codes of the admin's school.
func (db *DB) AccessCodes(ctx context.Context, a Actor) ([]AccessCode, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	return db.accessCodes(ctx, db.read, s, a.SchoolID)
}

func (db *DB) accessCodes(ctx context.Context, q querier, s sealer, schoolID string) ([]AccessCode, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, student_id, created_at, packet FROM access_codes WHERE school_id = ? AND revoked_at = 0 ORDER BY created_at, id`, schoolID)
	if err != nil {
		return nil, fmt.Errorf("list access codes: %w", err)
	}
	defer rows.Close()
	out := []AccessCode{}
	for rows.Next() {
		var c AccessCode
		var created int64
		var packet []byte
		if err := rows.Scan(&c.ID, &c.StudentID, &created, &packet); err != nil {
			return nil, fmt.Errorf("list access codes: %w", err)
		}
		plain, err := s.open(accessCodeAD(c.ID, schoolID, c.StudentID), packet)
		if err != nil {
			return nil, fmt.Errorf("open access code %s: %w", c.ID, err)
		}
		var p accessCodePacket
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("decode access code %s: %w", c.ID, err)
		}
		c.Code, c.CreatedAt = p.Code, time.Unix(created, 0).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// Redemption is a redeemed code: the child it added, and the school, for the audit log.
type Redemption struct {
	SchoolID  string
	StudentID string
}

// RedeemAccessCode adds the child of a live code to a confirmed parent account. Any code that is unknown,
// revoked, or whose student is gone answers the same validation error. Adding the same child again changes
// nothing.
func (db *DB) RedeemAccessCode(ctx context.Context, parentID, code string) (Redemption, error) {
	invalid := &Error{Code: CodeInvalid, Message: "no such access code", Fields: map[string]string{"code": FieldInvalid}}
	n := NormalizeLicenseCode(code)
	if n == "" {
		return Redemption{}, invalid
	}
	var out Redemption
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id, school_id, student_id FROM access_codes WHERE code_mac = ? AND revoked_at = 0`, db.accessCodeMAC(n)).
			Scan(&id, &out.SchoolID, &out.StudentID)
		if errors.Is(err, sql.ErrNoRows) {
			return invalid
		}
		if err != nil {
			return fmt.Errorf("find access code: %w", err)
		}
		s, err := db.schoolSealer(ctx, tx, out.SchoolID)
		if err != nil {
			return err
		}
		if _, err := db.liveStudent(ctx, tx, s, out.SchoolID, out.StudentID); err != nil {
			if ErrorCode(err) == CodeNotFound {
				return invalid
			}
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO parent_children (parent_id, school_id, student_id, code_id, linked_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (parent_id, student_id) DO UPDATE SET code_id = excluded.code_id`, parentID, out.SchoolID, out.StudentID, id, db.now().Unix())
		if err != nil {
			return fmt.Errorf("add child: %w", err)
		}
		return nil
	})
	return out, err
}

// RemoveChild takes a child the account added itself off the account (and so off the accounts it shared with).
func (db *DB) RemoveChild(ctx context.Context, parentID, studentID string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM parent_children WHERE parent_id = ? AND student_id = ?`, parentID, studentID)
		if err != nil {
			return fmt.Errorf("remove child: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("child")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM parent_shares WHERE owner_id = ? AND student_id = ?`, parentID, studentID); err != nil {
			return fmt.Errorf("remove shares: %w", err)
		}
		return nil
	})
}

// childAccess is how an account reaches a child: its own link, or a share of an account that has one.
type childAccess struct {
	SchoolID  string
	StudentID string
	// Owner is "" for the account's own link, else the account that shared the child.
	Owner string
}

// childrenOf lists every child an account may see. A share counts only while the sharing account still has the
// child itself, so revoking a code or a share takes effect at the next request.
func (db *DB) childrenOf(ctx context.Context, p Parent) ([]childAccess, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT school_id, student_id, '' FROM parent_children WHERE parent_id = ?
		UNION
		SELECT pc.school_id, pc.student_id, sh.owner_id FROM parent_shares sh
			JOIN parent_children pc ON pc.parent_id = sh.owner_id AND pc.student_id = sh.student_id
			WHERE sh.grantee_mac = ? AND sh.owner_id <> ?`, p.ID, db.emailMAC(p.Email), p.ID)
	if err != nil {
		return nil, fmt.Errorf("list children: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []childAccess
	for rows.Next() {
		var c childAccess
		if err := rows.Scan(&c.SchoolID, &c.StudentID, &c.Owner); err != nil {
			return nil, fmt.Errorf("list children: %w", err)
		}
		// An own link wins over a share of the same child.
		if seen[c.StudentID] && c.Owner != "" {
			continue
		}
		if seen[c.StudentID] {
			for i := range out {
				if out[i].StudentID == c.StudentID {
					out[i] = c
				}
			}
			continue
		}
		seen[c.StudentID] = true
		out = append(out, c)
	}
	return out, rows.Err()
}

// childAccessTo returns how an account reaches one child, or not found.
func (db *DB) childAccessTo(ctx context.Context, p Parent, studentID string) (childAccess, error) {
	all, err := db.childrenOf(ctx, p)
	if err != nil {
		return childAccess{}, err
	}
	for _, c := range all {
		if c.StudentID == studentID {
			return c, nil
		}
	}
	return childAccess{}, notFound("child")
}

// Child is a child as its parents see it: who, at which school, and whether the account has it by its own code
// or through a share.
type Child struct {
	StudentID  string `json:"studentId"`
	SchoolID   string `json:"schoolId"`
	SchoolName string `json:"schoolName"`
	FirstName  string `json:"firstName"`
	LastName   string `json:"lastName"`
	Class      string `json:"class"`
	Shared     bool   `json:"shared"`
}

// ParentLesson is a lesson as parents see it: no internal note, and the child's own attendance only.
type ParentLesson struct {
	ID         string      `json:"id"`
	Date       string      `json:"date"`
	StartTime  string      `json:"startTime"`
	EndTime    string      `json:"endTime"`
	Topic      string      `json:"topic"`
	Homework   string      `json:"homework"`
	ParentNote string      `json:"parentNote"`
	Attendance *ParentMark `json:"attendance"`
}

// ParentMark is the child's attendance in a lesson, without the teacher's comment (internal).
type ParentMark struct {
	Status      AttendanceStatus `json:"status"`
	LateMinutes int              `json:"lateMinutes"`
}

// ParentCourse is a course of the child with its lessons, newest first.
type ParentCourse struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Subject string         `json:"subject"`
	Lessons []ParentLesson `json:"lessons"`
}

// ChildView is everything parents see of a child.
type ChildView struct {
	Child
	Courses []ParentCourse `json:"courses"`
}

func (db *DB) child(ctx context.Context, c childAccess) (Child, Student, error) {
	school, err := db.School(ctx, c.SchoolID)
	if err != nil {
		return Child{}, Student{}, err
	}
	s, err := db.schoolSealer(ctx, db.read, c.SchoolID)
	if err != nil {
		return Child{}, Student{}, err
	}
	st, err := db.liveStudent(ctx, db.read, s, c.SchoolID, c.StudentID)
	if err != nil {
		return Child{}, Student{}, err
	}
	return Child{StudentID: st.ID, SchoolID: c.SchoolID, SchoolName: school.Name, FirstName: st.FirstName, LastName: st.LastName,
		Class: st.Class, Shared: c.Owner != ""}, st, nil
}

// Children lists the children an account sees, by name. A child whose record the school deleted is left out.
func (db *DB) Children(ctx context.Context, p Parent) ([]Child, error) {
	all, err := db.childrenOf(ctx, p)
	if err != nil {
		return nil, err
	}
	out := []Child{}
	for _, c := range all {
		ch, _, err := db.child(ctx, c)
		if ErrorCode(err) == CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool {
		return collateLess(out[i].FirstName+" "+out[i].LastName, out[j].FirstName+" "+out[j].LastName)
	})
	return out, nil
}

// ChildOf returns one child of an account.
func (db *DB) ChildOf(ctx context.Context, p Parent, studentID string) (Child, error) {
	c, err := db.childAccessTo(ctx, p, studentID)
	if err != nil {
		return Child{}, err
	}
	ch, _, err := db.child(ctx, c)
	return ch, err
}

// ChildView returns what an account sees of one of its children: the courses the child is enrolled in, their
// lessons with homework and the notes for parents, and the child's own attendance. Nothing internal: no lesson
// note, no attendance comment, no other student.
func (db *DB) ChildView(ctx context.Context, p Parent, studentID string) (ChildView, error) {
	c, err := db.childAccessTo(ctx, p, studentID)
	if err != nil {
		return ChildView{}, err
	}
	ch, _, err := db.child(ctx, c)
	if err != nil {
		return ChildView{}, err
	}
	view := ChildView{Child: ch, Courses: []ParentCourse{}}
	a := SchoolAdmin(c.SchoolID)
	s, err := db.reader(ctx, a)
	if err != nil {
		return ChildView{}, err
	}
	courses, err := db.listRecords(ctx, db.read, s, c.SchoolID, KindCourse, "")
	if err != nil {
		return ChildView{}, err
	}
	for _, cr := range courses {
		if _, err := db.getRecord(ctx, db.read, s, c.SchoolID, KindEnrollment, enrollmentID(cr.ID, studentID)); err != nil {
			if ErrorCode(err) == CodeNotFound {
				continue
			}
			return ChildView{}, err
		}
		course, err := decode[Course](cr)
		if err != nil {
			return ChildView{}, err
		}
		pc := ParentCourse{ID: course.ID, Name: course.Name, Subject: course.Subject, Lessons: []ParentLesson{}}
		lessons, err := db.listRecords(ctx, db.read, s, c.SchoolID, KindLesson, course.ID)
		if err != nil {
			return ChildView{}, err
		}
		for _, lr := range lessons {
			l, err := decode[Lesson](lr)
			if err != nil {
				return ChildView{}, err
			}
			pl := ParentLesson{ID: l.ID, Date: l.Date, StartTime: l.StartTime, EndTime: l.EndTime, Topic: l.Topic, Homework: l.Homework, ParentNote: l.ParentNote}
			if mr, err := db.getRecord(ctx, db.read, s, c.SchoolID, KindAttendance, attendanceID(l.ID, studentID)); err == nil {
				m, err := markFrom(mr)
				if err != nil {
					return ChildView{}, err
				}
				pl.Attendance = &ParentMark{Status: m.Status, LateMinutes: m.LateMinutes}
			} else if ErrorCode(err) != CodeNotFound {
				return ChildView{}, err
			}
			pc.Lessons = append(pc.Lessons, pl)
		}
		sort.Slice(pc.Lessons, func(i, j int) bool {
			if pc.Lessons[i].Date != pc.Lessons[j].Date {
				return pc.Lessons[i].Date > pc.Lessons[j].Date
			}
			return pc.Lessons[i].StartTime > pc.Lessons[j].StartTime
		})
		view.Courses = append(view.Courses, pc)
	}
	sort.Slice(view.Courses, func(i, j int) bool { return collateLess(view.Courses[i].Name, view.Courses[j].Name) })
	return view, nil
}

// Share is another account's access to a child, granted by the account that added it.
type Share struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"createdAt"`
}

func shareAD(id, owner, studentID string) []byte {
	return []byte("pult share v1\x00" + id + "\x00" + owner + "\x00" + studentID)
}

// ownChild checks that the account added the child itself: only then may it share it.
func (db *DB) ownChild(ctx context.Context, q querier, p Parent, studentID string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM parent_children WHERE parent_id = ? AND student_id = ?`, p.ID, studentID).Scan(&n); err != nil {
		return fmt.Errorf("find child: %w", err)
	}
	if n == 0 {
		return notFound("child")
	}
	return nil
}

// Shares lists whom an account granted one of its own children.
func (db *DB) Shares(ctx context.Context, p Parent, studentID string) ([]Share, error) {
	if err := db.ownChild(ctx, db.read, p, studentID); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, created_at, packet FROM parent_shares WHERE owner_id = ? AND student_id = ? ORDER BY created_at, id`, p.ID, studentID)
	if err != nil {
		return nil, fmt.Errorf("list shares: %w", err)
	}
	defer rows.Close()
	out := []Share{}
	for rows.Next() {
		var sh Share
		var created int64
		var packet []byte
		if err := rows.Scan(&sh.ID, &created, &packet); err != nil {
			return nil, fmt.Errorf("list shares: %w", err)
		}
		plain, err := db.keys.wrap.open(shareAD(sh.ID, p.ID, studentID), packet)
		if err != nil {
			return nil, fmt.Errorf("open share %s: %w", sh.ID, err)
		}
		sh.Email, sh.CreatedAt = string(plain), time.Unix(created, 0).UTC()
		out = append(out, sh)
	}
	return out, rows.Err()
}

// ShareChild grants another address access to one of the account's own children. The answer is the same whether
// or not that address has an account: the share counts once it has one.
func (db *DB) ShareChild(ctx context.Context, p Parent, studentID, email string) (Share, error) {
	f := FieldErrors{}
	CheckParentEmail(f, "email", email)
	email = NormalizeEmail(email)
	if f["email"] == "" && email == NormalizeEmail(p.Email) {
		f.Add("email", FieldInvalid)
	}
	var out Share
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := db.ownChild(ctx, tx, p, studentID); err != nil {
			return err
		}
		if err := f.Err("share"); err != nil {
			return err
		}
		var existing string
		err := tx.QueryRowContext(ctx, `SELECT id FROM parent_shares WHERE owner_id = ? AND student_id = ? AND grantee_mac = ?`, p.ID, studentID, db.emailMAC(email)).Scan(&existing)
		if err == nil {
			return &Error{Code: CodeConflict, Message: "already shared with this address", Fields: map[string]string{"email": FieldTaken}}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find share: %w", err)
		}
		out = Share{ID: NewID(), Email: email, CreatedAt: db.now().UTC().Truncate(time.Second)}
		_, err = tx.ExecContext(ctx, `INSERT INTO parent_shares (id, owner_id, student_id, grantee_mac, created_at, packet) VALUES (?, ?, ?, ?, ?, ?)`,
			out.ID, p.ID, studentID, db.emailMAC(email), out.CreatedAt.Unix(), db.keys.wrap.seal(shareAD(out.ID, p.ID, studentID), []byte(email)))
		if err != nil {
			return fmt.Errorf("store share: %w", err)
		}
		return nil
	})
	return out, err
}

// RevokeShare ends a share at once.
func (db *DB) RevokeShare(ctx context.Context, p Parent, studentID, shareID string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM parent_shares WHERE id = ? AND owner_id = ? AND student_id = ?`, shareID, p.ID, studentID)
		if err != nil {
			return fmt.Errorf("revoke share: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("share")
		}
		return nil
	})
}

// Registrant is a parent account as the school sees it (PA2): the children of this school it holds, by code or
// through a share.
type Registrant struct {
	ID           string           `json:"id"`
	Email        string           `json:"email"`
	RegisteredAt time.Time        `json:"registeredAt"`
	Confirmed    bool             `json:"confirmed"`
	Children     []RegistrantLink `json:"children"`
}

// RegistrantLink is one child of the school on a parent account.
type RegistrantLink struct {
	StudentID string    `json:"studentId"`
	Name      string    `json:"name"`
	Shared    bool      `json:"shared"`
	LinkedAt  time.Time `json:"linkedAt"`
}

// Registrants lists the parent accounts that registered from the school's letters or hold children of the
// admin's school, newest first. Other accounts are another school's business, or nobody's yet.
func (db *DB) Registrants(ctx context.Context, a Actor) ([]Registrant, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT parent_id, student_id, linked_at, 0 FROM parent_children WHERE school_id = ?
		UNION ALL
		SELECT p.id, pc.student_id, sh.created_at, 1 FROM parent_shares sh
			JOIN parent_children pc ON pc.parent_id = sh.owner_id AND pc.student_id = sh.student_id
			JOIN parents p ON p.email_mac = sh.grantee_mac
			WHERE pc.school_id = ?`, a.SchoolID, a.SchoolID)
	if err != nil {
		return nil, fmt.Errorf("list registrations: %w", err)
	}
	type link struct {
		parent, student string
		at              int64
		shared          bool
	}
	var links []link
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.parent, &l.student, &l.at, &l.shared); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list registrations: %w", err)
		}
		links = append(links, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list registrations: %w", err)
	}
	// Registrations that came from the school's letters, children or not yet.
	regs, err := db.read.QueryContext(ctx, `SELECT parent_id FROM parent_registrations WHERE school_id = ? ORDER BY registered_at`, a.SchoolID)
	if err != nil {
		return nil, fmt.Errorf("list registrations: %w", err)
	}
	var registered []string
	for regs.Next() {
		var id string
		if err := regs.Scan(&id); err != nil {
			regs.Close()
			return nil, fmt.Errorf("list registrations: %w", err)
		}
		registered = append(registered, id)
	}
	regs.Close()
	if err := regs.Err(); err != nil {
		return nil, fmt.Errorf("list registrations: %w", err)
	}
	byID := map[string]*Registrant{}
	var order []string
	add := func(parentID string) (*Registrant, error) {
		if r, ok := byID[parentID]; ok {
			return r, nil
		}
		p, err := db.ParentByID(ctx, parentID)
		if err != nil {
			return nil, err
		}
		r := &Registrant{ID: p.ID, Email: p.Email, RegisteredAt: p.CreatedAt, Confirmed: p.Confirmed(), Children: []RegistrantLink{}}
		byID[parentID] = r
		order = append(order, parentID)
		return r, nil
	}
	for _, id := range registered {
		if _, err := add(id); err != nil {
			return nil, err
		}
	}
	for _, l := range links {
		r, err := add(l.parent)
		if err != nil {
			return nil, err
		}
		name := ""
		if st, err := db.liveStudent(ctx, db.read, s, a.SchoolID, l.student); err == nil {
			name = st.FirstName + " " + st.LastName
		} else if ErrorCode(err) != CodeNotFound {
			return nil, err
		}
		r.Children = append(r.Children, RegistrantLink{StudentID: l.student, Name: name, Shared: l.shared, LinkedAt: time.Unix(l.at, 0).UTC()})
	}
	out := make([]Registrant, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RegisteredAt.After(out[j].RegisteredAt) })
	return out, nil
}
