package monitor_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"upmon/monitor"
	"upmon/platform/netguard"
	"upmon/site"
)

// wsHandler serves the websocket test paths: /echo answers the first
// message with "pong: " and the message, /greet sends "hello" at once,
// /close closes without a reply, /drop drops the connection, /forbidden
// refuses the handshake, /moved redirects.
func wsHandler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	accept := func(w http.ResponseWriter, r *http.Request) *websocket.Conn {
		if r.Header.Get("X-Test") != "1" {
			http.Error(w, "no X-Test header", http.StatusBadRequest)
			return nil
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return nil
		}
		return c
	}
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if c := accept(w, r); c != nil {
			defer c.CloseNow()
			if _, msg, err := c.Read(r.Context()); err == nil {
				_ = c.Write(r.Context(), websocket.MessageText, append([]byte("pong: "), msg...))
				_, _, _ = c.Read(r.Context()) // until the client closes
			}
		}
	})
	mux.HandleFunc("/greet", func(w http.ResponseWriter, r *http.Request) {
		if c := accept(w, r); c != nil {
			defer c.CloseNow()
			_ = c.Write(r.Context(), websocket.MessageText, []byte("hello"))
			_, _, _ = c.Read(r.Context())
		}
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		if c := accept(w, r); c != nil {
			_ = c.Close(websocket.StatusGoingAway, "bye")
		}
	})
	mux.HandleFunc("/drop", func(w http.ResponseWriter, r *http.Request) {
		if c := accept(w, r); c != nil {
			_ = c.CloseNow()
		}
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	mux.Handle("/moved", http.RedirectHandler("/echo", http.StatusMovedPermanently))
	return mux
}

// wsSite is the spec of a websocket site with the given settings.
func wsSpec(t *testing.T, u, send, keyword, mode string) monitor.Spec {
	t.Helper()
	kind, err := site.KindOf(u)
	if err != nil || kind != site.KindWebSocket {
		t.Fatalf("KindOf(%s) = %q, %v", u, kind, err)
	}
	st := &site.Site{ID: 1, URL: u, Kind: kind}
	st.WSSend, st.Keyword, st.KeywordMode = send, keyword, mode
	st.Headers = map[string]string{"X-Test": "1"}
	st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: 2 * time.Second})
	return monitor.SpecOf(st)
}

func TestProbeWebSocket(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(wsHandler(t))
	t.Cleanup(srv.Close)
	base := "ws" + strings.TrimPrefix(srv.URL, "http")
	p := newTestProber()
	for _, tc := range []struct {
		path, send, keyword, mode string
		up                        bool
		reason                    string
	}{
		{"/echo", "", "", "", true, ""},
		{"/echo", "ping", "pong: ping", "", true, ""},
		{"/echo", "ping", "pong: other", "", false, `keyword "pong: other" not found in the first reply`},
		{"/echo", "ping", "error", "absent", true, ""},
		{"/echo", "ping", "pong", "absent", false, `keyword "pong" found in the first reply`},
		{"/greet", "", "hello", "", true, ""},
		{"/close", "", "hello", "", false, "websocket closed by the server (1001) before a reply"},
		{"/drop", "", "hello", "", false, "websocket: the server dropped the connection waiting for a reply"},
		{"/forbidden", "", "", "", false, "HTTP 403"},
		{"/moved", "", "", "", false, "HTTP 301"},
	} {
		sp := wsSpec(t, base+tc.path, tc.send, tc.keyword, tc.mode)
		r := p.Check(context.Background(), sp)
		if r.Up != tc.up || !strings.HasPrefix(r.Err, tc.reason) || (tc.up && (r.Err != "" || r.StatusCode != 101 || r.Connect <= 0)) {
			t.Errorf("%s send=%q keyword=%q %s: %+v, want up=%v reason %q…", tc.path, tc.send, tc.keyword, tc.mode, r, tc.up, tc.reason)
		}
	}
}

func TestProbeWebSocketTLSAndPolicy(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t, time.Now().Add(48*time.Hour+30*time.Minute))
	srv := httptest.NewUnstartedServer(wsHandler(t))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.leaf}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	sp := wsSpec(t, "wss"+strings.TrimPrefix(srv.URL, "https")+"/echo", "ping", "pong: ping", "")

	trusting := monitor.NewProber(monitor.ProberOptions{Timeout: 2 * time.Second, TLSClientConfig: &tls.Config{RootCAs: pki.roots}})
	if r := trusting.Check(context.Background(), sp); !r.Up || r.TLSDaysLeft == nil || *r.TLSDaysLeft != 2 || r.TLS <= 0 {
		t.Fatalf("trusted wss check: %+v", r)
	}
	if r := newTestProber().Check(context.Background(), sp); r.Up || !strings.HasPrefix(r.Err, "TLS certificate: ") {
		t.Fatalf("untrusted wss check: %+v", r)
	}
	guarded := monitor.NewProber(monitor.ProberOptions{Timeout: 2 * time.Second, Dialer: netguard.Dialer(2 * time.Second)})
	if r := guarded.Check(context.Background(), sp); r.Up || !strings.HasPrefix(r.Err, "refused: 127.0.0.1 is a loopback address") {
		t.Fatalf("wss check under --deny-private-targets: %+v", r)
	}
}
