package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"pult/store"
	"pult/store/schoolapi"
)

// The school's side of parents (PA2, PA3): access codes, letter templates, letters printed or mailed, the parent
// accounts that hold the school's children, and the school's outbox.

func (s *Server) listAccessCodes(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.AccessCodes(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

// issueAccessCode gives a student a new code; the old one, if any, stops working and the accounts that used it
// lose the child.
func (s *Server) issueAccessCode(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	c, err := s.db.IssueAccessCode(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: c.StudentID, Action: "access_code_issued", Outcome: store.OutcomeDone})
	schoolapi.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) revokeAccessCode(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := s.db.RevokeAccessCode(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: r.PathValue("id"), Action: "access_code_revoked", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.LetterTemplates(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

type templateInput struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	return s.saveTemplate(w, r, a, "", http.StatusCreated)
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return store.Errorf(store.CodeNotFound, "letter template not found")
	}
	return s.saveTemplate(w, r, a, id, http.StatusOK)
}

func (s *Server) saveTemplate(w http.ResponseWriter, r *http.Request, a store.Actor, id string, status int) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in templateInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	t, err := s.db.SaveLetterTemplate(r.Context(), a, store.LetterTemplate{ID: id, Name: in.Name, Subject: in.Subject, Body: in.Body})
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, status, t)
	return nil
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := s.db.DeleteLetterTemplate(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type previewInput struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// previewTemplate fills a template being written with an example student, so the admin sees the letter before
// saving; unknown placeholders are refused as at saving.
func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in previewInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	t := store.LetterTemplate{Name: "preview", Subject: in.Subject, Body: in.Body}
	if err := t.Validate(); err != nil {
		return err
	}
	school, err := s.db.School(r.Context(), a.SchoolID)
	if err != nil {
		return err
	}
	values := map[string]string{"firstName": "Anna", "lastName": "Beispiel", "name": "Anna Beispiel", "class": "4a", "course": "Klavier A",
		"code": "ABCD-EFGH-JKMN-PQRS", "school": school.Name, "date": letterDate(), "link": s.parentsLink(a.SchoolID)}
	schoolapi.WriteJSON(w, http.StatusOK, previewInput{Subject: store.FillTemplate(in.Subject, values), Body: store.FillTemplate(in.Body, values)})
	return nil
}

func letterDate() string { return time.Now().Format("02.01.2006") }

// parentsLink is where a letter sends parents to register; it names the school, which then sees the
// registrations that come from its letters (PA2).
func (s *Server) parentsLink(schoolID string) string {
	return s.linkURL() + "/#/parent/register?school=" + url.QueryEscape(schoolID)
}

type lettersInput struct {
	TemplateID string   `json:"templateId"`
	StudentIDs []string `json:"studentIds"`
	CourseID   string   `json:"courseId"`
}

type lettersAnswer struct {
	Letters []store.Letter `json:"letters"`
}

func (s *Server) letterRequest(w http.ResponseWriter, r *http.Request, a store.Actor) (store.LetterRequest, error) {
	if err := a.RequireAdmin(); err != nil {
		return store.LetterRequest{}, err
	}
	var in lettersInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return store.LetterRequest{}, err
	}
	if in.TemplateID == "" {
		return store.LetterRequest{}, &store.Error{Code: store.CodeInvalid, Message: "template required", Fields: map[string]string{"templateId": store.FieldRequired}}
	}
	return store.LetterRequest{TemplateID: in.TemplateID, StudentIDs: in.StudentIDs, CourseID: in.CourseID, Date: letterDate(), Link: s.parentsLink(a.SchoolID)}, nil
}

// printLetters fills a template for the chosen students (or a course's), for a printable page with one letter
// per page. Students without a live access code get one.
func (s *Server) printLetters(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	req, err := s.letterRequest(w, r, a)
	if err != nil {
		return err
	}
	letters, err := s.db.Letters(r.Context(), a, req)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{Action: "letters_printed", Outcome: store.OutcomeDone, Reason: req.TemplateID})
	schoolapi.WriteJSON(w, http.StatusOK, lettersAnswer{Letters: letters})
	return nil
}

type mailedAnswer struct {
	Queued int `json:"queued"`
	// WithoutAddress are the students whose guardian has no e-mail address: print theirs.
	WithoutAddress []string `json:"withoutAddress"`
}

// mailLetters sends the letters to the guardians' addresses through the outbox.
func (s *Server) mailLetters(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	req, err := s.letterRequest(w, r, a)
	if err != nil {
		return err
	}
	letters, err := s.db.Letters(r.Context(), a, req)
	if err != nil {
		return err
	}
	out := mailedAnswer{WithoutAddress: []string{}}
	for _, l := range letters {
		if l.GuardianEmail == "" {
			out.WithoutAddress = append(out.WithoutAddress, l.StudentID)
			continue
		}
		if err := s.cfg.Postman.Queue(r.Context(), a.SchoolID, letterMail(l.GuardianEmail, l)); err != nil {
			return err
		}
		out.Queued++
	}
	s.audit(r, store.AuditEntry{Action: "letters_mailed", Outcome: store.OutcomeDone, Reason: req.TemplateID})
	schoolapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listRegistrants(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.Registrants(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

type outboxAnswer struct {
	Sends bool         `json:"sends"`
	Items []store.Mail `json:"items"`
}

// outbox shows the school's mails that were not sent: held (no SMTP configured) or given up.
func (s *Server) outbox(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	return s.writeOutbox(w, r, a, s.db.MailOutbox)
}

// operatorOutbox shows a server operator the unsent mails to parent accounts (confirmation and reset links).
func (s *Server) operatorOutbox(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	return s.writeOutbox(w, r, a, s.db.OperatorOutbox)
}

func (s *Server) writeOutbox(w http.ResponseWriter, r *http.Request, a store.Actor, list func(context.Context, store.Actor) ([]store.Mail, error)) error {
	items, err := list(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, outboxAnswer{Sends: s.cfg.Postman.Sends(), Items: items})
	return nil
}
