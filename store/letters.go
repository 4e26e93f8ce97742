package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// FieldUnknownPlaceholder is the field error of a template that names a placeholder Pult does not know.
const FieldUnknownPlaceholder = "unknown_placeholder"

// Placeholders are what a letter template may use, written {{name}}: the student's names and class, the course
// the letters are for, the student's access code, the school's name, the date of the letter and the address
// where parents register.
var Placeholders = []string{"firstName", "lastName", "name", "class", "course", "code", "school", "date", "link"}

var placeholderPattern = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// LetterTemplate is a letter a school writes once and sends to many.
type LetterTemplate struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
}

type templatePacket struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// unknownPlaceholders lists the placeholders of text that Pult does not know, and stray braces.
func unknownPlaceholders(text string) []string {
	var bad []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(text, -1) {
		found := false
		for _, p := range Placeholders {
			if m[1] == p {
				found = true
			}
		}
		if !found {
			bad = append(bad, "{{"+m[1]+"}}")
		}
	}
	rest := placeholderPattern.ReplaceAllString(text, "")
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		bad = append(bad, "{{…")
	}
	return bad
}

// Validate checks a template; a placeholder Pult does not know is refused at once, with its name in the message.
func (t *LetterTemplate) Validate() error {
	f := FieldErrors{}
	checkText(f, "name", t.Name, true, 100)
	checkText(f, "subject", t.Subject, true, 200)
	checkText(f, "body", t.Body, true, 20000)
	var unknown []string
	for _, field := range []struct{ name, text string }{{"subject", t.Subject}, {"body", t.Body}} {
		if bad := unknownPlaceholders(field.text); len(bad) > 0 {
			f.Add(field.name, FieldUnknownPlaceholder)
			unknown = append(unknown, bad...)
		}
	}
	if len(unknown) > 0 {
		return &Error{Code: CodeInvalid, Fields: map[string]string(f),
			Message: fmt.Sprintf("unknown placeholder %s; known are {{%s}}", strings.Join(unknown, ", "), strings.Join(Placeholders, "}}, {{"))}
	}
	return f.Err("letter template")
}

func templateAD(id, schoolID string) []byte {
	return []byte("pult letter template v1\x00" + id + "\x00" + schoolID)
}

// LetterTemplates lists the admin's school's templates by name.
func (db *DB) LetterTemplates(ctx context.Context, a Actor) ([]LetterTemplate, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, created_at, packet FROM letter_templates WHERE school_id = ?`, a.SchoolID)
	if err != nil {
		return nil, fmt.Errorf("list letter templates: %w", err)
	}
	defer rows.Close()
	out := []LetterTemplate{}
	for rows.Next() {
		t, err := scanTemplate(s, a.SchoolID, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return collateLess(out[i].Name, out[j].Name) })
	return out, rows.Err()
}

func scanTemplate(s sealer, schoolID string, row rowScanner) (LetterTemplate, error) {
	var t LetterTemplate
	var created int64
	var packet []byte
	if err := row.Scan(&t.ID, &created, &packet); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return LetterTemplate{}, notFound("letter template")
		}
		return LetterTemplate{}, fmt.Errorf("read letter template: %w", err)
	}
	plain, err := s.open(templateAD(t.ID, schoolID), packet)
	if err != nil {
		return LetterTemplate{}, fmt.Errorf("open letter template %s: %w", t.ID, err)
	}
	var p templatePacket
	if err := json.Unmarshal(plain, &p); err != nil {
		return LetterTemplate{}, fmt.Errorf("decode letter template %s: %w", t.ID, err)
	}
	t.Name, t.Subject, t.Body, t.CreatedAt = p.Name, p.Subject, p.Body, time.Unix(created, 0).UTC()
	return t, nil
}

// LetterTemplate returns one template of the admin's school.
func (db *DB) LetterTemplate(ctx context.Context, a Actor, id string) (LetterTemplate, error) {
	if err := a.RequireAdmin(); err != nil {
		return LetterTemplate{}, err
	}
	s, err := db.reader(ctx, a)
	if err != nil {
		return LetterTemplate{}, err
	}
	return scanTemplate(s, a.SchoolID, db.read.QueryRowContext(ctx, `SELECT id, created_at, packet FROM letter_templates WHERE id = ? AND school_id = ?`, id, a.SchoolID))
}

func (t *LetterTemplate) trim() {
	t.Name, t.Subject, t.Body = strings.TrimSpace(t.Name), strings.TrimSpace(t.Subject), strings.TrimSpace(t.Body)
}

// SaveLetterTemplate creates a template (t.ID "") or replaces one of the admin's school.
func (db *DB) SaveLetterTemplate(ctx context.Context, a Actor, t LetterTemplate) (LetterTemplate, error) {
	if err := a.RequireAdmin(); err != nil {
		return LetterTemplate{}, err
	}
	t.trim()
	err := db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		if t.ID != "" {
			old, err := scanTemplate(s, a.SchoolID, tx.QueryRowContext(ctx, `SELECT id, created_at, packet FROM letter_templates WHERE id = ? AND school_id = ?`, t.ID, a.SchoolID))
			if err != nil {
				return err
			}
			t.CreatedAt = old.CreatedAt
		}
		if err := t.Validate(); err != nil {
			return err
		}
		plain, _ := json.Marshal(templatePacket{Name: t.Name, Subject: t.Subject, Body: t.Body})
		if t.ID == "" {
			t.ID, t.CreatedAt = NewID(), db.now().UTC().Truncate(time.Second)
			_, err := tx.ExecContext(ctx, `INSERT INTO letter_templates (id, school_id, created_at, packet) VALUES (?, ?, ?, ?)`,
				t.ID, a.SchoolID, t.CreatedAt.Unix(), s.seal(templateAD(t.ID, a.SchoolID), plain))
			if err != nil {
				return fmt.Errorf("store letter template: %w", err)
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE letter_templates SET packet = ? WHERE id = ? AND school_id = ?`, s.seal(templateAD(t.ID, a.SchoolID), plain), t.ID, a.SchoolID); err != nil {
			return fmt.Errorf("store letter template: %w", err)
		}
		return nil
	})
	return t, err
}

// DeleteLetterTemplate deletes a template of the admin's school.
func (db *DB) DeleteLetterTemplate(ctx context.Context, a Actor, id string) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM letter_templates WHERE id = ? AND school_id = ?`, id, a.SchoolID)
		if err != nil {
			return fmt.Errorf("delete letter template: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("letter template")
		}
		return nil
	})
}

// Letter is a template filled in for one student.
type Letter struct {
	StudentID     string `json:"studentId"`
	StudentName   string `json:"studentName"`
	GuardianEmail string `json:"guardianEmail"`
	Subject       string `json:"subject"`
	Body          string `json:"body"`
}

// FillTemplate replaces the placeholders of text with values; a validated template has no others.
func FillTemplate(text string, values map[string]string) string {
	return placeholderPattern.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.TrimSpace(placeholderPattern.FindStringSubmatch(m)[1])
		return values[name]
	})
}

// LetterRequest is what letters to produce: a template, and the students (or, without students, every student of
// the course). course names the course for {{course}}.
type LetterRequest struct {
	TemplateID string
	StudentIDs []string
	CourseID   string
	// Date is the letter's date as printed; Link the address where parents register.
	Date string
	Link string
}

// MaxLetters bounds the letters of one request.
const MaxLetters = 500

// Letters fills a template for students of the admin's school. Every student without a live access code gets
// one now, so a letter always carries a working code; students who have one keep it.
func (db *DB) Letters(ctx context.Context, a Actor, req LetterRequest) ([]Letter, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	if len(req.StudentIDs) > MaxLetters {
		return nil, &Error{Code: CodeInvalid, Message: "too many students", Fields: map[string]string{"studentIds": FieldTooLong}}
	}
	t, err := db.LetterTemplate(ctx, a, req.TemplateID)
	if err != nil {
		return nil, err
	}
	school, err := db.School(ctx, a.SchoolID)
	if err != nil {
		return nil, err
	}
	var out []Letter
	err = db.schoolWrite(ctx, a, func(tx *sql.Tx, s sealer) error {
		courseName := ""
		ids := req.StudentIDs
		if req.CourseID != "" {
			c, err := db.course(ctx, tx, s, a, req.CourseID)
			if err != nil {
				return err
			}
			courseName = c.Name
			if len(ids) == 0 {
				students, err := db.courseStudents(ctx, tx, s, a, c.ID)
				if err != nil {
					return err
				}
				for _, st := range students {
					ids = append(ids, st.ID)
				}
			}
		}
		if len(ids) == 0 {
			return &Error{Code: CodeInvalid, Message: "no students", Fields: map[string]string{"studentIds": FieldRequired}}
		}
		codes, err := db.accessCodes(ctx, tx, s, a.SchoolID)
		if err != nil {
			return err
		}
		live := map[string]string{}
		for _, c := range codes {
			live[c.StudentID] = c.Code
		}
		for _, id := range ids {
			st, err := db.liveStudent(ctx, tx, s, a.SchoolID, id)
			if err != nil {
				return err
			}
			code, ok := live[id]
			if !ok {
				c, err := db.issueAccessCode(ctx, tx, s, a.SchoolID, id)
				if err != nil {
					return err
				}
				code, live[id] = c.Code, c.Code
			}
			values := map[string]string{"firstName": st.FirstName, "lastName": st.LastName, "name": st.FirstName + " " + st.LastName,
				"class": st.Class, "course": courseName, "code": code, "school": school.Name, "date": req.Date, "link": req.Link}
			out = append(out, Letter{StudentID: st.ID, StudentName: values["name"], GuardianEmail: st.GuardianEmail,
				Subject: FillTemplate(t.Subject, values), Body: FillTemplate(t.Body, values)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
