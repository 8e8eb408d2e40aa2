package monitor

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// targets starts loopback servers playing remote sites.
func targets(t *testing.T) map[string]string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/200", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("/301", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/200", http.StatusMovedPermanently) })
	mux.HandleFunc("/400", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for range 1 << 16 { // up to 2 GiB; the probe stops far earlier
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/ua", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.UserAgent(), "upmon/") {
			w.WriteHeader(418)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); hanging.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()

	return map[string]string{"base": srv.URL, "hanging": hanging.URL, "refused": refused}
}

func TestProbe(t *testing.T) {
	ts := targets(t)
	// Only the target that never answers gets the short timeout; the
	// others get a long one, so a busy machine (CI runs with -race) cannot
	// turn an answer (a redirect loop's tenth hop, say) into a timeout.
	short := NewProber(ProberOptions{Timeout: 500 * time.Millisecond, UserAgent: "upmon/test"})
	long := NewProber(ProberOptions{Timeout: 20 * time.Second, UserAgent: "upmon/test"})
	tests := []struct {
		name   string
		url    string
		up     bool
		status int
		reason string
	}{
		{"200 up", ts["base"] + "/200", true, 200, ""},
		{"301 then 200 up", ts["base"] + "/301", true, 200, ""},
		{"400 down", ts["base"] + "/400", false, 400, "HTTP 400"},
		{"500 down", ts["base"] + "/500", false, 500, "HTTP 500"},
		{"invalid scheme", "invalid://scheme", false, 0, "unsupported scheme"},
		{"connection refused", ts["refused"], false, 0, "connection refused"},
		{"never answers", ts["hanging"], false, 0, "timeout"},
		{"redirect loop", ts["base"] + "/loop", false, 0, "redirects"},
		{"endless body", ts["base"] + "/endless", true, 200, ""},
		{"user agent", ts["base"] + "/ua", true, 200, ""},
		{"no host", "https://", false, 0, "no host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p := long
			if tc.reason == "timeout" {
				p = short
			}
			r := p.Probe(context.Background(), tc.url)
			if r.Up != tc.up || r.StatusCode != tc.status || !strings.Contains(r.Err, tc.reason) {
				t.Fatalf("Probe(%s) = %+v, want up=%v status=%d reason~%q", tc.url, r, tc.up, tc.status, tc.reason)
			}
			if el := time.Since(start); p == short && el > 5*time.Second {
				t.Fatalf("probe took %v, the timeout is 500ms", el)
			}
		})
	}
}

func TestPingTarget(t *testing.T) {
	tests := []struct{ path, query, want string }{
		{"/ping/google.com", "", "google.com"},
		{"/ping/https://x.org/a", "b=c", "https://x.org/a?b=c"},
		{"/ping/https:/x.org", "", "https://x.org"},
		{"/ping/http:/x.org/p", "", "http://x.org/p"},
		{"/ping/HTTPS:/x.org", "", "HTTPS://x.org"},
		{"/ping/https://x.org", "", "https://x.org"},
		{"/ping/invalid://scheme", "", "invalid://scheme"},
		{"/ping/h", "", "h"},
		{"/ping/", "", ""},
	}
	for _, tc := range tests {
		if got := PingTarget(tc.path, tc.query); got != tc.want {
			t.Errorf("PingTarget(%q, %q) = %q, want %q", tc.path, tc.query, got, tc.want)
		}
	}
}

func FuzzPingTarget(f *testing.F) {
	for _, s := range []string{"/ping/google.com", "/ping/https:/x", "/ping/http:", "/ping/", "/ping/https%3A%2F%2Fx.org"} {
		f.Add(s, "a=b")
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		got := PingTarget("/ping/"+path, query)
		if query == "" && !strings.Contains(got, strings.TrimLeft(path, "/")) && !strings.HasPrefix(strings.ToLower(path), "http") {
			t.Fatalf("PingTarget lost the target: %q -> %q", path, got)
		}
		_, _ = TargetURL(got)
	})
}
