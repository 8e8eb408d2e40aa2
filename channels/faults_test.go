package channels_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
)

// faultServer answers its requests by a script: a hang (the sender's
// timeout), a connection reset, 429 with Retry-After, 503, then success
// (or, once permanent is set, 404). It counts accepted requests.
type faultServer struct {
	URL       string
	mu        sync.Mutex
	n         int
	accepted  int
	permanent bool
}

func newFaultServer(t *testing.T) *faultServer {
	f := &faultServer{}
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n, perm := f.n, f.permanent
		f.n++
		f.mu.Unlock()
		switch {
		case perm:
			w.WriteHeader(http.StatusNotFound)
		case n == 0:
			select { // hang until the sender gives up
			case <-r.Context().Done():
			case <-quit:
			}
		case n == 1:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST instead of FIN
				}
				conn.Close()
			}
		case n == 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case n == 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			f.mu.Lock()
			f.accepted++
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"ok":true,"result":{},"event_id":"$e","status":"success","id":"1","requestId":"r"}`))
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(quit) }) // runs first
	f.URL = srv.URL
	return f
}

func (f *faultServer) counts() (requests, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.accepted
}

// kindSettings are settings of every HTTP kind pointing at base.
func kindSettings(base string) map[string]string {
	return map[string]string{
		"slack":      `{"webhook_url":"` + base + `/services/T0/B0/X"}`,
		"discord":    `{"webhook_url":"` + base + `/api/webhooks/1/tok"}`,
		"teams":      `{"webhook_url":"` + base + `/workflows/x?sig=abc"}`,
		"mattermost": `{"webhook_url":"` + base + `/hooks/key"}`,
		"googlechat": `{"webhook_url":"` + base + `/v1/spaces/S/messages?key=k&token=t"}`,
		"telegram":   `{"bot_token":"123:abc","chat_id":"42","api_url":"` + base + `"}`,
		"ntfy":       `{"topic":"alerts","api_url":"` + base + `"}`,
		"pushover":   `{"token":"tok","user_key":"usr","api_url":"` + base + `"}`,
		"gotify":     `{"server_url":"` + base + `","token":"tok"}`,
		"matrix":     `{"homeserver_url":"` + base + `","access_token":"tok","room_id":"!r:example.org"}`,
		"pagerduty":  `{"routing_key":"0123456789abcdef0123456789abcdef","api_url":"` + base + `"}`,
		"opsgenie":   `{"api_key":"key","api_url":"` + base + `"}`,
		"webhook":    `{"url":"` + base + `/hook"}`,
	}
}

// TestFaultsPerKind runs every HTTP kind's channel through a timeout, a
// connection reset, 429 with Retry-After and 503 before success: the
// message is delivered exactly once (accepted once), nothing is left
// pending or dead. Then a 404 makes the next message a dead letter at
// once, with no further attempt.
func TestFaultsPerKind(t *testing.T) {
	for kind, settings := range kindSettings("BASE") {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t)
			f := newFixture(t, func(o *channels.Options) { o.SendTimeout = 2 * time.Second })
			raw := json.RawMessage(replaceBase(settings, srv.URL))
			c, err := f.svc.Create(context.Background(), &channels.Fields{Name: ptr(kind), Kind: ptr(kind), Settings: raw, Default: ptr(true)})
			if err != nil {
				t.Fatal(err)
			}
			f.addSite(1, nil)
			f.route(t, 1, notify.EventDown)
			st := waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.LastSuccessAt != nil && s.Pending == 0 })
			if req, acc := srv.counts(); req != 5 || acc != 1 || st.DeadLetters != 0 {
				t.Fatalf("requests %d, accepted %d, status %+v; want 5 requests, 1 accepted, no dead letters", req, acc, st)
			}
			srv.mu.Lock()
			srv.permanent = true
			srv.mu.Unlock()
			f.addSite(2, nil)
			f.route(t, 2, notify.EventDown)
			st = waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.DeadLetters == 1 })
			if req, _ := srv.counts(); req != 6 || st.Pending != 0 {
				t.Fatalf("after a 404: %d requests (want 6), status %+v", req, st)
			}
		})
	}
}

func replaceBase(s, base string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if i+4 <= len(s) && s[i:i+4] == "BASE" {
			out = append(out, base...)
			i += 3
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
