package pin_test

import (
	"errors"
	"testing"

	"pult/app/pin"
	"pult/store"
)

func fieldOf(err error, name string) string {
	var e *store.Error
	if errors.As(err, &e) {
		return e.Fields[name]
	}
	return ""
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		pin, repeat, field, want string
	}{
		{"", "", "pin", store.FieldRequired},
		{"12345", "12345", "pin", store.FieldTooShort},
		{"48a193", "48a193", "pin", store.FieldInvalid},
		{"4819 37", "4819 37", "pin", store.FieldInvalid},
		{"123456", "123456", "pin", pin.FieldTooCommon},
		{"000000", "000000", "pin", pin.FieldTooCommon},
		{"654321", "654321", "pin", pin.FieldTooCommon},
		{"890123", "890123", "pin", pin.FieldTooCommon}, // a run that wraps
		{"121212", "121212", "pin", pin.FieldTooCommon},
		{"123123", "123123", "pin", pin.FieldTooCommon},
		{"112233", "112233", "pin", pin.FieldTooCommon},
		{"147258", "147258", "pin", pin.FieldTooCommon},
		{"48193726", "48193762", "repeat", pin.FieldMismatch},
	} {
		err := pin.Check(c.pin, c.repeat)
		if got := fieldOf(err, c.field); got != c.want {
			t.Errorf("Check(%q, %q): %s = %q, want %q (%v)", c.pin, c.repeat, c.field, got, c.want, err)
		}
	}
	for _, good := range []string{"481937", "50727413", "9182736450"} {
		if err := pin.Check(good, good); err != nil {
			t.Errorf("Check(%q) = %v, want accepted", good, err)
		}
	}
}

func TestWrap(t *testing.T) {
	key, err := store.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	w, err := pin.Wrap(key, "481937")
	if err != nil {
		t.Fatal(err)
	}
	if w.Memory < 64*1024 || w.Time < 3 {
		t.Errorf("Argon2id at %d KiB, t=%d; want at least 64 MiB, t=3", w.Memory, w.Time)
	}
	for _, wrong := range []string{"481938", "", "4819370"} {
		if _, err := pin.Unwrap(w, wrong); !errors.Is(err, pin.ErrWrongPIN) {
			t.Errorf("Unwrap with %q: err = %v, want ErrWrongPIN", wrong, err)
		}
	}
	got, err := pin.Unwrap(w, "481937")
	if err != nil || !got.Equal(key) {
		t.Fatalf("Unwrap with the right PIN: %v, same key %t", err, got.Equal(key))
	}
	w2, _ := pin.Wrap(key, "481937")
	if string(w2.Salt) == string(w.Salt) || string(w2.Sealed) == string(w.Sealed) {
		t.Error("wrapping twice gives the same salt or packet")
	}
	w.Sealed[len(w.Sealed)-1] ^= 1
	if _, err := pin.Unwrap(w, "481937"); err == nil {
		t.Error("a tampered wrapped key opened")
	}
}
