package server

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/skip2/go-qrcode"

	"pult/store"
	"pult/store/schoolapi"
)

// Licenses (LE1, LE2) for admins, and the device side of desktop enrollment, status and wipe receipts (LE3, LE4).

// maxSheetLicenses bounds the licenses of one printed sheet.
const maxSheetLicenses = 200

func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.Licenses(r.Context(), a)
	if err != nil {
		return err
	}
	schoolapi.WriteList(w, r, list)
	return nil
}

type newLicensesInput struct {
	Count int `json:"count"`
}

type newLicensesBody struct {
	Licenses []store.License `json:"licenses"`
}

func (s *Server) createLicenses(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in newLicensesInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	list, err := s.db.CreateLicenses(r.Context(), a, in.Count)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{Action: "licenses_created", Outcome: store.OutcomeDone, Reason: fmt.Sprint(len(list))})
	schoolapi.WriteJSON(w, http.StatusCreated, newLicensesBody{Licenses: list})
	return nil
}

func (s *Server) assignLicense(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in store.LicenseAssignment
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		return err
	}
	l, err := s.db.AssignLicense(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{UserID: l.TeacherID, Action: "license_assigned", Outcome: store.OutcomeDone, Reason: string(l.Holder) + "_license"})
	schoolapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) detachLicense(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	l, err := s.db.DetachLicense(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{Action: "license_detached", Outcome: store.OutcomeDone})
	schoolapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) deleteLicense(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := s.db.DeleteLicense(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	s.audit(r, store.AuditEntry{Action: "license_deleted", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// approveLicenseDevice trusts a license's pending device by the security code the person at it reads out; like
// approveDevice, an admin's guesses are rate-limited.
func (s *Server) approveLicenseDevice(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	code, err := s.approvalCode(w, r, a)
	if err != nil {
		return err
	}
	l, err := s.db.ApproveLicenseDevice(r.Context(), a, r.PathValue("id"), code)
	if err != nil {
		if store.ErrorCode(err) == store.CodeInvalid {
			s.audit(r, store.AuditEntry{Action: "device_approved", Outcome: store.OutcomeRefused, Reason: "wrong_code"})
		}
		return err
	}
	e := store.AuditEntry{UserID: l.TeacherID, Action: "device_approved", Outcome: store.OutcomeDone, Reason: string(l.Holder) + "_license"}
	if l.Device != nil {
		e.DeviceID = l.Device.ID
	}
	s.audit(r, e)
	schoolapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

// blockLicenseDevice blocks the device a license enrolled and has it wipe itself: a location's terminal here,
// a teacher's laptop as that teacher's device.
func (s *Server) blockLicenseDevice(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := s.db.LicensesByID(r.Context(), a, []string{r.PathValue("id")})
	if err != nil {
		return err
	}
	if len(list) != 1 || list[0].Device == nil {
		return store.Errorf(store.CodeConflict, "the license has no device to block")
	}
	l := list[0]
	if l.Holder == store.HolderTeacher {
		blocked := store.DeviceBlocked
		if _, err := s.db.UpdateDevice(r.Context(), a, l.TeacherID, l.Device.ID, store.DevicePatch{State: &blocked}); err != nil {
			return err
		}
	} else if _, err := s.db.BlockLocationDevice(r.Context(), a, l.ID); err != nil {
		return err
	}
	e := store.AuditEntry{UserID: l.TeacherID, DeviceID: l.Device.ID, Outcome: store.OutcomeDone, Reason: string(l.Holder) + "_license"}
	e.Action = "device_blocked"
	s.audit(r, e)
	e.Action = "device_wipe_requested"
	s.audit(r, e)
	s.wipeDevice(a.SchoolID, l.Device.ID)
	if list, err = s.db.LicensesByID(r.Context(), a, []string{l.ID}); err != nil {
		return err
	}
	schoolapi.WriteJSON(w, http.StatusOK, list[0])
	return nil
}

// sheetLicense is one card of the printed sheet: the license, the content of its QR code and the QR code.
type sheetLicense struct {
	store.License
	Link  string `json:"link"`
	QRSVG string `json:"qrSvg"`
}

type sheetBody struct {
	SchoolName string `json:"schoolName"`
	ServerURL  string `json:"serverUrl"`
	// Fingerprint is the hex SHA-256 of the server's certificate, when it comes from certificate files.
	Fingerprint string         `json:"fingerprint,omitempty"`
	Licenses    []sheetLicense `json:"licenses"`
}

// licenseSheet answers what the printed sheet shows of the licenses in ?ids= (comma-separated, in that order).
func (s *Server) licenseSheet(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var ids []string
	for _, v := range r.URL.Query()["ids"] {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	switch {
	case len(ids) == 0:
		return &store.Error{Code: store.CodeInvalid, Message: "name the licenses in ids", Fields: map[string]string{"ids": store.FieldRequired}}
	case len(ids) > maxSheetLicenses:
		return &store.Error{Code: store.CodeInvalid, Message: "at most 200 licenses on one sheet", Fields: map[string]string{"ids": store.FieldOutOfRange}}
	}
	list, err := s.db.LicensesByID(r.Context(), a, ids)
	if err != nil {
		return err
	}
	school, err := s.db.School(r.Context(), a.SchoolID)
	if err != nil {
		return err
	}
	body := sheetBody{SchoolName: school.Name, ServerURL: s.publicURL(r), Fingerprint: s.cfg.CertFingerprint, Licenses: make([]sheetLicense, 0, len(list))}
	for _, l := range list {
		link := EnrollLink(body.ServerURL, l.Code, body.Fingerprint)
		svg, err := qrSVG(link)
		if err != nil {
			return err
		}
		body.Licenses = append(body.Licenses, sheetLicense{License: l, Link: link, QRSVG: svg})
	}
	schoolapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// publicURL is the address people open: PULT_PUBLIC_URL, else the origin the request came to.
func (s *Server) publicURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || s.cfg.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// EnrollLink is the content of a license's QR code: pult://enroll?server=…&code=…&fp=… (fp only with a pinned
// certificate).
func EnrollLink(server, code, fingerprint string) string {
	link := "pult://enroll?server=" + url.QueryEscape(server) + "&code=" + url.QueryEscape(code)
	if fingerprint != "" {
		link += "&fp=" + url.QueryEscape(fingerprint)
	}
	return link
}

// qrSVG draws the QR code of text as a compact SVG: a white square and one path of the dark modules, row by
// row. No style attribute, so the UI's CSP lets it in.
func qrSVG(text string) (string, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	bits := q.Bitmap() // with the quiet zone of four modules
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 0
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

type enrollInput struct {
	LicenseCode string `json:"licenseCode"`
	PublicKey   string `json:"publicKey"`
	TokenHash   string `json:"tokenHash"`
	Name        string `json:"name"`
	Platform    string `json:"platform"`
	OSUser      string `json:"osUser"`
}

// enrollDesktop registers a desktop app with a license code (LE3). Like registerDesktop it is rate-limited per
// address; wrong license codes also count towards their own, tighter limit, and each is audited.
func (s *Server) enrollDesktop(w http.ResponseWriter, r *http.Request) {
	var in enrollInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	ip := s.clientIP(r)
	if ok, wait := s.licenseGuesses.peek(ip); !ok {
		tooManyAttempts(w, r, wait)
		return
	}
	if ok, wait := s.registrations.allow(ip); !ok {
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
	if strings.TrimSpace(in.LicenseCode) == "" {
		f.Add("licenseCode", store.FieldRequired)
	}
	if err := f.Err("enrollment"); err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	e, err := s.db.EnrollDesktop(r.Context(), in.LicenseCode, pub, token,
		store.DeviceInfo{Name: in.Name, Platform: in.Platform, OSUser: in.OSUser, LastIP: ip})
	switch store.ErrorCode(err) {
	case store.CodeLicenseInvalid:
		s.licenseGuesses.allow(ip)
		s.audit(r, store.AuditEntry{SchoolID: e.SchoolID, UserID: e.UserID, Action: "device_enrolled", Outcome: store.OutcomeRefused, Reason: "license_invalid"})
	case store.CodeLicenseInUse:
		s.audit(r, store.AuditEntry{SchoolID: e.SchoolID, UserID: e.UserID, Action: "device_enrolled", Outcome: store.OutcomeRefused, Reason: "license_in_use"})
	}
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	reason := "teacher_license"
	if e.UserID == "" {
		reason = "location_license"
	}
	s.audit(r, store.AuditEntry{SchoolID: e.SchoolID, UserID: e.UserID, DeviceID: e.DeviceID, Action: "device_enrolled", Outcome: store.OutcomeDone, Reason: reason})
	schoolapi.WriteJSON(w, http.StatusCreated, e)
}

// deviceProofInput is a desktop device's signed answer to a challenge, for its status or its wipe receipt.
type deviceProofInput struct {
	DeviceID  string `json:"deviceId"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"` // base64 Ed25519 signature of store.DeviceMessage(purpose, challenge)
	TokenHash string `json:"tokenHash"` // hex SHA-256 of the hardware token
}

// deviceProof reads a signed device request and checks it for purpose; it answers the refusal itself and
// returns false when the proof fails.
func (s *Server) deviceProof(w http.ResponseWriter, r *http.Request, purpose string) (string, bool) {
	var in deviceProofInput
	if err := schoolapi.Decode(w, r, schoolapi.DefaultBodyLimit, &in); err != nil {
		schoolapi.WriteError(w, r, err)
		return "", false
	}
	sig, err1 := base64.StdEncoding.DecodeString(in.Signature)
	token, err2 := hex.DecodeString(in.TokenHash)
	if err1 != nil || err2 != nil || !store.ValidID(in.DeviceID) {
		schoolapi.WriteError(w, r, store.Errorf(store.CodeDeviceProofInvalid, "device proof refused"))
		return "", false
	}
	if err := s.db.VerifyDeviceSignature(r.Context(), in.DeviceID, in.Challenge, store.DeviceMessage(purpose, in.Challenge), sig, token); err != nil {
		schoolapi.WriteError(w, r, err)
		return "", false
	}
	return in.DeviceID, true
}

// desktopStatus tells a desktop device, proven by its signature, whether it is pending (and its code), trusted,
// rejected or blocked (then it wipes itself and sends the receipt).
func (s *Server) desktopStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := s.deviceProof(w, r, "status")
	if !ok {
		return
	}
	st, err := s.db.DesktopDeviceStatus(r.Context(), id)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	schoolapi.WriteJSON(w, http.StatusOK, st)
}

// desktopWiped records a desktop device's signed receipt of its wipe (LE4).
func (s *Server) desktopWiped(w http.ResponseWriter, r *http.Request) {
	id, ok := s.deviceProof(w, r, "wiped")
	if !ok {
		return
	}
	rc, err := s.db.DeviceWiped(r.Context(), id)
	if err != nil {
		schoolapi.WriteError(w, r, err)
		return
	}
	s.audit(r, store.AuditEntry{SchoolID: rc.SchoolID, UserID: rc.UserID, DeviceID: id, Action: "device_wiped", Outcome: store.OutcomeDone})
	w.WriteHeader(http.StatusNoContent)
}
