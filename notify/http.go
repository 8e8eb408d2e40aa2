package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/otel/trace"

	"upmon/platform/tracing"
)

// DefaultUserAgent names upmon in every request a channel makes.
const DefaultUserAgent = "upmon-notify/1.0 (+https://github.com/upmon/upmon)"

// DefaultTimeout bounds one delivery attempt over HTTP.
const DefaultTimeout = 10 * time.Second

// maxRetryAfter caps the delay a service may ask for.
const maxRetryAfter = time.Hour

// HTTPOptions configures an HTTPClient. The zero value is usable.
type HTTPOptions struct {
	// Timeout bounds one request, from dial to the end of the body read.
	// Default DefaultTimeout.
	Timeout time.Duration
	// Transport carries the requests; default a transport with dial, TLS
	// and header timeouts, no proxy. A caller may pass one that applies
	// the outbound address policy.
	Transport http.RoundTripper
	// UserAgent is sent with every request; default DefaultUserAgent.
	UserAgent string
	// MaxBody bounds how much of an answer is read; default 64 KiB.
	MaxBody int64
	// Now is the clock for Retry-After dates; default time.Now.
	Now func() time.Time
}

// HTTPClient is the HTTP helper the kinds share: bounded body reads,
// timeouts, no redirects, a User-Agent naming upmon, and the mapping of
// an answer to a typed error.
type HTTPClient struct {
	c       *http.Client
	ua      string
	maxBody int64
	now     func() time.Time
}

// NewHTTPClient returns an HTTPClient with o's settings.
func NewHTTPClient(o HTTPOptions) *HTTPClient {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Transport == nil {
		d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
		o.Transport = &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &HTTPClient{
		c: &http.Client{
			Timeout:       o.Timeout,
			Transport:     o.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ua:      o.UserAgent,
		maxBody: o.MaxBody,
		now:     o.Now,
	}
}

// Request is one HTTP request of a kind.
type Request struct {
	// Method is the HTTP method; default POST.
	Method string
	// URL is the full URL. It is never put in an error: it may hold a
	// secret (a webhook path, a bot token).
	URL string
	// Header holds extra headers.
	Header http.Header
	// ContentType is the body's type; default application/json.
	ContentType string
	// Body is the request body.
	Body []byte
	// Secrets are scrubbed from any text of the answer put in an error.
	Secrets []string
	// RetryAfterFromBody, if set, reads a retry delay from a failed
	// answer's body (Telegram's parameters.retry_after, Matrix's
	// retry_after_ms) when the header gives none.
	RetryAfterFromBody func(body []byte) (time.Duration, bool)
}

// Response is a successful (2xx) answer.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header holds the answer's headers.
	Header http.Header
	// Body is the answer's body, at most MaxBody bytes.
	Body []byte
}

// Do sends r for kind (the kind's name prefixes every error). A 2xx answer
// is returned; any other outcome is an error: permanent for a refusal (4xx
// but 408, 425 and 429, and 3xx), retryable for 429, 408, 425, 5xx and
// network failures, carrying the Retry-After delay when the service gave
// one. No error text contains the URL or one of r.Secrets.
func (c *HTTPClient) Do(ctx context.Context, kind string, r Request) (resp *Response, err error) {
	// A traced caller gets a client span per send, and the service the
	// W3C traceparent header; the URL (it may hold a secret) is not
	// recorded. Untraced, this costs nothing.
	ctx, span := tracing.Child(ctx, "upmon/notify", "notify."+kind, trace.SpanKindClient)
	defer func() { tracing.End(span, err) }()
	return c.do(ctx, kind, r)
}

func (c *HTTPClient) do(ctx context.Context, kind string, r Request) (*Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, Permanent(fmt.Errorf("%s: the URL is invalid", kind))
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("User-Agent", c.ua)
	tracing.InjectHTTP(ctx, req.Header)
	resp, err := c.c.Do(req)
	if err != nil {
		// A *url.Error names the URL, which may hold a secret: report
		// only the class of failure.
		return nil, Retryable(fmt.Errorf("%s: request failed: %s", kind, NetReason(err)), 0)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, c.maxBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if rerr != nil {
			// The service accepted the message: a cut answer is not a
			// reason to send it twice.
			body = nil
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
	}
	return nil, c.classify(kind, resp, body, r)
}

func (c *HTTPClient) classify(kind string, resp *http.Response, body []byte, r Request) error {
	code := resp.StatusCode
	msg := fmt.Sprintf("%s: HTTP %d", kind, code)
	if ex := Excerpt(body, 200, r.Secrets...); ex != "" {
		msg += ": " + ex
	}
	err := errors.New(msg)
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code == http.StatusTooEarly || code >= 500 || code < 200:
		d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		if !ok && r.RetryAfterFromBody != nil {
			d, ok = r.RetryAfterFromBody(body)
			d = min(d, maxRetryAfter)
		}
		if !ok {
			d = 0
		}
		return Retryable(err, d)
	default:
		return Permanent(err)
	}
}

// ParseRetryAfter parses a Retry-After header value: delay-seconds or an
// HTTP-date (relative to now). The delay is capped at one hour; a date in
// the past gives zero.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// NetReason names the class of a network failure without quoting the
// error, whose text may hold the URL.
func NetReason(err error) string {
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "no such host", "EOF", "certificate", "tls"} {
		if strings.Contains(msg, s) {
			return s
		}
	}
	return "network error"
}

// Excerpt returns at most n bytes of an answer's body as one printable
// line, with every secret replaced by "••••".
func Excerpt(body []byte, n int, secrets ...string) string {
	s := Redact(string(body), secrets...)
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
