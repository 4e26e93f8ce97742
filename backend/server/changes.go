package server

import (
	"net/http"
	"strconv"

	"pult/store"
	"pult/store/schoolapi"
)

type changesBody struct {
	Changes []store.Change `json:"changes"`
}

// changes answers the records of the user's scope changed after a cursor, in sequence order: what a desktop
// device fetches into its local store.
func (s *Server) changes(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	q := r.URL.Query()
	f := store.FieldErrors{}
	after, limit := int64(0), store.MaxChangesPage
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			f.Add("after", store.FieldInvalid)
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxChangesPage {
			f.Add("limit", store.FieldOutOfRange)
		}
		limit = n
	}
	if err := f.Err("changes"); err != nil {
		return err
	}
	list, err := s.db.Changes(r.Context(), a, after, limit)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, changesBody{Changes: list})
	return nil
}
