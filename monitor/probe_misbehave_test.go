package monitor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Targets that misbehave: every check ends within its timeout with a
// reason, and memory stays bounded.
func TestProbeMisbehavingTargets(t *testing.T) {
	t.Parallel()
	// A TLS server whose handshake never completes: it accepts and waits.
	hangLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangLn.Close()
	go func() {
		for {
			c, err := hangLn.Accept()
			if err != nil {
				return
			}
			go func() {
				time.Sleep(5 * time.Second)
				c.Close()
			}()
		}
	}()
	// A certificate nobody trusts.
	selfSigned := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer selfSigned.Close()
	// 10,000 response headers.
	manyHeaders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 10000 {
			w.Header().Set(fmt.Sprintf("X-H-%d", i), strings.Repeat("v", 20))
		}
		w.WriteHeader(200)
	}))
	defer manyHeaders.Close()
	// Headers that trickle in, one byte at a time, slower than the timeout.
	slowLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer slowLn.Close()
	go func() {
		for {
			c, err := slowLn.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: ") {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
		}
	}()

	// The targets that hang get a short timeout; the others a long one, so
	// a busy machine (CI runs with -race) cannot turn their answer into a
	// timeout.
	short := NewProber(ProberOptions{Timeout: 700 * time.Millisecond, UserAgent: "upmon/test"})
	long := NewProber(ProberOptions{Timeout: 20 * time.Second, UserAgent: "upmon/test"})
	tests := []struct {
		name, url, reason string
		p                 *Prober
	}{
		{"TLS handshake hangs", "https://" + hangLn.Addr().String() + "/", "timeout", short},
		{"invalid certificate", selfSigned.URL, "TLS certificate", long},
		{"10,000 response headers", manyHeaders.URL, "", long},
		{"headers trickle", "http://" + slowLn.Addr().String() + "/", "timeout", short},
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tc := range tests {
		start := time.Now()
		r := tc.p.Check(context.Background(), Spec{Kind: "http", URL: tc.url, FollowRedirects: true})
		if el := time.Since(start); tc.p == short && el > 3*time.Second {
			t.Errorf("%s: took %v with a 700ms timeout", tc.name, el)
		}
		if r.Up || !strings.Contains(r.Err, tc.reason) {
			t.Errorf("%s: %+v, want down with %q", tc.name, r, tc.reason)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("heap grew by %d MiB", grown>>20)
	}
}
