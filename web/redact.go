package web

import (
	"context"
	"maps"
	"strconv"

	"upmon/site"
)

// The dashboard shows a site's secrets (header values, the body, URL
// credentials) only to read-write callers: a read-only session and an
// anonymous reader (--public-read) see them as site.Redacted, like the
// API. Public surfaces (status page, badges) never show a URL's user
// information or query at all: a site is named by its name, or by its
// host and path.

// viewSite returns s as the caller of ctx may see it.
func viewSite(ctx context.Context, s *site.Site) *site.Site {
	return s.RedactedFor(site.AccessFrom(ctx))
}

// viewSettings returns st as the caller of ctx may see it: header values
// and the body redacted unless the caller sees secrets.
func viewSettings(ctx context.Context, st SiteSettings) SiteSettings {
	if site.AccessFrom(ctx).SeesSecrets() {
		return st
	}
	if len(st.Headers) > 0 {
		st.Headers = maps.Clone(st.Headers)
		for k := range st.Headers {
			st.Headers[k] = site.Redacted
		}
	}
	if st.Body != "" {
		st.Body = site.Redacted
	}
	if st.WSSend != "" {
		st.WSSend = site.Redacted
	}
	return st
}

// publicName is how public surfaces name a site: its display name, else
// the host and path of its URL, else its id.
func publicName(name string, s *site.Site) string {
	if name != "" {
		return name
	}
	if p := site.PublicURL(s.URL); p != "" {
		return p
	}
	return "site " + strconv.FormatInt(s.ID, 10)
}
