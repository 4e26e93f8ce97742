package server

import (
	"fmt"
	"net/http"

	"pult/store"
	"pult/store/schoolapi"
)

// devicePolicy answers the school's device policy (LE5).
func (s *Server) devicePolicy(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	p, err := s.db.DevicePolicy(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

// setDevicePolicy changes it; desktop devices apply it at their next contact.
func (s *Server) setDevicePolicy(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in store.DevicePolicy
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	p, err := s.db.SetDevicePolicy(r.Context(), a, in)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{Action: "device_policy_changed", Outcome: store.OutcomeDone,
		Reason: fmt.Sprintf("pin_attempts=%d idle_minutes=%d offline_days=%d wipe_days=%d", p.MaxPINAttempts, p.IdleTimeoutMinutes, p.OfflineGraceDays, p.WipeAfterDays)})
	s.sendPolicy(a.SchoolID, p)
	schoolapi.WriteJSON(w, http.StatusOK, p)
	return nil
}
