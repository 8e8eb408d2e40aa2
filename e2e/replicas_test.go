//go:build unix

package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"upmon/internal/app/apptest"
	"upmon/platform/pubsub/pubsubtest"
	"upmon/platform/sqldb/sqldbtest"
)

// The replica tests run three `upmon serve` processes against one
// PostgreSQL database and one NATS, with fleetSites sites served by one
// loopback target, a few of them flapping, and check that the cluster
// does each piece of work once: every site checked once per interval
// (not once per replica), every check-all tick run once, every state
// change notified once.
const (
	fleetReplicas = 3
	fleetSites    = 200
	fleetInterval = 2 * time.Second
	fleetTimeout  = time.Second
	// fleetRun is how long the measured part runs. The issue asks for a
	// minute; 30 s (15 intervals per site, 3000 checks, about 30 state
	// changes) tells a shared schedule from a tripled one just as well
	// and keeps CI time down.
	fleetRun = 30 * time.Second
	// fleetAckDeadline shortens redelivery of the messages a killed
	// replica held (ack wait = deadline + 1 s).
	fleetAckDeadline = 5 * time.Second
	// fleetJitter is the scheduling slack allowed on top of a bound: the
	// scheduler's wake-up, the claim query and a loaded CI machine.
	fleetJitter = 700 * time.Millisecond
	// fleetPoolConns caps each of a replica's two connection pools, so a
	// fleet needs at most 24 of the server's connections (default 100,
	// shared with the other tests).
	fleetPoolConns = 4
)

// fleetSlow tells the slow sites, which answer after fleetDelay (within
// the timeout): the flapping ones and every seventh, so that each replica
// always has checks in flight, which a SIGKILL cuts short.
func fleetSlow(i int) bool {
	_, flapping := fleetFlaps[i]
	return flapping || i%7 == 3
}

// fleetDelay is how long slow sites take to answer.
const fleetDelay = 600 * time.Millisecond

// fleetFlaps are the flapping sites (by index) and their half-cycles.
var fleetFlaps = map[int]time.Duration{
	0:  3 * time.Second,
	11: 4 * time.Second,
	22: 5 * time.Second,
	33: 6 * time.Second,
	44: 7 * time.Second,
}

// The replica tests do not run in parallel, with each other or with the
// package's parallel tests: their bounds are about timing, and three
// replicas with 200 sites are load enough for a small CI machine.

// TestReplicasShareWork runs three replicas for fleetRun: each site is
// checked once per interval, each check-all tick runs once, every replica
// does part of the checks, and each state change is notified once.
func TestReplicasShareWork(t *testing.T) {
	pg, nats := requireExternalBackends(t)
	runFleet(t, pg, nats, false)
}

// TestReplicasSurviveSIGKILL is TestReplicasShareWork with one replica
// killed with SIGKILL halfway, while it has checks in flight: no site
// misses more than the cycle the dead replica had claimed, check-all
// still runs once per tick, no transition is lost or doubled.
func TestReplicasSurviveSIGKILL(t *testing.T) {
	pg, nats := requireExternalBackends(t)
	runFleet(t, pg, nats, true)
}

// requireExternalBackends returns the test PostgreSQL and NATS URLs, or
// skips: replicas need a shared database and broker.
func requireExternalBackends(t *testing.T) (pg, nats string) {
	t.Helper()
	pg, nats = sqldbtest.PostgresURL(), os.Getenv(pubsubtest.EnvURL)
	if pg == "" || nats == "" {
		t.Skip("skipping: replicas share a PostgreSQL and a NATS; set " + sqldbtest.EnvPostgresURL + " and " +
			pubsubtest.EnvURL + " (.ci/run does) to run this test")
	}
	return pg, nats
}

// fleet is one replica test's world.
type fleet struct {
	t      *testing.T
	sites  int
	db     *sql.DB // the cluster's database, for the expectations
	target *fleetTarget
	slack  *apptest.Slack
	procs  []*upmonProc
	ids    map[int]int64 // site index -> id
	index  map[string]int
}

// startFleet starts fleetReplicas replicas on the database dbURL and the
// NATS natsURL (under prefix), adds sites sites through the first one and
// waits until each was checked.
func startFleet(t *testing.T, dbURL, natsURL, prefix string, sites int) *fleet {
	f := &fleet{t: t, sites: sites, target: newFleetTarget(t, fleetFlaps, fleetSlow, fleetDelay),
		slack: apptest.NewSlack(t), ids: map[int]int64{}, index: map[string]int{}}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	f.db = db
	// Each replica opens two pools (site, monitor); small ones keep the
	// fleet and the other tests within the server's max_connections.
	replicaDB := dbURL + "&pool_max_conns=" + strconv.Itoa(fleetPoolConns)
	if !strings.Contains(dbURL, "?") {
		replicaDB = dbURL + "?pool_max_conns=" + strconv.Itoa(fleetPoolConns)
	}

	// Start the replicas together: their migrations race (goose's lock
	// decides) and so do their first cron ticks.
	for i := range fleetReplicas {
		dir := filepath.Join(t.TempDir(), "data")
		f.procs = append(f.procs, launchUpmon(t, fmt.Sprintf("replica-%d", i), []string{
			"--addr", "127.0.0.1:0",
			"--data-dir", dir,
			"--database-url", replicaDB,
			"--nats-url", natsURL,
			"--nats-prefix", prefix,
			"--check-interval", fleetInterval.String(),
			"--ping-timeout", fleetTimeout.String(),
			"--retry-min-backoff", "100ms",
			"--retry-max-backoff", "1s",
			"--ack-deadline", fleetAckDeadline.String(),
		}, procEnv("SLACK_WEBHOOK_URL="+f.slack.URL)))
	}
	for _, p := range f.procs {
		p.waitServing(t, 90*time.Second)
	}
	f.addSites()
	f.requireSameAnswers("/site", "/site/"+strconv.FormatInt(f.ids[sites/2], 10))
	f.waitAllChecked()
	return f
}

func runFleet(t *testing.T, pgBase, natsURL string, kill bool) {
	dbURL := sqldbtest.NewPostgresDatabase(t, pgBase)
	prefix := pubsubtest.Config(t).Prefix // removes the prefix's streams when t ends
	f := startFleet(t, dbURL, natsURL, prefix, fleetSites)

	// Let the schedule settle one interval, then measure.
	time.Sleep(fleetInterval)
	w0 := time.Now()
	f.target.Flap(w0)
	before, b0, b1 := f.scrape(f.procs)
	t.Logf("measuring for %v from %s", fleetRun, w0.Format("15:04:05.000"))

	survivors := f.procs
	var (
		orphans            []int
		killedAt           time.Time
		afterKill          []promText
		afterKillLo, akEnd time.Time
	)
	if kill {
		time.Sleep(time.Until(w0.Add(fleetRun / 2)))
		victim := f.procs[fleetReplicas-1]
		inFlight := f.waitInFlight(victim)
		victim.kill(t)
		killedAt = time.Now()
		t.Logf("killed %s with SIGKILL at %s with %v checks in flight", victim.name, killedAt.Format("15:04:05.000"), inFlight)
		orphans = f.orphanedClaims(killedAt)
		survivors = f.procs[:fleetReplicas-1]
		afterKill, afterKillLo, akEnd = f.scrape(survivors)
	}
	time.Sleep(time.Until(w0.Add(fleetRun)))
	w1 := time.Now()
	after, a0, a1 := f.scrape(survivors)
	f.target.Freeze()

	f.checkHits(w0, w1, killedAt)
	if kill {
		f.checkOrphans(orphans, killedAt)
		f.checkCron(afterKill, after, akEnd, a0, afterKillLo, a1, survivors)
	} else {
		f.checkCron(before, after, b1, a0, b0, a1, survivors)
		f.checkSharing(before, after, w1.Sub(w0))
	}
	f.checkNotifications(w1, !kill)
	f.requireSameAnswers("/site")
	f.requireSameStatus(survivors)
}

// addSites adds f.sites sites through the first replica.
func (f *fleet) addSites() {
	t := f.t
	ctx := context.Background()
	for i := range f.sites {
		u := f.target.SiteURL(i)
		code, body, err := httpDo(ctx, "POST", f.procs[0].Base+"/site", `{"url":"`+u+`"}`)
		if err != nil || code != http.StatusOK {
			t.Fatalf("add site %d: %d %s %v", i, code, body, err)
		}
		var s struct{ ID int64 }
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		f.ids[i] = s.ID
		f.index[u] = i
	}
}

// requireSameAnswers requires every replica to answer each path with the
// same status and body: no replica-local state.
func (f *fleet) requireSameAnswers(paths ...string) {
	t := f.t
	for _, path := range paths {
		var first string
		for i, p := range f.procs {
			if !p.alive() {
				continue
			}
			code, body, err := httpDo(context.Background(), "GET", p.Base+path, "")
			if err != nil || code != http.StatusOK {
				t.Fatalf("GET %s on %s: %d %v", path, p.name, code, err)
			}
			if i == 0 {
				first = body
			} else if body != first {
				t.Fatalf("GET %s answers differently on %s:\n%s\nthan on %s:\n%s", path, p.name, body, f.procs[0].name, first)
			}
		}
	}
}

type statusBody struct {
	Sites map[string]struct {
		Up    bool   `json:"up"`
		State string `json:"state"`
	} `json:"sites"`
}

func (f *fleet) status(p *upmonProc) statusBody {
	f.t.Helper()
	code, body, err := httpDo(context.Background(), "GET", p.Base+"/status", "")
	if err != nil || code != http.StatusOK {
		f.t.Fatalf("GET /status on %s: %d %v", p.name, code, err)
	}
	var st statusBody
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// waitAllChecked waits until every site has a recorded check.
func (f *fleet) waitAllChecked() {
	apptest.Eventually(f.t, 60*time.Second, "every site's first check", func() bool {
		return len(f.status(f.procs[0]).Sites) == f.sites
	})
}

// requireSameStatus requires every survivor to report every site up (the
// targets are frozen up and the last checks recorded).
func (f *fleet) requireSameStatus(procs []*upmonProc) {
	for _, p := range procs {
		st := f.status(p)
		up := 0
		for _, s := range st.Sites {
			if s.Up && s.State == "up" {
				up++
			}
		}
		if len(st.Sites) != f.sites || up != f.sites {
			f.t.Fatalf("%s reports %d sites, %d up; want %d up", p.name, len(st.Sites), up, f.sites)
		}
	}
}

// scrape scrapes every process and returns the texts and the times the
// first scrape started and the last ended.
func (f *fleet) scrape(procs []*upmonProc) (texts []promText, start, end time.Time) {
	start = time.Now()
	for _, p := range procs {
		texts = append(texts, p.metrics(f.t))
	}
	return texts, start, time.Now()
}

// checkHits requires each site to be checked once per interval over
// [w0, w1) — about (w1-w0)/interval hits, not three times that — and no
// site to go unchecked for long.
//
// The gap bound: a replica checks a site it claimed; a claim moves the
// site's next check one interval on and leases it for
// timeout + margin (2 s here, see monitor.leaseOf). Running replicas
// keep gaps at one interval (plus scheduling jitter). When a replica is
// killed mid-check, its claimed sites are checked again when both the
// next slot and the lease have passed: the cycle it claimed is missed,
// and made up at most interval + timeout later, so the longest gap
// between two hits is 2×interval + timeout. That is the issue's "no
// check cycle is missed for longer than one interval plus the ping
// timeout" (a gap of one interval is no miss at all).
func (f *fleet) checkHits(w0, w1, killedAt time.Time) {
	t := f.t
	want := float64(w1.Sub(w0)) / float64(fleetInterval)
	gapBound := fleetInterval + fleetTimeout + fleetJitter
	if !killedAt.IsZero() {
		gapBound = 2*fleetInterval + fleetTimeout + fleetJitter
	}
	var bad []string
	total, worstGap, worstSite := 0, time.Duration(0), 0
	for i := range f.sites {
		hits := f.target.Hits(i)
		n := len(hitsIn(hits, w0, w1))
		total += n
		if float64(n) < want-2 || float64(n) > want+2 {
			bad = append(bad, fmt.Sprintf("site %d: %d hits", i, n))
		}
		if g := maxGap(hits, w0, w1); g > worstGap {
			worstGap, worstSite = g, i
		}
	}
	t.Logf("hits in %v: %d over %d sites (%.1f per site, want %.1f); longest gap %v (site %d, bound %v)",
		w1.Sub(w0).Round(time.Millisecond), total, f.sites, float64(total)/float64(f.sites), want, worstGap.Round(time.Millisecond), worstSite, gapBound)
	if len(bad) > 0 {
		t.Errorf("%d sites were not checked once per interval (want %.1f ± 2 hits each): %s",
			len(bad), want, strings.Join(bad[:min(len(bad), 10)], "; "))
	}
	if worstGap > gapBound {
		hits := hitsIn(f.target.Hits(worstSite), w0.Add(-fleetInterval), w1)
		var at []string
		for _, h := range hits {
			at = append(at, h.at.Format("05.000"))
		}
		t.Errorf("site %d went unchecked for %v, more than %v (killed at %s); its hits: %s",
			worstSite, worstGap.Round(time.Millisecond), gapBound, killedAt.Format("05.000"), strings.Join(at, " "))
	}
}

// waitInFlight waits (a few seconds at most) until p has scheduled checks
// in flight, so that killing it leaves claimed sites behind, and returns
// how many.
func (f *fleet) waitInFlight(p *upmonProc) float64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := p.metrics(f.t).sum("upmon_checks_in_flight")
		if n >= 2 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// orphanedClaims returns the sites (by index) the killed replica had
// claimed and not finished: a moment after the kill (longer than a live
// check takes, shorter than the lease), the rows still leased by a claim
// made before the kill.
func (f *fleet) orphanedClaims(killedAt time.Time) []int {
	t := f.t
	time.Sleep(fleetDelay + 300*time.Millisecond)
	rows, err := f.db.Query(`SELECT site_id FROM monitor.site_state
		WHERE lease_until > 0 AND lease_until - lease_ms <= $1`, killedAt.UnixMilli())
	if err != nil {
		t.Fatalf("orphaned claims: %v", err)
	}
	defer rows.Close()
	byID := map[int64]int{}
	for i, id := range f.ids {
		byID[id] = i
	}
	var out []int
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, byID[id])
	}
	slices.Sort(out)
	t.Logf("sites claimed by the killed replica and left unfinished: %v", out)
	return out
}

// checkOrphans requires the killed replica to have left claims behind
// (else the test did not exercise them), and each of those sites to be
// checked again, by another replica, within the bound of checkHits.
func (f *fleet) checkOrphans(orphans []int, killedAt time.Time) {
	t := f.t
	if len(orphans) == 0 {
		t.Errorf("the killed replica left no claimed check unfinished: the test did not exercise a dead replica's claims")
	}
	bound := 2*fleetInterval + fleetTimeout + fleetJitter
	for _, i := range orphans {
		next := hitsIn(f.target.Hits(i), killedAt, killedAt.Add(bound))
		if len(next) == 0 {
			t.Errorf("site %d, orphaned by the kill, was not checked again within %v", i, bound)
			continue
		}
		t.Logf("orphaned site %d checked again %v after the kill", i, next[0].at.Sub(killedAt).Round(time.Millisecond))
	}
}

// logActivity logs what the fleet's database connections are doing, to
// tell a stuck transaction from a slow machine.
func (f *fleet) logActivity() {
	rows, err := f.db.Query(`SELECT pid, COALESCE(state, ''), COALESCE(wait_event_type, ''), COALESCE(wait_event, ''),
		COALESCE(EXTRACT(EPOCH FROM now() - xact_start), 0), LEFT(query, 160)
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		f.t.Logf("pg_stat_activity: %v", err)
		return
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var (
			pid                  int
			state, wtype, wevent string
			xactSeconds          float64
			query                string
		)
		if err := rows.Scan(&pid, &state, &wtype, &wevent, &xactSeconds, &query); err != nil {
			f.t.Logf("pg_stat_activity: %v", err)
			return
		}
		lines = append(lines, fmt.Sprintf("pid %d %s wait %s/%s xact %.1fs: %s", pid, state, wtype, wevent, xactSeconds, strings.Join(strings.Fields(query), " ")))
	}
	f.t.Logf("database connections:\n%s", strings.Join(lines, "\n"))
}

// ticksIn counts the check-all ticks (UTC multiples of the interval) in
// (from, to].
func ticksIn(from, to time.Time) int {
	iv := int64(fleetInterval)
	return int(to.UnixNano()/iv - from.UnixNano()/iv)
}

// checkCron requires the check-all job to have run once per tick across
// the replicas between two scrapes: between lo and hi ticks, where lo
// counts the ticks certainly between the scrapes (after the first set
// ended, before the second began) and hi those possibly between them.
func (f *fleet) checkCron(before, after []promText, loFrom, loTo, hiFrom, hiTo time.Time, procs []*upmonProc) {
	t := f.t
	lo, hi := ticksIn(loFrom, loTo), ticksIn(hiFrom, hiTo)
	runs, claimed, perProc := 0.0, 0.0, []string{}
	for i := range procs {
		r := after[i].sum("upmon_cron_runs_total", "job", "check-all") - before[i].sum("upmon_cron_runs_total", "job", "check-all")
		runs += r
		claimed += after[i].sum("upmon_cron_skipped_total", "job", "check-all", "reason", "claimed") -
			before[i].sum("upmon_cron_skipped_total", "job", "check-all", "reason", "claimed")
		perProc = append(perProc, fmt.Sprintf("%s %v", procs[i].name, r))
	}
	t.Logf("check-all: %v runs over %d-%d ticks (%s); %v ticks left to another replica", runs, lo, hi, strings.Join(perProc, ", "), claimed)
	// A run is counted when it ends: allow one tick before the window
	// whose run ended inside it, or one inside still running (or claimed
	// by a replica that was killed).
	if runs < float64(lo-1) || runs > float64(hi+1) {
		t.Errorf("check-all ran %v times across %d replicas over %d-%d ticks; want once per tick", runs, len(procs), lo, hi)
	}
	if claimed < float64(lo-1) {
		t.Errorf("only %v check-all ticks were found claimed by another replica over %d ticks: the replicas do not compete for ticks", claimed, lo)
	}
}

// checkSharing requires every replica to do part of the checks and all
// of them together to do each once.
func (f *fleet) checkSharing(before, after []promText, run time.Duration) {
	t := f.t
	want := float64(f.sites) * run.Seconds() / fleetInterval.Seconds()
	total, parts := 0.0, []string{}
	for i, p := range f.procs {
		n := after[i].sum("upmon_checks_total") - before[i].sum("upmon_checks_total")
		total += n
		parts = append(parts, fmt.Sprintf("%s %v", p.name, n))
		if n == 0 {
			t.Errorf("%s recorded no checks: the replicas do not share the work", p.name)
		}
	}
	t.Logf("checks recorded: %v (want about %.0f): %s", total, want, strings.Join(parts, ", "))
	if total < want*0.9 || total > want*1.1 {
		t.Errorf("the replicas recorded %v checks in %v, want about %.0f (one per site per interval)", total, run, want)
	}
}

// checkNotifications waits for the frozen flapping sites' last checks and
// the outboxes to drain, then requires Slack to have one message per
// state change the monitor recorded: per site, one "down" per incident
// and one "back up" per closed incident, seq (the transition counter) in
// all, and nothing for the steady sites. With exact, it also requires
// the recorded changes to be exactly the changes of the answers the
// target gave: every check was recorded, in order.
func (f *fleet) checkNotifications(frozenAt time.Time, exact bool) {
	t := f.t
	ctx := context.Background()
	var flapIDs []int64
	for i := range fleetFlaps {
		flapIDs = append(flapIDs, f.ids[i])
	}
	logged := false
	apptest.Eventually(t, 30*time.Second, "the flapping sites to be checked up after the freeze and the outboxes to drain", func() bool {
		var notUp, backlog int
		err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitor.site_state WHERE NOT up AND site_id = ANY($1)`, flapIDs).Scan(&notUp)
		if err == nil {
			err = f.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM monitor.outbox) + (SELECT COUNT(*) FROM site.outbox)`).Scan(&backlog)
		}
		var recent int
		if err == nil {
			err = f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitor.site_state WHERE checked_at > $1 AND site_id = ANY($2)`,
				frozenAt.UnixMilli(), flapIDs).Scan(&recent)
		}
		ok := err == nil && notUp == 0 && backlog == 0 && recent == len(flapIDs)
		if !ok && !logged && time.Since(frozenAt) > 20*time.Second {
			logged = true
			t.Logf("still waiting: err %v, %d flapping sites down, outbox backlog %d, %d of %d checked since the freeze", err, notUp, backlog, recent, len(flapIDs))
			f.logActivity()
		}
		return ok
	})

	type expect struct{ seq, downs, ups int }
	want := map[int64]*expect{}
	rows, err := f.db.QueryContext(ctx, `SELECT site_id, seq FROM monitor.site_state`)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for rows.Next() {
		var id int64
		e := &expect{}
		if err := rows.Scan(&id, &e.seq); err != nil {
			t.Fatal(err)
		}
		want[id] = e
		total += e.seq
	}
	rows.Close()
	rows, err = f.db.QueryContext(ctx, `SELECT site_id, COUNT(*), COUNT(ended_at) FROM monitor.incidents GROUP BY site_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var downs, ups int
		if err := rows.Scan(&id, &downs, &ups); err != nil {
			t.Fatal(err)
		}
		if e := want[id]; e != nil {
			e.downs, e.ups = downs, ups
		}
	}
	rows.Close()

	// Deliveries need the channels database: after a PostgreSQL outage the
	// router's retries (backoff from --retry-min-backoff, 10 s) come first.
	f.slack.WaitFor(total, 90*time.Second)
	time.Sleep(time.Second) // a duplicate would show up now
	msgs := f.slack.Messages()
	t.Logf("%d state changes recorded, %d Slack messages", total, len(msgs))
	if total < 2*len(fleetFlaps) {
		t.Errorf("only %d state changes over %d flapping sites: the flapping did not happen", total, len(fleetFlaps))
	}

	got := map[int64]*expect{}
	for _, m := range msgs {
		first, _, _ := strings.Cut(m, "\n")
		u, up := "", false
		switch {
		case strings.HasSuffix(first, " is down!*"):
			u = strings.TrimSuffix(strings.TrimPrefix(first, "*"), " is down!*")
		case strings.HasSuffix(first, " is back up.*"):
			u, up = strings.TrimSuffix(strings.TrimPrefix(first, "*"), " is back up.*"), true
		}
		i, ok := f.index[u]
		if !ok {
			t.Errorf("unexpected Slack message %q", m)
			continue
		}
		g := got[f.ids[i]]
		if g == nil {
			g = &expect{}
			got[f.ids[i]] = g
		}
		g.seq++
		if up {
			g.ups++
		} else {
			g.downs++
		}
	}
	for i := range f.sites {
		id := f.ids[i]
		w, g := want[id], got[id]
		if w == nil {
			t.Errorf("site %d (id %d) has no state", i, id)
			continue
		}
		if g == nil {
			g = &expect{}
		}
		if *g != *w {
			t.Errorf("site %d (id %d): Slack got %d down and %d up messages; the monitor recorded %d transitions, %d incidents, %d closed",
				i, id, g.downs, g.ups, w.seq, w.downs, w.ups)
		}
		if _, flapping := fleetFlaps[i]; !flapping && w.seq != 0 {
			t.Errorf("steady site %d (id %d) has %d transitions", i, id, w.seq)
		}
		if exact {
			if n := answerChanges(f.target.Hits(i)); n != w.seq {
				t.Errorf("site %d (id %d): its answers changed %d times, the monitor recorded %d transitions", i, id, n, w.seq)
			}
		}
	}
	if t.Failed() {
		slices.Sort(msgs)
		t.Logf("Slack messages:\n%s", strings.Join(msgs, "\n"))
	}
}
