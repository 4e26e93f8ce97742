package store_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pult/store"
)

// desktopKey is a desktop app's key pair and hardware token hash.
type desktopKey struct {
	pub   ed25519.PublicKey
	priv  ed25519.PrivateKey
	token []byte
}

func newDesktopKey(tb testing.TB) desktopKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	token := sha256.Sum256(append([]byte("machine|os-user|"), pub...))
	return desktopKey{pub: pub, priv: priv, token: token[:]}
}

func mustLicenses(tb testing.TB, f *fixture, n int) []store.License {
	tb.Helper()
	list, err := f.db.CreateLicenses(context.Background(), f.admin, n)
	if err != nil {
		tb.Fatal(err)
	}
	return list
}

func mustAssign(tb testing.TB, f *fixture, id string, in store.LicenseAssignment) store.License {
	tb.Helper()
	l, err := f.db.AssignLicense(context.Background(), f.admin, id, in)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func enroll(tb testing.TB, f *fixture, code string, k desktopKey) store.DesktopEnrollment {
	tb.Helper()
	e, err := f.db.EnrollDesktop(context.Background(), code, k.pub, k.token, store.DeviceInfo{Name: "Laptop", Platform: "Windows 11", OSUser: "lehrer", LastIP: "192.0.2.9"})
	if err != nil {
		tb.Fatalf("enroll %s: %v", code, err)
	}
	return e
}

func statusOf(tb testing.TB, f *fixture, deviceID string) store.DesktopStatus {
	tb.Helper()
	st, err := f.db.DesktopDeviceStatus(context.Background(), deviceID)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

var licenseCodeShape = regexp.MustCompile(`^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}$`)

func TestLicenseCodes(t *testing.T) {
	f := mustFixture(t)
	list := mustLicenses(t, f, store.MaxNewLicenses)
	seen := map[string]bool{}
	for _, l := range list {
		if !licenseCodeShape.MatchString(l.Code) || strings.ContainsAny(l.Code, "01OILU") {
			t.Errorf("code %q is not four groups of four unambiguous symbols", l.Code)
		}
		if seen[l.Code] {
			t.Errorf("code %q twice", l.Code)
		}
		seen[l.Code] = true
		if l.Holder != store.HolderNone || l.Device != nil {
			t.Errorf("a new license is held or bound: %+v", l)
		}
	}
	code := list[0].Code
	for typed, want := range map[string]string{
		code:                  strings.ReplaceAll(code, "-", ""),
		strings.ToLower(code): strings.ReplaceAll(code, "-", ""),
		" " + strings.ReplaceAll(code, "-", " ") + " ": strings.ReplaceAll(code, "-", ""),
		"ABCD-EFGH-JKMN-PQR0":                          "",                 // 0 is no symbol
		"ABCD-EFGH-JKMN-PQR":                           "",                 // too short
		"ABCD-EFGH-JKMN-PQRST":                         "",                 // too long
		"ＡＢＣＤ-ＥＦＧＨ-ＪＫＭＮ-ＰＱＲＳ":                          "ABCDEFGHJKMNPQRS", // full width
	} {
		if got := store.NormalizeLicenseCode(typed); got != want {
			t.Errorf("NormalizeLicenseCode(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestLicenseAdmin(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	other, err := f.db.CreateSchool(ctx, "Andere Schule")
	if err != nil {
		t.Fatal(err)
	}
	foreign := store.SchoolAdmin(other.ID)
	foreignTeacher, err := f.db.CreateUser(ctx, foreign, store.NewUser{Username: "f.teacher", DisplayName: "F", Role: store.RoleTeacher, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	list := mustLicenses(t, f, 3)
	id := list[0].ID

	t.Run("ErrNotAdmin", func(t *testing.T) {
		if _, err := f.db.CreateLicenses(ctx, f.t1, 1); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("create: %v", err)
		}
		if _, err := f.db.Licenses(ctx, f.t1); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("list: %v", err)
		}
		if _, err := f.db.AssignLicense(ctx, f.t1, id, store.LicenseAssignment{TeacherID: f.t1.UserID}); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("assign: %v", err)
		}
		if _, err := f.db.DetachLicense(ctx, f.t1, id); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("detach: %v", err)
		}
		if err := f.db.DeleteLicense(ctx, f.t1, id); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("delete: %v", err)
		}
		if _, err := f.db.ApproveLicenseDevice(ctx, f.t1, id, "123-456-789"); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("approve: %v", err)
		}
	})
	t.Run("ErrOtherSchool", func(t *testing.T) {
		if got, err := f.db.Licenses(ctx, foreign); err != nil || len(got) != 0 {
			t.Errorf("another school's list: %v %v", got, err)
		}
		if _, err := f.db.AssignLicense(ctx, foreign, id, store.LicenseAssignment{TeacherID: foreignTeacher.ID}); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("assign: %v", err)
		}
		if _, err := f.db.DetachLicense(ctx, foreign, id); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("detach: %v", err)
		}
		if err := f.db.DeleteLicense(ctx, foreign, id); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("delete: %v", err)
		}
		if _, err := f.db.LicensesByID(ctx, foreign, []string{id}); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("sheet: %v", err)
		}
		if _, err := f.db.ApproveLicenseDevice(ctx, foreign, id, "123-456-789"); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("approve: %v", err)
		}
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		for _, n := range []int{0, -1, store.MaxNewLicenses + 1} {
			if _, err := f.db.CreateLicenses(ctx, f.admin, n); store.ErrorCode(err) != store.CodeInvalid {
				t.Errorf("create %d: %v", n, err)
			}
		}
		inactive, err := f.db.CreateUser(ctx, f.admin, store.NewUser{Username: "gone", DisplayName: "Gone", Role: store.RoleTeacher, PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := f.db.UpdateUser(ctx, f.admin, inactive.ID, store.UserPatch{Active: &off}); err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			in    store.LicenseAssignment
			field string
		}{
			"Nobody":          {store.LicenseAssignment{}, "teacherId"},
			"Both":            {store.LicenseAssignment{TeacherID: f.t1.UserID, Location: "Zimmer 12"}, "location"},
			"BlankLocation":   {store.LicenseAssignment{Location: "   "}, "teacherId"},
			"LongLocation":    {store.LicenseAssignment{Location: strings.Repeat("x", 81)}, "location"},
			"UnknownTeacher":  {store.LicenseAssignment{TeacherID: store.NewID()}, "teacherId"},
			"OtherSchool":     {store.LicenseAssignment{TeacherID: foreignTeacher.ID}, "teacherId"},
			"InactiveTeacher": {store.LicenseAssignment{TeacherID: inactive.ID}, "teacherId"},
			"NotAnID":         {store.LicenseAssignment{TeacherID: "x' OR 1=1"}, "teacherId"},
		} {
			_, err := f.db.AssignLicense(ctx, f.admin, id, tc.in)
			var e *store.Error
			if store.ErrorCode(err) != store.CodeInvalid || !asError(err, &e) || e.Fields[tc.field] == "" {
				t.Errorf("%s: %v, want a field error on %s", name, err, tc.field)
			}
		}
	})
	t.Run("AssignDetachDelete", func(t *testing.T) {
		l := mustAssign(t, f, list[0].ID, store.LicenseAssignment{TeacherID: f.t1.UserID})
		if l.Holder != store.HolderTeacher || l.TeacherID != f.t1.UserID || l.HolderName != "Tara One" || l.AssignedAt.IsZero() {
			t.Errorf("assigned to a teacher: %+v", l)
		}
		l = mustAssign(t, f, list[1].ID, store.LicenseAssignment{Location: "  Zimmer 12 "})
		if l.Holder != store.HolderLocation || l.HolderName != "Zimmer 12" || l.TeacherID != "" {
			t.Errorf("assigned to a location: %+v", l)
		}
		l, err := f.db.DetachLicense(ctx, f.admin, list[1].ID)
		if err != nil || l.Holder != store.HolderNone || l.HolderName != "" || !l.AssignedAt.IsZero() {
			t.Errorf("detached: %+v %v", l, err)
		}
		got, err := f.db.Licenses(ctx, f.admin)
		if err != nil || len(got) != 3 || got[0].ID != list[0].ID || got[0].HolderName != "Tara One" || got[0].Code != list[0].Code {
			t.Errorf("list: %+v %v", got, err)
		}
		if err := f.db.DeleteLicense(ctx, f.admin, list[2].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.LicensesByID(ctx, f.admin, []string{list[0].ID, list[2].ID}); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("sheet with a deleted license: %v", err)
		}
		sheet, err := f.db.LicensesByID(ctx, f.admin, []string{list[1].ID, list[0].ID, list[1].ID})
		if err != nil || len(sheet) != 2 || sheet[0].ID != list[1].ID || sheet[1].Code != list[0].Code {
			t.Errorf("sheet: %+v %v", sheet, err)
		}
	})
}

func TestEnrollTeacherLicense(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now()}
	f.db.SetClock(c.now)
	lic := mustLicenses(t, f, 2)
	mustAssign(t, f, lic[0].ID, store.LicenseAssignment{TeacherID: f.t1.UserID})

	t.Run("ErrInvalidCodes", func(t *testing.T) {
		k := newDesktopKey(t)
		for name, code := range map[string]string{
			"Unassigned": lic[1].Code,
			"Unknown":    "ABCD-EFGH-JKMN-PQRS",
			"Garbage":    "'; DROP TABLE licenses; --",
			"Empty":      "",
		} {
			if _, err := f.db.EnrollDesktop(ctx, code, k.pub, k.token, store.DeviceInfo{}); store.ErrorCode(err) != store.CodeLicenseInvalid {
				t.Errorf("%s: %v, want license_invalid", name, err)
			}
		}
		if _, err := f.db.EnrollDesktop(ctx, lic[0].Code, k.pub[:16], k.token, store.DeviceInfo{}); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("short key: %v", err)
		}
	})

	first := newDesktopKey(t)
	e1 := enroll(t, f, strings.ToLower(lic[0].Code), first)
	if e1.SchoolName != "Musikschule Nord" || len(store.NormalizeCode(e1.SecurityCode)) != 9 || e1.UserID != f.t1.UserID {
		t.Fatalf("enrollment: %+v", e1)
	}
	if st := statusOf(t, f, e1.DeviceID); st.State != store.DevicePending || st.SecurityCode != e1.SecurityCode {
		t.Errorf("status after enrollment: %+v", st)
	}
	devices, err := f.db.UserDevices(ctx, f.admin, f.t1.UserID)
	if err != nil || len(devices) != 1 || devices[0].State != store.DevicePending || devices[0].Kind != store.DeviceDesktop || devices[0].OSUser != "lehrer" {
		t.Fatalf("teacher's devices: %+v %v", devices, err)
	}

	// A second enrollment before the approval replaces the pending device: its code approves nothing any more.
	second := newDesktopKey(t)
	e2 := enroll(t, f, lic[0].Code, second)
	if e2.Replaced != e1.DeviceID {
		t.Errorf("replaced = %q, want %q", e2.Replaced, e1.DeviceID)
	}
	if st := statusOf(t, f, e1.DeviceID); st.State != store.DeviceRejected {
		t.Errorf("the replaced device: %+v", st)
	}
	if e1.SecurityCode != e2.SecurityCode {
		if _, err := f.db.ApproveDevice(ctx, f.admin, f.t1.UserID, e1.SecurityCode); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("the replaced device's code: %v", err)
		}
	}
	l, err := f.db.ApproveLicenseDevice(ctx, f.admin, lic[0].ID, "000-000-000")
	if store.ErrorCode(err) != store.CodeInvalid {
		t.Errorf("a wrong code on the license: %+v %v", l, err)
	}
	// The admin's existing flow approves it by the code the teacher reads out.
	d, err := f.db.ApproveDevice(ctx, f.admin, f.t1.UserID, e2.SecurityCode)
	if err != nil || d.DeviceID != e2.DeviceID {
		t.Fatalf("approve: %+v %v", d, err)
	}
	if st := statusOf(t, f, e2.DeviceID); st.State != store.DeviceTrusted || st.SecurityCode != "" {
		t.Errorf("status after approval: %+v", st)
	}
	list, _ := f.db.Licenses(ctx, f.admin)
	if list[0].Device == nil || list[0].Device.ID != e2.DeviceID || list[0].Device.State != store.DeviceTrusted || list[0].Device.Name != "Laptop" {
		t.Errorf("license's device: %+v", list[0].Device)
	}
	if _, err := f.db.EnrollDesktop(ctx, lic[0].Code, newDesktopKey(t).pub, first.token, store.DeviceInfo{}); store.ErrorCode(err) != store.CodeLicenseInUse {
		t.Errorf("enrolling a used license: %v", err)
	}
	if err := f.db.DeleteLicense(ctx, f.admin, lic[0].ID); store.ErrorCode(err) != store.CodeLicenseInUse {
		t.Errorf("deleting a license with a device: %v", err)
	}
	// The teacher logs in from it.
	if out := admit(t, f.db, mustUser(t, f.db, f.t1), e2.DeviceID); out.Reason != "" {
		t.Errorf("teacher on the approved desktop: %+v", out)
	}
	c.advance(31 * 24 * time.Hour)
	if out := admit(t, f.db, mustUser(t, f.db, f.t2), e2.DeviceID); out.Reason != store.ReasonDevicePending {
		t.Errorf("another teacher on a teacher's desktop: %+v", out)
	}

	t.Run("DetachKeepsDevice", func(t *testing.T) {
		if _, err := f.db.DetachLicense(ctx, f.admin, lic[0].ID); err != nil {
			t.Fatal(err)
		}
		if st := statusOf(t, f, e2.DeviceID); st.State != store.DeviceTrusted {
			t.Errorf("the detached license's device: %+v", st)
		}
		if out := admit(t, f.db, mustUser(t, f.db, f.t1), e2.DeviceID); out.Reason != "" {
			t.Errorf("teacher after the detach: %+v", out)
		}
		if _, err := f.db.EnrollDesktop(ctx, lic[0].Code, second.pub, second.token, store.DeviceInfo{}); store.ErrorCode(err) != store.CodeLicenseInvalid {
			t.Errorf("a detached code: %v", err)
		}
		mustAssign(t, f, lic[0].ID, store.LicenseAssignment{TeacherID: f.t2.UserID})
		e := enroll(t, f, lic[0].Code, newDesktopKey(t))
		if e.UserID != f.t2.UserID {
			t.Errorf("enrolled again for %s", e.UserID)
		}
		if err := f.db.DeleteLicense(ctx, f.admin, lic[1].ID); err != nil {
			t.Errorf("deleting a license without a device: %v", err)
		}
		// Removing the teacher's device frees the license as the admin sees it: it can be deleted.
		if err := f.db.DeleteLicense(ctx, f.admin, lic[0].ID); store.ErrorCode(err) != store.CodeLicenseInUse {
			t.Errorf("deleting a license with a pending device: %v", err)
		}
		if err := f.db.RemoveDevice(ctx, f.admin, e.UserID, e.DeviceID); err != nil {
			t.Fatal(err)
		}
		if l := must(f.db.LicensesByID(ctx, f.admin, []string{lic[0].ID}))[0]; l.Device != nil {
			t.Errorf("a removed device is listed: %+v", l.Device)
		}
		if err := f.db.DeleteLicense(ctx, f.admin, lic[0].ID); err != nil {
			t.Errorf("deleting a license whose device was removed: %v", err)
		}
	})
}

func TestEnrollLocationLicense(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now()}
	f.db.SetClock(c.now)
	c.advance(31 * 24 * time.Hour) // no learning mode: only the location's trust lets anyone in
	lic := mustLicenses(t, f, 1)[0]
	mustAssign(t, f, lic.ID, store.LicenseAssignment{Location: "Zimmer 12"})
	e := enroll(t, f, lic.Code, newDesktopKey(t))
	if e.UserID != "" {
		t.Errorf("a location's enrollment has a user: %+v", e)
	}
	if st := statusOf(t, f, e.DeviceID); st.State != store.DevicePending || st.SecurityCode != e.SecurityCode {
		t.Fatalf("status: %+v", st)
	}
	t1, t2 := mustUser(t, f.db, f.t1), mustUser(t, f.db, f.t2)
	if out := admit(t, f.db, t1, e.DeviceID); out.Reason != store.ReasonDevicePending {
		t.Errorf("a teacher on the unapproved terminal: %+v", out)
	}
	if _, err := f.db.ApproveDevice(ctx, f.admin, f.t1.UserID, e.SecurityCode); store.ErrorCode(err) != store.CodeInvalid {
		t.Errorf("the location's code approved a teacher's device: %v", err)
	}
	wrong := "000-000-000"
	if store.NormalizeCode(e.SecurityCode) == "000000000" {
		wrong = "000-000-001"
	}
	if _, err := f.db.ApproveLicenseDevice(ctx, f.admin, lic.ID, wrong); store.ErrorCode(err) != store.CodeInvalid {
		t.Errorf("wrong code: %v", err)
	}
	l, err := f.db.ApproveLicenseDevice(ctx, f.admin, lic.ID, e.SecurityCode)
	if err != nil || l.Device == nil || l.Device.State != store.DeviceTrusted || l.Device.OSUser != "lehrer" || l.HolderName != "Zimmer 12" {
		t.Fatalf("approve: %+v %v", l, err)
	}
	if st := statusOf(t, f, e.DeviceID); st.State != store.DeviceTrusted {
		t.Errorf("status after approval: %+v", st)
	}
	for _, u := range []store.User{t1, t2, mustUser(t, f.db, f.admin)} {
		if out := admit(t, f.db, u, e.DeviceID); out.Reason != "" || !out.Location || out.Learned {
			t.Errorf("%s on the approved terminal: %+v", u.Username, out)
		}
	}
	if devices, _ := f.db.UserDevices(ctx, f.t2, f.t2.UserID); len(devices) != 0 {
		t.Errorf("the terminal became a teacher's own device: %+v", devices)
	}
	other, _ := f.db.CreateSchool(ctx, "Andere Schule")
	stranger, err := f.db.CreateUser(ctx, store.SchoolAdmin(other.ID), store.NewUser{Username: "stranger", DisplayName: "S", Role: store.RoleTeacher, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if out := admit(t, f.db, stranger, e.DeviceID); out.Reason == "" && out.Location {
		t.Errorf("another school's teacher on the terminal: %+v", out)
	}
	t.Run("RenameKeepsDevice", func(t *testing.T) {
		l := mustAssign(t, f, lic.ID, store.LicenseAssignment{Location: "Zimmer 12a"})
		if l.Device == nil || l.Device.State != store.DeviceTrusted {
			t.Errorf("renamed location: %+v", l)
		}
	})
	t.Run("DetachEndsTrust", func(t *testing.T) {
		if _, err := f.db.DetachLicense(ctx, f.admin, lic.ID); err != nil {
			t.Fatal(err)
		}
		if out := admit(t, f.db, t2, e.DeviceID); out.Reason != store.ReasonDevicePending || out.Location {
			t.Errorf("after the detach: %+v", out)
		}
	})
}

func TestRemoteWipe(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now().Truncate(time.Second)}
	f.db.SetClock(c.now)
	lic := mustLicenses(t, f, 1)[0]
	mustAssign(t, f, lic.ID, store.LicenseAssignment{TeacherID: f.t1.UserID})
	k := newDesktopKey(t)
	e := enroll(t, f, lic.Code, k)
	if _, err := f.db.ApproveDevice(ctx, f.admin, f.t1.UserID, e.SecurityCode); err != nil {
		t.Fatal(err)
	}
	browser := mustBrowser(t, f.db)
	admit(t, f.db, mustUser(t, f.db, f.t1), browser)

	blocked := store.DeviceBlocked
	c.advance(time.Hour)
	d, err := f.db.UpdateDevice(ctx, f.admin, f.t1.UserID, e.DeviceID, store.DevicePatch{State: &blocked})
	if err != nil {
		t.Fatal(err)
	}
	if d.Wipe == nil || !d.Wipe.RequestedAt.Equal(c.t) || !d.Wipe.DoneAt.IsZero() {
		t.Errorf("blocked desktop's wipe: %+v", d.Wipe)
	}
	if d, err := f.db.UpdateDevice(ctx, f.admin, f.t1.UserID, browser, store.DevicePatch{State: &blocked}); err != nil || d.Wipe != nil {
		t.Errorf("a blocked browser has a wipe: %+v %v", d.Wipe, err)
	}
	if st := statusOf(t, f, e.DeviceID); st.State != store.DeviceBlocked {
		t.Errorf("status: %+v", st)
	}

	// The receipt needs the device's signature over a fresh challenge, for this purpose only.
	challenge, _, err := f.db.NewChallenge(ctx, e.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string][]byte{
		"LoginSignature":  store.LoginMessage(challenge, "t.one"),
		"StatusSignature": store.DeviceMessage("status", challenge),
	} {
		if err := f.db.VerifyDeviceSignature(ctx, e.DeviceID, challenge, store.DeviceMessage("wiped", challenge), ed25519.Sign(k.priv, msg), k.token); store.ErrorCode(err) != store.CodeDeviceProofInvalid {
			t.Errorf("%s as a wipe receipt: %v", name, err)
		}
		challenge, _, _ = f.db.NewChallenge(ctx, e.DeviceID)
	}
	if err := f.db.VerifyDeviceSignature(ctx, e.DeviceID, challenge, store.DeviceMessage("wiped", challenge), ed25519.Sign(k.priv, store.DeviceMessage("wiped", challenge)), k.token); err != nil {
		t.Fatalf("a good receipt: %v", err)
	}
	c.advance(time.Minute)
	r, err := f.db.DeviceWiped(ctx, e.DeviceID)
	if err != nil || r.SchoolID != f.school.ID || r.UserID != f.t1.UserID {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	done := c.t
	c.advance(time.Minute)
	if _, err := f.db.DeviceWiped(ctx, e.DeviceID); err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]store.UserDevice{must(f.db.UserDevices(ctx, f.t1, f.t1.UserID)), must(f.db.SchoolDevices(ctx, f.admin))} {
		found := false
		for _, d := range list {
			if d.DeviceID == e.DeviceID {
				found = true
				if d.Wipe == nil || !d.Wipe.DoneAt.Equal(done) || !d.Wipe.RequestedAt.Equal(done.Add(-time.Minute)) {
					t.Errorf("listed wipe: %+v, want done at %v (the first receipt)", d.Wipe, done)
				}
			}
		}
		if !found {
			t.Error("the wiped device is not listed")
		}
	}
	lists, _ := f.db.Licenses(ctx, f.admin)
	if dev := lists[0].Device; dev == nil || dev.Wipe == nil || dev.Wipe.DoneAt.IsZero() || dev.State != store.DeviceBlocked {
		t.Errorf("the license's device: %+v", dev)
	}
	t.Run("UnaskedWipe", func(t *testing.T) {
		// A device that wiped itself (too many wrong PINs) reports it too: asked and done at once.
		lic2 := mustLicenses(t, f, 1)[0]
		mustAssign(t, f, lic2.ID, store.LicenseAssignment{TeacherID: f.t2.UserID})
		e := enroll(t, f, lic2.Code, newDesktopKey(t))
		if _, err := f.db.DeviceWiped(ctx, e.DeviceID); err != nil {
			t.Fatal(err)
		}
		devices := must(f.db.UserDevices(ctx, f.admin, f.t2.UserID))
		if len(devices) != 1 || devices[0].Wipe == nil || !devices[0].Wipe.DoneAt.Equal(c.t) {
			t.Errorf("devices: %+v", devices)
		}
		if st := statusOf(t, f, e.DeviceID); st.State != store.DeviceBlocked {
			t.Errorf("a wiped device's status: %+v", st)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestLicensesNoPlaintext: a license's code and a location's name never reach the files in the clear.
func TestLicensesNoPlaintext(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	lic := mustLicenses(t, f, 2)
	mustAssign(t, f, lic[0].ID, store.LicenseAssignment{Location: "Zimmer Quackenbusch"})
	if _, err := f.db.EnrollDesktop(ctx, lic[0].Code, newDesktopKey(t).pub, newDesktopKey(t).token,
		store.DeviceInfo{Name: "Terminal Wilhelmina", OSUser: "os.quackenbusch", LastIP: "198.51.100.77"}); err != nil {
		t.Fatal(err)
	}
	secret := []string{"Quackenbusch", "Wilhelmina", "198.51.100.77"}
	for _, l := range lic {
		secret = append(secret, l.Code, strings.ReplaceAll(l.Code, "-", ""))
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(f.path), "*"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secret {
			if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(s))) {
				t.Errorf("%s contains %q in plaintext", filepath.Base(file), s)
			}
		}
	}
}
