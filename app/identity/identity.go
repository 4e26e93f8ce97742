// Package identity is the desktop device's identity towards the backend (TD2): a hardware token from the
// machine and the OS user, so that another OS user on the same PC is another device, and an Ed25519 key pair
// whose private key stays in the profile and proves the device by signing the server's challenges.
//
// The token is computed anew at every start and never stored: a profile copied to another PC or user account
// computes another token, and the backend, which holds only the token's hash bound to the public key, refuses it.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"runtime"

	"github.com/denisbrodbeck/machineid"
)

// HardwareToken derives the device token from the machine id and the OS user.
func HardwareToken(machineID, osUser string) []byte {
	h := sha256.New()
	h.Write([]byte("pult hardware token v1\x00"))
	h.Write([]byte(machineID))
	h.Write([]byte{0})
	h.Write([]byte(osUser))
	return h.Sum(nil)
}

// TokenHash is what the backend receives of a token: its SHA-256, in hex.
func TokenHash(token []byte) string {
	sum := sha256.Sum256(token)
	return hex.EncodeToString(sum[:])
}

// Machine is what the device knows of its PC and user; the tests build one for a simulated other user.
type Machine struct {
	ID       string // the machine id, keyed for Pult so that other apps' ids do not match
	OSUser   string // login name and uid/SID: a user renamed keeps the uid, a new user gets a new one
	Hostname string
	Platform string
}

// Current reads the machine id and the OS user of this process.
func Current() (Machine, error) {
	id, err := machineid.ProtectedID("pult")
	if err != nil {
		return Machine{}, fmt.Errorf("machine id: %w", err)
	}
	u, err := user.Current()
	if err != nil {
		return Machine{}, fmt.Errorf("os user: %w", err)
	}
	host, _ := os.Hostname()
	return Machine{ID: id, OSUser: u.Username + "\x00" + u.Uid, Hostname: host, Platform: runtime.GOOS + "/" + runtime.GOARCH}, nil
}

// Token is the machine's hardware token.
func (m Machine) Token() []byte { return HardwareToken(m.ID, m.OSUser) }

// UserName is the OS login name without its id, as admins see it in the device list.
func (m Machine) UserName() string {
	for i := range len(m.OSUser) {
		if m.OSUser[i] == 0 {
			return m.OSUser[:i]
		}
	}
	return m.OSUser
}

// NewKey makes the device's key pair; the seed is what the profile keeps.
func NewKey() (seed []byte, public string) {
	seed = make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	return seed, base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
}

// Sign signs a message with the device key of a seed, base64 as the backend expects it.
func Sign(seed, message []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed), message))
}
