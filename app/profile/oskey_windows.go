//go:build windows

package profile

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

const isDarwin = false

// On Windows the key file holds the key protected by DPAPI for the current OS user: another user of the PC, or
// the file copied to another PC, cannot unprotect it.

var dpapiEntropy = []byte("pult os key v1")

func blob(b []byte) *windows.DataBlob {
	if len(b) == 0 {
		return &windows.DataBlob{}
	}
	return &windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}

func takeBlob(out *windows.DataBlob) []byte {
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...)
}

func loadOSKey(dir string) ([]byte, error) {
	protected, err := os.ReadFile(filepath.Join(dir, osKeyFile))
	if err != nil {
		return nil, err
	}
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blob(protected), nil, blob(dpapiEntropy), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("unprotect %s: %w", osKeyFile, err)
	}
	key := takeBlob(&out)
	if len(key) != 32 {
		return nil, fmt.Errorf("%s holds %d bytes, want 32", osKeyFile, len(key))
	}
	return key, nil
}

func storeOSKey(dir string, key []byte) error {
	var out windows.DataBlob
	if err := windows.CryptProtectData(blob(key), nil, blob(dpapiEntropy), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return fmt.Errorf("protect key: %w", err)
	}
	return writeNew(filepath.Join(dir, osKeyFile), takeBlob(&out))
}

func destroyOSKey(dir string) error { return os.Remove(filepath.Join(dir, osKeyFile)) }
