// Command devserver serves the desktop app's UI and its real in-process handler over HTTP on a loopback
// address, the way Wails' asset server does inside the window: GETs of built assets are files, everything else
// goes to the handler. Browser tests drive the desktop UI through it, and it helps when working on the desktop
// screens without a window. It is never shipped: the window needs no port.
//
//	PULT_PROFILE_DIR=/tmp/p PULT_DESKTOP_ADDR=127.0.0.1:34115 go run ./app/devserver
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"pult/app"
	"pult/frontend"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := os.Getenv("PULT_DESKTOP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:34115"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("PULT_DESKTOP_ADDR %q: only a loopback address", addr)
	}
	log := app.Logger()
	d, err := app.NewDesktop(log)
	if err != nil {
		return err
	}
	defer d.Close()
	assets := frontend.Dist()
	files := http.FileServerFS(assets)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") {
			name := strings.TrimPrefix(r.URL.Path, "/")
			if name == "" {
				name = "index.html"
			}
			if _, err := fs.Stat(assets, name); err == nil {
				files.ServeHTTP(w, r)
				return
			}
		}
		d.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("desktop devserver listening", "url", "http://"+ln.Addr().String())
	srv := &http.Server{Handler: h}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-stop; srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
