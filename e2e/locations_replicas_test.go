package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/monitor"
	"upmon/platform/pubsub/pubsubtest"
)

// TestLocationLivenessAcrossReplicas runs two serve replicas on one
// database and one NATS (SQLite file and a loopback nats-server; or
// PostgreSQL and the external NATS when UPMON_TEST_POSTGRES_URL and
// UPMON_TEST_NATS_URL are set) and one agent: the agent stopping is
// exactly one location-lost on the broker, its return exactly one
// location-back, and both replicas answer GET /locations the same.
func TestLocationLivenessAcrossReplicas(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	if !pubsubtest.External() {
		// The embedded broker has no port: replicas and the agent need a
		// shared one.
		cfg.NATSURL = startTestNATS(t, &server.Options{JetStream: true, StoreDir: t.TempDir()}).ClientURL()
	}
	// Heartbeats far enough apart that a loaded machine does not make
	// the location flap (a real loss and return each time).
	cfg.Heartbeat = time.Second
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	first := apptest.Start(t, cfg, app.Hooks{})
	second := cfg
	if cfg.DatabaseURL != "" {
		second.DataDir = t.TempDir() // the database is shared; files are not
	}
	reps := []apptest.Client{{Base: first.URL(), TB: t}, {Base: apptest.Start(t, second, app.Hooks{}).URL(), TB: t}}
	stream := locationStream(t, cfg.NATSURL, cfg.NATSPrefix)

	// agreed waits until both replicas answer the ap location in state.
	agreed := func(what, state string) {
		t.Helper()
		apptest.Eventually(t, 15*time.Second, what, func() bool {
			a, b := locationStates(t, reps[0]), locationStates(t, reps[1])
			return a["ap"] == state && b["ap"] == state && len(a) == len(b)
		})
	}
	// quiesced waits until each replica has run two more liveness passes
	// (any event a replica would write for the change is then committed)
	// and the outbox relays have published every location event.
	quiesced := func() {
		t.Helper()
		before := []float64{replicaMetric(t, reps[0], "upmon_liveness_passes_total"), replicaMetric(t, reps[1], "upmon_liveness_passes_total")}
		apptest.Eventually(t, 15*time.Second, "two more liveness passes on each replica", func() bool {
			return replicaMetric(t, reps[0], "upmon_liveness_passes_total") >= before[0]+2 &&
				replicaMetric(t, reps[1], "upmon_liveness_passes_total") >= before[1]+2
		})
		apptest.Eventually(t, 15*time.Second, "every location event written is published", func() bool {
			written := 0.0
			for _, c := range reps {
				written += replicaMetric(t, c, "upmon_location_changes_total")
			}
			return float64(len(stream.events(t))) == written
		})
	}
	count := func(kind string) int {
		n := 0
		for _, ev := range stream.events(t) {
			if ev.Type == kind && ev.Location == "ap" {
				n++
			}
		}
		return n
	}

	stop := startAgent(t, cfg.NATSURL, cfg.NATSPrefix, "ap", "127.0.0.2")
	agreed("ap live on both replicas", monitor.LocationLive)
	stop()
	agreed("ap unavailable on both replicas", monitor.LocationUnavailable)
	quiesced()
	if n := count(monitor.EventLocationLost); n != 1 {
		t.Fatalf("the agent stopped, two replicas: %d location-lost events on the broker, want 1: %+v", n, stream.events(t))
	}
	lost := slack.WaitFor(1, 15*time.Second)
	if got := strings.Count(strings.Join(firstLines(lost), "\n"), "*Location ap is unavailable.*"); got != 1 {
		t.Fatalf("Slack got %q, want one location-lost message", firstLines(lost))
	}

	startAgent(t, cfg.NATSURL, cfg.NATSPrefix, "ap", "127.0.0.2")
	agreed("ap live again on both replicas", monitor.LocationLive)
	quiesced()
	if lost, back := count(monitor.EventLocationLost), count(monitor.EventLocationBack); lost != 1 || back != 1 {
		t.Fatalf("the agent came back: %d location-lost and %d location-back events, want 1 and 1: %+v", lost, back, stream.events(t))
	}
	msgs := firstLines(slack.WaitFor(2, 15*time.Second))
	if len(msgs) != 2 || msgs[1] != "*Location ap is back.*" {
		t.Fatalf("Slack got %q, want the loss then the return", msgs)
	}
	// Both replicas list the same locations and agents.
	var a, b monitor.LocationsResponse
	reps[0].JSON("GET", "/locations", "", &a)
	reps[1].JSON("GET", "/locations", "", &b)
	if names(a) != names(b) || len(a.Locations) != 2 || len(a.Locations[1].Agents) != 2 {
		t.Fatalf("GET /locations differs or is wrong:\n%+v\n%+v", a, b)
	}
}

// names summarises GET /locations: each location, its state and agents.
func names(r monitor.LocationsResponse) string {
	var b strings.Builder
	for _, l := range r.Locations {
		b.WriteString(l.Name + "=" + l.State + "[")
		for _, a := range l.Agents {
			b.WriteString(a.ID + " ")
		}
		b.WriteString("] ")
	}
	return b.String()
}

// replicaMetric sums a metric of a replica's /metrics.
func replicaMetric(t *testing.T, c apptest.Client, name string) float64 {
	t.Helper()
	code, body := c.Do("GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	return promText(body).sum(name)
}

// locStream reads the location-change topic's stream on the broker.
type locStream struct {
	js   jetstream.JetStream
	name string
}

func locationStream(t *testing.T, url, prefix string) *locStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &locStream{js: js, name: prefix + "_" + monitor.TopicLocationChange}
}

// events returns every event the stream holds, in order (none before the
// stream exists).
func (s *locStream) events(t *testing.T) []monitor.LocationEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, s.name)
	if err != nil {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []monitor.LocationEvent
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream %s message %d: %v", s.name, seq, err)
		}
		var ev monitor.LocationEvent
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			t.Fatalf("stream %s message %d: %v", s.name, seq, err)
		}
		out = append(out, ev)
	}
	return out
}
