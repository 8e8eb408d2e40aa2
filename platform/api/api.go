// Package api is the typed HTTP layer every service registers its endpoints
// with: endpoints are plain Go functions func(ctx, *Req) (*Resp, error), and
// errors are answered as JSON {"code", "message", "details"}.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

// MaxBodyBytes is the largest request body an endpoint accepts.
const MaxBodyBytes = 1 << 20

// RequestTimeout bounds the work of one typed endpoint registered with
// Register (see RegisterWithTimeout for long-running ones).
const RequestTimeout = time.Minute

// Access says who may call an endpoint.
type Access int

const (
	// Public endpoints are served to anyone who can reach the server (subject
	// to the server's authentication policy for reads and writes).
	Public Access = iota
	// Admin endpoints are operator tools under /admin/: reachable from
	// loopback only (or with a read-write token once one is configured).
	Admin
	// Push endpoints authenticate with their own token in the path and
	// stay public when access tokens are configured.
	Push
	// Open endpoints (health, status page, badges) need no token.
	Open
	// Self endpoints act on the caller's own account (profile, personal
	// tokens, sessions): any signed-in caller, whatever the method.
	Self
	// OwnerOnly endpoints manage the installation (users, audit log):
	// owners only.
	OwnerOnly
)

// Endpoint describes one registered endpoint, for introspection.
type Endpoint struct {
	// Service is the name of the service that owns the endpoint.
	Service string
	// Method is the HTTP method.
	Method string
	// Path is the route pattern, without the method.
	Path string
	// Access says who may call it.
	Access Access
	// Mutating is true for methods that change state.
	Mutating bool
	// Request and Response are the Go types of a typed endpoint
	// (Register); both are nil for raw handlers (pages, streams) unless
	// the handler declares the JSON it answers with in Response.
	Request, Response reflect.Type
	// Methods lists, for a HandlePrefix route (which matches any method),
	// the methods its handler answers; it documents, it does not route.
	Methods []string
	// Name is the endpoint's method name in generated clients ("Add",
	// "CheckAll"). Register takes it from the handler's Go name (an
	// "HTTP" suffix dropped); raw handlers answering JSON set it.
	Name string
}

// Server routes HTTP requests to typed endpoints and answers unknown routes
// with a JSON 404.
type Server struct {
	mux      *http.ServeMux
	prefixes []prefixRoute
	log      *slog.Logger
	mu       sync.Mutex
	eps      []Endpoint
	guards   []Guard
	tracer   trace.Tracer
	wrappers []Wrapper
}

type prefixRoute struct {
	prefix string
	h      http.Handler
}

// Guard inspects a request before its endpoint runs; a non-nil error is
// answered instead of calling the endpoint.
type Guard func(r *http.Request, ep Endpoint) error

// Wrapper wraps an endpoint's handler after the guards passed (audit
// records, for example); it sees the endpoint it wraps.
type Wrapper func(ep Endpoint, next http.Handler) http.Handler

// NewServer returns an empty Server that logs internal errors to log.
func NewServer(log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{mux: http.NewServeMux(), log: log}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.WriteError(w, r, ErrNotFoundEndpoint)
	})
	return s
}

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// AddGuard adds a check run before every endpoint, in the order added.
func (s *Server) AddGuard(g Guard) { s.guards = append(s.guards, g) }

// AddWrapper adds a wrapper around every endpoint's handler, the first
// added outermost.
func (s *Server) AddWrapper(w Wrapper) { s.wrappers = append(s.wrappers, w) }

// Endpoints returns the endpoints registered so far, in registration order.
func (s *Server) Endpoints() []Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.eps)
}

// Handle registers a raw handler (pages, streams, metrics) for a pattern.
// The guards still run, with ep describing the route.
func (s *Server) Handle(ep Endpoint, h http.Handler) {
	pattern := ep.Path
	if ep.Method != "" {
		pattern = ep.Method + " " + ep.Path
	}
	s.mux.Handle(pattern, s.guarded(ep, h))
}

func (s *Server) guarded(ep Endpoint, h http.Handler) http.Handler {
	ep.Mutating = isMutating(ep.Method)
	s.mu.Lock()
	s.eps = append(s.eps, ep)
	s.mu.Unlock()
	return s.traced(ep, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ep.Method != "" && r.Method != ep.Method && !(ep.Method == http.MethodGet && r.Method == http.MethodHead) {
			s.WriteError(w, r, ErrNotFoundEndpoint)
			return
		}
		for _, g := range s.guards {
			if err := g(r, ep); err != nil {
				s.WriteError(w, r, err)
				return
			}
		}
		next := h
		for i := len(s.wrappers) - 1; i >= 0; i-- {
			next = s.wrappers[i](ep, next)
		}
		next.ServeHTTP(w, r)
	}))
}

// HandlePrefix routes every request whose raw path starts with prefix to
// h, before the ServeMux sees it: the mux would clean "//" inside the path
// with a redirect, which breaks URLs embedded in paths (/ping/https://…).
// ep.Method is ignored for matching; h checks the method itself.
func (s *Server) HandlePrefix(prefix string, ep Endpoint, h http.Handler) {
	ep.Method = ""
	s.prefixes = append(s.prefixes, prefixRoute{prefix: prefix, h: s.guarded(ep, h)})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, p := range s.prefixes {
		if strings.HasPrefix(r.URL.Path, p.prefix) {
			p.h.ServeHTTP(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func isMutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, "":
		return false
	}
	return true
}

// Register adds a typed endpoint to s. pattern is "METHOD /path/{param}".
// The request is built by decoding the JSON body (for methods with a body;
// whatever the Content-Type) and then filling fields tagged `path:"name"`
// from path parameters and `query:"name"` from the query string. A nil
// response is answered with an empty 200 body.
func Register[Req, Resp any](s *Server, service string, access Access, pattern string, fn func(context.Context, *Req) (*Resp, error)) {
	RegisterWithTimeout(s, service, access, pattern, RequestTimeout, fn)
}

// RegisterWithTimeout is Register with its own bound on the endpoint's
// work; 0 leaves it bounded only by the client's connection.
func RegisterWithTimeout[Req, Resp any](s *Server, service string, access Access, pattern string, timeout time.Duration, fn func(context.Context, *Req) (*Resp, error)) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("api: pattern must be \"METHOD /path\": " + pattern)
	}
	binder := newBinder(reflect.TypeFor[Req]())
	s.Handle(Endpoint{Service: service, Method: method, Path: path, Access: access,
		Request: reflect.TypeFor[Req](), Response: reflect.TypeFor[Resp](), Name: HandlerName(fn)},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := new(Req)
			if err := DecodeBody(w, r, req); err != nil {
				s.WriteError(w, r, err)
				return
			}
			if err := binder.bind(r, reflect.ValueOf(req).Elem()); err != nil {
				s.WriteError(w, r, err)
				return
			}
			// No endpoint runs unbounded: a database that hangs instead of
			// refusing connections ends in a deadline error, not a stuck
			// request.
			ctx := r.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			resp, err := fn(ctx, req)
			if err != nil {
				s.WriteError(w, r, err)
				return
			}
			if resp == nil {
				w.WriteHeader(http.StatusOK)
				return
			}
			WriteJSON(w, http.StatusOK, resp)
		}))
}

// HandlerName is the client method name of a handler function: its Go
// name with an "HTTP" suffix dropped and the first letter upper-cased
// ("(*Service).addHTTP" gives "Add"); "" for a function literal.
func HandlerName(fn any) string {
	f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if f == nil {
		return ""
	}
	name := strings.TrimSuffix(f.Name(), "-fm")
	name = name[strings.LastIndexByte(name, '.')+1:]
	name = strings.TrimSuffix(name, "HTTP")
	r, size := utf8.DecodeRuneInString(name)
	if !unicode.IsLetter(r) || strings.HasPrefix(name, "func") && strings.Trim(name[4:], "0123456789") == "" {
		return ""
	}
	return string(unicode.ToUpper(r)) + name[size:]
}

// DecodeBody decodes r's JSON body into dst, whatever the Content-Type. An
// empty body leaves dst unchanged. It answers 413 for bodies over
// MaxBodyBytes without reading them whole, and invalid_argument for
// malformed JSON, duplicate keys, or trailing data.
func DecodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if r.ContentLength > MaxBodyBytes {
		return ErrBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrBodyTooLarge
		}
		return Errorf(InvalidArgument, "could not read request body")
	}
	return DecodeJSON(body, dst)
}

// DecodeJSON strictly decodes one JSON value from data into dst. Empty (or
// all white space) data leaves dst unchanged.
func DecodeJSON(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if !utf8.Valid(data) {
		// encoding/json would silently turn invalid bytes into U+FFFD.
		return Errorf(InvalidArgument, "invalid JSON body: not valid UTF-8")
	}
	if err := checkDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, ok := dst.(Strict); ok {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return apiErr // a custom decoder already named the field
		}
		return Errorf(InvalidArgument, "invalid JSON body: %s", jsonErrorText(err))
	}
	if dec.More() {
		return Errorf(InvalidArgument, "invalid JSON body: unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(InvalidArgument, "invalid JSON body: unexpected data after the JSON value")
	}
	return nil
}

// Strict is implemented by request types whose JSON bodies must not carry
// unknown fields (a misspelt setting is an error, not silently ignored).
type Strict interface {
	// StrictJSON is a marker method.
	StrictJSON()
}

// jsonErrorText describes a decoding error without echoing arbitrary input.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &ue):
		if ue.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", ue.Field, jsonKind(ue.Type), ue.Value)
		}
		return fmt.Sprintf("expected %s, not %s", jsonKind(ue.Type), ue.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown field " + truncate(strings.TrimPrefix(msg, "json: unknown field "), 64)
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return "malformed value"
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// checkDuplicateKeys rejects JSON objects that repeat a key: which of the
// two values a reader would see is ambiguous, so neither is accepted.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj  bool
		keys map[string]struct{}
		key  bool // next token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // syntax errors are reported by the real decode
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			if _, dup := top.keys[k]; dup {
				return Errorf(InvalidArgument, "invalid JSON body: duplicate key %q", truncate(k, 64))
			}
			top.keys[k] = struct{}{}
			top.key = false
			continue
		}
		if top != nil && top.obj {
			top.key = true
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{obj: true, keys: map[string]struct{}{}, key: true})
			case '[':
				stack = append(stack, &frame{})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var (
		body []byte
		err  error
	)
	if m, ok := v.(json.Marshaler); ok {
		// Our own marshalers write compact, valid JSON; encoding/json
		// would re-scan every byte of a large answer to check that.
		body, err = m.MarshalJSON()
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, `{"code":"internal","message":"internal error","details":null}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// WriteError answers err as a JSON error. Errors that are not *Error are
// logged with their detail and answered as a bare internal error.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	markError(r, e)
	if e.Code == Internal || e.Code == Unknown || e.Code == DataLoss {
		s.log.Error("request failed", "method", r.Method, "path", RedactRequest(r), "err", err)
	}
	if e.Code == Unavailable {
		s.log.Warn("dependency unavailable", "method", r.Method, "path", RedactRequest(r), "err", err)
	}
	SetRetryAfter(w, e)
	WriteJSON(w, e.Status(), e)
}

// binder fills tagged struct fields from path and query parameters.
type binder struct {
	fields []boundField
}

type boundField struct {
	index []int
	name  string
	query bool
}

func newBinder(t reflect.Type) *binder {
	b := &binder{}
	if t.Kind() != reflect.Struct {
		return b
	}
	for _, f := range reflect.VisibleFields(t) {
		if n := f.Tag.Get("path"); n != "" {
			b.fields = append(b.fields, boundField{index: f.Index, name: n})
		} else if n := f.Tag.Get("query"); n != "" {
			b.fields = append(b.fields, boundField{index: f.Index, name: n, query: true})
		}
	}
	return b
}

func (b *binder) bind(r *http.Request, v reflect.Value) error {
	if len(b.fields) == 0 {
		return nil
	}
	q := r.URL.Query()
	for _, f := range b.fields {
		var raw string
		if f.query {
			if !q.Has(f.name) {
				continue
			}
			raw = q.Get(f.name)
		} else {
			raw = r.PathValue(f.name)
		}
		fv := v.FieldByIndex(f.index)
		if err := setField(fv, f.name, raw, !f.query); err != nil {
			return err
		}
	}
	return nil
}

func setField(fv reflect.Value, name, raw string, isID bool) error {
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || (isID && n <= 0) || fv.OverflowInt(n) {
			if isID {
				return FieldError(name, "must be a positive integer")
			}
			return FieldError(name, "must be an integer")
		}
		if n < 0 {
			return FieldError(name, "must not be negative")
		}
		fv.SetInt(n)
	case reflect.Bool:
		bv, err := strconv.ParseBool(raw)
		if err != nil {
			return FieldError(name, "must be true or false")
		}
		fv.SetBool(bv)
	default:
		panic("api: unsupported bound field kind " + fv.Kind().String())
	}
	return nil
}
