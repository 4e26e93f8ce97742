// Package schoolapi is the HTTP API of school data (courses, students, lessons, attendance) over the store. Both
// hosts mount it: the backend for browsers, the desktop app over its local store, so one rule lives in one place.
// It also holds the JSON conventions every Pult handler follows.
package schoolapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"pult/store"
)

// Body limits.
const (
	DefaultBodyLimit = 64 << 10
	ImportBodyLimit  = 4 << 20
)

// Codes of malformed requests, in addition to the store's.
const (
	CodeInvalidJSON          store.Code = "invalid_json"
	CodeUnknownField         store.Code = "unknown_field"
	CodeBodyTooLarge         store.Code = "body_too_large"
	CodeUnsupportedMediaType store.Code = "unsupported_media_type"
	CodeCrossOrigin          store.Code = "cross_origin"
	CodeMethodNotAllowed     store.Code = "method_not_allowed"
	CodeUpgradeRequired      store.Code = "upgrade_required"
)

// Codes of the desktop app's in-process API (docs/desktop.md).
const (
	CodeLocked              store.Code = "locked"
	CodeNeedsConnection     store.Code = "needs_connection"
	CodeWrongPIN            store.Code = "wrong_pin"
	CodeWiped               store.Code = "wiped"
	CodeCertificateMismatch store.Code = "certificate_mismatch"
	CodeWrongPhase          store.Code = "wrong_phase"
	CodeOfflineTooLong      store.Code = "offline_too_long"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[store.Code]int{
	store.CodeInvalid:            http.StatusUnprocessableEntity,
	store.CodeNotFound:           http.StatusNotFound,
	store.CodeForbidden:          http.StatusForbidden,
	store.CodeUnauthenticated:    http.StatusUnauthorized,
	store.CodeInvalidCredentials: http.StatusUnauthorized,
	store.CodeTooManyAttempts:    http.StatusTooManyRequests,
	store.CodeConflict:           http.StatusConflict,
	store.CodeUsernameTaken:      http.StatusConflict,
	store.CodeLastAdmin:          http.StatusConflict,
	store.CodeWouldLockOut:       http.StatusConflict,
	store.CodeLastAdminDevice:    http.StatusConflict,
	store.CodeSetupDone:          http.StatusConflict,
	store.CodeSetupTokenInvalid:  http.StatusForbidden,
	store.CodeImportInvalidRows:  http.StatusUnprocessableEntity,
	store.CodeDevicePending:      http.StatusForbidden,
	store.CodeDeviceBlocked:      http.StatusForbidden,
	store.CodeOutsideIPRange:     http.StatusForbidden,
	store.CodeDeviceProofInvalid: http.StatusUnauthorized,
	store.CodeLicenseInvalid:     http.StatusNotFound,
	store.CodeLicenseInUse:       http.StatusConflict,
	store.CodeLinkInvalid:        http.StatusGone,
	store.CodeInternal:           http.StatusInternalServerError,
	CodeInvalidJSON:              http.StatusBadRequest,
	CodeUnknownField:             http.StatusBadRequest,
	CodeBodyTooLarge:             http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType:     http.StatusUnsupportedMediaType,
	CodeCrossOrigin:              http.StatusForbidden,
	CodeMethodNotAllowed:         http.StatusMethodNotAllowed,
	CodeUpgradeRequired:          http.StatusUpgradeRequired,
	CodeLocked:                   http.StatusLocked,
	CodeNeedsConnection:          http.StatusServiceUnavailable,
	CodeWrongPIN:                 http.StatusForbidden,
	CodeWiped:                    http.StatusGone,
	CodeCertificateMismatch:      http.StatusBadGateway,
	CodeWrongPhase:               http.StatusConflict,
	CodeOfflineTooLong:           http.StatusLocked,
}

// Status returns the HTTP status of an error code.
func Status(code store.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WriteJSON writes v with a status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError answers with err as the API's error body. Errors that are not *store.Error are logged and reported
// as "internal", so no detail of a failure leaks to the client.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	WriteErrorWith(w, r, err, nil)
}

// WriteErrorWith answers with err and extra members of the error object, such as an import's preview or a
// pending device's security code.
func WriteErrorWith(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) {
	var e *store.Error
	if !errors.As(err, &e) {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &store.Error{Code: store.CodeInternal, Message: "internal error"}
	}
	detail := map[string]any{"code": e.Code, "message": e.Message}
	if len(e.Fields) > 0 {
		detail["fields"] = e.Fields
	}
	for k, v := range extra {
		detail[k] = v
	}
	WriteJSON(w, Status(e.Code), map[string]any{"error": detail})
}

// Decode reads a JSON body into v: it must be JSON, at most limit bytes, one value, and have no unknown fields.
// Every failure is an *store.Error with a code the UI understands.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return store.Errorf(CodeUnsupportedMediaType, "send Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err)
		}
		return store.Errorf(CodeInvalidJSON, "body must be a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return store.Errorf(CodeBodyTooLarge, "body larger than %d bytes", tooLarge.Limit)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return store.Errorf(CodeInvalidJSON, "malformed JSON")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return store.Errorf(CodeInvalidJSON, "body must be a JSON object")
		}
		return &store.Error{Code: store.CodeInvalid, Message: "wrong type for " + field, Fields: map[string]string{field: store.FieldInvalid}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &store.Error{Code: CodeUnknownField, Message: "unknown field " + strconv.Quote(name), Fields: map[string]string{name: "unknown"}}
	default:
		return store.Errorf(CodeInvalidJSON, "malformed JSON")
	}
}

// List is the shape of every list answer.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

const (
	defaultPage = 500
	maxPage     = 1000
)

// WriteList answers with one page of items. The cursor is opaque to clients.
func WriteList[T any](w http.ResponseWriter, r *http.Request, items []T) {
	limit := defaultPage
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			WriteError(w, r, &store.Error{Code: store.CodeInvalid, Message: "limit must be 1-1000", Fields: map[string]string{"limit": store.FieldOutOfRange}})
			return
		}
		limit = n
	}
	offset := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "o"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(raw), "o") {
			WriteError(w, r, &store.Error{Code: store.CodeInvalid, Message: "bad cursor", Fields: map[string]string{"cursor": store.FieldInvalid}})
			return
		}
		offset = n
	}
	if items == nil {
		items = []T{}
	}
	page := List[T]{Items: items[min(offset, len(items)):min(offset+limit, len(items))]}
	if offset+limit < len(items) {
		page.NextCursor = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "o%d", offset+limit))
	}
	WriteJSON(w, http.StatusOK, page)
}

type actorKey struct{}

// WithActor returns a context that carries who is asking; the host's authentication puts it there.
func WithActor(ctx context.Context, a store.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns who is asking, if anyone logged in.
func ActorFrom(ctx context.Context) (store.Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(store.Actor)
	return a, ok
}
