package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"pult/store"
)

func TestDesktopProof(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpen(t)
	c := &clock{t: time.Now()}
	db.SetClock(c.now)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	token := sha256.Sum256([]byte("machine-id|os-user"))
	id, err := db.RegisterDesktopDevice(ctx, pub, token[:])
	if err != nil {
		t.Fatal(err)
	}
	sign := func(challenge, username string) []byte {
		return ed25519.Sign(priv, store.LoginMessage(challenge, username))
	}

	challenge, _, err := db.NewChallenge(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.VerifyDesktopProof(ctx, id, challenge, sign(challenge, "v.name"), token[:], "v.name"); err != nil {
		t.Fatalf("a good proof was refused: %v", err)
	}
	t.Run("ErrReplay", func(t *testing.T) {
		if err := db.VerifyDesktopProof(ctx, id, challenge, sign(challenge, "v.name"), token[:], "v.name"); store.ErrorCode(err) != store.CodeDeviceProofInvalid {
			t.Errorf("a replayed signature: %v", err)
		}
	})
	fresh := func() string {
		ch, _, err := db.NewChallenge(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherID, _ := db.RegisterDesktopDevice(ctx, otherPub, token[:])
	for name, try := range map[string]func() error{
		"WrongToken": func() error {
			ch := fresh()
			wrong := sha256.Sum256([]byte("another machine"))
			return db.VerifyDesktopProof(ctx, id, ch, sign(ch, "v.name"), wrong[:], "v.name")
		},
		"OtherUsername": func() error {
			ch := fresh()
			return db.VerifyDesktopProof(ctx, id, ch, sign(ch, "v.name"), token[:], "a.admin")
		},
		"OtherDevicesKey": func() error {
			ch := fresh()
			return db.VerifyDesktopProof(ctx, id, ch, ed25519.Sign(otherPriv, store.LoginMessage(ch, "v.name")), token[:], "v.name")
		},
		"OtherDevicesChallenge": func() error {
			ch, _, _ := db.NewChallenge(ctx, otherID)
			return db.VerifyDesktopProof(ctx, id, ch, sign(ch, "v.name"), token[:], "v.name")
		},
		"Expired": func() error {
			ch := fresh()
			c.advance(store.ChallengeLifetime + time.Second)
			return db.VerifyDesktopProof(ctx, id, ch, sign(ch, "v.name"), token[:], "v.name")
		},
		"MadeUpChallenge": func() error {
			return db.VerifyDesktopProof(ctx, id, "made-up", sign("made-up", "v.name"), token[:], "v.name")
		},
	} {
		if err := try(); store.ErrorCode(err) != store.CodeDeviceProofInvalid {
			t.Errorf("%s: err = %v, want device_proof_invalid", name, err)
		}
	}
	t.Run("ErrBadRegistration", func(t *testing.T) {
		if _, err := db.RegisterDesktopDevice(ctx, pub[:31], token[:]); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("short key: %v", err)
		}
		if _, _, err := db.NewChallenge(ctx, store.NewID()); store.ErrorCode(err) != store.CodeDeviceProofInvalid {
			t.Errorf("challenge for an unknown device: %v", err)
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	c := &clock{t: time.Now()}
	f.db.SetClock(c.now)
	admin := mustUser(t, f.db, f.admin)
	if _, err := f.db.NewRecoveryCodes(ctx, f.t1); store.ErrorCode(err) != store.CodeForbidden {
		t.Errorf("a teacher made recovery codes: %v", err)
	}
	codes, err := f.db.NewRecoveryCodes(ctx, f.admin)
	if err != nil || len(codes) != store.RecoveryCodeCount {
		t.Fatalf("codes = %v, %v", codes, err)
	}
	c.advance(31 * 24 * time.Hour) // learning mode is over
	device := mustBrowser(t, f.db)
	if out := admit(t, f.db, admin, device); out.Reason != store.ReasonDevicePending {
		t.Fatalf("new device after learning mode: %+v", out)
	}
	if ok, err := f.db.RecoverDevice(ctx, admin, device, "XXXX-XXXX-XXXX"); ok || err != nil {
		t.Errorf("a wrong code recovered: %v %v", ok, err)
	}
	if ok, err := f.db.RecoverDevice(ctx, admin, device, " "+codes[3][:4]+codes[3][5:]+" "); !ok || err != nil { // typed without dash
		t.Fatalf("a right code did not recover: %v %v", ok, err)
	}
	if out := admit(t, f.db, admin, device); out.Reason != "" {
		t.Errorf("recovered device: %+v", out)
	}
	second := mustBrowser(t, f.db)
	admit(t, f.db, admin, second)
	if ok, _ := f.db.RecoverDevice(ctx, admin, second, codes[3]); ok {
		t.Error("a used code worked again")
	}
	if n, _, _ := f.db.RecoveryCodesLeft(ctx, f.admin); n != store.RecoveryCodeCount-1 {
		t.Errorf("codes left = %d", n)
	}
	teacher := mustUser(t, f.db, f.t1)
	admit(t, f.db, teacher, second)
	if ok, _ := f.db.RecoverDevice(ctx, teacher, second, codes[4]); ok {
		t.Error("an admin's code recovered a teacher's device")
	}
	if _, err := f.db.NewRecoveryCodes(ctx, f.admin); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.db.RecoverDevice(ctx, admin, second, codes[5]); ok {
		t.Error("a code of a replaced set still works")
	}
}
