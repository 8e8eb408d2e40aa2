// Package pubsubtest opens pubsub brokers for tests: on an embedded NATS in a
// temporary directory, or on the external NATS named by UPMON_TEST_NATS_URL,
// always under a unique prefix so that parallel tests never see each other's
// messages.
package pubsubtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"upmon/platform/pubsub"
)

// EnvURL is the environment variable that, when set, points tests at an
// external NATS server with JetStream instead of an embedded one.
const EnvURL = "UPMON_TEST_NATS_URL"

// External reports whether tests run against an external NATS (EnvURL set).
func External() bool { return os.Getenv(EnvURL) != "" }

// Config returns a broker configuration for one test: a unique Prefix,
// short retries (20ms doubling to 200ms, 5 attempts), a 10s ack deadline and
// a logger writing to tb. It uses the external NATS named by EnvURL if set,
// deleting the prefix's streams and buckets when the test ends, and
// otherwise an embedded server in tb.TempDir().
func Config(tb testing.TB) pubsub.Config {
	tb.Helper()
	var raw [6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		tb.Fatalf("pubsubtest: random prefix: %v", err)
	}
	prefix := "t" + hex.EncodeToString(raw[:])
	cfg := pubsub.Config{
		Prefix:      prefix,
		Retry:       pubsub.RetryPolicy{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 5},
		AckDeadline: 10 * time.Second,
		Logger:      Logger(tb),
	}
	if url := os.Getenv(EnvURL); url != "" {
		cfg.URL = url
		// Registered before any broker is opened, so it runs after they
		// are all closed: a running consumer would re-create its stream.
		tb.Cleanup(func() { deletePrefix(tb, url, prefix) })
	} else {
		cfg.DataDir = tb.TempDir()
	}
	return cfg
}

// Open opens a broker with Config(tb) and closes it when the test ends. The
// caller declares topics and subscriptions, then calls Start (or b.Start).
func Open(tb testing.TB) *pubsub.Broker {
	tb.Helper()
	return OpenConfig(tb, Config(tb))
}

// OpenConfig opens a broker with cfg and closes it when the test ends. Two
// brokers opened with the same cfg on an external NATS act as two replicas
// of one installation.
func OpenConfig(tb testing.TB, cfg pubsub.Config) *pubsub.Broker {
	tb.Helper()
	b, err := pubsub.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("pubsubtest: open broker: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("pubsubtest: close broker: %v", err)
		}
	})
	return b
}

// Start starts b, failing the test on error.
func Start(tb testing.TB, b *pubsub.Broker) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		tb.Fatalf("pubsubtest: start broker: %v", err)
	}
}

// deletePrefix deletes the streams (and so consumers) and KV buckets whose
// names carry prefix, following the naming of package pubsub.
func deletePrefix(tb testing.TB, url, prefix string) {
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		tb.Logf("pubsubtest: cleanup: connect: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Logf("pubsubtest: cleanup: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var doomed []string
	for name := range names.Name() {
		if strings.HasPrefix(name, prefix+"_") || strings.HasPrefix(name, "KV_"+prefix+"_") {
			doomed = append(doomed, name)
		}
	}
	if err := names.Err(); err != nil {
		tb.Logf("pubsubtest: cleanup: list streams: %v", err)
	}
	for _, name := range doomed {
		if err := js.DeleteStream(ctx, name); err != nil {
			tb.Logf("pubsubtest: cleanup: delete stream %s: %v", name, err)
		}
	}
}

// Logger returns a logger that writes Info and above to tb.Log until the
// test's cleanup ends, and then discards.
func Logger(tb testing.TB) *slog.Logger {
	w := &tbWriter{tb: tb}
	tb.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tbWriter struct {
	mu   sync.Mutex
	tb   testing.TB
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
