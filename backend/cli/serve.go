package cli

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"pult/backend/auth"
	"pult/backend/mail"
	"pult/backend/outbox"
	"pult/backend/server"
)

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loadCertificate loads the TLS certificate files and returns the hex SHA-256 of the leaf certificate (DER).
func loadCertificate(certFile, keyFile string) (tls.Certificate, string, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("load TLS certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return cert, hex.EncodeToString(sum[:]), nil
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	if !cfg.TLS() && !isLoopback(cfg.Addr) && !cfg.AllowPlain {
		return fmt.Errorf("refusing plain HTTP on %s: configure TLS (PULT_TLS_CERT/PULT_TLS_KEY or PULT_AUTOCERT), listen on loopback, or set PULT_ALLOW_PLAIN_HTTP=1 behind a TLS proxy", cfg.Addr)
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	hasher, err := auth.NewHasher(cfg.HashParams)
	if err != nil {
		return err
	}
	has, err := db.HasUsers(ctx)
	if err != nil {
		return err
	}
	var send outbox.Sender
	if cfg.SMTP != nil {
		smtp := *cfg.SMTP
		send = func(ctx context.Context, m mail.Message) error { return mail.Send(ctx, smtp, m) }
		log.Info("mail", "smtp", smtp.String())
	} else {
		log.Info("mail", "smtp", "none: mails stay in the outbox, read by operators under Betrieb or with backend outbox")
	}
	postman := outbox.New(db, send, log)
	go postman.Run(ctx)
	scfg := server.Config{Version: Version, SecureCookies: cfg.TLS(), Hasher: hasher, TrustedProxies: cfg.Proxies, PublicURL: cfg.PublicURL,
		Postman: postman}
	if !has {
		scfg.SetupToken, _ = auth.NewToken()
	}
	var cert tls.Certificate
	if cfg.TLS() && len(cfg.Autocert) == 0 {
		// The license QR codes carry the certificate's fingerprint, which the desktop app pins (LE3).
		if cert, scfg.CertFingerprint, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}
	// Links in mails go to the public address, else to the one the server listens on (never the Host of a request).
	scfg.LinkURL = "http://" + cfg.Addr
	if cfg.TLS() {
		scfg.LinkURL = "https://" + cfg.Addr
	}
	srv := server.New(db, log, scfg)
	hs := &http.Server{
		Addr: cfg.Addr, Handler: srv.Handler(), ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
		if len(cfg.Autocert) > 0 {
			m := &autocert.Manager{Prompt: autocert.AcceptTOS, HostPolicy: autocert.HostWhitelist(cfg.Autocert...),
				Cache: autocert.DirCache(filepath.Join(cfg.DataDir, "autocert"))}
			hs.TLSConfig = m.TLSConfig()
		} else {
			hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	public := cfg.PublicURL
	if public == "" {
		public = scheme + "://" + ln.Addr().String()
	}
	log.Info("serving", "addr", ln.Addr().String(), "url", public, "data", cfg.DataDir, "version", Version)
	if scfg.SetupToken != "" {
		// The link goes to the operator's terminal, not the log: it is a one-time secret. The token sits in the
		// URL fragment, which browsers never send to the server.
		fmt.Fprintf(stdout, "\nNo accounts yet. Open this one-time link to create the first school and its admin:\n\n  %s/#/setup/%s\n\n", public, scfg.SetupToken)
		if cfg.SMTP == nil {
			fmt.Fprint(stdout, "That admin also operates this server. No SMTP server is configured: parents' confirmation and reset\nmails wait in the outbox on the page Betrieb.\n\n")
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	srv.CloseSync() // hijacked sync connections are not the http.Server's to close
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
