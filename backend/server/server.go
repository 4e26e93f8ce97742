// Package server is the backend's HTTP side: the JSON API under /api/v1/ (accounts, sessions and administration
// here, school data through store/schoolapi), the OpenAPI document, and the web UI.
package server

import (
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"pult/backend/auth"
	"pult/backend/outbox"
	"pult/frontend"
	"pult/store"
	"pult/store/schoolapi"
)

// Config is what the server needs beyond its store.
type Config struct {
	Version string
	// SecureCookies marks cookies Secure; on whenever the server speaks TLS.
	SecureCookies   bool
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// SetupToken is the one-time token of the first-setup link, or empty when setup is not offered.
	SetupToken string
	Hasher     *auth.Hasher
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// UI overrides the embedded web UI (tests).
	UI fs.FS
	// PublicURL is the address people open, for printed links; empty: the origin of the request.
	PublicURL string
	// CertFingerprint is the hex SHA-256 of the TLS certificate when it comes from files; the license QR codes
	// carry it so that the desktop app pins it. Empty with autocert or plain HTTP.
	CertFingerprint string
	// Postman sends (or, without SMTP, holds) mails; nil holds every mail in the outbox.
	Postman *outbox.Postman
}

// Server answers HTTP requests.
type Server struct {
	db      *store.DB
	cfg     Config
	log     *slog.Logger
	routes  *schoolapi.Routes
	limiter *ipLimiter
	// registrations bounds new device credentials per address, approvals an admin's code guesses.
	registrations *ipLimiter
	approvals     *ipLimiter
	// licenseGuesses bounds wrong license codes per address.
	licenseGuesses *ipLimiter
	cop            *http.CrossOriginProtection

	setupMu   sync.Mutex
	setupHash []byte
}

// New returns a server over db.
func New(db *store.DB, log *slog.Logger, cfg Config) *Server {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = 12 * time.Hour
	}
	if cfg.UI == nil {
		cfg.UI = frontend.Dist()
	}
	if cfg.Postman == nil {
		cfg.Postman = outbox.New(db, nil, log)
	}
	s := &Server{db: db, cfg: cfg, log: log, routes: schoolapi.NewRoutes(), limiter: newIPLimiter(20, 3*time.Second),
		registrations: newIPLimiter(30, 10*time.Second), approvals: newIPLimiter(10, 30*time.Second),
		licenseGuesses: newIPLimiter(10, time.Minute),
		cop:            http.NewCrossOriginProtection()}
	if cfg.SetupToken != "" {
		s.setupHash = auth.HashToken(cfg.SetupToken)
	}
	s.register()
	return s
}

// Patterns lists the registered routes, for the test that holds them against the OpenAPI document.
func (s *Server) Patterns() []string { return s.routes.Patterns }

func (s *Server) register() {
	rt := s.routes
	rt.Handle("GET /healthz", http.HandlerFunc(s.healthz))
	rt.Handle("GET /api/v1/env", http.HandlerFunc(s.env))
	rt.Handle("GET /api/v1/openapi.json", http.HandlerFunc(serveOpenAPI))
	rt.Handle("POST /api/v1/setup", http.HandlerFunc(s.setup))
	rt.Handle("POST /api/v1/session", http.HandlerFunc(s.login))
	rt.Handle("DELETE /api/v1/session", http.HandlerFunc(s.logout))
	rt.Handle("POST /api/v1/devices/desktop", http.HandlerFunc(s.registerDesktop))
	rt.Handle("POST /api/v1/devices/desktop/challenge", http.HandlerFunc(s.desktopChallenge))
	rt.Handle("POST /api/v1/devices/desktop/enroll", http.HandlerFunc(s.enrollDesktop))
	rt.Handle("POST /api/v1/devices/desktop/status", http.HandlerFunc(s.desktopStatus))
	rt.Handle("POST /api/v1/devices/desktop/wiped", http.HandlerFunc(s.desktopWiped))
	rt.Handle("GET /api/v1/licenses", schoolapi.ActorHandler(s.listLicenses))
	rt.Handle("POST /api/v1/licenses", schoolapi.ActorHandler(s.createLicenses))
	rt.Handle("GET /api/v1/licenses/sheet", schoolapi.ActorHandler(s.licenseSheet))
	rt.Handle("PUT /api/v1/licenses/{id}/holder", schoolapi.ActorHandler(s.assignLicense))
	rt.Handle("DELETE /api/v1/licenses/{id}/holder", schoolapi.ActorHandler(s.detachLicense))
	rt.Handle("DELETE /api/v1/licenses/{id}", schoolapi.ActorHandler(s.deleteLicense))
	rt.Handle("POST /api/v1/licenses/{id}/approve", schoolapi.ActorHandler(s.approveLicenseDevice))
	rt.Handle("GET /api/v1/recovery-codes", schoolapi.ActorHandler(s.recoveryCodes))
	rt.Handle("POST /api/v1/recovery-codes", schoolapi.ActorHandler(s.newRecoveryCodes))
	rt.Handle("POST /api/v1/me/password", schoolapi.ActorHandler(s.changeOwnPassword))
	rt.Handle("GET /api/v1/users", schoolapi.ActorHandler(s.listUsers))
	rt.Handle("POST /api/v1/users", schoolapi.ActorHandler(s.createUser))
	rt.Handle("PATCH /api/v1/users/{id}", schoolapi.ActorHandler(s.updateUser))
	rt.Handle("POST /api/v1/users/{id}/password", schoolapi.ActorHandler(s.resetPassword))
	rt.Handle("POST /api/v1/users/{id}/unlock", schoolapi.ActorHandler(s.unlockUser))
	rt.Handle("GET /api/v1/users/{id}/devices", schoolapi.ActorHandler(s.userDevices))
	rt.Handle("POST /api/v1/users/{id}/devices/approve", schoolapi.ActorHandler(s.approveDevice))
	rt.Handle("PATCH /api/v1/users/{id}/devices/{deviceId}", schoolapi.ActorHandler(s.updateDevice))
	rt.Handle("DELETE /api/v1/users/{id}/devices/{deviceId}", schoolapi.ActorHandler(s.removeDevice))
	rt.Handle("GET /api/v1/devices", schoolapi.ActorHandler(s.schoolDevices))
	rt.Handle("GET /api/v1/audit", schoolapi.ActorHandler(s.auditLog))
	rt.Handle("GET /api/v1/ip-ranges", schoolapi.ActorHandler(s.ipRanges))
	rt.Handle("PUT /api/v1/ip-ranges", schoolapi.ActorHandler(s.setIPRanges))
	rt.Handle("GET /api/v1/users/{id}/ip-ranges", schoolapi.ActorHandler(s.ipRanges))
	rt.Handle("PUT /api/v1/users/{id}/ip-ranges", schoolapi.ActorHandler(s.setIPRanges))
	rt.Handle("GET /api/v1/audit.csv", schoolapi.ActorHandler(s.auditCSV))
	rt.Handle("POST /api/v1/learning-mode", schoolapi.ActorHandler(s.enableLearningMode))
	rt.Handle("GET /api/v1/me/devices", schoolapi.ActorHandler(s.userDevices))
	rt.Handle("PATCH /api/v1/me/devices/{deviceId}", schoolapi.ActorHandler(s.updateDevice))
	rt.Handle("DELETE /api/v1/me/devices/{deviceId}", schoolapi.ActorHandler(s.removeDevice))
	rt.Handle("GET /api/v1/me/learning-mode", schoolapi.ActorHandler(s.learningMode))
	rt.Handle("DELETE /api/v1/me/learning-mode", schoolapi.ActorHandler(s.endLearningMode))
	rt.Handle("DELETE /api/v1/users/{id}/learning-mode", schoolapi.ActorHandler(s.endLearningMode))
	rt.Handle("GET /api/v1/changes", schoolapi.ActorHandler(s.changes))
	schoolapi.Register(rt, s.db)
	// Not part of the API's contract: unknown API paths get a JSON answer, everything else is the UI.
	rt.Mux.HandleFunc("/api/", s.noRoute)
	rt.Mux.Handle("/", s.ui())
}

// noRoute answers API requests no route took: 405 with Allow when the path exists for other methods, else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.routes.Mux.Handler(probe); pattern != "" && pattern != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		schoolapi.WriteError(w, r, store.Errorf(schoolapi.CodeMethodNotAllowed, "%s is not allowed here", r.Method))
		return
	}
	schoolapi.WriteError(w, r, store.Errorf(store.CodeNotFound, "no such API route"))
}

// Handler returns the server's handler with its middleware.
func (s *Server) Handler() http.Handler {
	return s.recoverPanics(s.logRequests(s.secureHeaders(s.authenticate(s.routes.Mux))))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	schoolapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ui serves the built web UI: hashed assets are cached for good, everything else is revalidated.
func (s *Server) ui() http.Handler {
	files := http.FileServerFS(s.cfg.UI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			if _, err := fs.Stat(s.cfg.UI, "index.html"); err != nil {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("The web UI is not built. Run `go tool task run`, which builds it first.\n"))
				return
			}
		}
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
