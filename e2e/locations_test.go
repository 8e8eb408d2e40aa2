package e2e

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"upmon/agent"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
)

// startTestNATS runs a nats-server on a loopback port, for agents to
// connect to (the embedded broker has no port).
func startTestNATS(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.NoSigs, opts.NoLog = "127.0.0.1", true, true
	if opts.Port == 0 {
		opts.Port = -1
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// byCaller is a target that answers each caller's address with its own
// status: a regional outage, as seen from one location.
type byCaller struct {
	mu     sync.Mutex
	status map[string]int
}

func (b *byCaller) set(ip string, code int) {
	b.mu.Lock()
	b.status[ip] = code
	b.mu.Unlock()
}

func (b *byCaller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	b.mu.Lock()
	code, ok := b.status[host]
	b.mu.Unlock()
	if !ok {
		code = http.StatusOK
	}
	w.WriteHeader(code)
}

// startAgent runs an in-process agent with its own connection and source
// address until the returned stop is called.
func startAgent(t *testing.T, url, prefix, loc, source string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{NATSURL: url, Prefix: prefix, Location: loc, SourceAddr: net.ParseIP(source),
			Heartbeat: 200 * time.Millisecond, PingTimeout: 2 * time.Second, UserAgent: "upmon/test"})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("agent %s: %v", loc, err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("agent %s did not stop", loc)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func siteLocations(t *testing.T, c apptest.Client, id string) map[string]monitor.SiteLocation {
	var r monitor.SiteLocationsResponse
	c.JSON("GET", "/site/"+id+"/locations", "", &r)
	out := map[string]monitor.SiteLocation{}
	for _, l := range r.Locations {
		out[l.Location] = l
	}
	return out
}

func locationStates(t *testing.T, c apptest.Client) map[string]string {
	var r monitor.LocationsResponse
	c.JSON("GET", "/locations", "", &r)
	out := map[string]string{}
	for _, l := range r.Locations {
		out[l.Name] = l.State
	}
	return out
}

// TestQuorumOfThreeAgents runs three agents on this machine, each leaving
// from its own loopback address, against a target that answers by the
// caller's address: one location down is no alert with quorum 2, two are
// exactly one, all back one recovery; an agent that stops leaves its
// location unavailable, out of the quorum, and raises no alert.
func TestQuorumOfThreeAgents(t *testing.T) {
	t.Parallel()
	ns := startTestNATS(t, &server.Options{JetStream: true, StoreDir: t.TempDir()})
	cfg := apptest.Config(t)
	cfg.NATSURL = ns.ClientURL()
	cfg.Locations = []string{"eu", "us", "ap"}
	cfg.Heartbeat = 200 * time.Millisecond
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}

	target := &byCaller{status: map[string]int{}}
	url := apptest.NewHandlerServer(t, target) + "/health"
	ips := map[string]string{"eu": "127.0.0.2", "us": "127.0.0.3", "ap": "127.0.0.4"}
	stops := map[string]func(){}
	for loc, ip := range ips {
		stops[loc] = startAgent(t, cfg.NATSURL, cfg.NATSPrefix, loc, ip)
	}
	apptest.Eventually(t, 10*time.Second, "three live locations", func() bool {
		s := locationStates(t, c)
		return s["eu"] == "live" && s["us"] == "live" && s["ap"] == "live"
	})
	var added struct{ ID int64 }
	c.JSON("POST", "/site", `{"url":"`+url+`","interval":"1s"}`, &added)
	var st struct {
		Locations []string
		Quorum    int
	}
	c.JSON("GET", "/site/1", "", &st)
	if strings.Join(st.Locations, ",") != "eu,us,ap" || st.Quorum != 2 {
		t.Fatalf("site defaults: locations %v quorum %d, want the configured set and 2", st.Locations, st.Quorum)
	}
	// waitSeen waits until every location in want reports its state
	// from a check that started after since.
	waitSeen := func(what string, since time.Time, want map[string]string) {
		t.Helper()
		apptest.Eventually(t, 15*time.Second, what, func() bool {
			got := siteLocations(t, c, "1")
			for loc, state := range want {
				l := got[loc]
				if l.CheckedAt == nil || l.CheckedAt.Before(since) || l.State != state {
					return false
				}
			}
			return true
		})
	}
	waitSeen("every location checked the site", time.Now(), map[string]string{"eu": "up", "us": "up", "ap": "up"})

	target.set(ips["eu"], 503)
	at := time.Now()
	waitSeen("eu sees it down, the others up", at, map[string]string{"eu": "down", "us": "up", "ap": "up"})
	time.Sleep(settle) // a notification would be on its way by now
	if msgs := slack.Messages(); len(msgs) != 0 {
		t.Fatalf("one location of three down, quorum 2: notified %q", firstLines(msgs))
	}
	if r := siteLocations(t, c, "1"); r["eu"].State != "down" {
		t.Fatalf("eu state = %s", r["eu"].State)
	}

	target.set(ips["us"], 503)
	msgs := slack.WaitFor(1, 15*time.Second)
	if len(msgs) != 1 || firstLines(msgs)[0] != downText(url)+" (2 of 3 locations: eu, us)" {
		t.Fatalf("two locations down: notified %q, want one alert naming eu and us", firstLines(msgs))
	}
	target.set(ips["eu"], 200)
	target.set(ips["us"], 200)
	msgs = slack.WaitFor(2, 15*time.Second)
	if len(msgs) != 2 || !strings.HasPrefix(firstLines(msgs)[1], upText(url)+" (") {
		t.Fatalf("all back: notified %q, want one recovery", firstLines(msgs))
	}

	// The ap agent stops: ap becomes unavailable, not down, and leaves
	// the quorum; eu down alone is then 1 of 2 live: no alert.
	stops["ap"]()
	apptest.Eventually(t, 10*time.Second, "ap unavailable", func() bool { return locationStates(t, c)["ap"] == "unavailable" })
	target.set(ips["eu"], 503)
	at = time.Now()
	waitSeen("eu down, us up, with ap gone", at, map[string]string{"eu": "down", "us": "up"})
	msgs = slack.WaitFor(3, 10*time.Second)
	if len(msgs) < 3 || firstLines(msgs)[2] != "*Location ap is unavailable.*" {
		t.Fatalf("ap's agent stopped: notified %q, want a location-lost message", firstLines(msgs))
	}
	time.Sleep(settle)
	if msgs := slack.Messages(); len(msgs) != 3 {
		t.Fatalf("with ap unavailable and eu down: notified %q, want no alert", firstLines(msgs))
	}
	var sl monitor.SiteLocationsResponse
	c.JSON("GET", "/site/1/locations", "", &sl)
	for _, l := range sl.Locations {
		if l.Location == "ap" && l.Live {
			t.Errorf("ap still live in /site/1/locations: %+v", l)
		}
	}
	if !sl.Disagree {
		t.Errorf("eu down and us up: disagree = false")
	}
	// The site page has a row per location, ap unavailable, and says the
	// locations disagree.
	code, page := c.Do("GET", "/frontend/sites/1", "")
	if code != 200 || !strings.Contains(page, "<td>ap</td><td>unavailable</td>") || !strings.Contains(page, "<td>eu</td><td>down</td>") ||
		!strings.Contains(page, "<td>us</td><td>up</td>") || !strings.Contains(page, "(locations disagree)") {
		t.Errorf("site page (%d) lacks the location rows:\n%s", code, page)
	}
	// The overview marks the site: its live locations disagree (eu down,
	// us up; ap unavailable takes no side).
	code, page = c.Do("GET", "/frontend/", "")
	if mark := `<span class="pill split" title="Locations disagree: down from eu; up from us">`; code != 200 || !strings.Contains(page, mark) {
		t.Errorf("overview (%d) lacks %s:\n%s", code, mark, page)
	}
	var checks monitor.ChecksResponse
	c.JSON("GET", "/site/1/checks?location=us&limit=1000", "", &checks)
	if len(checks.Checks) == 0 {
		t.Fatal("no checks from us")
	}
	for _, ch := range checks.Checks {
		if ch.Location != "us" {
			t.Fatalf("/checks?location=us answered a check from %q", ch.Location)
		}
	}
}
