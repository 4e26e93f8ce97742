package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/coder/websocket"

	"pult/app/syncclient"
	"pult/internal/cputime"
	"pult/store"
	"pult/store/syncproto"
)

type initialResult struct {
	records int
	elapsed time.Duration
	cpu     time.Duration // of the whole process (backend and device), per record
	// The two halves on their own, one after the other: the backend reading, opening and encoding the batches,
	// and a fresh replica decoding and storing them; and the CPU time of each per record.
	serverRate, clientRate float64
	serverCPU, clientCPU   time.Duration
}

func (r initialResult) rate() float64 { return float64(r.records) / r.elapsed.Seconds() }

// initialSync: a fresh desktop replica of the admin (who may see every record) runs the real sync client until it
// holds everything up to the backend's head; rows/s from the dial to the last batch stored.
func (b *bench) initialSync(ctx context.Context) (initialResult, error) {
	head, err := b.db.Head(ctx, b.school.ID)
	if err != nil {
		return initialResult{}, err
	}
	s, err := b.login(b.admin)
	if err != nil {
		return initialResult{}, err
	}
	dev, err := b.replica(ctx, "fresh.db")
	if err != nil {
		return initialResult{}, err
	}
	defer dev.Close()
	client := syncclient.New(syncclient.Config{
		DB: dev, SchoolID: b.school.ID, Log: slog.New(slog.DiscardHandler),
		Inventory: syncproto.Inventory{Name: "fresh", OS: "linux", Model: "bench", AppVersion: "bench"},
		Dial: func(ctx context.Context) (*websocket.Conn, error) {
			ws, _, err := websocket.Dial(ctx, b.wsURL, s.dialOptions())
			return ws, err
		},
	})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start, cpu0 := time.Now(), cputime.Process()
	go func() { done <- client.Run(runCtx) }()
	for {
		if c, err := dev.Cursor(ctx, b.school.ID); err == nil && c >= head {
			break
		}
		select {
		case err := <-done:
			cancel()
			return initialResult{}, fmt.Errorf("sync client stopped: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	r := initialResult{elapsed: time.Since(start), cpu: cputime.Process() - cpu0}
	cancel()
	<-done
	if r.records, err = countRecords(ctx, filepath.Join(b.dir, "fresh.db")); err != nil {
		return r, err
	}
	if r.records != b.shape.records() {
		return r, fmt.Errorf("initial sync: the device holds %d records, the school %d", r.records, b.shape.records())
	}
	r.cpu /= time.Duration(r.records)

	// The halves: what the backend does per batch (Changes and encoding), and what the client does (decoding and
	// ApplyPulled into another fresh replica).
	var frames [][]byte
	t, cpu0 := time.Now(), cputime.Process()
	for cursor := int64(0); ; {
		page, err := b.db.Changes(ctx, b.admin.Actor(), cursor, syncproto.BatchSize)
		if err != nil {
			return r, err
		}
		if len(page) == 0 {
			break
		}
		cursor = page[len(page)-1].Seq
		raw, err := json.Marshal(syncproto.Message{Type: syncproto.TypeChanges, Changes: page, Cursor: cursor, More: len(page) == syncproto.BatchSize})
		if err != nil {
			return r, err
		}
		frames = append(frames, raw)
	}
	r.serverRate, r.serverCPU = float64(r.records)/time.Since(t).Seconds(), (cputime.Process()-cpu0)/time.Duration(r.records)
	other, err := b.replica(ctx, "fresh2.db")
	if err != nil {
		return r, err
	}
	defer other.Close()
	t, cpu0 = time.Now(), cputime.Process()
	for _, f := range frames {
		var m syncproto.Message
		if err := json.Unmarshal(f, &m); err != nil {
			return r, err
		}
		if err := other.ApplyPulled(ctx, b.school.ID, m.Changes, m.Cursor); err != nil {
			return r, err
		}
	}
	r.clientRate, r.clientCPU = float64(r.records)/time.Since(t).Seconds(), (cputime.Process()-cpu0)/time.Duration(r.records)
	return r, nil
}

// replica is a fresh desktop store of the admin's, as the desktop app keeps it.
func (b *bench) replica(ctx context.Context, name string) (*store.DB, error) {
	key, _ := store.NewKey()
	dev, err := store.Open(ctx, filepath.Join(b.dir, name), key)
	if err != nil {
		return nil, err
	}
	if err := dev.AdoptSchool(ctx, b.school); err != nil {
		dev.Close()
		return nil, err
	}
	if err := dev.AdoptUser(ctx, b.admin); err != nil {
		dev.Close()
		return nil, err
	}
	return dev, nil
}

// countRecords counts the rows of a store file's records table (sealed: no key is needed to count them).
func countRecords(ctx context.Context, path string) (int, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records`).Scan(&n)
	return n, err
}
