//go:build unix

package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upmonProc is one `upmon serve` process.
type upmonProc struct {
	name   string
	cmd    *exec.Cmd
	log    *procLog
	exited chan struct{}
	// Base is the process's HTTP base URL, once it serves.
	Base string
}

// procLog keeps the tail of a process's output and spots the line that
// names its listening address.
type procLog struct {
	mu      sync.Mutex
	buf     []byte
	partial []byte
	url     chan string
}

// procLogKeep is how much of a process's output is kept for failure
// reports.
const procLogKeep = 256 << 10

var listeningRE = regexp.MustCompile(`msg="upmon listening" url=(\S+)`)

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*procLogKeep {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-procLogKeep:]...)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i]
		if m := listeningRE.FindSubmatch(line); m != nil {
			select {
			case l.url <- string(m[1]):
			default:
			}
		}
		l.partial = l.partial[i+1:]
	}
	l.partial = append([]byte(nil), l.partial...)
	return len(p), nil
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if len(b) > procLogKeep {
		b = b[len(b)-procLogKeep:]
	}
	return string(b)
}

// procEnv is the environment of a child upmon: the test's, without any
// UPMON_ or SLACK_ variable (the arguments say everything), plus extra.
func procEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "UPMON_") || strings.HasPrefix(kv, "SLACK_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// launchUpmon starts `upmon serve args…` without waiting for it to serve.
// When t ends the process is stopped (SIGTERM, then SIGKILL) and, if t
// failed, the tail of its output is logged.
func launchUpmon(t *testing.T, name string, args, env []string) *upmonProc {
	t.Helper()
	p := &upmonProc{name: name, log: &procLog{url: make(chan string, 1)}, exited: make(chan struct{})}
	p.cmd = exec.Command(upmonBinary(t), append([]string{"serve"}, args...)...)
	p.cmd.Env = env
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("--- output of %s (%v):\n%s", p.name, p.cmd.ProcessState, p.log.String())
		}
	})
	return p
}

// waitServing waits until the process logs its listening address.
func (p *upmonProc) waitServing(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case p.Base = <-p.log.url:
	case <-p.exited:
		t.Fatalf("%s exited before serving (%v):\n%s", p.name, p.cmd.ProcessState, p.log.String())
	case <-time.After(d):
		t.Fatalf("%s did not serve within %v:\n%s", p.name, d, p.log.String())
	}
}

// alive reports whether the process still runs.
func (p *upmonProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill kills the process with SIGKILL and waits for it.
func (p *upmonProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && p.alive() {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited
}

// stop asks the process to shut down and kills it after d.
func (p *upmonProc) stop(d time.Duration) {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// procClient is the HTTP client of process-level tests.
var procClient = &http.Client{Timeout: 10 * time.Second}

// httpDo sends a request (a JSON body if not empty) and returns the
// status and body; a transport error is returned, not fatal.
func httpDo(ctx context.Context, method, url, body string) (int, string, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := procClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, string(b), err
}

// metrics scrapes the process's /metrics.
func (p *upmonProc) metrics(t *testing.T) promText {
	t.Helper()
	code, body, err := httpDo(context.Background(), "GET", p.Base+"/metrics", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scrape %s: status %d, %v", p.name, code, err)
	}
	return promText(body)
}

// promText is a Prometheus text exposition.
type promText string

var labelRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// sum adds the samples of the metric name whose labels include every
// name=value pair of match (given as "name", "value", …).
func (pt promText) sum(name string, match ...string) float64 {
	total := 0.0
	for line := range strings.Lines(string(pt)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, labels, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		have := map[string]string{}
		for _, m := range labelRE.FindAllStringSubmatch(labels, -1) {
			have[m[1]] = m[2]
		}
		matches := true
		for i := 0; i+1 < len(match); i += 2 {
			if have[match[i]] != match[i+1] {
				matches = false
			}
		}
		if !matches {
			continue
		}
		if f, err := strconv.ParseFloat(strings.Fields(value)[0], 64); err == nil {
			total += f
		}
	}
	return total
}
