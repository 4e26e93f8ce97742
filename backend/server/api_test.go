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
	accepted  = outcome{http.StatusAccepted, ""}
)

// roles holds what each role gets. The target of a row always belongs to school A: T1's course, lesson, student,
// account or device. teacher is T1 (the teacher of the course, or the target user); other is T2, a teacher of the
// same school; admin is school A's admin; foreign is school B's admin, who is also the server's operator.
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
	{"POST /api/v1/devices/desktop", "/api/v1/devices/desktop", `{"publicKey":"` + desktopKey + `","tokenHash":"` + desktopToken + `"}`, everyone(created), false},
	{"POST /api/v1/devices/desktop/challenge", "/api/v1/devices/desktop/challenge", `{"deviceId":"$desktop"}`, everyone(ok), false},
	{"POST /api/v1/devices/desktop/enroll", "/api/v1/devices/desktop/enroll", `{"licenseCode":"$licenseCode","publicKey":"` + desktopKey + `","tokenHash":"` + desktopToken +
		`","name":"PC","platform":"Windows 11","osUser":"lehrer"}`, everyone(created), false},
	{"POST /api/v1/devices/desktop/status", "/api/v1/devices/desktop/status", `{"deviceId":"$desktop","challenge":"$statusChallenge","signature":"$statusSig","tokenHash":"` +
		desktopToken + `"}`, everyone(ok), false},
	{"POST /api/v1/devices/desktop/wiped", "/api/v1/devices/desktop/wiped", `{"deviceId":"$desktop","challenge":"$wipedChallenge","signature":"$wipedSig","tokenHash":"` +
		desktopToken + `"}`, everyone(noContent), false},
	{"GET /api/v1/licenses", "/api/v1/licenses", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/licenses", "/api/v1/licenses", `{"count":2}`, roles{unauth, created, forbidden, forbidden, created}, false},
	{"GET /api/v1/licenses/sheet", "/api/v1/licenses/sheet?ids=$license1,$license2", "", roles{unauth, notFound, forbidden, forbidden, ok}, true},
	{"PUT /api/v1/licenses/{id}/holder", "/api/v1/licenses/$license2/holder", `{"teacherId":"$t1"}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"DELETE /api/v1/licenses/{id}/holder", "/api/v1/licenses/$license1/holder", "", roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"DELETE /api/v1/licenses/{id}", "/api/v1/licenses/$license2", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"POST /api/v1/licenses/{id}/approve", "/api/v1/licenses/$license1/approve", `{"code":"$licenseSecurity"}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"POST /api/v1/licenses/{id}/block", "/api/v1/licenses/$license1/block", "", roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"GET /api/v1/device-policy", "/api/v1/device-policy", "", loggedIn(ok), true},
	{"PUT /api/v1/device-policy", "/api/v1/device-policy", `{"maxPinAttempts":7,"idleTimeoutMinutes":5,"offlineGraceDays":14,"wipeAfterDays":90}`, roles{unauth, ok, forbidden, forbidden, ok}, false},
	{"GET /api/v1/recovery-codes", "/api/v1/recovery-codes", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/recovery-codes", "/api/v1/recovery-codes", "", roles{unauth, created, forbidden, forbidden, created}, false},
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
	{"DELETE /api/v1/users/{id}/learning-mode", "/api/v1/users/$t1/learning-mode", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
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

	{"GET /api/v1/sync", "/api/v1/sync", "", loggedIn(outcome{http.StatusUpgradeRequired, "upgrade_required"}), true},
	{"GET /api/v1/changes", "/api/v1/changes", "", loggedIn(ok), true},
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

	{"GET /api/v1/access-codes", "/api/v1/access-codes", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/students/{id}/access-code", "/api/v1/students/$s1/access-code", "", roles{unauth, notFound, forbidden, forbidden, created}, false},
	{"DELETE /api/v1/students/{id}/access-code", "/api/v1/students/$s1/access-code", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"GET /api/v1/letter-templates", "/api/v1/letter-templates", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/letter-templates", "/api/v1/letter-templates", `{"name":"Brief","subject":"Zugang","body":"Code {{code}} für {{firstName}}"}`,
		roles{unauth, created, forbidden, forbidden, created}, false},
	{"PUT /api/v1/letter-templates/{id}", "/api/v1/letter-templates/$template", `{"name":"Brief 2","subject":"Zugang","body":"{{code}}"}`,
		roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"DELETE /api/v1/letter-templates/{id}", "/api/v1/letter-templates/$template", "", roles{unauth, notFound, forbidden, forbidden, noContent}, false},
	{"POST /api/v1/letter-templates/preview", "/api/v1/letter-templates/preview", `{"subject":"Zugang","body":"Code {{code}}"}`,
		roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"POST /api/v1/letters", "/api/v1/letters", `{"templateId":"$template","studentIds":["$s3"]}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"POST /api/v1/letters/mail", "/api/v1/letters/mail", `{"templateId":"$template","studentIds":["$s3"]}`, roles{unauth, notFound, forbidden, forbidden, ok}, false},
	{"GET /api/v1/parents", "/api/v1/parents", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"GET /api/v1/outbox", "/api/v1/outbox", "", roles{unauth, ok, forbidden, forbidden, ok}, true},
	{"GET /api/v1/server/outbox", "/api/v1/server/outbox", "", roles{unauth, ok, forbidden, forbidden, forbidden}, true},
	{"GET /api/v1/server/audit", "/api/v1/server/audit", "", roles{unauth, ok, forbidden, forbidden, forbidden}, true},

	{"POST /api/v1/parent/register", "/api/v1/parent/register", `{"email":"neu.2@example.org","password":"` + password + `","language":"en"}`, everyone(accepted), false},
	{"POST /api/v1/parent/confirm", "/api/v1/parent/confirm", `{"token":"$confirmToken"}`, everyone(noContent), false},
	{"POST /api/v1/parent/session", "/api/v1/parent/session", `{"email":"p1@example.org","password":"` + password + `"}`, everyone(ok), false},
	{"POST /api/v1/parent/password-reset", "/api/v1/parent/password-reset", `{"email":"p1@example.org"}`, everyone(accepted), false},
	{"POST /api/v1/parent/password-reset/confirm", "/api/v1/parent/password-reset/confirm", `{"token":"$resetToken","password":"a brand new password"}`,
		everyone(noContent), false},
	{"PATCH /api/v1/parent/account", "/api/v1/parent/account", `{"language":"en"}`, everyone(unauth), false},
	{"DELETE /api/v1/parent/account", "/api/v1/parent/account", `{"password":"` + password + `"}`, everyone(unauth), false},
	{"POST /api/v1/parent/password", "/api/v1/parent/password", `{"currentPassword":"` + password + `","newPassword":"a brand new password"}`, everyone(unauth), false},
	{"GET /api/v1/parent/children", "/api/v1/parent/children", "", everyone(unauth), true},
	{"POST /api/v1/parent/children", "/api/v1/parent/children", `{"code":"$accessCode2"}`, everyone(unauth), false},
	{"GET /api/v1/parent/children/{studentId}", "/api/v1/parent/children/$s1", "", everyone(unauth), true},
	{"DELETE /api/v1/parent/children/{studentId}", "/api/v1/parent/children/$s1", "", everyone(unauth), false},
	{"GET /api/v1/parent/children/{studentId}/shares", "/api/v1/parent/children/$s1/shares", "", everyone(unauth), true},
	{"POST /api/v1/parent/children/{studentId}/shares", "/api/v1/parent/children/$s1/shares", `{"email":"kind@example.org"}`, everyone(unauth), false},
	{"DELETE /api/v1/parent/children/{studentId}/shares/{shareId}", "/api/v1/parent/children/$s1/shares/$share1", "", everyone(unauth), false},
}

// parentOutcomes is what the two parent accounts get where it differs from an anonymous browser: the parent of
// s1 (school A) and the parent of sB (school B). On every other route a parent is as anonymous as anyone.
var parentOutcomes = map[string][2]outcome{
	"PATCH /api/v1/parent/account":                                {ok, ok},
	"DELETE /api/v1/parent/account":                               {noContent, noContent},
	"POST /api/v1/parent/password":                                {noContent, noContent},
	"GET /api/v1/parent/children":                                 {ok, ok},
	"POST /api/v1/parent/children":                                {created, created},
	"GET /api/v1/parent/children/{studentId}":                     {ok, notFound},
	"DELETE /api/v1/parent/children/{studentId}":                  {noContent, notFound},
	"GET /api/v1/parent/children/{studentId}/shares":              {ok, notFound},
	"POST /api/v1/parent/children/{studentId}/shares":             {created, notFound},
	"DELETE /api/v1/parent/children/{studentId}/shares/{shareId}": {noContent, notFound},
}

// parentWant is an asker's want for a parent account: parentOutcomes, else what an anonymous browser gets.
func parentWant(i int) func(matrixRow) outcome {
	return func(row matrixRow) outcome {
		if o, ok := parentOutcomes[row.pattern]; ok {
			return o[i]
		}
		return row.want.anon
	}
}

// asker is one role of the matrix: its browser in a harness, and what it must never see.
type asker struct {
	name     string
	loggedIn bool
	want     func(matrixRow) outcome
	client   func(*harness) *client
	// secret are ids this role may not learn: a 2xx answer to a GET must not contain them.
	secret []string
}

var askers = []asker{
	{"anonymous", false, func(r matrixRow) outcome { return r.want.anon }, func(h *harness) *client { return h.anon }, nil},
	{"admin of school B", true, func(r matrixRow) outcome { return r.want.foreign }, func(h *harness) *client { return h.adminB },
		[]string{"$adminA", "$t1", "$t2", "$course1", "$course2", "$lesson1", "$s1", "$s2", "$s3", "$s4", "$device1", "$license1", "$license2", "$licenseCode",
			"$parent1", "$accessCode2", "$template"}},
	{"other teacher", true, func(r matrixRow) outcome { return r.want.other }, func(h *harness) *client { return h.t2 },
		[]string{"$t1", "$course1", "$lesson1", "$s1", "$s2", "$device1", "$parent1", "$accessCode2"}},
	{"teacher of the course", true, func(r matrixRow) outcome { return r.want.teacher }, func(h *harness) *client { return h.t1 }, []string{"$parent1", "$accessCode2"}},
	{"admin", true, func(r matrixRow) outcome { return r.want.admin }, func(h *harness) *client { return h.adminA }, nil},
	// A parent sees its own child's courses and lessons and nothing else of any school.
	{"parent", true, parentWant(0), func(h *harness) *client { return h.parent },
		[]string{"$adminA", "$adminB", "$t1", "$t2", "$course2", "$courseB", "$s2", "$s3", "$s4", "$sB", "$device1", "$license1", "$license2",
			"$licenseCode", "$parent2", "$accessCode2", "$template"}},
	{"parent at school B", true, parentWant(1), func(h *harness) *client { return h.otherParent },
		[]string{"$adminA", "$t1", "$t2", "$course1", "$course2", "$lesson1", "$s1", "$s2", "$s3", "$s4", "$device1", "$license1", "$license2",
			"$licenseCode", "$parent1", "$accessCode2", "$template", "$share1"}},
}

// TestRouteMatrix asks every route as every role. Refusals must have the right status and code and change
// nothing in the store's file; GETs never change anything and never show another teacher's or school's ids;
// every answer is as the OpenAPI document says. A role whose request changed the store hands a fresh harness
// to the next role.
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
		t.Run(row.pattern, func(t *testing.T) {
			t.Parallel()
			var h *harness
			for _, who := range askers {
				if h == nil {
					h = MustHarness(t)
				}
				t.Run(who.name, func(t *testing.T) {
					if ask(t, h, row, who) {
						h = nil
					}
				})
			}
		})
	}
}

// ask sends a row's request as one role, checks the answer, and reports whether the store changed.
func ask(t *testing.T, h *harness, row matrixRow, who asker) (changed bool) {
	method := strings.Fields(row.pattern)[0]
	want := who.want(row)
	var body any
	if row.body != "" {
		body = h.fill(row.body)
	}
	before := h.fingerprint(t)
	c := who.client(h)
	res, code, raw := c.send(t, c.newRequest(t, method, h.fill(row.path), body))
	changed = h.fingerprint(t) != before
	if res.StatusCode != want.status || code != want.code {
		t.Errorf("got %d %q, want %d %q: %.300s", res.StatusCode, code, want.status, want.code, raw)
	}
	success := res.StatusCode >= 200 && res.StatusCode < 300
	switch {
	case changed && (!success || method == http.MethodGet):
		t.Errorf("the %d answer to %s changed the store", res.StatusCode, method)
	case success && !changed && method != http.MethodGet && !row.pure && who.loggedIn:
		t.Errorf("%d answer, but nothing changed in the store", res.StatusCode)
	}
	if success && method == http.MethodGet {
		for _, id := range who.secret {
			if bytes.Contains(raw, []byte(h.ids[id])) {
				t.Errorf("the answer shows %s: %.300s", id, raw)
			}
		}
	}
	return changed
}

// bodyRoute is a route that reads a JSON body, who may send it, a string field of its body, a field with a
// value of the wrong type, and its body limit.
type bodyRoute struct {
	pattern    string
	client     func(*harness) *client
	path       string
	text       string
	wrong      string
	wrongValue string
	limit      int
}

const (
	defaultLimit = 64 << 10
	importLimit  = 4 << 20
)

func anonOf(h *harness) *client   { return h.anon }
func t1Of(h *harness) *client     { return h.t1 }
func adminAOf(h *harness) *client { return h.adminA }
func parentOf(h *harness) *client { return h.parent }

var bodyRoutes = []bodyRoute{
	{"POST /api/v1/setup", anonOf, "/api/v1/setup", "schoolName", "password", `12345678901`, defaultLimit},
	{"POST /api/v1/session", anonOf, "/api/v1/session", "username", "device", `"a desktop"`, defaultLimit},
	{"POST /api/v1/devices/desktop", anonOf, "/api/v1/devices/desktop", "publicKey", "tokenHash", `1`, defaultLimit},
	{"POST /api/v1/devices/desktop/challenge", anonOf, "/api/v1/devices/desktop/challenge", "deviceId", "deviceId", `1`, defaultLimit},
	{"POST /api/v1/devices/desktop/enroll", anonOf, "/api/v1/devices/desktop/enroll", "licenseCode", "publicKey", `1`, defaultLimit},
	{"POST /api/v1/devices/desktop/status", anonOf, "/api/v1/devices/desktop/status", "challenge", "deviceId", `1`, defaultLimit},
	{"POST /api/v1/devices/desktop/wiped", anonOf, "/api/v1/devices/desktop/wiped", "challenge", "signature", `[]`, defaultLimit},
	{"POST /api/v1/licenses", adminAOf, "/api/v1/licenses", "count", "count", `"two"`, defaultLimit},
	{"PUT /api/v1/licenses/{id}/holder", adminAOf, "/api/v1/licenses/$license2/holder", "location", "teacherId", `1`, defaultLimit},
	{"POST /api/v1/licenses/{id}/approve", adminAOf, "/api/v1/licenses/$license1/approve", "code", "code", `123456789`, defaultLimit},
	{"PUT /api/v1/device-policy", adminAOf, "/api/v1/device-policy", "maxPinAttempts", "idleTimeoutMinutes", `"ten"`, defaultLimit},
	{"POST /api/v1/me/password", t1Of, "/api/v1/me/password", "newPassword", "currentPassword", `1`, defaultLimit},
	{"POST /api/v1/users", adminAOf, "/api/v1/users", "displayName", "role", `1`, defaultLimit},
	{"PATCH /api/v1/users/{id}", adminAOf, "/api/v1/users/$t1", "displayName", "active", `"yes"`, defaultLimit},
	{"POST /api/v1/users/{id}/password", adminAOf, "/api/v1/users/$t1/password", "password", "password", `["a"]`, defaultLimit},
	{"POST /api/v1/users/{id}/devices/approve", adminAOf, "/api/v1/users/$t1/devices/approve", "code", "code", `123456789`, defaultLimit},
	{"PATCH /api/v1/users/{id}/devices/{deviceId}", adminAOf, "/api/v1/users/$t1/devices/$device1", "name", "state", `1`, defaultLimit},
	{"PUT /api/v1/users/{id}/ip-ranges", adminAOf, "/api/v1/users/$t1/ip-ranges", "ranges", "ranges", `"10.0.0.0/8"`, defaultLimit},
	{"PUT /api/v1/ip-ranges", adminAOf, "/api/v1/ip-ranges", "ranges", "ranges", `{"a":1}`, defaultLimit},
	{"POST /api/v1/learning-mode", adminAOf, "/api/v1/learning-mode", "until", "devices", `"two"`, defaultLimit},
	{"PATCH /api/v1/me/devices/{deviceId}", t1Of, "/api/v1/me/devices/$device1", "name", "name", `true`, defaultLimit},
	{"POST /api/v1/courses", adminAOf, "/api/v1/courses", "name", "teacherId", `1`, defaultLimit},
	{"PATCH /api/v1/courses/{id}", adminAOf, "/api/v1/courses/$course1", "subject", "name", `[]`, defaultLimit},
	{"POST /api/v1/courses/{id}/lessons", t1Of, "/api/v1/courses/$course1/lessons", "topic", "date", `20260309`, defaultLimit},
	{"PATCH /api/v1/lessons/{id}", t1Of, "/api/v1/lessons/$lesson1", "homework", "startTime", `800`, defaultLimit},
	{"PUT /api/v1/lessons/{id}/attendance/{studentId}", t1Of, "/api/v1/lessons/$lesson1/attendance/$s1", "comment", "lateMinutes", `"five"`, defaultLimit},
	{"POST /api/v1/students", adminAOf, "/api/v1/students", "firstName", "birthDate", `2010`, defaultLimit},
	{"PATCH /api/v1/students/{id}", adminAOf, "/api/v1/students/$s1", "class", "class", `7`, defaultLimit},
	{"POST /api/v1/students/import/preview", adminAOf, "/api/v1/students/import/preview", "csv", "csv", `1`, importLimit},
	{"POST /api/v1/students/import", adminAOf, "/api/v1/students/import", "csv", "skipInvalid", `"yes"`, importLimit},
	{"POST /api/v1/letter-templates", adminAOf, "/api/v1/letter-templates", "body", "name", `1`, defaultLimit},
	{"PUT /api/v1/letter-templates/{id}", adminAOf, "/api/v1/letter-templates/$template", "body", "subject", `[]`, defaultLimit},
	{"POST /api/v1/letter-templates/preview", adminAOf, "/api/v1/letter-templates/preview", "body", "body", `1`, defaultLimit},
	{"POST /api/v1/letters", adminAOf, "/api/v1/letters", "templateId", "studentIds", `"$s1"`, defaultLimit},
	{"POST /api/v1/letters/mail", adminAOf, "/api/v1/letters/mail", "courseId", "studentIds", `1`, defaultLimit},
	{"POST /api/v1/parent/register", anonOf, "/api/v1/parent/register", "email", "password", `1`, defaultLimit},
	{"POST /api/v1/parent/confirm", anonOf, "/api/v1/parent/confirm", "token", "token", `1`, defaultLimit},
	{"POST /api/v1/parent/session", anonOf, "/api/v1/parent/session", "email", "password", `true`, defaultLimit},
	{"POST /api/v1/parent/password-reset", anonOf, "/api/v1/parent/password-reset", "email", "email", `[]`, defaultLimit},
	{"POST /api/v1/parent/password-reset/confirm", anonOf, "/api/v1/parent/password-reset/confirm", "password", "endSessions", `"yes"`, defaultLimit},
	{"PATCH /api/v1/parent/account", parentOf, "/api/v1/parent/account", "language", "language", `1`, defaultLimit},
	{"DELETE /api/v1/parent/account", parentOf, "/api/v1/parent/account", "password", "password", `[]`, defaultLimit},
	{"POST /api/v1/parent/password", parentOf, "/api/v1/parent/password", "currentPassword", "newPassword", `1`, defaultLimit},
	{"POST /api/v1/parent/children", parentOf, "/api/v1/parent/children", "code", "code", `123`, defaultLimit},
	{"POST /api/v1/parent/children/{studentId}/shares", parentOf, "/api/v1/parent/children/$s1/shares", "email", "email", `{}`, defaultLimit},
}

// bodiless are the writes that read no body.
var bodiless = []string{
	"PUT /api/v1/courses/{id}/students/{studentId}",
	"POST /api/v1/lessons/{id}/attendance/all-present",
	"POST /api/v1/users/{id}/unlock",
	"POST /api/v1/recovery-codes",
	"POST /api/v1/students/{id}/access-code",
	"POST /api/v1/licenses/{id}/block",
}

// TestMalformedBodies sends every route that reads a body broken bodies; each is refused with its code and
// changes nothing.
func TestMalformedBodies(t *testing.T) {
	h := MustHarness(t)
	covered := map[string]bool{}
	for _, r := range bodyRoutes {
		covered[r.pattern] = true
	}
	for _, p := range h.srv.Patterns() {
		if m := strings.Fields(p)[0]; m != http.MethodGet && m != http.MethodDelete && !covered[p] && !slices.Contains(bodiless, p) {
			t.Errorf("write route %q has no malformed-body cases", p)
		}
	}
	type attempt struct {
		name        string
		body        string
		contentType string
		want        outcome
		field       string // a field the error must name
	}
	for _, r := range bodyRoutes {
		method := strings.Fields(r.pattern)[0]
		attempts := []attempt{
			{"MalformedJSON", `{"` + r.text + `":`, "application/json", outcome{400, "invalid_json"}, ""},
			{"EmptyBody", ``, "application/json", outcome{400, "invalid_json"}, ""},
			{"NotAnObject", `["` + r.text + `"]`, "application/json", outcome{400, "invalid_json"}, ""},
			{"UnknownField", `{"isAdmin":true}`, "application/json", outcome{400, "unknown_field"}, "isAdmin"},
			{"WrongType", `{"` + r.wrong + `":` + r.wrongValue + `}`, "application/json", invalid, r.wrong},
			{"TooLarge", `{"` + r.text + `":"` + strings.Repeat("a", r.limit) + `"}`, "application/json", outcome{413, "body_too_large"}, ""},
			{"NoContentType", `{}`, "", outcome{415, "unsupported_media_type"}, ""},
			{"TextContentType", `{}`, "text/plain", outcome{415, "unsupported_media_type"}, ""},
			{"TrailingGarbage", `{} true`, "application/json", outcome{400, "invalid_json"}, ""},
			{"TwoValues", `{}{}`, "application/json", outcome{400, "invalid_json"}, ""},
		}
		for _, a := range attempts {
			t.Run(r.pattern+"/"+a.name, func(t *testing.T) {
				c := r.client(h)
				req := c.newRequest(t, method, h.fill(r.path), a.body)
				req.Header.Set("Content-Type", a.contentType)
				before := h.fingerprint(t)
				res, code, raw := c.send(t, req)
				if res.StatusCode != a.want.status || code != a.want.code {
					t.Errorf("got %d %q, want %d %q: %.300s", res.StatusCode, code, a.want.status, a.want.code, raw)
				}
				if got := errorOf(raw).Fields; a.field != "" && got[a.field] == "" {
					t.Errorf("fields = %v, want an entry for %q", got, a.field)
				}
				if h.fingerprint(t) != before {
					t.Error("the refused request changed the store")
				}
			})
		}
	}
}

// TestImportBodyLimit shows the class list routes take bodies far over the default limit.
func TestImportBodyLimit(t *testing.T) {
	h := MustHarness(t)
	const rows = 4900
	csv := "first_name,last_name\n" + strings.Repeat("Annabella-Marie,Albrechtsberger\n", rows)
	if len(csv) < 2*defaultLimit {
		t.Fatalf("the list has %d bytes, want over %d", len(csv), 2*defaultLimit)
	}
	raw := mustDo(t, h.adminA, "POST", "/api/v1/students/import/preview", map[string]string{"csv": csv}, http.StatusOK)
	if got := decodeJSON[struct{ Valid int }](t, raw).Valid; got != rows {
		t.Errorf("preview of a %d KiB list: %d valid rows, want %d", len(csv)>>10, got, rows)
	}
}

// TestCrossSiteWrites: a page on another site cannot make a logged-in browser change anything.
func TestCrossSiteWrites(t *testing.T) {
	h := MustHarness(t)
	for _, tc := range []struct {
		name   string
		client *client
		method string
		path   string
		body   any
		header map[string]string
		want   outcome
	}{
		{"CrossSiteCreate", h.adminA, "POST", "/api/v1/courses", map[string]string{"name": "Fremd", "teacherId": h.ids["$t1"]},
			map[string]string{"Sec-Fetch-Site": "cross-site"}, outcome{403, "cross_origin"}},
		{"SameSiteCreate", h.adminA, "POST", "/api/v1/courses", map[string]string{"name": "Fremd", "teacherId": h.ids["$t1"]},
			map[string]string{"Sec-Fetch-Site": "same-site"}, outcome{403, "cross_origin"}},
		{"ForeignOrigin", h.adminA, "PATCH", "/api/v1/users/" + h.ids["$t1"], map[string]string{"displayName": "Fremd"},
			map[string]string{"Origin": "https://evil.example"}, outcome{403, "cross_origin"}},
		{"CrossSiteMark", h.t1, "PUT", h.fill("/api/v1/lessons/$lesson1/attendance/$s1"), map[string]string{"status": "unexcused"},
			map[string]string{"Sec-Fetch-Site": "cross-site"}, outcome{403, "cross_origin"}},
		{"CrossSiteDelete", h.adminA, "DELETE", h.fill("/api/v1/students/$s1"), nil,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, outcome{403, "cross_origin"}},
		{"CrossSiteLogin", h.anon, "POST", "/api/v1/session", map[string]string{"username": "t.one", "password": password},
			map[string]string{"Sec-Fetch-Site": "cross-site"}, outcome{403, "cross_origin"}},
		{"CrossSiteLogout", h.t1, "DELETE", "/api/v1/session", nil,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, outcome{403, "cross_origin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.client.newRequest(t, tc.method, tc.path, tc.body)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			before := h.fingerprint(t)
			res, code, raw := tc.client.send(t, req)
			if res.StatusCode != tc.want.status || code != tc.want.code {
				t.Errorf("got %d %q, want %d %q: %s", res.StatusCode, code, tc.want.status, tc.want.code, raw)
			}
			if h.fingerprint(t) != before {
				t.Error("the cross-site request changed the store")
			}
		})
	}
	t.Run("SameOriginStillWorks", func(t *testing.T) {
		req := h.adminA.newRequest(t, "POST", "/api/v1/courses", map[string]string{"name": "Eigen", "teacherId": h.ids["$t1"]})
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", h.url)
		if res, _, raw := h.adminA.send(t, req); res.StatusCode != http.StatusCreated {
			t.Errorf("same-origin create: %d %s", res.StatusCode, raw)
		}
		mustDo(t, h.t1, "GET", "/api/v1/courses", nil, http.StatusOK) // the refused logout left T1 logged in
	})
}

// TestSecurityHeaders checks the headers of the web UI and of API answers.
func TestSecurityHeaders(t *testing.T) {
	s := MustServer(t, nil)
	for _, path := range []string{"/", "/api/v1/env"} {
		t.Run(path, func(t *testing.T) {
			res, _, raw := s.client("browser").send(t, s.client("browser").newRequest(t, "GET", path, nil))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q does not forbid framing", csp)
			}
			for _, unsafe := range []string{"'unsafe-inline'", "'unsafe-eval'", "*"} {
				if strings.Contains(csp, unsafe) {
					t.Errorf("CSP %q allows %s", csp, unsafe)
				}
			}
			if !strings.Contains(csp, "script-src 'self'") && !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("CSP %q does not limit scripts to the site", csp)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if path == "/" && string(raw) != indexHTML {
				t.Errorf("GET / = %q, want the UI's index.html", raw)
			}
		})
	}
}

// TestPagination walks a list page by page and refuses a bad limit or cursor.
func TestPagination(t *testing.T) {
	h := MustHarness(t)
	all := decodeJSON[page[idOnly]](t, mustDo(t, h.adminA, "GET", "/api/v1/students", nil, http.StatusOK))
	if len(all.Items) != 4 || all.NextCursor != "" {
		t.Fatalf("one page of all students: %d items, next %q; want 4 and no next page", len(all.Items), all.NextCursor)
	}
	var walked []idOnly
	path := "/api/v1/students?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > 2 {
			t.Fatal("the pages do not end")
		}
		p := decodeJSON[page[idOnly]](t, mustDo(t, h.adminA, "GET", path, nil, http.StatusOK))
		walked = append(walked, p.Items...)
		path = ""
		if p.NextCursor != "" {
			path = "/api/v1/students?limit=3&cursor=" + p.NextCursor
		}
	}
	if !slices.Equal(walked, all.Items) {
		t.Errorf("pages of 3 give %v, want %v", walked, all.Items)
	}
	for _, tc := range []struct{ query, field, code string }{
		{"limit=0", "limit", "out_of_range"},
		{"limit=1001", "limit", "out_of_range"},
		{"limit=ten", "limit", "out_of_range"},
		{"cursor=not-a-cursor", "cursor", "invalid"},
	} {
		status, code, raw := do(t, h.adminA, "GET", "/api/v1/students?"+tc.query, nil)
		if status != http.StatusUnprocessableEntity || code != "validation_failed" || errorOf(raw).Fields[tc.field] != tc.code {
			t.Errorf("?%s: %d %s, want 422 with %s: %s", tc.query, status, raw, tc.field, tc.code)
		}
	}
}
