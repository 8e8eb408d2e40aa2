package notify

import (
	"fmt"
	"net/url"
	"strings"
)

// Settings is a kind's settings struct (JSON field names are the
// setting names). Validate checks it and fills derived defaults; its
// errors are *FieldError naming the setting.
type Settings interface {
	// Validate checks the settings.
	Validate() error
}

// FieldError is a settings error that names the setting.
type FieldError struct {
	// Field is the setting's JSON name, such as "webhook_url".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Fieldf returns a *FieldError for field.
func Fieldf(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Required returns a *FieldError when v is blank.
func Required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Fieldf(field, "is required")
	}
	return nil
}

// CheckURL returns a *FieldError unless v is an absolute http or https
// URL with a host. The error never quotes v (it may be a secret).
func CheckURL(field, v string, required bool) error {
	if v == "" {
		if required {
			return Fieldf(field, "is required")
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return Fieldf(field, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Fieldf(field, "must be an http or https URL")
	}
	if u.Host == "" {
		return Fieldf(field, "must have a host")
	}
	return nil
}

// OneOf returns a *FieldError unless v is one of allowed.
func OneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return Fieldf(field, "must be one of %s", strings.Join(allowed, ", "))
}

// JoinURL appends path to a base URL (an api_url), keeping the base's own
// path (for a service behind a sub-path).
func JoinURL(base, path string) string {
	return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(path, "/")
}

// First returns the first error that is not nil.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
