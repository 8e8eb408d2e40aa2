package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// server is a running upmon subprocess.
type server struct {
	cmd  *exec.Cmd
	addr string
	base string
	done chan error
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer runs bin with args (after "serve") and waits until its
// /healthz answers.
func startServer(bin string, prefix, args, env []string, logPath string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	full := append(append(append([]string{}, prefix...), "serve", "--addr", addr), args...)
	cmd := exec.Command(bin, full...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, addr: addr, base: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("upmon exited during start-up (%v); see %s", err, logPath)
		default:
		}
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, errors.New("upmon did not become healthy within 60 s; see " + logPath)
}

// stop sends SIGTERM and waits (SIGKILL after 30 s).
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// procStats are one reading of the process's counters.
type procStats struct {
	cpu     time.Duration // utime + stime
	hwmKB   int64         // VmHWM: peak resident set
	rssKB   int64         // VmRSS
	threads int64
	fds     int
}

func readProc(pid int) (procStats, error) {
	var ps procStats
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, err
	}
	// Fields after the ")" that ends comm: state is field 3; utime 14,
	// stime 15 (1-based).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return ps, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	ps.cpu = time.Duration(ut+st) * time.Second / clockTicks
	sf, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	defer sf.Close()
	sc := bufio.NewScanner(sf)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.Fields(v + " 0")[0], 10, 64)
		switch k {
		case "VmHWM":
			ps.hwmKB = n
		case "VmRSS":
			ps.rssKB = n
		case "Threads":
			ps.threads = n
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		ps.fds = len(ents)
	}
	return ps, nil
}

// metricSnapshot holds the Prometheus samples the tool reads.
type metricSnapshot struct {
	checks   float64             // upmon_checks_total, all results
	lagBkts  map[float64]float64 // upmon_schedule_lag_seconds_bucket{le}
	lagCount float64
	inflight float64
	added    float64 // site-added events the monitor's check-site subscription handled
	// byLocation are the agents' results recorded, by location
	// (upmon_location_checks_total).
	byLocation map[string]float64
	stalls     float64 // upmon_db_stalls_total, all components: database calls cut off by --db-timeout
}

func scrape(ctx context.Context, base string) (metricSnapshot, error) {
	m := metricSnapshot{lagBkts: map[float64]float64{}, byLocation: map[string]float64{}}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		val, err := strconv.ParseFloat(strings.Fields(rest + " 0")[0], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "upmon_checks_total{"):
			m.checks += val
		case strings.HasPrefix(name, "upmon_schedule_lag_seconds_bucket{"):
			le := name[strings.Index(name, `le="`)+4:]
			le = le[:strings.IndexByte(le, '"')]
			b, err := strconv.ParseFloat(le, 64)
			if le == "+Inf" {
				b, err = 1e18, nil
			}
			if err == nil {
				m.lagBkts[b] = val
			}
		case name == "upmon_schedule_lag_seconds_count":
			m.lagCount = val
		case strings.HasPrefix(name, "upmon_pubsub_delivered_total{") && strings.Contains(name, `subscription="check-site"`):
			m.added += val
		case name == "upmon_checks_in_flight":
			m.inflight = val
		case strings.HasPrefix(name, `upmon_location_checks_total{location="`):
			loc := strings.TrimPrefix(name, `upmon_location_checks_total{location="`)
			m.byLocation[loc[:max(strings.IndexByte(loc, '"'), 0)]] += val
		case strings.HasPrefix(name, "upmon_db_stalls_total"):
			m.stalls += val
		}
	}
	return m, sc.Err()
}

// lagQuantile reads quantile q of the scheduler's own lag histogram
// between two snapshots: the upper bound of the bucket that holds it.
func lagQuantile(a, b metricSnapshot, q float64) float64 {
	total := b.lagCount - a.lagCount
	if total <= 0 {
		return 0
	}
	var bounds []float64
	for le := range b.lagBkts {
		bounds = append(bounds, le)
	}
	sortFloats(bounds)
	for _, le := range bounds {
		if b.lagBkts[le]-a.lagBkts[le] >= q*total {
			return le
		}
	}
	return 1e18
}

// dirSize sums the sizes of the files under dir whose names match one of
// the globs (relative to dir).
func dirSize(dir string, globs ...string) int64 {
	var n int64
	for _, g := range globs {
		ms, _ := filepath.Glob(filepath.Join(dir, g))
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

// machineBusy returns the CPU time all processes of the machine have used
// (from /proc/stat: every state but idle and iowait), and the 1-minute
// load average.
func machineBusy() (time.Duration, float64) {
	var busy int64
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			if i != 3 && i != 4 && i < 8 { // idle, iowait; guest is in user
				busy += n
			}
		}
	}
	var load float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load, _ = strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	}
	return time.Duration(busy) * time.Second / clockTicks, load
}
