//go:build unix

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/pubsub/pubsubtest"
	"upmon/platform/sqldb/sqldbtest"
)

// Slow-notifier scenario: a webhook that takes 1.5 s to answer, an ack
// deadline of 2 s (ack wait 3 s), and one site changing state every second
// six times, so that its notifications queue up for longer than the ack
// wait. They queue in the channel's delivery queue (the broker's message
// is acknowledged once routed), so nothing is redelivered, and a site's
// messages go one at a time, in order, whichever replica sends them.
const (
	slowAckDeadline = 2 * time.Second
	slowNotifier    = 1500 * time.Millisecond
	slowFlips       = 6
)

// TestSlowNotifierOneReplica runs the scenario on one process, on
// whichever engines the pass uses: the queued notifications are kept
// alive, none is redelivered.
func TestSlowNotifierOneReplica(t *testing.T) {
	t.Parallel()
	runSlowNotifier(t, 1)
}

// TestSlowNotifierTwoReplicas runs the scenario on two replicas sharing a
// PostgreSQL database and a NATS: a redelivered notification would be
// posted twice there, by the other replica, and two replicas each holding
// one of the site's messages would post them out of order.
func TestSlowNotifierTwoReplicas(t *testing.T) {
	if sqldbtest.PostgresURL() == "" || !pubsubtest.External() {
		t.Skip("skipping: two replicas share a PostgreSQL and a NATS; set " + sqldbtest.EnvPostgresURL + " and " +
			pubsubtest.EnvURL + " (.ci/run does) to run this test")
	}
	t.Parallel()
	runSlowNotifier(t, 2)
}

func runSlowNotifier(t *testing.T, replicas int) {
	slack := apptest.NewSlack(t)
	slack.SetDelay(slowNotifier)
	cfg := apptest.Config(t)
	cfg.AckDeadline = slowAckDeadline
	cfg.NotifyTimeout = 10 * time.Second // the POST is bounded by the ack deadline, not cut short before it
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	var clients []apptest.Client
	for i := range replicas {
		c := cfg
		if i > 0 {
			c.DataDir = t.TempDir() // the database and NATS are shared
		}
		m := apptest.Start(t, c, app.Hooks{})
		clients = append(clients, apptest.Client{Base: m.URL(), TB: t})
	}
	flapper, other := apptest.NewTarget(t), apptest.NewTarget(t)
	clients[0].JSON("POST", "/site", `{"url":"`+flapper.URL+`/flap"}`, nil)
	clients[0].JSON("POST", "/site", `{"url":"`+other.URL+`/other"}`, nil)
	waitChecked(t, clients[0], "1")
	waitChecked(t, clients[0], "2")

	// Flip the site every second, checking it through each replica in
	// turn; the other site goes down once, after the second flip.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var want []string
	for i := range slowFlips {
		<-tick.C
		up := i%2 == 1
		flapper.SetStatus(map[bool]int{true: 200, false: 503}[up])
		clients[i%replicas].JSON("POST", "/check/1", "", nil)
		want = append(want, map[bool]string{true: upText(flapper.URL + "/flap"), false: downText(flapper.URL + "/flap")}[up])
		if i == 1 {
			other.SetStatus(503)
			clients[(i+1)%replicas].JSON("POST", "/check/2", "", nil)
		}
	}
	slack.WaitFor(slowFlips+1, 60*time.Second)
	// A redelivered message would be posted (or counted) within one more
	// ack wait: give it that long to show up.
	time.Sleep(slowAckDeadline + time.Second + settle)
	msgs := firstLines(slack.Messages())

	var flaps []string
	otherAt, lastFlapAt := -1, -1
	for i, m := range msgs {
		switch {
		case strings.Contains(m, "/flap "):
			flaps = append(flaps, m)
			lastFlapAt = i
		case m == downText(other.URL+"/other"):
			otherAt = i
		default:
			t.Errorf("unexpected message %q", m)
		}
	}
	if !slices.Equal(flaps, want) {
		t.Errorf("the flapping site's messages:\n%s\nwant, in this order:\n%s", strings.Join(flaps, "\n"), strings.Join(want, "\n"))
	}
	if otherAt < 0 || otherAt > lastFlapAt {
		t.Errorf("the other site's message came at %d, after the flapping site's last (%d): it waited behind it; messages:\n%s",
			otherAt, lastFlapAt, strings.Join(msgs, "\n"))
	}
	var redelivered []string
	total := 0.0
	for i, c := range clients {
		_, body := c.Do("GET", "/metrics", "")
		pt := promText(body)
		n := pt.sum("upmon_pubsub_redelivered_total")
		total += n
		redelivered = append(redelivered, fmt.Sprintf("replica %d: %v", i, n))
		if pt.sum("upmon_pubsub_delivered_total", "subscription", "channels-transition") == 0 && replicas == 1 {
			t.Errorf("replica %d counted no delivery: the metric is not there", i)
		}
	}
	if total != 0 {
		t.Errorf("upmon_pubsub_redelivered_total: %s; want 0", strings.Join(redelivered, ", "))
	}
}
