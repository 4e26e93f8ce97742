package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"pult/backend/server"
	"pult/store"
)

type licenseBody struct {
	ID, Code, Holder, TeacherID, HolderName string
	Device                                  *struct {
		ID, State, OSUser string
		Wipe              *struct{ RequestedAt, DoneAt string }
	}
}

// createLicenses makes n licenses as the world's admin.
func (w *trustWorld) createLicenses(n int) []licenseBody {
	w.t.Helper()
	a := w.admin.do("POST", "/api/v1/licenses", map[string]int{"count": n})
	var out struct{ Licenses []licenseBody }
	if json.Unmarshal(a.body, &out); a.status != http.StatusCreated || len(out.Licenses) != n {
		w.t.Fatalf("create licenses: %d %s", a.status, a.body)
	}
	return out.Licenses
}

func (w *trustWorld) assign(id string, holder map[string]string) licenseBody {
	w.t.Helper()
	a := w.admin.do("PUT", "/api/v1/licenses/"+id+"/holder", holder)
	var l licenseBody
	if json.Unmarshal(a.body, &l); a.status != http.StatusOK {
		w.t.Fatalf("assign: %d %s", a.status, a.body)
	}
	return l
}

func (w *trustWorld) licenses() []licenseBody {
	w.t.Helper()
	var out struct{ Items []licenseBody }
	json.Unmarshal(w.admin.do("GET", "/api/v1/licenses", nil).body, &out)
	return out.Items
}

// later moves the world's clock on; the admin logs in again (sessions end after 30 idle minutes).
func (w *trustWorld) later(d time.Duration) {
	w.t.Helper()
	w.now = w.now.Add(d)
	w.admin.mustLogin("admin", "admin-password")
}

// enrollApp is a fresh desktop app that enrolls with a license code.
func enrollApp(t *testing.T, w *trustWorld, code string) (*desktopApp, answer) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d := &desktopApp{b: w.browser(), priv: priv, token: sha256.Sum256(append([]byte("machine|lehrer|"), pub...))}
	a := d.b.do("POST", "/api/v1/devices/desktop/enroll", map[string]string{"licenseCode": code, "publicKey": base64.StdEncoding.EncodeToString(pub),
		"tokenHash": hex.EncodeToString(d.token[:]), "name": "Laptop", "platform": "Windows 11", "osUser": "lehrer"})
	var body struct{ DeviceID string }
	json.Unmarshal(a.body, &body)
	d.id = body.DeviceID
	return d, a
}

type enrolled struct {
	DeviceID, SecurityCode, SchoolName string
}

func mustEnroll(t *testing.T, w *trustWorld, code string) (*desktopApp, enrolled) {
	t.Helper()
	d, a := enrollApp(t, w, code)
	var e enrolled
	if json.Unmarshal(a.body, &e); a.status != http.StatusCreated || len(store.NormalizeCode(e.SecurityCode)) != 9 {
		t.Fatalf("enroll: %d %s", a.status, a.body)
	}
	return d, e
}

// signed is the device's answer to a fresh challenge for purpose.
func (d *desktopApp) signed(t *testing.T, purpose string) map[string]string {
	t.Helper()
	a := d.b.do("POST", "/api/v1/devices/desktop/challenge", map[string]string{"deviceId": d.id})
	var c struct{ Challenge string }
	if json.Unmarshal(a.body, &c); a.status != http.StatusOK {
		t.Fatalf("challenge: %d %s", a.status, a.body)
	}
	sig := ed25519.Sign(d.priv, store.DeviceMessage(purpose, c.Challenge))
	return map[string]string{"deviceId": d.id, "challenge": c.Challenge, "signature": base64.StdEncoding.EncodeToString(sig), "tokenHash": hex.EncodeToString(d.token[:])}
}

type deviceStatus struct{ State, SecurityCode string }

func (d *desktopApp) status(t *testing.T) deviceStatus {
	t.Helper()
	a := d.b.do("POST", "/api/v1/devices/desktop/status", d.signed(t, "status"))
	var st deviceStatus
	if json.Unmarshal(a.body, &st); a.status != http.StatusOK {
		t.Fatalf("status: %d %s", a.status, a.body)
	}
	return st
}

func auditHas(t *testing.T, w *trustWorld, lines ...string) {
	t.Helper()
	csv := string(w.admin.do("GET", "/api/v1/audit.csv", nil).body)
	for _, want := range lines {
		if !strings.Contains(csv, want) {
			t.Errorf("audit lacks %q", want)
		}
	}
}

func TestLicenseEnrollTeacher(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	lic := w.createLicenses(2)
	if l := w.assign(lic[0].ID, map[string]string{"teacherId": teacher}); l.Holder != "teacher" || l.HolderName != "T k.lehrer" {
		t.Fatalf("assigned: %+v", l)
	}
	// Typed as people type: small letters, spaces instead of dashes.
	app, e := mustEnroll(t, w, " "+strings.ToLower(strings.ReplaceAll(lic[0].Code, "-", " ")))
	if e.SchoolName != "Schule am See" {
		t.Errorf("school = %q", e.SchoolName)
	}
	if st := app.status(t); st.State != "pending" || st.SecurityCode != e.SecurityCode {
		t.Errorf("status: %+v, want pending with %s", st, e.SecurityCode)
	}
	if l := w.licenses()[0]; l.Device == nil || l.Device.ID != app.id || l.Device.State != "pending" || l.Device.OSUser != "lehrer" {
		t.Errorf("license's device: %+v", l.Device)
	}
	// The admin's existing flow: type the code the teacher reads out.
	if a := w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": e.SecurityCode}); a.status != http.StatusOK {
		t.Fatalf("approve: %d %s", a.status, a.body)
	}
	if st := app.status(t); st.State != "trusted" || st.SecurityCode != "" {
		t.Errorf("status after approval: %+v", st)
	}
	w.later(31 * 24 * time.Hour) // learning mode over: only the approval lets the teacher in
	if a := app.login("k.lehrer", "teacher-password", app.proof(t, "k.lehrer")); a.status != http.StatusOK {
		t.Errorf("login from the enrolled desktop: %d %s", a.status, a.body)
	}
	t.Run("ErrInUse", func(t *testing.T) {
		if _, a := enrollApp(t, w, lic[0].Code); a.status != http.StatusConflict || a.code() != "license_in_use" {
			t.Errorf("second enrollment: %d %s", a.status, a.body)
		}
		if a := w.admin.do("DELETE", "/api/v1/licenses/"+lic[0].ID, nil); a.status != http.StatusConflict || a.code() != "license_in_use" {
			t.Errorf("deleting a license with a device: %d %s", a.status, a.body)
		}
	})
	t.Run("ErrUnassigned", func(t *testing.T) {
		if _, a := enrollApp(t, w, lic[1].Code); a.status != http.StatusNotFound || a.code() != "license_invalid" {
			t.Errorf("an unassigned license: %d %s", a.status, a.body)
		}
	})
	t.Run("DetachAndDelete", func(t *testing.T) {
		if a := w.admin.do("DELETE", "/api/v1/licenses/"+lic[0].ID+"/holder", nil); a.status != http.StatusOK {
			t.Fatalf("detach: %d %s", a.status, a.body)
		}
		if st := app.status(t); st.State != "trusted" {
			t.Errorf("the detached license's device: %+v", st)
		}
		if a := w.admin.do("DELETE", "/api/v1/licenses/"+lic[0].ID, nil); a.status != http.StatusNoContent {
			t.Errorf("delete: %d %s", a.status, a.body)
		}
	})
	auditHas(t, w, "device_enrolled,done,teacher_license", "device_approved,done", "device_enrolled,refused,license_in_use", "license_assigned,done,teacher_license")
}

func TestLicenseEnrollLocation(t *testing.T) {
	w := newTrustWorld(t)
	w.createTeacher("k.lehrer")
	w.createTeacher("m.muster")
	lic := w.createLicenses(1)[0]
	w.assign(lic.ID, map[string]string{"location": "Zimmer 12"})
	app, e := mustEnroll(t, w, lic.Code)
	w.later(31 * 24 * time.Hour)
	if a := app.login("m.muster", "teacher-password", app.proof(t, "m.muster")); a.code() != "device_pending" {
		t.Errorf("a teacher on the unapproved terminal: %d %s", a.status, a.body)
	}
	wrong := "000-000-000"
	if store.NormalizeCode(e.SecurityCode) == "000000000" {
		wrong = "000-000-001"
	}
	if a := w.admin.do("POST", "/api/v1/licenses/"+lic.ID+"/approve", map[string]string{"code": wrong}); a.status != http.StatusUnprocessableEntity || !strings.Contains(string(a.body), `"code":"invalid"`) {
		t.Errorf("a wrong code: %d %s", a.status, a.body)
	}
	a := w.admin.do("POST", "/api/v1/licenses/"+lic.ID+"/approve", map[string]string{"code": e.SecurityCode})
	var l licenseBody
	if json.Unmarshal(a.body, &l); a.status != http.StatusOK || l.Device == nil || l.Device.State != "trusted" || l.HolderName != "Zimmer 12" {
		t.Fatalf("approve: %d %s", a.status, a.body)
	}
	if st := app.status(t); st.State != "trusted" {
		t.Errorf("status: %+v", st)
	}
	for _, u := range []string{"k.lehrer", "m.muster"} {
		if a := app.login(u, "teacher-password", app.proof(t, u)); a.status != http.StatusOK {
			t.Errorf("%s on the approved terminal: %d %s", u, a.status, a.body)
		}
		app.b.do("DELETE", "/api/v1/session", nil)
	}
	auditHas(t, w, "device_enrolled,done,location_license", "device_approved,done,location_license", "login,allowed,location_license", "device_approved,refused,wrong_code")
}

func TestDeviceStatusProof(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	lic := w.createLicenses(1)[0]
	w.assign(lic.ID, map[string]string{"teacherId": teacher})
	app, _ := mustEnroll(t, w, lic.Code)
	good := app.signed(t, "status")
	if a := app.b.do("POST", "/api/v1/devices/desktop/status", good); a.status != http.StatusOK {
		t.Fatalf("a good proof: %d %s", a.status, a.body)
	}
	other, _ := mustEnroll(t, w, lic.Code) // replaces the pending app
	for name, body := range map[string]func() map[string]string{
		"Replayed": func() map[string]string { return good },
		"Tampered": func() map[string]string {
			p := app.signed(t, "status")
			sig, _ := base64.StdEncoding.DecodeString(p["signature"])
			sig[7] ^= 1
			p["signature"] = base64.StdEncoding.EncodeToString(sig)
			return p
		},
		"WipedSignature": func() map[string]string {
			p := app.signed(t, "wiped")
			return p
		},
		"LoginSignature": func() map[string]string {
			p := app.signed(t, "status")
			p["signature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(app.priv, store.LoginMessage(p["challenge"], "k.lehrer")))
			return p
		},
		"WrongToken": func() map[string]string {
			p := app.signed(t, "status")
			p["tokenHash"] = strings.Repeat("ab", 32)
			return p
		},
		"OtherDevicesChallenge": func() map[string]string {
			p := other.signed(t, "status")
			p["deviceId"] = app.id
			p["signature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(app.priv, store.DeviceMessage("status", p["challenge"])))
			return p
		},
		"NotBase64": func() map[string]string {
			p := app.signed(t, "status")
			p["signature"] = "%%%"
			return p
		},
		"NotAnID": func() map[string]string {
			p := app.signed(t, "status")
			p["deviceId"] = "x"
			return p
		},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			b := body()
			if a := app.b.do("POST", "/api/v1/devices/desktop/status", b); a.status != http.StatusUnauthorized || a.code() != "device_proof_invalid" {
				t.Errorf("status: %d %s", a.status, a.body)
			}
			if name != "Replayed" && name != "WipedSignature" {
				return
			}
			if a := app.b.do("POST", "/api/v1/devices/desktop/wiped", b); a.status != http.StatusUnauthorized || a.code() != "device_proof_invalid" {
				t.Errorf("wiped: %d %s", a.status, a.body)
			}
		})
	}
	if st := app.status(t); st.State != "rejected" {
		t.Errorf("the replaced app: %+v", st)
	}
}

func TestRemoteWipeReceipt(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	lic := w.createLicenses(1)[0]
	w.assign(lic.ID, map[string]string{"teacherId": teacher})
	app, e := mustEnroll(t, w, lic.Code)
	w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": e.SecurityCode})
	w.later(time.Hour)
	if a := w.admin.do("PATCH", "/api/v1/users/"+teacher+"/devices/"+app.id, map[string]string{"state": "blocked"}); a.status != http.StatusOK ||
		!strings.Contains(string(a.body), `"wipe":{"requestedAt":"2026-11-02T09:00:00Z"}`) {
		t.Fatalf("block: %d %s", a.status, a.body)
	}
	if st := app.status(t); st.State != "blocked" {
		t.Errorf("status: %+v", st)
	}
	w.later(time.Minute)
	if a := app.b.do("POST", "/api/v1/devices/desktop/wiped", app.signed(t, "wiped")); a.status != http.StatusNoContent {
		t.Fatalf("receipt: %d %s", a.status, a.body)
	}
	for _, path := range []string{"/api/v1/users/" + teacher + "/devices", "/api/v1/devices"} {
		if body := string(w.admin.do("GET", path, nil).body); !strings.Contains(body, `"wipe":{"requestedAt":"2026-11-02T09:00:00Z","doneAt":"2026-11-02T09:01:00Z"}`) {
			t.Errorf("%s lacks the receipt: %s", path, body)
		}
	}
	if l := w.licenses()[0]; l.Device == nil || l.Device.Wipe == nil || l.Device.Wipe.DoneAt != "2026-11-02T09:01:00Z" {
		t.Errorf("license's device: %+v", l.Device)
	}
	auditHas(t, w, "device_blocked,done", "device_wipe_requested,done", "device_wiped,done")
}

// TestLicenseGuessing: wrong license codes from one address hit a limit, after which even a right code waits;
// each wrong code is in the server's audit log.
func TestLicenseGuessing(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	lic := w.createLicenses(1)[0]
	w.assign(lic.ID, map[string]string{"teacherId": teacher})
	guesses := 0
	for ; guesses < 30; guesses++ {
		_, a := enrollApp(t, w, "ABCD-EFGH-JKMN-PQ"+string(rune('A'+guesses%20))+"S")
		if a.status == http.StatusTooManyRequests {
			if a.code() != "too_many_attempts" || a.header.Get("Retry-After") == "" {
				t.Errorf("limit: %d %s %v", a.status, a.body, a.header)
			}
			break
		}
		if a.status != http.StatusNotFound || a.code() != "license_invalid" {
			t.Fatalf("guess %d: %d %s", guesses, a.status, a.body)
		}
	}
	if guesses != 10 {
		t.Errorf("%d guesses before the limit, want 10", guesses)
	}
	if _, a := enrollApp(t, w, lic.Code); a.status != http.StatusTooManyRequests {
		t.Errorf("the right code after the limit: %d %s", a.status, a.body)
	}
	var refused int
	if err := w.raw().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'device_enrolled' AND outcome = 'refused' AND reason = 'license_invalid'`).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	if refused != 10 {
		t.Errorf("%d wrong codes audited, want 10", refused)
	}
}

// TestLicenseSheet: the printed sheet's links carry the public address and, with certificate files, the
// certificate's fingerprint; each has its QR code as an SVG without style attributes.
func TestLicenseSheet(t *testing.T) {
	const fp = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
	for _, tc := range []struct {
		name   string
		public string
		fp     string
	}{{"RequestOrigin", "", ""}, {"PublicURLAndFingerprint", "https://pult.example-school.ch/", fp}} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, func(c *server.Config) { c.PublicURL, c.CertFingerprint = tc.public, tc.fp })
			s.createAdmin(t, "Schule A", "admin.a")
			admin := s.login(t, "admin", "admin.a")
			created := decodeJSON[struct{ Licenses []struct{ ID, Code string } }](t, mustDo(t, admin, "POST", "/api/v1/licenses", map[string]int{"count": 3}, http.StatusCreated))
			ids := created.Licenses[2].ID + "," + created.Licenses[0].ID
			sheet := decodeJSON[struct {
				SchoolName, ServerURL, Fingerprint string
				Licenses                           []struct{ ID, Code, Link, QRSVG string }
			}](t, mustDo(t, admin, "GET", "/api/v1/licenses/sheet?ids="+ids, nil, http.StatusOK))
			wantServer := strings.TrimRight(tc.public, "/")
			if wantServer == "" {
				wantServer = s.url
			}
			if sheet.SchoolName != "Schule A" || sheet.ServerURL != wantServer || sheet.Fingerprint != tc.fp || len(sheet.Licenses) != 2 {
				t.Fatalf("sheet: %+v", sheet)
			}
			for i, want := range []int{2, 0} {
				l := sheet.Licenses[i]
				if l.ID != created.Licenses[want].ID || l.Code != created.Licenses[want].Code {
					t.Errorf("license %d: %+v", i, l)
				}
				u, err := url.Parse(l.Link)
				if err != nil || u.Scheme != "pult" || u.Host != "enroll" || u.Query().Get("server") != wantServer || u.Query().Get("code") != l.Code || u.Query().Get("fp") != tc.fp {
					t.Errorf("link %q", l.Link)
				}
				if tc.fp == "" && strings.Contains(l.Link, "fp=") {
					t.Errorf("link %q carries a fingerprint without certificate files", l.Link)
				}
				if !strings.HasPrefix(l.QRSVG, "<svg ") || !strings.HasSuffix(l.QRSVG, "</svg>") || strings.Contains(l.QRSVG, "style") || !strings.Contains(l.QRSVG, `<path fill="#000" d="M`) {
					t.Errorf("QR code: %.200s", l.QRSVG)
				}
			}
			for _, bad := range []struct {
				query string
				want  outcome
			}{
				{"", invalid},
				{"?ids=", invalid},
				{"?ids=" + strings.Repeat(created.Licenses[0].ID+",", 201), invalid},
				{"?ids=" + created.Licenses[0].ID + "," + store.NewID(), notFound},
				{"?ids=x", notFound},
			} {
				if status, code, raw := do(t, admin, "GET", "/api/v1/licenses/sheet"+bad.query, nil); status != bad.want.status || code != bad.want.code {
					t.Errorf("%.60s: %d %s", bad.query, status, raw)
				}
			}
		})
	}
}

// TestWaitingDeviceNotLimitedByLogins: a device waiting for approval asks for a challenge every few seconds; it
// keeps getting them when its address (a school's NAT) has used up its login attempts, while one device alone
// cannot flood the challenge table.
func TestWaitingDeviceNotLimitedByLogins(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	lic := w.createLicenses(1)[0]
	w.assign(lic.ID, map[string]string{"teacherId": teacher})
	app, _ := mustEnroll(t, w, lic.Code)
	attacker := w.browser()
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		limited = attacker.login("k.lehrer", "wrong-password").status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("forty wrong logins from one address were never limited")
	}
	if st := app.status(t); st.State != "pending" {
		t.Errorf("status after the address's logins ran out: %+v", st)
	}
	asked := 1
	for ; asked < 100; asked++ {
		a := app.b.do("POST", "/api/v1/devices/desktop/challenge", map[string]string{"deviceId": app.id})
		if a.status == http.StatusTooManyRequests {
			if a.code() != "too_many_attempts" {
				t.Errorf("limit: %d %s", a.status, a.body)
			}
			break
		}
		if a.status != http.StatusOK {
			t.Fatalf("challenge %d: %d %s", asked, a.status, a.body)
		}
	}
	if asked < 30 || asked >= 100 {
		t.Errorf("one device got %d challenges in a burst, want the limit at about 30", asked)
	}
}

// TestDevicePolicy: a school's device policy starts at 5 wrong PINs and 10 idle minutes, refuses values outside
// its bounds without changing anything, and reaches the school's devices with their status.
func TestDevicePolicy(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	lic := w.createLicenses(1)[0]
	w.assign(lic.ID, map[string]string{"teacherId": teacher})
	app, e := mustEnroll(t, w, lic.Code)
	policy := func() string { return string(w.admin.do("GET", "/api/v1/device-policy", nil).body) }
	if got := policy(); got != `{"maxPinAttempts":5,"idleTimeoutMinutes":10,"offlineGraceDays":14,"wipeAfterDays":90}`+"\n" {
		t.Errorf("default policy: %s", got)
	}
	policyOf := func(pins, idle, grace, wipe int) map[string]int {
		return map[string]int{"maxPinAttempts": pins, "idleTimeoutMinutes": idle, "offlineGraceDays": grace, "wipeAfterDays": wipe}
	}
	for _, bad := range []map[string]int{policyOf(11, 10, 14, 90), policyOf(2, 10, 14, 90), policyOf(5, 0, 14, 90), policyOf(5, 241, 14, 90),
		policyOf(5, 10, 0, 90), policyOf(5, 10, 91, 120), policyOf(5, 10, 14, 14), policyOf(5, 10, 14, 366), {"maxPinAttempts": 5}} {
		a := w.admin.do("PUT", "/api/v1/device-policy", bad)
		if a.status != http.StatusUnprocessableEntity || !strings.Contains(string(a.body), `"out_of_range"`) {
			t.Errorf("policy %v: %d %s", bad, a.status, a.body)
		}
	}
	if got := policy(); !strings.Contains(got, `"maxPinAttempts":5`) {
		t.Errorf("refused policies changed it: %s", got)
	}
	if a := w.admin.do("PUT", "/api/v1/device-policy", policyOf(7, 3, 2, 30)); a.status != http.StatusOK {
		t.Fatalf("set policy: %d %s", a.status, a.body)
	}
	w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": e.SecurityCode})
	a := app.b.do("POST", "/api/v1/devices/desktop/status", app.signed(t, "status"))
	if !strings.Contains(string(a.body), `"state":"trusted","policy":{"maxPinAttempts":7,"idleTimeoutMinutes":3,"offlineGraceDays":2,"wipeAfterDays":30}`) {
		t.Errorf("status: %d %s", a.status, a.body)
	}
	auditHas(t, w, "device_policy_changed,done,pin_attempts=7 idle_minutes=3 offline_days=2 wipe_days=30")
}
