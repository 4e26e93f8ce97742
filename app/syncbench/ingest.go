package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"pult/internal/cputime"
	"pult/store"
	"pult/store/syncproto"
)

// ingestPushers is how many devices push at the same time.
const ingestPushers = 8

type ingestResult struct {
	changes, refused int
	devices          int
	elapsed          time.Duration
	ackP50, ackP99   time.Duration
	cpu              time.Duration // of the whole process (backend and devices), per change
	// storeRate is store.Ingest alone, the same batches one after another on a copy of the backend's store, and
	// storeCPU its CPU time per change.
	storeRate float64
	storeCPU  time.Duration
}

func (r ingestResult) rate() float64 { return float64(r.changes) / r.elapsed.Seconds() }

// ingest: every teacher's device comes online and pushes its outbox (the course's lessons and marks), in batches
// of store.MaxPushBatch, each waiting for its acknowledgement as the sync client does; ingestPushers devices at a
// time. The frames are encoded before the clock starts and the devices only glance at what the server sends them
// besides acknowledgements, so the figure is the backend's: from the first dial to the last acknowledgement.
func (b *bench) ingest(ctx context.Context) (ingestResult, error) {
	type job struct {
		s      session
		frames [][]byte
		size   []int
	}
	jobs := make([]job, len(b.teachers))
	total := 0
	for i, t := range b.teachers {
		s, err := b.login(t)
		if err != nil {
			return ingestResult{}, err
		}
		jobs[i].s = s
		list := b.pushes[i]
		for n := 0; len(list) > 0; n++ {
			k := min(len(list), store.MaxPushBatch)
			raw, err := json.Marshal(syncproto.Message{Type: syncproto.TypePush, Batch: strconv.Itoa(n + 1), Changes: list[:k]})
			if err != nil {
				return ingestResult{}, err
			}
			jobs[i].frames, jobs[i].size = append(jobs[i].frames, raw), append(jobs[i].size, k)
			total += k
			list = list[k:]
		}
	}
	storeRate, storeCPU, err := b.ingestStore(ctx)
	if err != nil {
		return ingestResult{}, err
	}
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	var refused atomic.Int64
	var mu sync.Mutex
	var acks []time.Duration
	errs := make(chan error, ingestPushers)
	start, cpu0 := time.Now(), cputime.Process()
	for range ingestPushers {
		go func() {
			for j := range queue {
				ws, err := b.dial(ctx, j.s)
				if err != nil {
					errs <- err
					return
				}
				n, lat, err := pushAll(ctx, ws, j.frames, j.size)
				ws.Close(websocket.StatusNormalClosure, "")
				if err != nil {
					errs <- err
					return
				}
				refused.Add(int64(n))
				mu.Lock()
				acks = append(acks, lat...)
				mu.Unlock()
			}
			errs <- nil
		}()
	}
	for range ingestPushers {
		if err := <-errs; err != nil {
			return ingestResult{}, err
		}
	}
	r := ingestResult{changes: total, refused: int(refused.Load()), devices: len(jobs), elapsed: time.Since(start),
		cpu: (cputime.Process() - cpu0) / time.Duration(total), storeRate: storeRate, storeCPU: storeCPU}
	r.ackP50, r.ackP99 = percentile(acks, 50), percentile(acks, 99)
	if r.refused > 0 {
		return r, fmt.Errorf("ingest: the server refused %d of %d changes", r.refused, total)
	}
	return r, nil
}

// pushAll says hello (only live changes) and pushes the frames one after another, each after the previous one's
// acknowledgement; it returns how many changes were refused and each push's round trip.
func pushAll(ctx context.Context, ws *websocket.Conn, frames [][]byte, size []int) (int, []time.Duration, error) {
	if err := writeJSON(ctx, ws, syncproto.Message{Type: syncproto.TypeHello, Version: syncproto.Version, Cursor: syncproto.CursorLive,
		Inventory: &syncproto.Inventory{Name: "bench", OS: "linux", Model: "bench", AppVersion: "bench"}}); err != nil {
		return 0, nil, err
	}
	refused := 0
	var lat []time.Duration
	ackPrefix := []byte(`{"type":"ack"`)
	for i, f := range frames {
		sent := time.Now()
		if err := ws.Write(ctx, websocket.MessageText, f); err != nil {
			return 0, nil, err
		}
		for {
			_, frame, err := ws.Read(ctx)
			if err != nil {
				return 0, nil, err
			}
			if !bytes.HasPrefix(frame, ackPrefix) {
				continue // the welcome, and the device's own changes coming back as live changes
			}
			var m syncproto.Message
			if err := json.Unmarshal(frame, &m); err != nil {
				return 0, nil, err
			}
			if len(m.Results) != size[i] {
				return 0, nil, fmt.Errorf("ack of %d results for %d changes", len(m.Results), size[i])
			}
			for _, r := range m.Results {
				if r.Error != nil {
					refused++
				}
			}
			break
		}
		lat = append(lat, time.Since(sent))
	}
	return refused, lat, nil
}

// ingestStore runs the same pushes through store.Ingest directly, one batch after another, on a copy of the
// backend's store as it is before the devices push: the store's part of ingest, without websocket or JSON.
func (b *bench) ingestStore(ctx context.Context) (float64, time.Duration, error) {
	copyPath := filepath.Join(b.dir, "ingest-copy.db")
	raw, err := sql.Open("sqlite", filepath.Join(b.dir, "backend.db"))
	if err != nil {
		return 0, 0, err
	}
	_, err = raw.ExecContext(ctx, `VACUUM INTO ?`, copyPath)
	raw.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("copy the store: %w", err)
	}
	db, err := store.Open(ctx, copyPath, b.key)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(copyPath)
	defer db.Close()
	n := 0
	start, cpu0 := time.Now(), cputime.Process()
	for i, list := range b.pushes {
		for len(list) > 0 {
			k := min(len(list), store.MaxPushBatch)
			res, err := db.Ingest(ctx, b.teachers[i].Actor(), list[:k])
			if err != nil {
				return 0, 0, err
			}
			for _, r := range res {
				if r.Error != nil {
					return 0, 0, fmt.Errorf("store ingest refused %s: %s", r.ID, r.Error.Message)
				}
			}
			n += k
			list = list[k:]
		}
	}
	return float64(n) / time.Since(start).Seconds(), (cputime.Process() - cpu0) / time.Duration(n), nil
}
