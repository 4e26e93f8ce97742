package server_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// outcome is the answer one role expects: a status and, for an error, its code.
type outcome struct {
	status int
	code   string
}

var (
	ok        = outcome{http.StatusOK, ""}
	created   = outcome{http.StatusCreated, ""}
	noContent = outcome{http.StatusNoContent, ""}
	unauth    = outcome{http.StatusUnauthorized, "unauthenticated"}
	forbidden = outcome{http.StatusForbidden, "forbidden"}
	notFound  = outcome{http.StatusNotFound, "not_found"}
	setupDone = outcome{http.StatusConflict, "setup_done"}
	invalid   = outcome{http.StatusUnprocessableEntity, "validation_failed"}
)

// roles holds what each role gets. The target of a row always belongs to school A: T1's course, lesson, student,
// account or device. teacher is T1 (the teacher of the course, or the target user); other is T2, a teacher of the
// same school; admin is school A's admin; foreign is school B's admin.
type roles struct{ anon, foreign, other, teacher, admin outcome }

// everyone gets the same.
func everyone(o outcome) roles { return roles{o, o, o, o, o} }

// loggedIn is for routes every logged-in user may use on themselves.
func loggedIn(o outcome) roles { return roles{unauth, o, o, o, o} }

// matrixRow is one registered route, a request to it (path and body with the harness's placeholders) and what
// each role gets. pure marks routes whose success stores nothing.
type matrixRow struct {
	pattern string
	path    string
	body    string
	want    roles
	pure    bool
}

var routeMatrix = []matrixRow{
	{"GET /healthz", "/healthz", "", everyone(ok), true},
	{"GET /api/v1/env", "/api/v1/env", "", everyone(ok), true},
	{"GET /api/v1/openapi.json", "/api/v1/openapi.json", "", everyone(ok), true},
	{"POST /api/v1/setup", "/api/v1/setup", `{"token":"guess","schoolName":"Schule C","username":"c.admin","displayName":"C","password":"` + password + `"}`,
		everyone(setupDone), false},
	{"POST /api/v1/session", "/api/v1/session", `{"username":"t.one","password":"` + password + `"}`, everyone(ok), false},
	{"DELETE /api/v1/session", "/api/v1/session", "", everyone(noContent), false},
	{"POST /api/v1/me/password", "/api/v1/me/password", `{"currentPassword":"` + password + `","newPassword":"a brand new password"}`, loggedIn(noContent), false},

	{"GET /api/v1/users", "/api/v1/users", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/users", "/api/v1/users", `{"username":"n.new","displayName":"Nina New","role":"teacher","password":"` + password + `"}`,
		roles{unauth, created, forbidden, forbidden, created}, false},
	{"PATCH /api/v1/users/{id}", "/api/v1/users/$t1", `{"displayName":"Tara Renamed"}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"POST /api/v1/users/{id}/password", "/api/v1/users/$t1/password", `{"password":"a reset password"}`,
		roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"POST /api/v1/users/{id}/unlock", "/api/v1/users/$t1/unlock", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"GET /api/v1/users/{id}/devices", "/api/v1/users/$t1/devices", "", roles{unauth, notFound, forbidden, ok, ok}, true},
	{"POST /api/v1/users/{id}/devices/approve", "/api/v1/users/$t1/devices/approve", `{"code":"$code"}`,
		roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"PATCH /api/v1/users/{id}/devices/{deviceId}", "/api/v1/users/$t1/devices/$device1", `{"name":"Laptop"}`,
		roles{unauth, notFound, forbidden, ok, ok}, false},
	{"DELETE /api/v1/users/{id}/devices/{deviceId}", "/api/v1/users/$t1/devices/$device1", "", roles{unauth, notFound, forbidden, noContent, noContent}, false},
	{"DELETE /api/v1/users/{id}/learning-mode", "/api/v1/users/$t1/learning-mode", "", roles{unauth, notFound, forbidden, noContent, noContent}, false},
	{"GET /api/v1/users/{id}/ip-ranges", "/api/v1/users/$t1/ip-ranges", "", roles{unauth, notFound, forbidden, forbidden, ok}, true},
	{"PUT /api/v1/users/{id}/ip-ranges", "/api/v1/users/$t1/ip-ranges", `{"ranges":["127.0.0.1"]}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"GET /api/v1/devices", "/api/v1/devices", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"GET /api/v1/audit", "/api/v1/audit", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"GET /api/v1/audit.csv", "/api/v1/audit.csv", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"GET /api/v1/ip-ranges", "/api/v1/ip-ranges", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"PUT /api/v1/ip-ranges", "/api/v1/ip-ranges", `{"ranges":["127.0.0.0/8"]}`, roles{unauth, ok, forbidden, forbidden, ok}, false},
	{"POST /api/v1/learning-mode", "/api/v1/learning-mode", `{"userIds":["$t1"],"until":"$nextWeek","devices":2}`,
		roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"GET /api/v1/me/devices", "/api/v1/me/devices", "", loggedIn(ok), true},
	{"PATCH /api/v1/me/devices/{deviceId}", "/api/v1/me/devices/$device1", `{"name":"Laptop"}`, roles{unauth, notFound, notFound, ok, notFound}, false},
	{"DELETE /api/v1/me/devices/{deviceId}", "/api/v1/me/devices/$device1", "", roles{unauth, notFound, notFound, noContent, notFound}, false},
	{"GET /api/v1/me/learning-mode", "/api/v1/me/learning-mode", "", loggedIn(ok), true},
	{"DELETE /api/v1/me/learning-mode", "/api/v1/me/learning-mode", "", loggedIn(noContent), false},

	{"GET /api/v1/courses", "/api/v1/courses", "", loggedIn(ok), true},
	{"POST /api/v1/courses", "/api/v1/courses", `{"name":"Cello C","subject":"Cello","teacherId":"$t1"}`,
		roles{unauth, invalid, forbidden, forbidden, created}, false},
	{"GET /api/v1/courses/{id}", "/api/v1/courses/$course1", "", roles{unauth, notFound, notFound, ok, ok}, true},
	{"PATCH /api/v1/courses/{id}", "/api/v1/courses/$course1", `{"name":"Klavier Eins"}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"DELETE /api/v1/courses/{id}", "/api/v1/courses/$course1", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"GET /api/v1/courses/{id}/students", "/api/v1/courses/$course1/students", "", roles{unauth, notFound, notFound, ok, ok}, true},
	{"PUT /api/v1/courses/{id}/students/{studentId}", "/api/v1/courses/$course1/students/$s4", "",
		roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"DELETE /api/v1/courses/{id}/students/{studentId}", "/api/v1/courses/$course1/students/$s1", "",
		roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"GET /api/v1/courses/{id}/lessons", "/api/v1/courses/$course1/lessons", "", roles{unauth, notFound, notFound, ok, ok}, true},
	{"POST /api/v1/courses/{id}/lessons", "/api/v1/courses/$course1/lessons", `{"date":"2026-03-09","startTime":"08:00","endTime":"08:45","topic":"Etüde"}`,
		roles{unauth, notFound, notFound, created, created}, false},
	{"GET /api/v1/lessons/{id}", "/api/v1/lessons/$lesson1", "", roles{unauth, notFound, notFound, ok, ok}, true},
	{"PATCH /api/v1/lessons/{id}", "/api/v1/lessons/$lesson1", `{"topic":"Arpeggien"}`, roles{unauth, notFound, notFound, ok, ok}, false},
	{"DELETE /api/v1/lessons/{id}", "/api/v1/lessons/$lesson1", "", roles{unauth, notFound, notFound, noContent, noContent}, false},
	{"GET /api/v1/lessons/{id}/attendance", "/api/v1/lessons/$lesson1/attendance", "", roles{unauth, notFound, notFound, ok, ok}, true},
	{"PUT /api/v1/lessons/{id}/attendance/{studentId}", "/api/v1/lessons/$lesson1/attendance/$s1", `{"status":"late","lateMinutes":5,"comment":"Bus"}`,
		roles{unauth, notFound, notFound, ok, ok}, false},
	{"DELETE /api/v1/lessons/{id}/attendance/{studentId}", "/api/v1/lessons/$lesson1/attendance/$s1", "",
		roles{unauth, notFound, notFound, noContent, noContent}, false},
	{"POST /api/v1/lessons/{id}/attendance/all-present", "/api/v1/lessons/$lesson1/attendance/all-present", "",
		roles{unauth, notFound, notFound, ok, ok}, false},
	{"GET /api/v1/students", "/api/v1/students", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/students", "/api/v1/students", `{"firstName":"Nina","lastName":"Neu"}`, roles{unauth, created, forbidden, forbidden, created}, false},
	{"PATCH /api/v1/students/{id}", "/api/v1/students/$s1", `{"class":"6b"}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"DELETE /api/v1/students/{id}", "/api/v1/students/$s1", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"POST /api/v1/students/import/preview", "/api/v1/students/import/preview", `{"csv":"first_name,last_name\nNina,Neu\n"}`,
		roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/students/import", "/api/v1/students/import", `{"csv":"first_name,last_name\nNina,Neu\n","courseId":"$course1"}`,
		roles{unauth, notFound, forbidden, forbidden, ok}, false},
}

// asker is one role of the matrix: its browser in a harness, and what it must never see.
type asker struct {
	name   string
	want   func(roles) outcome
	client func(*harness) *client
	// secret are ids this role may not learn: a 2xx answer to a GET must not contain them.
	secret []string
}

var askers = []asker{
	{"anonymous", func(r roles) outcome { return r.anon }, func(h *harness) *client { return h.anon }, nil},
	{"admin of school B", func(r roles) outcome { return r.foreign }, func(h *harness) *client { return h.adminB },
		[]string{"$adminA", "$t1", "$t2", "$course1", "$course2", "$lesson1", "$s1", "$s2", "$s3", "$s4", "$device1"}},
	{"other teacher", func(r roles) outcome { return r.other }, func(h *harness) *client { return h.t2 },
		[]string{"$t1", "$course1", "$lesson1", "$s1", "$s2", "$device1"}},
	{"teacher of the course", func(r roles) outcome { return r.teacher }, func(h *harness) *client { return h.t1 }, nil},
	{"admin", func(r roles) outcome { return r.admin }, func(h *harness) *client { return h.adminA }, nil},
}

// TestRouteMatrix asks every route as every role. Refusals must have the right status and code and change
// nothing in the store's file; GETs never change anything and never show another teacher's or school's ids; a
// role whose request changed the store hands a fresh harness to the next role.
func TestRouteMatrix(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range routeMatrix {
		if rows[r.pattern] {
			t.Errorf("route %q has two rows", r.pattern)
		}
		rows[r.pattern] = true
	}
	registered := MustServer(t, nil).srv.Patterns()
	for _, p := range registered {
		if !rows[p] {
			t.Errorf("route %q has no row in the matrix", p)
		}
	}
	for p := range rows {
		if !slices.Contains(registered, p) {
			t.Errorf("matrix row %q is not a registered route", p)
		}
	}
	for _, row := range routeMatrix {
		method := strings.Fields(row.pattern)[0]
		t.Run(row.pattern, func(t *testing.T) {
			t.Parallel()
			var h *harness
			for _, who := range askers {
				if h == nil {
					h = MustHarness(t)
				}
				want := who.want(row.want)
				var body any
				if row.body != "" {
					body = h.fill(row.body)
				}
				before := h.fingerprint(t)
				status, code, raw := do(t, who.client(h), method, h.fill(row.path), body)
				changed := h.fingerprint(t) != before
				if status != want.status || code != want.code {
					t.Errorf("%s: got %d %q, want %d %q: %s", who.name, status, code, want.status, want.code, raw)
				}
				success := status >= 200 && status < 300
				switch {
				case changed && (!success || method == http.MethodGet):
					t.Errorf("%s: %d answer changed the store", who.name, status)
				case success && !changed && method != http.MethodGet && !row.pure && who.name != "anonymous":
					t.Errorf("%s: %d answer but nothing changed in the store", who.name, status)
				}
				if success && method == http.MethodGet {
					for _, id := range who.secret {
						if bytes.Contains(raw, []byte(h.ids[id])) {
							t.Errorf("%s: answer shows %s: %s", who.name, id, raw)
						}
					}
				}
				if changed {
					h = nil
				}
			}
		})
	}
}
