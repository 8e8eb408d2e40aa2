package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stallingClient sends a GET for path and never reads the answer; its
// receive buffer is as small as the kernel allows.
func stallingClient(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	return conn
}

// A handler whose client never reads returns once the write deadline
// passes instead of blocking for ever, and the cut is counted.
func TestWriteDeadlineFreesHandler(t *testing.T) {
	t.Parallel()
	const total = 256 << 20 // far more than any socket buffer holds
	type outcome struct {
		written int
		err     error
	}
	done := make(chan outcome, 1)
	reg := prometheus.NewRegistry()
	mw := newHTTPMiddleware(200*time.Millisecond, slog.New(slog.DiscardHandler), reg)
	srv := httptest.NewUnstartedServer(mw.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		n := 0
		var err error
		for n < total && err == nil {
			var k int
			k, err = w.Write(chunk)
			n += k
		}
		done <- outcome{n, err}
	})))
	srv.Config.ConnState = clearDeadline
	srv.Start()
	t.Cleanup(srv.Close)
	stallingClient(t, srv.Listener.Addr().String(), "/big")
	select {
	case o := <-done:
		if o.err == nil || !errors.Is(o.err, os.ErrDeadlineExceeded) || o.written >= total {
			t.Fatalf("handler wrote %d bytes, err %v; want a deadline error before the end", o.written, o.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler is still blocked on a client that never reads")
	}
	// The middleware counts the cut once the handler has returned, just
	// after the handler's send above.
	var got float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = counterValue(t, reg, "upmon_http_write_timeouts_total"); got != 0 {
			break
		}
	}
	if got != 1 {
		t.Fatalf("upmon_http_write_timeouts_total = %v, want 1", got)
	}
}

// The deadline counts from the first byte of the answer: a handler that
// computes for longer than the write timeout still answers.
func TestWriteDeadlineStartsWithTheAnswer(t *testing.T) {
	t.Parallel()
	clock := time.Now()
	mw := newHTTPMiddleware(time.Hour, slog.New(slog.DiscardHandler), nil)
	mw.now = func() time.Time { return clock }
	release := make(chan struct{})
	srv := httptest.NewServer(mw.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		clock = time.Now() // the answer starts now: the deadline is an hour from here
		_, _ = w.Write([]byte("late but fine"))
	})))
	t.Cleanup(srv.Close)
	// Had the deadline been set when the request came in, it would be an
	// hour before "now": the write would fail.
	clock = time.Now().Add(-2 * time.Hour)
	go close(release)
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := bufio.NewReader(resp.Body).ReadString(0)
	if body != "late but fine" {
		t.Fatalf("body = %q", body)
	}
}

// Every request is logged at debug level with its path redacted.
func TestRequestLogRedacts(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	mw := newHTTPMiddleware(time.Second, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	h := mw.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, target := range []string{"/push/tok-0123456789abcdef", "/ping/https://user:hunter2@example.com/?key=topsecret"} {
		r := httptest.NewRequestWithContext(context.Background(), "GET", "/", nil)
		r.URL.Path, r.URL.RawQuery, _ = strings.Cut(target, "?")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	out := buf.String()
	for _, secret := range []string{"tok-0123456789abcdef", "hunter2", "topsecret"} {
		if strings.Contains(out, secret) {
			t.Errorf("request log carries %q: %s", secret, out)
		}
	}
	if strings.Count(out, `msg="http request"`) != 2 || !strings.Contains(out, "status=204") {
		t.Errorf("request log = %s", out)
	}
}

// counterValue reads a counter from a registry.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
