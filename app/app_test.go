package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pult/app"
)

// TestHandler checks that the window's API requests reach the backend with method, path and body intact, and
// without the webview's own origin headers, which the backend would refuse as cross-site.
func TestHandler(t *testing.T) {
	var got *http.Request
	var body string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.WriteHeader(http.StatusCreated)
	}))
	defer backend.Close()
	h, err := app.NewHandler(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/session", strings.NewReader(`{"username":"a"}`))
	req.Header.Set("Origin", "wails://wails")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got == nil {
		t.Fatal("request did not reach the backend")
	}
	if rec.Code != http.StatusCreated || got.Method != http.MethodPost || got.URL.Path != "/api/v1/session" || body != `{"username":"a"}` {
		t.Errorf("forwarded %s %s %q, answered %d", got.Method, got.URL.Path, body, rec.Code)
	}
	if got.Header.Get("Origin") != "" || got.Header.Get("Sec-Fetch-Site") != "" {
		t.Errorf("origin headers forwarded: %v", got.Header)
	}

	t.Run("NotAPI", func(t *testing.T) {
		got = nil
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/etc/passwd", nil))
		if rec.Code != http.StatusNotFound || got != nil {
			t.Errorf("non-API path: status %d, forwarded %v", rec.Code, got != nil)
		}
	})
	t.Run("ErrBadServer", func(t *testing.T) {
		for _, s := range []string{"", "ftp://x", "not a url", "http://"} {
			if _, err := app.NewHandler(s); err == nil {
				t.Errorf("NewHandler(%q) accepted", s)
			}
		}
	})
}
