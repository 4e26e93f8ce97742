package server

import (
	"context"
	"fmt"
	"net/http"

	"pult/backend/auth"
	"pult/store"
	"pult/store/schoolapi"
)

// CreateAdmin creates an admin account, and the school when no school of that name exists yet. It serves first
// setup and the `admin create` command.
func CreateAdmin(ctx context.Context, db *store.DB, hasher *auth.Hasher, schoolName string, u store.NewUser, password string) (store.User, error) {
	if code := auth.CheckPolicy(password); code != "" {
		return store.User{}, &store.Error{Code: store.CodeInvalid, Message: "password not acceptable", Fields: map[string]string{"password": code}}
	}
	school, err := db.SchoolByName(ctx, schoolName)
	if store.ErrorCode(err) == store.CodeNotFound {
		school, err = db.CreateSchool(ctx, schoolName)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("school %q: %w", schoolName, err)
	}
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u.Role, u.PasswordHash = store.RoleAdmin, hash
	return db.CreateUser(ctx, store.SchoolAdmin(school.ID), u)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.Users(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

type newUserInput struct {
	Username    string     `json:"username"`
	DisplayName string     `json:"displayName"`
	Email       string     `json:"email"`
	Role        store.Role `json:"role"`
	Password    string     `json:"password"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in newUserInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	if code := auth.CheckPolicy(in.Password); code != "" {
		return &store.Error{Code: store.CodeInvalid, Message: "password not acceptable", Fields: map[string]string{"password": code}}
	}
	hash, err := s.cfg.Hasher.Hash(r.Context(), in.Password)
	if err != nil {
		return err
	}
	u, err := s.db.CreateUser(r.Context(), a, store.NewUser{Username: in.Username, DisplayName: in.DisplayName, Email: in.Email, Role: in.Role, PasswordHash: hash})
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: u.ID, Action: "user_created", Outcome: store.OutcomeDone, Reason: string(u.Role)})
	return s.writeAccount(w, r, a, u.ID, http.StatusCreated)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var p store.UserPatch
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &p); err != nil {
		return err
	}
	u, err := s.db.UpdateUser(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: u.ID, Action: "user_changed", Outcome: store.OutcomeDone, Reason: fmt.Sprintf("role %s, active %t", u.Role, u.Active)})
	return s.writeAccount(w, r, a, u.ID, http.StatusOK)
}

// writeAccount answers with an account as the user list shows it.
func (s *Server) writeAccount(w http.ResponseWriter, r *http.Request, a store.Actor, id string, status int) error {
	acc, err := s.db.Account(r.Context(), a, id)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, status, acc)
	return nil
}

type resetInput struct {
	Password string `json:"password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in resetInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	var keep []byte
	if sess, ok := sessionFrom(r.Context()); ok && r.PathValue("id") == a.UserID {
		keep = sess.tokenHash
	}
	if err := s.setPassword(r, a, r.PathValue("id"), "password", in.Password, keep); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: r.PathValue("id"), Action: "password_reset", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
