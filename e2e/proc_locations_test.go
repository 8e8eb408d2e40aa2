//go:build unix

package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// alerts are the up/down messages among Slack's (location messages left
// out).
func alerts(msgs []string) []string {
	var out []string
	for _, l := range firstLines(msgs) {
		if strings.Contains(l, " is down!*") || strings.Contains(l, " is back up.*") {
			out = append(out, l)
		}
	}
	return out
}

// TestAgentProcessesKillAndBrokerRestart runs three real agent processes
// (each on its own loopback source address): a broker restart between
// the alert and the recovery loses and duplicates nothing; an agent
// killed with SIGKILL leaves its location unavailable, with a
// location-lost message and no alert.
func TestAgentProcessesKillAndBrokerRestart(t *testing.T) {
	t.Parallel()
	bin := upmonBinary(t)
	port, store := freePort(t), t.TempDir()
	natsOpts := func() *server.Options { return &server.Options{Port: port, JetStream: true, StoreDir: store} }
	ns := startTestNATS(t, natsOpts())
	cfg := apptest.Config(t)
	cfg.NATSURL = ns.ClientURL()
	cfg.Locations = []string{"eu", "us", "ap"}
	cfg.Heartbeat = 200 * time.Millisecond
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := &byCaller{status: map[string]int{}}
	url := apptest.NewHandlerServer(t, target) + "/health"

	ips := map[string]string{"eu": "127.0.0.2", "us": "127.0.0.3", "ap": "127.0.0.4"}
	procs := map[string]*exec.Cmd{}
	for loc, ip := range ips {
		cmd := exec.Command(bin, "agent", "--nats-url", cfg.NATSURL, "--nats-prefix", cfg.NATSPrefix, "--location", loc,
			"--source-addr", ip, "--heartbeat", "200ms", "--log-level", "warn")
		cmd.Env = []string{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[loc] = cmd
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	apptest.Eventually(t, 15*time.Second, "three live locations", func() bool {
		s := locationStates(t, c)
		return s["eu"] == "live" && s["us"] == "live" && s["ap"] == "live"
	})
	c.JSON("POST", "/site", `{"url":"`+url+`","interval":"1s"}`, nil)
	apptest.Eventually(t, 15*time.Second, "checked from every location", func() bool {
		l := siteLocations(t, c, "1")
		return l["eu"].CheckedAt != nil && l["us"].CheckedAt != nil && l["ap"].CheckedAt != nil
	})

	target.set(ips["eu"], 503)
	target.set(ips["us"], 503)
	apptest.Eventually(t, 15*time.Second, "the alert", func() bool { return len(alerts(slack.Messages())) >= 1 })

	// The broker restarts (same port and store) while the site is down.
	ns.Shutdown()
	ns.WaitForShutdown()
	startTestNATS(t, natsOpts())
	restarted := time.Now()
	target.set(ips["eu"], 200)
	target.set(ips["us"], 200)
	apptest.Eventually(t, 30*time.Second, "the recovery after the restart", func() bool { return len(alerts(slack.Messages())) >= 2 })
	apptest.Eventually(t, 15*time.Second, "every location checks again after the restart", func() bool {
		l := siteLocations(t, c, "1")
		for _, loc := range []string{"eu", "us", "ap"} {
			if l[loc].CheckedAt == nil || l[loc].CheckedAt.Before(restarted) {
				return false
			}
		}
		return true
	})
	time.Sleep(settle)
	if a := alerts(slack.Messages()); len(a) != 2 || a[0] != downText(url)+" (2 of 3 locations: eu, us)" || !strings.HasPrefix(a[1], upText(url)) {
		t.Fatalf("alerts across a broker restart = %q, want one down and one recovery", a)
	}

	// SIGKILL the ap agent: ap becomes unavailable; eu down alone is then
	// 1 of 2 live locations: no alert.
	if err := procs["ap"].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "ap unavailable", func() bool { return locationStates(t, c)["ap"] == "unavailable" })
	apptest.Eventually(t, 10*time.Second, "a location-lost message", func() bool {
		return strings.Contains(strings.Join(firstLines(slack.Messages()), "\n"), "*Location ap is unavailable.*")
	})
	target.set(ips["eu"], 503)
	at := time.Now()
	apptest.Eventually(t, 15*time.Second, "eu sees it down after ap died", func() bool {
		l := siteLocations(t, c, "1")["eu"]
		return l.CheckedAt != nil && l.CheckedAt.After(at) && l.State == "down"
	})
	time.Sleep(settle)
	if a := alerts(slack.Messages()); len(a) != 2 {
		t.Fatalf("after ap was killed and eu went down: alerts %q, want no new one", a)
	}
}
