package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "modernc.org/sqlite"

	"pult/backend/auth"
	"pult/backend/server"
	"pult/store"
)

// password is every fixture account's password.
const password = "correct horse battery"

// indexHTML is the web UI the test servers serve.
const indexHTML = "<!doctype html><title>Pult</title>"

// A desktop app's Ed25519 public key (base64) and the SHA-256 of its hardware token (hex).
const (
	desktopKey   = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	desktopToken = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	// desktopSeed is the private half of desktopKey (RFC 8032's first test vector).
	desktopSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
)

// cheapHash keeps password hashing fast in tests; TestProductionHashCost holds the real cost to OWASP's minimum.
var cheapHash = auth.Params{MemoryKiB: 1024, Time: 1, Threads: 1}

// testServer is a real server over a real store file, reached over HTTP.
type testServer struct {
	srv    *server.Server
	db     *store.DB
	hasher *auth.Hasher
	url    string
	// file is a read-only connection to the store's SQLite file, for fingerprints.
	file *sql.DB
}

// MustServer opens a store in a fresh folder with a fresh master key and serves it; everything closes when the
// test ends. configure may change the server's configuration.
func MustServer(tb testing.TB, configure func(*server.Config)) *testServer {
	tb.Helper()
	ctx := context.Background()
	key, err := store.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "pult.db")
	db, err := store.Open(ctx, path, key)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	file, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { file.Close() })
	hasher, err := auth.NewHasher(cheapHash)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := server.Config{Version: "test", Hasher: hasher, UI: fstest.MapFS{"index.html": {Data: []byte(indexHTML)}}}
	if configure != nil {
		configure(&cfg)
	}
	srv := server.New(db, slog.New(slog.DiscardHandler), cfg)
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	return &testServer{srv: srv, db: db, hasher: hasher, url: ts.URL, file: file}
}

// fingerprintQueries read everything a request could change on purpose: the school data, the accounts and
// schools, and what decides who may log in where. The audit log is left out (refusals are audited), and so is a
// session's last use.
var fingerprintQueries = []string{
	`SELECT * FROM schools ORDER BY id`,
	`SELECT * FROM users ORDER BY id`,
	`SELECT * FROM records ORDER BY id`,
	`SELECT token_hash, user_id, device_id, created_at FROM sessions ORDER BY token_hash`,
	`SELECT * FROM devices ORDER BY id`,
	`SELECT * FROM user_devices ORDER BY user_id, device_id`,
	`SELECT * FROM learning_modes ORDER BY user_id`,
	`SELECT * FROM login_failures ORDER BY username_mac`,
	`SELECT * FROM ip_ranges ORDER BY school_id, user_id, cidr`,
	`SELECT * FROM recovery_codes ORDER BY user_id, code_mac`,
	`SELECT * FROM device_challenges ORDER BY challenge_hash`,
	`SELECT * FROM licenses ORDER BY id`,
	`SELECT * FROM device_wipes ORDER BY device_id`,
	`SELECT * FROM mail_outbox ORDER BY id`,
	`SELECT * FROM parents ORDER BY id`,
	`SELECT token_hash, parent_id, created_at FROM parent_sessions ORDER BY token_hash`,
	`SELECT * FROM parent_tokens ORDER BY token_hash`,
	`SELECT * FROM access_codes ORDER BY id`,
	`SELECT * FROM parent_children ORDER BY parent_id, student_id`,
	`SELECT * FROM parent_shares ORDER BY id`,
	`SELECT * FROM letter_templates ORDER BY id`,
	`SELECT * FROM parent_registrations ORDER BY parent_id, school_id`,
}

// fingerprint hashes the rows of the store's file, read from the file itself rather than through the store.
func (s *testServer) fingerprint(tb testing.TB) string {
	tb.Helper()
	h := sha256.New()
	for _, q := range fingerprintQueries {
		rows, err := s.file.Query(q)
		if err != nil {
			tb.Fatalf("fingerprint: %s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		fmt.Fprintf(h, "%s\x00", q)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatalf("fingerprint: %s: %v", q, err)
			}
			for _, v := range vals {
				fmt.Fprintf(h, "%#v\x00", v)
			}
			h.Write([]byte{'\n'})
		}
		if err := rows.Err(); err != nil {
			tb.Fatalf("fingerprint: %s: %v", q, err)
		}
		rows.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// client is one browser: its own cookie jar, so its own session and device credential.
type client struct {
	name string
	base string
	http *http.Client
}

func (s *testServer) client(name string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{name: name, base: s.url, http: &http.Client{Jar: jar}}
}

// cookie returns the value of a cookie the browser holds for the server, or "".
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// newRequest builds a request. body is nil (no body), a string (sent as it is) or a value sent as JSON; a
// request with a body says it is JSON.
func (c *client) newRequest(tb testing.TB, method, path string, body any) *http.Request {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	r, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// send sends a request and returns the answer, its body, and the error code of an error body. Every answer of a
// documented route is held against the OpenAPI document.
func (c *client) send(tb testing.TB, r *http.Request) (res *http.Response, code string, body []byte) {
	tb.Helper()
	res, err := c.http.Do(r)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	defer res.Body.Close()
	if body, err = io.ReadAll(res.Body); err != nil {
		tb.Fatalf("%s %s: read body: %v", r.Method, r.URL.Path, err)
	}
	if pattern := documentedPattern(mustContract(tb), r.Method, r.URL.Path); pattern != "" {
		checkContract(tb, pattern, res, body)
	}
	return res, errorOf(body).Code, body
}

// do sends one request as c and returns the status, the error code of an error answer, and the body.
func do(tb testing.TB, c *client, method, path string, body any) (status int, code string, raw []byte) {
	tb.Helper()
	res, code, raw := c.send(tb, c.newRequest(tb, method, path, body))
	return res.StatusCode, code, raw
}

// mustDo sends a request that has to succeed with want and returns the body.
func mustDo(tb testing.TB, c *client, method, path string, body any, want int) []byte {
	tb.Helper()
	status, _, raw := do(tb, c, method, path, body)
	if status != want {
		tb.Fatalf("%s %s %s: status %d, want %d: %s", c.name, method, path, status, want, raw)
	}
	return raw
}

// apiError is the error body of the API.
type apiError struct {
	Code         string            `json:"code"`
	Message      string            `json:"message"`
	Fields       map[string]string `json:"fields"`
	SecurityCode string            `json:"securityCode"`
	Preview      *store.ClassList  `json:"preview"`
}

func errorOf(body []byte) apiError {
	var e struct {
		Error apiError `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error
}

// decodeJSON reads a JSON answer into a value of type T.
func decodeJSON[T any](tb testing.TB, raw []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("decode %T: %v: %s", v, err, raw)
	}
	return v
}

// page is one page of a list answer.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

type idOnly struct {
	ID string `json:"id"`
}

// login logs a new browser in and fails the test unless that works.
func (s *testServer) login(tb testing.TB, name, username string) *client {
	tb.Helper()
	c := s.client(name)
	mustDo(tb, c, "POST", "/api/v1/session", map[string]string{"username": username, "password": password}, http.StatusOK)
	return c
}

// createAdmin creates a school's admin the way `backend admin create` does.
func (s *testServer) createAdmin(tb testing.TB, school, username string) string {
	tb.Helper()
	u, err := server.CreateAdmin(context.Background(), s.db, s.hasher, school, store.NewUser{Username: username, DisplayName: "Admin " + username}, password)
	if err != nil {
		tb.Fatal(err)
	}
	return u.ID
}

// harness is two schools on one server. School A: admin A, teachers T1 and T2, course 1 of T1 with students s1
// and s2 and lesson 1 (s1 marked present), course 2 of T2 with s3, and s4 in no course. T1 has a trusted
// device (device1) and a pending one (its security code). School B: admin B, who also teaches course B.
// A desktop app has registered its device. Admin B also operates the server: being an operator must show nothing
// of school A.
// Browsers: anonymous, T1, T2, admin A and admin B, each logged in.
type harness struct {
	*testServer
	anon, t1, t2, adminA, adminB *client
	// parent holds s1 of school A by its code and shares it with an address without an account ($share1);
	// otherParent holds sB of school B.
	parent, otherParent *client
	// ids maps the placeholders of paths and bodies ("$course1") to ids.
	ids map[string]string
}

func MustHarness(tb testing.TB) *harness {
	tb.Helper()
	h := &harness{testServer: MustServer(tb, nil), ids: map[string]string{}}
	h.ids["$adminA"] = h.createAdmin(tb, "Schule A", "admin.a")
	h.ids["$adminB"] = h.createAdmin(tb, "Schule B", "admin.b")
	if _, err := h.db.SetOperator(context.Background(), "admin.b", true); err != nil {
		tb.Fatal(err)
	}
	h.anon = h.client("anonymous")
	h.adminA = h.login(tb, "admin A", "admin.a")
	h.adminB = h.login(tb, "admin B", "admin.b")
	for _, t := range []struct{ key, username, name string }{{"$t1", "t.one", "Tara One"}, {"$t2", "t.two", "Theo Two"}} {
		raw := mustDo(tb, h.adminA, "POST", "/api/v1/users", map[string]string{"username": t.username, "displayName": t.name,
			"role": "teacher", "password": password}, http.StatusCreated)
		h.ids[t.key] = decodeJSON[idOnly](tb, raw).ID
	}
	h.t1 = h.login(tb, "T1", "t.one")
	h.t2 = h.login(tb, "T2", "t.two")
	create := func(c *client, key, path string, body map[string]string) {
		tb.Helper()
		h.ids[key] = decodeJSON[idOnly](tb, mustDo(tb, c, "POST", path, h.fillAll(body), http.StatusCreated)).ID
	}
	create(h.adminA, "$course1", "/api/v1/courses", map[string]string{"name": "Klavier 1", "subject": "Klavier", "teacherId": "$t1"})
	create(h.adminA, "$course2", "/api/v1/courses", map[string]string{"name": "Geige 2", "subject": "Geige", "teacherId": "$t2"})
	create(h.adminB, "$courseB", "/api/v1/courses", map[string]string{"name": "Cello B", "teacherId": "$adminB"})
	for i, n := range [][2]string{{"Anna", "Albrecht"}, {"Ben", "Bäcker"}, {"Clara", "Cordes"}, {"David", "Demir"}} {
		create(h.adminA, fmt.Sprintf("$s%d", i+1), "/api/v1/students", map[string]string{"firstName": n[0], "lastName": n[1]})
	}
	create(h.adminB, "$sB", "/api/v1/students", map[string]string{"firstName": "Berta", "lastName": "Born"})
	for _, e := range [][2]string{{"$course1", "$s1"}, {"$course1", "$s2"}, {"$course2", "$s3"}} {
		mustDo(tb, h.adminA, "PUT", h.fill("/api/v1/courses/"+e[0]+"/students/"+e[1]), nil, http.StatusNoContent)
	}
	mustDo(tb, h.adminB, "PUT", h.fill("/api/v1/courses/$courseB/students/$sB"), nil, http.StatusNoContent)
	create(h.t1, "$lesson1", h.fill("/api/v1/courses/$course1/lessons"), map[string]string{"date": "2026-03-02", "startTime": "08:00", "endTime": "08:45", "topic": "Tonleitern"})
	mustDo(tb, h.t1, "PUT", h.fill("/api/v1/lessons/$lesson1/attendance/$s1"), map[string]any{"status": "present"}, http.StatusOK)

	devices := decodeJSON[page[struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}]](tb, mustDo(tb, h.t1, "GET", "/api/v1/me/devices", nil, http.StatusOK))
	for _, d := range devices.Items {
		if d.Current {
			h.ids["$device1"] = d.ID
		}
	}
	if h.ids["$device1"] == "" {
		tb.Fatalf("T1's device list has no current device: %+v", devices)
	}
	// Without learning mode, a new browser of T1 waits for approval; then learning mode is back for nine devices,
	// so that T1 can log in from the other browsers of the tests.
	mustDo(tb, h.adminA, "DELETE", h.fill("/api/v1/users/$t1/learning-mode"), nil, http.StatusNoContent)
	status, code, raw := do(tb, h.client("T1 elsewhere"), "POST", "/api/v1/session", map[string]string{"username": "t.one", "password": password})
	if status != http.StatusForbidden || code != "device_pending" {
		tb.Fatalf("T1 on a new browser without learning mode: %d %s", status, raw)
	}
	h.ids["$code"] = errorOf(raw).SecurityCode
	desktop := mustDo(tb, h.anon, "POST", "/api/v1/devices/desktop", map[string]string{"publicKey": desktopKey, "tokenHash": desktopToken}, http.StatusCreated)
	h.ids["$desktop"] = decodeJSON[struct{ DeviceID string }](tb, desktop).DeviceID
	h.ids["$nextWeek"] = time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	mustDo(tb, h.adminA, "POST", "/api/v1/learning-mode", h.fillAll(map[string]any{"userIds": []string{"$t1"}, "until": "$nextWeek", "devices": 9}), http.StatusNoContent)
	h.addLicenses(tb)
	h.addParents(tb)
	return h
}

// addParents gives s1 (school A) and sB (school B) access codes, redeemed by the parent accounts $parent1 and
// $parent2, and s2 a code nobody redeemed yet ($accessCode2). $parent1 shares s1 with an address that has no
// account ($share1). There is a registration waiting for its confirmation link ($confirmToken), a reset link
// of $parent1 ($resetToken), and a letter template of school A ($template).
func (h *harness) addParents(tb testing.TB) {
	tb.Helper()
	code := func(c *client, student string) string {
		return decodeJSON[struct{ Code string }](tb, mustDo(tb, c, "POST", h.fill("/api/v1/students/"+student+"/access-code"), nil, http.StatusCreated)).Code
	}
	code1, codeB := code(h.adminA, "$s1"), code(h.adminB, "$sB")
	h.ids["$accessCode2"] = code(h.adminA, "$s2")
	h.ids["$parent1"] = h.createParent(tb, "p1@example.org")
	h.ids["$parent2"] = h.createParent(tb, "p2@example.org")
	h.parent = h.parentLogin(tb, "parent", "p1@example.org")
	h.otherParent = h.parentLogin(tb, "other parent", "p2@example.org")
	mustDo(tb, h.parent, "POST", "/api/v1/parent/children", map[string]string{"code": code1}, http.StatusCreated)
	mustDo(tb, h.otherParent, "POST", "/api/v1/parent/children", map[string]string{"code": codeB}, http.StatusCreated)
	h.ids["$share1"] = decodeJSON[idOnly](tb, mustDo(tb, h.parent, "POST", h.fill("/api/v1/parent/children/$s1/shares"),
		map[string]string{"email": "oma@example.org"}, http.StatusCreated)).ID
	ctx := context.Background()
	token, hash := auth.NewToken()
	pw, err := h.hasher.Hash(ctx, password)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := h.db.RegisterParent(ctx, "neu@example.org", pw, "de", hash, time.Now().Add(time.Hour), ""); err != nil {
		tb.Fatal(err)
	}
	h.ids["$confirmToken"] = token
	token, hash = auth.NewToken()
	if err := h.db.AddResetToken(ctx, h.ids["$parent1"], hash, time.Now().Add(time.Hour)); err != nil {
		tb.Fatal(err)
	}
	h.ids["$resetToken"] = token
	h.ids["$template"] = decodeJSON[idOnly](tb, mustDo(tb, h.adminA, "POST", "/api/v1/letter-templates",
		map[string]string{"name": "Zugangscode", "subject": "Zugang für {{name}}", "body": "Ihr Code: {{code}}"}, http.StatusCreated)).ID
}

// createParent makes a confirmed parent account the way registration and its link do.
func (s *testServer) createParent(tb testing.TB, email string) string {
	tb.Helper()
	ctx := context.Background()
	pw, err := s.hasher.Hash(ctx, password)
	if err != nil {
		tb.Fatal(err)
	}
	_, hash := auth.NewToken()
	if _, err := s.db.RegisterParent(ctx, email, pw, "de", hash, time.Now().Add(time.Hour), ""); err != nil {
		tb.Fatal(err)
	}
	p, err := s.db.ConfirmParent(ctx, hash)
	if err != nil {
		tb.Fatal(err)
	}
	return p.ID
}

// parentLogin logs a new browser in as a parent account.
func (s *testServer) parentLogin(tb testing.TB, name, email string) *client {
	tb.Helper()
	c := s.client(name)
	mustDo(tb, c, "POST", "/api/v1/parent/session", map[string]string{"email": email, "password": password}, http.StatusOK)
	return c
}

// addLicenses gives school A two licenses: $license1 is T1's, with a pending desktop enrolled by its code
// ($licenseCode) whose security code is $licenseSecurity; $license2 is held by nobody. The registered desktop
// ($desktop) has signed a fresh challenge for its status ($statusChallenge, $statusSig) and another for its wipe
// receipt ($wipedChallenge, $wipedSig).
func (h *harness) addLicenses(tb testing.TB) {
	tb.Helper()
	created := decodeJSON[struct {
		Licenses []struct{ ID, Code string }
	}](tb, mustDo(tb, h.adminA, "POST", "/api/v1/licenses", map[string]int{"count": 2}, http.StatusCreated))
	h.ids["$license1"], h.ids["$licenseCode"], h.ids["$license2"] = created.Licenses[0].ID, created.Licenses[0].Code, created.Licenses[1].ID
	mustDo(tb, h.adminA, "PUT", h.fill("/api/v1/licenses/$license1/holder"), h.fillAll(map[string]string{"teacherId": "$t1"}), http.StatusOK)
	pub, _, _ := ed25519.GenerateKey(nil)
	token := sha256.Sum256(pub)
	enrolled := mustDo(tb, h.anon, "POST", "/api/v1/devices/desktop/enroll", map[string]string{"licenseCode": h.ids["$licenseCode"],
		"publicKey": base64.StdEncoding.EncodeToString(pub), "tokenHash": hex.EncodeToString(token[:]), "name": "Laptop", "platform": "Windows 11", "osUser": "lehrer"},
		http.StatusCreated)
	h.ids["$licenseSecurity"] = decodeJSON[struct{ SecurityCode string }](tb, enrolled).SecurityCode
	seed, _ := hex.DecodeString(desktopSeed)
	priv := ed25519.NewKeyFromSeed(seed)
	for _, purpose := range []string{"status", "wiped"} {
		challenge, _, err := h.db.NewChallenge(context.Background(), h.ids["$desktop"])
		if err != nil {
			tb.Fatal(err)
		}
		h.ids["$"+purpose+"Challenge"] = challenge
		h.ids["$"+purpose+"Sig"] = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, store.DeviceMessage(purpose, challenge)))
	}
}

// fill replaces the placeholders of s with the harness's ids.
func (h *harness) fill(s string) string {
	pairs := make([]string, 0, 2*len(h.ids))
	for k, v := range h.ids {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// fillAll replaces placeholders anywhere in a JSON body.
func (h *harness) fillAll(body any) json.RawMessage {
	raw, _ := json.Marshal(body)
	return json.RawMessage(h.fill(string(raw)))
}
