//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/pubsub/pubsubtest"
	"upmon/platform/sqldb/sqldbtest"
)

// The fault tests take PostgreSQL or NATS away from a running upmon and
// bring it back: upmon keeps serving, answers 503 unavailable where it
// needs the missing dependency, says so on /healthz, and recovers by
// itself; a site that goes down during the outage is notified once,
// afterwards. Each test stops only its own private server (other tests
// share the CI machine's); the other backend is the usual test one
// (SQLite or the test PostgreSQL, embedded or external NATS).

const (
	faultInterval = 2 * time.Second
	faultTimeout  = time.Second
	// faultRecovery bounds recovery after the server is back: reconnect
	// backoffs (NATS 5 s, scheduler 10 s, relay 5 s) plus one interval.
	faultRecovery = 40 * time.Second
)

// faultApp starts upmon with a fake Slack and one target site, checked by
// the scheduler every faultInterval, and waits for its first check.
func faultApp(t *testing.T, cfg app.Config) (*app.Main, *apptest.Slack, *apptest.Target) {
	t.Helper()
	cfg.CheckInterval = faultInterval
	cfg.PingTimeout = faultTimeout
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	target := apptest.NewTarget(t)
	code, body, err := httpDo(context.Background(), "POST", m.URL()+"/site", `{"url":"`+target.URL+`"}`)
	if err != nil || code != http.StatusOK {
		t.Fatalf("add site: %d %s %v", code, body, err)
	}
	waitChecked(t, apptest.Client{Base: m.URL(), TB: t}, "1")
	return m, slack, target
}

// health fetches /healthz (answered within the client's timeout, or the
// test fails).
func health(t *testing.T, base string) (int, app.HealthResponse) {
	t.Helper()
	code, body, err := httpDo(context.Background(), "GET", base+"/healthz", "")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	var h app.HealthResponse
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("GET /healthz: %d %q: %v", code, body, err)
	}
	return code, h
}

// waitHealth waits until /healthz answers want and, for 503, names every
// dependency in broken as not ok.
func waitHealth(t *testing.T, base string, want int, broken ...string) app.HealthResponse {
	t.Helper()
	var last app.HealthResponse
	lastCode := 0
	deadline := time.Now().Add(faultRecovery)
	for time.Now().Before(deadline) {
		lastCode, last = health(t, base)
		ok := lastCode == want
		for _, dep := range broken {
			ok = ok && last.Checks[dep] != "" && last.Checks[dep] != "ok"
		}
		if ok {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/healthz never answered %d with %v broken; last: %d %+v", want, broken, lastCode, last)
	return last
}

// requireStatus requires a request to be answered (within the client's
// timeout) with status want and, for errors, the error code.
func requireStatus(t *testing.T, base, method, path, body string, want int, wantCode string) string {
	t.Helper()
	code, resp, err := httpDo(context.Background(), method, base+path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, resp, want)
	}
	if wantCode != "" {
		var e struct{ Code string }
		if json.Unmarshal([]byte(resp), &e) != nil || e.Code != wantCode {
			t.Fatalf("%s %s: body %s, want code %q", method, path, resp, wantCode)
		}
	}
	return resp
}

// requireNotified waits for Slack to hold want (first lines), then a
// little longer, and requires exactly want: nothing lost, nothing twice.
func requireNotified(t *testing.T, slack *apptest.Slack, want ...string) {
	t.Helper()
	slack.WaitFor(len(want), faultRecovery)
	time.Sleep(2 * settle)
	if got := firstLines(slack.Messages()); !slices.Equal(got, want) {
		t.Fatalf("Slack messages %q, want %q", got, want)
	}
}

// siteUp reports the site's state from /status.
func siteUp(t *testing.T, base, id string) (up, known bool) {
	t.Helper()
	code, body, err := httpDo(context.Background(), "GET", base+"/status", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /status: %d %s %v", code, body, err)
	}
	var st statusBody
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	s, ok := st.Sites[id]
	return s.Up, ok
}

// TestPostgresOutage stops upmon's (private) PostgreSQL for a few
// intervals while a site goes down: 503 unavailable and /healthz meanwhile,
// recovery by itself, and the down notification once, afterwards.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := startPrivatePostgres(t)
	cfg := apptest.Config(t)
	cfg.DatabaseURL = pg.URL
	m, slack, target := faultApp(t, cfg)
	base := m.URL()

	pg.Stop(t)
	target.SetStatus(http.StatusInternalServerError)
	h := waitHealth(t, base, http.StatusServiceUnavailable, "database.site", "database.monitor")
	t.Logf("PostgreSQL stopped: /healthz %+v", h)
	// Whatever needs the database answers 503 unavailable, promptly.
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/site", ""},
		{"GET", "/site/1", ""},
		{"POST", "/site", `{"url":"https://example.com/during-outage"}`},
		{"PATCH", "/site/1", `{"name":"x"}`},
		{"DELETE", "/site/1", ""},
		{"GET", "/status", ""},
		{"POST", "/check/1", ""},
		{"GET", "/site/1/checks", ""},
		{"GET", "/site/1/incidents", ""},
	} {
		requireStatus(t, base, r.method, r.path, r.body, http.StatusServiceUnavailable, "unavailable")
	}
	// Without tokens, whether access control is on depends on the users
	// in the account database: /metrics cannot be decided either.
	requireStatus(t, base, "GET", "/metrics", "", http.StatusServiceUnavailable, "unavailable")
	// The scheduler fails for a few intervals meanwhile.
	time.Sleep(3 * faultInterval)
	if msgs := slack.Messages(); len(msgs) != 0 {
		t.Fatalf("Slack got %q while nothing could be recorded", msgs)
	}

	pg.Start(t)
	waitHealth(t, base, http.StatusOK)
	// The site went down during the outage: the first check after it
	// records the transition, and Slack hears of it once.
	requireNotified(t, slack, downText(target.URL))
	if up, _ := siteUp(t, base, "1"); up {
		t.Fatal("/status says the site is up")
	}
	requireStatus(t, base, "GET", "/site/1", "", http.StatusOK, "")
	target.SetStatus(http.StatusOK)
	requireNotified(t, slack, downText(target.URL), upText(target.URL))
}

// TestNATSOutage stops upmon's (private) nats-server while a site goes
// down and another is added: checks and the API go on, the events wait in
// the outboxes and are delivered, once, when NATS is back.
func TestNATSOutage(t *testing.T) {
	t.Parallel()
	ns := startPrivateNATS(t)
	cfg := apptest.Config(t)
	cfg.NATSURL = ns.URL
	m, slack, target := faultApp(t, cfg)
	base := m.URL()
	outbox := func() int {
		var n int
		if err := m.Monitor.DB().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
			t.Fatalf("count monitor outbox: %v", err)
		}
		return n
	}

	ns.Stop(t)
	target.SetStatus(http.StatusInternalServerError)
	waitHealth(t, base, http.StatusServiceUnavailable, "broker")
	// The monitor keeps checking on its database: the site's transition
	// is committed with its event, which waits in the outbox.
	apptest.Eventually(t, faultRecovery, "the down check recorded during the outage", func() bool {
		up, known := siteUp(t, base, "1")
		return known && !up
	})
	h := waitHealth(t, base, http.StatusServiceUnavailable, "broker", "outbox.monitor")
	t.Logf("NATS stopped: /healthz %+v", h)
	if n := outbox(); n == 0 {
		t.Fatal("the transition's event is not waiting in the outbox")
	}
	// The API that needs only the database works; a new site is stored
	// and its site-added event waits in the site outbox.
	requireStatus(t, base, "GET", "/site", "", http.StatusOK, "")
	target2 := apptest.NewTarget(t)
	requireStatus(t, base, "POST", "/site", `{"url":"`+target2.URL+`"}`, http.StatusOK, "")
	// What needs the broker answers 503 unavailable, promptly.
	requireStatus(t, base, "GET", "/admin/deadletters", "", http.StatusServiceUnavailable, "unavailable")
	time.Sleep(faultInterval)
	if msgs := slack.Messages(); len(msgs) != 0 {
		t.Fatalf("Slack got %q while the broker was down", msgs)
	}

	ns.Start(t)
	waitHealth(t, base, http.StatusOK)
	requireNotified(t, slack, downText(target.URL))
	apptest.Eventually(t, faultRecovery, "the outbox to drain", func() bool { return outbox() == 0 })
	// The site added during the outage is scheduled and checked.
	waitChecked(t, apptest.Client{Base: base, TB: t}, "2")
	requireStatus(t, base, "GET", "/admin/deadletters", "", http.StatusOK, "")
	target.SetStatus(http.StatusOK)
	requireNotified(t, slack, downText(target.URL), upText(target.URL))
	if n := target2.Hits(); n == 0 {
		t.Fatal("the site added during the outage was never checked")
	}
}

// TestNATSClusterNodeLoss runs upmon with --nats-replicas 3 on a private
// three-node NATS cluster configured like docs/deploy.md's, requires
// every stream and bucket it creates to have three replicas, then stops
// the node that leads the cron lock bucket: check-all keeps running and a
// transition is still notified once.
func TestNATSClusterNodeLoss(t *testing.T) {
	t.Parallel()
	nodes := startPrivateNATSCluster(t, 3)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL)
	}
	cfg := apptest.Config(t)
	cfg.NATSURL = strings.Join(urls, ",")
	cfg.NATSReplicas = 3
	m, slack, target := faultApp(t, cfg)
	base := m.URL()
	prefix := m.Broker().Prefix()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := m.Broker().JetStream()
	names := js.StreamNames(ctx)
	var ours []string
	for name := range names.Name() {
		if strings.HasPrefix(name, prefix+"_") || strings.HasPrefix(name, "KV_"+prefix+"_") {
			ours = append(ours, name)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ours)
	lockStream := "KV_" + prefix + "_cron"
	if !slices.Contains(ours, lockStream) {
		t.Fatalf("no cron lock bucket among the streams %q", ours)
	}
	var lockLeader string
	for _, name := range ours {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Replicas != 3 {
			t.Errorf("stream %s has %d replicas, want 3 (--nats-replicas)", name, info.Config.Replicas)
		}
		if name == lockStream && info.Cluster != nil {
			lockLeader = info.Cluster.Leader
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	runs := func() float64 {
		_, body, err := httpDo(context.Background(), "GET", base+"/metrics", "")
		if err != nil {
			t.Fatal(err)
		}
		return promText(body).sum("upmon_cron_runs_total", "job", "check-all", "result", "ok")
	}
	for _, n := range nodes {
		if n.Name == lockLeader {
			n.Stop(t)
			t.Logf("stopped %s, the leader of %s", n.Name, lockStream)
		}
	}
	// Wait out the re-election, then check-all must keep running.
	time.Sleep(2 * faultInterval)
	before := runs()
	apptest.Eventually(t, faultRecovery, "check-all to run twice with a node down", func() bool {
		return runs() >= before+2
	})
	target.SetStatus(http.StatusInternalServerError)
	requireNotified(t, slack, downText(target.URL))
	waitHealth(t, base, http.StatusOK)
}

// outageSites is the size of the outage fleet: enough for a few state
// changes during each outage, small enough to run beside other tests.
const outageSites = 60

// TestReplicasSurviveOutages is the process-level outage test:
// three `upmon serve` processes on a private PostgreSQL and a private
// nats-server, sites flapping throughout; NATS is stopped and restarted,
// then PostgreSQL. Every replica reports each outage on /healthz (503,
// the broken dependency named) and recovers by itself; state changes
// committed while NATS was down are notified afterwards; in the end every
// recorded state change has exactly one Slack message.
func TestReplicasSurviveOutages(t *testing.T) {
	// It brings its own servers, but like the other replica tests it runs
	// in the PostgreSQL + external NATS pass only, to spare CI time.
	if sqldbtest.PostgresURL() == "" || os.Getenv(pubsubtest.EnvURL) == "" {
		t.Skip("skipping: the process-level outage test runs when " + sqldbtest.EnvPostgresURL + " and " + pubsubtest.EnvURL +
			" are set (.ci/run's second pass); TestPostgresOutage and TestNATSOutage cover the same faults in-process")
	}
	t.Parallel()
	pg := startPrivatePostgres(t)
	ns := startPrivateNATS(t)
	f := startFleet(t, pg.URL, ns.URL, "upmon", outageSites)
	f.target.Flap(time.Now())
	time.Sleep(3 * fleetInterval)
	waitAll := func(code int, broken ...string) {
		t.Helper()
		for _, p := range f.procs {
			waitHealth(t, p.Base, code, broken...)
		}
	}

	natsDown := time.Now()
	ns.Stop(t)
	waitAll(http.StatusServiceUnavailable, "broker")
	time.Sleep(4 * fleetInterval) // state changes are committed; their events wait
	f.requireSameAnswers("/site") // the API answers from the database
	ns.Start(t)
	natsUp := time.Now()
	waitAll(http.StatusOK)
	t.Logf("NATS was down %v", natsUp.Sub(natsDown).Round(time.Millisecond))
	time.Sleep(2 * fleetInterval)

	pgDown := time.Now()
	pg.Stop(t)
	waitAll(http.StatusServiceUnavailable, "database.site", "database.monitor")
	for _, p := range f.procs {
		requireStatus(t, p.Base, "GET", "/site", "", http.StatusServiceUnavailable, "unavailable")
		requireStatus(t, p.Base, "GET", "/status", "", http.StatusServiceUnavailable, "unavailable")
	}
	time.Sleep(3 * fleetInterval)
	pg.Start(t)
	waitAll(http.StatusOK)
	t.Logf("PostgreSQL was down %v", time.Since(pgDown).Round(time.Millisecond))
	time.Sleep(2 * fleetInterval)

	frozen := time.Now()
	f.target.Freeze()
	f.checkNotifications(frozen, false)
	var during int
	if err := f.db.QueryRow(`SELECT COUNT(*) FROM monitor.incidents
		WHERE started_at BETWEEN $1 AND $2 OR ended_at BETWEEN $1 AND $2`,
		natsDown.UnixMilli(), natsUp.UnixMilli()).Scan(&during); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d state changes were committed while NATS was down", during)
	if during == 0 {
		t.Error("no state change was committed while NATS was down: the outage tested nothing")
	}
	f.requireSameStatus(f.procs)
}
