package notify

import (
	"net/url"
	"strings"
)

// Masked is what a secret is shown as.
const Masked = "••••"

// Redact replaces every occurrence of each non-empty secret in s, raw or
// URL-escaped, by Masked.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for _, form := range []string{sec, url.PathEscape(sec), url.QueryEscape(sec)} {
			s = strings.ReplaceAll(s, form, Masked)
		}
	}
	return s
}

// MaskURL renders a secret URL for display: scheme, host and path with the
// last path segment masked, without user info, query or fragment (a Slack
// webhook shows as https://hooks.slack.com/services/T0/B0/••••). A value
// that does not parse as a URL is masked whole.
func MaskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Masked
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if i := strings.LastIndex(path, "/"); i >= 0 {
		path = path[:i]
	}
	out := u.Scheme + "://" + u.Host + path + "/" + Masked
	if u.RawQuery != "" {
		out += "?" + Masked
	}
	return out
}

// MaskToken renders a secret token for display: Masked, followed by its
// last four characters when it is long enough (20 characters or more) for
// them to give nothing away.
func MaskToken(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) >= 20:
		return Masked + s[len(s)-4:]
	default:
		return Masked
	}
}
