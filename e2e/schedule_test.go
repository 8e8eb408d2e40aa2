package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
	"upmon/platform/outbox"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// 300 sites added in parallel while the check-all sweep runs every second
// each keep their schedule and their state: every site is checked again at
// its interval, and its target being down opens exactly one incident (a
// sweep that dropped a new site's row would reset its state, and the next
// check would record a second "down" transition and incident). Half the
// sites are added while one sweep is held between reading the site list
// and reconciling the schedule, as a sweep of many sites on a busy
// database is.
func TestSitesAddedDuringSweepsKeepSchedule(t *testing.T) {
	const nSites = 300
	var armed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	hooks := app.Hooks{Monitor: monitor.Hooks{AfterSiteList: func() {
		if !armed.CompareAndSwap(true, false) {
			return
		}
		close(entered)
		select {
		case <-release:
		case <-time.After(2 * time.Minute):
		}
	}}}
	cfg := quickConfig(t)
	cfg.CheckInterval = time.Second // a sweep every second
	m := apptest.Start(t, cfg, hooks)
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	target.SetStatus(http.StatusInternalServerError)

	first := addSitesParallel(t, m.URL(), target.URL, 0, nSites/2)
	armed.Store(true)
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("no sweep ran within a minute")
	}
	second := addSitesParallel(t, m.URL(), target.URL, nSites/2, nSites)
	waitChecks(t, c, second, 1) // their schedule rows exist
	close(release)
	ids := append(first, second...)
	waitChecks(t, c, ids, 3)
	for _, id := range ids {
		var inc struct {
			Incidents []json.RawMessage `json:"incidents"`
		}
		c.JSON("GET", "/site/"+strconv.FormatInt(id, 10)+"/incidents", "", &inc)
		if len(inc.Incidents) != 1 {
			t.Errorf("site %d (down all along) has %d incidents, want 1: its state was reset", id, len(inc.Incidents))
		}
	}
}

// addSitesParallel adds sites from to to-1 (interval 2 s, at target/sN)
// from 30 clients at once and returns their ids.
func addSitesParallel(t *testing.T, base, target string, from, to int) []int64 {
	t.Helper()
	const workers = 30
	ids := make([]int64, to-from)
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < to; i += workers {
				body := fmt.Sprintf(`{"url":"%s/s%d","interval":"2s"}`, target, i)
				resp, err := http.Post(base+"/site", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				var st struct {
					ID int64 `json:"id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&st)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("add site %d: HTTP %d, %v", i, resp.StatusCode, err)
					return
				}
				ids[i-from] = st.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// waitChecks waits until every site has at least n recorded checks.
func waitChecks(t *testing.T, c apptest.Client, ids []int64, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	pending := append([]int64(nil), ids...)
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sites were not checked %d times (first: site %d)", len(pending), len(ids), n, pending[0])
		}
		var next []int64
		for _, id := range pending {
			var page struct {
				Checks []json.RawMessage `json:"checks"`
			}
			c.JSON("GET", fmt.Sprintf("/site/%d/checks?limit=%d", id, n), "", &page)
			if len(page.Checks) < n {
				next = append(next, id)
			}
		}
		pending = next
		if len(pending) > 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// holdMonitorLock blocks the monitor's schedule table from another
// transaction (SQLite's write lock; a PostgreSQL table lock) until the
// returned release.
func holdMonitorLock(t *testing.T, m *app.Main) func() {
	t.Helper()
	db := m.Monitor.DB()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := `UPDATE site_state SET error = error`
	if db.Dialect == sqldb.Postgres {
		q = `LOCK TABLE site_state IN ACCESS EXCLUSIVE MODE`
	}
	if _, err := tx.Exec(q); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { _ = tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// A database that stops answering (a lock held elsewhere, as a half-open
// connection would) cuts the scheduler's calls off at --db-timeout: the
// stall shows on /healthz and /metrics, and clears once the database
// answers again.
func TestHealthzReportsDatabaseStall(t *testing.T) {
	cfg := quickConfig(t)
	cfg.DBTimeout = 200 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	if status, h := health(t, m.URL()); status != http.StatusOK || h.Checks["stall.scheduler"] != "ok" {
		t.Fatalf("healthz before the stall: %d %v", status, h)
	}
	release := holdMonitorLock(t, m)
	waitUntil(t, "healthz to report the scheduler stalled", func() bool {
		status, h := health(t, m.URL())
		return status == http.StatusServiceUnavailable && h.Checks["stall.scheduler"] == "stalled"
	})
	_, metrics := c.Do("GET", "/metrics", "")
	if !strings.Contains(metrics, `upmon_db_stalled{component="scheduler"} 1`) ||
		!strings.Contains(metrics, `upmon_db_stalls_total{component="scheduler"}`) {
		t.Fatalf("/metrics shows no scheduler stall:\n%s", grepLines(metrics, "upmon_db_"))
	}
	release()
	waitUntil(t, "healthz to recover", func() bool {
		status, h := health(t, m.URL())
		return status == http.StatusOK && h.Checks["stall.scheduler"] == "ok"
	})
}

// waitUntil polls cond until it holds, failing after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A slow broker never holds up the checks: while the outbox relay is in
// the middle of publishing a transition (held after its publish), another
// site's check is recorded and answered.
func TestSlowBrokerDoesNotBlockChecks(t *testing.T) {
	var armed atomic.Bool
	publishing, release := make(chan struct{}), make(chan struct{})
	hooks := app.Hooks{Outbox: outbox.Hooks{AfterPublish: func(string) error {
		if armed.CompareAndSwap(true, false) {
			close(publishing)
			select {
			case <-release:
			case <-time.After(2 * time.Minute):
			}
		}
		return nil
	}}}
	m := apptest.Start(t, quickConfig(t), hooks)
	c := apptest.Client{Base: m.URL(), TB: t}
	flapping, steady := apptest.NewTarget(t), apptest.NewTarget(t)
	flapping.SetStatus(http.StatusInternalServerError)
	a := addSite(t, c, `{"url":"`+flapping.URL+`"}`)
	b := addSite(t, c, `{"url":"`+steady.URL+`"}`)
	waitChecked(t, c, a)
	waitChecked(t, c, b)

	armed.Store(true)
	flapping.SetStatus(http.StatusOK)
	if status, body := c.Do("POST", "/check/"+a, ""); status != http.StatusOK {
		t.Fatalf("check %s: %d %s", a, status, body)
	}
	select {
	case <-publishing:
	case <-time.After(time.Minute):
		t.Fatal("the transition was not relayed within a minute")
	}
	status, body := c.Do("POST", "/check/"+b, "")
	close(release)
	if status != http.StatusOK || !strings.Contains(body, `"up":true`) {
		t.Fatalf("check of %s while the relay was publishing: %d %s", b, status, body)
	}
}

// freezeProxy forwards loopback TCP connections to a server and, while
// frozen, stops forwarding without closing anything: to upmon the server
// looks like a peer behind a half-open connection.
type freezeProxy struct {
	addr   string
	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed while not frozen
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{addr: ln.Addr().String(), thawed: make(chan struct{})}
	close(p.thawed)
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.thaw()
		conns.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			conns.Add(2)
			go p.pipe(&conns, c, s)
			go p.pipe(&conns, s, c)
		}
	}()
	return p
}

// pipe copies from src to dst, holding each chunk while frozen.
func (p *freezeProxy) pipe(wg *sync.WaitGroup, dst, src net.Conn) {
	defer wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *freezeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen, p.thawed = true, make(chan struct{})
	}
}

func (p *freezeProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thawed)
	}
}

// On PostgreSQL behind a connection that stops answering (half-open), the
// calls of the scheduler and the outbox relays are cut off at --db-timeout instead of waiting for the
// TCP timeout; /healthz says so and recovers when the server answers
// again.
func TestHealthzReportsHalfOpenPostgres(t *testing.T) {
	cfg := quickConfig(t)
	if cfg.DatabaseURL == "" {
		t.Skip("PostgreSQL only: set " + sqldbtest.EnvPostgresURL)
	}
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezeProxy(t, u.Host)
	u.Host = proxy.addr
	cfg.DatabaseURL = u.String()
	cfg.DBTimeout = 300 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	if status, h := health(t, m.URL()); status != http.StatusOK {
		t.Fatalf("healthz before the freeze: %d %v", status, h)
	}
	proxy.freeze()
	waitUntil(t, "healthz to report the scheduler and the relays stalled", func() bool {
		_, h := health(t, m.URL())
		return h.Checks["stall.scheduler"] == "stalled" && h.Checks["stall.outbox.monitor"] == "stalled" &&
			h.Checks["stall.outbox.site"] == "stalled"
	})
	proxy.thaw()
	waitUntil(t, "healthz to recover", func() bool {
		status, h := health(t, m.URL())
		return status == http.StatusOK && h.Checks["stall.scheduler"] == "ok" && h.Checks["stall.outbox.monitor"] == "ok"
	})
}
