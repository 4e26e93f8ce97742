package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
	"pult/backend/auth"
	"pult/backend/server"
	"pult/store"
)

// trustWorld is a running server over a real store with a controllable clock, and one school's admin.
type trustWorld struct {
	t      *testing.T
	db     *store.DB
	dbPath string
	server *server.Server
	hasher *auth.Hasher
	rawDB  *sql.DB
	srv    *httptest.Server
	now    time.Time
	admin  *browser
}

// browser is one browser profile: its own cookie jar, so its own device credential.
type browser struct {
	w      *trustWorld
	client *http.Client
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) code() string {
	var e struct {
		Error struct {
			Code         string `json:"code"`
			SecurityCode string `json:"securityCode"`
		} `json:"error"`
	}
	json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func (a answer) securityCode() string {
	var e struct {
		Error struct {
			SecurityCode string `json:"securityCode"`
		} `json:"error"`
	}
	json.Unmarshal(a.body, &e)
	return e.Error.SecurityCode
}

func newTrustWorld(t *testing.T, configure ...func(*server.Config)) *trustWorld {
	t.Helper()
	ctx := context.Background()
	key, _ := store.NewKey()
	path := filepath.Join(t.TempDir(), "pult.db")
	db, err := store.Open(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &trustWorld{t: t, db: db, dbPath: path, now: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
	db.SetClock(func() time.Time { return w.now })
	hasher, err := auth.NewHasher(auth.Params{MemoryKiB: 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.CreateAdmin(ctx, db, hasher, "Schule am See", store.NewUser{Username: "admin", DisplayName: "Ada Admin"}, "admin-password"); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Hasher: hasher}
	for _, c := range configure {
		c(&cfg)
	}
	srv := server.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	w.server, w.hasher = srv, hasher
	w.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(w.srv.Close)
	w.admin = w.browser()
	w.admin.mustLogin("admin", "admin-password")
	return w
}

// raw opens the store's file directly, to see what a request did to it.
func (w *trustWorld) raw() *sql.DB {
	if w.rawDB == nil {
		raw, err := sql.Open("sqlite", w.dbPath+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
		if err != nil {
			w.t.Fatal(err)
		}
		w.t.Cleanup(func() { raw.Close() })
		w.rawDB = raw
	}
	return w.rawDB
}

func (w *trustWorld) patterns() []string { return w.server.Patterns() }

// createAdminIn adds a school with an admin whose password is "admin-password".
func createAdminIn(w *trustWorld, school, username string) error {
	_, err := server.CreateAdmin(context.Background(), w.db, w.hasher, school, store.NewUser{Username: username, DisplayName: username}, "admin-password")
	return err
}

func (w *trustWorld) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{w: w, client: &http.Client{Jar: jar}}
}

func (b *browser) do(method, path string, body any) answer {
	return b.doWith(method, path, body, nil)
}

func (b *browser) doWith(method, path string, body any, header http.Header) answer {
	b.w.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, b.w.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: raw, header: res.Header}
}

func (b *browser) login(username, password string) answer {
	return b.do("POST", "/api/v1/session", map[string]string{"username": username, "password": password})
}

func (b *browser) mustLogin(username, password string) {
	b.w.t.Helper()
	if a := b.login(username, password); a.status != http.StatusOK {
		b.w.t.Fatalf("login %s: %d %s", username, a.status, a.body)
	}
}

func (b *browser) deviceCookie() *http.Cookie {
	u, _ := url.Parse(b.w.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "pult_device" {
			return c
		}
	}
	return nil
}

func (w *trustWorld) createTeacher(username string) string {
	w.t.Helper()
	a := w.admin.do("POST", "/api/v1/users", map[string]string{"username": username, "displayName": "T " + username, "role": "teacher", "password": "teacher-password"})
	if a.status != http.StatusCreated {
		w.t.Fatalf("create teacher: %d %s", a.status, a.body)
	}
	var u struct{ ID string }
	json.Unmarshal(a.body, &u)
	return u.ID
}

// userID finds a user's id in the admin's list.
func (w *trustWorld) userID(username string) string {
	w.t.Helper()
	var list struct {
		Items []struct{ ID, Username string }
	}
	json.Unmarshal(w.admin.do("GET", "/api/v1/users", nil).body, &list)
	for _, u := range list.Items {
		if u.Username == username {
			return u.ID
		}
	}
	w.t.Fatalf("no user %s", username)
	return ""
}

// status is the admin's status column for a user.
func (w *trustWorld) status(userID string) (lastFailure string, trusted int) {
	w.t.Helper()
	var list struct {
		Items []struct {
			ID             string
			LastFailure    string
			TrustedDevices int
		}
	}
	json.Unmarshal(w.admin.do("GET", "/api/v1/users", nil).body, &list)
	for _, u := range list.Items {
		if u.ID == userID {
			return u.LastFailure, u.TrustedDevices
		}
	}
	w.t.Fatalf("user %s not in the list", userID)
	return "", 0
}

func TestTrustedDevices(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")

	first := w.browser()
	first.mustLogin("K.Lehrer", "teacher-password") // new users learn devices; usernames ignore case
	if failure, trusted := w.status(teacher); failure != "" || trusted != 1 {
		t.Fatalf("after the first login: status %q, %d trusted devices; want OK and 1", failure, trusted)
	}

	if a := w.admin.do("DELETE", "/api/v1/users/"+teacher+"/learning-mode", nil); a.status != http.StatusNoContent {
		t.Fatalf("admin ends learning mode: %d %s", a.status, a.body)
	}
	second := w.browser()
	refused := second.login("k.lehrer", "teacher-password")
	if refused.status != http.StatusForbidden || refused.code() != "device_pending" {
		t.Fatalf("second browser after learning mode: %d %s", refused.status, refused.body)
	}
	code := refused.securityCode()
	if len(store.NormalizeCode(code)) != 9 {
		t.Fatalf("security code %q, want 9 digits", code)
	}
	if failure, _ := w.status(teacher); failure != "device_pending" {
		t.Errorf("status column = %q, want device_pending", failure)
	}
	if a := second.do("GET", "/api/v1/courses", nil); a.status != http.StatusUnauthorized {
		t.Errorf("a refused browser reaches the API: %d", a.status)
	}

	t.Run("ErrCodeOfAnotherUsersDevice", func(t *testing.T) {
		other := w.createTeacher("n.nachbar")
		w.admin.do("DELETE", "/api/v1/users/"+other+"/learning-mode", nil)
		third := w.browser()
		c := third.login("n.nachbar", "teacher-password").securityCode()
		if a := w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": c}); a.status != http.StatusUnprocessableEntity {
			t.Errorf("approving another user's code: %d %s", a.status, a.body)
		}
		if a := third.login("n.nachbar", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("third browser after a wrong approval: %d %s", a.status, a.body)
		}
		if a := second.login("k.lehrer", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("second browser after a wrong approval: %d %s", a.status, a.body)
		}
	})
	t.Run("ErrWrongRole", func(t *testing.T) {
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/v1/users/" + teacher + "/devices/approve"},
			{"POST", "/api/v1/learning-mode"},
			{"GET", "/api/v1/devices"},
			{"GET", "/api/v1/audit"},
			{"POST", "/api/v1/users/" + teacher + "/unlock"},
		} {
			body := map[string]any{}
			if req.method == "POST" && strings.HasSuffix(req.path, "approve") {
				body = map[string]any{"code": code}
			}
			if req.path == "/api/v1/learning-mode" {
				body = map[string]any{"userIds": []string{teacher}, "until": "2026-12-01", "devices": 9}
			}
			if req.method == "GET" {
				body = nil
			}
			if a := first.do(req.method, req.path, body); a.status != http.StatusForbidden {
				t.Errorf("teacher %s %s: %d %s", req.method, req.path, a.status, a.body)
			}
		}
		if a := second.login("k.lehrer", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("a teacher approved their own device: %d %s", a.status, a.body)
		}
	})
	t.Run("ErrTamperedCredential", func(t *testing.T) {
		c := first.deviceCookie()
		id, secret, _ := strings.Cut(c.Value, ".")
		forged := w.browser()
		u, _ := url.Parse(w.srv.URL)
		forged.client.Jar.SetCookies(u, []*http.Cookie{{Name: "pult_device", Value: id + "." + strings.Repeat("0", len(secret))}})
		if a := forged.login("k.lehrer", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("a forged copy of a trusted browser's credential got in: %d %s", a.status, a.body)
		}
	})
	t.Run("Approve", func(t *testing.T) {
		if a := w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": "000000000"}); a.status != http.StatusUnprocessableEntity {
			t.Errorf("a wrong code: %d %s", a.status, a.body)
		}
		if a := w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": code}); a.status != http.StatusOK {
			t.Fatalf("approve: %d %s", a.status, a.body)
		}
		second.mustLogin("k.lehrer", "teacher-password")
		if failure, trusted := w.status(teacher); failure != "" || trusted != 2 {
			t.Errorf("after approval: status %q, %d trusted; want OK and 2", failure, trusted)
		}
	})
	t.Run("RemoveCurrentDeviceLogsOut", func(t *testing.T) {
		var mine struct {
			Items []struct {
				ID      string
				Current bool
			}
		}
		json.Unmarshal(second.do("GET", "/api/v1/me/devices", nil).body, &mine)
		current := ""
		for _, d := range mine.Items {
			if d.Current {
				current = d.ID
			}
		}
		if current == "" {
			t.Fatalf("no current device in %+v", mine)
		}
		if a := second.do("DELETE", "/api/v1/me/devices/"+current, nil); a.status != http.StatusNoContent {
			t.Fatalf("remove: %d %s", a.status, a.body)
		}
		if a := second.do("GET", "/api/v1/courses", nil); a.status != http.StatusUnauthorized {
			t.Errorf("still logged in after removing the current device: %d", a.status)
		}
		if a := second.login("k.lehrer", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("a removed device got in again: %d %s", a.status, a.body)
		}
	})
	t.Run("Blocked", func(t *testing.T) {
		var devices struct{ Items []struct{ ID, State string } }
		json.Unmarshal(w.admin.do("GET", "/api/v1/users/"+teacher+"/devices", nil).body, &devices)
		firstID, _, _ := strings.Cut(first.deviceCookie().Value, ".")
		if a := w.admin.do("PATCH", "/api/v1/users/"+teacher+"/devices/"+firstID, map[string]string{"state": "blocked"}); a.status != http.StatusOK {
			t.Fatalf("block: %d %s", a.status, a.body)
		}
		if a := first.do("GET", "/api/v1/courses", nil); a.status != http.StatusUnauthorized {
			t.Errorf("a blocked device's session goes on: %d", a.status)
		}
		if a := first.login("k.lehrer", "teacher-password"); a.code() != "device_blocked" {
			t.Errorf("blocked device: %d %s", a.status, a.body)
		}
		if failure, _ := w.status(teacher); failure != "device_blocked" {
			t.Errorf("status column = %q, want device_blocked", failure)
		}
	})
	t.Run("WrongPasswordStatus", func(t *testing.T) {
		if a := w.browser().login("k.lehrer", "not-the-password"); a.code() != "invalid_credentials" {
			t.Fatalf("wrong password: %d %s", a.status, a.body)
		}
		if failure, _ := w.status(teacher); failure != "wrong_password" {
			t.Errorf("status column = %q, want wrong_password", failure)
		}
	})
	t.Run("ErrOtherSchool", func(t *testing.T) {
		ctx := context.Background()
		hasher, _ := auth.NewHasher(auth.Params{MemoryKiB: 1024, Time: 1, Threads: 1})
		if _, err := server.CreateAdmin(ctx, w.db, hasher, "Andere Schule", store.NewUser{Username: "other", DisplayName: "Otto"}, "other-password"); err != nil {
			t.Fatal(err)
		}
		other := w.browser()
		other.mustLogin("other", "other-password")
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/users/" + teacher + "/devices", nil},
			{"POST", "/api/v1/users/" + teacher + "/devices/approve", map[string]string{"code": code}},
			{"POST", "/api/v1/learning-mode", map[string]any{"userIds": []string{teacher}, "until": "2026-12-01", "devices": 3}},
			{"DELETE", "/api/v1/users/" + teacher + "/learning-mode", nil},
			{"POST", "/api/v1/users/" + teacher + "/unlock", nil},
		} {
			if a := other.do(req.method, req.path, req.body); a.status != http.StatusNotFound {
				t.Errorf("other school's admin %s %s: %d %s", req.method, req.path, a.status, a.body)
			}
		}
		var devices struct{ Items []any }
		json.Unmarshal(other.do("GET", "/api/v1/devices", nil).body, &devices)
		if len(devices.Items) != 1 {
			t.Errorf("other school's admin sees %d devices, want only their own", len(devices.Items))
		}
	})
	t.Run("LearningModeAgain", func(t *testing.T) {
		for _, n := range []int{0, 10} {
			if a := w.admin.do("POST", "/api/v1/learning-mode", map[string]any{"userIds": []string{teacher}, "until": "2026-12-01", "devices": n}); a.status != http.StatusUnprocessableEntity {
				t.Errorf("%d devices: %d %s", n, a.status, a.body)
			}
		}
		if a := w.admin.do("POST", "/api/v1/learning-mode", map[string]any{"userIds": []string{teacher}, "until": "2026-12-01", "devices": 1}); a.status != http.StatusNoContent {
			t.Fatalf("enable: %d %s", a.status, a.body)
		}
		w.browser().mustLogin("k.lehrer", "teacher-password")
		if a := w.browser().login("k.lehrer", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("a second device in a one-device learning mode: %d %s", a.status, a.body)
		}
		w.admin.do("POST", "/api/v1/learning-mode", map[string]any{"userIds": []string{teacher}, "until": "2026-12-01", "devices": 9})
		w.now = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		if a := w.browser().login("k.lehrer", "teacher-password"); a.code() != "device_pending" {
			t.Errorf("after the deadline: %d %s", a.status, a.body)
		}
	})
	t.Run("AuditCSV", func(t *testing.T) {
		if a := w.admin.do("GET", "/api/v1/users", nil); a.status != http.StatusUnauthorized {
			t.Errorf("the admin's session outlived a month: %d", a.status)
		}
		w.admin.mustLogin("admin", "admin-password") // a trusted device stays trusted after learning mode
		a := w.admin.do("GET", "/api/v1/audit.csv?sep=semicolon", nil)
		if a.status != http.StatusOK || !bytes.HasPrefix(a.body, []byte("\uFEFF")) {
			t.Fatalf("audit CSV: %d, starts %q", a.status, a.body[:min(10, len(a.body))])
		}
		text := string(a.body)
		for _, want := range []string{"login;allowed;learning_mode;", "login;refused;device_pending;", "device_approved;done;", "device_approved;refused;wrong_code",
			"login;refused;device_blocked;", "login;refused;wrong_password;", "device_removed;done;", "learning_mode_enabled;done;"} {
			if !strings.Contains(text, want) {
				t.Errorf("audit CSV lacks %q", want)
			}
		}
		if strings.Contains(text, "other") {
			t.Error("the audit log shows another school's entries")
		}
	})
}

func TestIPRanges(t *testing.T) {
	w := newTrustWorld(t, func(c *server.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	teacher := w.createTeacher("k.lehrer")
	via := func(hops string) http.Header { return http.Header{"X-Forwarded-For": {hops}} }
	login := func(header http.Header) answer {
		return w.browser().doWith("POST", "/api/v1/session", map[string]string{"username": "k.lehrer", "password": "teacher-password"}, header)
	}
	if a := w.admin.do("PUT", "/api/v1/ip-ranges", map[string]any{"ranges": []string{"10.0.0.0/8", "not-a-range"}}); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad range: %d %s", a.status, a.body)
	}
	if a := w.admin.do("PUT", "/api/v1/ip-ranges", map[string]any{"ranges": []string{"10.0.0.0/8", "2001:db8::/32"}}); a.status != http.StatusConflict || a.code() != "would_lock_out" {
		t.Fatalf("ranges that shut out the admin setting them, unconfirmed: %d %s", a.status, a.body)
	}
	var stored struct{ Ranges []string }
	if json.Unmarshal(w.admin.do("GET", "/api/v1/ip-ranges", nil).body, &stored); len(stored.Ranges) != 0 {
		t.Fatalf("an unconfirmed lock-out was stored: %v", stored.Ranges)
	}
	if a := w.admin.do("PUT", "/api/v1/ip-ranges", map[string]any{"ranges": []string{"10.0.0.0/8", "2001:db8::/32"}, "confirm": true}); a.status != http.StatusOK {
		t.Fatalf("set school ranges: %d %s", a.status, a.body)
	}
	if a := w.browser().do("PUT", "/api/v1/ip-ranges", map[string]any{"ranges": []string{}}); a.status != http.StatusUnauthorized {
		t.Errorf("without a session: %d", a.status)
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"ProxyReportsInside", via("10.1.2.3"), ""},
		// Outside the ranges the answer is that of a wrong password, so it does not confirm the password.
		{"ProxyReportsOutside", via("192.0.2.1"), "invalid_credentials"},
		{"SpoofedLeftOfRealClient", via("10.1.2.3, 192.0.2.1"), "invalid_credentials"},
		{"IPv6Inside", via("2001:db8::7"), ""},
		{"GarbledHeader", via("10.1.2.3, <script>"), "invalid_credentials"},
		{"NoHeader", nil, "invalid_credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := login(tc.header)
			if got := a.code(); got != tc.want {
				t.Errorf("code = %q (%d), want %q", got, a.status, tc.want)
			}
		})
	}
	if failure, _ := w.status(teacher); failure != "outside_ip_range" {
		t.Errorf("status column = %q, want outside_ip_range", failure)
	}
	t.Run("UserRange", func(t *testing.T) {
		if a := w.admin.do("PUT", "/api/v1/users/"+teacher+"/ip-ranges", map[string]any{"ranges": []string{"10.9.0.0/16"}}); a.status != http.StatusOK {
			t.Fatalf("set user ranges: %d %s", a.status, a.body)
		}
		if got := login(via("10.1.2.3")).code(); got != "invalid_credentials" {
			t.Errorf("inside the school's range but outside the user's: %q", got)
		}
		if got := login(via("10.9.8.7")).code(); got != "" {
			t.Errorf("inside both: %q", got)
		}
	})
}

func TestUntrustedForwardedFor(t *testing.T) {
	w := newTrustWorld(t) // no trusted proxies: X-Forwarded-For is the client's own claim
	w.createTeacher("k.lehrer")
	if a := w.admin.do("PUT", "/api/v1/ip-ranges", map[string]any{"ranges": []string{"10.0.0.0/8"}, "confirm": true}); a.status != http.StatusOK {
		t.Fatalf("set ranges: %d %s", a.status, a.body)
	}
	a := w.browser().doWith("POST", "/api/v1/session", map[string]string{"username": "k.lehrer", "password": "teacher-password"}, http.Header{"X-Forwarded-For": {"10.1.2.3"}})
	if a.code() != "invalid_credentials" {
		t.Errorf("a spoofed X-Forwarded-For got in: %d %s", a.status, a.body)
	}
	if failure, _ := w.status(w.userID("k.lehrer")); failure != "outside_ip_range" {
		t.Errorf("status column = %q, want outside_ip_range", failure)
	}
}

// mustStore opens a fresh store for a test.
func mustStore(t *testing.T) *store.DB {
	t.Helper()
	key, _ := store.NewKey()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "pult.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
