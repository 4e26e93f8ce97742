package store

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// HLC is a hybrid logical clock stamp: wall time in milliseconds, a counter for events within the same
// millisecond (or while the wall clock lags behind a stamp already seen), and the node that made it. Its string
// form sorts like the stamps themselves, so later-writer-wins is a string comparison, ties broken by node.
type HLC struct {
	Wall    int64
	Counter uint32
	Node    string
}

func (h HLC) String() string { return fmt.Sprintf("%012x-%06x-%s", h.Wall, h.Counter, h.Node) }

// ParseHLC reads a stamp written by String.
func ParseHLC(s string) (HLC, error) {
	var h HLC
	if len(s) < 21 || s[12] != '-' || s[19] != '-' {
		return HLC{}, fmt.Errorf("parse hlc %q: bad form", s)
	}
	// strconv rather than fmt.Sscanf: every change received parses all its stamps, twice.
	wall, err := strconv.ParseUint(s[:12], 16, 63)
	if err != nil {
		return HLC{}, fmt.Errorf("parse hlc %q: %w", s, err)
	}
	counter, err := strconv.ParseUint(s[13:19], 16, 32)
	if err != nil {
		return HLC{}, fmt.Errorf("parse hlc %q: %w", s, err)
	}
	h.Wall, h.Counter, h.Node = int64(wall), uint32(counter), s[20:]
	return h, nil
}

// Clock issues HLC stamps for one node. It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	node string
	last HLC
	now  func() time.Time
}

// NewClock returns a clock for node (a device or server id).
func NewClock(node string) *Clock { return &Clock{node: node, now: time.Now} }

// Now returns a stamp later than every stamp this clock issued or observed.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := c.now().UnixMilli()
	if wall > c.last.Wall {
		c.last = HLC{Wall: wall, Node: c.node}
	} else {
		c.last = HLC{Wall: c.last.Wall, Counter: c.last.Counter + 1, Node: c.node}
	}
	return c.last
}

// Observe moves the clock past a stamp received from another node, so this node's next edit sorts after it even
// when this node's wall clock is behind.
func (c *Clock) Observe(h HLC) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.Wall > c.last.Wall || (h.Wall == c.last.Wall && h.Counter > c.last.Counter) {
		c.last = HLC{Wall: h.Wall, Counter: h.Counter, Node: c.node}
	}
}

// SetSyncClock makes the clock that stamps changes for sync (not SetClock's, which decides deadlines) read wall
// time from now: for tests and simulations of devices whose clocks are skewed. Stamps still never go back behind
// one issued or observed since the store opened.
func (db *DB) SetSyncClock(now func() time.Time) {
	db.clock.mu.Lock()
	defer db.clock.mu.Unlock()
	db.clock.now = now
}
