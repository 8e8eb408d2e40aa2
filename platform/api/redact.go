package api

import (
	"net/http"
	"strings"
)

// Redacted replaces a secret in a logged path or URL.
const Redacted = "REDACTED"

// RedactPath returns a request path or URL fit for a log line: the token
// segment of /push/{token}, the userinfo of every URL in it
// (/ping/https://user:pass@host/) and the value of every query
// parameter are replaced with Redacted. Every log line that carries a
// path or a URL goes through it.
func RedactPath(p string) string {
	path, query, hasQuery := strings.Cut(p, "?")
	if rest, ok := strings.CutPrefix(path, "/push/"); ok && rest != "" {
		_, tail, _ := strings.Cut(rest, "/")
		path = "/push/" + Redacted
		if tail != "" {
			path += "/" + tail
		}
	}
	path = redactUserinfo(path)
	if !hasQuery {
		return path
	}
	return path + "?" + redactQuery(query)
}

// RedactRequest is RedactPath of r's path and query.
func RedactRequest(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return RedactPath(r.URL.Path)
	}
	return RedactPath(r.URL.Path + "?" + r.URL.RawQuery)
}

// redactUserinfo replaces user[:password] in every "scheme://user@host".
func redactUserinfo(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?#")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndexByte(s[:end], '@'); at >= 0 {
			b.WriteString(Redacted)
			s = s[at:]
		}
	}
}

// redactQuery keeps a query's parameter names and drops their values.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, kv := range parts {
		if k, _, ok := strings.Cut(kv, "="); ok {
			parts[i] = k + "=" + Redacted
		}
	}
	return strings.Join(parts, "&")
}
