package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"pult/backend/auth"
	"pult/backend/mail"
	"pult/backend/mail/mailtest"
	"pult/backend/server"
	"pult/store"
)

// mailWorld is a server whose mails go to a real SMTP server in the test's process.
type mailWorld struct {
	*testServer
	smtp *mailtest.Server
}

func mustMailWorld(t *testing.T) *mailWorld {
	t.Helper()
	smtp := mailtest.Start(t, mailtest.Options{})
	cfg := mail.Config{Host: smtp.Host, Port: smtp.Port, Username: smtp.Username, Password: smtp.Password, From: "Pult <pult@schule.example>",
		TLS: smtp.ClientTLS, Timeout: 5 * time.Second}
	s := MustServer(t, func(c *server.Config) {
		c.SendMail = func(ctx context.Context, m mail.Message) error { return mail.Send(ctx, cfg, m) }
		c.PublicURL = "https://pult.example-school.ch"
	})
	p := s.srv.Postman()
	p.Poll, p.Backoff = 20*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go p.Run(ctx)
	return &mailWorld{testServer: s, smtp: smtp}
}

// receivedText is the text part and subject of a received mail.
func receivedText(t *testing.T, r mailtest.Received) (subject, text, html string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(r.Raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		} else {
			text = string(b)
		}
	}
	return subject, text, html
}

var linkToken = regexp.MustCompile(`https://pult\.example-school\.ch/#/parent/(confirm|reset)/([A-Za-z0-9_-]{43})`)

// tokenOf is the token of the link in the n-th received mail.
func (w *mailWorld) tokenOf(t *testing.T, n int, purpose string) string {
	t.Helper()
	got := w.smtp.Wait(t, n+1, 10*time.Second)
	_, text, html := receivedText(t, got[n])
	m := linkToken.FindStringSubmatch(text)
	if m == nil || m[1] != purpose {
		t.Fatalf("mail %d has no %s link: %s", n, purpose, text)
	}
	if !strings.Contains(html, m[0]) {
		t.Errorf("the HTML part lacks the link")
	}
	return m[2]
}

// TestParentRegistration: register, the confirmation mail arrives over SMTP in the chosen language as text and
// HTML; no login before the link; the link works once; then login works.
func TestParentRegistration(t *testing.T) {
	w := mustMailWorld(t)
	c := w.client("parent")
	mustDo(t, c, "POST", "/api/v1/parent/register", map[string]string{"email": "Mutter@Example.org", "password": password, "language": "en"}, http.StatusAccepted)
	got := w.smtp.Wait(t, 1, 10*time.Second)
	subject, text, _ := receivedText(t, got[0])
	if got[0].To != "mutter@example.org" || !got[0].TLS || subject != "Please confirm your address – Pult" || !strings.Contains(text, "Open the following link") {
		t.Errorf("confirmation mail to %q (tls %v): %q\n%s", got[0].To, got[0].TLS, subject, text)
	}
	token := w.tokenOf(t, 0, "confirm")

	status, code, _ := do(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": "mutter@example.org", "password": password})
	if status != http.StatusUnauthorized || code != "invalid_credentials" {
		t.Fatalf("login before confirming: %d %s", status, code)
	}
	mustDo(t, c, "POST", "/api/v1/parent/confirm", map[string]string{"token": token}, http.StatusNoContent)
	if status, code, _ := do(t, c, "POST", "/api/v1/parent/confirm", map[string]string{"token": token}); status != http.StatusGone || code != "link_invalid" {
		t.Errorf("the link opened twice: %d %s", status, code)
	}
	raw := mustDo(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": "MUTTER@example.org", "password": password}, http.StatusOK)
	if p := decodeJSON[struct {
		Parent struct{ Email, Language string }
	}](t, raw).Parent; p.Email != "mutter@example.org" || p.Language != "en" {
		t.Errorf("logged in as %+v", p)
	}
	env := decodeJSON[struct {
		User   any
		Parent *struct{ Email string }
	}](t, mustDo(t, c, "GET", "/api/v1/env", nil, http.StatusOK))
	if env.User != nil || env.Parent == nil || env.Parent.Email != "mutter@example.org" {
		t.Errorf("env of a parent: %+v", env)
	}
	// A parent session is no staff session: every school route refuses it.
	for _, path := range []string{"/api/v1/courses", "/api/v1/students", "/api/v1/me/devices", "/api/v1/changes"} {
		if status, code, _ := do(t, c, "GET", path, nil); status != http.StatusUnauthorized || code != "unauthenticated" {
			t.Errorf("GET %s as a parent: %d %s", path, status, code)
		}
	}
	mustDo(t, c, "DELETE", "/api/v1/session", nil, http.StatusNoContent)
	if status, _, _ := do(t, c, "GET", "/api/v1/parent/children", nil); status != http.StatusUnauthorized {
		t.Errorf("after logout: %d", status)
	}
}

// TestRegistrationTellsNothing: a new address and one with an account get the same answer, after at least the
// same time; only the mailbox learns the difference.
func TestRegistrationTellsNothing(t *testing.T) {
	w := mustMailWorld(t)
	w.createParent(t, "vater@example.org")
	floor := 400 * time.Millisecond
	answers := map[string]string{}
	for _, tc := range []struct{ name, path, email string }{
		{"RegisterNew", "/api/v1/parent/register", "neu@example.org"},
		{"RegisterExisting", "/api/v1/parent/register", "vater@example.org"},
		{"ResetKnown", "/api/v1/parent/password-reset", "vater@example.org"},
		{"ResetUnknown", "/api/v1/parent/password-reset", "niemand@example.org"},
	} {
		body := map[string]string{"email": tc.email}
		if strings.HasSuffix(tc.path, "register") {
			body["password"] = "another long password"
		}
		start := time.Now()
		status, _, raw := do(t, w.client(tc.name), "POST", tc.path, body)
		took := time.Since(start)
		if status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", tc.name, status, raw)
		}
		if took < floor {
			t.Errorf("%s answered after %v, before the floor of %v", tc.name, took, floor)
		}
		answers[tc.name] = string(raw)
	}
	if answers["RegisterNew"] != answers["RegisterExisting"] || answers["ResetKnown"] != answers["ResetUnknown"] || answers["RegisterNew"] != answers["ResetKnown"] {
		t.Errorf("answers differ: %q", answers)
	}
	got := w.smtp.Wait(t, 3, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := len(w.smtp.Mails()); n != 3 {
		t.Errorf("%d mails, want 3 (none to the unknown address)", n)
	}
	byTo := map[string][]string{}
	for _, m := range got {
		subject, _, _ := receivedText(t, m)
		byTo[m.To] = append(byTo[m.To], subject)
	}
	if s := byTo["vater@example.org"]; len(s) != 2 || !strings.Contains(strings.Join(s, "|"), "Sie haben bereits ein Konto") || !strings.Contains(strings.Join(s, "|"), "Passwort neu setzen") {
		t.Errorf("mails to the known address: %q", s)
	}
}

// TestPasswordReset: the reset link arrives by mail, sets the new password once, and can end every session.
func TestPasswordReset(t *testing.T) {
	w := mustMailWorld(t)
	w.createParent(t, "vater@example.org")
	old := w.parentLogin(t, "old browser", "vater@example.org")
	c := w.client("new browser")
	mustDo(t, c, "POST", "/api/v1/parent/password-reset", map[string]string{"email": "vater@example.org"}, http.StatusAccepted)
	token := w.tokenOf(t, 0, "reset")
	if status, code, _ := do(t, c, "POST", "/api/v1/parent/password-reset/confirm", map[string]any{"token": token, "password": "short"}); status != 422 || code != "validation_failed" {
		t.Errorf("a too short password: %d %s", status, code)
	}
	mustDo(t, c, "POST", "/api/v1/parent/password-reset/confirm", map[string]any{"token": token, "password": "the new long password", "endSessions": true}, http.StatusNoContent)
	if status, code, _ := do(t, c, "POST", "/api/v1/parent/password-reset/confirm", map[string]any{"token": token, "password": "a third long password"}); status != http.StatusGone || code != "link_invalid" {
		t.Errorf("the reset link used twice: %d %s", status, code)
	}
	if status, _, _ := do(t, old, "GET", "/api/v1/parent/children", nil); status != http.StatusUnauthorized {
		t.Errorf("the old session lives on after a reset that ends all sessions: %d", status)
	}
	if status, _, _ := do(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": "vater@example.org", "password": password}); status != http.StatusUnauthorized {
		t.Errorf("the old password still works: %d", status)
	}
	mustDo(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": "vater@example.org", "password": "the new long password"}, http.StatusOK)
}

// TestLinksExpire: an expired confirmation or reset link does nothing, and stays used up.
func TestLinksExpire(t *testing.T) {
	s := MustServer(t, nil)
	ctx := context.Background()
	pw, _ := s.hasher.Hash(ctx, password)
	confirm, confirmHash := newToken()
	if _, err := s.db.RegisterParent(ctx, "spaet@example.org", pw, "de", confirmHash, time.Now().Add(-time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	id := s.createParent(t, "frueh@example.org")
	reset, resetHash := newToken()
	if err := s.db.AddResetToken(ctx, id, resetHash, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	c := s.client("browser")
	if status, code, _ := do(t, c, "POST", "/api/v1/parent/confirm", map[string]string{"token": confirm}); status != http.StatusGone || code != "link_invalid" {
		t.Errorf("expired confirmation link: %d %s", status, code)
	}
	if p, err := s.db.ParentByEmail(ctx, "spaet@example.org"); err != nil || p.Confirmed() {
		t.Errorf("the expired link confirmed the account: %+v %v", p, err)
	}
	if status, code, _ := do(t, c, "POST", "/api/v1/parent/password-reset/confirm", map[string]string{"token": reset, "password": "a brand new password"}); status != http.StatusGone || code != "link_invalid" {
		t.Errorf("expired reset link: %d %s", status, code)
	}
	mustDo(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": "frueh@example.org", "password": password}, http.StatusOK)
}

// TestSecondRegistrationCannotSetThePassword: someone who registers another person's address again does not get
// to choose the password that the owner's link activates.
func TestSecondRegistrationCannotSetThePassword(t *testing.T) {
	w := mustMailWorld(t)
	mustDo(t, w.client("owner"), "POST", "/api/v1/parent/register", map[string]string{"email": "owner@example.org", "password": password}, http.StatusAccepted)
	ownerToken := w.tokenOf(t, 0, "confirm")
	mustDo(t, w.client("attacker"), "POST", "/api/v1/parent/register", map[string]string{"email": "owner@example.org", "password": "the attacker's password"}, http.StatusAccepted)
	w.smtp.Wait(t, 2, 10*time.Second)
	c := w.client("owner")
	mustDo(t, c, "POST", "/api/v1/parent/confirm", map[string]string{"token": ownerToken}, http.StatusNoContent)
	if status, _, _ := do(t, w.client("attacker"), "POST", "/api/v1/parent/session", map[string]string{"email": "owner@example.org", "password": "the attacker's password"}); status != http.StatusUnauthorized {
		t.Errorf("the attacker's password works: %d", status)
	}
	mustDo(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": "owner@example.org", "password": password}, http.StatusOK)
}

// TestAccessCodeEntropy: codes are 16 symbols of an alphabet without look-alikes, grouped by four: at least 60
// bits, and none repeats.
func TestAccessCodeEntropy(t *testing.T) {
	bits := float64(store.AccessCodeLength) * math.Log2(float64(len(store.AccessCodeAlphabet)))
	if bits < 60 {
		t.Errorf("access codes have %.1f bits, want at least 60", bits)
	}
	for _, ambiguous := range "01OILU" {
		if strings.ContainsRune(store.AccessCodeAlphabet, ambiguous) {
			t.Errorf("the alphabet has %q", ambiguous)
		}
	}
	h := MustHarness(t)
	format := regexp.MustCompile(`^[` + store.AccessCodeAlphabet + `]{4}(-[` + store.AccessCodeAlphabet + `]{4}){3}$`)
	seen := map[string]bool{}
	for range 200 {
		c := decodeJSON[struct{ Code string }](t, mustDo(t, h.adminA, "POST", h.fill("/api/v1/students/$s4/access-code"), nil, http.StatusCreated)).Code
		if !format.MatchString(c) || seen[c] {
			t.Fatalf("code %q: bad format or repeated", c)
		}
		seen[c] = true
	}
	if codes := decodeJSON[page[struct{ StudentID string }]](t, mustDo(t, h.adminA, "GET", "/api/v1/access-codes", nil, http.StatusOK)); len(codes.Items) != 3 {
		t.Errorf("%d live codes, want 3 (s1, s2, s4: a reissue revokes the old code)", len(codes.Items))
	}
}

// TestCodeGuessingIsLimited: after MaxCodeGuesses wrong codes an account waits, even with the right code; the
// limit also holds for the address across accounts; every refusal is audited.
func TestCodeGuessingIsLimited(t *testing.T) {
	h := MustHarness(t)
	if server.MaxCodeGuesses > 10 {
		t.Errorf("MaxCodeGuesses = %d, want at most 10", server.MaxCodeGuesses)
	}
	// With 10 guesses at once and one a minute after that, the chance to hit one of the school's codes in a year
	// stays far below one in a billion even for a million live codes.
	guessesPerYear := float64(server.MaxCodeGuesses) + 365*24*60
	if p := guessesPerYear * 1e6 / math.Pow(float64(len(store.AccessCodeAlphabet)), store.AccessCodeLength); p > 1e-9 {
		t.Errorf("a year of guessing hits a code with probability %g", p)
	}
	for i := range server.MaxCodeGuesses {
		status, code, _ := do(t, h.parent, "POST", "/api/v1/parent/children", map[string]string{"code": "ZZZZ-ZZZZ-ZZZZ-ZZZ" + string(store.AccessCodeAlphabet[i])})
		if status != http.StatusUnprocessableEntity || code != "validation_failed" {
			t.Fatalf("wrong code %d: %d %s", i+1, status, code)
		}
	}
	res, code, _ := h.parent.send(t, h.parent.newRequest(t, "POST", "/api/v1/parent/children", map[string]string{"code": h.ids["$accessCode2"]}))
	if res.StatusCode != http.StatusTooManyRequests || code != "too_many_attempts" || res.Header.Get("Retry-After") == "" {
		t.Errorf("the right code after %d wrong ones: %d %s", server.MaxCodeGuesses, res.StatusCode, code)
	}
	// Another account from the same address meets the same limit.
	h.createParent(t, "p3@example.org")
	p3 := h.parentLogin(t, "p3", "p3@example.org")
	if status, code, _ := do(t, p3, "POST", "/api/v1/parent/children", map[string]string{"code": h.ids["$accessCode2"]}); status != http.StatusTooManyRequests {
		t.Errorf("another account from the same address: %d %s", status, code)
	}
	children := decodeJSON[page[struct{ StudentID string }]](t, mustDo(t, h.parent, "GET", "/api/v1/parent/children", nil, http.StatusOK))
	if len(children.Items) != 1 {
		t.Errorf("the guessing account has %d children, want 1", len(children.Items))
	}
	n, err := h.file.Query(`SELECT COUNT(*) FROM audit_log WHERE action = 'access_code_redeem' AND outcome = 'refused'`)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var refused int
	for n.Next() {
		n.Scan(&refused)
	}
	if refused != server.MaxCodeGuesses+2 {
		t.Errorf("%d refusals audited, want %d", refused, server.MaxCodeGuesses+2)
	}
}

// TestRevokedCode: a revoked code adds nothing, and the accounts that used it (and their shares) lose the child
// at once; a reissued code works.
func TestRevokedCode(t *testing.T) {
	h := MustHarness(t)
	h.createParent(t, "oma@example.org")
	oma := h.parentLogin(t, "oma", "oma@example.org")
	mustDo(t, oma, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusOK) // shared by parent 1
	mustDo(t, h.adminA, "DELETE", h.fill("/api/v1/students/$s2/access-code"), nil, http.StatusNoContent)
	if status, code, _ := do(t, h.parent, "POST", "/api/v1/parent/children", map[string]string{"code": h.ids["$accessCode2"]}); status != 422 || code != "validation_failed" {
		t.Errorf("a revoked code: %d %s", status, code)
	}
	mustDo(t, h.adminA, "DELETE", h.fill("/api/v1/students/$s1/access-code"), nil, http.StatusNoContent)
	for _, c := range []*client{h.parent, oma} {
		if status, _, _ := do(t, c, "GET", h.fill("/api/v1/parent/children/$s1"), nil); status != http.StatusNotFound {
			t.Errorf("%s sees the child after its code was revoked: %d", c.name, status)
		}
	}
	if status, _, _ := do(t, h.adminA, "DELETE", h.fill("/api/v1/students/$s1/access-code"), nil); status != http.StatusNotFound {
		t.Errorf("revoking twice: %d", status)
	}
	code := decodeJSON[struct{ Code string }](t, mustDo(t, h.adminA, "POST", h.fill("/api/v1/students/$s1/access-code"), nil, http.StatusCreated)).Code
	mustDo(t, h.parent, "POST", "/api/v1/parent/children", map[string]string{"code": strings.ToLower(strings.ReplaceAll(code, "-", " "))}, http.StatusCreated)
	mustDo(t, h.parent, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusOK)
}

// TestChildView: parents see the child's courses, lessons, homework, the note for parents and the child's own
// attendance; never the internal note, the attendance comment or another student.
func TestChildView(t *testing.T) {
	h := MustHarness(t)
	mustDo(t, h.t1, "PATCH", h.fill("/api/v1/lessons/$lesson1"), map[string]string{"homework": "Seite 12 üben", "note": "INTERN: Eltern anrufen",
		"parentNote": "Bitte Noten mitbringen"}, http.StatusOK)
	mustDo(t, h.t1, "PUT", h.fill("/api/v1/lessons/$lesson1/attendance/$s1"), map[string]any{"status": "late", "lateMinutes": 7, "comment": "INTERN: Bus"}, http.StatusOK)
	mustDo(t, h.t1, "PUT", h.fill("/api/v1/lessons/$lesson1/attendance/$s2"), map[string]any{"status": "unexcused"}, http.StatusOK)
	raw := mustDo(t, h.parent, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusOK)
	v := decodeJSON[store.ChildView](t, raw)
	if v.FirstName != "Anna" || v.SchoolName != "Schule A" || len(v.Courses) != 1 || v.Courses[0].Name != "Klavier 1" || len(v.Courses[0].Lessons) != 1 {
		t.Fatalf("child view: %s", raw)
	}
	l := v.Courses[0].Lessons[0]
	if l.Homework != "Seite 12 üben" || l.ParentNote != "Bitte Noten mitbringen" || l.Attendance == nil || l.Attendance.Status != "late" || l.Attendance.LateMinutes != 7 {
		t.Errorf("lesson as parents see it: %+v", l)
	}
	for _, internal := range []string{"INTERN", "Ben", "Bäcker", "unexcused", h.ids["$s2"]} {
		if strings.Contains(string(raw), internal) {
			t.Errorf("the child view shows %q: %s", internal, raw)
		}
	}
}

// TestSharedAccess: a share shows the same child to the other account; revoking it ends that at once. The
// share cannot be passed on.
func TestSharedAccess(t *testing.T) {
	h := MustHarness(t)
	h.createParent(t, "kind@example.org")
	kid := h.parentLogin(t, "kid", "kind@example.org")
	mustDo(t, kid, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusNotFound)
	share := decodeJSON[idOnly](t, mustDo(t, h.parent, "POST", h.fill("/api/v1/parent/children/$s1/shares"), map[string]string{"email": "Kind@example.org"}, http.StatusCreated))
	if status, code, _ := do(t, h.parent, "POST", h.fill("/api/v1/parent/children/$s1/shares"), map[string]string{"email": "kind@example.org"}); status != http.StatusConflict {
		t.Errorf("sharing twice: %d %s", status, code)
	}
	want := mustDo(t, h.parent, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusOK)
	got := mustDo(t, kid, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusOK)
	strip := func(raw []byte) string { return strings.Replace(string(raw), `"shared":true`, `"shared":false`, 1) }
	if strip(got) != strip(want) {
		t.Errorf("the shared view differs:\n%s\n%s", got, want)
	}
	if status, _, _ := do(t, kid, "POST", h.fill("/api/v1/parent/children/$s1/shares"), map[string]string{"email": "fremd@example.org"}); status != http.StatusNotFound {
		t.Errorf("the grantee passed the share on: %d", status)
	}
	mustDo(t, h.parent, "DELETE", h.fill("/api/v1/parent/children/$s1/shares/"+share.ID), nil, http.StatusNoContent)
	audit := string(mustDo(t, h.adminA, "GET", "/api/v1/audit.csv", nil, http.StatusOK))
	for _, action := range []string{"child_shared", "share_revoked", "access_code_redeem", "access_code_issued"} {
		if !strings.Contains(audit, action) {
			t.Errorf("school A's audit log lacks %s", action)
		}
	}
	if strings.Contains(string(mustDo(t, h.adminB, "GET", "/api/v1/audit.csv", nil, http.StatusOK)), "child_shared") {
		t.Error("school B's audit log shows school A's share")
	}
	mustDo(t, kid, "GET", h.fill("/api/v1/parent/children/$s1"), nil, http.StatusNotFound)
	if list := decodeJSON[page[idOnly]](t, mustDo(t, kid, "GET", "/api/v1/parent/children", nil, http.StatusOK)); len(list.Items) != 0 {
		t.Errorf("after the revoke the kid's list has %d children", len(list.Items))
	}
}

// TestChildrenAtTwoSchools: one account holds children of two schools; each school's admin sees the account with
// its own child only.
func TestChildrenAtTwoSchools(t *testing.T) {
	h := MustHarness(t)
	codeB := decodeJSON[struct{ Code string }](t, mustDo(t, h.adminB, "POST", h.fill("/api/v1/students/$sB/access-code"), nil, http.StatusCreated)).Code
	mustDo(t, h.parent, "POST", "/api/v1/parent/children", map[string]string{"code": codeB}, http.StatusCreated)
	list := decodeJSON[page[store.Child]](t, mustDo(t, h.parent, "GET", "/api/v1/parent/children", nil, http.StatusOK))
	if len(list.Items) != 2 || list.Items[0].SchoolName != "Schule A" || list.Items[1].SchoolName != "Schule B" {
		t.Fatalf("children: %+v", list.Items)
	}
	mustDo(t, h.parent, "GET", h.fill("/api/v1/parent/children/$sB"), nil, http.StatusOK)
	regB := string(mustDo(t, h.adminB, "GET", "/api/v1/parents", nil, http.StatusOK))
	if !strings.Contains(regB, "p1@example.org") || !strings.Contains(regB, "Berta") || strings.Contains(regB, "Anna") || strings.Contains(regB, h.ids["$s1"]) {
		t.Errorf("school B's registrations: %s", regB)
	}
	regA := decodeJSON[page[store.Registrant]](t, mustDo(t, h.adminA, "GET", "/api/v1/parents", nil, http.StatusOK))
	if len(regA.Items) != 1 || !regA.Items[0].Confirmed || len(regA.Items[0].Children) != 1 || regA.Items[0].Children[0].Name != "Anna Albrecht" {
		t.Errorf("school A's registrations: %+v", regA.Items)
	}
}

// TestTemplatesAndLetters: a template with an unknown placeholder is refused at saving, naming it; letters for a
// course carry every student's working code; mailed letters wait in the school's outbox without SMTP.
func TestTemplatesAndLetters(t *testing.T) {
	h := MustHarness(t)
	before := h.fingerprint(t)
	status, _, raw := do(t, h.adminA, "POST", "/api/v1/letter-templates", map[string]string{"name": "Brief", "subject": "Hallo {{name}}", "body": "Code {{code}} für {{vorname}}"})
	e := errorOf(raw)
	if status != 422 || e.Fields["body"] != "unknown_placeholder" || !strings.Contains(e.Message, "{{vorname}}") {
		t.Errorf("unknown placeholder: %d %s", status, raw)
	}
	if h.fingerprint(t) != before {
		t.Error("the refused template changed the store")
	}
	preview := decodeJSON[struct{ Subject, Body string }](t, mustDo(t, h.adminA, "POST", "/api/v1/letter-templates/preview",
		map[string]string{"subject": "Zugang für {{name}}", "body": "{{school}}: Code {{code}}"}, http.StatusOK))
	if preview.Subject != "Zugang für Anna Beispiel" || preview.Body != "Schule A: Code ABCD-EFGH-JKMN-PQRS" {
		t.Errorf("preview: %+v", preview)
	}
	mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/students/$s2"), map[string]string{"guardianEmail": "eltern.b@example.org"}, http.StatusOK)
	letters := decodeJSON[struct{ Letters []store.Letter }](t, mustDo(t, h.adminA, "POST", "/api/v1/letters",
		map[string]string{"templateId": h.ids["$template"], "courseId": h.ids["$course1"]}, http.StatusOK)).Letters
	if len(letters) != 2 {
		t.Fatalf("%d letters for course 1, want 2", len(letters))
	}
	for _, l := range letters {
		code := strings.TrimPrefix(l.Body, "Ihr Code: ")
		if l.StudentID == h.ids["$s2"] && code != h.ids["$accessCode2"] {
			t.Errorf("s2's letter has code %q, want its live code %q", code, h.ids["$accessCode2"])
		}
	}
	mailed := decodeJSON[struct {
		Queued         int
		WithoutAddress []string
	}](t, mustDo(t, h.adminA, "POST", "/api/v1/letters/mail", map[string]string{"templateId": h.ids["$template"], "courseId": h.ids["$course1"]}, http.StatusOK))
	if mailed.Queued != 1 || len(mailed.WithoutAddress) != 1 || mailed.WithoutAddress[0] != h.ids["$s1"] {
		t.Errorf("mailed: %+v", mailed)
	}
	out := decodeJSON[struct {
		Sends bool
		Items []store.Mail
	}](t, mustDo(t, h.adminA, "GET", "/api/v1/outbox", nil, http.StatusOK))
	if out.Sends || len(out.Items) != 1 || out.Items[0].To != "eltern.b@example.org" || out.Items[0].State != "held" || out.Items[0].Subject != "Zugang für Ben Bäcker" {
		t.Errorf("outbox: %+v", out)
	}
	if other := decodeJSON[struct{ Items []store.Mail }](t, mustDo(t, h.adminB, "GET", "/api/v1/outbox", nil, http.StatusOK)); len(other.Items) != 0 {
		t.Errorf("school B's outbox shows %d mails", len(other.Items))
	}
}

// TestOperatorOutbox: without SMTP the confirmation link of a registration waits in the server's outbox, which
// the server's operator reads in the UI; a school's admin cannot, and the operator sees no school's letters.
func TestOperatorOutbox(t *testing.T) {
	h := MustHarness(t)
	mustDo(t, h.adminA, "PATCH", h.fill("/api/v1/students/$s1"), map[string]string{"guardianEmail": "eltern.a@example.org"}, http.StatusOK)
	mustDo(t, h.adminA, "POST", "/api/v1/letters/mail", map[string]any{"templateId": h.ids["$template"], "studentIds": []string{h.ids["$s1"]}}, http.StatusOK)
	mustDo(t, h.client("newcomer"), "POST", "/api/v1/parent/register", map[string]string{"email": "neue.mutter@example.org", "password": password, "language": "de"}, http.StatusAccepted)

	type outbox struct {
		Sends bool
		Items []store.Mail
	}
	out := decodeJSON[outbox](t, mustDo(t, h.adminB, "GET", "/api/v1/server/outbox", nil, http.StatusOK))
	if out.Sends || len(out.Items) != 1 || out.Items[0].To != "neue.mutter@example.org" || out.Items[0].State != "held" {
		t.Fatalf("the operator's outbox: %+v", out)
	}
	if !strings.Contains(out.Items[0].Text, "/#/parent/confirm/") {
		t.Errorf("the held confirmation mail has no link: %q", out.Items[0].Text)
	}
	// School A's letter stays with school A's admin, who is no operator.
	if school := decodeJSON[outbox](t, mustDo(t, h.adminA, "GET", "/api/v1/outbox", nil, http.StatusOK)); len(school.Items) != 1 || school.Items[0].To != "eltern.a@example.org" {
		t.Errorf("school A's outbox: %+v", school)
	}
	for name, c := range map[string]*client{"admin A": h.adminA, "teacher": h.t1, "parent": h.parent} {
		if status, code, _ := do(t, c, "GET", "/api/v1/server/outbox", nil); status == http.StatusOK || (code != "forbidden" && code != "unauthenticated") {
			t.Errorf("%s reads the server's outbox: %d %s", name, status, code)
		}
	}

	// The command line takes the role back; the next request already counts without it.
	if _, err := h.db.SetOperator(context.Background(), "admin.b", false); err != nil {
		t.Fatal(err)
	}
	if status, code, _ := do(t, h.adminB, "GET", "/api/v1/server/outbox", nil); status != http.StatusForbidden || code != "forbidden" {
		t.Errorf("after revoking, admin B reads the server's outbox: %d %s", status, code)
	}
	if me := decodeJSON[struct{ User struct{ Operator bool } }](t, mustDo(t, h.adminB, "GET", "/api/v1/env", nil, http.StatusOK)); me.User.Operator {
		t.Error("env still shows admin B as operator")
	}
}

// newToken is a one-time link token and its stored hash.
func newToken() (string, []byte) { return auth.NewToken() }

// TestParentLoginLock: wrong passwords lock a parent's address like a staff username, whether it has an account
// or not.
func TestParentLoginLock(t *testing.T) {
	s := MustServer(t, nil)
	s.createParent(t, "vater@example.org")
	for _, email := range []string{"vater@example.org", "niemand@example.org"} {
		c := s.client(email)
		for i := range 5 {
			if status, code, _ := do(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": email, "password": "wrong password " + string(rune('a'+i))}); status != http.StatusUnauthorized {
				t.Fatalf("%s wrong password %d: %d %s", email, i+1, status, code)
			}
		}
		if status, code, _ := do(t, c, "POST", "/api/v1/parent/session", map[string]string{"email": email, "password": password}); status != http.StatusTooManyRequests || code != "too_many_attempts" {
			t.Errorf("%s after 5 wrong passwords: %d %s", email, status, code)
		}
	}
}

// TestConfirmLinkOnceUnderRace: the same link opened in several browsers at once confirms once; the others are
// told the link is used.
func TestConfirmLinkOnceUnderRace(t *testing.T) {
	s := MustServer(t, nil)
	ctx := context.Background()
	pw, _ := s.hasher.Hash(ctx, password)
	token, hash := newToken()
	if _, err := s.db.RegisterParent(ctx, "eilig@example.org", pw, "de", hash, time.Now().Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	const browsers = 6
	statuses := make(chan int, browsers)
	for i := range browsers {
		go func() {
			c := s.client(fmt.Sprint("browser ", i))
			res, _, _ := c.send(t, c.newRequest(t, "POST", "/api/v1/parent/confirm", map[string]string{"token": token}))
			statuses <- res.StatusCode
		}()
	}
	counts := map[int]int{}
	for range browsers {
		counts[<-statuses]++
	}
	if counts[http.StatusNoContent] != 1 || counts[http.StatusGone] != browsers-1 {
		t.Errorf("answers %v, want one 204 and %d 410", counts, browsers-1)
	}
}

// TestRegistrationFromLetter: a parent who registers with the link of a school's letter shows in that school's
// list at once, unconfirmed; another school sees nothing, and a made-up school changes the answer in no way.
func TestRegistrationFromLetter(t *testing.T) {
	h := MustHarness(t)
	link := decodeJSON[struct{ Body string }](t, mustDo(t, h.adminA, "POST", "/api/v1/letter-templates/preview",
		map[string]string{"subject": "Zugang", "body": "{{link}}"}, http.StatusOK)).Body
	if !strings.HasSuffix(link, "/#/parent/register?school="+schoolOf(t, h, h.adminA)) {
		t.Fatalf("the letter's link %q does not name the school", link)
	}
	var answers []string
	for _, tc := range []struct{ email, school string }{{"brief@example.org", schoolOf(t, h, h.adminA)}, {"erfunden@example.org", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}} {
		answers = append(answers, string(mustDo(t, h.client(tc.email), "POST", "/api/v1/parent/register",
			map[string]string{"email": tc.email, "password": password, "school": tc.school}, http.StatusAccepted)))
	}
	if answers[0] != answers[1] {
		t.Errorf("answers differ: %q", answers)
	}
	regs := decodeJSON[page[store.Registrant]](t, mustDo(t, h.adminA, "GET", "/api/v1/parents", nil, http.StatusOK))
	found := false
	for _, r := range regs.Items {
		if r.Email == "brief@example.org" {
			found = !r.Confirmed && len(r.Children) == 0
		}
		if r.Email == "erfunden@example.org" {
			t.Error("a registration naming another school shows")
		}
	}
	if !found {
		t.Errorf("school A's list lacks the unconfirmed registration from its letter: %+v", regs.Items)
	}
	if strings.Contains(string(mustDo(t, h.adminB, "GET", "/api/v1/parents", nil, http.StatusOK)), "brief@example.org") {
		t.Error("school B sees school A's registration")
	}
}

// schoolOf is the school id of a logged-in staff member.
func schoolOf(t *testing.T, h *harness, c *client) string {
	t.Helper()
	return decodeJSON[struct{ User struct{ SchoolID string } }](t, mustDo(t, c, "GET", "/api/v1/env", nil, http.StatusOK)).User.SchoolID
}

// TestMailsToOneAddressAreLimited: however many requests name an address, it gets MaxMailsToAddress mails at
// once; the answers stay the same.
func TestMailsToOneAddressAreLimited(t *testing.T) {
	s := MustServer(t, func(c *server.Config) { c.AnonymousFloor = time.Millisecond })
	s.createParent(t, "opfer@example.org")
	for i := range server.MaxMailsToAddress + 3 {
		mustDo(t, s.client(fmt.Sprint("browser ", i)), "POST", "/api/v1/parent/password-reset", map[string]string{"email": "opfer@example.org"}, http.StatusAccepted)
	}
	mails, err := s.db.ServerOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != server.MaxMailsToAddress {
		t.Errorf("%d mails to one address, want %d", len(mails), server.MaxMailsToAddress)
	}
}
