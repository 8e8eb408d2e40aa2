package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A --locations N run (docs/performance.md, "Locations"): a private
// nats-server, `upmon serve` checking from no location of its own
// (--locations l1,…,lN), and N `upmon agent` processes, agent i leaving
// from 127.0.0.(i+2). The targets tell the locations apart by the
// caller's address, so each location's rate and lag are measured where
// the checks arrive; the checks stored per location are counted by serve
// (upmon_location_checks_total). No site is flipped or hangs.

// locFigures are one location's figures in the window.
type locFigures struct {
	Name            string  `json:"name"`
	Source          string  `json:"source_addr"`
	HitsPerSecond   float64 `json:"target_hits_per_s"`
	StoredPerSecond float64 `json:"stored_per_s"`
	RateRatio       float64 `json:"rate_ratio"` // stored ÷ expected
	Lag             dist    `json:"lag_s"`      // interval between two hits of a site from here − configured
}

// procFigures are one process's figures in the window.
type procFigures struct {
	Name       string  `json:"name"`
	CPUSeconds float64 `json:"cpu_s"`
	Cores      float64 `json:"cores"`
	// CPUPer1000Checks is its CPU per 1,000 checks of the whole run
	// (an agent: per 1,000 of its own location's checks).
	CPUPer1000Checks float64 `json:"cpu_s_per_1000_checks"`
	RSSMB            float64 `json:"rss_mb"`      // VmRSS at the window's end
	PeakRSSMB        float64 `json:"peak_rss_mb"` // VmHWM at the window's end
}

// locReport is the report of a --locations run.
type locReport struct {
	Config struct {
		Label     string `json:"label,omitempty"`
		Sites     int    `json:"sites"`
		Locations int    `json:"locations"`
		Interval  string `json:"interval"`
		Duration  string `json:"duration"`
		DB        string `json:"db"`
	} `json:"config"`
	Window struct {
		Seconds             float64 `json:"seconds"`
		ExpectedPerLocation float64 `json:"expected_per_location_per_s"`
		StoredPerSecond     float64 `json:"stored_per_s"`
		CPUPer1000Checks    float64 `json:"cpu_s_per_1000_checks"` // every process of the run
		SchedulerLagP50     float64 `json:"scheduler_lag_p50_bucket_s"`
		SchedulerLagP99     float64 `json:"scheduler_lag_p99_bucket_s"`
	} `json:"window"`
	Locations []locFigures  `json:"locations"`
	Processes []procFigures `json:"processes"`
	Machine   struct {
		LoadStart  float64 `json:"load_start"`
		LoadEnd    float64 `json:"load_end"`
		BusyCores  float64 `json:"busy_cores"`
		RunCores   float64 `json:"run_cores"` // every process of the run, the tool included
		OtherCores float64 `json:"other_cores"`
	} `json:"machine"`
}

// locRun is a running --locations stack.
type locRun struct {
	c       config
	names   []string
	tg      *targets
	ns      *proc
	srv     *server
	agents  []*proc
	closers []func() // run by close, last first
}

// runLocations runs the --locations measurement.
func runLocations(ctx context.Context, c config) (*locReport, error) {
	rep := &locReport{}
	rep.Config.Label, rep.Config.Sites, rep.Config.Locations = c.label, c.sites, c.locations
	rep.Config.Interval, rep.Config.Duration, rep.Config.DB = c.interval.String(), c.duration.String(), c.db
	r := &locRun{c: c}
	defer r.close()
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	if err := r.steady(ctx); err != nil {
		return rep, err
	}
	w, err := r.measure(ctx)
	if err != nil {
		return rep, err
	}
	r.figures(rep, w)
	return rep, nil
}

func (r *locRun) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// start starts nats-server, serve and the agents, and the targets.
func (r *locRun) start(ctx context.Context) error {
	c := r.c
	tmp, err := os.MkdirTemp("", "upmon-load-")
	if err != nil {
		return err
	}
	if c.keep {
		logf("data in %s", tmp)
	} else {
		r.closers = append(r.closers, func() { os.RemoveAll(tmp) })
	}
	logPath := filepath.Join(tmp, "upmon.log")
	bin := c.bin
	if bin == "" {
		logf("building upmon")
		if bin, err = buildUpmon(ctx, tmp); err != nil {
			return err
		}
	}
	nbin, err := natsServerBin(c.natsServerBin)
	if err != nil {
		return err
	}
	ns, natsURL, err := startNATS(ctx, nbin, tmp, logPath)
	if err != nil {
		return err
	}
	r.ns = ns
	r.closers = append(r.closers, ns.stop)
	for i := range c.locations {
		r.names = append(r.names, locationName(i))
	}
	const prefix = "upmon"
	args := []string{"--data-dir", filepath.Join(tmp, "data"), "--log-level", "warn", "--rate-limit", "100000", "--rate-burst", "100000",
		"--nats-url", natsURL, "--nats-prefix", prefix, "--locations", strings.Join(r.names, ","), "--heartbeat", c.heartbeat.String()}
	if c.db == "postgres" {
		dbURL, drop, err := createPGDatabase(ctx, c.pgURL)
		if err != nil {
			return err
		}
		r.closers = append(r.closers, drop)
		args = append(args, "--database-url", dbURL)
	}
	args = append(args, strings.Fields(c.upmonArgs)...)
	if r.tg, err = newTargets(c.sites, c.listeners); err != nil {
		return err
	}
	r.closers = append(r.closers, r.tg.close)
	// --cpuprofile runs serve's code in a re-exec of this tool, profiled
	// over the window (embedded.go); the agents stay the built binary.
	serveBin, servePrefix, env := bin, []string(nil), []string(nil)
	if c.profile != "" {
		if serveBin, err = os.Executable(); err != nil {
			return err
		}
		servePrefix, env = []string{"upmon-server"}, []string{"UPMON_LOAD_CPUPROFILE=" + c.profile}
	}
	if r.srv, err = startServer(serveBin, servePrefix, args, env, logPath); err != nil {
		return err
	}
	r.closers = append(r.closers, r.srv.stop)
	if r.agents, err = startAgents(bin, c.locations, natsURL, prefix, c.heartbeat, strings.Fields(c.agentArgs), logPath); err != nil {
		return err
	}
	r.closers = append(r.closers, func() {
		for _, a := range r.agents {
			a.stop()
		}
	})
	return nil
}

// steady adds the sites once every location is live, waits until each
// site was checked from every location, then one interval more: the
// schedule is in its steady state.
func (r *locRun) steady(ctx context.Context) error {
	c := r.c
	if err := waitLocationsLive(ctx, r.srv.base, r.names); err != nil {
		return err
	}
	logf("upmon %d, %d agents, nats-server %d; adding %d sites", r.srv.cmd.Process.Pid, len(r.agents), r.ns.pid(), c.sites)
	if err := addSites(ctx, r.srv.base, r.tg, c); err != nil {
		return err
	}
	bound := time.Now().Add(2*c.interval + time.Minute)
	for ctx.Err() == nil && time.Now().Before(bound) && uncheckedFrom(r.tg, c) > 0 {
		_ = sleepCtx(ctx, 500*time.Millisecond)
	}
	logf("every site checked from every location (%d missing); window in one interval", uncheckedFrom(r.tg, c))
	return sleepCtx(ctx, c.interval+2*time.Second)
}

// locWindow is what a window measured: the counters at both ends.
type locWindow struct {
	ws, we       time.Time
	procs        []*proc
	p0, p1       []procStats
	m0, m1       metricSnapshot
	busy0, busy1 time.Duration
	load0, load1 float64
	tool         float64 // the tool's own CPU seconds in the window
}

// measure reads every counter, waits the window, and reads them again.
func (r *locRun) measure(ctx context.Context) (*locWindow, error) {
	w := &locWindow{procs: append(append([]*proc{{name: "serve", cmd: r.srv.cmd}}, r.agents...), r.ns)}
	var err error
	w.ws = time.Now()
	w.p0 = readProcs(w.procs)
	if w.m0, err = scrape(ctx, r.srv.base); err != nil {
		return nil, err
	}
	w.busy0, w.load0 = machineBusy()
	tool0 := selfCPU()
	if r.c.profile != "" {
		_ = r.srv.cmd.Process.Signal(syscall.SIGUSR1)
	}
	if err := sleepCtx(ctx, r.c.duration); err != nil {
		return nil, err
	}
	if r.c.profile != "" {
		_ = r.srv.cmd.Process.Signal(syscall.SIGUSR2)
	}
	w.we = time.Now()
	w.p1 = readProcs(w.procs)
	if w.m1, err = scrape(ctx, r.srv.base); err != nil {
		return nil, err
	}
	w.busy1, w.load1 = machineBusy()
	w.tool = selfCPU() - tool0
	logf("window ends")
	return w, nil
}

// figures computes the report from a window.
func (r *locRun) figures(rep *locReport, w *locWindow) {
	c := r.c
	win := w.we.Sub(w.ws).Seconds()
	stored := map[string]float64{}
	for loc, n := range w.m1.byLocation {
		stored[loc] = n - w.m0.byLocation[loc]
	}
	rep.Window.Seconds = win
	rep.Window.ExpectedPerLocation = float64(c.sites) / c.interval.Seconds()
	rep.Window.SchedulerLagP50, rep.Window.SchedulerLagP99 = lagQuantile(w.m0, w.m1, .5), lagQuantile(w.m0, w.m1, .99)
	var total float64
	for i, name := range r.names {
		f := locFigures{Name: name, Source: fmt.Sprintf("127.0.0.%d", agentSource(i))}
		hits, lag := windowHits(r.tg, c, agentSource(i), w.ws, w.we)
		f.HitsPerSecond, f.Lag = float64(hits)/win, distOf(lag)
		f.StoredPerSecond = stored[name] / win
		f.RateRatio = f.StoredPerSecond / rep.Window.ExpectedPerLocation
		total += stored[name]
		rep.Locations = append(rep.Locations, f)
	}
	rep.Window.StoredPerSecond = total / win
	var runCPU float64
	for i, p := range w.procs {
		cpu := (w.p1[i].cpu - w.p0[i].cpu).Seconds()
		runCPU += cpu
		f := procFigures{Name: p.name, CPUSeconds: cpu, Cores: cpu / win, RSSMB: float64(w.p1[i].rssKB) / 1024, PeakRSSMB: float64(w.p1[i].hwmKB) / 1024}
		n := total
		if i >= 1 && i <= len(r.agents) {
			n = stored[r.names[i-1]]
		}
		if n > 0 {
			f.CPUPer1000Checks = cpu / (n / 1000)
		}
		rep.Processes = append(rep.Processes, f)
	}
	if total > 0 {
		rep.Window.CPUPer1000Checks = runCPU / (total / 1000)
	}
	rep.Machine.LoadStart, rep.Machine.LoadEnd = w.load0, w.load1
	rep.Machine.BusyCores = (w.busy1 - w.busy0).Seconds() / win
	rep.Machine.RunCores = (runCPU + w.tool) / win
	rep.Machine.OtherCores = rep.Machine.BusyCores - rep.Machine.RunCores
}

// waitLocationsLive waits (30 s at most) until GET /locations lists every
// location live.
func waitLocationsLive(ctx context.Context, base string, names []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		var r struct {
			Locations []struct{ Name, State string }
		}
		if resp, err := http.Get(base + "/locations"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
		}
		live := 0
		for _, l := range r.Locations {
			for _, n := range names {
				if l.Name == n && l.State == "live" {
					live++
				}
			}
		}
		if live == len(names) {
			return nil
		}
		_ = sleepCtx(ctx, 200*time.Millisecond)
	}
	return fmt.Errorf("the agents' locations %v are not all live after 30 s", names)
}

// uncheckedFrom counts the (site, location) pairs without a check yet.
func uncheckedFrom(tg *targets, c config) int {
	n := 0
	for i := range c.sites {
		for l := range c.locations {
			if len(tg.arrivalsFrom(i, agentSource(l))) == 0 {
				n++
			}
		}
	}
	return n
}

// windowHits counts one location's hits in the window and collects its
// lag: for every site, each interval between two consecutive hits from
// that location minus the configured interval.
func windowHits(tg *targets, c config, from uint8, ws, we time.Time) (int, []float64) {
	var (
		hits int
		lag  []float64
	)
	for i := range c.sites {
		var prev int64
		for _, a := range tg.arrivalsFrom(i, from) {
			if a < ws.UnixNano() || a > we.UnixNano() {
				continue
			}
			hits++
			if prev != 0 {
				lag = append(lag, float64(a-prev)/1e9-c.interval.Seconds())
			}
			prev = a
		}
	}
	return hits, lag
}

// readProcs reads every process's counters (zero for one that is gone).
func readProcs(ps []*proc) []procStats {
	out := make([]procStats, len(ps))
	for i, p := range ps {
		out[i], _ = readProc(p.pid())
	}
	return out
}

// print writes the report as text.
func (r *locReport) print(w *os.File) {
	fmt.Fprintf(w, "upmon-load --locations: %d sites × %d locations every %s, %s window, %s", r.Config.Sites, r.Config.Locations,
		r.Config.Interval, r.Config.Duration, r.Config.DB)
	if r.Config.Label != "" {
		fmt.Fprintf(w, " (%s)", r.Config.Label)
	}
	fmt.Fprintf(w, "\nexpected per location: %.1f checks/s; stored, all locations: %.1f/s\n", r.Window.ExpectedPerLocation, r.Window.StoredPerSecond)
	fmt.Fprintf(w, "scheduler lag (serve's claims): p50 ≤ %gs, p99 ≤ %gs (histogram buckets)\n", r.Window.SchedulerLagP50, r.Window.SchedulerLagP99)
	fmt.Fprintf(w, "%-4s %-10s %10s %10s %6s %9s %9s %9s\n", "loc", "source", "hits/s", "stored/s", "rate", "lag p50", "lag p99", "lag max")
	for _, l := range r.Locations {
		fmt.Fprintf(w, "%-4s %-10s %10.1f %10.1f %6.3f %+8.3fs %+8.3fs %+8.3fs\n", l.Name, l.Source, l.HitsPerSecond, l.StoredPerSecond,
			l.RateRatio, l.Lag.P50, l.Lag.P99, l.Lag.Max)
	}
	fmt.Fprintf(w, "%-12s %8s %7s %14s %8s %9s\n", "process", "CPU s", "cores", "CPU s/1k chk", "RSS MB", "peak MB")
	for _, p := range r.Processes {
		fmt.Fprintf(w, "%-12s %8.1f %7.2f %14.3f %8.1f %9.1f\n", p.Name, p.CPUSeconds, p.Cores, p.CPUPer1000Checks, p.RSSMB, p.PeakRSSMB)
	}
	fmt.Fprintf(w, "all processes: %.3f CPU s per 1,000 checks\n", r.Window.CPUPer1000Checks)
	fmt.Fprintf(w, "machine: load %.1f → %.1f, %.2f cores busy (this run %.2f, other processes %.2f)\n", r.Machine.LoadStart, r.Machine.LoadEnd,
		r.Machine.BusyCores, r.Machine.RunCores, r.Machine.OtherCores)
}
