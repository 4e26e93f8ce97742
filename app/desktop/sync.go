package desktop

import (
	"context"
	"errors"
	"net/http"

	"pult/app/syncclient"
	"pult/store"
	"pult/store/syncproto"
)

// startSyncLocked starts the sync client when the app is unlocked and logged in at the backend; the caller holds
// a.mu. Local changes wake it, and every change of the replica tells the UI to reload what it shows.
func (a *App) startSyncLocked() {
	if a.sync != nil || a.db == nil || a.client == nil || !a.client.LoggedIn() || a.st.User == nil {
		return
	}
	client, deviceID, token, sign := a.client, a.st.DeviceID, a.tokenHash(), a.signer()
	run := &syncRun{}
	run.client = syncclient.New(syncclient.Config{
		DB: a.db, SchoolID: a.st.User.SchoolID, Log: a.log,
		Inventory: syncproto.Inventory{Name: a.deviceInfo().Name, OS: a.cfg.Machine.Platform, Model: a.cfg.Machine.Hostname, AppVersion: a.cfg.Version},
		Dial:      client.DialSync,
		Proof: func(ctx context.Context) (*syncproto.Proof, error) {
			return client.SyncProof(ctx, deviceID, token, sign)
		},
		Control: func(m syncproto.Message) error { return a.syncControl(run, m) },
		Stop: func(code string) bool {
			return code == string(store.CodeUnauthenticated) || code == string(store.CodeDeviceProofInvalid)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	a.sync = run
	a.db.OnChange(func(string) {
		run.client.Kick()
		a.changed()
	})
	go func() {
		defer cancel()
		err := run.client.Run(ctx)
		var se *syncclient.ServerError
		if errors.As(err, &se) {
			a.log.Info("sync stopped", "code", se.Code)
			// The backend session ended (timeout, or the admin ended it): sync waits for the teacher to log in
			// again, which the UI offers.
			a.mu.Lock()
			if a.sync == run && se.Code == string(store.CodeUnauthenticated) {
				a.sync = nil
				a.sessionEnded(context.Background())
			}
			a.mu.Unlock()
			a.changed()
		}
	}()
}

// stopSyncLocked stops the sync client without waiting for it: it may be waiting for a.mu itself, and whatever
// it still does on the store fails once the store is closed.
func (a *App) stopSyncLocked() {
	if a.sync != nil {
		a.sync.cancel()
		a.sync = nil
	}
}

// syncControl acts on the server's control messages, on the sync client's goroutine.
func (a *App) syncControl(run *syncRun, m syncproto.Message) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sync != run {
		return errors.New("sync stopped")
	}
	switch m.Type {
	case syncproto.TypeWipe:
		// The client still has to confirm the wipe on its connection, so it keeps running until then.
		a.sync = nil
		return a.wipeLocked("blocked by the school")
	case syncproto.TypeLock:
		return a.lockLocked()
	case syncproto.TypePolicy:
		a.applyPolicy(m.Policy)
		return a.save()
	}
	return nil
}

// syncStatus is the sync state for the UI, while unlocked.
func (a *App) syncStatus() *syncclient.Status {
	if a.sync == nil {
		return nil
	}
	s := a.sync.client.Status()
	return &s
}

// Watch calls fn whenever the local data changed (sync brought something, or the app was wiped or locked), until
// the returned function is called. The Wails shim turns it into an event for the window.
func (a *App) Watch(fn func()) (stop func()) {
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	if a.watchers == nil {
		a.watchers = map[int]func(){}
	}
	a.watchSeq++
	id := a.watchSeq
	a.watchers[id] = fn
	return func() {
		a.watchMu.Lock()
		delete(a.watchers, id)
		a.watchMu.Unlock()
	}
}

func (a *App) changed() {
	a.watchMu.Lock()
	fns := make([]func(), 0, len(a.watchers))
	for _, fn := range a.watchers {
		fns = append(fns, fn)
	}
	a.watchMu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// events streams a "changed" event to the UI whenever the local data changed (Server-Sent Events), for the UI
// outside a Wails window (the browser tests' devserver); inside the window, Wails events carry the same.
func (a *App) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	wake := make(chan struct{}, 1)
	stop := a.Watch(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return // this writer cannot stream
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-wake:
			if _, err := w.Write([]byte("event: changed\ndata: {}\n\n")); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
