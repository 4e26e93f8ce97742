// Package mail sends Pult's e-mails over SMTP: STARTTLS (smtp://) or implicit TLS (smtps://), with AUTH PLAIN,
// each mail plain text plus HTML. It knows nothing of Pult's store: the backend's outbox hands it messages.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Message is one mail to one recipient.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Config says how to reach the SMTP server. Its String never shows the password.
type Config struct {
	Host     string
	Port     string
	Username string
	Password string
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise STARTTLS, required unless the server is on
	// loopback (a local mail catcher).
	ImplicitTLS bool
	From        string
	// TLS overrides the TLS settings (tests trust their own certificate with it).
	TLS *tls.Config
	// Timeout bounds one delivery; default 30 seconds.
	Timeout time.Duration
}

func (c Config) String() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(c.Host, c.Port)
}

// ParseURL reads PULT_SMTP_URL (smtp://user:pass@host:587 or smtps://user:pass@host:465) and the sender address
// PULT_MAIL_FROM. Errors never repeat the URL, which holds the password.
func ParseURL(raw, from string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("PULT_SMTP_URL is not a URL (want smtp://user:password@host:587 or smtps://…)")
	}
	c := Config{Host: u.Hostname(), Port: u.Port(), From: from}
	switch u.Scheme {
	case "smtp":
		if c.Port == "" {
			c.Port = "587"
		}
	case "smtps":
		c.ImplicitTLS = true
		if c.Port == "" {
			c.Port = "465"
		}
	default:
		return Config{}, errors.New("PULT_SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS)")
	}
	if c.Host == "" {
		return Config{}, errors.New("PULT_SMTP_URL names no host")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	a, err := mail.ParseAddress(from)
	if from == "" || err != nil {
		return Config{}, errors.New("PULT_MAIL_FROM must be the sender's address, such as Pult <pult@schule.example>")
	}
	c.From = a.String()
	return c, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Error is a failed delivery. Its message carries the SMTP status code and the stage, never the server's text,
// which may repeat the recipient's address.
type Error struct {
	Stage string
	Code  int
	// Permanent is true for 5xx answers: trying again will not help.
	Permanent bool
	err       error
}

func (e *Error) Error() string {
	if e.Stage == "compose" {
		return "compose mail: " + e.err.Error() // our own words, without the address
	}
	if e.Code != 0 {
		return fmt.Sprintf("smtp %s: status %d", e.Stage, e.Code)
	}
	return fmt.Sprintf("smtp %s: %s", e.Stage, safeCause(e.err))
}

func (e *Error) Unwrap() error { return e.err }

// safeCause names the kind of a network or TLS failure without its details.
func safeCause(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, new(*net.OpError)):
		return "connection failed"
	case errors.As(err, new(*tls.CertificateVerificationError)):
		return "certificate not trusted"
	default:
		return "failed"
	}
}

func stageError(stage string, err error) error {
	e := &Error{Stage: stage, err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		e.Code = te.Code
		e.Permanent = te.Code >= 500
	}
	return e
}

// Send delivers m.
func Send(ctx context.Context, c Config, m Message) error {
	body, err := Compose(c.From, m, time.Now())
	if err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsCfg := c.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsCfg = tlsCfg.Clone()
	tlsCfg.ServerName = c.Host
	addr := net.JoinHostPort(c.Host, c.Port)
	var conn net.Conn
	if c.ImplicitTLS {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return stageError("connect", err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return stageError("greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello("pult"); err != nil {
		return stageError("hello", err)
	}
	if !c.ImplicitTLS {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(tlsCfg); err != nil {
				return stageError("starttls", err)
			}
		} else if !loopback(c.Host) {
			// Without TLS the password and the mail would cross the network in the clear.
			return &Error{Stage: "starttls", Permanent: true, err: errors.New("server offers no STARTTLS")}
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return stageError("auth", err)
		}
	}
	from, _ := mail.ParseAddress(c.From)
	if err := cl.Mail(from.Address); err != nil {
		return stageError("mail from", err)
	}
	if err := cl.Rcpt(m.To); err != nil {
		return stageError("rcpt", err)
	}
	w, err := cl.Data()
	if err != nil {
		return stageError("data", err)
	}
	if _, err := w.Write(body); err != nil {
		return stageError("data", err)
	}
	if err := w.Close(); err != nil {
		return stageError("data", err)
	}
	if err := cl.Quit(); err != nil {
		return stageError("quit", err)
	}
	return nil
}

// Compose builds the mail as sent: headers, then multipart/alternative with the text and the HTML part, both
// quoted-printable UTF-8.
func Compose(from string, m Message, now time.Time) ([]byte, error) {
	// A mail that cannot be written will not be one later either: these errors are permanent.
	to, err := mail.ParseAddress(m.To)
	if err != nil || strings.ContainsAny(m.To, "\r\n") {
		return nil, &Error{Stage: "compose", Permanent: true, err: errors.New("bad recipient address")}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, &Error{Stage: "compose", Permanent: true, err: errors.New("subject has a line break")}
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	domain := "pult.invalid"
	if f, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(f.Address, "@"); ok {
			domain = d
		}
	}
	id := make([]byte, 16)
	rand.Read(id)
	header := []string{
		"From: " + from,
		"To: " + to.String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", m.Subject),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id) + "@" + domain + ">",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		`Content-Type: multipart/alternative; boundary="` + mw.Boundary() + `"`,
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(header, "\r\n") + "\r\n\r\n")
	for _, part := range []struct{ kind, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.kind + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("compose mail: %w", err)
		}
		qp := quotedprintable.NewWriter(pw)
		qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n")))
		qp.Close()
	}
	mw.Close()
	out.Write(b.Bytes())
	return out.Bytes(), nil
}
