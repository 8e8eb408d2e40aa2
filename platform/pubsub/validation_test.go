package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

func TestPublishValidation(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "validation")
	pubsubtest.Start(t, b)
	if err := topic.PublishRaw(ctx(t), "x", []byte(`{not json`)); err == nil {
		t.Error("PublishRaw of invalid JSON succeeded")
	}
	if err := topic.PublishWithID(ctx(t), "", &event{}); err == nil {
		t.Error("PublishWithID with empty id succeeded")
	}
}

func TestNewTopicAndSubscriptionValidation(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	for _, name := range []string{"", "Upper", "has.dot", "-lead", "under_score", "white space", "x*", "a>"} {
		if _, err := pubsub.NewTopic[event](b, name, pubsub.TopicConfig{}); err == nil {
			t.Errorf("NewTopic(%q) succeeded", name)
		}
	}
	if _, err := pubsub.NewTopic[event](b, "window", pubsub.TopicConfig{MaxAge: time.Minute, DuplicateWindow: time.Hour}); err == nil {
		t.Error("DuplicateWindow above MaxAge accepted")
	}
	topic := mustTopic(t, b, "valid-1")
	if _, err := pubsub.NewTopic[*event](b, "valid-1", pubsub.TopicConfig{}); err == nil {
		t.Error("duplicate topic accepted")
	}
	ok := func(context.Context, *event) error { return nil }
	for name, cfg := range map[string]pubsub.SubscriptionConfig[*event]{
		"nil-handler": {},
		"bad-retry":   {Handler: ok, RetryPolicy: pubsub.RetryPolicy{MinBackoff: time.Hour, MaxBackoff: time.Second}},
		"neg":         {Handler: ok, MaxConcurrency: -1},
		"Bad.Name":    {Handler: ok},
	} {
		if _, err := pubsub.NewSubscription(topic, name, cfg); err == nil {
			t.Errorf("NewSubscription(%q) succeeded", name)
		}
	}
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: ok})
	if _, err := pubsub.NewSubscription(topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: ok}); err == nil {
		t.Error("duplicate subscription accepted")
	}
}

func TestStartRejectsInvalidConfiguration(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	// Another stream already owns the topic's subject: NATS refuses to
	// create the topic's stream, and Start must say so.
	_, err := b.JetStream().CreateStream(ctx(t), jetstream.StreamConfig{
		Name:     b.Prefix() + "_squatter",
		Subjects: []string{b.Prefix() + ".taken"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustTopic(t, b, "taken")
	if err := b.Start(ctx(t)); err == nil {
		t.Fatal("Start succeeded with an overlapping stream")
	}
}

func TestOpenRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]pubsub.Config{
		"no data dir": {},
		"bad prefix":  {DataDir: t.TempDir(), Prefix: "a.b"},
		"replicas":    {URL: "nats://127.0.0.1:1", Replicas: -1},
		"backoff":     {DataDir: t.TempDir(), Retry: pubsub.RetryPolicy{MinBackoff: time.Hour, MaxBackoff: time.Minute}},
		"deadline":    {DataDir: t.TempDir(), AckDeadline: -time.Second},
	} {
		if b, err := pubsub.Open(context.Background(), cfg); err == nil {
			b.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestUnitHelpers(t *testing.T) {
	t.Parallel()
	p := pubsub.RetryPolicy{MinBackoff: 10 * time.Second, MaxBackoff: 10 * time.Minute, MaxAttempts: 100}
	for attempt, want := range map[int]time.Duration{
		1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 6: 320 * time.Second, 7: 10 * time.Minute, 99: 10 * time.Minute,
	} {
		if got := pubsub.Backoff(p, attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	for range 100 {
		if d := pubsub.Jitter(time.Second); d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %v", d)
		}
	}
	if pubsub.Permanent(nil) != nil || pubsub.RetryAfter(nil, time.Second) != nil {
		t.Error("wrapping nil must give nil")
	}
	base := errors.New("base")
	perm := fmt.Errorf("wrapped: %w", pubsub.Permanent(base))
	if !pubsub.IsPermanent(perm) || !errors.Is(perm, base) || perm.Error() != "wrapped: base" {
		t.Errorf("Permanent wrapping broken: %v", perm)
	}
	if pubsub.IsPermanent(pubsub.RetryAfter(base, time.Second)) || !errors.Is(pubsub.RetryAfter(base, time.Second), base) {
		t.Error("RetryAfter wrapping broken")
	}
	if _, ok := pubsub.MetaFromContext(context.Background()); ok {
		t.Error("Meta outside a handler")
	}
}
