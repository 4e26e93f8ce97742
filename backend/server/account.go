package server

import (
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"pult/backend/auth"
	"pult/store"
	"pult/store/schoolapi"
)

// Login throttling: five wrong passwords for one username within 15 minutes lock it for 15 minutes.
const (
	failureWindow = 15 * time.Minute
	maxFailures   = 5
	lockDuration  = 15 * time.Minute
)

// me is the logged-in person as the UI sees them.
type me struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"displayName"`
	Role        store.Role `json:"role"`
	SchoolID    string     `json:"schoolId"`
	SchoolName  string     `json:"schoolName"`
	// Operator: the person also runs this server and reads its outbox.
	Operator bool `json:"operator"`
}

func (s *Server) meOf(r *http.Request, u store.User) (*me, error) {
	school, err := s.db.School(r.Context(), u.SchoolID)
	if err != nil {
		return nil, err
	}
	return &me{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, SchoolID: u.SchoolID, SchoolName: school.Name,
		Operator: u.Operator}, nil
}

type envBody struct {
	Host          string    `json:"host"`
	Version       string    `json:"version"`
	SetupRequired bool      `json:"setupRequired"`
	User          *me       `json:"user"`
	Parent        *parentMe `json:"parent"`
}

func (s *Server) env(w http.ResponseWriter, r *http.Request) {
	has, err := s.db.HasUsers(r.Context())
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	body := envBody{Host: "server", Version: s.cfg.Version, SetupRequired: !has}
	if sess, ok := sessionFrom(r.Context()); ok {
		if body.User, err = s.meOf(r, sess.user); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
	}
	if ps, ok := parentFrom(r.Context()); ok {
		body.Parent = meOfParent(ps.parent)
	}
	schoolapi.WriteJSON(w, http.StatusOK, body)
}

type userBody struct {
	User *me `json:"user"`
}

// startSession admits u's device, creates a session on it and answers with who is logged in; or answers with
// the refusal.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User, status int, in loginInput) {
	deviceID, ok := s.admitDevice(w, r, u, in.Username, in.Device, in.RecoveryCode)
	if !ok {
		return
	}
	token, hash := auth.NewToken()
	if err := s.db.CreateSession(r.Context(), hash, u.ID, deviceID); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	m, err := s.meOf(r, u)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	s.setSessionCookie(w, token)
	schoolapi.WriteJSON(w, status, userBody{User: m})
}

type setupInput struct {
	Token       string `json:"token"`
	SchoolName  string `json:"schoolName"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Password    string `json:"password"`
}

// setup creates the first school and its first admin, once, for the holder of the setup link.
func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	var in setupInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	u, err := s.setupOnce(r, in)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, ActorID: u.ID, UserID: u.ID, Action: "setup", Outcome: store.OutcomeDone})
	s.startSession(w, r, u, http.StatusCreated, loginInput{Username: in.Username})
}

// setupOnce creates the first admin if the token is right and nobody did yet. The whole check-and-create holds
// the setup lock, so the link opened in several browsers at once still makes one school and one admin.
func (s *Server) setupOnce(r *http.Request, in setupInput) (store.User, error) {
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	has, err := s.db.HasUsers(r.Context())
	if err != nil {
		return store.User{}, err
	}
	if has {
		return store.User{}, store.Errorf(store.CodeSetupDone, "setup is done; log in")
	}
	if s.setupHash == nil || subtle.ConstantTimeCompare(s.setupHash, auth.HashToken(in.Token)) != 1 {
		return store.User{}, store.Errorf(store.CodeSetupTokenInvalid, "the setup link is not valid")
	}
	// Whoever holds the link printed on the server's console runs the server: the first admin is its operator.
	u, err := CreateAdmin(r.Context(), s.db, s.cfg.Hasher, in.SchoolName,
		store.NewUser{Username: in.Username, DisplayName: in.DisplayName, Operator: true}, in.Password)
	if err != nil {
		return store.User{}, err
	}
	s.setupHash = nil
	return u, nil
}

type loginInput struct {
	Username     string        `json:"username"`
	Password     string        `json:"password"`
	RecoveryCode string        `json:"recoveryCode"`
	Device       *desktopProof `json:"device"`
}

func retryAfter(wait time.Duration) string {
	return strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds())))
}

func tooManyAttempts(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	schoolapi.WriteError(w, r, store.Errorf(store.CodeTooManyAttempts, "too many attempts; try again later"))
}

// login checks a username and password. Unknown users, inactive users and wrong passwords get the same answer
// after the same work, and count towards the same lock.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in loginInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !s.loginAllowed(w, r, "username", in.Username, in.Password) {
		return
	}
	ctx := r.Context()
	until, err := s.db.LoginLockedUntil(ctx, in.Username)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !until.IsZero() {
		if u, err := s.db.UserByUsername(ctx, in.Username); err == nil {
			s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, UserID: u.ID, Action: "login", Outcome: store.OutcomeRefused, Reason: "locked"})
		}
		tooManyAttempts(w, r, time.Until(until))
		return
	}
	u, err := s.db.UserByUsername(ctx, in.Username)
	if err != nil && store.ErrorCode(err) != store.CodeNotFound {
		schoolapi.WriteError(w, r, err)
		return
	}
	verr := s.cfg.Hasher.Verify(ctx, u.PasswordHash, in.Password)
	if verr != nil && !errors.Is(verr, auth.ErrMismatch) {
		schoolapi.WriteError(w, r, verr)
		return
	}
	if verr != nil || !u.Active {
		locked, err := s.db.RecordLoginFailure(ctx, in.Username, failureWindow, maxFailures, lockDuration)
		if err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
		reason := "wrong_password"
		switch {
		case u.ID == "":
			reason = "unknown_user"
		case !locked.IsZero():
			reason = "locked"
		case verr == nil:
			reason = "inactive"
		}
		if u.ID != "" {
			if err := s.db.SetLoginFailure(ctx, u.ID, reason); err != nil {
				schoolapi.WriteError(w, r, err)
				return
			}
		}
		s.audit(r, store.AuditEntry{SchoolID: u.SchoolID, UserID: u.ID, Action: "login", Outcome: store.OutcomeRefused, Reason: reason})
		schoolapi.WriteError(w, r, store.Errorf(store.CodeInvalidCredentials, "wrong username or password"))
		return
	}
	if err := s.db.ClearLoginFailures(ctx, in.Username); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	allowed, err := s.db.AllowedFrom(ctx, u, s.clientIP(r))
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !allowed {
		// Outside the allowed networks a refusal must not confirm the password: the answer is that of a wrong
		// password, and the real reason goes to the admin's status column and the audit log.
		s.refuseLogin(w, r, u, "", store.ReasonOutsideIPRange, store.Errorf(store.CodeInvalidCredentials, "wrong username or password"), nil)
		return
	}
	s.startSession(w, r, u, http.StatusOK, in)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if sess, ok := sessionFrom(r.Context()); ok {
		if err := s.db.DeleteSession(r.Context(), sess.tokenHash); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
	}
	if ps, ok := parentFrom(r.Context()); ok {
		if err := s.db.DeleteParentSession(r.Context(), ps.tokenHash); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

type ownPasswordInput struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changeOwnPassword replaces the user's password after checking the current one; their other sessions end.
func (s *Server) changeOwnPassword(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	var in ownPasswordInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	sess, _ := sessionFrom(r.Context())
	if err := s.verifyOwnPassword(w, r, sess.user.Username, sess.user.PasswordHash, "currentPassword", in.CurrentPassword); err != nil {
		return err
	}
	if err := s.setPassword(r, a, a.UserID, "newPassword", in.NewPassword, sess.tokenHash); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// verifyOwnPassword checks the password a logged-in person typed to confirm a change to their account (field
// names it in the answer). Guessing it from an open session counts like failed logins under lockKey and meets the
// same lock.
func (s *Server) verifyOwnPassword(w http.ResponseWriter, r *http.Request, lockKey, hash, field, password string) error {
	until, err := s.db.LoginLockedUntil(r.Context(), lockKey)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		w.Header().Set("Retry-After", retryAfter(time.Until(until)))
		return store.Errorf(store.CodeTooManyAttempts, "too many attempts; try again later")
	}
	if err := s.cfg.Hasher.Verify(r.Context(), hash, password); err != nil {
		if errors.Is(err, auth.ErrMismatch) {
			if _, err := s.db.RecordLoginFailure(r.Context(), lockKey, failureWindow, maxFailures, lockDuration); err != nil {
				return err
			}
			return &store.Error{Code: store.CodeInvalid, Message: "the password is wrong", Fields: map[string]string{field: store.FieldInvalid}}
		}
		return err
	}
	return nil
}

// setPassword checks a new password against the policy, hashes it and stores it, ending the account's sessions
// except keep.
func (s *Server) setPassword(r *http.Request, a store.Actor, userID, field, password string, keep []byte) error {
	if code := auth.CheckPolicy(password); code != "" {
		return &store.Error{Code: store.CodeInvalid, Message: "password not acceptable", Fields: map[string]string{field: code}}
	}
	hash, err := s.cfg.Hasher.Hash(r.Context(), password)
	if err != nil {
		return err
	}
	return s.db.SetPasswordHash(r.Context(), a, userID, hash, keep)
}

// loginAllowed checks that a login names its account (nameField) and password and that the client's address
// has attempts left; it answers the refusal itself.
func (s *Server) loginAllowed(w http.ResponseWriter, r *http.Request, nameField, name, password string) bool {
	f := store.FieldErrors{}
	if name == "" {
		f.Add(nameField, store.FieldRequired)
	}
	if password == "" {
		f.Add("password", store.FieldRequired)
	}
	if err := f.Err("login"); err != nil {
		schoolapi.WriteError(w, r, err)
		return false
	}
	if ok, wait := s.limiter.allow(s.clientIP(r)); !ok {
		tooManyAttempts(w, r, wait)
		return false
	}
	return true
}
