package monitor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"

	"upmon/platform/netguard"
	"upmon/site"
)

// MaxBodyRead is how much of a response body a check reads before it
// closes the connection.
const MaxBodyRead = 64 << 10

// MaxRedirects is the most redirects a check follows.
const MaxRedirects = 10

// ProberOptions configures a Prober.
type ProberOptions struct {
	// Timeout is the default time limit of one attempt.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// TLSClientConfig, if set, replaces the default (system roots, which
	// Go extends with SSL_CERT_FILE and SSL_CERT_DIR).
	TLSClientConfig *tls.Config
	// Dialer, if set, replaces the network dialer (the outbound policy
	// that refuses private addresses plugs in here).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Resolver is the operator's DNS server (host:port) that dns: checks
	// without a server of their own ask; empty uses /etc/resolv.conf. The
	// operator chose it, so it is dialled without Dialer's policy.
	Resolver string
	// DenyPrivate makes dns: checks refuse A and AAAA answers that the
	// outbound policy (platform/netguard) refuses.
	DenyPrivate bool
}

// Prober runs checks with bounded time and memory. It never uses
// http.DefaultClient or the environment's proxy settings.
type Prober struct {
	opts ProberOptions
	// clients by [reuse][follow]: a shared transport keeps connections
	// between checks; the fresh one opens a new connection every time.
	clients [2][2]*http.Client
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	// icmpListen opens ICMP sockets; nil means icmp.ListenPacket (tests
	// replace it to refuse one kind of socket).
	icmpListen func(network, address string) (*icmp.PacketConn, error)
}

// Spec says what to check and how; see SpecOf.
type Spec struct {
	// Kind is http, tcp, dns, icmp, grpc, websocket or push.
	Kind string
	// URL is the site URL as stored.
	URL string
	// Method, Headers and Body shape an HTTP request.
	Method  string
	Headers map[string]string
	Body    string
	// Expected are the status ranges that count as up (default 200-399).
	Expected [][2]int
	// FollowRedirects follows up to MaxRedirects redirects.
	FollowRedirects bool
	// WSSend is sent after a websocket handshake.
	WSSend string
	// Keyword must appear in the body, or in a websocket's first reply
	// (or must not, with KeywordAbsent).
	Keyword       string
	KeywordAbsent bool
	// JSONPath are assertions on a JSON body.
	JSONPath []site.Assertion
	// Timeout bounds one attempt.
	Timeout time.Duration
	// MaxLatency marks a slower success as slow (degraded); 0 disables.
	MaxLatency time.Duration
	// Reuse keeps connections open between checks.
	Reuse bool
	// Retries are extra attempts after a failure, RetryDelay apart.
	Retries    int
	RetryDelay time.Duration
}

// SpecOf builds the check spec of a site (settings already filled).
func SpecOf(st *site.Site) Spec {
	sp := Spec{
		Kind:            st.Kind,
		URL:             st.URL,
		Method:          st.Method,
		Headers:         st.Headers,
		Body:            st.Body,
		FollowRedirects: st.FollowRedirects == nil || *st.FollowRedirects,
		Keyword:         st.Keyword,
		KeywordAbsent:   st.KeywordMode == "absent",
		JSONPath:        st.JSONPath,
		Timeout:         st.Timeout.D(),
		MaxLatency:      st.MaxLatency.D(),
		Reuse:           st.ReuseConnections,
		Retries:         st.Retries,
		WSSend:          st.WSSend,
	}
	for _, e := range st.ExpectedStatus {
		if lo, hi, ok := site.ParseStatusRange(e); ok {
			sp.Expected = append(sp.Expected, [2]int{lo, hi})
		}
	}
	sp.RetryDelay = min(time.Second, max(sp.Timeout/4, 100*time.Millisecond))
	return sp
}

// Result is the outcome of one check.
type Result struct {
	// Up is true when the site passed every condition of its check.
	Up bool
	// Slow is true when it was up but slower than its max_latency.
	Slow bool
	// StatusCode is the final HTTP status, or 0 if none was received.
	StatusCode int
	// Latency is the time of the last attempt, to the end of the
	// (bounded) body read.
	Latency time.Duration
	// DNS, Connect, TLS and FirstByte are the parts of Latency.
	DNS, Connect, TLS, FirstByte time.Duration
	// TLSDaysLeft is the days until the server certificate expires
	// (https only).
	TLSDaysLeft *int
	// TLSExpires is when it expires.
	TLSExpires time.Time
	// Err is a short reason when the check failed (or was slow).
	Err string
	// Attempts counts the attempts made (1 + retries used).
	Attempts int
}

// errTooManyRedirects stops a redirect chain.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// NewProber returns a Prober.
func NewProber(opts ProberOptions) *Prober {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	p := &Prober{opts: opts}
	p.dial = opts.Dialer
	if p.dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		p.dial = d.DialContext
	}
	for reuse := range 2 {
		tr := &http.Transport{
			Proxy:                  nil,
			DialContext:            p.dial,
			TLSHandshakeTimeout:    opts.Timeout,
			ExpectContinueTimeout:  time.Second,
			MaxIdleConns:           1024,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			ForceAttemptHTTP2:      true,
			DisableKeepAlives:      reuse == 0,
			TLSClientConfig:        opts.TLSClientConfig,
		}
		for follow := range 2 {
			c := &http.Client{Transport: tr}
			if follow == 1 {
				c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
					if len(via) > MaxRedirects {
						return errTooManyRedirects
					}
					return nil
				}
			} else {
				c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			}
			p.clients[reuse][follow] = c
		}
	}
	return p
}

// TargetURL turns an http site URL as stored (scheme-less means https)
// into the URL to request, or reports why it cannot be checked.
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

// Probe checks rawURL once with the defaults: GET, 2xx and 3xx are up,
// redirects followed (the tutorial's ping).
func (p *Prober) Probe(ctx context.Context, rawURL string) Result {
	return p.Check(ctx, Spec{Kind: site.KindHTTP, URL: rawURL, FollowRedirects: true})
}

// Check runs a spec, retrying a failure up to sp.Retries times. A
// cancelled ctx ends it early; the caller decides whether that counts.
func (p *Prober) Check(ctx context.Context, sp Spec) Result {
	if sp.Timeout <= 0 {
		sp.Timeout = p.opts.Timeout
	}
	var r Result
	for attempt := 0; ; attempt++ {
		r = p.attempt(ctx, sp)
		r.Attempts = attempt + 1
		if r.Up || attempt >= sp.Retries || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(sp.RetryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return r
		case <-t.C:
		}
	}
	if r.Up && sp.MaxLatency > 0 && r.Latency > sp.MaxLatency {
		r.Slow = true
		r.Err = fmt.Sprintf("slow: %s > max %s", r.Latency.Round(time.Millisecond), sp.MaxLatency)
	}
	return r
}

func (p *Prober) attempt(ctx context.Context, sp Spec) Result {
	ctx, cancel := context.WithTimeout(ctx, sp.Timeout)
	defer cancel()
	switch sp.Kind {
	case site.KindTCP:
		return p.checkTCP(ctx, sp)
	case site.KindDNS:
		return p.checkDNS(ctx, sp)
	case site.KindICMP:
		return p.checkICMP(ctx, sp)
	case site.KindGRPC:
		return p.checkGRPC(ctx, sp)
	case site.KindWebSocket:
		return p.checkWebSocket(ctx, sp)
	}
	return p.checkHTTP(ctx, sp)
}

func (p *Prober) checkHTTP(ctx context.Context, sp Spec) Result {
	start := time.Now()
	target, err := TargetURL(sp.URL)
	if err != nil {
		return Result{Err: err.Error()}
	}
	method := sp.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if sp.Body != "" && method == http.MethodPost {
		body = strings.NewReader(sp.Body)
	}
	var t timing
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, t.trace()), method, target, body)
	if err != nil {
		return Result{Err: "invalid URL"}
	}
	for k, v := range sp.Headers {
		req.Header.Set(k, v)
	}
	if h := sp.Headers["Host"]; h != "" {
		req.Host = h
	}
	if req.Header.Get("User-Agent") == "" && p.opts.UserAgent != "" {
		req.Header.Set("User-Agent", p.opts.UserAgent)
	}
	client := p.clients[b2i(sp.Reuse)][b2i(sp.FollowRedirects)]
	resp, err := client.Do(req)
	if err != nil {
		r := Result{Latency: time.Since(start), Err: describeError(err, ctx)}
		t.fill(&r, start)
		return r
	}
	// Read a bounded prefix of the body, then close: an endless body ends
	// the read, not the check.
	var buf bytes.Buffer
	needBody := sp.Keyword != "" || len(sp.JSONPath) > 0
	if needBody {
		_, err = io.Copy(&buf, io.LimitReader(resp.Body, MaxBodyRead))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBodyRead))
	}
	resp.Body.Close()
	r := Result{StatusCode: resp.StatusCode, Latency: time.Since(start)}
	t.fill(&r, start)
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		exp := resp.TLS.PeerCertificates[0].NotAfter
		days := int(time.Until(exp).Hours() / 24)
		r.TLSDaysLeft, r.TLSExpires = &days, exp
	}
	if !statusExpected(resp.StatusCode, sp.Expected) {
		r.Err = fmt.Sprintf("HTTP %d", resp.StatusCode)
		return r
	}
	if needBody && err != nil && ctx.Err() != nil {
		r.Err = "timeout reading the body"
		return r
	}
	if sp.Keyword != "" {
		found := bytes.Contains(buf.Bytes(), []byte(sp.Keyword))
		if found == sp.KeywordAbsent {
			if sp.KeywordAbsent {
				r.Err = fmt.Sprintf("keyword %q found", shorten(sp.Keyword))
			} else {
				r.Err = fmt.Sprintf("keyword %q not found", shorten(sp.Keyword))
			}
			return r
		}
	}
	for _, a := range sp.JSONPath {
		if err := EvalAssertion(buf.Bytes(), a); err != nil {
			r.Err = shorten(err.Error())
			return r
		}
	}
	r.Up = true
	return r
}

func statusExpected(code int, ranges [][2]int) bool {
	if len(ranges) == 0 {
		return code >= 200 && code < 400
	}
	for _, rg := range ranges {
		if code >= rg[0] && code <= rg[1] {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// timing records the phases of a request through httptrace. Its fields
// are guarded by mu: the transport may still be dialling in a goroutine
// of its own (a dial it started for this request and finishes for its
// pool) when the request is over and fill reads them.
type timing struct {
	mu                                                                   sync.Mutex
	dnsStart, dnsDone, connStart, connDone, tlsStart, tlsDone, firstByte time.Time
}

// set records now in *field.
func (t *timing) set(field *time.Time) {
	now := time.Now()
	t.mu.Lock()
	*field = now
	t.mu.Unlock()
}

func (t *timing) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { t.set(&t.dnsStart) },
		DNSDone:              func(httptrace.DNSDoneInfo) { t.set(&t.dnsDone) },
		ConnectStart:         func(string, string) { t.set(&t.connStart) },
		ConnectDone:          func(string, string, error) { t.set(&t.connDone) },
		TLSHandshakeStart:    func() { t.set(&t.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { t.set(&t.tlsDone) },
		GotFirstResponseByte: func() { t.set(&t.firstByte) },
	}
}

func (t *timing) fill(r *Result, start time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := func(a, b time.Time) time.Duration {
		if a.IsZero() || b.IsZero() || b.Before(a) {
			return 0
		}
		return b.Sub(a)
	}
	r.DNS = span(t.dnsStart, t.dnsDone)
	r.Connect = span(t.connStart, t.connDone)
	r.TLS = span(t.tlsStart, t.tlsDone)
	r.FirstByte = span(start, t.firstByte)
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
	var policy *netguard.Error
	switch {
	case errors.As(err, &policy):
		return policy.Error()
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
		if errors.Is(err, syscall.ECONNRESET) {
			return "connection reset"
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
