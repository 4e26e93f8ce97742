package server_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"pult/backend/auth"
	"pult/backend/cli"
	"pult/backend/server"
)

// loggedInUser is the user of a session answer or of /env.
type loggedInUser struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	Role       string `json:"role"`
	SchoolID   string `json:"schoolId"`
	SchoolName string `json:"schoolName"`
	Operator   bool   `json:"operator"`
}

type envAnswer struct {
	SetupRequired bool          `json:"setupRequired"`
	User          *loggedInUser `json:"user"`
}

func loginBody(username, pw string) map[string]string {
	return map[string]string{"username": username, "password": pw}
}

// TestUsernames: usernames ignore case and Unicode width when logging in and when taken.
func TestUsernames(t *testing.T) {
	h := MustHarness(t)
	mustDo(t, h.adminA, "POST", "/api/v1/users", map[string]string{"username": "V.Name", "displayName": "Vera Name", "role": "teacher", "password": password}, http.StatusCreated)
	for _, typed := range []string{"V.Name", "v.name", "V.NAME", "Ｖ．Ｎａｍｅ", " v.name "} {
		t.Run("Login "+typed, func(t *testing.T) {
			raw := mustDo(t, h.client("browser"), "POST", "/api/v1/session", loginBody(typed, password), http.StatusOK)
			if got := decodeJSON[struct{ User loggedInUser }](t, raw).User.Username; got != "V.Name" {
				t.Errorf("logged in as %q, want V.Name", got)
			}
		})
	}
	for _, typed := range []string{"v.NAME", "ｖ.name"} {
		t.Run("Create "+typed, func(t *testing.T) {
			before := h.fingerprint(t)
			status, code, raw := do(t, h.adminA, "POST", "/api/v1/users", map[string]string{"username": typed, "displayName": "Someone Else", "role": "teacher", "password": password})
			if status != http.StatusConflict || code != "username_taken" || errorOf(raw).Fields["username"] != "taken" {
				t.Errorf("got %d %s, want 409 username_taken on the username", status, raw)
			}
			if h.fingerprint(t) != before {
				t.Error("the refused create changed the store")
			}
		})
	}
}

// TestFailedLoginsLookAlike: an unknown user, a wrong password and a deactivated account get the same answer,
// byte for byte.
func TestFailedLoginsLookAlike(t *testing.T) {
	h := MustHarness(t)
	mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/users/$t2"), map[string]bool{"active": false}, http.StatusOK)
	var first []byte
	for _, tc := range []struct{ name, username, password string }{
		{"UnknownUser", "nobody.here", password},
		{"WrongPassword", "t.one", "not the password"},
		{"Deactivated", "t.two", password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := h.anon.newRequest(t, "POST", "/api/v1/session", loginBody(tc.username, tc.password))
			res, code, raw := h.anon.send(t, req)
			if res.StatusCode != http.StatusUnauthorized || code != "invalid_credentials" {
				t.Errorf("got %d %s, want 401 invalid_credentials", res.StatusCode, raw)
			}
			if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
				t.Errorf("a failed login sets cookies: %v", c)
			}
			if first == nil {
				first = raw
			} else if !bytes.Equal(raw, first) {
				t.Errorf("answer %q differs from %q", raw, first)
			}
		})
	}
}

// TestLoginLock: five wrong passwords lock a username, known or not, even against the right password; the lock
// is the username's (not the address's), and an admin can lift it.
func TestLoginLock(t *testing.T) {
	wrongFiveTimes := func(t *testing.T, h *harness, username string) {
		t.Helper()
		for i := range 5 {
			if status, code, raw := do(t, h.anon, "POST", "/api/v1/session", loginBody(username, "wrong password "+strconv.Itoa(i))); status != http.StatusUnauthorized || code != "invalid_credentials" {
				t.Fatalf("wrong password %d: %d %s", i+1, status, raw)
			}
		}
	}
	locked := func(t *testing.T, h *harness, username string) {
		t.Helper()
		res, code, raw := h.anon.send(t, h.anon.newRequest(t, "POST", "/api/v1/session", loginBody(username, password)))
		if res.StatusCode != http.StatusTooManyRequests || code != "too_many_attempts" {
			t.Fatalf("login as %q after five wrong passwords: %d %s, want 429 too_many_attempts", username, res.StatusCode, raw)
		}
		if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 15*60 {
			t.Errorf("Retry-After = %q, want 1–900 seconds", res.Header.Get("Retry-After"))
		}
	}
	t.Run("KnownUser", func(t *testing.T) {
		h := MustHarness(t)
		wrongFiveTimes(t, h, "t.one")
		locked(t, h, "t.one")
		locked(t, h, "T.ONE")
		// The lock is the username's, not the address's: T2 logs in from the same address.
		h.login(t, "T2 again", "t.two")
		mustDo(t, h.adminA, "POST", h.fill("/api/v1/users/$t1/unlock"), nil, http.StatusNoContent)
		h.login(t, "T1 unlocked", "t.one")
	})
	t.Run("UnknownUser", func(t *testing.T) {
		h := MustHarness(t)
		wrongFiveTimes(t, h, "ghost.user")
		locked(t, h, "ghost.user")
	})
}

// TestDeactivationEndsSessions: a deactivated teacher is logged out at once and cannot log in.
func TestDeactivationEndsSessions(t *testing.T) {
	h := MustHarness(t)
	mustDo(t, h.t1, "GET", "/api/v1/courses", nil, http.StatusOK)
	raw := mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/users/$t1"), map[string]bool{"active": false}, http.StatusOK)
	if decodeJSON[struct{ Active bool }](t, raw).Active {
		t.Errorf("account still active: %s", raw)
	}
	if status, code, _ := do(t, h.t1, "GET", "/api/v1/courses", nil); status != http.StatusUnauthorized || code != "unauthenticated" {
		t.Errorf("deactivated teacher's next request: %d %s, want 401 unauthenticated", status, code)
	}
	if env := decodeJSON[envAnswer](t, mustDo(t, h.t1, "GET", "/api/v1/env", nil, http.StatusOK)); env.User != nil {
		t.Errorf("env still shows the deactivated teacher: %+v", env.User)
	}
	if status, code, _ := do(t, h.client("browser"), "POST", "/api/v1/session", loginBody("t.one", password)); status != http.StatusUnauthorized || code != "invalid_credentials" {
		t.Errorf("deactivated teacher logs in: %d %s, want 401 invalid_credentials", status, code)
	}
}

// TestPasswordResetEndsSessions: after an admin's reset, the user's sessions are over and only the new
// password works; the admin stays logged in.
func TestPasswordResetEndsSessions(t *testing.T) {
	h := MustHarness(t)
	const reset = "password chosen by the admin"
	mustDo(t, h.adminA, "POST", h.fill("/api/v1/users/$t1/password"), map[string]string{"password": reset}, http.StatusNoContent)
	if status, code, _ := do(t, h.t1, "GET", "/api/v1/courses", nil); status != http.StatusUnauthorized || code != "unauthenticated" {
		t.Errorf("T1 after the reset: %d %s, want 401 unauthenticated", status, code)
	}
	if status, code, _ := do(t, h.t1, "POST", "/api/v1/session", loginBody("t.one", password)); status != http.StatusUnauthorized || code != "invalid_credentials" {
		t.Errorf("login with the old password: %d %s, want 401 invalid_credentials", status, code)
	}
	mustDo(t, h.t1, "POST", "/api/v1/session", loginBody("t.one", reset), http.StatusOK)
	mustDo(t, h.adminA, "GET", "/api/v1/users", nil, http.StatusOK)
}

// TestOwnPasswordChange: the current password is checked; the browser that changes it stays logged in, the
// others are logged out.
func TestOwnPasswordChange(t *testing.T) {
	h := MustHarness(t)
	elsewhere := h.login(t, "T1 elsewhere", "t.one")
	const changed = "my own new password"
	status, code, raw := do(t, h.t1, "POST", "/api/v1/me/password", map[string]string{"currentPassword": "a wrong guess", "newPassword": changed})
	if status != http.StatusUnprocessableEntity || code != "validation_failed" || errorOf(raw).Fields["currentPassword"] != "invalid" {
		t.Errorf("wrong current password: %d %s, want 422 on currentPassword", status, raw)
	}
	// The wrong guess counts towards the login lock (TestOwnPasswordGuessesLock); the password stays: the old
	// one still changes it below.
	mustDo(t, h.t1, "POST", "/api/v1/me/password", map[string]string{"currentPassword": password, "newPassword": changed}, http.StatusNoContent)
	mustDo(t, h.t1, "GET", "/api/v1/courses", nil, http.StatusOK)
	if status, _, _ := do(t, elsewhere, "GET", "/api/v1/courses", nil); status != http.StatusUnauthorized {
		t.Errorf("T1's other browser after the change: %d, want 401", status)
	}
	mustDo(t, elsewhere, "POST", "/api/v1/session", loginBody("t.one", changed), http.StatusOK)
}

// TestLastAdmin: a school keeps at least one active admin; another school's admin does not count.
func TestLastAdmin(t *testing.T) {
	h := MustHarness(t)
	for _, patch := range []map[string]any{{"role": "teacher"}, {"active": false}, {"role": "teacher", "active": false}} {
		before := h.fingerprint(t)
		if status, code, raw := do(t, h.adminA, "PATCH", h.fill("/api/v1/users/$adminA"), patch); status != http.StatusConflict || code != "last_admin" {
			t.Errorf("%v on the last admin: %d %s, want 409 last_admin", patch, status, raw)
		}
		if h.fingerprint(t) != before {
			t.Errorf("%v: the refused change changed the store", patch)
		}
	}
	mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/users/$t1"), map[string]string{"role": "admin"}, http.StatusOK)
	mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/users/$adminA"), map[string]string{"role": "teacher"}, http.StatusOK)
	if status, code, _ := do(t, h.t1, "PATCH", h.fill("/api/v1/users/$t1"), map[string]bool{"active": false}); status != http.StatusConflict || code != "last_admin" {
		t.Errorf("T1, now the only admin, deactivates themself: %d %s, want 409 last_admin", status, code)
	}
	if status, code, _ := do(t, h.adminA, "GET", "/api/v1/users", nil); status != http.StatusForbidden || code != "forbidden" {
		t.Errorf("the demoted admin lists users: %d %s, want 403 forbidden", status, code)
	}
}

// sessionCookieOf returns the session cookie a response sets.
func sessionCookieOf(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "pult_session" {
			return c
		}
	}
	t.Fatalf("no pult_session cookie in %v", res.Header.Values("Set-Cookie"))
	return nil
}

// TestSessionCookie: the session cookie is out of reach of page scripts and other sites, and its token cannot
// be guessed.
func TestSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run("Secure="+strconv.FormatBool(secure), func(t *testing.T) {
			s := MustServer(t, func(c *server.Config) { c.SecureCookies = secure })
			s.createAdmin(t, "Schule A", "admin.a")
			seen := map[string]bool{}
			for range 2 {
				c := s.client("browser")
				res, _, raw := c.send(t, c.newRequest(t, "POST", "/api/v1/session", loginBody("admin.a", password)))
				if res.StatusCode != http.StatusOK {
					t.Fatalf("login: %d %s", res.StatusCode, raw)
				}
				k := sessionCookieOf(t, res)
				if !k.HttpOnly || k.SameSite != http.SameSiteStrictMode || k.Path != "/" || k.Secure != secure {
					t.Errorf("cookie %s: want HttpOnly, SameSite=Strict, Path=/, Secure=%t", k, secure)
				}
				token, err := base64.RawURLEncoding.DecodeString(k.Value)
				if err != nil || len(token)*8 < 128 {
					t.Errorf("token %q: %d bits (%v), want at least 128 random bits", k.Value, len(token)*8, err)
				}
				if seen[k.Value] {
					t.Errorf("two logins got the same token %q", k.Value)
				}
				seen[k.Value] = true
			}
		})
	}
}

// TestLogout: logging out ends the session on the server, so a copy of the cookie is worthless.
func TestLogout(t *testing.T) {
	s := MustServer(t, nil)
	s.createAdmin(t, "Schule A", "admin.a")
	c := s.login(t, "admin", "admin.a")
	stolen := s.client("thief")
	replay := func() int {
		req := stolen.newRequest(t, "GET", "/api/v1/users", nil)
		req.Header.Set("Cookie", "pult_session="+c.cookie("pult_session"))
		res, _, _ := stolen.send(t, req)
		return res.StatusCode
	}
	token := c.cookie("pult_session")
	if got := replay(); got != http.StatusOK {
		t.Fatalf("replaying the live cookie: %d, want 200", got)
	}
	res, _, raw := c.send(t, c.newRequest(t, "DELETE", "/api/v1/session", nil))
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", res.StatusCode, raw)
	}
	if k := sessionCookieOf(t, res); k.MaxAge >= 0 || k.Value != "" {
		t.Errorf("logout sets %s, want the cookie cleared", k)
	}
	req := stolen.newRequest(t, "GET", "/api/v1/users", nil)
	req.Header.Set("Cookie", "pult_session="+token)
	if res, code, _ := stolen.send(t, req); res.StatusCode != http.StatusUnauthorized || code != "unauthenticated" {
		t.Errorf("replaying the cookie after logout: %d %s, want 401 unauthenticated", res.StatusCode, code)
	}
}

// TestIdleSessionExpires: a session unused for longer than the idle timeout is over.
func TestIdleSessionExpires(t *testing.T) {
	for _, tc := range []struct {
		idle time.Duration
		want int
	}{{0, http.StatusOK}, {time.Nanosecond, http.StatusUnauthorized}} {
		t.Run(tc.idle.String(), func(t *testing.T) {
			s := MustServer(t, func(c *server.Config) { c.IdleTimeout = tc.idle })
			s.createAdmin(t, "Schule A", "admin.a")
			c := s.login(t, "admin", "admin.a")
			if status, _, raw := do(t, c, "GET", "/api/v1/users", nil); status != tc.want {
				t.Errorf("next request: %d %s, want %d", status, raw, tc.want)
			}
			if env := decodeJSON[envAnswer](t, mustDo(t, c, "GET", "/api/v1/env", nil, http.StatusOK)); (env.User != nil) != (tc.want == http.StatusOK) {
				t.Errorf("env user = %+v", env.User)
			}
		})
	}
}

// TestSetup: on an empty store the holder of the setup token creates the first school and admin, once.
func TestSetup(t *testing.T) {
	const token = "the-one-time-setup-token"
	s := MustServer(t, func(c *server.Config) { c.SetupToken = token })
	first := s.client("first")
	if env := decodeJSON[envAnswer](t, mustDo(t, first, "GET", "/api/v1/env", nil, http.StatusOK)); !env.SetupRequired || env.User != nil {
		t.Fatalf("env on an empty store: %+v, want setupRequired and no user", env)
	}
	setup := func(tok, pw string) map[string]string {
		return map[string]string{"token": tok, "schoolName": "Musikschule Nord", "username": "Erste.Admin", "displayName": "Erika Erste", "password": pw}
	}
	for _, tc := range []struct {
		name string
		body map[string]string
		want outcome
	}{
		{"WrongToken", setup("a-guessed-token", password), outcome{403, "setup_token_invalid"}},
		{"NoToken", setup("", password), outcome{403, "setup_token_invalid"}},
		{"ShortPassword", setup(token, "short"), invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.fingerprint(t)
			if status, code, raw := do(t, first, "POST", "/api/v1/setup", tc.body); status != tc.want.status || code != tc.want.code {
				t.Errorf("got %d %s, want %d %s", status, raw, tc.want.status, tc.want.code)
			}
			if s.fingerprint(t) != before {
				t.Error("the refused setup changed the store")
			}
		})
	}
	raw := mustDo(t, first, "POST", "/api/v1/setup", setup(token, password), http.StatusCreated)
	// Whoever holds the console's link runs the server: the first admin is its operator.
	if u := decodeJSON[struct{ User loggedInUser }](t, raw).User; u.Username != "Erste.Admin" || u.Role != "admin" || u.SchoolName != "Musikschule Nord" || !u.Operator {
		t.Errorf("setup answers %+v", u)
	}
	if env := decodeJSON[envAnswer](t, mustDo(t, first, "GET", "/api/v1/env", nil, http.StatusOK)); env.SetupRequired || env.User == nil || env.User.Username != "Erste.Admin" {
		t.Errorf("env after setup: %+v, want the new admin logged in", env)
	}
	if accounts := decodeJSON[page[idOnly]](t, mustDo(t, first, "GET", "/api/v1/users", nil, http.StatusOK)); len(accounts.Items) != 1 {
		t.Errorf("%d accounts after setup, want 1", len(accounts.Items))
	}
	t.Run("Again", func(t *testing.T) {
		before := s.fingerprint(t)
		again := setup(token, password)
		again["username"], again["schoolName"] = "zweite.admin", "Andere Schule"
		if status, code, raw := do(t, s.client("second"), "POST", "/api/v1/setup", again); status != http.StatusConflict || code != "setup_done" {
			t.Errorf("second setup: %d %s, want 409 setup_done", status, raw)
		}
		if s.fingerprint(t) != before {
			t.Error("the second setup changed the store")
		}
	})
	t.Run("NotOffered", func(t *testing.T) {
		s := MustServer(t, nil)
		if status, code, raw := do(t, s.client("browser"), "POST", "/api/v1/setup", setup("", password)); status != http.StatusForbidden || code != "setup_token_invalid" {
			t.Errorf("setup on a server without a token: %d %s, want 403 setup_token_invalid", status, raw)
		}
	})
}

// TestProductionHashCost: the backend hashes passwords with at least OWASP's minimum for Argon2id.
func TestProductionHashCost(t *testing.T) {
	p := auth.OWASP
	if p.MemoryKiB < 19*1024 || p.Time < 2 || p.Threads != 1 {
		t.Errorf("auth.OWASP = %+v, want at least 19 MiB, t=2, p=1", p)
	}
	cfg, err := cli.ConfigFrom(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HashParams != p {
		t.Errorf("the backend's hash cost is %+v, want auth.OWASP %+v", cfg.HashParams, p)
	}
	h, err := auth.NewHasher(p)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(t.Context(), password)
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(hash, want) {
		t.Errorf("hash %q, want it to start with %q", hash, want)
	}
}
