// Package app is Pult's desktop host: a Wails window that shows the same web UI as the browser. The UI only calls
// /api/v1/…; inside the window, Wails' asset server hands those requests to this package's handler.
//
// For now the handler forwards every API request to the school's backend (PULT_SERVER), so the desktop app is a
// window onto the backend; the encrypted local store, offline work, enrollment and the PIN lock come with the
// desktop issue.
package app

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"

	"pult/frontend"
)

// DefaultServer is the backend a development build talks to when PULT_SERVER is not set.
const DefaultServer = "http://127.0.0.1:8080"

// Run opens the desktop window and returns when it is closed.
func Run() error {
	server := os.Getenv("PULT_SERVER")
	if server == "" {
		server = DefaultServer
	}
	h, err := NewHandler(server)
	if err != nil {
		return err
	}
	return wails.Run(&options.App{
		Title: "Pult", Width: 1280, Height: 860, MinWidth: 900, MinHeight: 600,
		AssetServer: &assetserver.Options{Assets: frontend.Dist(), Handler: h},
	})
}

// NewHandler returns the window's API handler: it forwards /api/ and /healthz to the backend at server.
func NewHandler(server string) (http.Handler, error) {
	target, err := url.Parse(server)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("PULT_SERVER %q: want an http(s) URL", server)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		// The window is this handler's only client, and it is the app itself: the webview's own origin
		// (wails://…) means nothing to the backend.
		for _, h := range []string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Referer"} {
			r.Out.Header.Del(h)
		}
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}), nil
}
