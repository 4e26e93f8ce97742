package store

import (
	"errors"
	"fmt"
)

// Code is a stable error code that both hosts send to the UI, which translates it.
type Code string

const (
	CodeInvalid            Code = "validation_failed"
	CodeNotFound           Code = "not_found"
	CodeForbidden          Code = "forbidden"
	CodeUnauthenticated    Code = "unauthenticated"
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeTooManyAttempts    Code = "too_many_attempts"
	CodeConflict           Code = "conflict"
	CodeUsernameTaken      Code = "username_taken"
	CodeLastAdmin          Code = "last_admin"
	CodeWouldLockOut       Code = "would_lock_out"
	CodeLastAdminDevice    Code = "last_admin_device"
	CodeSetupDone          Code = "setup_done"
	CodeSetupTokenInvalid  Code = "setup_token_invalid"
	CodeImportInvalidRows  Code = "import_invalid_rows"
	CodeDevicePending      Code = "device_pending"
	CodeDeviceBlocked      Code = "device_blocked"
	CodeOutsideIPRange     Code = "outside_ip_range"
	CodeInternal           Code = "internal"
)

// Field error codes name what is wrong with one input.
const (
	FieldRequired     = "required"
	FieldTooLong      = "too_long"
	FieldTooShort     = "too_short"
	FieldInvalid      = "invalid"
	FieldInvalidDate  = "invalid_date"
	FieldInvalidTime  = "invalid_time"
	FieldTaken        = "taken"
	FieldOutOfRange   = "out_of_range"
	FieldNotEnrolled  = "not_enrolled"
	FieldUnknownValue = "unknown_value"
)

// Error is an error a user may see: a stable code, a message for developers and logs, and the inputs that were bad.
// Anything that is not an *Error is reported to users as "internal".
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Fields)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// FieldErrors collects per-field problems during validation.
type FieldErrors map[string]string

// Add records the first problem of a field.
func (f FieldErrors) Add(field, code string) {
	if _, ok := f[field]; !ok {
		f[field] = code
	}
}

// Err returns a validation error, or nil when nothing was added.
func (f FieldErrors) Err(what string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "invalid " + what, Fields: map[string]string(f)}
}

func notFound(what string) error {
	return Errorf(CodeNotFound, "%s not found", what)
}
