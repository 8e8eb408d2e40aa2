package monitor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxBodyRead is how much of a response body a check reads before it
// closes the connection.
const MaxBodyRead = 64 << 10

// MaxRedirects is the most redirects a check follows.
const MaxRedirects = 10

// ProberOptions configures a Prober.
type ProberOptions struct {
	// Timeout bounds the whole check: connect, TLS, headers and body.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// TLSClientConfig, if set, replaces the default (system roots, which
	// Go extends with SSL_CERT_FILE and SSL_CERT_DIR).
	TLSClientConfig *tls.Config
}

// Prober runs HTTP checks with bounded time and memory.
type Prober struct {
	client  *http.Client
	timeout time.Duration
	ua      string
}

// Result is the outcome of one check.
type Result struct {
	// Up is true when the site answered with a 2xx or 3xx status.
	Up bool
	// StatusCode is the final HTTP status, or 0 if none was received.
	StatusCode int
	// Latency is the time from the start of the request to the end of the
	// (bounded) body read.
	Latency time.Duration
	// Err is a short reason when the check failed.
	Err string
}

// errTooManyRedirects stops a redirect chain.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// NewProber returns a Prober. It never uses http.DefaultClient or the
// environment's proxy settings.
func NewProber(opts ProberOptions) *Prober {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        opts.TLSClientConfig,
	}
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return errTooManyRedirects
			}
			return nil
		},
	}
	return &Prober{client: client, timeout: opts.Timeout, ua: opts.UserAgent}
}

// TargetURL turns a site URL as stored (scheme-less means https) into the
// URL to request, or reports why it cannot be checked.
func TargetURL(raw string) (string, error) {
	u := raw
	if !strings.Contains(u, "://") {
		u = "https://" + u
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "", errors.New("invalid URL")
	}
	switch strings.ToLower(parsed.Scheme) {
	case "http", "https":
	default:
		return "", fmt.Errorf("unsupported scheme %q", parsed.Scheme)
	}
	if parsed.Hostname() == "" {
		return "", errors.New("URL has no host")
	}
	return parsed.String(), nil
}

// Probe checks rawURL once. A cancelled ctx ends the probe early; the
// caller decides whether that result counts (see Service.Check).
func (p *Prober) Probe(ctx context.Context, rawURL string) Result {
	start := time.Now()
	target, err := TargetURL(rawURL)
	if err != nil {
		return Result{Err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Result{Err: "invalid URL"}
	}
	if p.ua != "" {
		req.Header.Set("User-Agent", p.ua)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Result{Latency: time.Since(start), Err: describeError(err, ctx)}
	}
	// Read a bounded prefix of the body, then close: an endless body ends
	// the read, not the check.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBodyRead))
	resp.Body.Close()
	r := Result{StatusCode: resp.StatusCode, Latency: time.Since(start)}
	r.Up = resp.StatusCode >= 200 && resp.StatusCode < 400
	if !r.Up {
		r.Err = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return r
}

// describeError turns a client error into a short reason without the URL
// (which may carry credentials).
func describeError(err error, ctx context.Context) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, errTooManyRedirects):
		return err.Error()
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &certErr):
		return "TLS certificate: " + shorten(certErr.Err.Error())
	case errors.As(err, &hostErr):
		return "TLS certificate: " + shorten(err.Error())
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "DNS: no such host"
		}
		return "DNS: lookup failed"
	case errors.As(err, &opErr):
		if errors.Is(err, syscall.ECONNREFUSED) {
			return "connection refused"
		}
		if opErr.Timeout() {
			return "timeout"
		}
		return shorten(opErr.Op + ": " + opErr.Err.Error())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return shorten(err.Error())
}

func shorten(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
