package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target behaviours.
const (
	behaveUp   = 0 // 200 "ok"
	behaveDown = 1 // 500
	behaveHang = 2 // no answer until the client gives up (or maxHang)
)

// maxHang bounds how long a hanging target holds a request, whatever the
// client does.
const maxHang = 2 * time.Minute

// targets serves every simulated site on a few loopback listeners; the
// site's index is in the path (/t/<i>), so each site has its own URL.
type targets struct {
	n         int
	listeners []net.Listener
	servers   []*http.Server
	state     []atomic.Int32
	hits      atomic.Int64

	mu   []sync.Mutex // per site
	seen [][]int64    // arrival times (ns since epoch) per site since reset
	from [][]uint8    // the caller's last address byte, per arrival (127.0.0.x: its location)
}

func newTargets(n, listeners int) (*targets, error) {
	t := &targets{n: n, state: make([]atomic.Int32, n), mu: make([]sync.Mutex, n), seen: make([][]int64, n), from: make([][]uint8, n)}
	for k := range listeners {
		// Spread over 127.0.0.1..127.0.0.k so that fresh connections
		// never run short of 4-tuples.
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", 1+k%200))
		if err != nil {
			t.close()
			return nil, err
		}
		srv := &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		t.listeners = append(t.listeners, ln)
		t.servers = append(t.servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	return t, nil
}

// url returns site i's URL.
func (t *targets) url(i int) string {
	return "http://" + t.listeners[i%len(t.listeners)].Addr().String() + "/t/" + strconv.Itoa(i)
}

// reset forgets every recorded arrival.
func (t *targets) reset() {
	for i := range t.n {
		t.mu[i].Lock()
		t.seen[i] = t.seen[i][:0]
		t.from[i] = t.from[i][:0]
		t.mu[i].Unlock()
	}
	t.hits.Store(0)
}

// arrivals returns a copy of site i's arrival times.
func (t *targets) arrivals(i int) []int64 {
	t.mu[i].Lock()
	defer t.mu[i].Unlock()
	return append([]int64(nil), t.seen[i]...)
}

// arrivalsFrom returns site i's arrival times from callers whose address
// ends in the byte last (127.0.0.<last>: one location's agent).
func (t *targets) arrivalsFrom(i int, last uint8) []int64 {
	t.mu[i].Lock()
	defer t.mu[i].Unlock()
	var out []int64
	for k, at := range t.seen[i] {
		if t.from[i][k] == last {
			out = append(out, at)
		}
	}
	return out
}

// lastByte is the last byte of the IPv4 caller address of r (0 if none).
func lastByte(r *http.Request) uint8 {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host).To4(); ip != nil {
		return ip[3]
	}
	return 0
}

func (t *targets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UnixNano()
	rest, ok := strings.CutPrefix(r.URL.Path, "/t/")
	i, err := strconv.Atoi(rest)
	if !ok || err != nil || i < 0 || i >= t.n {
		http.NotFound(w, r)
		return
	}
	t.hits.Add(1)
	from := lastByte(r)
	t.mu[i].Lock()
	t.seen[i] = append(t.seen[i], now)
	t.from[i] = append(t.from[i], from)
	t.mu[i].Unlock()
	switch t.state[i].Load() {
	case behaveDown:
		http.Error(w, "down", http.StatusInternalServerError)
	case behaveHang:
		tm := time.NewTimer(maxHang)
		defer tm.Stop()
		select {
		case <-r.Context().Done():
		case <-tm.C:
		}
	default:
		_, _ = io.WriteString(w, "ok")
	}
}

func (t *targets) close() {
	for _, s := range t.servers {
		_ = s.Close()
	}
}

// notification is one message the fake Slack received.
type notification struct {
	site int
	down bool
	at   time.Time
}

// fakeSlack is an incoming-webhook stand-in that records every message
// and answers after delay.
type fakeSlack struct {
	delay time.Duration
	ln    net.Listener
	srv   *http.Server

	mu    sync.Mutex
	got   []notification
	other int // messages that name no target site
}

var notifyRE = regexp.MustCompile(`/t/(\d+) is (down!|back up)`)

func newFakeSlack(delay time.Duration) (*fakeSlack, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeSlack{delay: delay, ln: ln}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fakeSlack) url() string {
	return "http://" + f.ln.Addr().String() + "/services/T000/B000/XXXXXXXX"
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var msg struct{ Text string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&msg); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if f.delay > 0 {
		tm := time.NewTimer(f.delay)
		select {
		case <-tm.C:
		case <-r.Context().Done():
			tm.Stop()
			return // the sender gave up: not delivered
		}
	}
	f.mu.Lock()
	if m := notifyRE.FindStringSubmatch(msg.Text); m != nil {
		id, _ := strconv.Atoi(m[1])
		f.got = append(f.got, notification{site: id, down: m[2] == "down!", at: at})
	} else {
		f.other++
	}
	f.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// since returns the notifications received at or after t.
func (f *fakeSlack) since(t time.Time) []notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []notification
	for _, n := range f.got {
		if !n.at.Before(t) {
			out = append(out, n)
		}
	}
	return out
}

func (f *fakeSlack) close() { _ = f.srv.Close() }
