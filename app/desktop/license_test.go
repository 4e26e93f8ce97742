package desktop

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// newLicense is a license the admin created and assigned to the world's teacher; it returns its id and code.
func (w *world) newLicense() (id, code string) {
	w.t.Helper()
	return w.newLicenseFor(`{"teacherId":"` + w.teacher.ID + `"}`)
}

// newLicenseFor is a license the admin created and gave to holder (the body of PUT …/holder).
func (w *world) newLicenseFor(holder string) (id, code string) {
	w.t.Helper()
	st, m := w.adminCall(http.MethodPost, "/api/v1/licenses", `{"count":1}`)
	if st != http.StatusCreated {
		w.t.Fatalf("create license: %d %v", st, m)
	}
	l := m["licenses"].([]any)[0].(map[string]any)
	id, code = l["id"].(string), l["code"].(string)
	if st, m := w.adminCall(http.MethodPut, "/api/v1/licenses/"+id+"/holder", holder); st != http.StatusOK {
		w.t.Fatalf("assign license: %d %v", st, m)
	}
	return id, code
}

// enrollByLicense takes a fresh desk through the first run with a license code: the admin approves by the
// security code the app shows, the teacher logs in and sets a PIN.
func (d *desk) enrollByLicense(w *world, code, pin string) {
	d.t.Helper()
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"de"}`)
	dev := d.must(http.StatusOK, http.MethodPost, "/api/v1/device/enroll", `{"server":"`+w.url+`","licenseCode":"`+code+`"}`)
	sc, _ := dev["securityCode"].(string)
	if dev["phase"] != PhasePending || len(sc) != 11 {
		d.t.Fatalf("after enrolling: %v, want pending with a security code", dev)
	}
	if st, m := w.adminCall(http.MethodPost, "/api/v1/users/"+w.teacher.ID+"/devices/approve", `{"code":"`+sc+`"}`); st != http.StatusOK {
		d.t.Fatalf("approve by code: %d %v", st, m)
	}
	if got := d.must(http.StatusOK, http.MethodGet, "/api/v1/device/status", "")["phase"]; got != PhaseLogin {
		d.t.Fatalf("after the approval the phase is %v, want login", got)
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"`+password+`"}`)
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/pin", `{"pin":"`+pin+`","repeat":"`+pin+`"}`)
}

// TestLicenseEnrollment: a device enrolled with a license code waits until the admin typed its security code,
// learns the school's policy, and then counts wrong PINs by it.
func TestLicenseEnrollment(t *testing.T) {
	w := newWorld(t)
	licenseID, code := w.newLicense()
	if st, m := w.adminCall(http.MethodPut, "/api/v1/device-policy", `{"maxPinAttempts":3,"idleTimeoutMinutes":2,"offlineGraceDays":14,"wipeAfterDays":90}`); st != http.StatusOK {
		t.Fatalf("policy: %d %v", st, m)
	}
	dir := filepath.Join(t.TempDir(), "profile")
	d := newDesk(t, dir, machine("tara"))
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"de"}`)
	if st, m := d.call(http.MethodPost, "/api/v1/device/enroll", `{"server":"`+w.url+`","licenseCode":"ABCD-EFGH-JKMN-PQRS"}`); st != http.StatusNotFound || errCode(m) != "license_invalid" {
		t.Fatalf("an unknown license code: %d %v, want 404 license_invalid", st, m)
	}
	if p := d.phase(); p != PhaseConnect {
		t.Fatalf("after an unknown code the phase is %q", p)
	}
	dev := d.must(http.StatusOK, http.MethodPost, "/api/v1/device/enroll", `{"server":"`+w.url+`","licenseCode":"`+code+`"}`)
	sc := dev["securityCode"].(string)

	// Waiting: polling changes nothing; a wrong code from the admin approves nothing; a restart keeps the wait.
	if got := d.must(http.StatusOK, http.MethodGet, "/api/v1/device/status", ""); got["phase"] != PhasePending || got["securityCode"] != sc {
		t.Fatalf("while waiting: %v", got)
	}
	wrong := "000-000-000"
	if sc == wrong {
		wrong = "000-000-001"
	}
	if st, _ := w.adminCall(http.MethodPost, "/api/v1/licenses/"+licenseID+"/approve", `{"code":"`+wrong+`"}`); st < 400 {
		t.Fatalf("a wrong security code was accepted: %d", st)
	}
	d.restart()
	if got := d.must(http.StatusOK, http.MethodGet, "/api/v1/device/status", "")["phase"]; got != PhasePending {
		t.Fatalf("after a wrong code and a restart the phase is %v, want pending", got)
	}
	if st, m := d.call(http.MethodGet, "/api/v1/courses", ""); st != http.StatusLocked {
		t.Errorf("school data while waiting: %d %v", st, m)
	}
	if st, m := w.adminCall(http.MethodPost, "/api/v1/licenses/"+licenseID+"/approve", `{"code":"`+sc+`"}`); st != http.StatusOK {
		t.Fatalf("approve: %d %v", st, m)
	}
	dev = d.must(http.StatusOK, http.MethodGet, "/api/v1/device/status", "")
	if dev["phase"] != PhaseLogin || dev["pinAttemptsLeft"] != float64(3) || dev["idleTimeoutSeconds"] != float64(120) {
		t.Fatalf("after the approval: %v, want login with the school's policy (3 PINs, 120 s)", dev)
	}
	if st, m := d.call(http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"wrong"}`); st != http.StatusUnauthorized || d.phase() != PhaseLogin {
		t.Fatalf("a wrong password: %d %v (phase %s)", st, m, d.phase())
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"`+password+`"}`)
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/pin", `{"pin":"`+goodPIN+`","repeat":"`+goodPIN+`"}`)
	if items := d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")["items"].([]any); len(items) != 1 {
		t.Fatalf("courses after enrollment: %v", items)
	}

	// The school allows three wrong PINs.
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	for i := 1; i <= 2; i++ {
		if st, m := d.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"99999`+string(rune('0'+i))+`"}`); st != http.StatusForbidden {
			t.Fatalf("wrong PIN %d: %d %v", i, st, m)
		}
	}
	if st, m := d.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"999993"}`); st != http.StatusGone || errCode(m) != "wiped" {
		t.Fatalf("the third wrong PIN: %d %v, want 410 wiped", st, m)
	}
	if files := profileFiles(t, dir); len(files) != 0 {
		t.Errorf("after the wipe the profile holds %v", files)
	}
}

// TestRemoteBlockWipes: a device the school blocked wipes itself — connected, within a second, told over its
// sync connection; in use but without a connection, at its regular check-in; locked, when the PIN is entered —
// and the backend shows each wipe as done.
func TestRemoteBlockWipes(t *testing.T) {
	w := newWorld(t)
	var desks []*desk
	for i, user := range []string{"tara", "tara-2", "tara-3"} {
		_, code := w.newLicense()
		d := newDesk(t, filepath.Join(t.TempDir(), strconv.Itoa(i)), machine(user))
		d.enrollByLicense(w, code, goodPIN)
		desks = append(desks, d)
	}
	connected, unconnected, locked := desks[0], desks[1], desks[2]
	eventually(t, "the first desk's sync connection", func() bool {
		s, _ := connected.device()["sync"].(map[string]any)
		return s["online"] == true
	})
	// The admin's device list shows the connected device's inventory and last sync.
	_, list := w.adminCall(http.MethodGet, "/api/v1/users/"+w.teacher.ID+"/devices", "")
	listed := false
	for _, item := range list["items"].([]any) {
		if dev := item.(map[string]any); dev["id"] == connected.app.st.DeviceID {
			listed = dev["appVersion"] == "test" && dev["os"] == "linux/amd64" && dev["lastSync"] != nil
		}
	}
	if !listed {
		t.Errorf("the admin's list lacks the connected device's inventory: %v", list["items"])
	}
	unconnected.app.mu.Lock()
	unconnected.app.stopSyncLocked()
	unconnected.app.mu.Unlock()
	locked.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")

	for _, d := range desks {
		path := "/api/v1/users/" + w.teacher.ID + "/devices/" + d.app.st.DeviceID
		if st, m := w.adminCall(http.MethodPatch, path, `{"state":"blocked"}`); st != http.StatusOK {
			t.Fatalf("block: %d %v", st, m)
		}
	}
	blocked := time.Now()
	for len(profileFiles(t, connected.dir)) > 0 {
		if time.Since(blocked) > time.Second {
			t.Fatalf("the connected desk still holds %v a second after the block", profileFiles(t, connected.dir))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, m := unconnected.call(http.MethodGet, "/api/v1/device/status", ""); st != http.StatusGone || errCode(m) != "wiped" {
		t.Fatalf("the check-in after the block: %d %v, want 410 wiped", st, m)
	}
	if st, m := locked.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`); st != http.StatusGone || errCode(m) != "wiped" {
		t.Fatalf("unlocking a blocked device: %d %v, want 410 wiped", st, m)
	}
	for _, d := range desks {
		if files := profileFiles(t, d.dir); len(files) != 0 || d.phase() != PhaseWelcome {
			t.Errorf("after the remote wipe: %v (phase %s)", files, d.phase())
		}
	}
	done := 0
	eventually(t, "three wipes shown as done", func() bool {
		_, m := w.adminCall(http.MethodGet, "/api/v1/users/"+w.teacher.ID+"/devices", "")
		done = 0
		for _, item := range m["items"].([]any) {
			if wipe, _ := item.(map[string]any)["wipe"].(map[string]any); wipe != nil && wipe["doneAt"] != nil {
				done++
			}
		}
		return done == 3
	})
}

// TestPinnedCertificate: with the fingerprint from the license QR code the app talks only to the server with
// that certificate; any other certificate is refused before the license code is sent.
func TestPinnedCertificate(t *testing.T) {
	w := newWorld(t)
	_, code := w.newLicense()
	tlsSrv := httptest.NewUnstartedServer(w.srv.Handler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	good := sha256.Sum256(tlsSrv.Certificate().Raw)
	other := sha256.Sum256([]byte("another certificate"))
	link := func(fp [32]byte) string {
		q := url.Values{"server": {tlsSrv.URL}, "code": {code}, "fp": {hex.EncodeToString(fp[:])}}
		return `{"link":"pult://enroll?` + q.Encode() + `"}`
	}
	d := newDesk(t, filepath.Join(t.TempDir(), "profile"), machine("tara"))
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"de"}`)
	if st, m := d.call(http.MethodPost, "/api/v1/device/enroll", link(other)); st != http.StatusBadGateway || errCode(m) != "certificate_mismatch" {
		t.Fatalf("another certificate: %d %v, want 502 certificate_mismatch", st, m)
	}
	if p := d.phase(); p != PhaseConnect {
		t.Fatalf("after the refusal the phase is %q", p)
	}
	if dev := d.must(http.StatusOK, http.MethodPost, "/api/v1/device/enroll", link(good)); dev["phase"] != PhasePending {
		t.Fatalf("the pinned certificate: %v", dev)
	}
}

// TestOfflineGrace: a device that has not reached the school's server for longer than the school's grace asks
// for a connection after the right PIN, unlocks once online, and erases its data after the wipe period.
func TestOfflineGrace(t *testing.T) {
	w := newWorld(t)
	_, code := w.newLicense()
	if st, m := w.adminCall(http.MethodPut, "/api/v1/device-policy", `{"maxPinAttempts":5,"idleTimeoutMinutes":10,"offlineGraceDays":1,"wipeAfterDays":3}`); st != http.StatusOK {
		t.Fatalf("policy: %d %v", st, m)
	}
	dir := filepath.Join(t.TempDir(), "profile")
	d := newDesk(t, dir, machine("tara"))
	d.enrollByLicense(w, code, goodPIN)
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	w.stop()
	d.clock.advance(20 * time.Hour)
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`) // within the grace: offline is fine
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	d.clock.advance(6 * time.Hour)
	if st, m := d.call(http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`); st != http.StatusLocked || errCode(m) != "offline_too_long" {
		t.Fatalf("unlock after 26 hours offline: %d %v, want 423 offline_too_long", st, m)
	}
	if dev := d.device(); dev["phase"] != PhaseLocked || dev["pinAttemptsLeft"] != float64(5) {
		t.Fatalf("after the refusal: %v, want locked with every attempt left", dev)
	}
	w.start()
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/unlock", `{"pin":"`+goodPIN+`"}`)
	d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")

	// Three days without the server: the next start erases everything.
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/lock", "")
	w.stop()
	d.clock.advance(73 * time.Hour)
	d.restart()
	if files := profileFiles(t, dir); len(files) != 0 || d.phase() != PhaseWelcome {
		t.Errorf("after the wipe period: %v (phase %s)", files, d.phase())
	}
}

// TestPolicyArrivesLive: a connected device takes a changed school policy at once, over its sync connection.
func TestPolicyArrivesLive(t *testing.T) {
	w := newWorld(t)
	_, code := w.newLicense()
	d := newDesk(t, filepath.Join(t.TempDir(), "profile"), machine("tara"))
	d.enrollByLicense(w, code, goodPIN)
	eventually(t, "the sync connection", func() bool {
		s, _ := d.device()["sync"].(map[string]any)
		return s["online"] == true
	})
	if st, m := w.adminCall(http.MethodPut, "/api/v1/device-policy", `{"maxPinAttempts":8,"idleTimeoutMinutes":3,"offlineGraceDays":5,"wipeAfterDays":20}`); st != http.StatusOK {
		t.Fatalf("policy: %d %v", st, m)
	}
	eventually(t, "the new policy on the device", func() bool {
		dev := d.device()
		return dev["pinAttemptsLeft"] == float64(8) && dev["idleTimeoutSeconds"] == float64(180)
	})
}

// TestLocationBlockWipes: a shared terminal enrolled with a location's license is lost; the admin blocks it on
// the licenses page, and the connected terminal erases its data within a second and confirms it.
func TestLocationBlockWipes(t *testing.T) {
	w := newWorld(t)
	id, code := w.newLicenseFor(`{"location":"Zimmer 12"}`)
	if st, m := w.adminCall(http.MethodPost, "/api/v1/licenses/"+id+"/block", ""); st != http.StatusConflict || errCode(m) != "conflict" {
		t.Fatalf("blocking a license without a device: %d %v, want 409 conflict", st, m)
	}
	d := newDesk(t, filepath.Join(t.TempDir(), "terminal"), machine("zimmer12"))
	d.must(http.StatusOK, http.MethodPut, "/api/v1/device/language", `{"language":"de"}`)
	dev := d.must(http.StatusOK, http.MethodPost, "/api/v1/device/enroll", `{"server":"`+w.url+`","licenseCode":"`+code+`"}`)
	if st, m := w.adminCall(http.MethodPost, "/api/v1/licenses/"+id+"/approve", `{"code":"`+dev["securityCode"].(string)+`"}`); st != http.StatusOK {
		t.Fatalf("approve: %d %v", st, m)
	}
	if got := d.must(http.StatusOK, http.MethodGet, "/api/v1/device/status", "")["phase"]; got != PhaseLogin {
		t.Fatalf("after the approval the phase is %v, want login", got)
	}
	d.must(http.StatusOK, http.MethodPost, "/api/v1/session", `{"username":"t.one","password":"`+password+`"}`)
	d.must(http.StatusOK, http.MethodPost, "/api/v1/device/pin", `{"pin":"`+goodPIN+`","repeat":"`+goodPIN+`"}`)
	eventually(t, "the terminal's sync connection", func() bool {
		s, _ := d.device()["sync"].(map[string]any)
		return s["online"] == true
	})

	st, m := w.adminCall(http.MethodPost, "/api/v1/licenses/"+id+"/block", "")
	if device, _ := m["device"].(map[string]any); st != http.StatusOK || device["state"] != "blocked" || device["wipe"] == nil {
		t.Fatalf("block: %d %v, want the device blocked with a wipe asked for", st, m)
	}
	blocked := time.Now()
	for len(profileFiles(t, d.dir)) > 0 {
		if time.Since(blocked) > time.Second {
			t.Fatalf("the terminal still holds %v a second after the block", profileFiles(t, d.dir))
		}
		time.Sleep(5 * time.Millisecond)
	}
	eventually(t, "the wipe shown as done on the license", func() bool {
		_, m := w.adminCall(http.MethodGet, "/api/v1/licenses", "")
		for _, item := range m["items"].([]any) {
			if lic := item.(map[string]any); lic["id"] == id {
				device, _ := lic["device"].(map[string]any)
				wipe, _ := device["wipe"].(map[string]any)
				return wipe != nil && wipe["doneAt"] != nil
			}
		}
		return false
	})
}

// TestDeactivatedTeacherWipes: a teacher who left the school keeps no pupils' data on the laptop. Once the admin
// deactivated the account, the app's next contact with the server erases its data, and the admin sees the wipe
// done; reading the local data with the PIN is over.
func TestDeactivatedTeacherWipes(t *testing.T) {
	w := newWorld(t)
	_, code := w.newLicense()
	d := newDesk(t, filepath.Join(t.TempDir(), "profile"), machine("tara"))
	d.enrollByLicense(w, code, goodPIN)
	d.must(http.StatusOK, http.MethodGet, "/api/v1/courses", "")
	if st, m := w.adminCall(http.MethodPatch, "/api/v1/users/"+w.teacher.ID, `{"active":false}`); st != http.StatusOK {
		t.Fatalf("deactivate: %d %v", st, m)
	}
	if st, m := d.call(http.MethodGet, "/api/v1/device/status", ""); st != http.StatusGone || errCode(m) != "wiped" {
		t.Fatalf("the check-in after the deactivation: %d %v, want 410 wiped", st, m)
	}
	if files := profileFiles(t, d.dir); len(files) != 0 || d.phase() != PhaseWelcome {
		t.Errorf("after the deactivation: %v (phase %s)", files, d.phase())
	}
	eventually(t, "the wipe shown as done", func() bool {
		_, m := w.adminCall(http.MethodGet, "/api/v1/users/"+w.teacher.ID+"/devices", "")
		for _, item := range m["items"].([]any) {
			if wipe, _ := item.(map[string]any)["wipe"].(map[string]any); wipe != nil && wipe["doneAt"] != nil {
				return true
			}
		}
		return false
	})
}
