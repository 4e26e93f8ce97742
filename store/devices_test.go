package store_test

import (
	"context"
	"testing"
	"time"

	"pult/store"
)

// clock is a controllable clock for deadline tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func mustBrowser(tb testing.TB, db *store.DB) string {
	tb.Helper()
	id, secret, err := db.CreateBrowserDevice(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.BrowserDevice(context.Background(), id, secret); err != nil {
		tb.Fatalf("fresh credential refused: %v", err)
	}
	return id
}

func mustUser(tb testing.TB, db *store.DB, a store.Actor) store.User {
	tb.Helper()
	u, err := db.UserByID(context.Background(), a.UserID)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func admit(tb testing.TB, db *store.DB, u store.User, device string) store.LoginOutcome {
	tb.Helper()
	out, err := db.AdmitDevice(context.Background(), u, device, store.DeviceInfo{Platform: "Chromium on Linux", LastIP: "192.0.2.7"})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestBrowserCredential(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpen(t)
	id, secret, err := db.CreateBrowserDevice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]string{
		"WrongSecret": {id, secret + "0"},
		"UnknownID":   {store.NewID(), secret},
		"NotAnID":     {"x' OR 1=1 --", secret},
	} {
		if err := db.BrowserDevice(ctx, c[0], c[1]); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("%s: err = %v, want not found", name, err)
		}
	}
}

func TestLearningMode(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now()}
	f.db.SetClock(c.now)
	// The fixture's users were created before the clock was set: give t1 a fresh account under the test clock.
	u, err := f.db.CreateUser(ctx, f.admin, store.NewUser{Username: "new.teacher", DisplayName: "New Teacher", Role: store.RoleTeacher, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("NewUserLearnsAnyNumberFor30Days", func(t *testing.T) {
		lm, err := f.db.UserLearningMode(ctx, u.Actor(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := lm.Until, c.t.Add(30*24*time.Hour).Truncate(time.Second).UTC(); !got.Equal(want) || lm.DevicesLeft != nil {
			t.Fatalf("learning mode = %v/%v, want until %v for any number", got, lm.DevicesLeft, want)
		}
		for i := 0; i < 12; i++ {
			if out := admit(t, f.db, u, mustBrowser(t, f.db)); out.Reason != "" || !out.Learned {
				t.Fatalf("device %d during learning: %+v", i, out)
			}
		}
	})
	t.Run("DeadlineEndsIt", func(t *testing.T) {
		c.advance(30*24*time.Hour + time.Second)
		out := admit(t, f.db, u, mustBrowser(t, f.db))
		if out.Reason != store.ReasonDevicePending || out.Device.State != store.DevicePending {
			t.Fatalf("after the deadline: %+v", out)
		}
		if len(store.NormalizeCode(out.Device.Code)) != 9 {
			t.Errorf("security code %q, want 9 digits", out.Device.Code)
		}
	})
	t.Run("CountEndsIt", func(t *testing.T) {
		for _, n := range []int{1, 9} {
			if err := f.db.EnableLearningMode(ctx, f.admin, []string{u.ID}, c.t.Add(24*time.Hour), n); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if out := admit(t, f.db, u, mustBrowser(t, f.db)); !out.Learned {
					t.Fatalf("%d devices: device %d not learned: %+v", n, i+1, out)
				}
			}
			if out := admit(t, f.db, u, mustBrowser(t, f.db)); out.Reason != store.ReasonDevicePending {
				t.Errorf("%d devices: device %d was let in: %+v", n, n+1, out)
			}
		}
	})
	t.Run("UserEndsIt", func(t *testing.T) {
		if err := f.db.EnableLearningMode(ctx, f.admin, []string{u.ID}, c.t.Add(24*time.Hour), 3); err != nil {
			t.Fatal(err)
		}
		if err := f.db.EndLearningMode(ctx, u.Actor(), u.ID); err != nil {
			t.Fatal(err)
		}
		if out := admit(t, f.db, u, mustBrowser(t, f.db)); out.Reason != store.ReasonDevicePending {
			t.Errorf("after ending learning mode a new device got in: %+v", out)
		}
	})
	t.Run("ErrOnlyAdminsEnable", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			a       store.Actor
			devices int
			until   time.Time
			want    store.Code
		}{
			{"Teacher", u.Actor(), 3, c.t.Add(time.Hour), store.CodeForbidden},
			{"ZeroDevices", f.admin, 0, c.t.Add(time.Hour), store.CodeInvalid},
			{"TenDevices", f.admin, 10, c.t.Add(time.Hour), store.CodeInvalid},
			{"PastDeadline", f.admin, 3, c.t.Add(-time.Hour), store.CodeInvalid},
		} {
			if err := f.db.EnableLearningMode(ctx, tc.a, []string{u.ID}, tc.until, tc.devices); store.ErrorCode(err) != tc.want {
				t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
			}
		}
		other, _ := f.db.CreateSchool(ctx, "Andere")
		if err := f.db.EnableLearningMode(ctx, store.SchoolAdmin(other.ID), []string{u.ID}, c.t.Add(time.Hour), 3); store.ErrorCode(err) != store.CodeNotFound {
			t.Errorf("another school's admin: err = %v, want not found", err)
		}
	})
}

func TestDeviceTrustIsPerUser(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now()}
	f.db.SetClock(c.now)
	t1, t2 := mustUser(t, f.db, f.t1), mustUser(t, f.db, f.t2)
	shared := mustBrowser(t, f.db)
	if out := admit(t, f.db, t1, shared); out.Reason != "" {
		t.Fatalf("teacher 1 during learning: %+v", out)
	}
	c.advance(31 * 24 * time.Hour)
	if out := admit(t, f.db, t1, shared); out.Reason != "" || out.Learned {
		t.Errorf("teacher 1 on their trusted device: %+v", out)
	}
	out := admit(t, f.db, t2, shared)
	if out.Reason != store.ReasonDevicePending {
		t.Fatalf("teacher 2 on teacher 1's device: %+v", out)
	}
	code := out.Device.Code
	if again := admit(t, f.db, t2, shared); again.Device.Code != code {
		t.Errorf("the code changed on a second attempt: %s -> %s (the user already read it out)", code, again.Device.Code)
	}

	t.Run("ErrWrongCode", func(t *testing.T) {
		wrong := "000-000-000"
		if code == wrong {
			wrong = "000-000-001"
		}
		if _, err := f.db.ApproveDevice(ctx, f.admin, t2.ID, wrong); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("wrong code: err = %v", err)
		}
	})
	t.Run("ErrCodeOfAnotherUser", func(t *testing.T) {
		if _, err := f.db.ApproveDevice(ctx, f.admin, t1.ID, code); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("teacher 2's code approved for teacher 1: err = %v", err)
		}
		if out := admit(t, f.db, t2, shared); out.Reason != store.ReasonDevicePending {
			t.Errorf("teacher 2 got in after a wrong approval: %+v", out)
		}
	})
	t.Run("ErrTeacherApproves", func(t *testing.T) {
		if _, err := f.db.ApproveDevice(ctx, t2.Actor(), t2.ID, code); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("teacher approving own device: err = %v", err)
		}
	})
	t.Run("Approve", func(t *testing.T) {
		d, err := f.db.ApproveDevice(ctx, f.admin, t2.ID, " "+code[:3]+" "+code[4:]) // typed with other separators
		if err != nil {
			t.Fatal(err)
		}
		if d.State != store.DeviceTrusted {
			t.Errorf("state = %s", d.State)
		}
		if out := admit(t, f.db, t2, shared); out.Reason != "" {
			t.Errorf("after approval: %+v", out)
		}
	})
	t.Run("BlockAndRemove", func(t *testing.T) {
		blocked := store.DeviceBlocked
		if _, err := f.db.UpdateDevice(ctx, t2.Actor(), t2.ID, shared, store.DevicePatch{State: &blocked}); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("teacher blocking: err = %v", err)
		}
		if _, err := f.db.UpdateDevice(ctx, f.admin, t2.ID, shared, store.DevicePatch{State: &blocked}); err != nil {
			t.Fatal(err)
		}
		if out := admit(t, f.db, t2, shared); out.Reason != store.ReasonDeviceBlocked {
			t.Errorf("blocked device: %+v", out)
		}
		if err := f.db.RemoveDevice(ctx, t1.Actor(), t1.ID, shared); err != nil {
			t.Fatal(err)
		}
		if out := admit(t, f.db, t1, shared); out.Reason != store.ReasonDevicePending {
			t.Errorf("removed device let in: %+v", out)
		}
		list, err := f.db.UserDevices(ctx, f.admin, t1.ID)
		if err != nil || len(list) != 1 || list[0].State != store.DevicePending || list[0].FirstIP != "192.0.2.7" {
			t.Errorf("devices of teacher 1 = %+v, %v", list, err)
		}
		if _, err := f.db.UserDevices(ctx, t2.Actor(), t1.ID); store.ErrorCode(err) != store.CodeForbidden {
			t.Errorf("teacher listing another's devices: err = %v", err)
		}
	})
}

func TestLastAdminDeviceGuard(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now()}
	f.db.SetClock(c.now)
	admin := mustUser(t, f.db, f.admin)
	laptop := mustBrowser(t, f.db)
	admit(t, f.db, admin, laptop)
	c.advance(31 * 24 * time.Hour) // learning mode over: the laptop is the only way in
	blocked := store.DeviceBlocked
	if _, err := f.db.UpdateDevice(ctx, f.admin, admin.ID, laptop, store.DevicePatch{State: &blocked}); store.ErrorCode(err) != store.CodeLastAdminDevice {
		t.Errorf("blocking the last admin's last device: %v", err)
	}
	if err := f.db.RemoveDevice(ctx, f.admin, admin.ID, laptop); store.ErrorCode(err) != store.CodeLastAdminDevice {
		t.Errorf("removing the last admin's last device: %v", err)
	}
	if out := admit(t, f.db, admin, laptop); out.Reason != "" {
		t.Fatalf("the refused removal took the device: %+v", out)
	}
	if _, err := f.db.NewRecoveryCodes(ctx, f.admin); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RemoveDevice(ctx, f.admin, admin.ID, laptop); err != nil {
		t.Errorf("with recovery codes printed, removal is allowed: %v", err)
	}
	// A teacher's devices are never guarded.
	teacher := mustUser(t, f.db, f.t1)
	pc := mustBrowser(t, f.db)
	c.t = time.Now()
	admit(t, f.db, teacher, pc)
	if err := f.db.RemoveDevice(ctx, f.admin, teacher.ID, pc); err != nil {
		t.Errorf("removing a teacher's device: %v", err)
	}
}
