package server

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"pult/store"
	"pult/store/schoolapi"
	"pult/store/syncproto"
)

// Timing of a sync connection.
const (
	helloTimeout = 10 * time.Second
	// writeTimeout drops a client that does not take a message in time, rather than slowing anyone else.
	writeTimeout = 10 * time.Second
	// pingEvery keeps idle connections through NATs and proxies, finds dead peers and checks the session again.
	pingEvery = 30 * time.Second
	// pushBurst and pushEvery bound a connection's pushes: a burst, then one per interval.
	pushBurst = 20
	pushEvery = 50 * time.Millisecond
)

// Sync error codes, sent in an error message before the server closes the connection.
const (
	syncInvalidMessage = "invalid_message"
	syncHelloExpected  = "hello_expected"
	syncTooMany        = "too_many_attempts"
)

// hub knows the open sync connections, by school, to wake them when records of their school changed and to send
// control messages to devices.
type hub struct {
	mu      sync.Mutex
	schools map[string]map[*syncConn]struct{}
}

// syncConn is one device's or browser's open connection.
type syncConn struct {
	schoolID string
	ip       string // the client's address, for the audit log
	deviceID string // a desktop device's id; "" for a browser
	wake     chan struct{}
	control  chan syncproto.Message
	cancel   context.CancelFunc
}

func newHub() *hub { return &hub{schools: map[string]map[*syncConn]struct{}{}} }

func (h *hub) add(c *syncConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.schools[c.schoolID] == nil {
		h.schools[c.schoolID] = map[*syncConn]struct{}{}
	}
	h.schools[c.schoolID][c] = struct{}{}
}

func (h *hub) remove(c *syncConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.schools[c.schoolID], c)
	if len(h.schools[c.schoolID]) == 0 {
		delete(h.schools, c.schoolID)
	}
}

// notify wakes the connections of a school; a connection already awake stays so (one wake covers many changes).
func (h *hub) notify(schoolID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.schools[schoolID] {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// send hands a control message to the school's connections that match; one that cannot take it is dropped.
func (h *hub) send(schoolID string, match func(*syncConn) bool, m syncproto.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.schools[schoolID] {
		if !match(c) {
			continue
		}
		select {
		case c.control <- m:
		default:
			c.cancel()
		}
	}
}

// closeAll ends every open connection.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, conns := range h.schools {
		for c := range conns {
			c.cancel()
		}
	}
}

// CloseSync ends the open sync connections, which http.Server.Shutdown does not track: call it once the
// listener is closed, so no new ones come.
func (s *Server) CloseSync() { s.hub.closeAll() }

// wipeDevice tells a connected desktop device to wipe itself now (the admin blocked it).
func (s *Server) wipeDevice(schoolID, deviceID string) {
	s.hub.send(schoolID, func(c *syncConn) bool { return c.deviceID == deviceID }, syncproto.Message{Type: syncproto.TypeWipe})
}

// sendPolicy gives the school's connected desktop devices its new device policy.
func (s *Server) sendPolicy(schoolID string, p store.DevicePolicy) {
	s.hub.send(schoolID, func(c *syncConn) bool { return c.deviceID != "" }, syncproto.Message{Type: syncproto.TypePolicy, Policy: &p})
}

// syncError is why the server ends a connection: the code of its error message and the close status.
type syncError struct {
	code    string
	message string
	status  websocket.StatusCode
}

func (e *syncError) Error() string { return e.code + ": " + e.message }

// syncHandler upgrades a logged-in user's request to a sync connection (docs/sync-protocol.md).
func (s *Server) syncHandler(w http.ResponseWriter, r *http.Request) {
	sess, ok := sessionFrom(r.Context())
	if !ok {
		schoolapi.WriteError(w, r, store.Errorf(store.CodeUnauthenticated, "log in first"))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		schoolapi.WriteError(w, r, store.Errorf(schoolapi.CodeUpgradeRequired, "this address takes websocket connections only"))
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionNoContextTakeover})
	if err != nil {
		return // Accept answered already (a cross-origin page, or not a websocket request)
	}
	ws.SetReadLimit(syncproto.MaxFrame)
	// The request's context ends with the handler's return; the connection lives on its own.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := sess.user.Actor()
	c := &syncConn{schoolID: a.SchoolID, ip: s.clientIP(r), wake: make(chan struct{}, 1), control: make(chan syncproto.Message, 4), cancel: cancel}
	err = s.runSync(ctx, ws, c, sess)
	var se *syncError
	switch {
	case errors.As(err, &se):
		s.log.Info("sync closed", "code", se.code)
		writeMessage(context.Background(), ws, syncproto.Message{Type: syncproto.TypeError, Code: se.code, Message: se.message})
		ws.Close(se.status, se.code)
	case websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled):
		ws.Close(websocket.StatusGoingAway, "")
	default:
		s.log.Info("sync ended", "err", err)
		ws.CloseNow()
	}
}

func writeMessage(ctx context.Context, ws *websocket.Conn, m syncproto.Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, raw)
}

func (s *Server) runSync(ctx context.Context, ws *websocket.Conn, c *syncConn, sess session) error {
	hello, err := readHello(ctx, ws)
	if err != nil {
		return err
	}
	a := sess.user.Actor()
	var policy *store.DevicePolicy
	if st, err := s.db.DesktopDeviceStatus(ctx, sess.deviceID); err == nil {
		// A desktop device's session is not enough: it proves the device key for this connection too.
		if err := s.checkSyncProof(ctx, hello.Proof, sess.deviceID); err != nil {
			return err
		}
		c.deviceID = sess.deviceID
		policy = st.Policy
		if inv := hello.Inventory; inv != nil {
			if err := s.db.NoteSync(ctx, c.deviceID, inv.AppVersion, inv.OS); err != nil {
				return err
			}
		}
		if st.State == store.DeviceBlocked {
			c.control <- syncproto.Message{Type: syncproto.TypeWipe}
		}
	}
	// Registered first and the head read before the welcome: whatever commits after the welcome is after the
	// cursor, and its wake-up is not missed.
	s.hub.add(c)
	defer s.hub.remove(c)
	cursor := hello.Cursor
	if cursor == syncproto.CursorLive {
		if cursor, err = s.db.Head(ctx, a.SchoolID); err != nil {
			return err
		}
	}
	if err := writeMessage(ctx, ws, syncproto.Message{Type: syncproto.TypeWelcome, Version: syncproto.Version, Policy: policy}); err != nil {
		return err
	}
	readErr := make(chan error, 1)
	go func() { readErr <- s.readDevice(ctx, ws, c, a) }()

	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		if cursor, err = s.sendChanges(ctx, ws, a, cursor); err != nil {
			return err
		}
		select {
		case <-c.wake:
		case m := <-c.control:
			if err := writeMessage(ctx, ws, m); err != nil {
				return err
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := ws.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			if err := s.sessionStillValid(ctx, sess, c.deviceID != ""); err != nil {
				return &syncError{code: string(store.CodeUnauthenticated), message: "the session ended", status: websocket.StatusPolicyViolation}
			}
		case err := <-readErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readHello waits for the device's first message, which must be a hello of this protocol version.
func readHello(ctx context.Context, ws *websocket.Conn) (syncproto.Message, error) {
	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	_, frame, err := ws.Read(hctx)
	if err != nil {
		return syncproto.Message{}, err
	}
	m, err := syncproto.DecodeDevice(frame)
	if err != nil {
		return syncproto.Message{}, &syncError{code: syncInvalidMessage, message: err.Error(), status: websocket.StatusPolicyViolation}
	}
	if m.Type != syncproto.TypeHello {
		return syncproto.Message{}, &syncError{code: syncHelloExpected, message: "the first message is a hello", status: websocket.StatusPolicyViolation}
	}
	return m, nil
}

// checkSyncProof verifies a desktop device's signature of a fresh challenge for the purpose "sync".
func (s *Server) checkSyncProof(ctx context.Context, p *syncproto.Proof, deviceID string) error {
	refused := &syncError{code: string(store.CodeDeviceProofInvalid), message: "device proof refused", status: websocket.StatusPolicyViolation}
	if p == nil || p.DeviceID != deviceID {
		return refused
	}
	sig, err1 := base64.StdEncoding.DecodeString(p.Signature)
	token, err2 := hex.DecodeString(p.TokenHash)
	if err1 != nil || err2 != nil {
		return refused
	}
	if err := s.db.VerifyDeviceSignature(ctx, deviceID, p.Challenge, store.DeviceMessage("sync", p.Challenge), sig, token); err != nil {
		if store.ErrorCode(err) == store.CodeInternal {
			return err
		}
		return refused
	}
	return nil
}

// sessionStillValid checks the connection's session again. A desktop device's connection keeps its session
// alive (the app locks itself); a browser's does not, so a shared PC's session still times out.
func (s *Server) sessionStillValid(ctx context.Context, sess session, device bool) error {
	if device {
		_, _, err := s.db.SessionUser(ctx, sess.tokenHash, s.cfg.IdleTimeout, s.cfg.AbsoluteTimeout)
		return err
	}
	if err := s.db.SessionAlive(ctx, sess.tokenHash, s.cfg.IdleTimeout, s.cfg.AbsoluteTimeout); err != nil {
		return err
	}
	u, err := s.db.UserByID(ctx, sess.user.ID)
	if err == nil && !u.Active {
		err = store.Errorf(store.CodeUnauthenticated, "account inactive")
	}
	return err
}

// sendChanges sends everything after cursor the user may see, in batches, and returns the new cursor. The last
// batch has More false; a connection that is up to date gets nothing.
func (s *Server) sendChanges(ctx context.Context, ws *websocket.Conn, a store.Actor, cursor int64) (int64, error) {
	first := true
	for {
		page, err := s.db.Changes(ctx, a, cursor, syncproto.BatchSize)
		if err != nil {
			return cursor, err
		}
		if len(page) == 0 && !first {
			return cursor, nil
		}
		if len(page) > 0 {
			cursor = page[len(page)-1].Seq
		}
		more := len(page) == syncproto.BatchSize
		if len(page) > 0 || first {
			if err := writeMessage(ctx, ws, syncproto.Message{Type: syncproto.TypeChanges, Changes: page, Cursor: cursor, More: more}); err != nil {
				return cursor, err
			}
		}
		if !more {
			return cursor, nil
		}
		first = false
	}
}

// readDevice takes the device's messages until the connection ends: pushes are applied and acknowledged, a wipe
// receipt is recorded. A malformed message ends the connection with an error.
func (s *Server) readDevice(ctx context.Context, ws *websocket.Conn, c *syncConn, a store.Actor) error {
	tokens, last := float64(pushBurst), time.Now()
	for {
		_, frame, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		m, err := syncproto.DecodeDevice(frame)
		if err != nil {
			return &syncError{code: syncInvalidMessage, message: err.Error(), status: websocket.StatusPolicyViolation}
		}
		switch m.Type {
		case syncproto.TypePush:
			now := time.Now()
			tokens = min(pushBurst, tokens+float64(now.Sub(last))/float64(pushEvery))
			last = now
			if tokens < 1 {
				return &syncError{code: syncTooMany, message: "too many pushes", status: websocket.StatusPolicyViolation}
			}
			tokens--
			results, err := s.db.Ingest(ctx, a, m.Changes)
			if err != nil {
				if code := store.ErrorCode(err); code != store.CodeInternal {
					return &syncError{code: string(code), message: err.Error(), status: websocket.StatusPolicyViolation}
				}
				return err
			}
			if err := writeMessage(ctx, ws, syncproto.Message{Type: syncproto.TypeAck, Batch: m.Batch, Results: results}); err != nil {
				return err
			}
		case syncproto.TypeWiped:
			if c.deviceID == "" {
				return &syncError{code: syncInvalidMessage, message: "only a desktop device reports a wipe", status: websocket.StatusPolicyViolation}
			}
			rc, err := s.db.DeviceWiped(ctx, c.deviceID)
			if err != nil {
				return err
			}
			s.writeAudit(ctx, store.AuditEntry{SchoolID: rc.SchoolID, UserID: rc.UserID, DeviceID: c.deviceID, Action: "device_wiped", Outcome: store.OutcomeDone, IP: c.ip})
			return &syncError{code: "wiped", message: "the device is wiped", status: websocket.StatusNormalClosure}
		default:
			return &syncError{code: syncHelloExpected, message: "hello comes once", status: websocket.StatusPolicyViolation}
		}
	}
}
