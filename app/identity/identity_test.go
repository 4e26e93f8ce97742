package identity_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	"pult/app/identity"
)

// Another OS user on the same PC is another device; the same user on another PC too.
func TestHardwareToken(t *testing.T) {
	alice := identity.Machine{ID: "machine-1", OSUser: "alice\x001000"}
	bob := identity.Machine{ID: "machine-1", OSUser: "bob\x001001"}
	aliceElsewhere := identity.Machine{ID: "machine-2", OSUser: "alice\x001000"}
	if bytes.Equal(alice.Token(), bob.Token()) {
		t.Error("two OS users on one PC have the same hardware token")
	}
	if bytes.Equal(alice.Token(), aliceElsewhere.Token()) {
		t.Error("one OS user on two PCs has the same hardware token")
	}
	if !bytes.Equal(alice.Token(), identity.Machine{ID: "machine-1", OSUser: "alice\x001000"}.Token()) {
		t.Error("the token is not stable for the same machine and user")
	}
	// The separator keeps "ab"+"c" and "a"+"bc" apart.
	if bytes.Equal(identity.HardwareToken("ab", "c"), identity.HardwareToken("a", "bc")) {
		t.Error("machine id and user are not separated")
	}
	if alice.UserName() != "alice" {
		t.Errorf("UserName = %q", alice.UserName())
	}
	cur, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	if cur.ID == "" || cur.OSUser == "" {
		t.Errorf("Current() = %+v, want a machine id and an OS user", cur)
	}
}

func TestKeyAndSignature(t *testing.T) {
	seed, pub := identity.NewKey()
	raw, err := base64.StdEncoding.DecodeString(pub)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		t.Fatalf("public key %q: %v", pub, err)
	}
	sig, err := base64.StdEncoding.DecodeString(identity.Sign(seed, []byte("challenge")))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(raw, []byte("challenge"), sig) {
		t.Error("signature does not verify with the device's public key")
	}
	if ed25519.Verify(raw, []byte("other"), sig) {
		t.Error("signature verifies another message")
	}
}
