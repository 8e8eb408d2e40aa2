package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// proc is a subprocess of a --locations run (nats-server, an agent).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

// startProc starts bin with args, its output appended to logPath.
func startProc(name, bin string, args []string, logPath string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); lf.Close() }()
	return p, nil
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits (SIGKILL after 20 s); p may be nil.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// natsServerBin finds the nats-server binary: the flag, else
// /usr/sbin/nats-server, else PATH.
func natsServerBin(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server", nil
	}
	p, err := exec.LookPath("nats-server")
	if err != nil {
		return "", errors.New("--locations needs nats-server (apt-get install nats-server, or --nats-server-bin)")
	}
	return p, nil
}

// startNATS runs a private nats-server with JetStream on a free loopback
// port (so that its CPU is the run's alone) and waits until JetStream
// answers.
func startNATS(ctx context.Context, bin, dir, logPath string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := strings.Cut(addr, ":")
	p, err := startProc("nats-server", bin, []string{"-a", "127.0.0.1", "-p", port, "-js", "-sd", filepath.Join(dir, "nats")}, logPath)
	if err != nil {
		return nil, "", err
	}
	url := "nats://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := jetStreamUp(ctx, url); err == nil {
			return p, url, nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, "", fmt.Errorf("nats-server not ready: %v; see %s", err, logPath)
		}
		_ = sleepCtx(ctx, 100*time.Millisecond)
	}
}

func jetStreamUp(ctx context.Context, url string) error {
	nc, err := nats.Connect(url, nats.Timeout(time.Second), nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// locationName is the name of the i-th location of a run.
func locationName(i int) string { return "l" + strconv.Itoa(i+1) }

// agentSource is the loopback address the i-th location's agent checks
// from (127.0.0.2, .3, …; the targets tell the locations apart by it).
func agentSource(i int) uint8 { return uint8(2 + i) }

// startAgents starts one `upmon agent` per location, each leaving from
// its own loopback source address.
func startAgents(bin string, n int, natsURL, prefix string, heartbeat time.Duration, extra []string, logPath string) ([]*proc, error) {
	var out []*proc
	for i := range n {
		args := append([]string{"agent", "--nats-url", natsURL, "--nats-prefix", prefix, "--location", locationName(i),
			"--source-addr", "127.0.0." + strconv.Itoa(int(agentSource(i))), "--heartbeat", heartbeat.String(), "--log-level", "warn"}, extra...)
		p, err := startProc("agent "+locationName(i), bin, args, logPath)
		if err != nil {
			for _, a := range out {
				a.stop()
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
