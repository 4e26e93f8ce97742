package server_test

import (
	"context"
	"net/http"
	"testing"

	"pult/store"
)

// TestParentChangesOwnAccount: a parent sets the language of their mails and changes their password after the
// current one; the other browsers are logged out, an older reset link stops working, and guessing the current
// password meets the login lock.
func TestParentChangesOwnAccount(t *testing.T) {
	h := MustHarness(t)
	other := h.parentLogin(t, "parent's phone", "p1@example.org")
	mustDo(t, h.anon, "POST", "/api/v1/parent/password-reset", map[string]string{"email": "p1@example.org"}, http.StatusAccepted)
	resetToken := h.ids["$resetToken"]

	if status, code, raw := do(t, h.parent, "PATCH", "/api/v1/parent/account", map[string]string{"language": "fr"}); status != 422 || errorOf(raw).Fields["language"] != "invalid" {
		t.Errorf("an unknown language: %d %s %s", status, code, raw)
	}
	mustDo(t, h.parent, "PATCH", "/api/v1/parent/account", map[string]string{"language": "en"}, http.StatusOK)
	if env := decodeJSON[struct{ Parent struct{ Language string } }](t, mustDo(t, h.parent, "GET", "/api/v1/env", nil, http.StatusOK)); env.Parent.Language != "en" {
		t.Errorf("language after the change: %q", env.Parent.Language)
	}

	status, _, raw := do(t, h.parent, "POST", "/api/v1/parent/password", map[string]string{"currentPassword": "not my password", "newPassword": "a brand new password"})
	if status != 422 || errorOf(raw).Fields["currentPassword"] != "invalid" {
		t.Errorf("a wrong current password: %d %s", status, raw)
	}
	if status, _, raw := do(t, h.parent, "POST", "/api/v1/parent/password", map[string]string{"currentPassword": password, "newPassword": "short"}); status != 422 || errorOf(raw).Fields["newPassword"] == "" {
		t.Errorf("a too short new password: %d %s", status, raw)
	}
	mustDo(t, h.parent, "POST", "/api/v1/parent/password", map[string]string{"currentPassword": password, "newPassword": "a brand new password"}, http.StatusNoContent)
	mustDo(t, h.parent, "GET", "/api/v1/parent/children", nil, http.StatusOK)
	if status, _, _ := do(t, other, "GET", "/api/v1/parent/children", nil); status != http.StatusUnauthorized {
		t.Errorf("the phone's session after the password change: %d, want 401", status)
	}
	if status, code, _ := do(t, h.anon, "POST", "/api/v1/parent/password-reset/confirm", map[string]string{"token": resetToken, "password": "a third long password"}); status != http.StatusGone || code != "link_invalid" {
		t.Errorf("a reset link from before the change: %d %s", status, code)
	}
	if status, _, _ := do(t, h.client("old password"), "POST", "/api/v1/parent/session", map[string]string{"email": "p1@example.org", "password": password}); status != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d", status)
	}

	// Guessing the current password from an open session locks like wrong logins.
	var last int
	var lastCode string
	for i := range 6 {
		last, lastCode, _ = do(t, h.parent, "POST", "/api/v1/parent/password", map[string]string{"currentPassword": "guess " + string(rune('a'+i)), "newPassword": "a brand new password 2"})
	}
	if last != http.StatusTooManyRequests || lastCode != "too_many_attempts" {
		t.Errorf("the sixth guess: %d %s, want 429", last, lastCode)
	}
}

// TestParentDeletesAccount: deleting asks for the password; then the account, its children, the shares it
// granted, the schools' record of it and its waiting mails are gone, and its address can register anew.
func TestParentDeletesAccount(t *testing.T) {
	ctx := context.Background()
	h := MustHarness(t)
	// The share's grantee has an account and sees s1; a mail to p1 and one to p2 wait in the outbox.
	h.createParent(t, "oma@example.org")
	grandma := h.parentLogin(t, "grandma", "oma@example.org")
	mustDo(t, grandma, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusOK)
	for _, email := range []string{"p1@example.org", "p2@example.org"} {
		mustDo(t, h.client(email), "POST", "/api/v1/parent/password-reset", map[string]string{"email": email}, http.StatusAccepted)
	}

	// A wrong password deletes nothing (it only counts towards the login lock).
	if status, _, raw := do(t, h.parent, "DELETE", "/api/v1/parent/account", map[string]string{"password": "not my password"}); status != 422 || errorOf(raw).Fields["password"] != "invalid" {
		t.Fatalf("delete with a wrong password: %d %s", status, raw)
	}
	if children := decodeJSON[page[idOnly]](t, mustDo(t, h.parent, "GET", "/api/v1/parent/children", nil, http.StatusOK)); len(children.Items) != 1 {
		t.Errorf("after the refused deletion the account holds %d children", len(children.Items))
	}
	res, _, raw := h.parent.send(t, h.parent.newRequest(t, "DELETE", "/api/v1/parent/account", map[string]string{"password": password}))
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.StatusCode, raw)
	}
	if c := res.Header.Get("Set-Cookie"); c == "" {
		t.Error("the answer does not clear the session cookie")
	}
	if status, _, _ := do(t, h.parent, "GET", "/api/v1/parent/children", nil); status != http.StatusUnauthorized {
		t.Errorf("the deleted account's session: %d", status)
	}
	if status, code, _ := do(t, h.client("again"), "POST", "/api/v1/parent/session", map[string]string{"email": "p1@example.org", "password": password}); status != http.StatusUnauthorized || code != "invalid_credentials" {
		t.Errorf("login of the deleted account: %d %s", status, code)
	}
	if _, err := h.db.ParentByEmail(ctx, "p1@example.org"); store.ErrorCode(err) != store.CodeNotFound {
		t.Errorf("the account is still stored: %v", err)
	}
	// What the account shared ends with it; school A no longer lists it.
	if status, _, _ := do(t, grandma, "GET", h.fill("/api/v1/parent/children/$s1"), nil); status != http.StatusNotFound {
		t.Errorf("the grantee still sees s1: %d", status)
	}
	for _, r := range decodeJSON[page[store.Registrant]](t, mustDo(t, h.adminA, "GET", "/api/v1/parents", nil, http.StatusOK)).Items {
		if r.Email == "p1@example.org" {
			t.Errorf("school A still lists the deleted account: %+v", r)
		}
	}
	mails, err := h.db.ServerOutbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range mails {
		to = append(to, m.To)
	}
	if len(to) != 1 || to[0] != "p2@example.org" {
		t.Errorf("mails waiting after the deletion go to %v, want only p2's", to)
	}
	// The address is free again.
	mustDo(t, h.client("new"), "POST", "/api/v1/parent/register", map[string]string{"email": "p1@example.org", "password": password, "language": "de"}, http.StatusAccepted)
}

// TestServerAuditLog: what names no school — a login with an unknown username, a wrong access code, a parent
// account's deletion — is in the server's own log, which its operator reads and a school's admin does not; no
// school's entries are in it.
func TestServerAuditLog(t *testing.T) {
	h := MustHarness(t)
	do(t, h.client("guesser"), "POST", "/api/v1/session", map[string]string{"username": "niemand", "password": "a wrong password"})
	do(t, h.parent, "POST", "/api/v1/parent/children", map[string]string{"code": "ABCD-EFGH-JKMN-PQRS"})
	mustDo(t, h.otherParent, "DELETE", "/api/v1/parent/account", map[string]string{"password": password}, http.StatusNoContent)

	entries := decodeJSON[page[store.AuditEntry]](t, mustDo(t, h.adminB, "GET", "/api/v1/server/audit", nil, http.StatusOK)).Items
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action+"/"+e.Outcome+"/"+e.Reason] = true
		if e.Action == "user_created" || e.Action == "setup" || e.Action == "access_code_issued" {
			t.Errorf("a school's entry is in the server's log: %+v", e)
		}
	}
	for _, want := range []string{"login/refused/unknown_user", "access_code_redeem/refused/wrong_code", "parent_account_deleted/done/"} {
		if !seen[want] {
			t.Errorf("the server's log lacks %s: %v", want, seen)
		}
	}
	if only := decodeJSON[page[store.AuditEntry]](t, mustDo(t, h.adminB, "GET", "/api/v1/server/audit?action=login", nil, http.StatusOK)).Items; len(only) != 1 {
		t.Errorf("filtered by action login: %d entries, want 1", len(only))
	}
	if status, code, _ := do(t, h.adminA, "GET", "/api/v1/server/audit", nil); status != http.StatusForbidden || code != "forbidden" {
		t.Errorf("school A's admin reads the server's log: %d %s", status, code)
	}
}
