package store

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// ClassListRow is one line of a class list, with what is wrong with it.
type ClassListRow struct {
	Line          int               `json:"line"`
	FirstName     string            `json:"firstName"`
	LastName      string            `json:"lastName"`
	BirthDate     string            `json:"birthDate"`
	Class         string            `json:"class"`
	GuardianEmail string            `json:"guardianEmail"`
	Errors        map[string]string `json:"errors,omitempty"`
}

// ClassList is a parsed class list: its rows, how many are fine, and a problem of the whole file if there is one
// (then there are no rows).
type ClassList struct {
	Rows    []ClassListRow `json:"rows"`
	Valid   int            `json:"valid"`
	Invalid int            `json:"invalid"`
	Error   string         `json:"error"`
}

// File-level problems of a class list.
const (
	ClassListEmpty          = "empty"
	ClassListMissingHeader  = "missing_header"
	ClassListMissingColumns = "missing_columns"
	ClassListUnreadable     = "unreadable"
	ClassListTooManyRows    = "too_many_rows"
)

// MaxClassListRows bounds one import; a whole school's list fits, a runaway file does not.
const MaxClassListRows = 5000

// classListColumns maps accepted header names (English and German, compared case-insensitively) to fields.
var classListColumns = map[string]string{
	"first_name": "firstName", "firstname": "firstName", "vorname": "firstName",
	"last_name": "lastName", "lastname": "lastName", "nachname": "lastName", "name": "lastName",
	"birth_date": "birthDate", "birthdate": "birthDate", "geburtsdatum": "birthDate",
	"class": "class", "klasse": "class",
	"guardian_email": "guardianEmail", "e-mail": "guardianEmail", "email": "guardianEmail",
}

// ParseClassList reads a class list: a header row, `,` or `;` as separator, UTF-8 with or without BOM.
// Birth dates may be YYYY-MM-DD or DD.MM.YYYY and come out as YYYY-MM-DD.
func ParseClassList(text string) ClassList {
	text = strings.TrimPrefix(text, "\uFEFF")
	if !utf8.ValidString(text) {
		return ClassList{Rows: []ClassListRow{}, Error: ClassListUnreadable}
	}
	if strings.TrimSpace(text) == "" {
		return ClassList{Rows: []ClassListRow{}, Error: ClassListEmpty}
	}
	header, _, _ := strings.Cut(text, "\n")
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = ','
	if strings.Count(header, ";") > strings.Count(header, ",") {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return ClassList{Rows: []ClassListRow{}, Error: ClassListUnreadable}
	}
	cols := map[string]int{}
	for i, h := range head {
		if f, ok := classListColumns[strings.ToLower(strings.TrimSpace(h))]; ok {
			if _, dup := cols[f]; !dup {
				cols[f] = i
			}
		}
	}
	if len(cols) == 0 {
		return ClassList{Rows: []ClassListRow{}, Error: ClassListMissingHeader}
	}
	if _, ok := cols["firstName"]; !ok {
		return ClassList{Rows: []ClassListRow{}, Error: ClassListMissingColumns}
	}
	if _, ok := cols["lastName"]; !ok {
		return ClassList{Rows: []ClassListRow{}, Error: ClassListMissingColumns}
	}
	out := ClassList{Rows: []ClassListRow{}}
	for {
		line, _ := r.FieldPos(0)
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			out.Rows = append(out.Rows, ClassListRow{Line: line, Errors: map[string]string{"line": FieldInvalid}})
			out.Invalid++
			// A broken quote swallows the rest of the file; stop rather than report noise.
			if errors.Is(err, csv.ErrQuote) || errors.Is(err, csv.ErrBareQuote) {
				break
			}
			continue
		}
		line, _ = r.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(out.Rows) >= MaxClassListRows {
			return ClassList{Rows: []ClassListRow{}, Error: ClassListTooManyRows}
		}
		get := func(f string) string {
			if i, ok := cols[f]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := ClassListRow{Line: line, FirstName: get("firstName"), LastName: get("lastName"), BirthDate: get("birthDate"),
			Class: get("class"), GuardianEmail: get("guardianEmail")}
		if d, err := time.Parse("02.01.2006", row.BirthDate); err == nil {
			row.BirthDate = d.Format(time.DateOnly)
		} else if d, err := time.Parse("2.1.2006", row.BirthDate); err == nil {
			row.BirthDate = d.Format(time.DateOnly)
		}
		st := row.Student()
		if err := st.validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				row.Errors = e.Fields
			}
		}
		if len(row.Errors) > 0 {
			out.Invalid++
		} else {
			out.Valid++
		}
		out.Rows = append(out.Rows, row)
	}
	if len(out.Rows) == 0 {
		out.Error = ClassListEmpty
	}
	return out
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// Student returns the student a row describes.
func (r ClassListRow) Student() Student {
	return Student{FirstName: r.FirstName, LastName: r.LastName, BirthDate: r.BirthDate, Class: r.Class, GuardianEmail: r.GuardianEmail}
}

// ValidStudents returns the students of the rows without errors.
func (c ClassList) ValidStudents() []Student {
	var out []Student
	for _, r := range c.Rows {
		if len(r.Errors) == 0 {
			out = append(out, r.Student())
		}
	}
	return out
}
