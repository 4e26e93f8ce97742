// Package pin holds the rules of the desktop app's PIN and the wrapping of the local data key under it. The PIN
// is never stored and never compared: it derives, with Argon2id, the key that opens the data key, so a wrong PIN
// simply fails to open it, and a copy of the profile must be attacked with 64 MiB of memory per guess.
package pin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"pult/store"
)

// MinLength is the fewest digits a PIN has.
const MinLength = 6

// Field error codes of a PIN beyond the store's.
const (
	FieldTooCommon = "too_common"
	FieldMismatch  = "mismatch"
)

// common are PINs that appear at the top of every leaked list, beyond the repeated digits and runs that Check
// finds by their shape.
var common = map[string]bool{
	"121212": true, "112233": true, "123123": true, "123321": true, "111222": true, "131313": true, "159753": true,
	"147258": true, "147852": true, "258456": true, "654321": true, "696969": true, "101010": true, "202020": true,
	"520520": true, "123654": true, "212121": true, "232323": true, "252525": true, "007007": true, "110110": true,
	"222333": true, "789456": true, "456123": true, "102030": true, "142536": true, "200000": true, "100000": true,
	"1234567890": true, "0987654321": true, "12341234": true, "11223344": true, "12121212": true, "88888888": true,
}

// Check tells what is wrong with a new PIN and its repetition, as field errors.
func Check(p, repeat string) error {
	f := store.FieldErrors{}
	switch {
	case p == "":
		f.Add("pin", store.FieldRequired)
	case strings.Trim(p, "0123456789") != "":
		f.Add("pin", store.FieldInvalid)
	case len(p) < MinLength:
		f.Add("pin", store.FieldTooShort)
	case len(p) > 32:
		f.Add("pin", store.FieldTooLong)
	case TooCommon(p):
		f.Add("pin", FieldTooCommon)
	}
	if _, bad := f["pin"]; !bad && repeat != p {
		f.Add("repeat", FieldMismatch)
	}
	return f.Err("pin")
}

// TooCommon reports whether a PIN of digits is one that attackers try first: all one digit, a run up or down
// (wrapping 9→0 too), a repeated short block, or one of the most common PINs.
func TooCommon(p string) bool {
	if common[p] {
		return true
	}
	up, down := true, true
	for i := 1; i < len(p); i++ {
		d := (int(p[i]) - int(p[i-1]) + 10) % 10
		up = up && d == 1
		down = down && d == 9
	}
	if up || down {
		return true
	}
	for size := 1; size <= len(p)/2; size++ {
		if len(p)%size == 0 && strings.Repeat(p[:size], len(p)/size) == p {
			return true
		}
	}
	return false
}

// Argon2id parameters of the PIN key: 64 MiB, 3 passes, 4 lanes (about 250 ms here).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 4
)

// Wrapped is the data key sealed under a key derived from the PIN.
type Wrapped struct {
	Salt   []byte `json:"salt"`
	Sealed []byte `json:"sealed"`
	Time   uint32 `json:"time"`
	Memory uint32 `json:"memory"`
	Lanes  uint8  `json:"lanes"`
}

// ErrWrongPIN is the answer to a PIN that does not open the data key.
var ErrWrongPIN = errors.New("wrong PIN")

var wrapAD = []byte("pult pin wrap v1")

func (w *Wrapped) aead(p string) (cipher.AEAD, error) {
	k := argon2.IDKey([]byte(p), w.Salt, w.Time, w.Memory, w.Lanes, 32)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// Wrap seals the data key under the PIN with a fresh salt.
func Wrap(key store.Key, p string) (Wrapped, error) {
	w := Wrapped{Salt: make([]byte, 16), Time: argonTime, Memory: argonMemory, Lanes: argonThreads}
	rand.Read(w.Salt)
	aead, err := w.aead(p)
	if err != nil {
		return Wrapped{}, fmt.Errorf("wrap data key: %w", err)
	}
	w.Sealed = aead.Seal(nil, nil, key.Bytes(), wrapAD)
	return w, nil
}

// Unwrap opens the data key with the PIN; ErrWrongPIN if it does not open.
func Unwrap(w Wrapped, p string) (store.Key, error) {
	if w.Time == 0 || w.Memory == 0 || w.Lanes == 0 || len(w.Salt) == 0 {
		return store.Key{}, errors.New("unwrap data key: no wrapped key")
	}
	aead, err := w.aead(p)
	if err != nil {
		return store.Key{}, fmt.Errorf("unwrap data key: %w", err)
	}
	raw, err := aead.Open(nil, nil, w.Sealed, wrapAD)
	if err != nil {
		return store.Key{}, ErrWrongPIN
	}
	return store.KeyFromBytes(raw)
}
