package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// replicas are the extra upmon processes of a --replicas run: they use
// the main process's PostgreSQL database and NATS prefix, so the
// replicas share the checks.
type replicas struct{ extra []*server }

// startReplicas starts n more upmon processes with the same arguments.
func startReplicas(n int, bin string, prefix, args, env []string, logPath string) (*replicas, error) {
	r := &replicas{}
	for range n {
		s, err := startServer(bin, prefix, args, env, logPath)
		if err != nil {
			r.stop()
			return nil, err
		}
		logf("replica upmon %d at %s", s.cmd.Process.Pid, s.base)
		r.extra = append(r.extra, s)
	}
	return r, nil
}

// stop stops every extra replica (r may be nil).
func (r *replicas) stop() {
	if r == nil {
		return
	}
	for _, s := range r.extra {
		s.stop()
	}
	r.extra = nil
}

// clusterReading is one reading of the extra replicas.
type clusterReading struct {
	cpu    []time.Duration // per extra replica, utime + stime
	checks []float64       // per extra replica, upmon_checks_total
	hwmKB  []int64         // per extra replica, VmHWM
	stalls []float64       // per extra replica, upmon_db_stalls_total
}

// read reads every extra replica's CPU, checks and peak RSS. (The
// database server's CPU is pgCPU's: one reader, sampled through the
// window.)
func (r *replicas) read(ctx context.Context) clusterReading {
	var out clusterReading
	if r != nil {
		for _, s := range r.extra {
			ps, _ := readProc(s.cmd.Process.Pid)
			m, _ := scrape(ctx, s.base)
			out.cpu = append(out.cpu, ps.cpu)
			out.checks = append(out.checks, m.checks)
			out.hwmKB = append(out.hwmKB, ps.hwmKB)
			out.stalls = append(out.stalls, m.stalls)
		}
	}
	return out
}

// checks is the sum of upmon_checks_total over the extra replicas (r may
// be nil).
func (r *replicas) checks(ctx context.Context) (float64, error) {
	var n float64
	if r != nil {
		for _, s := range r.extra {
			m, err := scrape(ctx, s.base)
			if err != nil {
				return 0, err
			}
			n += m.checks
		}
	}
	return n, nil
}

// readCPU returns a process's utime + stime from /proc/PID/stat alone
// (readProc also reads its fds, which another user's process may not
// allow).
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}
