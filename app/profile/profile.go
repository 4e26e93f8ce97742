// Package profile keeps the desktop app's files in the OS user's profile: the local database, and a vault with
// the device's settings and secrets sealed under a key that the operating system protects (DPAPI on Windows, the
// Keychain on macOS, a file only the user can read on Linux). Wipe removes every file Pult wrote there.
package profile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files in the profile folder. Everything Pult writes there has one of these names (or starts with one).
const (
	DatabaseFile = "pult.db"
	vaultFile    = "vault"
	osKeyFile    = "os.key"
)

// ErrNoVault means the profile holds no vault: the app is at its first run.
var ErrNoVault = errors.New("no vault: first run")

// Dir returns the profile folder: PULT_PROFILE_DIR if set (tests, portable use), else Pult's folder in the OS
// user's configuration directory (%AppData%\Pult, ~/Library/Application Support/Pult, ~/.config/pult).
func Dir() (string, error) {
	if d := os.Getenv("PULT_PROFILE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("profile folder: %w", err)
	}
	name := "Pult"
	if filepath.Separator == '/' && !isDarwin {
		name = "pult"
	}
	return filepath.Join(base, name), nil
}

// Profile is an opened profile folder and its OS-protected key.
type Profile struct {
	dir   string
	aead  cipher.AEAD
	osKey []byte
}

// Open opens the profile folder, creating it and its OS-protected key if needed.
func Open(dir string) (*Profile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open profile: %w", err)
	}
	key, err := loadOSKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		err = storeOSKey(dir, key)
	}
	if err != nil {
		return nil, fmt.Errorf("open profile: os key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("open profile: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("open profile: %w", err)
	}
	return &Profile{dir: dir, aead: aead, osKey: key}, nil
}

// Dir is the profile's folder.
func (p *Profile) Dir() string { return p.dir }

// Path returns the path of a file in the profile.
func (p *Profile) Path(name string) string { return filepath.Join(p.dir, name) }

var vaultAD = []byte("pult vault v1")

// Load reads the vault into v; ErrNoVault when there is none. A vault that does not open (tampered, or sealed
// under another OS user's key) is an error, never read.
func (p *Profile) Load(v any) error {
	packet, err := os.ReadFile(p.Path(vaultFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoVault
	}
	if err != nil {
		return fmt.Errorf("read vault: %w", err)
	}
	plain, err := p.aead.Open(nil, nil, packet, vaultAD)
	if err != nil {
		return fmt.Errorf("open vault: %w", err)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("decode vault: %w", err)
	}
	return nil
}

// Save seals v into the vault. The write is atomic and durable: a crash leaves the old vault or the new one,
// so a wrong-PIN count that was saved survives a pulled plug.
func (p *Profile) Save(v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode vault: %w", err)
	}
	packet := p.aead.Seal(nil, nil, plain, vaultAD)
	tmp, err := os.CreateTemp(p.dir, vaultFile+".tmp*")
	if err != nil {
		return fmt.Errorf("save vault: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(packet); err != nil {
		tmp.Close()
		return fmt.Errorf("save vault: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save vault: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save vault: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.Path(vaultFile)); err != nil {
		return fmt.Errorf("save vault: %w", err)
	}
	return nil
}

// Wipe removes everything Pult wrote in the profile: database, WAL, vault and the OS-protected key (and the
// folder itself when nothing else is left in it). The Profile is unusable afterwards.
func (p *Profile) Wipe() error {
	var errs []error
	entries, err := os.ReadDir(p.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if ours(e.Name()) {
			if err := os.RemoveAll(p.Path(e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := destroyOSKey(p.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	clear(p.osKey)
	os.Remove(p.dir) // only succeeds when empty: a portable folder may hold the user's own files
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wipe profile: %w", err)
	}
	return nil
}

func ours(name string) bool {
	for _, prefix := range []string{DatabaseFile, vaultFile, osKeyFile} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
