//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
)

// crashChildEnv marks the test binary as a crash child and carries its
// crashSpec as JSON.
const crashChildEnv = "UPMON_E2E_CRASH_CHILD"

// crashAckDeadline is the handler deadline in crash tests: a message a
// killed process left unacknowledged comes back after about
// crashAckDeadline + 1 s instead of 36 s.
const crashAckDeadline = 2 * time.Second

// Kill points of a crash child.
// crashNotifyTimeout is the children's send timeout, short so that a
// killed child's delivery lease runs out soon.
const crashNotifyTimeout = 2 * time.Second

const (
	killAfterCommit  = "after-commit"  // Monitor.AfterCommit
	killAfterPublish = "after-publish" // Outbox.AfterPublish
	killAfterNotify  = "after-notify"  // Channels.AfterSend
)

// crashSpec tells a crash child what to run and where to die.
type crashSpec struct {
	// Config is the program's configuration (data dir, database, broker).
	Config app.Config
	// KillAt is one of the kill points.
	KillAt string
	// Marker is the file whose existence arms the kill point.
	Marker string
	// URLFile receives the child's base URL once it serves.
	URLFile string
	// Passed is written each time the kill point runs unarmed, so the
	// test can arm it only after the initial check's hook has passed (a
	// check is visible once committed, before its AfterCommit hook runs).
	Passed string
}

// TestCrashChild is not a test: it is the program run by TestCrashSafety
// in a child process (the test binary re-executed with crashChildEnv set).
// It runs app.Main with a hook that kills the process with SIGKILL at the
// chosen point once the marker file exists.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(crashChildEnv)
	if raw == "" {
		return // only a helper process of TestCrashSafety
	}
	var spec crashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("crash child: bad %s: %v", crashChildEnv, err)
	}
	die := func() {
		if _, err := os.Stat(spec.Marker); err != nil {
			_ = os.WriteFile(spec.Passed, nil, 0o600)
			return // not armed yet
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour) // never returns: the signal is on its way
	}
	var hooks app.Hooks
	switch spec.KillAt {
	case killAfterCommit:
		hooks.Monitor.AfterCommit = func(int64) { die() }
	case killAfterPublish:
		hooks.Outbox.AfterPublish = func(string) error { die(); return nil }
	case killAfterNotify:
		hooks.Channels.AfterSend = func(int64) { die() }
	default:
		t.Fatalf("crash child: unknown kill point %q", spec.KillAt)
	}
	m := app.New(spec.Config, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	m.Hooks = hooks
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatalf("crash child: open: %v", err)
	}
	tmp := spec.URLFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(m.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, spec.URLFile); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Minute)
	t.Fatal("crash child: never killed")
}

// crashChild is a running crash child process.
type crashChild struct {
	cmd    *exec.Cmd
	out    bytes.Buffer // stdout and stderr; read only after exited
	exited chan struct{}
	base   string
}

// startCrashChild starts a crash child and waits until it serves. The child
// is killed (if still alive) and its output logged on failure when t ends.
func startCrashChild(t *testing.T, spec crashSpec) *crashChild {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &crashChild{exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw))
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start crash child: %v", err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("crash child output:\n%s", c.out.String())
		}
	})
	apptest.Eventually(t, 30*time.Second, "the crash child to serve", func() bool {
		select {
		case <-c.exited:
			t.Fatalf("crash child exited early: %v\n%s", c.cmd.ProcessState, c.out.String())
		default:
		}
		b, err := os.ReadFile(spec.URLFile)
		c.base = string(b)
		return err == nil
	})
	return c
}

// waitKilled waits until the child died of SIGKILL.
func (c *crashChild) waitKilled(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the crash child did not die at its kill point")
	}
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("crash child ended with %v, want killed by SIGKILL", c.cmd.ProcessState)
	}
}

// TestCrashSafety kills the real program with SIGKILL at each step between
// a committed transition and its acknowledged Slack notification, restarts
// it on the same data, and checks that the notification is neither lost
// nor duplicated beyond what at-least-once delivery to Slack allows.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	// redelivery bounds how long a message a killed consumer held takes to
	// come back: the ack wait (deadline + 1 s) plus slack for the restart.
	const redelivery = crashAckDeadline + time.Second + 5*time.Second
	// crashLease is how long a delivery the killed process claimed stays
	// with it (channels.Options.Lease: 2 × the send timeout + 10 s).
	const crashLease = 2*crashNotifyTimeout + 10*time.Second

	tests := []struct {
		name   string
		killAt string
		// check judges the messages after the restart, given how many Slack
		// had accepted when the child died.
		check func(t *testing.T, slack *apptest.Slack, atKill int, down string)
	}{
		{
			// The transition is only in the outbox: the restarted relay
			// publishes it, once.
			name: "after commit before publish", killAt: killAfterCommit,
			check: func(t *testing.T, slack *apptest.Slack, atKill int, down string) {
				if atKill != 0 {
					t.Fatalf("Slack had %d messages before the event was published", atKill)
				}
				slack.WaitFor(1, redelivery)
				time.Sleep(settle)
				requireMessages(t, slack.Messages(), 1, 1, down)
			},
		},
		{
			// The event is in JetStream and still in the outbox: the
			// restarted relay publishes it again under the same message id
			// and the broker drops the copy. Only a delivery the dying
			// process had already made to Slack may repeat.
			name: "after publish before outbox delete", killAt: killAfterPublish,
			check: func(t *testing.T, slack *apptest.Slack, atKill int, down string) {
				if atKill == 0 {
					// Wait as long as a redelivery of the first copy would
					// take, so that a duplicate has time to show up.
					slack.WaitFor(2, redelivery)
					requireMessages(t, slack.Messages(), 1, 1, down)
					t.Logf("Slack had no message at the kill; exactly one after the restart")
					return
				}
				slack.WaitFor(2, redelivery)
				time.Sleep(settle)
				got := requireMessages(t, slack.Messages(), 1, 2, down)
				t.Logf("the dying process's consumer notified Slack before the kill; %d message(s) after the restart", len(got))
			},
		},
		{
			// Slack accepted the message but the process died before the
			// delivery left the queue: when its lease runs out the
			// restarted process sends it again (the one duplicate case of
			// at-least-once delivery), never loses it.
			name: "after notify before the delivery is settled", killAt: killAfterNotify,
			check: func(t *testing.T, slack *apptest.Slack, atKill int, down string) {
				if atKill != 1 {
					t.Fatalf("Slack had %d messages at the kill, want 1", atKill)
				}
				slack.WaitFor(2, crashLease+redelivery)
				time.Sleep(settle)
				requireMessages(t, slack.Messages(), 2, 2, down)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := apptest.Config(t)
			cfg.AckDeadline = crashAckDeadline
			cfg.NotifyTimeout = crashNotifyTimeout
			cfg.CheckInterval = 24 * time.Hour // no sweep between the marker and the check
			slack := apptest.NewSlack(t)
			cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
			target := apptest.NewTarget(t)
			dir := t.TempDir()
			spec := crashSpec{
				Config:  cfg,
				KillAt:  tc.killAt,
				Marker:  filepath.Join(dir, "armed"),
				URLFile: filepath.Join(dir, "url"),
				Passed:  filepath.Join(dir, "passed"),
			}

			child := startCrashChild(t, spec)
			c := apptest.Client{Base: child.base, TB: t}
			c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
			waitChecked(t, c, "1") // the initial up check passes the hooks unarmed
			if tc.killAt == killAfterCommit {
				// Its commit hook runs after the commit made it visible:
				// armed too early, it would kill the child on the up check.
				apptest.Eventually(t, 10*time.Second, "the initial check's commit hook", func() bool {
					_, err := os.Stat(spec.Passed)
					return err == nil
				})
			}

			if err := os.WriteFile(spec.Marker, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			target.SetStatus(500)
			hc := &http.Client{Timeout: 20 * time.Second}
			if resp, err := hc.Post(child.base+"/check/1", "application/json", nil); err == nil {
				resp.Body.Close() // the commit-point kill happens before the answer; the others may answer
			}
			child.waitKilled(t)
			// A request the child sent just before dying may still be in
			// the fake Slack's socket buffer: let it land before counting.
			time.Sleep(settle)
			atKill := len(slack.Messages())
			t.Logf("killed %s; Slack had %d message(s)", tc.killAt, atKill)

			m := apptest.Start(t, cfg, app.Hooks{})
			c2 := apptest.Client{Base: m.URL(), TB: t}
			var st struct {
				Sites map[string]struct{ Up bool } `json:"sites"`
			}
			c2.JSON("GET", "/status", "", &st)
			if s, ok := st.Sites["1"]; !ok || s.Up {
				t.Fatalf("status after restart = %+v; the committed down check is missing", st)
			}
			tc.check(t, slack, atKill, downText(target.URL))
			requireOnePublished(t, m)
		})
	}
}

// requireOnePublished waits until m's monitor outbox is empty and requires
// the uptime-transition stream to hold exactly one message: the event
// reached the broker once, whatever was published before the crash. (The
// Slack messages alone cannot show this: the slack service skips a second
// copy of a transition it has already delivered.)
func requireOnePublished(t *testing.T, m *app.Main) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "the monitor outbox to drain", func() bool {
		var n int
		err := m.Monitor.DB().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n)
		return err == nil && n == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The stream naming of package pubsub: <prefix>_<topic>.
	s, err := m.Broker().JetStream().Stream(ctx, m.Broker().Prefix()+"_"+monitor.TopicUptimeTransition)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("the %s stream holds %d messages, want 1: the event was published more than once", monitor.TopicUptimeTransition, info.State.Msgs)
	}
}

// requireMessages fails t unless got holds between lo and hi identical
// messages whose first line is want, and returns got.
func requireMessages(t *testing.T, got []string, lo, hi int, want string) []string {
	t.Helper()
	var errs []error
	if len(got) < lo || len(got) > hi {
		errs = append(errs, fmt.Errorf("%d messages, want %d to %d", len(got), lo, hi))
	}
	for i, first := range firstLines(got) {
		if first != want {
			errs = append(errs, fmt.Errorf("message %d begins %q, want %q", i, first, want))
		}
		if got[i] != got[0] {
			errs = append(errs, fmt.Errorf("message %d differs from message 0", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%v\nall messages: %q", strings.ReplaceAll(err.Error(), "\n", "; "), got)
	}
	return got
}
