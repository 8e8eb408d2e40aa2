package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrCode is the machine-readable class of an API error.
type ErrCode string

// The error codes an endpoint may answer with.
const (
	Canceled           ErrCode = "canceled"
	Unknown            ErrCode = "unknown"
	InvalidArgument    ErrCode = "invalid_argument"
	DeadlineExceeded   ErrCode = "deadline_exceeded"
	NotFound           ErrCode = "not_found"
	AlreadyExists      ErrCode = "already_exists"
	PermissionDenied   ErrCode = "permission_denied"
	ResourceExhausted  ErrCode = "resource_exhausted"
	FailedPrecondition ErrCode = "failed_precondition"
	Aborted            ErrCode = "aborted"
	OutOfRange         ErrCode = "out_of_range"
	Unimplemented      ErrCode = "unimplemented"
	Internal           ErrCode = "internal"
	Unavailable        ErrCode = "unavailable"
	DataLoss           ErrCode = "data_loss"
	Unauthenticated    ErrCode = "unauthenticated"
)

// statusByCode is the one table mapping error codes to HTTP status codes.
var statusByCode = map[ErrCode]int{
	Canceled:           499,
	Unknown:            http.StatusInternalServerError,
	InvalidArgument:    http.StatusBadRequest,
	DeadlineExceeded:   http.StatusGatewayTimeout,
	NotFound:           http.StatusNotFound,
	AlreadyExists:      http.StatusConflict,
	PermissionDenied:   http.StatusForbidden,
	ResourceExhausted:  http.StatusTooManyRequests,
	FailedPrecondition: http.StatusBadRequest,
	Aborted:            http.StatusConflict,
	OutOfRange:         http.StatusBadRequest,
	Unimplemented:      http.StatusNotImplemented,
	Internal:           http.StatusInternalServerError,
	Unavailable:        http.StatusServiceUnavailable,
	DataLoss:           http.StatusInternalServerError,
	Unauthenticated:    http.StatusUnauthorized,
}

// HTTPStatus returns the HTTP status code that answers an error of the given code.
func HTTPStatus(code ErrCode) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an error an endpoint answers with; it is written as
// {"code": "...", "message": "...", "details": ...}.
type Error struct {
	// Code classifies the error and selects the HTTP status.
	Code ErrCode `json:"code"`
	// Message is a human-readable explanation, safe to show to the caller.
	Message string `json:"message"`
	// Details carries optional structured data, such as the offending field.
	Details any `json:"details"`

	// RetryAfter is sent as the Retry-After header of a 429 answer;
	// zero sends DefaultRetryAfter.
	RetryAfter time.Duration `json:"-"`

	// status overrides the HTTP status derived from Code (used for 413).
	status int
}

// DefaultRetryAfter is the Retry-After of a 429 answer whose error does
// not say when to retry.
const DefaultRetryAfter = 60 * time.Second

// SetRetryAfter sets the Retry-After header (whole seconds, at least 1)
// when e is answered 429 Too Many Requests; every 429 carries one.
func SetRetryAfter(w http.ResponseWriter, e *Error) {
	if e.Status() != http.StatusTooManyRequests {
		return
	}
	d := e.RetryAfter
	if d <= 0 {
		d = DefaultRetryAfter
	}
	secs := int64((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
}

// Error implements the error interface.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Status returns the HTTP status code the error is answered with.
func (e *Error) Status() int {
	if e.status != 0 {
		return e.status
	}
	return HTTPStatus(e.Code)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code ErrCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an invalid_argument error naming the offending field in
// its message and in details as {"field": field}.
func FieldError(field, format string, args ...any) *Error {
	return &Error{
		Code:    InvalidArgument,
		Message: field + ": " + fmt.Sprintf(format, args...),
		Details: map[string]string{"field": field},
	}
}

// ErrBodyTooLarge is answered when a request body exceeds MaxBodyBytes.
var ErrBodyTooLarge = &Error{
	Code:    ResourceExhausted,
	Message: "request body too large",
	status:  http.StatusRequestEntityTooLarge,
}

// ErrNotFoundEndpoint is answered for a route that does not exist.
var ErrNotFoundEndpoint = &Error{Code: NotFound, Message: "endpoint not found"}

// AsError converts any error into an *Error: an *Error in the chain is
// returned as is, context errors map to canceled and deadline_exceeded, and
// anything else becomes an internal error whose text is not exposed.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Code: Canceled, Message: "request canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: DeadlineExceeded, Message: "deadline exceeded"}
	}
	return &Error{Code: Internal, Message: "internal error"}
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code ErrCode) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
