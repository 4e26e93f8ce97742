// Package desktop is the desktop app's in-process API: what the window's /api/… requests reach. It answers
// teacher data from the encrypted local store (through the same store/schoolapi handlers as the backend, so it
// works offline), forwards the rest to the backend with the device's session, and adds /api/v1/device/… for the
// desktop's own part: first run, enrollment, PIN and lock, and the wipe (docs/desktop.md).
package desktop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pult/app/identity"
	"pult/app/pin"
	"pult/app/profile"
	"pult/app/remote"
	"pult/app/syncclient"
	"pult/store"
	"pult/store/schoolapi"
)

// Phases of the device (docs/desktop.md). "locked" is not stored: a device in "ready" is locked until its PIN
// opened the data key in this run.
const (
	PhaseWelcome = "welcome"
	PhaseConnect = "connect"
	PhasePending = "pending"
	PhaseLogin   = "login"
	PhasePIN     = "pin"
	PhaseLocked  = "locked"
	PhaseReady   = "ready"
)

// DefaultIdleTimeout locks the app until the school's policy says otherwise (LE5).
const DefaultIdleTimeout = store.DefaultIdleTimeoutMinutes * time.Minute

// checkInEvery is how often a device in use asks the backend about itself: a device the school blocked wipes
// itself within that time of its next contact, and changes arrive.
const checkInEvery = time.Minute

// contactTimeout bounds a check-in, which holds the app's lock: a backend that does not answer must not freeze
// the window.
const contactTimeout = 5 * time.Second

// Config is what the app is started with.
type Config struct {
	ProfileDir string
	Machine    identity.Machine
	Version    string
	Log        *slog.Logger
	// Now is the clock of idle timeouts; tests move it.
	Now func() time.Time
}

// state is what the vault keeps between runs, sealed under the OS-protected key.
type state struct {
	Language       string        `json:"language"`
	Phase          string        `json:"phase"`
	Server         string        `json:"server,omitempty"`
	Fingerprint    string        `json:"fingerprint,omitempty"`
	DeviceID       string        `json:"deviceId,omitempty"`
	Seed           []byte        `json:"seed,omitempty"`
	SecurityCode   string        `json:"securityCode,omitempty"`
	User           *remote.Me    `json:"user,omitempty"`
	PIN            *pin.Wrapped  `json:"pin,omitempty"`
	WrongPINs      int           `json:"wrongPins"`
	MaxPINAttempts int           `json:"maxPinAttempts"`
	IdleTimeout    time.Duration `json:"idleTimeout"`
	OfflineGrace   time.Duration `json:"offlineGrace"`
	WipeAfter      time.Duration `json:"wipeAfter"`
	// LastContact is when the backend last answered (to the hour): the offline grace counts from it (LE4).
	LastContact time.Time `json:"lastContact,omitzero"`
	// Session is the backend session's cookie, so that sync resumes after a restart until the session ends.
	Session map[string]string `json:"session,omitempty"`
}

// App is the desktop app's state and its handler.
type App struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	mu         sync.RWMutex
	prof       *profile.Profile // nil until the first run wrote something
	st         state
	client     *remote.Client
	db         *store.DB // open only while unlocked
	local      *schoolapi.Routes
	lastActive time.Time
	lastCheck  time.Time   // the last check-in with the backend while unlocked
	online     atomic.Bool // the backend answered the last contact
	sync       *syncRun    // the running sync client, while unlocked and logged in
	needsLogin bool        // the backend ended the session: sync waits for a login

	watchMu  sync.Mutex
	watchers map[int]func()
	watchSeq int
}

// syncRun is one run of the sync client; cancel stops it (it winds down on its own).
type syncRun struct {
	client *syncclient.Client
	cancel context.CancelFunc
}

// New opens the app's profile and state.
func New(cfg Config) (*App, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &App{cfg: cfg, log: cfg.Log}
	if err := a.load(); err != nil {
		return nil, err
	}
	a.routes()
	return a, nil
}

// load reads the vault, if the profile has one.
func (a *App) load() error {
	a.st = state{}
	p, err := profile.Open(a.cfg.ProfileDir)
	if err != nil {
		return err
	}
	err = p.Load(&a.st)
	if errors.Is(err, profile.ErrNoVault) {
		// Nothing was written yet: do not leave an OS key behind for a first run that never finishes.
		p.Wipe()
		a.log.Info("first run", "phase", PhaseWelcome)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	a.prof = p
	if a.st.Server != "" {
		if a.client, err = remote.New(a.st.Server, a.st.Fingerprint); err != nil {
			return fmt.Errorf("load profile: %w", err)
		}
		a.client.Resume(a.st.Session)
	}
	a.log.Info("profile loaded", "phase", a.phase())
	if a.st.PIN != nil && a.offlineFor() > a.wipeAfter() {
		return a.wipeLocked("offline for longer than the school allows")
	}
	return nil
}

// Close locks the app: the data key leaves memory and the store closes.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lockLocked()
}

func (a *App) phase() string {
	switch {
	case a.st.Phase == "" && a.st.Language == "":
		return PhaseWelcome
	case a.st.Phase == "":
		return PhaseConnect
	case a.st.Phase == PhaseReady && a.db == nil:
		return PhaseLocked
	}
	return a.st.Phase
}

func (a *App) maxPINAttempts() int {
	if n := a.st.MaxPINAttempts; n >= store.MinPINAttempts && n <= store.MaxPINAttempts {
		return n
	}
	return store.DefaultPINAttempts
}

func (a *App) idleTimeout() time.Duration {
	if a.st.IdleTimeout > 0 {
		return a.st.IdleTimeout
	}
	return DefaultIdleTimeout
}

// applyPolicy keeps the school's policy that came with the device's status; the caller holds a.mu and saves.
func (a *App) applyPolicy(p *store.DevicePolicy) {
	if p == nil || p.Check() != nil {
		return
	}
	day := 24 * time.Hour
	a.st.MaxPINAttempts, a.st.IdleTimeout = p.MaxPINAttempts, time.Duration(p.IdleTimeoutMinutes)*time.Minute
	a.st.OfflineGrace, a.st.WipeAfter = time.Duration(p.OfflineGraceDays)*day, time.Duration(p.WipeAfterDays)*day
}

func (a *App) offlineGrace() time.Duration {
	if a.st.OfflineGrace > 0 {
		return a.st.OfflineGrace
	}
	return store.DefaultOfflineGraceDays * 24 * time.Hour
}

func (a *App) wipeAfter() time.Duration {
	if a.st.WipeAfter > a.offlineGrace() {
		return a.st.WipeAfter
	}
	return store.DefaultWipeAfterDays * 24 * time.Hour
}

// offlineFor is how long the backend has not been reached; zero before the first contact.
func (a *App) offlineFor() time.Duration {
	if a.st.LastContact.IsZero() {
		return 0
	}
	return a.cfg.Now().Sub(a.st.LastContact)
}

// sessionEnded notes that the backend session is over: the app goes on offline and asks for a login, after which
// sync resumes. The caller holds a.mu.
func (a *App) sessionEnded(ctx context.Context) {
	a.needsLogin = true
	if a.client != nil {
		a.client.Logout(ctx)
	}
	if a.st.Session != nil {
		a.st.Session = nil
		if err := a.save(); err != nil {
			a.log.Error("forget session", "err", err)
		}
	}
}

// reached notes that the backend answered; the caller holds a.mu. The vault keeps the time to the hour, so
// that a contact does not mean a disk write.
func (a *App) reached() {
	a.online.Store(true)
	if now := a.cfg.Now(); now.Sub(a.st.LastContact) >= time.Hour || now.Before(a.st.LastContact) {
		a.st.LastContact = now
		if a.prof != nil {
			if err := a.save(); err != nil {
				a.log.Error("save last contact", "err", err)
			}
		}
	}
}

// save writes the state to the vault, opening the profile on first use.
func (a *App) save() error {
	if a.prof == nil {
		p, err := profile.Open(a.cfg.ProfileDir)
		if err != nil {
			return err
		}
		a.prof = p
	}
	return a.prof.Save(&a.st)
}

// lockLocked closes the store; the caller holds a.mu.
func (a *App) lockLocked() error {
	a.stopSyncLocked()
	if a.db == nil {
		return nil
	}
	a.db.OnChange(nil)
	err := a.db.Close()
	a.db, a.local = nil, nil
	return err
}

// wipeLocked erases everything the app wrote and returns it to its first run; the caller holds a.mu.
func (a *App) wipeLocked(reason string) error {
	a.lockLocked()
	var err error
	if a.prof != nil {
		err = a.prof.Wipe()
	} else if p, perr := profile.Open(a.cfg.ProfileDir); perr == nil {
		err = p.Wipe()
	}
	a.prof, a.client = nil, nil
	a.online.Store(false)
	a.st = state{}
	a.log.Warn("device wiped", "reason", reason)
	return err
}

// signer signs with the device key.
func (a *App) signer() remote.Signer {
	seed := a.st.Seed
	return func(m []byte) string { return identity.Sign(seed, m) }
}

func (a *App) tokenHash() string { return identity.TokenHash(a.cfg.Machine.Token()) }

func (a *App) deviceInfo() remote.DeviceInfo {
	name := a.cfg.Machine.Hostname
	if name == "" {
		name = "Pult"
	}
	return remote.DeviceInfo{Name: name, Platform: a.cfg.Machine.Platform, OSUser: a.cfg.Machine.UserName()}
}

// contact notes whether the backend could be reached, and wipes the device when the backend says it is
// blocked (LE4): the receipt goes back with the key still in memory. It returns the error to answer with.
func (a *App) contact(ctx context.Context, err error) error {
	switch store.ErrorCode(err) {
	case schoolapi.CodeNeedsConnection, schoolapi.CodeCertificateMismatch:
		a.online.Store(false) // not the school's server, or none
		return err
	case store.CodeDeviceBlocked:
		a.reached()
		return a.remoteWipe(ctx)
	}
	a.reached()
	return err
}

// remoteWipe wipes the device because the backend blocked it, then sends the signed receipt; the caller holds
// a.mu. A receipt that cannot be sent is lost, but the data is gone either way.
func (a *App) remoteWipe(ctx context.Context) error {
	client, deviceID, sign, token := a.client, a.st.DeviceID, a.signer(), a.tokenHash()
	if err := a.wipeLocked("blocked by the school"); err != nil {
		return err
	}
	if client != nil && deviceID != "" {
		if err := client.Wiped(ctx, deviceID, token, sign); err != nil {
			a.log.Warn("wipe receipt not delivered", "err", err)
		} else {
			a.log.Info("wipe receipt delivered")
		}
	}
	return store.Errorf(schoolapi.CodeWiped, "the school blocked this device; Pult erased its data")
}

// ServeHTTP answers the window's requests.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		http.NotFound(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	a.mux.ServeHTTP(rec, r)
	a.log.Debug("api", "method", r.Method, "path", r.URL.Path, "status", rec.status)
}

// statusRecorder remembers the status of an answer for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *App) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/v1/env", a.env)
	m.HandleFunc("PUT /api/v1/device/language", a.setLanguage)
	m.HandleFunc("POST /api/v1/device/enroll", a.enroll)
	m.HandleFunc("POST /api/v1/device/enroll/login", a.enrollLogin)
	m.HandleFunc("GET /api/v1/device/status", a.status)
	m.HandleFunc("POST /api/v1/device/cancel", a.cancel)
	m.HandleFunc("POST /api/v1/device/pin", a.setPIN)
	m.HandleFunc("POST /api/v1/device/unlock", a.unlock)
	m.HandleFunc("POST /api/v1/device/lock", a.lock)
	m.HandleFunc("POST /api/v1/device/activity", a.activity)
	m.HandleFunc("GET /api/v1/device/events", a.events)
	m.HandleFunc("POST /api/v1/device/pin/change", a.changePIN)
	m.HandleFunc("POST /api/v1/session", a.login)
	m.HandleFunc("DELETE /api/v1/session", a.logout)
	m.HandleFunc("/api/v1/device/", func(w http.ResponseWriter, r *http.Request) {
		schoolapi.WriteError(w, r, store.Errorf(store.CodeNotFound, "no such device route"))
	})
	m.HandleFunc("/api/", a.data)
	a.mux = m
}
