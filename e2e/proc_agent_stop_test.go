//go:build unix

package e2e

import (
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// heldTarget answers 200 at once until armed; then it holds the next
// request until released, and answers it 503.
type heldTarget struct {
	mu      sync.Mutex
	armed   bool
	arrived chan time.Time
	release chan struct{}
}

func (h *heldTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	hold := h.armed
	h.armed = false
	h.mu.Unlock()
	if !hold {
		w.WriteHeader(http.StatusOK)
		return
	}
	h.arrived <- time.Now()
	select {
	case <-h.release:
	case <-r.Context().Done():
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

// TestAgentProcessStopsOnSIGTERMAfterItsChecks: an agent process told to
// stop (SIGTERM, as systemd or Kubernetes do) takes no new work, waits
// for the check it is running, hands its result to the broker and exits
// with status 0. The held check's answer (503) is the only down result
// the location can have, so seeing it recorded proves the result of the
// check in flight was not lost.
func TestAgentProcessStopsOnSIGTERMAfterItsChecks(t *testing.T) {
	t.Parallel()
	bin := upmonBinary(t)
	ns := startTestNATS(t, &server.Options{JetStream: true, StoreDir: t.TempDir()})
	cfg := apptest.Config(t)
	cfg.NATSURL = ns.ClientURL()
	cfg.Locations = []string{"eu"}
	cfg.Heartbeat = 200 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := &heldTarget{arrived: make(chan time.Time, 1), release: make(chan struct{})}
	url := apptest.NewHandlerServer(t, target) + "/health"

	out := &procLog{url: make(chan string, 1)}
	cmd := exec.Command(bin, "agent", "--nats-url", cfg.NATSURL, "--nats-prefix", cfg.NATSPrefix, "--location", "eu",
		"--heartbeat", "200ms", "--log-level", "info")
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("--- agent output:\n%s", out.String())
		}
	})
	apptest.Eventually(t, 15*time.Second, "eu live", func() bool { return locationStates(t, c)["eu"] == "live" })
	c.JSON("POST", "/site", `{"url":"`+url+`","interval":"1s"}`, nil)
	apptest.Eventually(t, 15*time.Second, "checked from eu", func() bool {
		l := siteLocations(t, c, "1")["eu"]
		return l.CheckedAt != nil && l.State == "up"
	})

	target.mu.Lock()
	target.armed = true
	target.mu.Unlock()
	var heldAt time.Time
	select {
	case heldAt = <-target.arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("no check reached the target within 15s")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The agent waits for its check: it must not exit while the target
	// still holds the request.
	select {
	case err := <-exited:
		t.Fatalf("the agent exited (%v) while its check was still running", err)
	case <-time.After(time.Second):
	}
	close(target.release)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the agent exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not exit within 20s of its check's end")
	}
	if !strings.Contains(out.String(), "agent stopped") {
		t.Fatalf("the agent's log does not say it stopped:\n%s", out.String())
	}
	apptest.Eventually(t, 15*time.Second, "the held check's result recorded", func() bool {
		l := siteLocations(t, c, "1")["eu"]
		return l.State == "down" && l.StatusCode == http.StatusServiceUnavailable && l.CheckedAt != nil &&
			!l.CheckedAt.Before(heldAt.Add(-2*time.Second))
	})
}
