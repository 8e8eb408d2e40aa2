package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// LiveEvent is one recorded check or state transition, as the dashboard's
// pages receive it over server-sent events.
type LiveEvent struct {
	// SiteID is the checked site.
	SiteID int64 `json:"site_id"`
	// State is "up", "down", "degraded" or "unknown".
	State string `json:"state"`
	// CheckedAt is when the check ran.
	CheckedAt time.Time `json:"checked_at"`
	// LatencyMS is the check's latency.
	LatencyMS int64 `json:"latency_ms"`
	// StatusCode is the check's HTTP status, 0 if none.
	StatusCode int `json:"status_code"`
	// Error is the check's failure reason, if any.
	Error string `json:"error,omitempty"`
	// Transition is true when the check changed the site's state.
	Transition bool `json:"transition"`
}

// HubOptions configures a Hub. Zero values mean the defaults.
type HubOptions struct {
	// Heartbeat is the period of keep-alive comments. Default 15 s.
	Heartbeat time.Duration
	// Retry is the reconnection delay hinted to browsers. Default 1 s.
	Retry time.Duration
	// Buffer is how many events a slow client may lag behind before
	// events for it are dropped (and it is told to resync). Default 256.
	Buffer int
}

// Hub fans live events out to the open server-sent event streams. Publish
// never blocks: a client whose buffer is full misses events and is sent a
// "resync" event once it catches up.
type Hub struct {
	opts    HubOptions
	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	done    chan struct{}
	dropped atomic.Int64
}

type client struct {
	ch   chan []byte
	lost atomic.Bool
}

// NewHub returns a Hub with no clients.
func NewHub(opts HubOptions) *Hub {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	return &Hub{opts: opts, clients: map[*client]struct{}{}, done: make(chan struct{})}
}

// Publish sends ev to every connected client without waiting for any.
func (h *Hub) Publish(ev LiveEvent) {
	if ev.State == "" {
		ev.State = StateUnknown
	}
	data, err := json.Marshal(ev) // escapes <, > and & as \u003c…
	if err != nil {
		return
	}
	frame := make([]byte, 0, len(data)+24)
	frame = append(frame, "event: check\ndata: "...)
	frame = append(frame, data...)
	frame = append(frame, "\n\n"...)
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.ch <- frame:
		default:
			c.lost.Store(true)
			h.dropped.Add(1)
		}
	}
}

// Clients returns the number of open streams.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Dropped returns how many events were dropped for slow clients.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Close ends every open stream and refuses new ones (503), so that a
// graceful HTTP shutdown need not wait for them. Browsers reconnect to
// the next server by themselves. Close is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

func (h *Hub) add() *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	c := &client{ch: make(chan []byte, h.opts.Buffer)}
	h.clients[c] = struct{}{}
	return c
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// writeTimeout bounds one write to a client; a client that does not read
// for that long is disconnected.
const writeTimeout = 10 * time.Second

// ServeHTTP streams events as text/event-stream until the client leaves
// or the hub closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.add()
	if c == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.remove(c)
	rc := http.NewResponseController(w)
	// The server's ReadTimeout would end the stream (its context) once
	// it passes: a stream reads nothing, so it has no read deadline.
	_ = rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	hello := "retry: " + strconv.FormatInt(h.opts.Retry.Milliseconds(), 10) + "\n: connected\n\n"
	if !write([]byte(hello)) {
		return
	}
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-tick.C:
			if !write([]byte(": ping\n\n")) {
				return
			}
		case frame := <-c.ch:
			if !write(frame) {
				return
			}
			if len(c.ch) == 0 && c.lost.Swap(false) {
				if !write([]byte("event: resync\ndata: {}\n\n")) {
					return
				}
			}
		}
	}
}
