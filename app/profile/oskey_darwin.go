//go:build darwin

package profile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
)

const isDarwin = true

// On macOS the key lives in the user's login Keychain as a generic password, one item per profile folder. The
// security tool is driven through its interactive mode on stdin, so the key never appears in a process list.

const keychainService = "app.pult.desktop"

func keychainAccount(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "profile-" + hex.EncodeToString(sum[:8])
}

func security(script string) (string, error) {
	cmd := exec.Command("/usr/bin/security", "-i")
	cmd.Stdin = strings.NewReader(script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil || strings.Contains(errOut.String(), "could not be found") {
		if strings.Contains(errOut.String(), "could not be found") {
			return "", fs.ErrNotExist
		}
		return "", fmt.Errorf("keychain: %w", err)
	}
	return out.String(), nil
}

func loadOSKey(dir string) ([]byte, error) {
	out, err := security(fmt.Sprintf("find-generic-password -s %s -a %s -w\n", keychainService, keychainAccount(dir)))
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(out))
	if err != nil || len(key) != 32 {
		return nil, errors.New("keychain item is not a Pult key")
	}
	return key, nil
}

func storeOSKey(dir string, key []byte) error {
	_, err := security(fmt.Sprintf("add-generic-password -U -s %s -a %s -l Pult -w %s\n", keychainService, keychainAccount(dir), hex.EncodeToString(key)))
	return err
}

func destroyOSKey(dir string) error {
	_, err := security(fmt.Sprintf("delete-generic-password -s %s -a %s\n", keychainService, keychainAccount(dir)))
	return err
}
