package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"pult/store"
	"pult/store/syncproto"
)

// dialSync opens a sync connection with a client's session.
func dialSync(t *testing.T, h *harness, c *client, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.url, "http")+syncproto.Path, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: header})
	if ws != nil {
		ws.SetReadLimit(syncproto.MaxFrame)
		t.Cleanup(func() { ws.CloseNow() })
	}
	return ws, resp, err
}

func sendFrame(t *testing.T, ws *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func sendMessage(t *testing.T, ws *websocket.Conn, m syncproto.Message) {
	t.Helper()
	raw, _ := json.Marshal(m)
	sendFrame(t, ws, string(raw))
}

// readUntil reads messages until one of the type arrives, and returns it; or the error that ended the connection.
func readUntil(t *testing.T, ws *websocket.Conn, typ string) (syncproto.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, frame, err := ws.Read(ctx)
		if err != nil {
			return syncproto.Message{}, err
		}
		var m syncproto.Message
		if err := json.Unmarshal(frame, &m); err != nil {
			t.Fatalf("the server sent a frame that is not JSON: %q", frame)
		}
		if m.Type == typ {
			return m, nil
		}
	}
}

var hello = syncproto.Message{Type: syncproto.TypeHello, Version: syncproto.Version}

// TestSyncBadFrames: whatever a client sends, the server answers with an error message and a close, changes
// nothing, and goes on serving everyone else.
func TestSyncBadFrames(t *testing.T) {
	h := MustHarness(t)
	tooMany := syncproto.Message{Type: syncproto.TypePush, Batch: "b", Changes: make([]store.Change, store.MaxPushBatch+1)}
	raw, _ := json.Marshal(tooMany)
	for _, tc := range []struct {
		name   string
		frames []string
		code   string
		status websocket.StatusCode
	}{
		{"NotJSON", []string{`{"type":`}, "invalid_message", websocket.StatusPolicyViolation},
		{"PushBeforeHello", []string{`{"type":"push","batch":"b","changes":[]}`}, "invalid_message", websocket.StatusPolicyViolation},
		{"WiredBeforeHello", []string{`{"type":"wiped"}`}, "hello_expected", websocket.StatusPolicyViolation},
		{"OtherVersion", []string{`{"type":"hello","version":2}`}, "invalid_message", websocket.StatusPolicyViolation},
		{"NegativeCursor", []string{`{"type":"hello","version":1,"cursor":-5}`}, "invalid_message", websocket.StatusPolicyViolation},
		{"UnknownType", []string{`{"type":"hello","version":1}`, `{"type":"gimme"}`}, "invalid_message", websocket.StatusPolicyViolation},
		{"SecondHello", []string{`{"type":"hello","version":1}`, `{"type":"hello","version":1}`}, "hello_expected", websocket.StatusPolicyViolation},
		{"TooManyChanges", []string{`{"type":"hello","version":1}`, string(raw)}, "invalid_message", websocket.StatusPolicyViolation},
		{"WrongTypes", []string{`{"type":"hello","version":1}`, `{"type":"push","batch":"b","changes":[{"id":7}]}`}, "invalid_message", websocket.StatusPolicyViolation},
		{"BrowserWiped", []string{`{"type":"hello","version":1}`, `{"type":"wiped"}`}, "invalid_message", websocket.StatusPolicyViolation},
		{"TooLarge", []string{`{"type":"hello","version":1}`, `{"type":"push","batch":"` + strings.Repeat("x", syncproto.MaxFrame) + `"}`}, "", websocket.StatusMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.fingerprint(t)
			ws, _, err := dialSync(t, h, h.t1, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.frames {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				ws.Write(ctx, websocket.MessageText, []byte(f)) // the server may already have closed
				cancel()
			}
			var got syncproto.Message
			var end error
			for end == nil {
				var m syncproto.Message
				m, end = readUntil(t, ws, syncproto.TypeError)
				if end == nil {
					got = m
				}
			}
			if got.Code != tc.code {
				t.Errorf("error message %+v, want code %q", got, tc.code)
			}
			if s := websocket.CloseStatus(end); s != tc.status {
				t.Errorf("closed with %v (%v), want %v", s, end, tc.status)
			}
			if h.fingerprint(t) != before {
				t.Error("the refused connection changed the store")
			}
		})
	}
	// The server still serves: a good connection gets its welcome and its catch-up.
	ws, _, err := dialSync(t, h, h.t1, nil)
	if err != nil {
		t.Fatal(err)
	}
	sendMessage(t, ws, hello)
	if m, err := readUntil(t, ws, syncproto.TypeChanges); err != nil || m.More || len(m.Changes) == 0 {
		t.Fatalf("catch-up after the bad connections: %+v %v", m, err)
	}
}

// TestSyncRefusals: no session, another site's page, or a plain request: no sync connection.
func TestSyncRefusals(t *testing.T) {
	h := MustHarness(t)
	if _, resp, err := dialSync(t, h, h.anon, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a session: %v %v", resp, err)
	}
	if _, resp, err := dialSync(t, h, h.t1, http.Header{"Origin": {"https://evil.example"}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("from another site's page: %v %v", resp, err)
	}
	status, code, _ := do(t, h.t1, "GET", syncproto.Path, nil)
	if status != http.StatusUpgradeRequired || code != "upgrade_required" {
		t.Errorf("a plain request: %d %s", status, code)
	}
}

// TestSyncLiveScope: live changes reach the connections that may see them, and only those: another teacher's
// connection and another school's never get them.
func TestSyncLiveScope(t *testing.T) {
	h := MustHarness(t)
	conns := map[string]*websocket.Conn{}
	for name, c := range map[string]*client{"t1": h.t1, "t2": h.t2, "adminA": h.adminA, "adminB": h.adminB} {
		ws, _, err := dialSync(t, h, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		live := hello
		live.Cursor = syncproto.CursorLive
		sendMessage(t, ws, live)
		if _, err := readUntil(t, ws, syncproto.TypeWelcome); err != nil {
			t.Fatal(err)
		}
		conns[name] = ws
	}
	// T1 adds a lesson; then T2 one, and school B's admin one: each connection's first changes are its own.
	mustDo(t, h.t1, "POST", h.fill("/api/v1/courses/$course1/lessons"), map[string]string{"date": "2026-03-09", "topic": "Für T1"}, http.StatusCreated)
	mustDo(t, h.t2, "POST", h.fill("/api/v1/courses/$course2/lessons"), map[string]string{"date": "2026-03-09", "topic": "Für T2"}, http.StatusCreated)
	mustDo(t, h.adminB, "POST", h.fill("/api/v1/courses/$courseB/lessons"), map[string]string{"date": "2026-03-09", "topic": "Für B"}, http.StatusCreated)
	firstTopic := func(name string) string {
		var m syncproto.Message
		for len(m.Changes) == 0 { // the catch-up of a live connection is empty
			var err error
			if m, err = readUntil(t, conns[name], syncproto.TypeChanges); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		var topics []string
		for _, c := range m.Changes {
			var topic string
			json.Unmarshal(c.Fields["topic"], &topic)
			topics = append(topics, topic)
		}
		return strings.Join(topics, ",")
	}
	if got := firstTopic("t1"); got != "Für T1" {
		t.Errorf("T1 first got %q", got)
	}
	if got := firstTopic("t2"); got != "Für T2" {
		t.Errorf("T2 first got %q, not only its own", got)
	}
	if got := firstTopic("adminB"); got != "Für B" {
		t.Errorf("school B's admin first got %q", got)
	}
	// School A's admin receives both teachers' lessons, never school B's; the feed may batch the two into one message.
	if got := firstTopic("adminA"); got != "Für T1" && got != "Für T1,Für T2" {
		t.Errorf("school A's admin first got %q", got)
	}
}
