package server

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"pult/store"
	"pult/store/schoolapi"
)

// audit records a decision or change in the audit log and the server log. The actor is the request's user, if
// any. A failure to audit is logged loudly but does not undo what was decided.
func (s *Server) audit(r *http.Request, e store.AuditEntry) {
	if sess, ok := sessionFrom(r.Context()); ok && e.ActorID == "" {
		e.ActorID = sess.user.ID
		if e.SchoolID == "" {
			e.SchoolID = sess.user.SchoolID
		}
	}
	e.IP = s.clientIP(r)
	s.writeAudit(r.Context(), e)
}

// writeAudit logs and stores an audit entry whose request details are filled in.
func (s *Server) writeAudit(ctx context.Context, e store.AuditEntry) {
	s.log.Info("audit", "action", e.Action, "outcome", e.Outcome, "reason", e.Reason, "actor", e.ActorID, "user", e.UserID, "device", e.DeviceID)
	if err := s.db.Audit(ctx, e); err != nil {
		s.log.Error("audit log write failed", "action", e.Action, "err", err)
	}
}

// auditFilter reads the audit log's filter from the query string.
func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{UserID: q.Get("userId"), Action: q.Get("action"), Outcome: q.Get("outcome")}
	bad := store.FieldErrors{}
	for _, d := range []struct {
		name string
		t    *time.Time
		add  time.Duration
	}{{"from", &f.From, 0}, {"to", &f.To, 24 * time.Hour}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				bad.Add(d.name, store.FieldInvalidDate)
				continue
			}
			*d.t = t.Add(d.add)
		}
	}
	return f, bad.Err("filter")
}

// auditEntries reads the audit log the request's filter selects.
func (s *Server) auditEntries(r *http.Request, a store.Actor) ([]store.AuditEntry, error) {
	if err := a.RequireAdmin(); err != nil {
		return nil, err
	}
	f, err := auditFilter(r)
	if err != nil {
		return nil, err
	}
	return s.db.AuditLog(r.Context(), a, f)
}

// serverAuditLog shows an operator the server's own log: the attempts and events that name no school.
func (s *Server) serverAuditLog(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	list, err := s.db.ServerAuditLog(r.Context(), a, f)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.auditEntries(r, a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

// auditCSV exports the audit log for a spreadsheet: UTF-8 with BOM, so Excel reads umlauts right; `;` as
// separator with ?sep=semicolon, as German Excel expects. Cells that a spreadsheet would run as a formula are
// defused.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.auditEntries(r, a)
	if err != nil {
		return err
	}
	users, err := s.db.Users(r.Context(), a)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pult-audit.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	if r.URL.Query().Get("sep") == "semicolon" {
		cw.Comma = ';'
	}
	cw.UseCRLF = true
	cw.Write([]string{"time", "action", "outcome", "reason", "actor", "user", "device", "ip"})
	for _, e := range list {
		cw.Write([]string{e.At.Format(time.RFC3339), e.Action, e.Outcome, e.Reason, cell(names[e.ActorID]), cell(names[e.UserID]), e.DeviceID, e.IP})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from treating text as a formula.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

type rangesBody struct {
	Ranges []string `json:"ranges"`
}

type rangesInput struct {
	Ranges []string `json:"ranges"`
	// Confirm sets ranges that shut out the admin who sets them.
	Confirm bool `json:"confirm"`
}

// ipRanges answers the school's allowed ranges, or a user's on /users/{id}/ip-ranges.
func (s *Server) ipRanges(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.IPRanges(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, rangesBody{Ranges: list})
	return nil
}

func (s *Server) setIPRanges(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in rangesInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	owner := r.PathValue("id")
	if sess, ok := sessionFrom(r.Context()); ok && !in.Confirm && (owner == "" || owner == a.UserID) && in.Ranges != nil {
		allowed, err := s.db.AllowedFromWith(r.Context(), sess.user, s.clientIP(r), owner, in.Ranges)
		if err != nil {
			return err
		}
		if !allowed {
			return store.Errorf(store.CodeWouldLockOut, "these ranges exclude your own address %s: you could not log in again; send confirm to set them anyway", s.clientIP(r))
		}
	}
	list, err := s.db.SetIPRanges(r.Context(), a, owner, in.Ranges)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: r.PathValue("id"), Action: "ip_ranges_changed", Outcome: store.OutcomeDone, Reason: strings.Join(list, " ")})
	schoolapi.WriteJSON(w, http.StatusOK, rangesBody{Ranges: list})
	return nil
}
