package monitor

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
)

// oneShotTransport runs each request on a connection of its own that it
// closes afterwards (a check without reuse_connections, the default),
// entirely in the caller's goroutine: HTTP/1.1 written with Request.Write
// and read with http.ReadResponse through buffers of heldBufferSize.
//
// http.Transport keeps two goroutines per connection (a read loop and a
// write loop) and 4 KiB buffers each way: a check held open by a target
// that never answers cost about 30 KiB, so 3,000 hanging targets held
// about 100 MB. Here a held check is the caller's goroutine, the
// connection and two 1 KiB buffers.
//
// It reports DNS and connect times (through the dialer, as
// http.Transport does), the TLS handshake and the first response byte to
// the request's httptrace.ClientTrace. It offers only HTTP/1.1 over TLS;
// every HTTP/2 server also speaks HTTP/1.1.
type oneShotTransport struct {
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig *tls.Config
}

// RoundTrip implements http.RoundTripper.
func (t *oneShotTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	conn, err := t.connect(ctx, req)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// A cancelled or expired check closes the connection, which ends any
	// read or write in progress.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	resp, err := t.exchange(ctx, conn, req)
	if err != nil {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	resp.Body = &oneShotBody{ReadCloser: resp.Body, conn: conn, stop: stop}
	return resp, nil
}

// connect dials the request's host and runs the TLS handshake of https.
func (t *oneShotTransport) connect(ctx context.Context, req *http.Request) (net.Conn, error) {
	host, port := req.URL.Hostname(), req.URL.Port()
	https := strings.EqualFold(req.URL.Scheme, "https")
	if port == "" {
		port = "80"
		if https {
			port = "443"
		}
	}
	conn, err := t.dial(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil || !https {
		return conn, err
	}
	cfg := &tls.Config{}
	if t.tlsConfig != nil {
		cfg = t.tlsConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil && trace.TLSHandshakeStart != nil {
		trace.TLSHandshakeStart()
	}
	tc := tls.Client(conn, cfg)
	err = tc.HandshakeContext(ctx)
	if trace != nil && trace.TLSHandshakeDone != nil {
		trace.TLSHandshakeDone(tc.ConnectionState(), err)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// exchange writes the request and reads the response's header.
func (t *oneShotTransport) exchange(ctx context.Context, conn net.Conn, req *http.Request) (*http.Response, error) {
	out := *req
	out.Close = true // "Connection: close": one request per connection
	w := bufio.NewWriterSize(conn, heldBufferSize)
	if err := out.Write(w); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	// The response header may take at most MaxResponseHeaderBytes (as
	// with http.Transport); the body is bounded by the caller.
	lim := &headerLimit{r: conn, left: maxResponseHeaderBytes}
	r := bufio.NewReaderSize(lim, heldBufferSize)
	if _, err := r.Peek(1); err != nil {
		return nil, err
	}
	if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	for {
		resp, err := http.ReadResponse(r, req)
		if err != nil {
			return nil, err
		}
		lim.left = math.MaxInt64
		// Skip informational answers (100 Continue, 103 Early Hints).
		if resp.StatusCode >= 200 || resp.StatusCode < 100 || resp.StatusCode == http.StatusSwitchingProtocols {
			if resp.TLS == nil {
				if tc, ok := conn.(*tls.Conn); ok {
					st := tc.ConnectionState()
					resp.TLS = &st
				}
			}
			if resp.StatusCode == http.StatusSwitchingProtocols {
				// The connection now speaks the upgraded protocol
				// (WebSocket): its bytes, already buffered ones first,
				// are the body, and writes go to the connection
				// (oneShotBody.Write).
				resp.Body = io.NopCloser(r)
			}
			return resp, nil
		}
		resp.Body.Close()
		lim.left = maxResponseHeaderBytes
	}
}

// maxResponseHeaderBytes bounds a response header.
const maxResponseHeaderBytes = 64 << 10

// errHeaderTooLarge ends a response whose header is too long.
var errHeaderTooLarge = errors.New("response header too large")

// headerLimit fails a read past left bytes.
type headerLimit struct {
	r    io.Reader
	left int64
}

func (l *headerLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// oneShotBody closes the connection with the body.
type oneShotBody struct {
	io.ReadCloser
	conn net.Conn
	stop func() bool
	once sync.Once
}

// Write writes to the connection: after a 101 Switching Protocols the body
// is the upgraded connection, read and written (net/http's contract for
// upgrades, which WebSocket clients rely on).
func (b *oneShotBody) Write(p []byte) (int, error) { return b.conn.Write(p) }

// Close implements io.Closer.
func (b *oneShotBody) Close() error {
	b.once.Do(func() {
		b.stop()
		b.conn.Close()
	})
	return nil
}
