package site

import (
	"context"
	"maps"
	"net/url"
	"strings"
)

// Redacted is what replaces a secret that a caller may not see: header
// values, a request body, a URL's password and secret-named query values
// (docs/security.md). A value holding it is refused on writes, so an
// export made with a read-only token cannot write it back as a secret.
const Redacted = "••••"

// Access is how much of a site's secrets a caller may see.
type Access int

// Access levels, least first. A context without one is AccessPublic.
const (
	// AccessPublic is an anonymous reader (--public-read): secrets
	// redacted.
	AccessPublic Access = iota
	// AccessRead is a read-only token or session: secrets redacted.
	AccessRead
	// AccessWrite is a read-write token or session, or any caller of a
	// server without tokens: everything.
	AccessWrite
)

type accessKey struct{}

// WithAccess returns ctx carrying the caller's access; the HTTP server
// sets it for every request.
func WithAccess(ctx context.Context, a Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the caller's access carried by ctx, AccessPublic
// when none is set (secrets are shown only to callers known to be
// allowed).
func AccessFrom(ctx context.Context) Access {
	a, _ := ctx.Value(accessKey{}).(Access)
	return a
}

// SeesSecrets reports whether a caller with this access sees header
// values, bodies, push tokens and URL credentials.
func (a Access) SeesSecrets() bool { return a >= AccessWrite }

// secretQueryWords are the fragments that make a query key secret.
var secretQueryWords = []string{"token", "key", "secret", "password", "passwd", "pwd", "signature", "auth", "credential", "session"}

// secretQueryExact are short query keys that are secret as a whole word.
var secretQueryExact = map[string]bool{"sig": true, "pass": true, "code": true}

// IsSecretQueryKey reports whether a URL query key names a credential
// (token, api_key, X-Amz-Signature, password, …).
func IsSecretQueryKey(k string) bool {
	k = strings.ToLower(k)
	if secretQueryExact[k] {
		return true
	}
	for _, w := range secretQueryWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// RedactURL returns a site URL with its credentials replaced by Redacted:
// the password of user:pass@ and the values of secret-named query keys.
// Everything else is kept as given (scheme-less URLs stay scheme-less).
// A URL it cannot read is redacted whole.
func RedactURL(u string) string {
	rest, frag, hasFrag := strings.Cut(u, "#")
	head, query, hasQuery := strings.Cut(rest, "?")
	out := redactUserinfo(head)
	if hasQuery {
		out += "?" + redactQuery(query)
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// splitAuthority splits the part of a URL before its query into what
// precedes the user information, the user information (without its "@";
// hasUser reports whether there is one) and the host and path after it.
func splitAuthority(head string) (prefix, userinfo, rest string, hasUser bool) {
	auth := head
	if i := strings.Index(head, "://"); i >= 0 {
		prefix, auth = head[:i+3], head[i+3:]
	}
	host, path := auth, ""
	if i := strings.IndexByte(auth, '/'); i >= 0 {
		host, path = auth[:i], auth[i:]
	}
	at := strings.LastIndexByte(host, '@')
	if at < 0 {
		return prefix, "", auth, false
	}
	return prefix, host[:at], host[at+1:] + path, true
}

// redactUserinfo replaces the password in the authority part of head, or
// a lone user name (often a token: https://TOKEN@host).
func redactUserinfo(head string) string {
	prefix, userinfo, rest, hasUser := splitAuthority(head)
	if !hasUser {
		return head
	}
	user, _, hasPass := strings.Cut(userinfo, ":")
	if !hasPass {
		return prefix + Redacted + "@" + rest
	}
	return prefix + user + ":" + Redacted + "@" + rest
}

// redactQuery replaces the values of secret-named keys in a raw query,
// keeping the rest byte for byte.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, hasVal := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasVal && IsSecretQueryKey(name) {
			parts[i] = k + "=" + Redacted
		}
	}
	return strings.Join(parts, "&")
}

// PublicURL is how a public surface (status page, badges) may show a
// site that has no name: its host and path, never userinfo, query or
// fragment. "" when the URL cannot be read.
func PublicURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	u, _, _ = strings.Cut(u, "?")
	if prefix, _, rest, hasUser := splitAuthority(u); hasUser {
		u = prefix + rest
	}
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "push:"):
		return u
	case strings.HasPrefix(lower, "dns:"):
		t, err := ParseDNS(u)
		if err != nil {
			return ""
		}
		return "dns:" + t.Name
	case strings.HasPrefix(lower, "tcp://"):
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return ""
		}
		return "tcp://" + p.Host
	case strings.HasPrefix(lower, "icmp:"):
		h, err := ParseICMP(u)
		if err != nil {
			return ""
		}
		return "icmp:" + h
	case strings.HasPrefix(lower, "grpc://"), strings.HasPrefix(lower, "grpcs://"),
		strings.HasPrefix(lower, "ws://"), strings.HasPrefix(lower, "wss://"):
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return ""
		}
		return strings.ToLower(p.Scheme) + "://" + p.Host + p.Path
	}
	p, err := CheckURL(u)
	if err != nil {
		return ""
	}
	return p.Host + p.Path
}

// RedactedFor returns st as a caller with access a may see it: st itself
// for AccessWrite; otherwise a copy with header values, the body, URL
// credentials, the push token and push URL redacted. st is not changed
// (listed sites share their settings).
func (st *Site) RedactedFor(a Access) *Site {
	if a.SeesSecrets() {
		return st
	}
	out := *st
	out.URL = RedactURL(st.URL)
	out.Settings = st.Settings.redacted()
	out.PushToken, out.PushURL = "", ""
	return &out
}

// redacted returns s with its header values and body redacted; s is not
// changed.
func (s Settings) redacted() Settings {
	if len(s.Headers) > 0 {
		s.Headers = maps.Clone(s.Headers)
		for k := range s.Headers {
			s.Headers[k] = Redacted
		}
	}
	if s.Body != "" {
		s.Body = Redacted
	}
	if s.WSSend != "" {
		s.WSSend = Redacted
	}
	return s
}

// errHoldsRedacted is the message of a value that holds Redacted.
const errHoldsRedacted = "holds the redaction marker " + Redacted + " (from a read-only view or export): give the real value"
