package remote_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pult/app/remote"
	"pult/store"
)

// The license QR code pins the server's certificate: the right one connects, any other is refused with its
// own code, also when the client would otherwise trust it.
func TestPinnedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"deviceId":"d1"}`)
	}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	right := hex.EncodeToString(sum[:])
	sum[0] ^= 1
	wrong := hex.EncodeToString(sum[:])
	ctx := context.Background()

	c, err := remote.New(srv.URL, right)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.Register(ctx, "pub", "tok"); err != nil || id != "d1" {
		t.Fatalf("with the right fingerprint: %q, %v", id, err)
	}
	c, _ = remote.New(srv.URL, wrong)
	if _, err := c.Register(ctx, "pub", "tok"); store.ErrorCode(err) != "certificate_mismatch" {
		t.Fatalf("with a wrong fingerprint: %v, want certificate_mismatch", err)
	}
	// Without a pin the certificate must be one the system trusts; the test server's is not.
	c, _ = remote.New(srv.URL, "")
	if _, err := c.Register(ctx, "pub", "tok"); err == nil {
		t.Fatal("an untrusted certificate was accepted without a pin")
	}
	for _, bad := range []string{"abc", strings.Repeat("zz", 32)} {
		if _, err := remote.New(srv.URL, bad); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("fingerprint %q: %v, want validation_failed", bad, err)
		}
	}
	for _, bad := range []string{"ftp://x", "https://", "https://user:pw@host", "https://host/?q=1", "host"} {
		if _, err := remote.New(bad, ""); store.ErrorCode(err) != store.CodeInvalid {
			t.Errorf("server %q: %v, want validation_failed", bad, err)
		}
	}
}

// The forwarder passes the window's request on with the device's session and without the webview's own origin
// and cookies, and keeps the backend's cookies away from the window.
func TestForwarder(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/devices/desktop" {
			http.SetCookie(w, &http.Cookie{Name: "pult_session", Value: "s3cret", Path: "/"})
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"deviceId":"d1"}`)
			return
		}
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		http.SetCookie(w, &http.Cookie{Name: "pult_session", Value: "rotated", Path: "/"})
		w.WriteHeader(http.StatusCreated)
	}))
	c, err := remote.New(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(context.Background(), "pub", "tok"); err != nil {
		t.Fatal(err)
	}
	var reached []error
	fwd := c.Forwarder(func(err error) { reached = append(reached, err) })
	req := httptest.NewRequest(http.MethodPost, "/api/v1/users", strings.NewReader(`{"username":"a"}`))
	req.Header.Set("Origin", "wails://wails")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Cookie", "window=1")
	rec := httptest.NewRecorder()
	fwd.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated || got == nil || got.Method != http.MethodPost || body != `{"username":"a"}` {
		t.Fatalf("forwarded: %d, %v, body %q", rec.Code, got, body)
	}
	if got.Header.Get("Origin") != "" || got.Header.Get("Sec-Fetch-Site") != "" {
		t.Errorf("the webview's origin headers reached the backend: %v", got.Header)
	}
	if ck, err := got.Cookie("pult_session"); err != nil || ck.Value != "s3cret" {
		t.Errorf("the device's session did not go along: %v", got.Header.Get("Cookie"))
	}
	if _, err := got.Cookie("window"); err == nil {
		t.Error("the window's own cookie reached the backend")
	}
	if rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("the backend's cookie reached the window: %q", rec.Header().Get("Set-Cookie"))
	}
	if len(reached) != 1 || reached[0] != nil {
		t.Errorf("reached = %v", reached)
	}

	srv.Close()
	rec = httptest.NewRecorder()
	fwd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/users", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "needs_connection") {
		t.Errorf("backend gone: %d %s, want 503 needs_connection", rec.Code, rec.Body)
	}
	if len(reached) != 2 || reached[1] == nil {
		t.Errorf("the failure was not reported: %v", reached)
	}
}
