// Package app is Pult's desktop host: a Wails window that shows the same web UI as the browser. The UI only calls
// /api/v1/…; inside the window, Wails' asset server hands those requests to the in-process handler of
// app/desktop (local store, enrollment, PIN, forwarding to the backend).
//
// This file is the one shim between Pult and the Wails runtime; the services below it do not import Wails.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"pult/app/desktop"
	"pult/app/identity"
	"pult/app/profile"
	"pult/frontend"
)

// ChangedEvent is the Wails event that tells the window that the local data changed.
const ChangedEvent = "pult:changed"

// Version is the app's version, set at build time.
var Version = "0.1.0"

// Logger writes the app's log to stderr at PULT_LOG_LEVEL (debug, info, warn, error; default info). The log
// never holds personal data: paths and codes, not names.
func Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToLower(os.Getenv("PULT_LOG_LEVEL")))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// NewDesktop opens the app's profile (PULT_PROFILE_DIR or the OS user's profile) as this machine and OS user.
func NewDesktop(log *slog.Logger) (*desktop.App, error) {
	dir, err := profile.Dir()
	if err != nil {
		return nil, err
	}
	machine, err := identity.Current()
	if err != nil {
		return nil, err
	}
	log.Info("profile", "dir", dir)
	return desktop.New(desktop.Config{ProfileDir: dir, Machine: machine, Version: Version, Log: log})
}

// Run opens the desktop window and returns when it is closed.
func Run() error {
	log := Logger()
	d, err := NewDesktop(log)
	if err != nil {
		return fmt.Errorf("start desktop app: %w", err)
	}
	var stopWatch func()
	return wails.Run(&options.App{
		Title: "Pult", Width: 1280, Height: 860, MinWidth: 900, MinHeight: 600,
		AssetServer: &assetserver.Options{Assets: frontend.Dist(), Handler: d},
		// The window learns of changes that sync brought as the event "pult:changed" (docs/desktop.md).
		OnStartup: func(ctx context.Context) {
			stopWatch = d.Watch(func() { runtime.EventsEmit(ctx, ChangedEvent) })
		},
		OnShutdown: func(context.Context) {
			if stopWatch != nil {
				stopWatch()
			}
			d.Close()
		},
	})
}
