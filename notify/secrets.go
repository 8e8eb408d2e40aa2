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

// URLSecrets returns the parts of a secret URL that must not appear in an
// error: the URL itself, its path (when it has more than one segment),
// its password and each query value.
func URLSecrets(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	if strings.Count(strings.Trim(u.Path, "/"), "/") > 0 {
		out = append(out, u.Path)
	}
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 {
				out = append(out, v)
			}
		}
	}
	return out
}

// StripCredentials returns a site URL fit for a message: without user
// info (user:password@). The program builds Message.URL with it; a value
// that does not parse is returned without anything up to an '@' in its
// authority.
func StripCredentials(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if scheme, rest, ok := strings.Cut(raw, "://"); ok {
			if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.ContainsAny(rest[:at], "/?#") {
				return scheme + "://" + rest[at+1:]
			}
		}
		return raw
	}
	u.User = nil
	return u.String()
}
