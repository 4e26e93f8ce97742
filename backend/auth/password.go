// Package auth holds the backend's credentials: password hashes and session tokens.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// OWASP is OWASP's minimum recommendation for Argon2id (19 MiB, t=2, p=1): about 37 ms on our machines.
var OWASP = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
	// MinPasswordLen is the shortest password accepted for a staff account.
	MinPasswordLen = 10
	// maxPasswordBytes bounds the work one request can cause.
	maxPasswordBytes = 256
)

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("password does not match")

// Hasher hashes and checks passwords with Argon2id. At most as many hashes run at once as there are cores, so a
// flood of logins queues instead of exhausting memory and starving everything else.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
}

// NewHasher returns a hasher with the given cost.
func NewHasher(p Params) (*Hasher, error) {
	h := &Hasher{params: p, slots: make(chan struct{}, runtime.NumCPU())}
	dummy, err := h.Hash(context.Background(), "pult dummy password for unknown users")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// CheckPolicy returns a field error code when a new password is not acceptable, or "".
func CheckPolicy(password string) string {
	switch {
	case password == "":
		return "required"
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return "too_short"
	case len(password) > maxPasswordBytes:
		return "too_long"
	}
	return ""
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for hash slot: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of a new password hash.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > maxPasswordBytes {
		return "", errors.New("hash password: too long")
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, hashLen)
	h.release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.MemoryKiB, h.params.Time, h.params.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify checks password against a PHC hash with the parameters stored in it. An empty hash is checked against a
// dummy hash, so that an unknown user costs as much time as a known one.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) error {
	if encoded == "" {
		encoded = h.dummy
		password += "\x00never matches"
	}
	if len(password) > maxPasswordBytes {
		password = password[:maxPasswordBytes]
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("verify password: unknown hash format")
	}
	var version int
	var p Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("verify password: unknown argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return fmt.Errorf("verify password: parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("verify password: salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return errors.New("verify password: bad hash")
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}
