// Package syncclient keeps a replica (the desktop app's local store) in sync with the backend over the sync
// protocol (docs/sync-protocol.md): it pulls what changed after its cursor, pushes its outbox and acts on the
// server's control messages, and reconnects with jittered backoff when the connection drops.
package syncclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"pult/store"
	"pult/store/syncproto"
)

// Backoff between connection attempts: from minBackoff, doubling to maxBackoff, each with up to half again as
// jitter so that many devices do not come back at the same moment after an outage.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
	// stableAfter is how long a connection must have lasted for the backoff to start small again.
	stableAfter  = 10 * time.Second
	writeTimeout = 10 * time.Second
)

// ErrWiped ends Run: the server told the device to wipe itself, and it did.
var ErrWiped = errors.New("the device was wiped on the school's request")

// Config is what a Client needs.
type Config struct {
	DB       *store.DB
	SchoolID string
	// Dial opens a websocket to the server's sync path with the user's session.
	Dial func(ctx context.Context) (*websocket.Conn, error)
	// Proof signs a fresh challenge with the device key; nil for a client without one.
	Proof func(ctx context.Context) (*syncproto.Proof, error)
	// Inventory describes the device for the admin.
	Inventory syncproto.Inventory
	// Control hears the server's control messages (wipe, lock, policy). For a wipe it erases the device and
	// returns nil; the client then confirms the wipe and stops with ErrWiped.
	Control func(m syncproto.Message) error
	// Stop says whether an error from the server means trying again makes no sense (the session ended, the
	// device proof was refused); Run then returns it.
	Stop func(code string) bool
	Log  *slog.Logger
}

// Status is what the UI shows of sync.
type Status struct {
	Online     bool      `json:"online"`
	Pending    int       `json:"pending"`
	LastSync   time.Time `json:"lastSync,omitzero"`
	CatchingUp bool      `json:"catchingUp"`
	// Received counts the changes of the current catch-up, for its progress.
	Received int `json:"received"`
}

// Client syncs one replica.
type Client struct {
	cfg  Config
	kick chan struct{}

	mu     sync.Mutex
	status Status
}

// New returns a client; Run starts it.
func New(cfg Config) *Client {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Stop == nil {
		cfg.Stop = func(string) bool { return false }
	}
	return &Client{cfg: cfg, kick: make(chan struct{}, 1)}
}

// Kick tells the client that the replica changed: it pushes soon. It never blocks.
func (c *Client) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Status returns the sync state.
func (c *Client) Status() Status {
	c.mu.Lock()
	s := c.status
	c.mu.Unlock()
	if n, err := c.cfg.DB.Pending(context.Background(), c.cfg.SchoolID); err == nil {
		s.Pending = n
	}
	return s
}

func (c *Client) setStatus(fn func(*Status)) {
	c.mu.Lock()
	fn(&c.status)
	c.mu.Unlock()
}

// ServerError is an error message of the server, which then closed the connection.
type ServerError struct{ Code, Message string }

func (e *ServerError) Error() string { return "sync refused: " + e.Code + ": " + e.Message }

// Run keeps the replica in sync until ctx ends (then nil), the device was wiped (ErrWiped), or the server gave
// an error that Stop calls final.
func (c *Client) Run(ctx context.Context) error {
	backoff := minBackoff
	for {
		started := time.Now()
		err := c.session(ctx)
		c.setStatus(func(s *Status) { s.Online, s.CatchingUp = false, false })
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrWiped) {
			return err
		}
		var se *ServerError
		if errors.As(err, &se) && c.cfg.Stop(se.Code) {
			return err
		}
		c.cfg.Log.Info("sync disconnected", "err", err)
		if time.Since(started) > stableAfter {
			backoff = minBackoff
		}
		wait := backoff + rand.N(backoff/2+1)
		backoff = min(2*backoff, maxBackoff)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
	}
}

type incoming struct {
	m   syncproto.Message
	err error
}

// session is one connection: hello, then pulls, pushes and control messages until it ends.
func (c *Client) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ws, err := c.cfg.Dial(ctx)
	if err != nil {
		if store.ErrorCode(err) == store.CodeUnauthenticated {
			return &ServerError{Code: string(store.CodeUnauthenticated), Message: err.Error()}
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(syncproto.MaxFrame)

	cursor, err := c.cfg.DB.Cursor(ctx, c.cfg.SchoolID)
	if err != nil {
		return err
	}
	hello := syncproto.Message{Type: syncproto.TypeHello, Version: syncproto.Version, Cursor: cursor, Inventory: &c.cfg.Inventory}
	if c.cfg.Proof != nil {
		if hello.Proof, err = c.cfg.Proof(ctx); err != nil {
			return fmt.Errorf("device proof: %w", err)
		}
	}
	if err := write(ctx, ws, hello); err != nil {
		return err
	}
	in := make(chan incoming)
	go func() {
		for {
			_, frame, err := ws.Read(ctx)
			var m syncproto.Message
			if err == nil {
				err = json.Unmarshal(frame, &m)
			}
			select {
			case in <- incoming{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var inFlight string // the batch id of the push waiting for its acknowledgement
	batches := 0
	c.setStatus(func(s *Status) { s.CatchingUp, s.Received = true, 0 })
	for {
		if inFlight == "" {
			batch, err := c.cfg.DB.Outbox(ctx, c.cfg.SchoolID, store.MaxPushBatch)
			if err != nil {
				return err
			}
			if len(batch) > 0 {
				batches++
				inFlight = strconv.Itoa(batches)
				if err := write(ctx, ws, syncproto.Message{Type: syncproto.TypePush, Batch: inFlight, Changes: batch}); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			ws.Close(websocket.StatusNormalClosure, "")
			return ctx.Err()
		case <-c.kick:
		case msg := <-in:
			if msg.err != nil {
				return msg.err
			}
			done, err := c.handle(ctx, ws, msg.m, &inFlight)
			if err != nil || done {
				return err
			}
		}
	}
}

// handle acts on one message of the server; done ends the session without an error.
func (c *Client) handle(ctx context.Context, ws *websocket.Conn, m syncproto.Message, inFlight *string) (done bool, err error) {
	switch m.Type {
	case syncproto.TypeWelcome:
		c.setStatus(func(s *Status) { s.Online = true })
		if m.Policy != nil {
			return false, c.control(syncproto.Message{Type: syncproto.TypePolicy, Policy: m.Policy})
		}
	case syncproto.TypeChanges:
		// Without the session's cancellation: a batch applies whole or not at all either way, and the SQLite
		// driver would watch a cancellable context with a goroutine per statement.
		if err := c.cfg.DB.ApplyPulled(context.WithoutCancel(ctx), c.cfg.SchoolID, m.Changes, m.Cursor); err != nil {
			return false, fmt.Errorf("apply changes: %w", err)
		}
		c.setStatus(func(s *Status) {
			s.Received += len(m.Changes)
			if !m.More {
				s.CatchingUp, s.LastSync = false, time.Now()
			}
		})
	case syncproto.TypeAck:
		if m.Batch != *inFlight {
			return false, fmt.Errorf("acknowledgement of batch %q, waiting for %q", m.Batch, *inFlight)
		}
		for _, r := range m.Results {
			if r.Error != nil {
				c.cfg.Log.Warn("change refused by the server", "record", r.ID, "code", r.Error.Code)
			}
		}
		if err := c.cfg.DB.Acknowledge(ctx, c.cfg.SchoolID, m.Results); err != nil {
			return false, fmt.Errorf("acknowledge: %w", err)
		}
		*inFlight = ""
		c.setStatus(func(s *Status) { s.LastSync = time.Now() })
	case syncproto.TypeWipe:
		if err := c.control(m); err != nil {
			return false, err
		}
		write(ctx, ws, syncproto.Message{Type: syncproto.TypeWiped})
		// The server closes after the receipt; wait briefly for it so the receipt is not cut off.
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ws.Read(rctx)
		return true, ErrWiped
	case syncproto.TypeLock, syncproto.TypePolicy:
		return false, c.control(m)
	case syncproto.TypeError:
		return false, &ServerError{Code: m.Code, Message: m.Message}
	}
	return false, nil
}

func (c *Client) control(m syncproto.Message) error {
	if c.cfg.Control == nil {
		return nil
	}
	return c.cfg.Control(m)
}

func write(ctx context.Context, ws *websocket.Conn, m syncproto.Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, raw)
}
