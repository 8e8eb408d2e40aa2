package site

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"upmon/platform/api"
)

// MaxURLBytes is the longest URL a site may have.
const MaxURLBytes = 2048

// ValidateURL checks a site URL as the user gave it and returns it with
// surrounding white space trimmed. It must be non-empty, at most
// MaxURLBytes, valid UTF-8 without white space or control characters, and
// either http(s):// with a host or scheme-less (https is then implied).
func ValidateURL(raw string) (string, error) {
	u := strings.TrimSpace(raw)
	if u == "" {
		return "", api.FieldError("url", "must not be empty")
	}
	if len(u) > MaxURLBytes {
		return "", api.FieldError("url", "must be at most %d bytes", MaxURLBytes)
	}
	if !utf8.ValidString(u) {
		return "", api.FieldError("url", "must be valid UTF-8")
	}
	for _, r := range u {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", api.FieldError("url", "must not contain white space or control characters")
		}
	}
	if _, err := CheckURL(u); err != nil {
		return "", err
	}
	return u, nil
}

// CheckURL returns the URL a stored site URL is checked at: scheme-less
// URLs get https://. It fails unless the result is http(s) with a host.
func CheckURL(u string) (*url.URL, error) {
	full := u
	if !strings.Contains(u, "://") {
		full = "https://" + u
	}
	parsed, err := url.Parse(full)
	if err != nil {
		return nil, api.FieldError("url", "is not a valid URL")
	}
	switch strings.ToLower(parsed.Scheme) {
	case "http", "https":
	default:
		return nil, api.FieldError("url", "scheme must be http or https")
	}
	if parsed.Hostname() == "" {
		return nil, api.FieldError("url", "must have a host")
	}
	return parsed, nil
}
