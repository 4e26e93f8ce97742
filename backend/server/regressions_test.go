// Tests of bugs that were found and fixed, so they stay fixed.
package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"pult/backend/server"
)

// TestSetupLinkWorksOnceAtOnce: the one-time setup link opened in several browsers at the same moment creates
// one school and one admin. Today every request that passes the HasUsers check before the first one finishes
// creates its own school and admin (backend/server/account.go setup, server.go checkSetupToken).
func TestSetupLinkWorksOnceAtOnce(t *testing.T) {
	const token = "the-one-time-setup-token"
	s := MustServer(t, func(c *server.Config) { c.SetupToken = token })
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i], _, _ = do(t, s.client("browser"), "POST", "/api/v1/setup", map[string]string{"token": token,
				"schoolName": fmt.Sprintf("Schule %d", i), "username": fmt.Sprintf("admin.%d", i), "displayName": "Admin", "password": password})
		})
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		if st == http.StatusCreated {
			created++
		}
	}
	var schools, users int
	s.file.QueryRow(`SELECT COUNT(*) FROM schools`).Scan(&schools)
	s.file.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users)
	if created != 1 || schools != 1 || users != 1 {
		t.Errorf("8 setups at once: %d answered 201 (%v), %d schools, %d accounts; want 1 each", created, statuses, schools, users)
	}
}

// TestAccountAnswersAreComplete: the Account that POST and PATCH /api/v1/users answer is the one GET lists.
// Today they answer trustedDevices 0 and leave out learningMode (backend/server/users.go createUser, updateUser).
func TestAccountAnswersAreComplete(t *testing.T) {
	h := MustHarness(t)
	listed := func(id string) map[string]any {
		t.Helper()
		for _, a := range decodeJSON[page[map[string]any]](t, mustDo(t, h.adminA, "GET", "/api/v1/users", nil, http.StatusOK)).Items {
			if a["id"] == id {
				return a
			}
		}
		t.Fatalf("account %s is not listed", id)
		return nil
	}
	same := func(name string, answer []byte) {
		t.Helper()
		got := decodeJSON[map[string]any](t, answer)
		want := listed(got["id"].(string))
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s answers\n%s\nGET /api/v1/users lists\n%s", name, g, w)
		}
	}
	same("PATCH /api/v1/users/{id}", mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/users/$t1"), map[string]string{"displayName": "Tara Renamed"}, http.StatusOK))
	same("POST /api/v1/users", mustDo(t, h.adminA, "POST", "/api/v1/users",
		map[string]string{"username": "n.new", "displayName": "Nina New", "role": "teacher", "password": password}, http.StatusCreated))
}

// TestOwnPasswordGuessesLock: guessing the current password from an open session meets the login lock.
func TestOwnPasswordGuessesLock(t *testing.T) {
	w := newTrustWorld(t)
	for i := 0; i < 5; i++ {
		w.admin.do("POST", "/api/v1/me/password", map[string]string{"currentPassword": "guess-" + fmt.Sprint(i), "newPassword": "a new long password"})
	}
	a := w.admin.do("POST", "/api/v1/me/password", map[string]string{"currentPassword": "admin-password", "newPassword": "a new long password"})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Errorf("after 5 wrong guesses, the right password: %d %s", a.status, a.body)
	}
}

// TestWrongMethod: a real API path with a wrong method answers 405 with Allow, an unknown path 404.
func TestWrongMethod(t *testing.T) {
	w := newTrustWorld(t)
	a := w.admin.do("PUT", "/api/v1/courses", map[string]string{})
	if a.status != http.StatusMethodNotAllowed || a.code() != "method_not_allowed" || a.header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT /api/v1/courses: %d %s, Allow %q", a.status, a.body, a.header.Get("Allow"))
	}
	if a := w.admin.do("GET", "/api/v1/no-such-thing", nil); a.status != http.StatusNotFound || a.code() != "not_found" {
		t.Errorf("unknown path: %d %s", a.status, a.body)
	}
}
