package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/site"
)

// The scheduler tests run inside a synctest bubble: virtual time, real
// SQLite databases (always SQLite: a PostgreSQL connection is network I/O,
// which a bubble cannot wait on durably) and an in-memory dialer, so tcp://
// checks need no network and an hour passes in seconds.

// pipeDialer answers every dial with one end of a net.Pipe after a
// per-address delay, and records how many checks of each address are in
// flight at once.
type pipeDialer struct {
	delay func(addr string) time.Duration

	mu       sync.Mutex
	inflight map[string]int
	maxSeen  map[string]int
	dials    int
}

func newPipeDialer(delay func(addr string) time.Duration) *pipeDialer {
	return &pipeDialer{delay: delay, inflight: map[string]int{}, maxSeen: map[string]int{}}
}

func (d *pipeDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dials++
	d.inflight[addr]++
	d.maxSeen[addr] = max(d.maxSeen[addr], d.inflight[addr])
	d.mu.Unlock()
	done := func() {
		d.mu.Lock()
		d.inflight[addr]--
		d.mu.Unlock()
	}
	t := time.NewTimer(d.delay(addr))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
	a, b := net.Pipe()
	b.Close()
	return &trackedConn{Conn: a, onClose: done}, nil
}

// trackedConn reports its (first) Close.
type trackedConn struct {
	net.Conn
	once    sync.Once
	onClose func()
}

func (c *trackedConn) Close() error {
	c.once.Do(c.onClose)
	return c.Conn.Close()
}

// openBubbleServices opens a site service and a monitor service on SQLite
// in dir, with the dialer; call it inside a bubble.
func openBubbleServices(t *testing.T, opts Options) (*site.Service, *Service, func()) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	siteDB, err := sqldb.Open(ctx, sqldb.Config{DataDir: dir}, "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	monDB, err := sqldb.Open(ctx, sqldb.Config{DataDir: dir}, "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	sites := site.New(siteDB, site.Options{Defaults: site.Defaults{Interval: 5 * time.Minute, Timeout: 10 * time.Second}})
	mon := New(monDB, sites, opts)
	return sites, mon, func() {
		monDB.Close()
		siteDB.Close()
	}
}

// checkTimes returns every recorded check time per site, in order.
func checkTimes(t *testing.T, s *Service) map[int64][]time.Time {
	t.Helper()
	rows, err := s.db.Query(`SELECT site_id, checked_at FROM checks ORDER BY site_id, checked_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64][]time.Time{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		out[id] = append(out[id], time.UnixMilli(at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchedulerThousandSitesVirtualHour(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const (
			hanging = 5
			hangFor = 90 * time.Second
		)
		// 1,000 sites with mixed intervals (an eighth of them under the
		// race detector, which makes SQLite about ten times slower).
		mix := []struct {
			count int
			every time.Duration
		}{{25, time.Minute}, {75, 5 * time.Minute}, {300, 15 * time.Minute}, {600, 30 * time.Minute}}
		dialer := newPipeDialer(func(addr string) time.Duration {
			if strings.HasPrefix(addr, "hang-") {
				return hangFor // longer than the site's 1m interval
			}
			return 20 * time.Millisecond
		})
		sites, mon, closeDBs := openBubbleServices(t, Options{Dialer: dialer.dial})
		defer closeDBs()
		ctx := context.Background()

		interval := map[int64]time.Duration{}
		isHanging := map[int64]bool{}
		add := func(p *site.AddParams, hang bool) {
			st, err := sites.Add(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			interval[st.ID] = p.Interval.D()
			isHanging[st.ID] = hang
		}
		for _, m := range mix {
			n := m.count
			if schedTestRace {
				n /= 8
			}
			for range n {
				p := &site.AddParams{URL: fmt.Sprintf("tcp://site-%d.upmon.test:80", len(interval))}
				p.Interval = site.Duration(m.every)
				add(p, false)
			}
		}
		for i := range hanging {
			p := &site.AddParams{URL: fmt.Sprintf("tcp://hang-%d.upmon.test:80", i)}
			p.Interval = site.Duration(time.Minute)
			p.Timeout = site.Duration(2 * time.Minute)
			add(p, true)
		}
		start := time.Now()
		if err := mon.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		mon.Start(true)
		time.Sleep(time.Hour)
		mon.Stop()
		end := time.Now()

		const tolerance = 2 * time.Second
		times := checkTimes(t, mon)
		total := 0
		for id, iv := range interval {
			ts := times[id]
			total += len(ts)
			if len(ts) == 0 {
				t.Errorf("site %d (every %v) was never checked", id, iv)
				continue
			}
			if first := ts[0].Sub(start); first < 0 || first > iv+tolerance {
				t.Errorf("site %d (every %v): first check %v after start", id, iv, first)
			}
			// A check still running at Stop is abandoned and not
			// recorded: a hanging site's last record may be two hangs old.
			if last := end.Sub(ts[len(ts)-1]); (isHanging[id] && last > 2*hangFor+tolerance) || (!isHanging[id] && last > iv+tolerance) {
				t.Errorf("site %d (every %v): last check %v before the end", id, iv, last)
			}
			for i := 1; i < len(ts); i++ {
				gap := ts[i].Sub(ts[i-1])
				if isHanging[id] {
					// The next check waits for the hanging one to end.
					if gap < hangFor || gap > hangFor+tolerance {
						t.Errorf("hanging site %d: checks %v apart, want %v..%v", id, gap, hangFor, hangFor+tolerance)
					}
					continue
				}
				if gap < iv-tolerance || gap > iv+tolerance {
					t.Errorf("site %d (every %v): checks %d and %d are %v apart", id, iv, i-1, i, gap)
					break
				}
			}
		}
		dialer.mu.Lock()
		for addr, n := range dialer.maxSeen {
			if n > 1 {
				t.Errorf("%s: %d checks at once", addr, n)
			}
		}
		dialer.mu.Unlock()

		// Even spread: the first checks of the sites of one interval are
		// spread across that interval (each tenth of it holds between
		// half and one and a half times its share) ...
		byInterval := map[time.Duration][]time.Duration{}
		for id, iv := range interval {
			if ts := times[id]; !isHanging[id] && len(ts) > 0 {
				byInterval[iv] = append(byInterval[iv], ts[0].Sub(start))
			}
		}
		for iv, firsts := range byInterval {
			if len(firsts) < 30 {
				continue
			}
			var tenths [10]int
			for _, f := range firsts {
				tenths[min(int(f*10/iv), 9)]++
			}
			share := float64(len(firsts)) / 10
			for i, n := range tenths {
				if float64(n) < share/2 || float64(n) > share*1.5 {
					t.Errorf("sites every %v: %d of %d first checks in tenth %d of the interval (%v)", iv, n, len(firsts), i, tenths)
				}
			}
		}
		// ... and no second of the hour holds much more than its share of
		// all checks (no thundering herd at the top of the minute).
		perSecond := map[int64]int{}
		for _, ts := range times {
			for _, at := range ts {
				perSecond[at.Unix()]++
			}
		}
		counts := make([]int, 0, len(perSecond))
		for _, n := range perSecond {
			counts = append(counts, n)
		}
		sort.Sort(sort.Reverse(sort.IntSlice(counts)))
		mean := float64(total) / time.Hour.Seconds()
		if len(counts) > 0 && float64(counts[0]) > 4*mean+5 {
			t.Errorf("busiest second holds %d checks; the mean is %.1f", counts[0], mean)
		}
		t.Logf("%d checks of %d sites in a virtual hour; busiest second %d checks (mean %.1f)", total, len(interval), counts[0], mean)
	})
}

// pushSite adds a push monitor and schedules it as the site-added
// subscription does.
func pushSite(t *testing.T, sites *site.Service, mon *Service, name string, every, grace time.Duration) *site.Site {
	t.Helper()
	p := &site.AddParams{Kind: site.KindPush, Name: name}
	p.Interval, p.Grace = site.Duration(every), site.Duration(grace)
	st, err := sites.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.SyncSite(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

// recordedChecks returns a site's recorded checks (time since start and
// outcome), oldest first.
func recordedChecks(t *testing.T, s *Service, siteID int64, start time.Time) (at []time.Duration, up []bool) {
	t.Helper()
	rows, err := s.db.Query(`SELECT checked_at, up FROM checks WHERE site_id = $1 ORDER BY checked_at, id`, siteID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ms int64
		var u bool
		if err := rows.Scan(&ms, &u); err != nil {
			t.Fatal(err)
		}
		at = append(at, time.UnixMilli(ms).Sub(start))
		up = append(up, u)
	}
	return at, up
}

func TestPushMonitorDeadlines(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sites, mon, closeDBs := openBubbleServices(t, Options{})
		defer closeDBs()
		srv := api.NewServer(nil)
		mon.Register(srv)
		push := func(st *site.Site) {
			t.Helper()
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest("POST", "/push/"+st.PushToken, nil))
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok":true`) {
				t.Fatalf("push: %d %s", rec.Code, rec.Body)
			}
		}
		const every, grace = time.Minute, 30 * time.Second
		ctx := context.Background()
		start := time.Now()
		never := pushSite(t, sites, mon, "never-pushed", every, grace)
		once := pushSite(t, sites, mon, "pushed-once", every, grace)
		steady := pushSite(t, sites, mon, "pushed-every-50s", every, grace)
		paused := pushSite(t, sites, mon, "paused-then-resumed", every, grace)
		setPaused := func(p bool) {
			t.Helper()
			var pp site.PatchParams
			if err := json.Unmarshal(fmt.Appendf(nil, `{"paused":%v}`, p), &pp); err != nil {
				t.Fatal(err)
			}
			pp.ID = paused.ID
			st, err := sites.Patch(ctx, &pp)
			if err != nil {
				t.Fatal(err)
			}
			if err := mon.SyncSite(ctx, st); err != nil { // as the site-updated subscription does
				t.Fatal(err)
			}
		}
		setPaused(true)
		mon.Start(true)

		for tick := range 30 { // 5 minutes in steps of 10 s
			if tick == 1 {
				push(once)
			}
			if tick%5 == 0 {
				push(steady)
			}
			if tick == 12 { // 2 minutes in: resume
				setPaused(false)
			}
			time.Sleep(10 * time.Second)
		}
		mon.Stop()

		// Never pushed: down once interval + grace have passed since it
		// was created, and again every interval + grace.
		at, up := recordedChecks(t, mon, never.ID, start)
		if len(at) < 2 || up[0] || at[0] < every+grace || at[0] > every+grace+2*time.Second {
			t.Errorf("never pushed: checks at %v up %v; want the first (down) at %v", at, up, every+grace)
		}
		// Pushed once at 10 s: up then, down at 10 s + interval + grace.
		at, up = recordedChecks(t, mon, once.ID, start)
		// (A push is recorded when it arrives; the bubble's clock may have
		// moved a few virtual milliseconds past the 10 s tick by then.)
		if len(at) < 2 || !up[0] || at[0] < 10*time.Second || at[0] > 11*time.Second || up[1] || at[1] < 10*time.Second+every+grace || at[1] > 10*time.Second+every+grace+2*time.Second {
			t.Errorf("pushed once: checks at %v up %v", at, up)
		}
		// Pushed every 50 s: never down.
		at, up = recordedChecks(t, mon, steady.ID, start)
		for i := range up {
			if !up[i] {
				t.Errorf("pushed every 50s: down at %v (checks at %v)", at[i], at)
			}
		}
		if len(at) != 6 {
			t.Errorf("pushed every 50s: %d checks (%v), want the 6 pushes", len(at), at)
		}
		// Paused for 2 minutes: not checked then; the deadline counts
		// from the resume.
		at, up = recordedChecks(t, mon, paused.ID, start)
		if resumed := 2 * time.Minute; len(at) < 1 || up[0] || at[0] < resumed+every+grace || at[0] > resumed+every+grace+2*time.Second {
			t.Errorf("paused then resumed at 2m: checks at %v up %v; want the first (down) at %v", at, up, resumed+every+grace)
		}
	})
}
