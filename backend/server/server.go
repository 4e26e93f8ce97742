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
	// Postman sends (or, without SMTP, holds) mails; nil makes one over SendMail (nil: hold every mail in the
	// outbox), whose worker the caller runs (Server.Postman).
	Postman  *outbox.Postman
	SendMail outbox.Sender
	// LinkURL is the address for links in mails when PublicURL is empty: the address the server listens on.
	LinkURL string
	// AnonymousFloor is the least time a registration or reset request takes, so that its timing does not tell
	// whether the address has an account. Default 400 ms.
	AnonymousFloor time.Duration
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
	// challenges bounds challenges per device: a waiting device asks for one every few seconds, so they cannot
	// share the login attempts of its address (a school's NAT), yet no device may flood the challenge table.
	challenges *ipLimiter
	cop        *http.CrossOriginProtection
	hub        *hub
	// mailRequests bounds registrations and reset requests per address (each sends a mail), linkGuesses the
	// tokens tried, codeGuesses wrong access codes per account and per address.
	mailRequests *ipLimiter
	linkGuesses  *ipLimiter
	codeGuesses  *ipLimiter
	// mailsTo bounds the mails to one address (keyed by its hash), so nobody can flood a stranger's mailbox with
	// registration or reset mails from many addresses.
	mailsTo *ipLimiter

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
	if cfg.AnonymousFloor == 0 {
		cfg.AnonymousFloor = 400 * time.Millisecond
	}
	if cfg.LinkURL == "" {
		cfg.LinkURL = "http://127.0.0.1:8080"
	}
	if cfg.Postman == nil {
		cfg.Postman = outbox.New(db, cfg.SendMail, log)
	}
	s := &Server{db: db, cfg: cfg, log: log, routes: schoolapi.NewRoutes(), limiter: newIPLimiter(20, 3*time.Second),
		registrations: newIPLimiter(30, 10*time.Second), approvals: newIPLimiter(10, 30*time.Second),
		licenseGuesses: newIPLimiter(10, time.Minute), challenges: newIPLimiter(30, time.Second),
		mailRequests: newIPLimiter(20, time.Minute), linkGuesses: newIPLimiter(20, time.Minute), codeGuesses: newIPLimiter(MaxCodeGuesses, time.Minute),
		mailsTo: newIPLimiter(MaxMailsToAddress, 20*time.Minute),
		cop:     http.NewCrossOriginProtection(), hub: newHub(db, log)}
	db.OnChange(s.hub.notify)
	if cfg.SetupToken != "" {
		s.setupHash = auth.HashToken(cfg.SetupToken)
	}
	s.register()
	return s
}

// MaxCodeGuesses is how many wrong access codes an account (and an address) may try before it waits a minute per
// further try.
const MaxCodeGuesses = 10

// Postman is the server's mail queue; its Run delivers.
func (s *Server) Postman() *outbox.Postman { return s.cfg.Postman }

// MaxMailsToAddress is how many registration and reset mails one address gets at once; then one per 20 minutes.
const MaxMailsToAddress = 3

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
	rt.Handle("POST /api/v1/licenses/{id}/block", schoolapi.ActorHandler(s.blockLicenseDevice))
	rt.Handle("GET /api/v1/device-policy", schoolapi.ActorHandler(s.devicePolicy))
	rt.Handle("PUT /api/v1/device-policy", schoolapi.ActorHandler(s.setDevicePolicy))
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
	rt.Handle("GET /api/v1/sync", http.HandlerFunc(s.syncHandler))
	rt.Handle("GET /api/v1/changes", schoolapi.ActorHandler(s.changes))
	rt.Handle("GET /api/v1/access-codes", schoolapi.ActorHandler(s.listAccessCodes))
	rt.Handle("POST /api/v1/students/{id}/access-code", schoolapi.ActorHandler(s.issueAccessCode))
	rt.Handle("DELETE /api/v1/students/{id}/access-code", schoolapi.ActorHandler(s.revokeAccessCode))
	rt.Handle("GET /api/v1/letter-templates", schoolapi.ActorHandler(s.listTemplates))
	rt.Handle("POST /api/v1/letter-templates", schoolapi.ActorHandler(s.createTemplate))
	rt.Handle("PUT /api/v1/letter-templates/{id}", schoolapi.ActorHandler(s.updateTemplate))
	rt.Handle("DELETE /api/v1/letter-templates/{id}", schoolapi.ActorHandler(s.deleteTemplate))
	rt.Handle("POST /api/v1/letter-templates/preview", schoolapi.ActorHandler(s.previewTemplate))
	rt.Handle("POST /api/v1/letters", schoolapi.ActorHandler(s.printLetters))
	rt.Handle("POST /api/v1/letters/mail", schoolapi.ActorHandler(s.mailLetters))
	rt.Handle("GET /api/v1/parents", schoolapi.ActorHandler(s.listRegistrants))
	rt.Handle("GET /api/v1/outbox", schoolapi.ActorHandler(s.outbox))
	rt.Handle("GET /api/v1/server/outbox", schoolapi.ActorHandler(s.operatorOutbox))
	rt.Handle("GET /api/v1/server/audit", schoolapi.ActorHandler(s.serverAuditLog))
	rt.Handle("POST /api/v1/parent/register", http.HandlerFunc(s.registerParent))
	rt.Handle("POST /api/v1/parent/confirm", http.HandlerFunc(s.confirmParent))
	rt.Handle("POST /api/v1/parent/session", http.HandlerFunc(s.loginParent))
	rt.Handle("POST /api/v1/parent/password-reset", http.HandlerFunc(s.requestParentReset))
	rt.Handle("POST /api/v1/parent/password-reset/confirm", http.HandlerFunc(s.resetParentPassword))
	rt.Handle("PATCH /api/v1/parent/account", parentHandler(s.updateParentAccount))
	rt.Handle("DELETE /api/v1/parent/account", parentHandler(s.deleteParentAccount))
	rt.Handle("POST /api/v1/parent/password", parentHandler(s.changeParentPassword))
	rt.Handle("GET /api/v1/parent/children", parentHandler(s.listChildren))
	rt.Handle("POST /api/v1/parent/children", parentHandler(s.redeemCode))
	rt.Handle("GET /api/v1/parent/children/{studentId}", parentHandler(s.childView))
	rt.Handle("DELETE /api/v1/parent/children/{studentId}", parentHandler(s.removeChild))
	rt.Handle("GET /api/v1/parent/children/{studentId}/shares", parentHandler(s.listShares))
	rt.Handle("POST /api/v1/parent/children/{studentId}/shares", parentHandler(s.shareChild))
	rt.Handle("DELETE /api/v1/parent/children/{studentId}/shares/{shareId}", parentHandler(s.revokeShare))
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
