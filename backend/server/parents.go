package server

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"pult/backend/auth"
	"pult/store"
	"pult/store/schoolapi"
)

// Lifetimes of the links in parents' mails.
const (
	confirmLinkTTL = 24 * time.Hour
	resetLinkTTL   = time.Hour
)

type parentKey struct{}

// parentSession is the logged-in parent account of a request.
type parentSession struct {
	parent    store.Parent
	tokenHash []byte
}

func parentFrom(ctx context.Context) (parentSession, bool) {
	p, ok := ctx.Value(parentKey{}).(parentSession)
	return p, ok
}

// parentHandler is a handler for logged-in parent accounts. Staff sessions are not parent sessions: a teacher or
// admin gets 401 here, as a parent gets 401 on every staff route.
type parentHandler func(w http.ResponseWriter, r *http.Request, p store.Parent) error

func (h parentHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ps, ok := parentFrom(r.Context())
	if !ok {
		schoolapi.WriteError(w, r, store.Errorf(store.CodeUnauthenticated, "log in as a parent first"))
		return
	}
	if err := h(w, r, ps.parent); err != nil {
		schoolapi.WriteError(w, r, err)
	}
}

// parentMe is the logged-in parent account as the UI sees it.
type parentMe struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Language string `json:"language"`
}

func meOfParent(p store.Parent) *parentMe {
	return &parentMe{ID: p.ID, Email: p.Email, Language: p.Language}
}

// linkURL is the address put into mails' links: PULT_PUBLIC_URL or the address the server listens on, never the
// request's Host header, which whoever asks for a reset link could choose to send the link to their own site.
func (s *Server) linkURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return s.cfg.LinkURL
}

// padAnonymous makes an answer that must not tell whether an address is registered take at least the floor, so
// that the work done for a known address (a hash, a stored link, a queued mail) does not show in the timing.
func (s *Server) padAnonymous(start time.Time) {
	if wait := s.cfg.AnonymousFloor - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
}

type parentRegisterInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Language string `json:"language"`
	// School is the school whose letter the link came from: it sees the registration (PA2).
	School string `json:"school"`
}

// checkMailAnswer is the answer to a registration and to a reset request, whatever the address.
type checkMailAnswer struct {
	Status string `json:"status"`
}

func (s *Server) anonymousLimit(w http.ResponseWriter, r *http.Request) bool {
	if ok, wait := s.mailRequests.allow(s.clientIP(r)); !ok {
		tooManyAttempts(w, r, wait)
		return false
	}
	return true
}

// registerParent registers an address (PA1). The answer is the same, after at least the same time, for a new
// address, an unconfirmed one and one that has an account: only the mailbox learns which (a confirmation link,
// or a note that an account exists).
func (s *Server) registerParent(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var in parentRegisterInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	f := store.FieldErrors{}
	store.CheckParentEmail(f, "email", in.Email)
	if code := auth.CheckPolicy(in.Password); code != "" {
		f.Add("password", code)
	}
	if in.Language == "" {
		in.Language = store.LangGerman
	}
	if !store.ValidLanguage(in.Language) {
		f.Add("language", store.FieldUnknownValue)
	}
	if err := f.Err("registration"); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !s.anonymousLimit(w, r) {
		return
	}
	defer s.padAnonymous(start)
	ctx := r.Context()
	hash, err := s.cfg.Hasher.Hash(ctx, in.Password)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	token, tokenHash := auth.NewToken()
	reg, err := s.db.RegisterParent(ctx, in.Email, hash, in.Language, tokenHash, time.Now().Add(confirmLinkTTL), in.School)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	kind, link := mailConfirm, s.linkURL()+"/#/parent/confirm/"+token
	if reg.Existing {
		kind, link = mailRegistered, s.linkURL()+"/#/parent/login"
	}
	if err := s.sendParentMail(ctx, reg.Parent.Email, lang(reg.Parent, in.Language), kind, link); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	schoolapi.WriteJSON(w, http.StatusAccepted, checkMailAnswer{Status: "check_mail"})
}

// lang is the language of an account's mails: its own, or the one just asked for by a new registration.
func lang(p store.Parent, asked string) string {
	if store.ValidLanguage(p.Language) {
		return p.Language
	}
	return asked
}

// sendParentMail queues a mail to a parent's address, unless that address had its share of mails lately: then
// nothing is sent, and the answer is the same all the same.
func (s *Server) sendParentMail(ctx context.Context, to, language, kind, link string) error {
	if ok, _ := s.mailsTo.allow(hex.EncodeToString(auth.HashToken(store.NormalizeEmail(to)))); !ok {
		s.log.Warn("mail to an address held back: too many lately", "kind", kind)
		return nil
	}
	m, err := parentMail(to, language, kind, link)
	if err != nil {
		return err
	}
	return s.cfg.Postman.Queue(ctx, "", m)
}

type tokenInput struct {
	Token string `json:"token"`
}

// confirmParent opens the link of a confirmation mail: once, within its lifetime.
func (s *Server) confirmParent(w http.ResponseWriter, r *http.Request) {
	var in tokenInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if in.Token == "" {
		schoolapi.WriteError(w, r, store.Errorf(store.CodeLinkInvalid, "the link is not valid"))
		return
	}
	if ok, wait := s.linkGuesses.allow(s.clientIP(r)); !ok {
		tooManyAttempts(w, r, wait)
		return
	}
	p, err := s.db.ConfirmParent(r.Context(), auth.HashToken(in.Token))
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	s.audit(r, store.AuditEntry{ActorID: p.ID, Action: "parent_confirmed", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
}

type parentLoginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type parentBody struct {
	Parent *parentMe `json:"parent"`
}

// lockKey keeps parents' login failures apart from staff usernames that look like addresses.
func lockKey(email string) string { return "parent:" + store.NormalizeEmail(email) }

// loginParent logs a parent account in: address and password, no trusted device (parents use their own phones
// and computers). Unknown and unconfirmed addresses and wrong passwords get the same answer after the same work.
func (s *Server) loginParent(w http.ResponseWriter, r *http.Request) {
	var in parentLoginInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !s.loginAllowed(w, r, "email", in.Email, in.Password) {
		return
	}
	ctx := r.Context()
	until, err := s.db.LoginLockedUntil(ctx, lockKey(in.Email))
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !until.IsZero() {
		tooManyAttempts(w, r, time.Until(until))
		return
	}
	p, err := s.db.ParentByEmail(ctx, in.Email)
	if err != nil && store.ErrorCode(err) != store.CodeNotFound {
		schoolapi.WriteError(w, r, err)
		return
	}
	// An unconfirmed account has no password yet: its hash is "", checked against the dummy like an unknown one.
	verr := s.cfg.Hasher.Verify(ctx, p.PasswordHash, in.Password)
	if verr != nil && !errors.Is(verr, auth.ErrMismatch) {
		schoolapi.WriteError(w, r, verr)
		return
	}
	if verr != nil || !p.Confirmed() {
		if _, err := s.db.RecordLoginFailure(ctx, lockKey(in.Email), failureWindow, maxFailures, lockDuration); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
		schoolapi.WriteError(w, r, store.Errorf(store.CodeInvalidCredentials, "wrong e-mail address or password, or the address is not confirmed yet"))
		return
	}
	if err := s.db.ClearLoginFailures(ctx, lockKey(in.Email)); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	token, hash := auth.NewToken()
	if err := s.db.CreateParentSession(ctx, hash, p.ID); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	s.setSessionCookie(w, token)
	schoolapi.WriteJSON(w, http.StatusOK, parentBody{Parent: meOfParent(p)})
}

type resetRequestInput struct {
	Email    string `json:"email"`
	Language string `json:"language"`
}

// requestParentReset sends a reset link to a confirmed account's address. The answer is the same, after at least
// the same time, whether or not the address has an account.
func (s *Server) requestParentReset(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var in resetRequestInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	f := store.FieldErrors{}
	store.CheckParentEmail(f, "email", in.Email)
	if in.Language != "" && !store.ValidLanguage(in.Language) {
		f.Add("language", store.FieldUnknownValue)
	}
	if err := f.Err("reset request"); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if !s.anonymousLimit(w, r) {
		return
	}
	defer s.padAnonymous(start)
	ctx := r.Context()
	p, err := s.db.ParentByEmail(ctx, in.Email)
	switch {
	case err == nil && p.Confirmed():
		token, hash := auth.NewToken()
		if err := s.db.AddResetToken(ctx, p.ID, hash, time.Now().Add(resetLinkTTL)); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
		if err := s.sendParentMail(ctx, p.Email, lang(p, in.Language), mailReset, s.linkURL()+"/#/parent/reset/"+token); err != nil {
			schoolapi.WriteError(w, r, err)
			return
		}
	case err != nil && store.ErrorCode(err) != store.CodeNotFound:
		schoolapi.WriteError(w, r, err)
		return
	}
	schoolapi.WriteJSON(w, http.StatusAccepted, checkMailAnswer{Status: "check_mail"})
}

type parentResetInput struct {
	Token       string `json:"token"`
	Password    string `json:"password"`
	EndSessions bool   `json:"endSessions"`
}

// resetParentPassword sets a new password with the link of a reset mail; endSessions logs the account out
// everywhere.
func (s *Server) resetParentPassword(w http.ResponseWriter, r *http.Request) {
	var in parentResetInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if code := auth.CheckPolicy(in.Password); code != "" {
		schoolapi.WriteError(w, r, &store.Error{Code: store.CodeInvalid, Message: "password not acceptable", Fields: map[string]string{"password": code}})
		return
	}
	if in.Token == "" {
		schoolapi.WriteError(w, r, store.Errorf(store.CodeLinkInvalid, "the link is not valid"))
		return
	}
	if ok, wait := s.linkGuesses.allow(s.clientIP(r)); !ok {
		tooManyAttempts(w, r, wait)
		return
	}
	hash, err := s.cfg.Hasher.Hash(r.Context(), in.Password)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	p, err := s.db.ResetParentPassword(r.Context(), auth.HashToken(in.Token), hash, in.EndSessions)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	if err := s.db.ClearLoginFailures(r.Context(), lockKey(p.Email)); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	reason := ""
	if in.EndSessions {
		reason = "sessions ended"
	}
	s.audit(r, store.AuditEntry{ActorID: p.ID, Action: "parent_password_reset", Outcome: store.OutcomeDone, Reason: reason})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listChildren(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	list, err := s.db.Children(r.Context(), p)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

type codeInput struct {
	Code string `json:"code"`
}

// redeemCode adds a child by its access code (PA4). Wrong codes count per account and per address towards a
// tight limit (10, then one a minute), so a code of 78 bits cannot be guessed; every attempt is audited.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	var in codeInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	if in.Code == "" {
		return &store.Error{Code: store.CodeInvalid, Message: "code required", Fields: map[string]string{"code": store.FieldRequired}}
	}
	ip := s.clientIP(r)
	for _, key := range []string{"parent:" + p.ID, "ip:" + ip} {
		if ok, wait := s.codeGuesses.peek(key); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			s.audit(r, store.AuditEntry{ActorID: p.ID, Action: "access_code_redeem", Outcome: store.OutcomeRefused, Reason: "rate_limited"})
			return store.Errorf(store.CodeTooManyAttempts, "too many attempts; try again later")
		}
	}
	red, err := s.db.RedeemAccessCode(r.Context(), p.ID, in.Code)
	if err != nil {
		if store.ErrorCode(err) == store.CodeInvalid {
			s.codeGuesses.allow("parent:" + p.ID)
			s.codeGuesses.allow("ip:" + ip)
			s.audit(r, store.AuditEntry{ActorID: p.ID, Action: "access_code_redeem", Outcome: store.OutcomeRefused, Reason: "wrong_code"})
		}
		return err
	}
	s.audit(r, store.AuditEntry{SchoolID: red.SchoolID, ActorID: p.ID, UserID: red.StudentID, Action: "access_code_redeem", Outcome: store.OutcomeDone})
	child, err := s.db.ChildOf(r.Context(), p, red.StudentID)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusCreated, child)
	return nil
}

func (s *Server) childView(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	v, err := s.db.ChildView(r.Context(), p, r.PathValue("studentId"))
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) removeChild(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	if err := s.db.RemoveChild(r.Context(), p.ID, r.PathValue("studentId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listShares(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	list, err := s.db.Shares(r.Context(), p, r.PathValue("studentId"))
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

type shareInput struct {
	Email string `json:"email"`
}

// shareChild grants another address access to a child (PA5). It says nothing of whether that address has an
// account: the share counts once it has one.
func (s *Server) shareChild(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	var in shareInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	sh, err := s.db.ShareChild(r.Context(), p, r.PathValue("studentId"), in.Email)
	if err != nil {
		return err
	}
	s.auditChild(r, p, r.PathValue("studentId"), "child_shared")
	schoolapi.WriteJSON(w, http.StatusCreated, sh)
	return nil
}

func (s *Server) revokeShare(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	if err := s.db.RevokeShare(r.Context(), p, r.PathValue("studentId"), r.PathValue("shareId")); err != nil {
		return err
	}
	s.auditChild(r, p, r.PathValue("studentId"), "share_revoked")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// auditChild records what an account did with a child in the log of the child's school, so the school sees who
// shares its pupils' data.
func (s *Server) auditChild(r *http.Request, p store.Parent, studentID, action string) {
	e := store.AuditEntry{ActorID: p.ID, UserID: studentID, Action: action, Outcome: store.OutcomeDone}
	if c, err := s.db.ChildOf(r.Context(), p, studentID); err == nil {
		e.SchoolID = c.SchoolID
	}
	s.audit(r, e)
}
