package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"pult/backend/server"
	"pult/store"
	"pult/store/syncproto"
)

// sampleTimeout bounds the wait for one change to reach every device that should have it.
const sampleTimeout = 5 * time.Second

type latencyRun struct {
	devices   int // connected clients
	receivers int // clients that should receive each change
	samples   int // changes
	lat       []time.Duration
	missing   int // receipts that did not come within sampleTimeout
	leaked    int // receipts by clients that may not see the change
	ack       []time.Duration
}

func (r latencyRun) p(q float64) time.Duration { return percentile(r.lat, q) }

type latencyResult struct {
	admins, teachers, bare latencyRun
}

// tracker matches received changes to the samples waiting for them.
type tracker struct {
	mu   sync.Mutex
	open map[string]*sample
	lat  []time.Duration
	leak int
}

type sample struct {
	t0      time.Time
	want    int
	writer  int    // the client that wrote it, whose echo does not count
	user    string // the user whose clients may see it; "" for all
	arrived chan struct{}
	got     map[int]bool // the clients that received it
}

func newTracker() *tracker { return &tracker{open: map[string]*sample{}} }

func (t *tracker) expect(id string, s *sample) {
	t.mu.Lock()
	t.open[id] = s
	t.mu.Unlock()
}

func (t *tracker) receive(id string, client int, user string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.open[id]
	if s == nil || client == s.writer || s.got[client] {
		return
	}
	if s.got == nil {
		s.got = map[int]bool{}
	}
	s.got[client] = true
	if s.user != "" && s.user != user {
		t.leak++
		return
	}
	t.lat = append(t.lat, at.Sub(s.t0))
	if s.want--; s.want == 0 {
		close(s.arrived)
	}
}

func (t *tracker) forget(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.open[id]
	delete(t.open, id)
	return max(s.want, 0)
}

// client is one connected browser of the latency runs.
type client struct {
	n    int
	user string
	ws   *websocket.Conn
	acks chan time.Time
}

var (
	changesPrefix = []byte(`{"type":"changes"`)
	ackPrefix     = []byte(`{"type":"ack"`)
	changeID      = []byte(`{"id":"`)
)

// listen reads the client's messages until the connection ends: the ids of the changes in a changes message go
// to the tracker, acknowledgements to the writer. The clients share the machine's cores with the server, so they
// do no more than that: they find the ids in the frame (a change's first member) instead of decoding all of it as
// a browser would on its own machine. The bare baseline's clients do the same.
func (c *client) listen(ctx context.Context, t *tracker) {
	for {
		_, frame, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		at := time.Now()
		switch {
		case bytes.HasPrefix(frame, changesPrefix):
			for rest := frame; ; {
				i := bytes.Index(rest, changeID)
				if i < 0 || len(rest) < i+len(changeID)+36 {
					break
				}
				rest = rest[i+len(changeID):]
				t.receive(string(rest[:36]), c.n, c.user, at)
			}
		case bytes.HasPrefix(frame, ackPrefix):
			select {
			case c.acks <- at:
			default:
			}
		}
	}
}

// latency runs the two Pult scenarios and the bare baseline.
func (b *bench) latency(ctx context.Context, devices, samples int) (latencyResult, error) {
	var res latencyResult
	lessons := b.lessonChanges()
	clock := store.NewClock("bench0writer")

	// 1. Every client is an admin's browser: each of them receives every change.
	sessions, err := b.logins(b.admin, devices)
	if err != nil {
		return res, err
	}
	res.admins, err = b.latencyRun(ctx, sessions, samples, func(k int) (int, store.Change, string) {
		return 0, topicChange(lessons[k%len(lessons)], clock, k), ""
	})
	if err != nil {
		return res, err
	}

	// 2. The clients are browsers of the school's teachers, as many per teacher; a teacher's first browser
	// writes in one of the teacher's courses, the teacher's other browsers receive it, and nobody else.
	per := max(devices/len(b.teachers), 2)
	sessions = sessions[:0]
	for _, t := range b.teachers {
		list, err := b.logins(t, per)
		if err != nil {
			return res, err
		}
		sessions = append(sessions, list...)
	}
	res.teachers, err = b.latencyRun(ctx, sessions, samples, func(k int) (int, store.Change, string) {
		i := k % len(b.teachers)
		return i * per, topicChange(b.lessonOf(i, k/len(b.teachers)), clock, k), b.teachers[i].ID
	})
	if err != nil {
		return res, err
	}

	// 3. The baseline: a bare coder/websocket server broadcasting the same frame to as many clients.
	res.bare, err = bareFanout(ctx, devices, samples, lessons, clock)
	return res, err
}

// latencyRun connects the sessions' clients (hello with the live cursor, as a browser), then has the writer client
// push one change at a time and waits until every client that may see it received it.
func (b *bench) latencyRun(ctx context.Context, sessions []session, samples int, next func(k int) (writer int, c store.Change, user string)) (latencyRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := newTracker()
	clients := make([]*client, len(sessions))
	perUser := map[string]int{}
	for i, s := range sessions {
		ws, err := b.dial(ctx, s)
		if err != nil {
			return latencyRun{}, fmt.Errorf("client %d: %w", i, err)
		}
		defer ws.CloseNow()
		if err := hello(ctx, ws, syncproto.CursorLive); err != nil {
			return latencyRun{}, fmt.Errorf("client %d: %w", i, err)
		}
		clients[i] = &client{n: i, user: s.user.ID, ws: ws, acks: make(chan time.Time, 1)}
		perUser[s.user.ID]++
		go clients[i].listen(ctx, t)
	}
	run := latencyRun{devices: len(clients), samples: samples}
	time.Sleep(200 * time.Millisecond) // let the connections settle
	for k := range samples {
		writer, c, user := next(k)
		want := len(clients) - 1
		if user != "" {
			want = perUser[user] - 1
		}
		run.receivers = want
		s := &sample{want: want, writer: writer, user: user, arrived: make(chan struct{})}
		raw, err := json.Marshal(syncproto.Message{Type: syncproto.TypePush, Batch: strconv.Itoa(k + 1), Changes: []store.Change{c}})
		if err != nil {
			return run, err
		}
		s.t0 = time.Now()
		t.expect(c.ID, s)
		if err := clients[writer].ws.Write(ctx, websocket.MessageText, raw); err != nil {
			return run, err
		}
		select {
		case at := <-clients[writer].acks:
			run.ack = append(run.ack, at.Sub(s.t0))
		case <-time.After(sampleTimeout):
			return run, fmt.Errorf("no acknowledgement for change %d", k)
		}
		select {
		case <-s.arrived:
		case <-time.After(sampleTimeout):
		}
		run.missing += t.forget(c.ID)
		time.Sleep(10 * time.Millisecond) // one change at a time: the next one starts on a quiet server
	}
	t.mu.Lock()
	run.lat, run.leaked = t.lat, t.leak
	t.mu.Unlock()
	return run, nil
}

// lessonChanges are the lessons the devices pushed during ingest.
func (b *bench) lessonChanges() []store.Change {
	var out []store.Change
	for _, list := range b.pushes {
		for _, c := range list {
			if c.Kind == store.KindLesson {
				out = append(out, c)
			}
		}
	}
	return out
}

// lessonOf returns the n-th lesson (modulo) of course i.
func (b *bench) lessonOf(i, n int) store.Change {
	var list []store.Change
	for _, c := range b.pushes[i] {
		if c.Kind == store.KindLesson {
			list = append(list, c)
		}
	}
	return list[n%len(list)]
}

// topicChange is a lesson whose topic was edited on a device: the whole record, the topic with a fresh stamp.
func topicChange(lesson store.Change, clock *store.Clock, k int) store.Change {
	c := lesson
	c.Fields, c.Clocks = maps.Clone(lesson.Fields), maps.Clone(lesson.Clocks)
	c.Fields["topic"], _ = json.Marshal("Geändert " + strconv.Itoa(k))
	c.Clocks["topic"] = clock.Now().String()
	c.Seq = int64(1_000_000 + k)
	return c
}

// bareFanout is the floor: a server on bare coder/websocket that, for each change, encodes one changes message
// and has every connection's goroutine write it (the shape of a minimal realtime hub), to as many clients that
// decode it as the browsers do.
func bareFanout(ctx context.Context, devices, samples int, lessons []store.Change, clock *store.Clock) (latencyRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		conns []chan []byte
	)
	var ready atomic.Int64
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, server.SyncAcceptOptions())
		if err != nil {
			return
		}
		defer ws.CloseNow()
		out := make(chan []byte, 1)
		mu.Lock()
		conns = append(conns, out)
		mu.Unlock()
		ready.Add(1)
		cctx := ws.CloseRead(ctx)
		for {
			select {
			case frame := <-out:
				wctx, cancel := context.WithTimeout(cctx, 10*time.Second)
				err := ws.Write(wctx, websocket.MessageText, frame)
				cancel()
				if err != nil {
					return
				}
			case <-cctx.Done():
				return
			}
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return latencyRun{}, err
	}
	go hs.Serve(ln)
	defer hs.Close()
	t := newTracker()
	for i := range devices {
		ws, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String(), &websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover})
		if err != nil {
			return latencyRun{}, err
		}
		ws.SetReadLimit(syncproto.MaxFrame)
		defer ws.CloseNow()
		c := &client{n: i, ws: ws, acks: make(chan time.Time, 1)}
		go c.listen(ctx, t)
	}
	for ready.Load() < int64(devices) {
		time.Sleep(time.Millisecond)
	}
	run := latencyRun{devices: devices, receivers: devices, samples: samples}
	time.Sleep(200 * time.Millisecond)
	for k := range samples {
		c := topicChange(lessons[k%len(lessons)], clock, k)
		s := &sample{want: devices, writer: -1, arrived: make(chan struct{})}
		s.t0 = time.Now()
		t.expect(c.ID, s)
		raw, err := json.Marshal(syncproto.Message{Type: syncproto.TypeChanges, Changes: []store.Change{c}, Cursor: c.Seq})
		if err != nil {
			return run, err
		}
		mu.Lock()
		for _, out := range conns {
			select {
			case out <- raw:
			default:
			}
		}
		mu.Unlock()
		select {
		case <-s.arrived:
		case <-time.After(sampleTimeout):
		}
		run.missing += t.forget(c.ID)
		time.Sleep(10 * time.Millisecond)
	}
	t.mu.Lock()
	run.lat = t.lat
	t.mu.Unlock()
	return run, nil
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*q/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
