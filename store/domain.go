package store

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a staff member may do in their school.
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleTeacher Role = "teacher"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleTeacher }

// Actor is who asks: every read and write of school data is checked against it. Teachers reach their own courses,
// admins every course of their school, nobody another school.
type Actor struct {
	UserID   string
	SchoolID string
	Role     Role
	// Operator is set for a server operator: it opens the server's own outbox, never another school.
	Operator bool
}

// IsAdmin reports whether the actor administers its school.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// RequireAdmin refuses anyone but an admin.
func (a Actor) RequireAdmin() error {
	if !a.IsAdmin() {
		return Errorf(CodeForbidden, "admins only")
	}
	return nil
}

// RequireOperator refuses anyone but a server operator.
func (a Actor) RequireOperator() error {
	if !a.Operator {
		return Errorf(CodeForbidden, "server operators only")
	}
	return nil
}

// School is a school or music school on this server.
type School struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Course is a course or class that one teacher keeps.
type Course struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Subject   string `json:"subject"`
	TeacherID string `json:"teacherId"`
}

// CourseSummary is a course as lists show it.
type CourseSummary struct {
	Course
	TeacherName  string `json:"teacherName"`
	StudentCount int    `json:"studentCount"`
}

// Student is a pupil of the school.
type Student struct {
	ID            string `json:"id"`
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	BirthDate     string `json:"birthDate"`
	Class         string `json:"class"`
	GuardianEmail string `json:"guardianEmail"`
}

// Enrollment says a student takes part in a course.
type Enrollment struct {
	ID        string `json:"id"`
	CourseID  string `json:"courseId"`
	StudentID string `json:"studentId"`
}

// Lesson is one lesson of a course. Note is internal: never shown to parents; ParentNote is for them (SD4).
type Lesson struct {
	ID        string `json:"id"`
	CourseID  string `json:"courseId"`
	Date      string `json:"date"`
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
	Topic     string `json:"topic"`
	Homework  string `json:"homework"`
	Note      string `json:"note"`
	// ParentNote is what parents read beside the lesson: the only note they see.
	ParentNote string `json:"parentNote"`
}

// AttendanceStatus is how a student took part in a lesson.
type AttendanceStatus string

const (
	Present   AttendanceStatus = "present"
	Late      AttendanceStatus = "late"
	Excused   AttendanceStatus = "excused"
	Unexcused AttendanceStatus = "unexcused"
)

// MaxLateMinutes bounds how late a student can be and still be "late" rather than absent.
const MaxLateMinutes = 240

// AttendanceMark is one student's attendance in one lesson.
type AttendanceMark struct {
	LessonID    string           `json:"lessonId"`
	StudentID   string           `json:"studentId"`
	Status      AttendanceStatus `json:"status"`
	LateMinutes int              `json:"lateMinutes"`
	Comment     string           `json:"comment"`
	UpdatedAt   time.Time        `json:"updatedAt"`
	// Conflict is the status another device set at the same time, which lost (SD5); marking again resolves it.
	Conflict *StatusConflict `json:"conflict,omitempty"`
}

// StatusConflict is an attendance status that lost against a concurrent change.
type StatusConflict struct {
	Status AttendanceStatus `json:"status"`
	At     time.Time        `json:"at"`
}

func checkText(f FieldErrors, field, v string, required bool, maxLen int) {
	switch {
	case required && strings.TrimSpace(v) == "":
		f.Add(field, FieldRequired)
	case utf8.RuneCountInString(v) > maxLen:
		f.Add(field, FieldTooLong)
	case !utf8.ValidString(v) || strings.ContainsAny(v, "\x00"):
		f.Add(field, FieldInvalid)
	}
}

// checkDate accepts an ISO date between 1900 and 2200.
func checkDate(f FieldErrors, field, v string, required bool) {
	if v == "" {
		if required {
			f.Add(field, FieldRequired)
		}
		return
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		f.Add(field, FieldInvalidDate)
	}
}

func checkTime(f FieldErrors, field, v string) {
	if v == "" {
		return
	}
	if _, err := time.Parse("15:04", v); err != nil || len(v) != 5 {
		f.Add(field, FieldInvalidTime)
	}
}

func checkEmail(f FieldErrors, field, v string) {
	if v == "" {
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 254 {
		f.Add(field, FieldInvalid)
	}
}

func (c *Course) validate() error {
	f := FieldErrors{}
	checkText(f, "name", c.Name, true, 100)
	checkText(f, "subject", c.Subject, false, 100)
	if c.TeacherID == "" {
		f.Add("teacherId", FieldRequired)
	}
	return f.Err("course")
}

func (s *Student) validate() error {
	f := FieldErrors{}
	checkText(f, "firstName", s.FirstName, true, 100)
	checkText(f, "lastName", s.LastName, true, 100)
	checkDate(f, "birthDate", s.BirthDate, false)
	if s.BirthDate != "" && s.BirthDate > time.Now().Format(time.DateOnly) {
		f.Add("birthDate", FieldOutOfRange)
	}
	checkText(f, "class", s.Class, false, 30)
	checkEmail(f, "guardianEmail", s.GuardianEmail)
	return f.Err("student")
}

func (l *Lesson) validate() error {
	f := FieldErrors{}
	checkDate(f, "date", l.Date, true)
	checkTime(f, "startTime", l.StartTime)
	checkTime(f, "endTime", l.EndTime)
	if l.StartTime != "" && l.EndTime != "" && l.EndTime <= l.StartTime {
		f.Add("endTime", FieldOutOfRange)
	}
	checkText(f, "topic", l.Topic, false, 200)
	checkText(f, "homework", l.Homework, false, 4000)
	checkText(f, "note", l.Note, false, 4000)
	checkText(f, "parentNote", l.ParentNote, false, 4000)
	return f.Err("lesson")
}

func (m *AttendanceMark) validate() error {
	f := FieldErrors{}
	switch m.Status {
	case Present, Excused, Unexcused:
		if m.LateMinutes != 0 {
			f.Add("lateMinutes", FieldOutOfRange)
		}
	case Late:
		if m.LateMinutes < 1 || m.LateMinutes > MaxLateMinutes {
			f.Add("lateMinutes", FieldOutOfRange)
		}
	case "":
		f.Add("status", FieldRequired)
	default:
		f.Add("status", FieldUnknownValue)
	}
	checkText(f, "comment", m.Comment, false, 500)
	return f.Err("attendance mark")
}
