package channels_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
	"upmon/notify/kinds"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// fakeSites serves sites from a map.
type fakeSites struct {
	mu    sync.Mutex
	sites map[int64]*site.Site
}

func (f *fakeSites) Get(_ context.Context, p *site.GetParams) (*site.Site, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sites[p.ID]
	if !ok {
		return nil, api.Errorf(api.NotFound, "no site")
	}
	c := *s
	return &c, nil
}

func (f *fakeSites) set(s *site.Site) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sites[s.ID] = s
}

// hook is a loopback webhook recording Slack-style texts; answer decides
// each reply.
type hook struct {
	URL    string
	mu     sync.Mutex
	texts  []string
	got    chan string
	answer func(n int, w http.ResponseWriter) bool // true: answered; false: 200
}

func newHook(t *testing.T) *hook {
	h := &hook{got: make(chan string, 4096)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(b, &p)
		h.mu.Lock()
		n := len(h.texts)
		h.texts = append(h.texts, p.Text)
		ans := h.answer
		h.mu.Unlock()
		if ans != nil && ans(n, w) {
			return
		}
		h.got <- p.Text
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/services/T0/B0/SECRETSECRET"
	return h
}

// next returns the next accepted text, or fails after 10 s.
func (h *hook) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-h.got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived within 10s")
		return ""
	}
}

func (h *hook) attempts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.texts)
}

type fixture struct {
	svc   *channels.Service
	sites *fakeSites
	db    *sqldb.DB
	opts  channels.Options
}

// replica starts a second service on the fixture's database, as another
// replica would.
func (f *fixture) replica(t *testing.T, mod func(*channels.Options)) *channels.Service {
	opts := f.opts
	opts.Hooks = channels.Hooks{}
	if mod != nil {
		mod(&opts)
	}
	svc := channels.New(f.db, opts)
	svc.Start()
	t.Cleanup(svc.Stop)
	return svc
}

func newFixture(t *testing.T, mod func(*channels.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldbtest.Config(t), "channels", channels.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeSites{sites: map[int64]*site.Site{}}
	opts := channels.Options{Kinds: reg, Sites: fs, Poll: 50 * time.Millisecond,
		Retry:   channels.Retry{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxAttempts: 5},
		Env:     notify.Env{HTTP: notify.NewHTTPClient(notify.HTTPOptions{})},
		Metrics: channels.NewMetrics(nil)}
	if mod != nil {
		mod(&opts)
	}
	svc := channels.New(db, opts)
	svc.Start()
	t.Cleanup(svc.Stop)
	return &fixture{svc: svc, sites: fs, db: db, opts: opts}
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) slack(t *testing.T, name, url string, mod func(*channels.Fields)) *channels.Channel {
	t.Helper()
	p := &channels.Fields{Name: ptr(name), Kind: ptr("slack"), Settings: json.RawMessage(`{"webhook_url":"` + url + `"}`), Default: ptr(true)}
	if mod != nil {
		mod(p)
	}
	c, err := f.svc.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) addSite(id int64, mod func(*site.Site)) {
	s := &site.Site{ID: id, URL: "https://site" + itoa(id) + ".example", Settings: site.Settings{}.Filled(site.Defaults{})}
	if mod != nil {
		mod(s)
	}
	f.sites.set(s)
}

func itoa(n int64) string { return jsonInt(n) }

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

var evSeq atomic.Int64 // parallel tests route events too

func (f *fixture) route(t *testing.T, siteID int64, e notify.Event) {
	t.Helper()
	n := evSeq.Add(1)
	if err := f.svc.Route(context.Background(), channels.Event{ID: "ev-" + jsonInt(n), Site: &site.Ref{ID: siteID},
		Kind: e, At: time.Now(), Reason: "HTTP 503"}); err != nil {
		t.Fatal(err)
	}
}

// waitStatus polls the channel's status until ok, failing after 10 s.
func waitStatus(t *testing.T, f *fixture, id int64, ok func(channels.Status) bool) channels.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := f.svc.Get(context.Background(), &channels.IDParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if ok(c.Status) {
			return c.Status
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never matched: %+v", c.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAttempts polls until the hook saw n requests, failing after 10 s.
func waitAttempts(t *testing.T, h *hook, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.attempts() < n {
		if time.Now().After(deadline) {
			t.Fatalf("hook saw %d requests, want %d", h.attempts(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func siteRef(id int64) *site.Ref { return &site.Ref{ID: id} }
