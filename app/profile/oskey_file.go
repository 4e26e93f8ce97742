//go:build !windows && !darwin

package profile

import (
	"fmt"
	"os"
	"path/filepath"
)

const isDarwin = false

// On Linux the OS protection is the file system: a key file that only the OS user can read.

func loadOSKey(dir string) ([]byte, error) {
	key, err := os.ReadFile(filepath.Join(dir, osKeyFile))
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s has %d bytes, want 32", osKeyFile, len(key))
	}
	return key, nil
}

func storeOSKey(dir string, key []byte) error {
	return writeNew(filepath.Join(dir, osKeyFile), key)
}

func destroyOSKey(dir string) error { return os.Remove(filepath.Join(dir, osKeyFile)) }
