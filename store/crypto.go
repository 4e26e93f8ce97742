package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Key is a 256-bit secret key. It never prints its bytes.
type Key struct{ b [32]byte }

// NewKey returns a fresh random key.
func NewKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k.b[:]); err != nil {
		return Key{}, fmt.Errorf("new key: %w", err)
	}
	return k, nil
}

// ParseKey reads a key from its 64 hex digits.
func ParseKey(s string) (Key, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(raw) != 32 {
		return Key{}, errors.New("parse key: want 64 hex digits")
	}
	var k Key
	copy(k.b[:], raw)
	return k, nil
}

// KeyFromBytes makes a key of 32 raw bytes.
func KeyFromBytes(raw []byte) (Key, error) {
	var k Key
	if len(raw) != len(k.b) {
		return Key{}, errors.New("key: want 32 bytes")
	}
	copy(k.b[:], raw)
	return k, nil
}

// Bytes returns a copy of the key's raw bytes, for wrapping it under another key.
func (k Key) Bytes() []byte { return append([]byte(nil), k.b[:]...) }

// Hex returns the key's 64 hex digits, for writing it to its file.
func (k Key) Hex() string { return hex.EncodeToString(k.b[:]) }

// Equal compares two keys in constant time.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k.b[:], o.b[:]) == 1 }

func (k Key) String() string { return "key:[redacted]" }

// LoadOrCreateKeyFile reads the key in path, or creates it with mode 0600 when the file does not exist.
func LoadOrCreateKeyFile(path string) (Key, error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(raw))
		if err != nil {
			return Key{}, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Key{}, fmt.Errorf("read key file: %w", err)
	}
	k, err := NewKey()
	if err != nil {
		return Key{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("create key folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Key{}, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(k.Hex() + "\n"); err != nil {
		f.Close()
		return Key{}, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Key{}, fmt.Errorf("sync key file: %w", err)
	}
	return k, f.Close()
}

// sealer encrypts and authenticates packets. The associated data binds a packet to its identity, so a packet
// copied onto another record does not open.
type sealer interface {
	seal(ad, plaintext []byte) []byte
	open(ad, packet []byte) ([]byte, error)
}

// gcmSealer is AES-256-GCM with a random 96-bit nonce per packet. Random nonces are safe for about 2^32 seals per
// key; a school's data key sees one seal per write, orders of magnitude below that over a school's lifetime.
type gcmSealer struct{ aead cipher.AEAD }

func newSealer(k Key) (sealer, error) {
	block, err := aes.NewCipher(k.b[:])
	if err != nil {
		return nil, fmt.Errorf("new cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("new gcm: %w", err)
	}
	return gcmSealer{aead: aead}, nil
}

func (s gcmSealer) seal(ad, plaintext []byte) []byte {
	return s.aead.Seal(nil, nil, plaintext, ad)
}

// errTampered is returned for any packet that does not authenticate: altered, truncated, moved or sealed under
// another key. It is deliberately loud: the data is not shown.
var errTampered = errors.New("packet failed authentication (altered or moved)")

func (s gcmSealer) open(ad, packet []byte) ([]byte, error) {
	out, err := s.aead.Open(nil, nil, packet, ad)
	if err != nil {
		return nil, errTampered
	}
	return out, nil
}

// keyring holds what the master key derives: the sealer that wraps school keys and the key for lookup MACs.
type keyring struct {
	wrap      sealer
	lookupKey []byte
}

func newKeyring(master Key) (*keyring, error) {
	wrapKey, err := hkdf.Key(sha256.New, master.b[:], nil, "pult wrap v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive wrap key: %w", err)
	}
	lookupKey, err := hkdf.Key(sha256.New, master.b[:], nil, "pult lookup v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive lookup key: %w", err)
	}
	var wk Key
	copy(wk.b[:], wrapKey)
	wrap, err := newSealer(wk)
	if err != nil {
		return nil, err
	}
	return &keyring{wrap: wrap, lookupKey: lookupKey}, nil
}

// lookup returns a keyed hash of a value that must be found by equality without being stored in the clear.
func (k *keyring) lookup(purpose, value string) []byte {
	m := hmac.New(sha256.New, k.lookupKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

func schoolKeyAD(schoolID string) []byte { return []byte("pult school key v1\x00" + schoolID) }

func (k *keyring) wrapSchoolKey(schoolID string, key Key) []byte {
	return k.wrap.seal(schoolKeyAD(schoolID), key.b[:])
}

func (k *keyring) unwrapSchoolKey(schoolID string, wrapped []byte) (Key, error) {
	raw, err := k.wrap.open(schoolKeyAD(schoolID), wrapped)
	if err != nil || len(raw) != 32 {
		return Key{}, fmt.Errorf("unwrap key of school %s: %w", schoolID, errTampered)
	}
	var key Key
	copy(key.b[:], raw)
	return key, nil
}
