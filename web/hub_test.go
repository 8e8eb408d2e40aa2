package web

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readEvent reads one SSE block (up to a blank line).
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

func TestHubStream(t *testing.T) {
	hub := NewHub(HubOptions{Heartbeat: 50 * time.Millisecond, Retry: 1500 * time.Millisecond})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	if ev := readEvent(t, r); !strings.Contains(ev, "retry: 1500\n") {
		t.Fatalf("first block = %q", ev)
	}
	for hub.Clients() != 1 {
		time.Sleep(time.Millisecond)
	}
	hub.Publish(LiveEvent{SiteID: 3, State: "down", Error: "<script>", Transition: true})
	for {
		ev := readEvent(t, r)
		if ev == ": ping\n" {
			continue
		}
		want := "event: check\ndata: {\"site_id\":3,\"state\":\"down\",\"checked_at\":\"0001-01-01T00:00:00Z\",\"latency_ms\":0,\"status_code\":0,\"error\":\"\\u003cscript\\u003e\",\"transition\":true}\n"
		if ev != want {
			t.Fatalf("event = %q\nwant    %q", ev, want)
		}
		break
	}
	if ev := readEvent(t, r); ev != ": ping\n" {
		t.Fatalf("heartbeat = %q", ev)
	}
	hub.Close()
	if _, err := r.ReadString('\n'); err == nil {
		// The stream may deliver a heartbeat already in flight; then EOF.
		if _, err := r.ReadString('\n'); err == nil {
			t.Fatal("stream still open after Close")
		}
	}
	resp2, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d", resp2.StatusCode)
	}
}

// blockedWriter is a ResponseWriter whose writes never return until
// released: a client that stopped reading.
type blockedWriter struct {
	hdr     http.Header
	release chan struct{}
	wrote   chan struct{}
}

func (b *blockedWriter) Header() http.Header { return b.hdr }
func (b *blockedWriter) WriteHeader(int)     {}
func (b *blockedWriter) Write(p []byte) (int, error) {
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	<-b.release
	return len(p), nil
}
func (b *blockedWriter) Flush() {}

func TestHubNeverBlocksPublisher(t *testing.T) {
	hub := NewHub(HubOptions{Buffer: 4})
	bw := &blockedWriter{hdr: http.Header{}, release: make(chan struct{}), wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		hub.ServeHTTP(bw, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		close(done)
	}()
	<-bw.wrote // stuck writing the hello
	start := time.Now()
	for i := range 10000 {
		hub.Publish(LiveEvent{SiteID: int64(i), State: "up"})
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("publishing to a stuck client took %v", el)
	}
	if d := hub.Dropped(); d < 10000-4 {
		t.Fatalf("dropped %d, want ≥ %d", d, 10000-4)
	}
	cancel()
	close(bw.release)
	<-done
	if hub.Clients() != 0 {
		t.Fatalf("clients = %d after the stream ended", hub.Clients())
	}
}

func TestHubResyncAfterDrops(t *testing.T) {
	hub := NewHub(HubOptions{Buffer: 2})
	c := hub.add()
	for i := range 5 {
		hub.Publish(LiveEvent{SiteID: int64(i)})
	}
	if len(c.ch) != 2 || !c.lost.Load() {
		t.Fatalf("buffer %d, lost %v", len(c.ch), c.lost.Load())
	}
	hub.remove(c)
	// The stream writes "event: resync" once it has drained the buffer.
	hub2 := NewHub(HubOptions{Buffer: 1})
	srv := httptest.NewServer(hub2)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readEvent(t, r)
	for hub2.Clients() != 1 {
		time.Sleep(time.Millisecond)
	}
	var cl *client
	hub2.mu.Lock()
	for k := range hub2.clients {
		cl = k
	}
	hub2.mu.Unlock()
	cl.lost.Store(true)
	hub2.Publish(LiveEvent{SiteID: 1})
	if ev := readEvent(t, r); !strings.HasPrefix(ev, "event: check\n") {
		t.Fatalf("got %q", ev)
	}
	if ev := readEvent(t, r); ev != "event: resync\ndata: {}\n" {
		t.Fatalf("got %q, want resync", ev)
	}
}

func TestHubOutlivesReadTimeout(t *testing.T) {
	hub := NewHub(HubOptions{Heartbeat: time.Hour})
	srv := httptest.NewUnstartedServer(hub)
	srv.Config.ReadTimeout = 100 * time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readEvent(t, r)
	time.Sleep(400 * time.Millisecond)
	if hub.Clients() != 1 {
		t.Fatal("the stream ended when the read timeout passed")
	}
	hub.Publish(LiveEvent{SiteID: 1, State: "up"})
	if ev := readEvent(t, r); !strings.HasPrefix(ev, "event: check\n") {
		t.Fatalf("got %q", ev)
	}
}
