package server_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"pult/store"
)

type markAnswer struct {
	LessonID    string    `json:"lessonId"`
	StudentID   string    `json:"studentId"`
	Status      string    `json:"status"`
	LateMinutes int       `json:"lateMinutes"`
	Comment     string    `json:"comment"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// marksOf reads a lesson's attendance as placeholder of the student → status, with the minutes when late.
func marksOf(t *testing.T, h *harness, raw []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range decodeJSON[page[markAnswer]](t, raw).Items {
		s := m.Status
		if m.LateMinutes != 0 {
			s = fmt.Sprintf("%s %d", m.Status, m.LateMinutes)
		}
		for k, id := range h.ids {
			if id == m.StudentID {
				out[k] = s
			}
		}
	}
	return out
}

// TestAttendance: a teacher marks, re-marks and clears; all-present fills only the gaps; only enrolled
// students can be marked, and late needs 1–240 minutes.
func TestAttendance(t *testing.T) {
	h := MustHarness(t)
	attendance := func(t *testing.T) map[string]string {
		t.Helper()
		return marksOf(t, h, mustDo(t, h.t1, "GET", h.fill("/api/v1/lessons/$lesson1/attendance"), nil, http.StatusOK))
	}
	wantMarks := func(t *testing.T, want map[string]string) {
		t.Helper()
		if got := attendance(t); !maps.Equal(got, want) {
			t.Errorf("attendance = %v, want %v", got, want)
		}
	}
	markPath := h.fill("/api/v1/lessons/$lesson1/attendance/$s2")

	t.Run("Mark", func(t *testing.T) {
		raw := mustDo(t, h.t1, "PUT", markPath, map[string]any{"status": "present"}, http.StatusOK)
		m := decodeJSON[markAnswer](t, raw)
		if m.Status != "present" || m.StudentID != h.ids["$s2"] || m.LessonID != h.ids["$lesson1"] || time.Since(m.UpdatedAt) > time.Minute {
			t.Errorf("mark answer %+v", m)
		}
		wantMarks(t, map[string]string{"$s1": "present", "$s2": "present"})
	})
	t.Run("Remark", func(t *testing.T) {
		mustDo(t, h.t1, "PUT", markPath, map[string]any{"status": "late", "lateMinutes": 10, "comment": "Bus"}, http.StatusOK)
		wantMarks(t, map[string]string{"$s1": "present", "$s2": "late 10"})
	})
	t.Run("Clear", func(t *testing.T) {
		mustDo(t, h.t1, "DELETE", markPath, nil, http.StatusNoContent)
		wantMarks(t, map[string]string{"$s1": "present"})
	})
	t.Run("AllPresent", func(t *testing.T) {
		mustDo(t, h.t1, "PUT", h.fill("/api/v1/lessons/$lesson1/attendance/$s1"), map[string]any{"status": "excused"}, http.StatusOK)
		raw := mustDo(t, h.t1, "POST", h.fill("/api/v1/lessons/$lesson1/attendance/all-present"), nil, http.StatusOK)
		want := map[string]string{"$s1": "excused", "$s2": "present"}
		if got := marksOf(t, h, raw); !maps.Equal(got, want) {
			t.Errorf("all-present answers %v, want %v", got, want)
		}
		wantMarks(t, want)
	})
	t.Run("NotEnrolled", func(t *testing.T) {
		for _, student := range []string{"$s3", "$s4"} {
			before := h.fingerprint(t)
			status, code, raw := do(t, h.t1, "PUT", h.fill("/api/v1/lessons/$lesson1/attendance/"+student), map[string]any{"status": "present"})
			if status != http.StatusUnprocessableEntity || code != "validation_failed" || errorOf(raw).Fields["studentId"] != "not_enrolled" {
				t.Errorf("marking %s, who is not in the course: %d %s, want 422 not_enrolled", student, status, raw)
			}
			if h.fingerprint(t) != before {
				t.Errorf("marking %s changed the store", student)
			}
		}
	})
	t.Run("LateMinutes", func(t *testing.T) {
		for _, tc := range []struct {
			status  string
			minutes int
			field   string // "" when the mark is fine
			code    string
		}{
			{"late", 1, "", ""},
			{"late", 240, "", ""},
			{"late", 0, "lateMinutes", "out_of_range"},
			{"late", 241, "lateMinutes", "out_of_range"},
			{"late", -5, "lateMinutes", "out_of_range"},
			{"present", 5, "lateMinutes", "out_of_range"},
			{"", 0, "status", "required"},
			{"sick", 0, "status", "unknown_value"},
		} {
			before := h.fingerprint(t)
			status, _, raw := do(t, h.t1, "PUT", markPath, map[string]any{"status": tc.status, "lateMinutes": tc.minutes})
			switch {
			case tc.field == "" && status != http.StatusOK:
				t.Errorf("%s %d: %d %s, want 200", tc.status, tc.minutes, status, raw)
			case tc.field != "" && (status != http.StatusUnprocessableEntity || errorOf(raw).Fields[tc.field] != tc.code):
				t.Errorf("%s %d: %d %s, want 422 with %s: %s", tc.status, tc.minutes, status, raw, tc.field, tc.code)
			case tc.field != "" && h.fingerprint(t) != before:
				t.Errorf("%s %d: the refused mark changed the store", tc.status, tc.minutes)
			}
		}
	})
}

type studentAnswer struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	BirthDate string `json:"birthDate"`
	Class     string `json:"class"`
}

// TestClassListImport: the preview names a bad line; an import with it imports nothing; fixed, the list is
// imported and enrolled.
func TestClassListImport(t *testing.T) {
	h := MustHarness(t)
	const bad = "first_name;last_name;birth_date;class\n" +
		"Lena;Berg;2012-05-01;5a\n" +
		"Max;Kurz;31.02.2012;5a\n" +
		"Ola;Nord;01.09.2011;5b\n"
	const fixed = "first_name;last_name;birth_date;class\n" +
		"Lena;Berg;2012-05-01;5a\n" +
		"Max;Kurz;28.02.2012;5a\n" +
		"Ola;Nord;01.09.2011;5b\n"
	students := func(t *testing.T, path string) []studentAnswer {
		t.Helper()
		return decodeJSON[page[studentAnswer]](t, mustDo(t, h.adminA, "GET", h.fill(path), nil, http.StatusOK)).Items
	}
	checkPreview := func(t *testing.T, p store.ClassList) {
		t.Helper()
		if p.Valid != 2 || p.Invalid != 1 || len(p.Rows) != 3 || p.Error != "" {
			t.Fatalf("preview: %d valid, %d invalid, %d rows, error %q; want 2, 1, 3, none", p.Valid, p.Invalid, len(p.Rows), p.Error)
		}
		if r := p.Rows[1]; r.Line != 3 || r.FirstName != "Max" || r.Errors["birthDate"] != "invalid_date" || len(p.Rows[0].Errors)+len(p.Rows[2].Errors) > 0 {
			t.Errorf("rows %+v, want line 3 (Max) with an invalid birth date and no other errors", p.Rows)
		}
	}

	t.Run("Preview", func(t *testing.T) {
		before := h.fingerprint(t)
		checkPreview(t, decodeJSON[store.ClassList](t, mustDo(t, h.adminA, "POST", "/api/v1/students/import/preview", map[string]string{"csv": bad}, http.StatusOK)))
		if h.fingerprint(t) != before {
			t.Error("the preview changed the store")
		}
	})
	t.Run("BadLineImportsNothing", func(t *testing.T) {
		before := h.fingerprint(t)
		count := len(students(t, "/api/v1/students"))
		status, code, raw := do(t, h.adminA, "POST", "/api/v1/students/import", map[string]any{"csv": bad, "courseId": h.ids["$course1"]})
		if status != http.StatusUnprocessableEntity || code != "import_invalid_rows" {
			t.Fatalf("import with a bad line: %d %s, want 422 import_invalid_rows", status, raw)
		}
		if p := errorOf(raw).Preview; p == nil {
			t.Errorf("the refusal has no preview: %s", raw)
		} else {
			checkPreview(t, *p)
		}
		if got := len(students(t, "/api/v1/students")); got != count {
			t.Errorf("%d students after the refused import, want %d", got, count)
		}
		if h.fingerprint(t) != before {
			t.Error("the refused import changed the store")
		}
	})
	t.Run("Fixed", func(t *testing.T) {
		raw := mustDo(t, h.adminA, "POST", "/api/v1/students/import", map[string]any{"csv": fixed, "courseId": h.ids["$course1"]}, http.StatusOK)
		if got := decodeJSON[struct{ Imported, Skipped, Enrolled int }](t, raw); got.Imported != 3 || got.Skipped != 0 || got.Enrolled != 3 {
			t.Errorf("import answers %+v, want 3 imported, 0 skipped, 3 enrolled", got)
		}
		var names []string
		for _, s := range students(t, "/api/v1/courses/$course1/students") {
			names = append(names, s.FirstName+" "+s.LastName+" "+s.BirthDate+" "+s.Class)
		}
		for _, want := range []string{"Lena Berg 2012-05-01 5a", "Max Kurz 2012-02-28 5a", "Ola Nord 2011-09-01 5b", "Anna Albrecht  ", "Ben Bäcker  "} {
			if !slices.Contains(names, want) {
				t.Errorf("course 1 has %q, want %q among them", names, want)
			}
		}
	})
	t.Run("SkipInvalid", func(t *testing.T) {
		raw := mustDo(t, h.adminA, "POST", "/api/v1/students/import", map[string]any{"csv": bad, "skipInvalid": true}, http.StatusOK)
		if got := decodeJSON[struct{ Imported, Skipped, Enrolled int }](t, raw); got.Imported != 2 || got.Skipped != 1 || got.Enrolled != 0 {
			t.Errorf("import answers %+v, want 2 imported, 1 skipped, none enrolled", got)
		}
	})
}
