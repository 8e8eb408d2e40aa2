package pubsub_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

// waitTimeout bounds every wait for an asynchronous outcome.
const waitTimeout = 15 * time.Second

// event is the message type of most tests.
type event struct {
	Site string `json:"site"`
	Up   bool   `json:"up"`
	N    int    `json:"n"`
}

// delivery is one handler call as a test observes it.
type delivery struct {
	msg  *event
	meta pubsub.Meta
	at   time.Time
}

// recorder returns a handler that sends each delivery to the returned
// channel, and then returns the error chosen by result (nil if result is nil).
func recorder(result func(d delivery) error) (func(context.Context, *event) error, chan delivery) {
	ch := make(chan delivery, 100)
	return func(ctx context.Context, msg *event) error {
		meta, ok := pubsub.MetaFromContext(ctx)
		if !ok {
			panic("no Meta in handler context")
		}
		d := delivery{msg: msg, meta: meta, at: time.Now()}
		ch <- d
		if result != nil {
			return result(d)
		}
		return nil
	}, ch
}

// next returns the next delivery or fails the test.
func next(tb testing.TB, ch <-chan delivery) delivery {
	tb.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(waitTimeout):
		tb.Fatal("timed out waiting for a delivery")
		return delivery{}
	}
}

// ctx returns a context for one test step.
func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return c
}

// open returns a broker with a fresh metrics registry.
func open(tb testing.TB) (*pubsub.Broker, *prometheus.Registry) {
	tb.Helper()
	cfg := pubsubtest.Config(tb)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	return pubsubtest.OpenConfig(tb, cfg), reg
}

func mustTopic(tb testing.TB, b *pubsub.Broker, name string) *pubsub.Topic[*event] {
	tb.Helper()
	t, err := pubsub.NewTopic[*event](b, name, pubsub.TopicConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func mustSubscribe(tb testing.TB, t *pubsub.Topic[*event], name string, cfg pubsub.SubscriptionConfig[*event]) {
	tb.Helper()
	if _, err := pubsub.NewSubscription(t, name, cfg); err != nil {
		tb.Fatal(err)
	}
}

func mustPublish(tb testing.TB, t *pubsub.Topic[*event], ev *event) string {
	tb.Helper()
	id, err := t.Publish(ctx(tb), ev)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// waitDeadLetters polls until the broker lists n dead letters.
func waitDeadLetters(tb testing.TB, b *pubsub.Broker, n int) []pubsub.DeadLetter {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		dls, err := b.DeadLetters(ctx(tb))
		if err != nil {
			tb.Fatal(err)
		}
		if len(dls) == n {
			return dls
		}
		if time.Now().After(deadline) {
			tb.Fatalf("got %d dead letters, want %d: %+v", len(dls), n, dls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric returns the value of the named counter or gauge with the given
// label values, or -1 if absent.
func metric(tb testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// waitMetric polls until metric reports want, since counters move just after
// the outcome a test observes; it fails the test on timeout.
func waitMetric(tb testing.TB, reg *prometheus.Registry, name string, labels map[string]string, want float64) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := metric(tb, reg, name, labels)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("%s%v = %v, want %v", name, labels, got, want)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noDelivery asserts that no further delivery is waiting on ch.
func noDelivery(tb testing.TB, ch <-chan delivery) {
	tb.Helper()
	select {
	case d := <-ch:
		tb.Fatalf("unexpected delivery %+v (meta %+v)", d.msg, d.meta)
	default:
	}
}
