package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"upmon/account"
	"upmon/platform/api"
	"upmon/site"
)

// auditWrapper records every change made through the API or the
// dashboard in the audit log (account.Service.Record): the caller from
// the request's context, the action and target, and the object before
// and after with secrets masked. The accounts service records its own
// changes; sign-in, probes (/check, /ping) and push heartbeats are not
// changes. It applies to every mutating endpoint the route registry
// gives an editor or owner rule, so a new service's change endpoints are
// audited without code of their own.
func (m *Main) auditWrapper(ep api.Endpoint, next http.Handler) http.Handler {
	if !audited(ep) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		before := m.snapshot(r)
		body := readBack(r)
		rec := &bodyRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status >= 300 && rec.status != http.StatusSeeOther && rec.status != http.StatusFound {
			return // refused or failed: nothing changed
		}
		var after any
		switch {
		case r.Method != http.MethodDelete && !strings.HasSuffix(ep.Path, "/delete") && before != nil:
			after = m.snapshot(r)
		case r.Method == http.MethodDelete || strings.HasSuffix(ep.Path, "/delete"):
		case json.Valid(rec.body.Bytes()) && rec.body.Len() > 0:
			after = json.RawMessage(rec.body.Bytes())
		default:
			after = requestFields(r, body)
		}
		if before == nil && after == nil {
			after = map[string]string{}
		}
		m.Accounts.Record(ctx, actionOf(ep), r.URL.Path, before, after)
	})
}

// audited reports whether ep's calls are changes to record.
func audited(ep api.Endpoint) bool {
	role, _ := api.RequiredRole(ep)
	// Owner and self-service endpoints act through the accounts service,
	// which records its own changes.
	if !ep.Mutating || role < api.Editor || ep.Service == account.ServiceName || ep.Access == api.OwnerOnly || ep.Access == api.Self {
		return false
	}
	p := ep.Path
	return !strings.HasPrefix(p, "/check") && !strings.HasSuffix(p, "/check")
}

// actionOf names a change: "site.create", "monitor.delete",
// "channels.ack", ….
func actionOf(ep api.Endpoint) string {
	verb := "create"
	switch {
	case strings.HasSuffix(ep.Path, "/ack"):
		verb = "ack" // an incident's acknowledgement (API and dashboard)
	case ep.Method == http.MethodDelete || strings.HasSuffix(ep.Path, "/delete"):
		verb = "delete"
	case ep.Method == http.MethodPatch || ep.Method == http.MethodPut || strings.HasSuffix(ep.Path, "/settings"):
		verb = "update"
	}
	return ep.Service + "." + verb
}

// snapshot returns the object a change request names, as a viewer sees
// it (secrets redacted by its service), or nil: for the dashboard's site
// forms the site; for PATCH, PUT and DELETE of the API what GET of the
// same path answers (sites, and any service's resource with a GET).
func (m *Main) snapshot(r *http.Request) any {
	ctx := site.WithAccess(r.Context(), site.AccessRead)
	if strings.HasPrefix(r.URL.Path, "/frontend/") {
		id, err := strconv.ParseInt(r.PathValue("siteID"), 10, 64)
		if err != nil || id <= 0 {
			return nil
		}
		st, err := m.Site.Get(ctx, &site.GetParams{ID: id})
		if err != nil {
			return nil
		}
		return st.RedactedFor(site.AccessRead)
	}
	switch r.Method {
	case http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return nil
	}
	get, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL.Path, nil)
	if err != nil {
		return nil
	}
	get.RemoteAddr = r.RemoteAddr
	rec := &bodyRecorder{ResponseWriter: discard{}, status: http.StatusOK}
	m.api.ServeHTTP(rec, get)
	if rec.status != http.StatusOK || !json.Valid(rec.body.Bytes()) || rec.body.Len() == 0 {
		return nil
	}
	return json.RawMessage(bytes.Clone(rec.body.Bytes()))
}

// discard is a ResponseWriter that keeps nothing (bodyRecorder keeps
// what snapshot needs).
type discard struct{}

// Header implements http.ResponseWriter.
func (discard) Header() http.Header { return http.Header{} }

// Write implements http.ResponseWriter.
func (discard) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader implements http.ResponseWriter.
func (discard) WriteHeader(int) {}

// readBack reads a request's body (up to api.MaxBodyBytes) and puts it
// back for the handler.
func readBack(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, api.MaxBodyBytes+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
	return b
}

// requestFields is what a change asked for, for its audit record: the
// JSON body, or the form's fields (Record masks the secret ones).
func requestFields(r *http.Request, body []byte) any {
	if json.Valid(body) {
		return json.RawMessage(body)
	}
	q, err := url.ParseQuery(string(body))
	if err != nil || len(q) == 0 {
		return nil
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		if k != "csrf" && len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// bodyRecorder keeps a response's status and the start of its body.
type bodyRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

// WriteHeader implements http.ResponseWriter.
func (w *bodyRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *bodyRecorder) Write(b []byte) (int, error) {
	if w.body.Len() < 64<<10 {
		w.body.Write(b[:min(len(b), 64<<10-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the server's ResponseWriter.
func (w *bodyRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
