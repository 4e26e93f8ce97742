// Package remote is the desktop app's client of the school's backend: enrollment, device status and wipe
// receipts signed with the device key, login with the device proof, the records of the user's scope, and a
// forwarder for the API calls the app does not answer itself. Connections go out only (LE7). When the license QR
// code carried the server certificate's fingerprint, the client talks only to a server with that certificate.
package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"pult/store"
	"pult/store/schoolapi"
	"pult/store/syncproto"
)

// Client talks to one backend.
type Client struct {
	base      *url.URL
	http      *http.Client
	transport *http.Transport
}

// ParseServer checks a server address the user typed or scanned: http(s), a host, no credentials or query.
func ParseServer(server string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &store.Error{Code: store.CodeInvalid, Message: "the server address is not an http(s) URL", Fields: map[string]string{"server": store.FieldInvalid}}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// New returns a client of server. A non-empty fingerprint (hex SHA-256 of the certificate) is pinned: any other
// certificate is refused, also one a public CA signed.
func New(server, fingerprint string) (*Client, error) {
	base, err := ParseServer(server)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	if fingerprint != "" {
		want, err := hex.DecodeString(strings.ReplaceAll(fingerprint, ":", ""))
		if err != nil || len(want) != sha256.Size {
			return nil, &store.Error{Code: store.CodeInvalid, Message: "the certificate fingerprint is not a SHA-256", Fields: map[string]string{"fingerprint": store.FieldInvalid}}
		}
		t.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The pin replaces the CA check: the QR code from the school says which certificate is the server's.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errCertMismatch
				}
				got := sha256.Sum256(cs.PeerCertificates[0].Raw)
				if subtle.ConstantTimeCompare(got[:], want) != 1 {
					return errCertMismatch
				}
				return nil
			},
		}
	}
	jar, _ := cookiejar.New(nil)
	return &Client{base: base, transport: t, http: &http.Client{Transport: t, Jar: jar, Timeout: 30 * time.Second}}, nil
}

var errCertMismatch = errors.New("server certificate does not match the pinned fingerprint")

// Server is the backend's address.
func (c *Client) Server() string { return c.base.String() }

// Error is an error answer of the backend, with the members beside code and message (a security code).
type Error struct {
	Err    *store.Error
	Status int
	Extra  map[string]json.RawMessage
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Extra returns a member of a backend error's answer beside its code, such as a pending device's securityCode.
func Extra(err error, name string) string {
	var e *Error
	var v string
	if errors.As(err, &e) {
		json.Unmarshal(e.Extra[name], &v)
	}
	return v
}

// connError turns a failure to reach the backend into the API's answer for it.
func connError(err error) error {
	if errors.Is(err, errCertMismatch) {
		return store.Errorf(schoolapi.CodeCertificateMismatch, "the server's certificate is not the one of the school's QR code")
	}
	var nerr net.Error
	var uerr *url.Error
	if errors.As(err, &nerr) || errors.As(err, &uerr) {
		return store.Errorf(schoolapi.CodeNeedsConnection, "the school's server cannot be reached")
	}
	return err
}

// call sends a JSON request and decodes a JSON answer into out (nil: none expected).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return connError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return connError(err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error map[string]json.RawMessage `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == nil {
			return store.Errorf(schoolapi.CodeNeedsConnection, "the school's server answered %d", resp.StatusCode)
		}
		out := &Error{Err: &store.Error{}, Status: resp.StatusCode, Extra: map[string]json.RawMessage{}}
		for k, v := range e.Error {
			switch k {
			case "code":
				json.Unmarshal(v, &out.Err.Code)
			case "message":
				json.Unmarshal(v, &out.Err.Message)
			case "fields":
				json.Unmarshal(v, &out.Err.Fields)
			default:
				out.Extra[k] = v
			}
		}
		return out
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// DeviceInfo describes the device to the admin: no personal data but the OS login name.
type DeviceInfo struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
	OSUser   string `json:"osUser"`
}

// Enrollment is the backend's answer to an enrollment.
type Enrollment struct {
	DeviceID     string `json:"deviceId"`
	SecurityCode string `json:"securityCode"`
	SchoolName   string `json:"schoolName"`
}

// Enroll registers the device with a license code.
func (c *Client) Enroll(ctx context.Context, licenseCode, publicKey, tokenHash string, info DeviceInfo) (Enrollment, error) {
	in := struct {
		LicenseCode string `json:"licenseCode"`
		PublicKey   string `json:"publicKey"`
		TokenHash   string `json:"tokenHash"`
		DeviceInfo
	}{licenseCode, publicKey, tokenHash, info}
	var out Enrollment
	err := c.call(ctx, http.MethodPost, "/api/v1/devices/desktop/enroll", in, &out)
	return out, err
}

// Register registers the device without a license, for a login during learning mode.
func (c *Client) Register(ctx context.Context, publicKey, tokenHash string) (string, error) {
	in := struct {
		PublicKey string `json:"publicKey"`
		TokenHash string `json:"tokenHash"`
	}{publicKey, tokenHash}
	var out struct {
		DeviceID string `json:"deviceId"`
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/devices/desktop", in, &out)
	return out.DeviceID, err
}

// Signer signs a message with the device key.
type Signer func(message []byte) string

// Proof is the device's answer to a challenge, as the backend's device routes and the login take it.
type Proof struct {
	ID        string `json:"id,omitempty"`
	DeviceID  string `json:"deviceId,omitempty"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"`
	TokenHash string `json:"tokenHash"`
	Name      string `json:"name,omitempty"`
	Platform  string `json:"platform,omitempty"`
	OSUser    string `json:"osUser,omitempty"`
}

// prove fetches a fresh challenge and signs the message made from it.
func (c *Client) prove(ctx context.Context, deviceID, tokenHash string, sign Signer, message func(challenge string) []byte) (Proof, error) {
	var ch struct {
		Challenge string `json:"challenge"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/v1/devices/desktop/challenge", map[string]string{"deviceId": deviceID}, &ch); err != nil {
		return Proof{}, err
	}
	return Proof{Challenge: ch.Challenge, Signature: sign(message(ch.Challenge)), TokenHash: tokenHash}, nil
}

// Status is the device's state at the backend.
type Status struct {
	State        string `json:"state"` // pending, trusted, rejected, blocked
	SecurityCode string `json:"securityCode"`
	// Policy is the school's device policy, once the device belongs to a school.
	Policy *store.DevicePolicy `json:"policy"`
}

// DeviceStatus asks the backend whether the device was approved, with a signed proof.
func (c *Client) DeviceStatus(ctx context.Context, deviceID, tokenHash string, sign Signer) (Status, error) {
	p, err := c.prove(ctx, deviceID, tokenHash, sign, func(ch string) []byte { return store.DeviceMessage("status", ch) })
	if err != nil {
		return Status{}, err
	}
	p.DeviceID = deviceID
	var out Status
	err = c.call(ctx, http.MethodPost, "/api/v1/devices/desktop/status", p, &out)
	return out, err
}

// SyncProof signs a fresh challenge for a sync connection (docs/sync-protocol.md).
func (c *Client) SyncProof(ctx context.Context, deviceID, tokenHash string, sign Signer) (*syncproto.Proof, error) {
	p, err := c.prove(ctx, deviceID, tokenHash, sign, func(ch string) []byte { return store.DeviceMessage("sync", ch) })
	if err != nil {
		return nil, err
	}
	return &syncproto.Proof{DeviceID: deviceID, Challenge: p.Challenge, Signature: p.Signature, TokenHash: p.TokenHash}, nil
}

// DialSync opens the sync websocket with the client's session, through the same (pinned) transport.
func (c *Client) DialSync(ctx context.Context) (*websocket.Conn, error) {
	u := *c.base
	u.Scheme = map[string]string{"https": "wss", "http": "ws"}[u.Scheme]
	u.Path += syncproto.Path
	hc := *c.http
	hc.Timeout = 0 // the connection lives on; the dial itself ends with ctx
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: &hc, CompressionMode: websocket.CompressionNoContextTakeover})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, store.Errorf(store.CodeUnauthenticated, "the session at the school's server ended")
		}
		return nil, connError(err)
	}
	return ws, nil
}

// Wiped sends the receipt of a remote wipe.
func (c *Client) Wiped(ctx context.Context, deviceID, tokenHash string, sign Signer) error {
	p, err := c.prove(ctx, deviceID, tokenHash, sign, func(ch string) []byte { return store.DeviceMessage("wiped", ch) })
	if err != nil {
		return err
	}
	p.DeviceID = deviceID
	return c.call(ctx, http.MethodPost, "/api/v1/devices/desktop/wiped", p, nil)
}

// Me is the logged-in person as the backend describes them.
type Me struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"displayName"`
	Role        store.Role `json:"role"`
	SchoolID    string     `json:"schoolId"`
	SchoolName  string     `json:"schoolName"`
	Operator    bool       `json:"operator"`
}

// Login logs a user in from this device; the session stays in the client's cookie jar, never in the window.
func (c *Client) Login(ctx context.Context, username, password, deviceID, tokenHash string, info DeviceInfo, sign Signer) (Me, error) {
	p, err := c.prove(ctx, deviceID, tokenHash, sign, func(ch string) []byte { return store.LoginMessage(ch, username) })
	if err != nil {
		return Me{}, err
	}
	p.ID, p.Name, p.Platform, p.OSUser = deviceID, info.Name, info.Platform, info.OSUser
	in := struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Device   Proof  `json:"device"`
	}{username, password, p}
	var out struct {
		User Me `json:"user"`
	}
	err = c.call(ctx, http.MethodPost, "/api/v1/session", in, &out)
	return out.User, err
}

// LoggedIn reports whether the client holds a session cookie of the backend.
func (c *Client) LoggedIn() bool { return len(c.http.Jar.Cookies(c.base)) > 0 }

// Session returns the backend's cookies (the session), so the app can keep them sealed across restarts.
func (c *Client) Session() map[string]string {
	out := map[string]string{}
	for _, ck := range c.http.Jar.Cookies(c.base) {
		out[ck.Name] = ck.Value
	}
	return out
}

// Resume puts kept session cookies back; the backend decides whether the session still lives.
func (c *Client) Resume(session map[string]string) {
	var cookies []*http.Cookie
	for name, value := range session {
		cookies = append(cookies, &http.Cookie{Name: name, Value: value, Path: "/", Secure: c.base.Scheme == "https", HttpOnly: true})
	}
	c.http.Jar.SetCookies(c.base, cookies)
}

// Logout ends the backend session, if there is one; the local cookies go either way.
func (c *Client) Logout(ctx context.Context) {
	if c.LoggedIn() {
		c.call(ctx, http.MethodDelete, "/api/v1/session", nil, nil)
	}
	jar, _ := cookiejar.New(nil)
	c.http.Jar = jar
}

// Changes fetches one page of the records of the user's scope after a cursor.
func (c *Client) Changes(ctx context.Context, after int64) ([]store.Change, error) {
	var out struct {
		Changes []store.Change `json:"changes"`
	}
	err := c.call(ctx, http.MethodGet, "/api/v1/changes?after="+strconv.FormatInt(after, 10), nil, &out)
	return out.Changes, err
}

// Forwarder returns a handler that forwards requests to the backend with the client's session, and answers
// needs_connection when the backend cannot be reached; reached learns of each outcome. The backend's cookies
// never reach the window.
func (c *Client) Forwarder(reached func(error)) http.Handler {
	return &httputil.ReverseProxy{
		Transport: c.transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(c.base)
			// The window is the forwarder's only client and the app itself: its own origin and cookies mean
			// nothing to the backend.
			for _, h := range []string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Referer", "Cookie"} {
				r.Out.Header.Del(h)
			}
			for _, ck := range c.http.Jar.Cookies(c.base) {
				r.Out.AddCookie(ck)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if cookies := resp.Cookies(); len(cookies) > 0 {
				c.http.Jar.SetCookies(c.base, cookies)
			}
			resp.Header.Del("Set-Cookie")
			reached(nil)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			reached(err)
			schoolapi.WriteError(w, r, connError(err))
		},
	}
}
