package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"pult/store"
)

// desktopApp is a desktop app's device: its key pair and hardware token, registered with the server.
type desktopApp struct {
	b     *browser
	id    string
	priv  ed25519.PrivateKey
	token [32]byte
}

func registerDesktop(t *testing.T, w *trustWorld) *desktopApp {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d := &desktopApp{b: w.browser(), priv: priv, token: sha256.Sum256([]byte("machine-id|os-user " + t.Name()))}
	a := d.b.do("POST", "/api/v1/devices/desktop", map[string]string{"publicKey": base64.StdEncoding.EncodeToString(pub), "tokenHash": hex.EncodeToString(d.token[:])})
	if a.status != http.StatusCreated {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	var body struct{ DeviceID string }
	json.Unmarshal(a.body, &body)
	d.id = body.DeviceID
	return d
}

// proof answers a fresh challenge for a login as username.
func (d *desktopApp) proof(t *testing.T, username string) map[string]string {
	t.Helper()
	a := d.b.do("POST", "/api/v1/devices/desktop/challenge", map[string]string{"deviceId": d.id})
	var c struct{ Challenge string }
	if json.Unmarshal(a.body, &c); a.status != http.StatusOK || c.Challenge == "" {
		t.Fatalf("challenge: %d %s", a.status, a.body)
	}
	sig := ed25519.Sign(d.priv, store.LoginMessage(c.Challenge, username))
	return map[string]string{"id": d.id, "challenge": c.Challenge, "signature": base64.StdEncoding.EncodeToString(sig),
		"tokenHash": hex.EncodeToString(d.token[:]), "name": "Laptop", "platform": "Windows 11", "osUser": "lehrer"}
}

func (d *desktopApp) login(username, password string, proof map[string]string) answer {
	return d.b.do("POST", "/api/v1/session", map[string]any{"username": username, "password": password, "device": proof})
}

func TestDesktopLogin(t *testing.T) {
	w := newTrustWorld(t)
	teacher := w.createTeacher("k.lehrer")
	app := registerDesktop(t, w)
	proof := app.proof(t, "k.lehrer")
	if a := app.login("k.lehrer", "teacher-password", proof); a.status != http.StatusOK {
		t.Fatalf("desktop login in learning mode: %d %s", a.status, a.body)
	}
	if a := app.b.do("DELETE", "/api/v1/session", nil); a.status != http.StatusNoContent {
		t.Fatal(a.status)
	}
	t.Run("ErrReplayedProof", func(t *testing.T) {
		if a := app.login("k.lehrer", "teacher-password", proof); a.status != http.StatusUnauthorized || a.code() != "device_proof_invalid" {
			t.Errorf("replayed proof: %d %s", a.status, a.body)
		}
	})
	t.Run("ErrCopiedTokenOtherKey", func(t *testing.T) {
		// A copied token hash with another key pair is another device: it cannot answer for this one.
		thief := registerDesktop(t, w)
		stolen := thief.proof(t, "k.lehrer")
		stolen["id"] = app.id
		if a := thief.login("k.lehrer", "teacher-password", stolen); a.code() != "device_proof_invalid" {
			t.Errorf("another key answering for the device: %d %s", a.status, a.body)
		}
	})
	var devices struct {
		Items []struct{ ID, Kind, State, OSUser, Platform string }
	}
	json.Unmarshal(w.admin.do("GET", "/api/v1/users/"+teacher+"/devices", nil).body, &devices)
	if len(devices.Items) != 1 || devices.Items[0].Kind != "desktop" || devices.Items[0].OSUser != "lehrer" || devices.Items[0].State != "trusted" {
		t.Errorf("devices = %+v, want the desktop, trusted, with its OS user", devices.Items)
	}
	t.Run("PendingDesktopApprovedByCode", func(t *testing.T) {
		w.admin.do("DELETE", "/api/v1/users/"+teacher+"/learning-mode", nil)
		second := registerDesktop(t, w)
		a := second.login("k.lehrer", "teacher-password", second.proof(t, "k.lehrer"))
		if a.code() != "device_pending" || len(store.NormalizeCode(a.securityCode())) != 9 {
			t.Fatalf("second desktop: %d %s", a.status, a.body)
		}
		if r := w.admin.do("POST", "/api/v1/users/"+teacher+"/devices/approve", map[string]string{"code": a.securityCode()}); r.status != http.StatusOK {
			t.Fatalf("approve: %d %s", r.status, r.body)
		}
		if a := second.login("k.lehrer", "teacher-password", second.proof(t, "k.lehrer")); a.status != http.StatusOK {
			t.Errorf("approved desktop: %d %s", a.status, a.body)
		}
	})
}

func TestRecoveryCodeLogin(t *testing.T) {
	w := newTrustWorld(t)
	a := w.admin.do("POST", "/api/v1/recovery-codes", nil)
	var set struct{ Codes []string }
	if json.Unmarshal(a.body, &set); a.status != http.StatusCreated || len(set.Codes) != 10 {
		t.Fatalf("recovery codes: %d %s", a.status, a.body)
	}
	w.now = w.now.Add(31 * 24 * time.Hour) // learning mode is over; the admin is on a new PC
	laptop := w.browser()
	if a := laptop.login("admin", "admin-password"); a.code() != "device_pending" {
		t.Fatalf("new PC: %d %s", a.status, a.body)
	}
	withCode := func(code string) answer {
		return laptop.do("POST", "/api/v1/session", map[string]string{"username": "admin", "password": "admin-password", "recoveryCode": code})
	}
	if a := withCode("AAAA-BBBB-CCCC"); a.code() != "device_pending" {
		t.Errorf("a wrong recovery code: %d %s", a.status, a.body)
	}
	if a := withCode(set.Codes[0]); a.status != http.StatusOK {
		t.Fatalf("recovery code: %d %s", a.status, a.body)
	}
	var left struct{ Remaining int }
	json.Unmarshal(laptop.do("GET", "/api/v1/recovery-codes", nil).body, &left)
	if left.Remaining != 9 {
		t.Errorf("remaining = %d, want 9", left.Remaining)
	}
	other := w.browser()
	if a := other.do("POST", "/api/v1/session", map[string]string{"username": "admin", "password": "admin-password", "recoveryCode": set.Codes[0]}); a.code() != "device_pending" {
		t.Errorf("a used code on another PC: %d %s", a.status, a.body)
	}
	csv := string(laptop.do("GET", "/api/v1/audit.csv", nil).body)
	for _, want := range []string{"login,allowed,recovery_code", "login,refused,wrong_recovery_code", "recovery_codes_created,done"} {
		if !strings.Contains(csv, want) {
			t.Errorf("audit lacks %q", want)
		}
	}
}
