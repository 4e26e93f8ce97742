package server

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
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

// maxQueued bounds what waits for a connection's writer; beyond it, the connection reads what it missed from the
// store itself (changes), or is dropped (control messages).
const maxQueued = 64

// hub knows the open sync connections by school. After a commit, it reads the school's new changes once (the
// school's feed) and hands them to each connection, which sends what its user may see; it also hands control
// messages to devices.
type hub struct {
	db  *store.DB
	log *slog.Logger

	mu      sync.Mutex
	schools map[string]*schoolConns
	// epoch counts closeAll calls: a connection accepted before one but registering after it (it was still
	// saying hello) is refused, so that no connection outlives the server's closing.
	epoch uint64
}

// schoolConns are a school's connections and its feed.
type schoolConns struct {
	conns map[*syncConn]struct{}
	kick  chan struct{} // a commit happened; the feed reads what is new
	quit  chan struct{} // the last connection went
}

// syncConn is one device's or browser's open connection. Its reader (the goroutine of serveSync) reads the
// device's messages; a writer goroutine runs only while there is something to send, so an idle connection costs
// one goroutine.
type syncConn struct {
	srv      *Server
	epoch    uint64 // the hub's epoch when the connection was accepted
	ws       *websocket.Conn
	sess     session
	actor    store.Actor
	schoolID string
	ip       string // the client's address, for the audit log
	deviceID string // a desktop device's id; "" for a browser
	ctx      context.Context
	cancel   context.CancelFunc
	ended    sync.Once

	mu      sync.Mutex
	queue   []outgoing
	writing bool        // a writer owns the connection's sending (or the reader, until the welcome is out)
	ping    *time.Timer // queues the next ping

	cursor int64 // the server's sequence number the device has everything up to; the writer's
}

// outgoing is one thing for a connection's writer to send.
type outgoing struct {
	page     *feedPage          // new changes of the school
	catchUp  bool               // everything after the cursor, from the store
	announce bool               // with catchUp: end with a message (more: false) even when there is nothing
	control  *syncproto.Message // a control message
	ping     bool               // a ping, and the session checked again
}

// feedPage is a page of a school's changes as the feed read them, for every connection of the school.
type feedPage struct {
	from, to int64 // the changes after from, up to and including to
	changes  []store.Change

	mu     sync.Mutex
	frames map[string]*encoded // the changes message, by the user it was filtered for ("" for all)
}

type encoded struct {
	once sync.Once
	raw  []byte
	err  error
}

// frame returns the changes message of the page for a user's view of it, encoded once for all their
// connections.
func (p *feedPage) frame(user string, changes []store.Change) ([]byte, error) {
	p.mu.Lock()
	if p.frames == nil {
		p.frames = map[string]*encoded{}
	}
	e := p.frames[user]
	if e == nil {
		e = &encoded{}
		p.frames[user] = e
	}
	p.mu.Unlock()
	e.once.Do(func() {
		e.raw, e.err = json.Marshal(syncproto.Message{Type: syncproto.TypeChanges, Changes: changes, Cursor: p.to})
	})
	return e.raw, e.err
}

func newHub(db *store.DB, log *slog.Logger) *hub {
	return &hub{db: db, log: log, schools: map[string]*schoolConns{}}
}

// add registers a connection. A school's first connection starts its feed at the school's head: whatever
// commits later reaches every connection registered before it.
func (h *hub) add(ctx context.Context, c *syncConn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.epoch != h.epoch {
		return errors.New("the server closed its sync connections")
	}
	sc := h.schools[c.schoolID]
	if sc == nil {
		head, err := h.db.Head(ctx, c.schoolID)
		if err != nil {
			return err
		}
		sc = &schoolConns{conns: map[*syncConn]struct{}{}, kick: make(chan struct{}, 1), quit: make(chan struct{})}
		h.schools[c.schoolID] = sc
		go h.feed(c.schoolID, sc, head)
	}
	sc.conns[c] = struct{}{}
	return nil
}

func (h *hub) remove(c *syncConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sc := h.schools[c.schoolID]
	if sc == nil {
		return
	}
	delete(sc.conns, c)
	if len(sc.conns) == 0 {
		close(sc.quit)
		delete(h.schools, c.schoolID)
	}
}

// notify tells a school's feed that records changed; a feed already awake stays so (one read covers many
// commits). It runs after each commit on the store's writer and never blocks.
func (h *hub) notify(schoolID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sc := h.schools[schoolID]; sc != nil {
		select {
		case sc.kick <- struct{}{}:
		default:
		}
	}
}

// feed reads a school's new changes after each commit, once for all its connections, and hands each page to
// every connection: one read and one decryption per change instead of one per connection, and one encoding per
// user's view of it.
func (h *hub) feed(schoolID string, sc *schoolConns, head int64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sc.quit
		cancel()
	}()
	all := store.SchoolAdmin(schoolID)
	for {
		select {
		case <-sc.kick:
		case <-sc.quit:
			return
		}
		for {
			page, err := h.db.ChangesAfter(unbound(ctx), all, head, syncproto.BatchSize)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				h.log.Error("sync feed", "school", schoolID, "err", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if page.Cursor == head {
				break
			}
			p := &feedPage{from: head, to: page.Cursor, changes: page.Changes}
			head = page.Cursor
			h.mu.Lock()
			for c := range sc.conns {
				c.enqueue(outgoing{page: p})
			}
			h.mu.Unlock()
			if !page.More {
				break
			}
		}
	}
}

// send hands a control message to the school's connections that match; one that cannot take it is dropped.
func (h *hub) send(schoolID string, match func(*syncConn) bool, m syncproto.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sc := h.schools[schoolID]
	if sc == nil {
		return
	}
	for c := range sc.conns {
		if match(c) {
			c.enqueue(outgoing{control: &m})
		}
	}
}

// closeAll ends every open connection.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.epoch++
	for _, sc := range h.schools {
		for c := range sc.conns {
			c.cancel()
		}
	}
}

func (h *hub) currentEpoch() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.epoch
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

// compressAbove is the size from which a message is compressed: catch-up batches and acknowledgements of big
// pushes are, a live change of a kilobyte or two is not. Each connection deflates on its own, and for a change
// that goes to many connections at once that costs more than the bytes it saves.
const compressAbove = 8 << 10

// SyncAcceptOptions are the options the sync endpoint accepts a websocket with: permessage-deflate without
// context takeover (nothing kept per connection between messages) when the client offers it.
func SyncAcceptOptions() *websocket.AcceptOptions {
	return &websocket.AcceptOptions{CompressionMode: websocket.CompressionNoContextTakeover, CompressionThreshold: compressAbove}
}

// syncHandler upgrades a logged-in user's request to a sync connection (docs/sync-protocol.md). The connection
// then lives in a goroutine of its own and the handler returns, so that the request and the HTTP server's
// goroutine are not kept for as long as the connection lasts.
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
	epoch := s.hub.currentEpoch()
	ws, err := websocket.Accept(w, r, SyncAcceptOptions())
	if err != nil {
		return // Accept answered already (a cross-origin page, or not a websocket request)
	}
	ws.SetReadLimit(syncproto.MaxFrame)
	ctx, cancel := context.WithCancel(context.Background())
	a := sess.user.Actor()
	c := &syncConn{srv: s, epoch: epoch, ws: ws, sess: sess, actor: a, schoolID: a.SchoolID, ip: s.clientIP(r), ctx: ctx, cancel: cancel,
		writing: true}
	go s.serveSync(c)
}

// serveSync runs a connection until it ends: hello and welcome, then the device's messages, while the writer
// sends changes and control messages.
func (s *Server) serveSync(c *syncConn) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("sync panic", "panic", p, "stack", string(debug.Stack()))
			c.end(errors.New("internal error"))
		}
		s.hub.remove(c)
		c.mu.Lock()
		if c.ping != nil {
			c.ping.Stop()
		}
		c.mu.Unlock()
		c.cancel()
	}()
	c.end(s.runSync(c))
}

// end closes the connection, once, for the first reason: a refusal gets its error message and close status, a
// close by the client or the server's shutdown a "going away", anything else a plain close.
func (c *syncConn) end(err error) {
	c.ended.Do(func() {
		var se *syncError
		switch {
		case errors.As(err, &se):
			c.srv.log.Info("sync closed", "code", se.code)
			writeMessage(context.Background(), c.ws, syncproto.Message{Type: syncproto.TypeError, Code: se.code, Message: se.message})
			c.ws.Close(se.status, se.code)
		case websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled):
			c.ws.Close(websocket.StatusGoingAway, "")
		default:
			c.srv.log.Info("sync ended", "err", err)
			c.ws.CloseNow()
		}
		c.cancel()
	})
}

// unbound is the context of the store calls of a connection: they are short (a page, a batch) and run to their
// end even when the connection goes. The SQLite driver watches a cancellable context with a goroutine per
// statement, which costs more than most statements of a push.
func unbound(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func writeMessage(ctx context.Context, ws *websocket.Conn, m syncproto.Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFrame(ctx, ws, raw)
}

func writeFrame(ctx context.Context, ws *websocket.Conn, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, raw)
}

func (s *Server) runSync(c *syncConn) error {
	ctx, ws := c.ctx, c.ws
	hello, err := readHello(ctx, ws)
	if err != nil {
		return err
	}
	var policy *store.DevicePolicy
	var wipe bool
	if st, err := s.db.DesktopDeviceStatus(ctx, c.sess.deviceID); err == nil {
		// A desktop device's session is not enough: it proves the device key for this connection too.
		if err := s.checkSyncProof(ctx, hello.Proof, c.sess.deviceID); err != nil {
			return err
		}
		c.deviceID = c.sess.deviceID
		policy = st.Policy
		if inv := hello.Inventory; inv != nil {
			if err := s.db.NoteSync(ctx, c.deviceID, inv.AppVersion, inv.OS); err != nil {
				return err
			}
		}
		wipe = st.State == store.DeviceBlocked
	}
	// Registered first and the head read before the welcome: whatever commits after the welcome is after the
	// cursor, and reaches the connection through the feed.
	if err := s.hub.add(ctx, c); err != nil {
		return err
	}
	cursor := hello.Cursor
	if cursor == syncproto.CursorLive {
		if cursor, err = s.db.Head(ctx, c.schoolID); err != nil {
			return err
		}
	}
	if err := writeMessage(ctx, ws, syncproto.Message{Type: syncproto.TypeWelcome, Version: syncproto.Version, Policy: policy}); err != nil {
		return err
	}
	// The welcome is out: the writer takes over sending, first the catch-up, then what queued meanwhile.
	first := []outgoing{{catchUp: true, announce: true}}
	if wipe {
		first = append(first, outgoing{control: &syncproto.Message{Type: syncproto.TypeWipe}})
	}
	c.mu.Lock()
	c.cursor = cursor
	c.queue = append(first, c.queue...)
	c.ping = time.AfterFunc(pingEvery, func() { c.enqueue(outgoing{ping: true}) })
	c.mu.Unlock()
	go c.write()
	return s.readDevice(ctx, ws, c, c.actor)
}

// enqueue hands the writer something to send, starting it if none runs. Changes beyond maxQueued collapse into
// one catch-up from the store; a control message beyond it drops the connection.
func (c *syncConn) enqueue(o outgoing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) >= maxQueued {
		if o.control != nil {
			c.cancel()
			return
		}
		kept := c.queue[:0]
		for _, q := range c.queue {
			if q.page == nil && !q.catchUp {
				kept = append(kept, q)
			}
		}
		c.queue = append(kept, outgoing{catchUp: true})
		if o.page != nil {
			return
		}
	}
	c.queue = append(c.queue, o)
	if !c.writing {
		c.writing = true
		go c.write()
	}
}

// write sends what is queued, then ends: no goroutine waits on an idle connection.
func (c *syncConn) write() {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("sync panic", "panic", p, "stack", string(debug.Stack()))
			c.end(errors.New("internal error"))
		}
	}()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.ctx.Err() != nil {
			c.queue, c.writing = nil, false
			c.mu.Unlock()
			return
		}
		o := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		if err := c.srv.send(c, o); err != nil {
			c.end(err)
		}
	}
}

// send sends one thing queued for a connection.
func (s *Server) send(c *syncConn, o outgoing) error {
	ctx, ws := c.ctx, c.ws
	var err error
	switch {
	case o.catchUp:
		c.cursor, err = s.sendChanges(ctx, ws, c.actor, c.cursor, o.announce)
	case o.page != nil:
		p := o.page
		if p.to <= c.cursor {
			return nil // had it already
		}
		if p.from != c.cursor {
			// The page does not follow on from the cursor (the connection came while the feed read): the
			// store has what the connection misses.
			c.cursor, err = s.sendChanges(ctx, ws, c.actor, c.cursor, false)
			return err
		}
		// Filtered only now, after the feed read the changes: what a teacher may see is at least as new as they are.
		list, err := s.db.FilterChanges(unbound(ctx), c.actor, p.changes)
		if err != nil {
			return err
		}
		if len(list) > 0 {
			user := ""
			if !c.actor.IsAdmin() {
				user = c.actor.UserID
			}
			raw, err := p.frame(user, list)
			if err != nil {
				return err
			}
			if err := writeFrame(ctx, ws, raw); err != nil {
				return err
			}
		}
		c.cursor = p.to
	case o.control != nil:
		err = writeMessage(ctx, ws, *o.control)
	case o.ping:
		pctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err = ws.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
		if err := s.sessionStillValid(ctx, c.sess, c.deviceID != ""); err != nil {
			return &syncError{code: string(store.CodeUnauthenticated), message: "the session ended", status: websocket.StatusPolicyViolation}
		}
		c.mu.Lock()
		c.ping.Reset(pingEvery)
		c.mu.Unlock()
	}
	return err
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

// sendChanges sends everything after cursor the user may see, in batches, and returns the new cursor. With
// announce, the last batch goes out even when empty (the end of a catch-up, More false); otherwise a
// connection that is up to date gets nothing.
func (s *Server) sendChanges(ctx context.Context, ws *websocket.Conn, a store.Actor, cursor int64, announce bool) (int64, error) {
	for {
		page, err := s.db.ChangesAfter(unbound(ctx), a, cursor, syncproto.BatchSize)
		if err != nil {
			return cursor, err
		}
		if len(page.Changes) > 0 || (announce && !page.More) {
			if err := writeMessage(ctx, ws, syncproto.Message{Type: syncproto.TypeChanges, Changes: page.Changes, Cursor: page.Cursor, More: page.More}); err != nil {
				return cursor, err
			}
		}
		cursor = page.Cursor
		if !page.More {
			return cursor, nil
		}
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
			results, err := s.db.Ingest(unbound(ctx), a, m.Changes)
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
