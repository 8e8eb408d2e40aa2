package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// deployNATSConfig returns the NATS configuration docs/deploy.md gives
// for agents (the ```conf block starting "# nats-locations.conf").
func deployNATSConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```conf\n# nats-locations.conf")
	if !ok {
		t.Fatal("docs/deploy.md has no nats-locations.conf block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated nats-locations.conf block")
	}
	return "# nats-locations.conf" + block
}

// TestAgentPermissionsFromDeployDoc runs nats-server with the users and
// permissions of docs/deploy.md: the eu agent checks for the serve
// process with its own credentials, and may neither publish us's results
// nor receive us's assignments.
func TestAgentPermissionsFromDeployDoc(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(deployNATSConfig(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("docs/deploy.md's NATS configuration: %v", err)
	}
	opts.Port, opts.StoreDir = -1, t.TempDir()
	ns := startTestNATS(t, opts)
	url := func(user, pass string) string {
		return strings.Replace(ns.ClientURL(), "nats://", "nats://"+user+":"+pass+"@", 1)
	}

	cfg := apptest.Config(t)
	cfg.NATSURL, cfg.NATSPrefix = url("serve", "change-me-serve"), "upmon"
	cfg.Locations = []string{"eu"}
	cfg.Heartbeat = 200 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	startAgent(t, url("agent-eu", "change-me-eu"), "upmon", "eu", "127.0.0.2")
	apptest.Eventually(t, 10*time.Second, "eu live", func() bool { return locationStates(t, c)["eu"] == "live" })
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/eu","interval":"1s"}`, nil)
	apptest.Eventually(t, 15*time.Second, "eu's check recorded", func() bool {
		l := siteLocations(t, c, "1")["eu"]
		return l.CheckedAt != nil && l.State == "up"
	})

	// Wrong password: refused.
	if nc, err := nats.Connect(url("agent-eu", "wrong"), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("agent-eu connected with a wrong password")
	}
	// The eu agent's user tries us's subjects.
	denied := make(chan error, 4)
	eu, err := nats.Connect(url("agent-eu", "change-me-eu"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		denied <- err
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer eu.Close()
	serve, err := nats.Connect(url("serve", "change-me-serve"))
	if err != nil {
		t.Fatal(err)
	}
	defer serve.Close()
	spy, err := serve.SubscribeSync("upmon.loc.us.results")
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := eu.Subscribe("upmon.loc.us.assign", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	_ = eu.Publish("upmon.loc.us.results", []byte(`{"site_id":1,"result":{"Up":false}}`))
	_ = eu.Flush()
	for range 2 {
		select {
		case err := <-denied:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("agent-eu on us's subjects: %v, want a permissions violation", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("agent-eu was not refused us's subjects")
		}
	}
	// The refused publish never reached us's result subject (the serve
	// user's subscription was in place before it).
	if msg, err := spy.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("us's results received a message from agent-eu: %s", msg.Data)
	}
}
