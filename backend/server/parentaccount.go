package server

import (
	"net/http"

	"pult/backend/auth"
	"pult/store"
	"pult/store/schoolapi"
)

type parentAccountInput struct {
	Language *string `json:"language"`
}

// updateParentAccount sets the language a parent's mails are written in.
func (s *Server) updateParentAccount(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	var in parentAccountInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	p, err := s.db.UpdateParent(r.Context(), p, store.ParentPatch{Language: in.Language}, nil)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, parentBody{Parent: meOfParent(p)})
	return nil
}

type parentPasswordInput struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changeParentPassword sets a new password after the current one; every other session of the account ends.
func (s *Server) changeParentPassword(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	var in parentPasswordInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	if err := s.verifyOwnPassword(w, r, lockKey(p.Email), p.PasswordHash, "currentPassword", in.CurrentPassword); err != nil {
		return err
	}
	if code := auth.CheckPolicy(in.NewPassword); code != "" {
		return &store.Error{Code: store.CodeInvalid, Message: "password not acceptable", Fields: map[string]string{"newPassword": code}}
	}
	hash, err := s.cfg.Hasher.Hash(r.Context(), in.NewPassword)
	if err != nil {
		return err
	}
	ps, _ := parentFrom(r.Context())
	if _, err := s.db.UpdateParent(r.Context(), p, store.ParentPatch{PasswordHash: &hash}, ps.tokenHash); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{ActorID: p.ID, Action: "parent_password_changed", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type parentDeleteInput struct {
	Password string `json:"password"`
}

// deleteParentAccount erases the account after its password; the browser's session ends with it.
func (s *Server) deleteParentAccount(w http.ResponseWriter, r *http.Request, p store.Parent) error {
	var in parentDeleteInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	if err := s.verifyOwnPassword(w, r, lockKey(p.Email), p.PasswordHash, "password", in.Password); err != nil {
		return err
	}
	if err := s.db.DeleteParent(r.Context(), p); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{ActorID: p.ID, Action: "parent_account_deleted", Outcome: store.OutcomeDone})
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
