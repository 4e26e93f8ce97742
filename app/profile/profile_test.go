package profile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"pult/app/profile"
)

type settings struct {
	Secret string `json:"secret"`
}

func TestVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile")
	p, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got settings
	if err := p.Load(&got); !errors.Is(err, profile.ErrNoVault) {
		t.Fatalf("Load of a new profile: %v, want ErrNoVault", err)
	}
	if err := p.Save(settings{Secret: "Zoë Özdemir"}); err != nil {
		t.Fatal(err)
	}
	// Reopened, as after a restart.
	p2, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Load(&got); err != nil || got.Secret != "Zoë Özdemir" {
		t.Fatalf("Load after reopen = %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(raw, []byte("Özdemir")) {
			t.Errorf("%s holds the secret in plaintext", e.Name())
		}
		if info, _ := e.Info(); info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", e.Name(), info.Mode())
		}
	}

	vault := filepath.Join(dir, "vault")
	raw, _ := os.ReadFile(vault)
	raw[len(raw)/2] ^= 1
	os.WriteFile(vault, raw, 0o600)
	if err := p2.Load(&got); err == nil || errors.Is(err, profile.ErrNoVault) {
		t.Errorf("a tampered vault loaded: %v", err)
	}
}

func TestWipe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile")
	p, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Save(settings{Secret: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pult.db", "pult.db-wal", "pult.db-shm"} {
		os.WriteFile(p.Path(name), []byte("data"), 0o600)
	}
	if err := p.Wipe(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		t.Errorf("after the wipe the profile folder still holds %v", entries)
	}

	// A portable folder with the user's own files keeps them, and only them.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, "notes.txt"), []byte("mine"), 0o600)
	p2, err := profile.Open(dir2)
	if err != nil {
		t.Fatal(err)
	}
	p2.Save(settings{Secret: "x"})
	if err := p2.Wipe(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir2)
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		t.Errorf("after the wipe the portable folder holds %v, want only notes.txt", entries)
	}
	// A new key is made: the old vault, had it survived, would not open.
	if _, err := profile.Open(dir2); err != nil {
		t.Fatal(err)
	}
}
