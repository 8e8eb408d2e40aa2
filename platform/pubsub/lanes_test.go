package pubsub_test

import (
	"strconv"
	"testing"
	"time"

	"upmon/platform/pubsub"
)

// keyed is an ordering key per site.
func keyed(ev *event) string { return ev.Site }

// TestQueuedMessagesKeptAlive holds messages in one key's lane behind a
// handler that takes several ack waits: neither the running message nor
// the queued ones are redelivered, and they are handled once each, in
// order.
func TestQueuedMessagesKeptAlive(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "slow")
	release := make(chan struct{})
	h, got := recorder(func(d delivery) error {
		if d.msg.N == 0 {
			<-release // ignores its context: longer than the ack wait
		}
		return nil
	})
	// Ack wait = 100ms + 1s.
	const deadline = 100 * time.Millisecond
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h, AckDeadline: deadline, OrderingKey: keyed})
	if err := b.Start(ctx(t)); err != nil {
		t.Fatal(err)
	}
	const n = 4
	for i := range n {
		mustPublish(t, topic, &event{Site: "a", N: i})
	}
	if d := next(t, got); d.msg.N != 0 {
		t.Fatalf("first delivery %+v", d.msg)
	}
	labels := map[string]string{"topic": "slow", "subscription": "sub"}
	// Three ack waits pass with the lane blocked; the broker would have
	// redelivered the queued messages (and counted it) after the first.
	wait := time.NewTimer(3*(deadline+time.Second) + 300*time.Millisecond)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
waiting:
	for {
		select {
		case <-wait.C:
			break waiting
		case <-poll.C:
			if r := metric(t, reg, "upmon_pubsub_redelivered_total", labels); r != 0 {
				close(release)
				t.Fatalf("upmon_pubsub_redelivered_total = %v while the lane was blocked, want 0", r)
			}
		case d := <-got:
			close(release)
			t.Fatalf("delivery %+v (attempt %d) while the lane was blocked", d.msg, d.meta.Attempt)
		}
	}
	close(release)
	for i := 1; i < n; i++ {
		d := next(t, got)
		if d.msg.N != i || d.meta.Attempt != 1 {
			t.Errorf("delivery %d: N=%d attempt %d, want N=%d attempt 1", i, d.msg.N, d.meta.Attempt, i)
		}
	}
	waitMetric(t, reg, "upmon_pubsub_delivered_total", labels, n)
	if r := metric(t, reg, "upmon_pubsub_redelivered_total", labels); r != 0 {
		t.Errorf("upmon_pubsub_redelivered_total = %v, want 0", r)
	}
	noDelivery(t, got)
}

// TestBusyKeyDoesNotBlockOthers fills one key's lane while its handler is
// blocked: messages of other keys are still handled at once.
func TestBusyKeyDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	b, _ := open(t)
	topic := mustTopic(t, b, "busy")
	release := make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	h, got := recorder(func(d delivery) error {
		if d.msg.Site == "busy" {
			<-release
		}
		return nil
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h, MaxConcurrency: 2, OrderingKey: keyed})
	if err := b.Start(ctx(t)); err != nil {
		t.Fatal(err)
	}
	const busy = 6
	for i := range busy {
		mustPublish(t, topic, &event{Site: "busy", N: i})
	}
	if d := next(t, got); d.msg.Site != "busy" || d.msg.N != 0 {
		t.Fatalf("first delivery %+v", d.msg)
	}
	for i := range 3 {
		site := "other-" + strconv.Itoa(i)
		mustPublish(t, topic, &event{Site: site, N: 100 + i})
		if d := next(t, got); d.msg.Site != site {
			t.Fatalf("got %+v while waiting for %s behind the busy key", d.msg, site)
		}
	}
	close(release)
	seen := map[int]int{}
	for range busy - 1 {
		d := next(t, got)
		if d.msg.Site != "busy" {
			t.Fatalf("unexpected %+v", d.msg)
		}
		// Released from the full lane, not failed: still the first attempt.
		if d.meta.Attempt != 1 {
			t.Errorf("busy message %d handled at attempt %d, want 1", d.msg.N, d.meta.Attempt)
		}
		seen[d.msg.N]++
	}
	for i := 1; i < busy; i++ {
		if seen[i] != 1 {
			t.Errorf("busy message %d handled %d times", i, seen[i])
		}
	}
}
