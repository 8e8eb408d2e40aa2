// Command upmon-load measures upmon under load on loopback. It serves many
// target sites and a fake Slack webhook itself, runs the upmon binary as a
// subprocess (so CPU and memory are upmon's alone), adds the sites through
// the API, restarts upmon (so the steady state is measured apart from the
// bulk add, and the first round is a cold start), takes some targets down
// and up, and reports achieved vs expected check rate, time until every
// site is checked once, schedule lag, detection latency, lost and
// duplicate notifications, CPU seconds per 1,000 checks, peak RSS, API
// latency and database size. With --locations N it measures checks from N
// locations instead: serve, N `upmon agent` processes (each leaving from
// its own loopback address) and a private nats-server, reporting each
// location's rate and lag and each process's CPU and RSS (locations.go).
// See docs/performance.md.
//
// Every request goes to 127.0.0.0/8; every phase is bounded in time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	sites        int
	interval     time.Duration
	duration     time.Duration
	timeout      time.Duration
	hangFraction float64
	flip         int
	slackDelay   time.Duration
	reuse        bool
	db           string
	pgURL        string
	natsURL      string
	listeners    int
	addWorkers   int
	bulk         int
	replicas     int
	pgPool       int
	restart      bool
	apiSamples   int
	bin          string
	profile      string
	keep         bool
	jsonOut      bool
	maxTime      time.Duration
	upmonArgs    string
	label        string
	// --locations mode (locations.go)
	locations     int
	natsServerBin string
	agentArgs     string
	heartbeat     time.Duration
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "upmon-server" {
		os.Exit(runEmbeddedServer(os.Args[2:]))
	}
	var c config
	flag.IntVar(&c.sites, "sites", 1000, "number of target sites")
	flag.DurationVar(&c.interval, "interval", 30*time.Second, "check interval of every site")
	flag.DurationVar(&c.duration, "duration", 0, "measurement window (default 3 intervals, at least 60s)")
	flag.DurationVar(&c.timeout, "timeout", 0, "per-site check timeout (default: upmon's, 10s)")
	flag.Float64Var(&c.hangFraction, "hang-fraction", 0, "fraction of sites that hang until the timeout during the window")
	flag.IntVar(&c.flip, "flip", 30, "sites taken down and back up during the window")
	flag.DurationVar(&c.slackDelay, "slack-delay", 0, "time the fake Slack webhook takes to answer")
	flag.BoolVar(&c.reuse, "reuse", false, "set reuse_connections on every site (keep-alive) instead of a fresh connection per check")
	flag.StringVar(&c.db, "db", "sqlite", "sqlite or postgres")
	flag.StringVar(&c.pgURL, "pg-url", "postgres://postgres@127.0.0.1:5432/postgres", "PostgreSQL server (a database is created and dropped) for --db postgres")
	flag.StringVar(&c.natsURL, "nats-url", "nats://127.0.0.1:4222", "external NATS for --db postgres (a unique prefix is used and removed); empty: embedded")
	flag.IntVar(&c.listeners, "listeners", 16, "loopback listeners serving the targets")
	flag.IntVar(&c.addWorkers, "add-workers", 32, "concurrent POST /site requests (with --bulk 0)")
	flag.IntVar(&c.replicas, "replicas", 1, "upmon processes sharing the work in the measured phase (--db postgres only)")
	flag.IntVar(&c.pgPool, "pg-pool", 0, "pool_max_conns of each upmon service's PostgreSQL pool (0: upmon's default); N replicas open up to N × services × this")
	flag.IntVar(&c.bulk, "bulk", 1000, "sites per POST /site/bulk request; 0 adds them one by one with POST /site")
	flag.BoolVar(&c.restart, "restart", true, "restart upmon after adding the sites and measure the restarted process")
	flag.IntVar(&c.apiSamples, "api-samples", 7, "timed GET /site and GET /status requests")
	flag.StringVar(&c.bin, "upmon-bin", "", "upmon binary (default: go build ./cmd/upmon into a temporary directory)")
	flag.StringVar(&c.profile, "cpuprofile", "", "run upmon in-process of this binary's re-exec and write a CPU profile of the measured process here")
	flag.BoolVar(&c.keep, "keep", false, "keep the data directory")
	flag.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	flag.DurationVar(&c.maxTime, "max-time", 15*time.Minute, "hard limit of the whole run")
	flag.StringVar(&c.upmonArgs, "upmon-args", "", "extra space-separated flags for upmon serve")
	flag.StringVar(&c.label, "label", "", "free text copied into the report")
	flag.IntVar(&c.locations, "locations", 0, "measure checks from this many locations: serve plus one `upmon agent` each (source 127.0.0.2, .3, …) on a private nats-server; no flips")
	flag.StringVar(&c.natsServerBin, "nats-server-bin", "", "nats-server binary for --locations (default /usr/sbin/nats-server or PATH)")
	flag.StringVar(&c.agentArgs, "agent-args", "", "extra space-separated flags for upmon agent (--locations)")
	flag.DurationVar(&c.heartbeat, "heartbeat", 5*time.Second, "agents' heartbeat and serve's --heartbeat (--locations)")
	flag.Parse()
	if c.duration == 0 {
		c.duration = max(3*c.interval, time.Minute)
	}
	if c.sites < 1 || c.interval < time.Second || c.hangFraction < 0 || c.hangFraction > 0.9 || c.flip < 0 ||
		c.flip+int(c.hangFraction*float64(c.sites)) > c.sites || (c.db != "sqlite" && c.db != "postgres") ||
		c.replicas < 1 || (c.replicas > 1 && c.db != "postgres") {
		fmt.Fprintln(os.Stderr, "upmon-load: bad flags")
		os.Exit(2)
	}
	if c.locations > 0 && (c.locations > 200 || c.replicas > 1 || c.hangFraction > 0) {
		fmt.Fprintln(os.Stderr, "upmon-load: --locations takes 1 to 200 locations and combines with neither --replicas nor --hang-fraction")
		os.Exit(2)
	}
	raiseFileLimit()
	ctx, cancel := context.WithTimeout(context.Background(), c.maxTime)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.locations > 0 {
		rep, err := runLocations(ctx, c)
		if rep != nil {
			if c.jsonOut {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				_ = enc.Encode(rep)
			} else {
				rep.print(os.Stdout)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "upmon-load:", err)
			os.Exit(1)
		}
		return
	}
	rep, err := run(ctx, c)
	if rep != nil {
		if c.jsonOut {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.print(os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "upmon-load:", err)
		os.Exit(1)
	}
}

// raiseFileLimit lifts the soft open-file limit to the hard one: the
// targets hold a socket per in-flight check.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// buildUpmon builds ./cmd/upmon of the module the tool runs in.
func buildUpmon(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("not inside the upmon module (go env GOMOD): %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "upmon")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/upmon")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/upmon: %w", err)
	}
	return bin, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
