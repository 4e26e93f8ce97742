// Package syncproto is the sync protocol's wire format (docs/sync-protocol.md): the messages a device and the
// server exchange over the websocket at /api/v1/sync, shared by both ends.
package syncproto

import (
	"encoding/json"
	"fmt"

	"pult/store"
)

// Version is the protocol version this build speaks; a hello with another is refused.
const Version = 1

// Path is where the server accepts sync connections.
const Path = "/api/v1/sync"

// Limits of a connection.
const (
	// MaxFrame bounds one message: a push of MaxPushBatch records of a few KiB each.
	MaxFrame = 4 << 20
	// BatchSize is how many changes the server sends in one changes message.
	BatchSize = 500
)

// Message types. A device sends hello first, then push and wiped; the server answers hello with welcome, then
// sends changes, ack, and the control messages wipe, lock and policy; error precedes a close.
const (
	TypeHello   = "hello"
	TypePush    = "push"
	TypeWiped   = "wiped"
	TypeWelcome = "welcome"
	TypeChanges = "changes"
	TypeAck     = "ack"
	TypeWipe    = "wipe"
	TypeLock    = "lock"
	TypePolicy  = "policy"
	TypeError   = "error"
)

// CursorLive in a hello asks only for what changes from now on (a browser that loads its data over HTTP).
const CursorLive = -1

// Message is one frame, a JSON object; Type says which of the other members it uses.
type Message struct {
	Type string `json:"type"`

	// hello: the protocol version, the cursor (the server's sequence number the device has everything up to),
	// the device's proof (desktop devices) and its inventory. welcome: the version.
	Version   int        `json:"version,omitempty"`
	Cursor    int64      `json:"cursor,omitempty"`
	Proof     *Proof     `json:"proof,omitempty"`
	Inventory *Inventory `json:"inventory,omitempty"`

	// push: a batch of the device's changes under an id of the device's choosing. changes: a batch of the
	// server's changes, Cursor being the sequence number to continue after and More whether the catch-up goes on.
	Batch   string         `json:"batch,omitempty"`
	Changes []store.Change `json:"changes,omitempty"`
	More    bool           `json:"more,omitempty"`

	// ack: the answer to a push, one result per change.
	Results []store.PushResult `json:"results,omitempty"`

	// welcome and policy: the school's device policy.
	Policy *store.DevicePolicy `json:"policy,omitempty"`

	// error: why the server closes the connection.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Proof is a desktop device's signature of a fresh challenge for the purpose "sync" (store.DeviceMessage).
type Proof struct {
	DeviceID  string `json:"deviceId"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"`
	TokenHash string `json:"tokenHash"`
}

// Inventory describes a device for the admin's device list; it holds no personal data.
type Inventory struct {
	Name       string `json:"name"`
	OS         string `json:"os"`
	Model      string `json:"model"`
	AppVersion string `json:"appVersion"`
}

// DecodeDevice reads one frame a device sent and checks that it is a message a device may send, well formed.
func DecodeDevice(frame []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(frame, &m); err != nil {
		return Message{}, fmt.Errorf("not a JSON message: %w", err)
	}
	switch m.Type {
	case TypeHello:
		if m.Version != Version {
			return Message{}, fmt.Errorf("protocol version %d is not %d", m.Version, Version)
		}
		if m.Cursor < CursorLive {
			return Message{}, fmt.Errorf("cursor %d is not valid", m.Cursor)
		}
		if i := m.Inventory; i != nil && (len(i.Name) > 100 || len(i.OS) > 100 || len(i.Model) > 100 || len(i.AppVersion) > 40) {
			return Message{}, fmt.Errorf("inventory entries are too long")
		}
	case TypePush:
		if m.Batch == "" || len(m.Batch) > 64 {
			return Message{}, fmt.Errorf("a push needs a batch id of at most 64 characters")
		}
		if len(m.Changes) == 0 || len(m.Changes) > store.MaxPushBatch {
			return Message{}, fmt.Errorf("a push carries 1 to %d changes", store.MaxPushBatch)
		}
	case TypeWiped:
	default:
		return Message{}, fmt.Errorf("unknown message type %q", m.Type)
	}
	return m, nil
}
