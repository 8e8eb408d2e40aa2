package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// httpc is the tool's API client (keep-alive, bounded).
var httpc = &http.Client{
	Timeout:   60 * time.Second,
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second},
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func run(ctx context.Context, c config) (*report, error) {
	rep := &report{Config: reportConfig{
		Label: c.label, Sites: c.sites, Interval: c.interval.String(), Duration: c.duration.String(),
		HangFraction: c.hangFraction, Flip: c.flip, SlackDelay: c.slackDelay.String(), Reuse: c.reuse, DB: c.db,
		Timeout: c.timeout.String(), UpmonArgs: c.upmonArgs,
	}}
	tmp, err := os.MkdirTemp("", "upmon-load-")
	if err != nil {
		return nil, err
	}
	if c.keep {
		logf("data in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin, prefix := c.bin, []string(nil)
	if c.profile != "" {
		if bin, err = os.Executable(); err != nil {
			return nil, err
		}
		prefix = []string{"upmon-server"}
	} else if bin == "" {
		logf("building upmon")
		if bin, err = buildUpmon(ctx, tmp); err != nil {
			return nil, err
		}
	}

	var pgc *pgCPU
	dataDir := filepath.Join(tmp, "data")
	args := []string{"--data-dir", dataDir, "--log-level", "warn", "--rate-limit", "100000", "--rate-burst", "100000"}
	if c.db == "postgres" {
		dbURL, drop, err := createPGDatabase(ctx, c.pgURL)
		if err != nil {
			return nil, err
		}
		defer drop()
		upmonURL := dbURL
		if c.pgPool > 0 {
			upmonURL += map[bool]string{true: "&", false: "?"}[strings.Contains(dbURL, "?")] + "pool_max_conns=" + strconv.Itoa(c.pgPool)
		}
		args = append(args, "--database-url", upmonURL)
		if pgc, err = newPGCPU(c.pgURL, dbURL); err != nil {
			return nil, err
		}
		defer pgc.close()
		if c.natsURL != "" {
			prefix := fmt.Sprintf("uload%d%d", os.Getpid(), time.Now().Unix()%100000)
			args = append(args, "--nats-url", c.natsURL, "--nats-prefix", prefix)
			defer cleanNATS(c.natsURL, prefix)
		}
	}
	args = append(args, strings.Fields(c.upmonArgs)...)

	tg, err := newTargets(c.sites, c.listeners)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	slack, err := newFakeSlack(c.slackDelay)
	if err != nil {
		return nil, err
	}
	defer slack.close()
	env := []string{"SLACK_WEBHOOK_URL=" + slack.url()}
	logPath := filepath.Join(tmp, "upmon.log")

	// Phase 1: start upmon and add the sites through the API.
	srv, err := startServer(bin, prefix, args, env, logPath)
	if err != nil {
		return rep, err
	}
	defer func() {
		if srv != nil {
			srv.stop()
		}
	}()
	logf("upmon %d at %s; adding %d sites", srv.cmd.Process.Pid, srv.base, c.sites)
	addStart := time.Now()
	if err := addSites(ctx, srv.base, tg, c); err != nil {
		return rep, err
	}
	rep.Add.Seconds = time.Since(addStart).Seconds()
	rep.Add.PerSecond = float64(c.sites) / rep.Add.Seconds
	if ps, err := readProc(srv.cmd.Process.Pid); err == nil {
		rep.Add.CPUSeconds = ps.cpu.Seconds()
		rep.Add.PeakRSSMB = float64(ps.hwmKB) / 1024
	}
	logf("added %d sites in %.1fs", c.sites, rep.Add.Seconds)
	// Each new site is checked at once (site-added event): wait until all
	// are and every event is handled, so that none is left for the
	// restarted process.
	bound := time.Now().Add(2*c.interval + time.Minute)
	for ctx.Err() == nil && time.Now().Before(bound) {
		missing := 0
		for i := range c.sites {
			if len(tg.arrivals(i)) == 0 {
				missing++
			}
		}
		if missing == 0 {
			if m, err := scrape(ctx, srv.base); err == nil && m.added >= float64(c.sites) {
				break
			}
		}
		_ = sleepCtx(ctx, 250*time.Millisecond)
	}
	rep.Add.AllCheckedSeconds = time.Since(addStart).Seconds()
	_ = sleepCtx(ctx, time.Second)

	// Phase 2: a cold start with every site in the database.
	if c.restart {
		srv.stop()
		srv = nil
		if c.profile != "" {
			env = append(env, "UPMON_LOAD_CPUPROFILE="+c.profile)
		}
	}
	tg.reset()
	t0 := time.Now()
	if c.restart {
		if srv, err = startServer(bin, prefix, args, env, logPath); err != nil {
			return rep, err
		}
		rep.FirstRound.StartupSeconds = time.Since(t0).Seconds()
		logf("restarted upmon %d in %.2fs", srv.cmd.Process.Pid, rep.FirstRound.StartupSeconds)
	}
	pid := srv.cmd.Process.Pid
	var reps *replicas
	if c.replicas > 1 {
		if reps, err = startReplicas(c.replicas-1, bin, prefix, args, env, logPath); err != nil {
			return rep, err
		}
		defer reps.stop()
	}

	// Choose the flipped and hanging sites (disjoint, spread over ids).
	rng := rand.New(rand.NewPCG(1, 2))
	perm := rng.Perm(c.sites)
	flips := perm[:c.flip]
	nHang := int(c.hangFraction * float64(c.sites))
	hangs := perm[c.flip : c.flip+nHang]
	isHang := make([]bool, c.sites)
	for _, i := range hangs {
		isHang[i] = true
	}
	isFlip := make([]bool, c.sites)
	for _, i := range flips {
		isFlip[i] = true
	}

	// Sample RSS through the run (VmHWM gives the peak anyway).
	var sampler sync.WaitGroup
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var maxFDs, maxThreads atomic.Int64
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for sleepCtx(sampleCtx, time.Second) == nil {
			if ps, err := readProc(pid); err == nil {
				maxFDs.Store(max(maxFDs.Load(), int64(ps.fds)))
				maxThreads.Store(max(maxThreads.Load(), ps.threads))
			}
		}
	}()
	if pgc != nil {
		sampler.Add(1)
		go func() { defer sampler.Done(); pgc.run(sampleCtx) }()
	}
	defer func() { stopSampling(); sampler.Wait() }()

	// Phase 3: the measurement window starts one interval (plus a little)
	// after the cold start, when every site has had its first check.
	ws := t0.Add(c.interval + 2*time.Second)
	if err := sleepCtx(ctx, time.Until(ws)); err != nil {
		return rep, err
	}
	ws = time.Now()
	ps0, _ := readProc(pid)
	r0 := reps.read(ctx)
	m0, err := scrape(ctx, srv.base)
	if err != nil {
		return rep, err
	}
	hits0 := tg.hits.Load()
	busy0, load0 := machineBusy()
	tool0 := selfCPU()
	if pgc != nil {
		pgc.start(ctx)
	}
	perIv := startIntervals(sampleCtx, c.interval, ws, m0.checks+sum(r0.checks), func(ctx context.Context) (float64, error) {
		m, err := scrape(ctx, srv.base)
		if err != nil {
			return 0, err
		}
		n, err := reps.checks(ctx)
		return m.checks + n, err
	})
	if c.profile != "" {
		_ = srv.cmd.Process.Signal(syscall.SIGUSR1)
	}
	for _, i := range hangs {
		tg.state[i].Store(behaveHang)
	}
	logf("window starts: %d hanging, %d to flip", len(hangs), len(flips))

	// Flip: down a third of an interval in, up once every down is notified
	// (or a bound passes).
	var tDown, tUp time.Time
	flipDone := make(chan struct{})
	go func() {
		defer close(flipDone)
		if len(flips) == 0 {
			return
		}
		if sleepCtx(ctx, c.interval/3) != nil {
			return
		}
		tDown = time.Now()
		for _, i := range flips {
			tg.state[i].Store(behaveDown)
		}
		batches := (len(flips)+len(hangs))/16 + 2
		bound := tDown.Add(2*c.interval + 20*time.Second + time.Duration(batches)*c.slackDelay)
		for time.Now().Before(bound) && ctx.Err() == nil {
			if countKind(slack.since(tDown), isFlip, true) >= len(flips) {
				break
			}
			_ = sleepCtx(ctx, 200*time.Millisecond)
		}
		tUp = time.Now()
		for _, i := range flips {
			tg.state[i].Store(behaveUp)
		}
		logf("flipped %d sites down at +%.1fs, up at +%.1fs", len(flips), tDown.Sub(ws).Seconds(), tUp.Sub(ws).Seconds())
	}()

	we := ws.Add(c.duration)
	if err := sleepCtx(ctx, time.Until(we)); err != nil {
		return rep, err
	}
	we = time.Now()
	ps1, _ := readProc(pid)
	r1 := reps.read(ctx)
	m1, err := scrape(ctx, srv.base)
	if err != nil {
		return rep, err
	}
	hits1 := tg.hits.Load()
	busy1, load1 := machineBusy()
	tool1 := selfCPU()
	var pgCPUSeconds float64
	if pgc != nil {
		d, n := pgc.stop(ctx)
		pgCPUSeconds, rep.DB.Backends = d.Seconds(), n
	}
	rep.Window.PerInterval = perIv.stop(ctx)
	if c.profile != "" {
		_ = srv.cmd.Process.Signal(syscall.SIGUSR2)
	}
	logf("window ends")

	// API latency under load, with every site present.
	rep.API.Site = timeGET(ctx, srv.base+"/site", c.apiSamples)
	rep.API.Status = timeGET(ctx, srv.base+"/status", c.apiSamples)
	rep.API.SitePage = timeGET(ctx, srv.base+"/site?limit=100&after="+strconv.Itoa(c.sites/2), c.apiSamples)
	rep.API.StatusPage = timeGET(ctx, srv.base+"/status?limit=100&after="+strconv.Itoa(c.sites/2), c.apiSamples)
	rep.API.Dashboard = timeGET(ctx, srv.base+"/frontend/", c.apiSamples)

	// Wait for the notifications still due (bounded).
	<-flipDone
	expectDown := len(flips) + len(hangs)
	batches := expectDown/16 + 2
	grace := time.Now().Add(2*c.interval + c.timeout + 30*time.Second + time.Duration(batches)*c.slackDelay)
	for time.Now().Before(grace) && ctx.Err() == nil {
		got := slack.since(t0)
		if countKind(got, isFlip, true) >= len(flips) && countKind(got, isHang, true) >= len(hangs) &&
			(tUp.IsZero() || countKind(got, isFlip, false) >= len(flips)) {
			break
		}
		_ = sleepCtx(ctx, 250*time.Millisecond)
	}
	// Let duplicates, if any, arrive.
	_ = sleepCtx(ctx, 2*time.Second+c.slackDelay)
	psEnd, _ := readProc(pid)

	reps.stop()
	srv.stop()
	srv = nil
	stopSampling()
	sampler.Wait()

	// Figures.
	iv := c.interval.Seconds()
	win := we.Sub(ws).Seconds()
	rep.Window.Seconds = win
	rep.Window.ExpectedPerSecond = float64(c.sites) / iv
	rep.Window.TargetHitsPerSecond = float64(hits1-hits0) / win
	checks, cpu := m1.checks-m0.checks, (ps1.cpu - ps0.cpu).Seconds()
	if c.replicas > 1 || c.db == "postgres" {
		rep.Replicas = append(rep.Replicas, replicaFigures{CPUSeconds: cpu, Cores: cpu / win, StoredPerSecond: checks / win,
			PeakRSSMB: float64(ps1.hwmKB) / 1024})
		for i := range r1.cpu {
			rc, rn := (r1.cpu[i] - r0.cpu[i]).Seconds(), r1.checks[i]-r0.checks[i]
			rep.Replicas = append(rep.Replicas, replicaFigures{CPUSeconds: rc, Cores: rc / win, StoredPerSecond: rn / win,
				CPUPer1000Checks: rc / max(rn/1000, 1e-9), PeakRSSMB: float64(r1.hwmKB[i]) / 1024})
			cpu += rc
			checks += rn
		}
		rep.Replicas[0].CPUPer1000Checks = rep.Replicas[0].CPUSeconds / max(rep.Replicas[0].StoredPerSecond*win/1000, 1e-9)
		rep.DB.CPUSeconds = pgCPUSeconds
		rep.DB.Cores = rep.DB.CPUSeconds / win
	}
	rep.Window.DBStalls = m1.stalls - m0.stalls + sum(r1.stalls) - sum(r0.stalls)
	rep.Window.StoredPerSecond = checks / win
	rep.Window.RateRatio = rep.Window.StoredPerSecond / rep.Window.ExpectedPerSecond
	rep.Window.CPUSeconds = cpu
	rep.Window.CPUCores = cpu / win
	rep.Machine.LoadStart, rep.Machine.LoadEnd = load0, load1
	rep.Machine.BusyCores = (busy1 - busy0).Seconds() / win
	rep.Machine.ToolCores = (tool1 - tool0) / win
	rep.Machine.OtherCores = rep.Machine.BusyCores - rep.Machine.ToolCores - rep.Window.CPUCores
	rep.Window.PGCPUSeconds = pgCPUSeconds
	if n := checks; n > 0 {
		rep.Window.CPUPer1000Checks = cpu / (n / 1000)
		rep.Window.PGCPUPer1000Checks = pgCPUSeconds / (n / 1000)
	}
	rep.Window.BusiestSecondRatio = busiestSecond(tg, ws, we)
	rep.Window.PeakRSSMB = float64(psEnd.hwmKB) / 1024
	rep.Window.WindowRSSMB = float64(ps1.hwmKB) / 1024
	rep.Window.MaxFDs = int(maxFDs.Load())
	rep.Window.MaxThreads = int(maxThreads.Load())
	rep.Window.SchedulerLagP50 = lagQuantile(m0, m1, .5)
	rep.Window.SchedulerLagP99 = lagQuantile(m0, m1, .99)

	// First round after the cold start, and schedule lag, from arrivals.
	var first []float64
	var lag, lagFirstHalf, lagSecondHalf []float64
	notChecked := 0
	mid := ws.Add(we.Sub(ws) / 2).UnixNano()
	for i := range c.sites {
		arr := tg.arrivals(i)
		if len(arr) == 0 {
			notChecked++
		} else {
			first = append(first, float64(arr[0]-t0.UnixNano())/1e9)
		}
		if isHang[i] {
			continue
		}
		var prev int64
		for _, a := range arr {
			if a < ws.UnixNano() || a > we.UnixNano() {
				continue
			}
			if prev != 0 {
				l := float64(a-prev)/1e9 - iv
				lag = append(lag, l)
				if l < -1 {
					rep.Lag.Early++
					if os.Getenv("UPMON_LOAD_DEBUG") != "" {
						logf("early check: site %d flip=%v at +%.2fs lag %.2fs", i, isFlip[i], float64(a-ws.UnixNano())/1e9, l)
					}
				}
				if a < mid {
					lagFirstHalf = append(lagFirstHalf, l)
				} else {
					lagSecondHalf = append(lagSecondHalf, l)
				}
			}
			prev = a
		}
	}
	rep.FirstRound.NotChecked = notChecked
	rep.FirstRound.FromStart = distOf(first)
	if len(first) == c.sites {
		rep.FirstRound.AllCheckedSeconds = rep.FirstRound.FromStart.Max
		rep.FirstRound.WithinInterval = rep.FirstRound.FromStart.Max <= iv
	}
	rep.Lag.All = distOf(lag)
	rep.Lag.FirstHalf = distOf(lagFirstHalf)
	rep.Lag.SecondHalf = distOf(lagSecondHalf)

	// Notifications.
	got := slack.since(t0)
	rep.Notify = notifyFigures(got, flips, hangs, isFlip, isHang, tDown, tUp, ws)
	rep.Notify.Unparsed = slack.other

	if c.db == "sqlite" {
		rep.Storage.MonitorDBBytes = dirSize(dataDir, "monitor.db*")
		rep.Storage.SiteDBBytes = dirSize(dataDir, "site.db*")
	}
	rep.Tool.CPUSeconds = selfCPU()
	return rep, nil
}

func countKind(ns []notification, in []bool, down bool) int {
	seen := map[int]bool{}
	for _, n := range ns {
		if n.down == down && n.site < len(in) && in[n.site] {
			seen[n.site] = true
		}
	}
	return len(seen)
}

func notifyFigures(got []notification, flips, hangs []int, isFlip, isHang []bool, tDown, tUp, ws time.Time) notifyReport {
	var r notifyReport
	type key struct {
		site int
		down bool
	}
	firstAt := map[key]time.Time{}
	count := map[key]int{}
	for _, n := range got {
		k := key{n.site, n.down}
		count[k]++
		if t, ok := firstAt[k]; !ok || n.at.Before(t) {
			firstAt[k] = n.at
		}
		if n.site >= len(isFlip) || (!isFlip[n.site] && !isHang[n.site]) {
			r.Phantom++
		}
	}
	var down, up, hang []float64
	for _, i := range flips {
		if t, ok := firstAt[key{i, true}]; ok && !tDown.IsZero() {
			down = append(down, t.Sub(tDown).Seconds())
		} else {
			r.LostDown++
		}
		if t, ok := firstAt[key{i, false}]; ok && !tUp.IsZero() {
			up = append(up, t.Sub(tUp).Seconds())
		} else {
			r.LostUp++
		}
	}
	for _, i := range hangs {
		if t, ok := firstAt[key{i, true}]; ok {
			hang = append(hang, t.Sub(ws).Seconds())
		} else {
			r.LostHang++
		}
		if count[key{i, false}] > 0 {
			r.Phantom++ // a hanging site never comes back up
		}
	}
	for k, n := range count {
		if n > 1 && (isFlip[k.site] || isHang[k.site]) {
			r.Duplicates += n - 1
		}
	}
	r.Outages = len(flips) + len(hangs)
	r.DownLatency = distOf(down)
	r.UpLatency = distOf(up)
	r.HangLatency = distOf(hang)
	r.Received = len(got)
	return r
}

// addSites adds every target through POST /site, addWorkers at once,
// or through POST /site/bulk in chunks of c.bulk.
func addSites(ctx context.Context, base string, tg *targets, c config) error {
	if c.bulk > 0 {
		return addSitesBulk(ctx, base, tg, c)
	}
	jobs := make(chan int)
	errc := make(chan error, c.addWorkers)
	var wg sync.WaitGroup
	for range c.addWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				b, _ := json.Marshal(siteBody(tg, c, i))
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					err = post(ctx, base+"/site", b)
					if err == nil || ctx.Err() != nil {
						break
					}
					_ = sleepCtx(ctx, time.Duration(attempt+1)*200*time.Millisecond)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("add site %d: %w", i, err):
					default:
					}
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range c.sites {
		select {
		case jobs <- i:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

func post(ctx context.Context, url string, body []byte) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	return nil
}

// timeGET times n sequential GETs of url (after one warm-up).
func timeGET(ctx context.Context, url string, n int) apiTiming {
	var t apiTiming
	var ms []float64
	for i := 0; i <= n; i++ {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := httpc.Do(req)
		if err != nil {
			t.Errors++
			continue
		}
		nb, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errors++
			continue
		}
		if i == 0 {
			continue // warm-up
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
		t.Bytes = nb
	}
	d := distOf(ms)
	t.MedianMS, t.P90MS, t.MaxMS, t.N = d.P50, d.P90, d.Max, d.N
	return t
}

// createPGDatabase creates a fresh database on the server of baseURL and
// returns its URL and a function that drops it.
func createPGDatabase(ctx context.Context, baseURL string) (string, func(), error) {
	db, err := sql.Open("pgx", baseURL)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("upmon_load_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	i := strings.LastIndexByte(baseURL, '/')
	q := ""
	if j := strings.IndexByte(baseURL[i:], '?'); j >= 0 {
		q = baseURL[i+j:]
	}
	u := baseURL[:i+1] + name + q
	return u, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			logf("drop database %s: %v", name, err)
		}
		db.Close()
	}, nil
}

// cleanNATS deletes the streams (and KV buckets) a run created under its
// prefix.
func cleanNATS(url, prefix string) {
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		logf("nats cleanup: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var names []string
	l := js.StreamNames(ctx)
	for n := range l.Name() {
		names = append(names, n)
	}
	up := strings.ToUpper(prefix)
	for _, n := range names {
		u := strings.ToUpper(n)
		if strings.HasPrefix(u, up) || strings.HasPrefix(u, "KV_"+up) || strings.HasPrefix(u, "OBJ_"+up) {
			if err := js.DeleteStream(ctx, n); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				logf("nats cleanup %s: %v", n, err)
			}
		}
	}
}

func selfCPU() float64 {
	ps, err := readProc(os.Getpid())
	if err != nil {
		return 0
	}
	return ps.cpu.Seconds()
}

// siteBody is the POST /site body of target i.
func siteBody(tg *targets, c config, i int) map[string]any {
	body := map[string]any{"url": tg.url(i), "interval": c.interval.String(), "reuse_connections": c.reuse}
	if c.timeout > 0 {
		body["timeout"] = c.timeout.String()
	}
	return body
}

// addSitesBulk adds every target through POST /site/bulk, c.bulk sites
// per request, two requests at once (each is one transaction; SQLite
// has one writer anyway).
func addSitesBulk(ctx context.Context, base string, tg *targets, c config) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	chunks := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range chunks {
				entries := make([]map[string]any, 0, c.bulk)
				for i := lo; i < min(lo+c.bulk, c.sites); i++ {
					entries = append(entries, siteBody(tg, c, i))
				}
				b, _ := json.Marshal(map[string]any{"sites": entries})
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if err = post(ctx, base+"/site/bulk", b); err == nil || ctx.Err() != nil {
						break
					}
					_ = sleepCtx(ctx, time.Duration(attempt+1)*200*time.Millisecond)
				}
				if err != nil {
					mu.Lock()
					ferr = fmt.Errorf("bulk add from site %d: %w", lo, err)
					mu.Unlock()
				}
			}
		}()
	}
	for lo := 0; lo < c.sites && ctx.Err() == nil; lo += c.bulk {
		chunks <- lo
	}
	close(chunks)
	wg.Wait()
	if ferr != nil {
		return ferr
	}
	return ctx.Err()
}
