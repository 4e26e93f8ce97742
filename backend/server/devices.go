package server

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"pult/store"
	"pult/store/schoolapi"
)

// deviceCookie holds a browser's device credential: "id.secret". It lives long (trust is per browser) and is
// HttpOnly, so page scripts never see it.
const (
	deviceCookie    = "pult_device"
	deviceCookieAge = 400 * 24 * time.Hour
)

// browserDevice returns the id of the browser's device credential, registering a new one (and setting its
// cookie) when the browser has none or a wrong one.
func (s *Server) browserDevice(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(deviceCookie); err == nil {
		if id, secret, ok := strings.Cut(c.Value, "."); ok {
			if err := s.db.BrowserDevice(r.Context(), id, secret); err == nil {
				return id, nil
			}
		}
	}
	if ok, wait := s.registrations.allow(s.clientIP(r)); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		return "", store.Errorf(store.CodeTooManyAttempts, "too many new devices from this address; try again later")
	}
	id, secret, err := s.db.CreateBrowserDevice(r.Context())
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: id + "." + secret, Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int(deviceCookieAge.Seconds())})
	return id, nil
}

// desktopProof is how the desktop app proves its device at login: its answer to a fresh challenge.
type desktopProof struct {
	ID        string `json:"id"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"` // base64 Ed25519 signature of store.LoginMessage
	TokenHash string `json:"tokenHash"` // hex SHA-256 of the hardware token
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	OSUser    string `json:"osUser"`
}

// loginDevice identifies the device of a login: a desktop by its proof, a browser by its credential cookie.
func (s *Server) loginDevice(w http.ResponseWriter, r *http.Request, username string, proof *desktopProof) (string, store.DeviceInfo, error) {
	info := store.DeviceInfo{LastIP: s.clientIP(r)}
	if proof == nil {
		info.Platform = platformOf(r.UserAgent())
		id, err := s.browserDevice(w, r)
		return id, info, err
	}
	sig, err1 := base64.StdEncoding.DecodeString(proof.Signature)
	token, err2 := hex.DecodeString(proof.TokenHash)
	if err1 != nil || err2 != nil {
		return "", info, store.Errorf(store.CodeDeviceProofInvalid, "device proof refused")
	}
	if err := s.db.VerifyDesktopProof(r.Context(), proof.ID, proof.Challenge, sig, token, username); err != nil {
		return "", info, err
	}
	info.Name, info.Platform, info.OSUser = proof.Name, proof.Platform, proof.OSUser
	return proof.ID, info, nil
}

// admitDevice is the device step of a login: it answers with the refusal and returns false when the device is
// not trusted for u. An admin's recovery code trusts an unknown device once.
func (s *Server) admitDevice(w http.ResponseWriter, r *http.Request, u store.User, username string, proof *desktopProof, recoveryCode string) (string, bool) {
	deviceID, info, err := s.loginDevice(w, r, username, proof)
	if err != nil {
		if store.ErrorCode(err) == store.CodeDeviceProofInvalid {
			s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, UserID: u.ID, Action: "login", Outcome: store.OutcomeRefused, Reason: "device_proof_invalid"})
		}
		schoolapi.WriteError(w, r, err)
		return "", false
	}
	out, err := s.db.AdmitDevice(r.Context(), u, deviceID, info)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return "", false
	}
	recovered := false
	if out.Reason == store.ReasonDevicePending && recoveryCode != "" {
		if recovered, err = s.db.RecoverDevice(r.Context(), u, deviceID, recoveryCode); err != nil {
			schoolapi.WriteError(w, r, err)
			return "", false
		}
		if recovered {
			out.Reason = ""
		} else {
			s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, UserID: u.ID, DeviceID: deviceID, Action: "login", Outcome: store.OutcomeRefused, Reason: "wrong_recovery_code"})
		}
	}
	switch out.Reason {
	case "":
		reason := "trusted_device"
		switch {
		case recovered:
			reason = "recovery_code"
		case out.Learned:
			reason = "learning_mode"
		case out.Location:
			reason = "location_license"
		}
		s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, ActorID: u.ID, UserID: u.ID, DeviceID: deviceID, Action: "login", Outcome: store.OutcomeAllowed, Reason: reason})
		return deviceID, true
	case store.ReasonDevicePending:
		s.refuseLogin(w, r, u, deviceID, out.Reason, store.Errorf(store.CodeDevicePending, "this device is not approved yet; ask your admin to approve it with the security code"),
			map[string]any{"securityCode": out.Device.Code})
	default:
		s.refuseLogin(w, r, u, deviceID, out.Reason, store.Errorf(store.CodeDeviceBlocked, "this device is blocked"), nil)
	}
	return "", false
}

// refuseLogin records why u could not log in and answers with err.
func (s *Server) refuseLogin(w http.ResponseWriter, r *http.Request, u store.User, deviceID, reason string, err error, extra map[string]any) {
	if ferr := s.db.SetLoginFailure(r.Context(), u.ID, reason); ferr != nil {
		schoolapi.WriteError(w, r, ferr)
		return
	}
	s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, UserID: u.ID, DeviceID: deviceID, Action: "login", Outcome: store.OutcomeRefused, Reason: reason})
	schoolapi.WriteErrorWith(w, r, err, extra)
}

// platformOf names the browser and OS of a User-Agent for the device list, without keeping the whole string.
func platformOf(ua string) string {
	browser := "Browser"
	for _, b := range []struct{ token, name string }{{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Mac OS X", "macOS"}, {"Android", "Android"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

func (s *Server) learningMode(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	lm, err := s.db.UserLearningMode(r.Context(), a, deviceOwner(r, a))
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, learningBody(lm, s.db.Now()))
	return nil
}

type learningModeBody struct {
	Active      bool      `json:"active"`
	Until       time.Time `json:"until,omitzero"`
	DevicesLeft *int      `json:"devicesLeft"`
}

func learningBody(lm store.LearningMode, now time.Time) learningModeBody {
	if !lm.Active(now) {
		return learningModeBody{}
	}
	return learningModeBody{Active: true, Until: lm.Until, DevicesLeft: lm.DevicesLeft}
}

func (s *Server) endLearningMode(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if r.PathValue("id") != "" {
		if err := a.RequireAdmin(); err != nil {
			return err
		}
	}
	owner := deviceOwner(r, a)
	if err := s.db.EndLearningMode(r.Context(), a, owner); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: owner, Action: "learning_mode_ended", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deviceOwner is the user whose devices a route names: the path's user, or the actor on /me routes.
func deviceOwner(r *http.Request, a store.Actor) string {
	if id := r.PathValue("id"); id != "" {
		return id
	}
	return a.UserID
}

// userDevices lists a user's devices (the actor's own on /me); `current` marks the one the request came from.
func (s *Server) userDevices(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	owner := deviceOwner(r, a)
	list, err := s.db.UserDevices(r.Context(), a, owner)
	if err != nil {
		return err
	}
	if sess, ok := sessionFrom(r.Context()); ok && owner == a.UserID {
		for i := range list {
			list[i].Current = list[i].DeviceID == sess.deviceID
		}
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

func (s *Server) schoolDevices(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.SchoolDevices(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

func (s *Server) updateDevice(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	var p store.DevicePatch
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &p); err != nil {
		return err
	}
	d, err := s.db.UpdateDevice(r.Context(), a, deviceOwner(r, a), r.PathValue("deviceId"), p)
	if err != nil {
		return err
	}
	action := "device_renamed"
	if p.State != nil {
		action = "device_" + string(d.State)
	}
	s.audit(r, store.AuditEntry{UserID: d.UserID, DeviceID: d.DeviceID, Action: action, Outcome: store.OutcomeDone})
	if p.State != nil && d.State == store.DeviceBlocked && d.Wipe != nil && d.Wipe.DoneAt.IsZero() {
		s.audit(r, store.AuditEntry{UserID: d.UserID, DeviceID: d.DeviceID, Action: "device_wipe_requested", Outcome: store.OutcomeDone})
		s.wipeDevice(a.SchoolID, d.DeviceID)
	}
	schoolapi.WriteJSON(w, http.StatusOK, d)
	return nil
}

// removeDevice forgets a device; removing the device the user sits at logs them out.
func (s *Server) removeDevice(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	owner, deviceID := deviceOwner(r, a), r.PathValue("deviceId")
	if err := s.db.RemoveDevice(r.Context(), a, owner, deviceID); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: owner, DeviceID: deviceID, Action: "device_removed", Outcome: store.OutcomeDone})
	if sess, ok := sessionFrom(r.Context()); ok && owner == a.UserID && sess.deviceID == deviceID {
		s.clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type approveInput struct {
	Code string `json:"code"`
}

// approvalCode reads an admin's approval by security code; an admin's guesses are rate-limited.
func (s *Server) approvalCode(w http.ResponseWriter, r *http.Request, a store.Actor) (string, error) {
	if err := a.RequireAdmin(); err != nil {
		return "", err
	}
	var in approveInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return "", err
	}
	if ok, wait := s.approvals.allow(a.UserID); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		return "", store.Errorf(store.CodeTooManyAttempts, "too many approval attempts; try again later")
	}
	return in.Code, nil
}

func (s *Server) approveDevice(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	code, err := s.approvalCode(w, r, a)
	if err != nil {
		return err
	}
	d, err := s.db.ApproveDevice(r.Context(), a, r.PathValue("id"), code)
	if err != nil {
		if store.ErrorCode(err) == store.CodeInvalid {
			s.audit(r, store.AuditEntry{UserID: r.PathValue("id"), Action: "device_approved", Outcome: store.OutcomeRefused, Reason: "wrong_code"})
		}
		return err
	}
	s.audit(r, store.AuditEntry{UserID: d.UserID, DeviceID: d.DeviceID, Action: "device_approved", Outcome: store.OutcomeDone})
	schoolapi.WriteJSON(w, http.StatusOK, d)
	return nil
}

type learningInput struct {
	UserIDs []string `json:"userIds"`
	Until   string   `json:"until"`
	Devices int      `json:"devices"`
}

// enableLearningMode turns learning mode on for selected users until the end of a day (in UTC) for 1–9 devices.
func (s *Server) enableLearningMode(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in learningInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, in.Until)
	if err != nil {
		return &store.Error{Code: store.CodeInvalid, Message: "until must be a date", Fields: map[string]string{"until": store.FieldInvalidDate}}
	}
	if err := s.db.EnableLearningMode(r.Context(), a, in.UserIDs, day.Add(24*time.Hour-time.Second), in.Devices); err != nil {
		return err
	}
	for _, id := range in.UserIDs {
		s.audit(r, store.AuditEntry{UserID: id, Action: "learning_mode_enabled", Outcome: store.OutcomeDone, Reason: fmt.Sprintf("until %s, %d devices", in.Until, in.Devices)})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) unlockUser(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := s.db.Unlock(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: r.PathValue("id"), Action: "user_unlocked", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type registerInput struct {
	PublicKey string `json:"publicKey"`
	TokenHash string `json:"tokenHash"`
}

type registerBody struct {
	DeviceID string `json:"deviceId"`
}

// registerDesktop records a desktop app's key pair and hardware token hash; registrations are rate-limited per
// address.
func (s *Server) registerDesktop(w http.ResponseWriter, r *http.Request) {
	var in registerInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if ok, wait := s.registrations.allow(s.clientIP(r)); !ok {
		tooManyAttempts(w, r, wait)
		return
	}
	pub, err1 := base64.StdEncoding.DecodeString(in.PublicKey)
	token, err2 := hex.DecodeString(in.TokenHash)
	f := store.FieldErrors{}
	if err1 != nil {
		f.Add("publicKey", store.FieldInvalid)
	}
	if err2 != nil {
		f.Add("tokenHash", store.FieldInvalid)
	}
	if err := f.Err("device"); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	id, err := s.db.RegisterDesktopDevice(r.Context(), pub, token)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	schoolapi.WriteJSON(w, http.StatusCreated, registerBody{DeviceID: id})
}

type challengeInput struct {
	DeviceID string `json:"deviceId"`
}

type challengeBody struct {
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (s *Server) desktopChallenge(w http.ResponseWriter, r *http.Request) {
	var in challengeInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if ok, wait := s.challenges.allow(in.DeviceID); !ok {
		tooManyAttempts(w, r, wait)
		return
	}
	c, exp, err := s.db.NewChallenge(r.Context(), in.DeviceID)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	schoolapi.WriteJSON(w, http.StatusOK, challengeBody{Challenge: c, ExpiresAt: exp})
}

type recoveryStatus struct {
	Remaining int       `json:"remaining"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

type recoveryCodesBody struct {
	Codes     []string  `json:"codes"`
	CreatedAt time.Time `json:"createdAt"`
}

func (s *Server) recoveryCodes(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	n, created, err := s.db.RecoveryCodesLeft(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, recoveryStatus{Remaining: n, CreatedAt: created})
	return nil
}

func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	codes, err := s.db.NewRecoveryCodes(r.Context(), a)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: a.UserID, Action: "recovery_codes_created", Outcome: store.OutcomeDone})
	schoolapi.WriteJSON(w, http.StatusCreated, recoveryCodesBody{Codes: codes, CreatedAt: s.db.Now().UTC()})
	return nil
}
