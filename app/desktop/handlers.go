package desktop

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"pult/app/identity"
	"pult/app/pin"
	"pult/app/remote"
	"pult/app/syncclient"
	"pult/store"
	"pult/store/schoolapi"
)

type deviceBody struct {
	Phase              string `json:"phase"`
	Language           string `json:"language"`
	Server             string `json:"server"`
	SecurityCode       string `json:"securityCode,omitempty"`
	SchoolName         string `json:"schoolName,omitempty"`
	Online             bool   `json:"online"`
	PINAttemptsLeft    int    `json:"pinAttemptsLeft"`
	IdleTimeoutSeconds int    `json:"idleTimeoutSeconds"`
	PINMinLength       int    `json:"pinMinLength"`
	// Sync is the state of sync while the app is unlocked and connected to its school.
	Sync *syncclient.Status `json:"sync,omitempty"`
	// NeedsLogin: the backend session ended; sync resumes after the teacher logs in again.
	NeedsLogin bool `json:"needsLogin,omitempty"`
}

type envBody struct {
	Host          string      `json:"host"`
	Version       string      `json:"version"`
	SetupRequired bool        `json:"setupRequired"`
	User          *remote.Me  `json:"user"`
	Device        *deviceBody `json:"device"`
}

// deviceLocked describes the device; the caller holds a.mu (either way).
func (a *App) deviceLocked() *deviceBody {
	d := &deviceBody{
		Phase: a.phase(), Language: a.st.Language, Server: a.st.Server, Online: a.online.Load(),
		PINAttemptsLeft: max(0, a.maxPINAttempts()-a.st.WrongPINs), IdleTimeoutSeconds: int(a.idleTimeout().Seconds()),
		PINMinLength: pin.MinLength,
	}
	if d.Phase == PhasePending {
		d.SecurityCode = a.st.SecurityCode
	}
	if a.st.User != nil {
		d.SchoolName = a.st.User.SchoolName
	}
	if d.Sync = a.syncStatus(); d.Sync != nil && d.Sync.Online {
		d.Online = true
	}
	d.NeedsLogin = a.needsLogin && d.Phase == PhaseReady
	return d
}

func (a *App) writeDevice(w http.ResponseWriter) {
	schoolapi.WriteJSON(w, http.StatusOK, a.deviceLocked())
}

func (a *App) env(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	body := envBody{Host: "desktop", Version: a.cfg.Version, Device: a.deviceLocked()}
	if a.db != nil {
		body.User = a.st.User
	}
	schoolapi.WriteJSON(w, http.StatusOK, body)
}

// inPhase refuses a request made in another phase than the ones given.
func (a *App) inPhase(phases ...string) error {
	p := a.phase()
	for _, want := range phases {
		if p == want {
			return nil
		}
	}
	return store.Errorf(schoolapi.CodeWrongPhase, "not possible now (the app is at %s)", p)
}

// handle runs a device route under the app's lock and answers with the device, or with the route's error.
func (a *App) handle(w http.ResponseWriter, r *http.Request, in any, fn func(ctx context.Context) error) {
	if in != nil {
		if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, in); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := fn(r.Context()); err != nil {
		schoolapi.WriteErrorWith(w, r, err, a.errorExtra(err))
		return
	}
	a.writeDevice(w)
}

// errorExtra adds what the UI needs beside an error: the attempts left after a wrong PIN.
func (a *App) errorExtra(err error) map[string]any {
	if store.ErrorCode(err) == schoolapi.CodeWrongPIN {
		return map[string]any{"attemptsLeft": max(0, a.maxPINAttempts()-a.st.WrongPINs)}
	}
	return nil
}

type languageInput struct {
	Language string `json:"language"`
}

func (a *App) setLanguage(w http.ResponseWriter, r *http.Request) {
	var in languageInput
	a.handle(w, r, &in, func(ctx context.Context) error {
		if in.Language != "de" && in.Language != "en" {
			return &store.Error{Code: store.CodeInvalid, Message: "language must be de or en", Fields: map[string]string{"language": store.FieldUnknownValue}}
		}
		a.st.Language = in.Language
		return a.save()
	})
}

type enrollInput struct {
	Link        string `json:"link"`
	Server      string `json:"server"`
	LicenseCode string `json:"licenseCode"`
}

// ParseLink reads the content of a license QR code: pult://enroll?server=…&code=…&fp=….
func ParseLink(link string) (server, code, fingerprint string, err error) {
	u, perr := url.Parse(strings.TrimSpace(link))
	if perr != nil || u.Scheme != "pult" || u.Host != "enroll" {
		return "", "", "", &store.Error{Code: store.CodeInvalid, Message: "this is not a Pult license code", Fields: map[string]string{"link": store.FieldInvalid}}
	}
	q := u.Query()
	server, code, fingerprint = q.Get("server"), q.Get("code"), q.Get("fp")
	if server == "" || code == "" {
		return "", "", "", &store.Error{Code: store.CodeInvalid, Message: "the license code lacks its server or code", Fields: map[string]string{"link": store.FieldInvalid}}
	}
	return server, code, fingerprint, nil
}

// enroll registers the device with a license code and waits for the admin's approval (LE3).
func (a *App) enroll(w http.ResponseWriter, r *http.Request) {
	var in enrollInput
	a.handle(w, r, &in, func(ctx context.Context) error {
		if err := a.inPhase(PhaseConnect); err != nil {
			return err
		}
		server, code, fp := in.Server, in.LicenseCode, ""
		if in.Link != "" {
			var err error
			if server, code, fp, err = ParseLink(in.Link); err != nil {
				return err
			}
		}
		f := store.FieldErrors{}
		if strings.TrimSpace(server) == "" {
			f.Add("server", store.FieldRequired)
		}
		if strings.TrimSpace(code) == "" {
			f.Add("licenseCode", store.FieldRequired)
		}
		if err := f.Err("enrollment"); err != nil {
			return err
		}
		client, err := remote.New(server, fp)
		if err != nil {
			return err
		}
		seed, pub := identity.NewKey()
		e, err := client.Enroll(ctx, code, pub, a.tokenHash(), a.deviceInfo())
		if err != nil {
			return a.contact(ctx, err)
		}
		a.reached()
		a.client = client
		a.st.Phase, a.st.Server, a.st.Fingerprint, a.st.DeviceID, a.st.Seed, a.st.SecurityCode =
			PhasePending, client.Server(), fp, e.DeviceID, seed, e.SecurityCode
		return a.save()
	})
}

type enrollLoginInput struct {
	Server   string `json:"server"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// enrollLogin registers the device by logging in with username and password: trusted at once in learning mode,
// else pending like a license enrollment.
func (a *App) enrollLogin(w http.ResponseWriter, r *http.Request) {
	var in enrollLoginInput
	a.handle(w, r, &in, func(ctx context.Context) error {
		if err := a.inPhase(PhaseConnect); err != nil {
			return err
		}
		client, err := remote.New(in.Server, "")
		if err != nil {
			return err
		}
		seed, pub := identity.NewKey()
		deviceID, err := client.Register(ctx, pub, a.tokenHash())
		if err != nil {
			return a.contact(ctx, err)
		}
		a.reached()
		a.client, a.st.Server, a.st.DeviceID, a.st.Seed = client, client.Server(), deviceID, seed
		me, err := client.Login(ctx, in.Username, in.Password, deviceID, a.tokenHash(), a.deviceInfo(), a.signer())
		switch {
		case store.ErrorCode(err) == store.CodeDevicePending:
			a.st.Phase, a.st.SecurityCode = PhasePending, remote.Extra(err, "securityCode")
			return a.save()
		case err != nil:
			a.client, a.st = nil, state{Language: a.st.Language}
			return err
		}
		a.st.Phase, a.st.User, a.st.Session = PhasePIN, &me, a.client.Session()
		return a.save()
	})
}

// status asks the backend, while the device waits, whether the admin approved it; in use, it checks in with
// the backend every checkInEvery, so a blocked device wipes itself and changes arrive.
func (a *App) status(w http.ResponseWriter, r *http.Request) {
	a.handle(w, r, nil, func(ctx context.Context) error {
		if s := a.syncStatus(); s != nil && s.Online {
			a.reached()
		}
		if a.phase() == PhaseReady && a.cfg.Now().Sub(a.lastCheck) >= checkInEvery {
			return a.checkInLocked(ctx)
		}
		if a.phase() != PhasePending || a.client == nil {
			return nil
		}
		st, err := a.client.DeviceStatus(ctx, a.st.DeviceID, a.tokenHash(), a.signer())
		if err != nil {
			if err := a.contact(ctx, err); store.ErrorCode(err) != schoolapi.CodeNeedsConnection {
				return err
			}
			return nil // still waiting; the UI shows the device as offline
		}
		a.reached()
		switch st.State {
		case "trusted":
			a.st.Phase, a.st.SecurityCode = PhaseLogin, ""
			a.applyPolicy(st.Policy)
			return a.save()
		case "blocked":
			return a.remoteWipe(ctx)
		case "rejected":
			return a.wipeLocked("the school rejected this device")
		}
		return nil
	})
}

func (a *App) cancel(w http.ResponseWriter, r *http.Request) {
	a.handle(w, r, nil, func(ctx context.Context) error {
		if err := a.inPhase(PhaseConnect, PhasePending, PhaseLogin, PhasePIN); err != nil {
			return err
		}
		return a.wipeLocked("enrollment cancelled")
	})
}

type loginInput struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	RecoveryCode string `json:"recoveryCode"`
}

type userBody struct {
	User *remote.Me `json:"user"`
}

// login logs the device's teacher in at the backend, with the device proof: after enrollment, and later again
// whenever an online function needs a session.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	var in loginInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	me, err := a.loginLocked(r.Context(), in)
	if err != nil {
		extra := map[string]any{}
		if code := remote.Extra(err, "securityCode"); code != "" {
			extra["securityCode"] = code
		}
		schoolapi.WriteErrorWith(w, r, err, extra)
		return
	}
	schoolapi.WriteJSON(w, http.StatusOK, userBody{User: me})
}

func (a *App) loginLocked(ctx context.Context, in loginInput) (*remote.Me, error) {
	if err := a.inPhase(PhaseLogin, PhaseReady); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Username) == "" || in.Password == "" {
		f := store.FieldErrors{}
		if strings.TrimSpace(in.Username) == "" {
			f.Add("username", store.FieldRequired)
		}
		if in.Password == "" {
			f.Add("password", store.FieldRequired)
		}
		return nil, f.Err("login")
	}
	me, err := a.client.Login(ctx, in.Username, in.Password, a.st.DeviceID, a.tokenHash(), a.deviceInfo(), a.signer())
	if err != nil {
		return nil, a.contact(ctx, err)
	}
	a.reached()
	if a.st.User != nil && a.st.User.ID != me.ID {
		// The local data belongs to the device's teacher; another account must use its own device or a browser.
		a.client.Logout(ctx)
		return nil, store.Errorf(store.CodeForbidden, "this device belongs to another account")
	}
	a.st.User, a.st.Session = &me, a.client.Session()
	a.needsLogin = false
	if a.st.Phase == PhaseLogin {
		a.st.Phase = PhasePIN
	}
	if err := a.save(); err != nil {
		return nil, err
	}
	if a.db != nil {
		a.pullLocked(ctx)
	}
	return &me, nil
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		a.client.Logout(r.Context())
	}
	if a.st.Session != nil {
		a.st.Session = nil
		a.save()
	}
	a.lockLocked()
	w.WriteHeader(http.StatusNoContent)
}

type pinInput struct {
	PIN    string `json:"pin"`
	Repeat string `json:"repeat"`
}

// setPIN sets the first PIN: a fresh data key, wrapped under it, opens the new local store, which then receives
// the teacher's data.
func (a *App) setPIN(w http.ResponseWriter, r *http.Request) {
	var in pinInput
	a.handle(w, r, &in, func(ctx context.Context) error {
		if err := a.inPhase(PhasePIN); err != nil {
			return err
		}
		if err := pin.Check(in.PIN, in.Repeat); err != nil {
			return err
		}
		key, err := store.NewKey()
		if err != nil {
			return err
		}
		wrapped, err := pin.Wrap(key, in.PIN)
		if err != nil {
			return err
		}
		if err := a.openStore(ctx, key); err != nil {
			return err
		}
		a.st.PIN, a.st.Phase, a.st.WrongPINs = &wrapped, PhaseReady, 0
		if err := a.save(); err != nil {
			a.lockLocked()
			return err
		}
		a.lastActive = a.cfg.Now()
		a.pullLocked(ctx)
		return nil
	})
}

// openStore opens the local store under the data key and makes sure it holds the teacher's school and account.
func (a *App) openStore(ctx context.Context, key store.Key) error {
	db, err := store.Open(ctx, a.prof.Path("pult.db"), key, store.EraseDeleted())
	if err != nil {
		return err
	}
	u := a.st.User
	if err := db.AdoptSchool(ctx, store.School{ID: u.SchoolID, Name: u.SchoolName}); err != nil {
		db.Close()
		return err
	}
	if err := db.AdoptUser(ctx, store.User{ID: u.ID, SchoolID: u.SchoolID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role}); err != nil {
		db.Close()
		return err
	}
	a.db = db
	a.local = schoolapi.NewRoutes()
	schoolapi.Register(a.local, db)
	return nil
}

// pullLocked fetches what changed at the backend since the cursor into the local store, so the UI shows it at
// once after the PIN, and then keeps the replica in sync in the background. Offline it does nothing; the local
// data stays as it is and the sync client keeps trying.
func (a *App) pullLocked(ctx context.Context) {
	if a.client == nil || a.db == nil {
		return
	}
	if !a.client.LoggedIn() {
		a.sessionEnded(ctx)
		return
	}
	defer a.startSyncLocked()
	schoolID := a.st.User.SchoolID
	for {
		cursor, err := a.db.Cursor(ctx, schoolID)
		if err != nil {
			a.log.Error("pull: read cursor", "err", err)
			return
		}
		changes, err := a.client.Changes(ctx, cursor)
		if err != nil {
			a.contact(ctx, err)
			a.log.Info("pull stopped", "code", store.ErrorCode(err))
			if store.ErrorCode(err) == store.CodeUnauthenticated {
				a.sessionEnded(ctx)
			}
			return
		}
		if len(changes) == 0 {
			return
		}
		if err := a.db.ApplyPulled(ctx, schoolID, changes, changes[len(changes)-1].Seq); err != nil {
			a.log.Error("pull: apply changes", "err", err)
			return
		}
	}
}

// tryPIN opens the data key with a PIN. Every try is counted in the vault before Argon2id runs, so pulling the
// plug during a guess does not reset the count; the last allowed wrong PIN wipes the device (LE5).
func (a *App) tryPIN(p string) (store.Key, error) {
	if a.st.PIN == nil {
		return store.Key{}, store.Errorf(schoolapi.CodeWrongPhase, "no PIN is set")
	}
	a.st.WrongPINs++
	if err := a.save(); err != nil {
		return store.Key{}, err
	}
	key, err := pin.Unwrap(*a.st.PIN, p)
	if errors.Is(err, pin.ErrWrongPIN) {
		if a.st.WrongPINs >= a.maxPINAttempts() {
			if err := a.wipeLocked("too many wrong PINs"); err != nil {
				return store.Key{}, err
			}
			return store.Key{}, store.Errorf(schoolapi.CodeWiped, "too many wrong PINs; Pult erased its data on this device")
		}
		return store.Key{}, store.Errorf(schoolapi.CodeWrongPIN, "wrong PIN")
	}
	if err != nil {
		return store.Key{}, err
	}
	a.st.WrongPINs = 0
	return key, a.save()
}

type unlockInput struct {
	PIN string `json:"pin"`
}

func (a *App) unlock(w http.ResponseWriter, r *http.Request) {
	var in unlockInput
	a.handle(w, r, &in, func(ctx context.Context) error {
		if err := a.inPhase(PhaseLocked); err != nil {
			return err
		}
		if in.PIN == "" {
			return &store.Error{Code: store.CodeInvalid, Message: "enter the PIN", Fields: map[string]string{"pin": store.FieldRequired}}
		}
		if a.offlineFor() > a.wipeAfter() {
			if err := a.wipeLocked("offline for longer than the school allows"); err != nil {
				return err
			}
			return store.Errorf(schoolapi.CodeWiped, "Pult did not reach the school's server for too long and erased its data")
		}
		key, err := a.tryPIN(in.PIN)
		if err != nil {
			return err
		}
		if err := a.openStore(ctx, key); err != nil {
			return err
		}
		a.lastActive = a.cfg.Now()
		if err := a.checkInLocked(ctx); err != nil {
			return err
		}
		if a.offlineFor() > a.offlineGrace() {
			a.lockLocked()
			return store.Errorf(schoolapi.CodeOfflineTooLong, "Pult has not reached the school's server for %d days; it unlocks once online", int(a.offlineFor().Hours()/24))
		}
		return nil
	})
}

// checkInLocked tells the backend the device is alive when it can: a blocked device learns it here and wipes
// itself (the answer is then 410 wiped); a trusted one takes the school's policy and fetches what changed.
// Offline, nothing happens. The caller holds a.mu.
func (a *App) checkInLocked(ctx context.Context) error {
	if a.client == nil {
		return nil
	}
	a.lastCheck = a.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, contactTimeout)
	defer cancel()
	st, err := a.client.DeviceStatus(ctx, a.st.DeviceID, a.tokenHash(), a.signer())
	if err != nil {
		if err := a.contact(ctx, err); store.ErrorCode(err) == schoolapi.CodeWiped {
			return err
		}
		return nil
	}
	a.reached()
	if st.State == "blocked" {
		return a.remoteWipe(ctx)
	}
	if st.Policy != nil {
		a.applyPolicy(st.Policy)
		if err := a.save(); err != nil {
			return err
		}
	}
	a.pullLocked(ctx)
	return nil
}

func (a *App) lock(w http.ResponseWriter, r *http.Request) {
	a.handle(w, r, nil, func(ctx context.Context) error {
		if err := a.inPhase(PhaseReady, PhaseLocked); err != nil {
			return err
		}
		return a.lockLocked()
	})
}

type changePINInput struct {
	Current string `json:"current"`
	PIN     string `json:"pin"`
	Repeat  string `json:"repeat"`
}

// changePIN wraps the same data key under a new PIN; the data itself is not touched.
func (a *App) changePIN(w http.ResponseWriter, r *http.Request) {
	var in changePINInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	err := func() error {
		if err := a.inPhase(PhaseReady); err != nil {
			return err
		}
		if err := pin.Check(in.PIN, in.Repeat); err != nil {
			return err
		}
		key, err := a.tryPIN(in.Current)
		if err != nil {
			return err
		}
		wrapped, err := pin.Wrap(key, in.PIN)
		if err != nil {
			return err
		}
		a.st.PIN = &wrapped
		return a.save()
	}()
	if err != nil {
		schoolapi.WriteErrorWith(w, r, err, a.errorExtra(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// data answers the UI's other API calls: school data from the local store, the rest from the backend. Nothing
// is answered while the app is locked, and a request after the idle timeout locks it.
func (a *App) data(w http.ResponseWriter, r *http.Request) {
	if err := a.touch(); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}

	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.db == nil { // locked in between
		schoolapi.WriteError(w, r, store.Errorf(schoolapi.CodeLocked, "Pult is locked; enter the PIN"))
		return
	}
	if _, pattern := a.local.Mux.Handler(r); pattern != "" {
		u := a.st.User
		a.local.Mux.ServeHTTP(w, r.WithContext(schoolapi.WithActor(r.Context(), store.Actor{UserID: u.ID, SchoolID: u.SchoolID, Role: u.Role})))
		return
	}
	if a.client == nil {
		schoolapi.WriteError(w, r, store.Errorf(schoolapi.CodeNeedsConnection, "no school server is set up"))
		return
	}
	a.client.Forwarder(func(err error) { a.online.Store(err == nil) }).ServeHTTP(w, r)
}

// touch notes that the teacher uses the app, unless the idle timeout has passed since the last use: then the
// app locks and the answer is 423 locked.
func (a *App) touch() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.db != nil && a.cfg.Now().Sub(a.lastActive) > a.idleTimeout() {
		a.lockLocked()
		a.log.Info("locked after idle timeout")
	}
	if a.phase() != PhaseReady {
		return store.Errorf(schoolapi.CodeLocked, "Pult is locked; enter the PIN")
	}
	a.lastActive = a.cfg.Now()
	return nil
}

// activity keeps the app unlocked while the teacher types or reads without the UI asking for data.
func (a *App) activity(w http.ResponseWriter, r *http.Request) {
	if err := a.touch(); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
