package cron

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// MustEmbeddedNATS starts an in-process NATS server with JetStream and
// returns a function that opens a new connection to it. The server stops at
// the end of the test.
func MustEmbeddedNATS(tb testing.TB) func(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	ns, err := server.NewServer(&server.Options{
		DontListen: true,
		JetStream:  true,
		StoreDir:   tb.TempDir(),
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		tb.Fatalf("nats server: %v", err)
	}
	go ns.Start()
	tb.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats server not ready")
	}
	return func(tb testing.TB) jetstream.JetStream {
		return mustJetStream(tb, "", nats.InProcessServer(ns))
	}
}

// MustExternalNATS returns a function that opens a new connection to the
// NATS server at UPMON_TEST_NATS_URL, or skips the test if it is not set.
func MustExternalNATS(tb testing.TB) func(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	url := os.Getenv("UPMON_TEST_NATS_URL")
	if url == "" {
		tb.Skip("UPMON_TEST_NATS_URL is not set; skipping the test against an external NATS server")
	}
	return func(tb testing.TB) jetstream.JetStream {
		return mustJetStream(tb, url)
	}
}

func mustJetStream(tb testing.TB, url string, opts ...nats.Option) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatalf("nats connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return js
}

// uniqueBucket returns a fresh bucket name and deletes the bucket at the end
// of the test (through js, whose connection must outlive the cleanup).
func uniqueBucket(tb testing.TB, js jetstream.JetStream) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "upmon_cron_test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteKeyValue(ctx, name); err != nil {
			tb.Errorf("deleting bucket %s: %v", name, err)
		}
	})
	return name
}

func testNATSLocker(t *testing.T, connect func(testing.TB) jetstream.JetStream) {
	ctx := t.Context()
	// Two replicas: separate connections, same bucket. The first creates it.
	js1, js2 := connect(t), connect(t)
	bucket := uniqueBucket(t, js1) // registered after js1's Close, so it runs first
	l1, err := NewNATSLocker(js1, bucket)
	if err != nil {
		t.Fatalf("NewNATSLocker: %v", err)
	}
	l2, err := NewNATSLocker(js2, bucket)
	if err != nil {
		t.Fatalf("NewNATSLocker on an existing bucket: %v", err)
	}

	tick := time.Date(2026, 3, 14, 10, 5, 0, 0, time.UTC)
	t.Run("two claims of one tick", func(t *testing.T) {
		var wg sync.WaitGroup
		var wins atomic.Int32
		for _, l := range []*NATSLocker{l1, l2} {
			wg.Go(func() {
				ok, err := l.Claim(ctx, "check-all", tick)
				if err != nil {
					t.Errorf("Claim: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d claims won, want exactly 1", got)
		}
	})
	t.Run("many concurrent claims", func(t *testing.T) {
		tick := tick.Add(5 * time.Minute)
		var wg sync.WaitGroup
		var wins atomic.Int32
		for i := range 16 {
			l := []*NATSLocker{l1, l2}[i%2]
			wg.Go(func() {
				ok, err := l.Claim(ctx, "check-all", tick)
				if err != nil {
					t.Errorf("Claim: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d claims won, want exactly 1", got)
		}
	})
	t.Run("other job or tick is independent", func(t *testing.T) {
		for _, c := range []struct {
			job  string
			tick time.Time
		}{
			{"other-job", tick},
			{"check-all", tick.Add(time.Minute)},
			{"check-all", tick.Add(1500 * time.Millisecond)},
		} {
			ok, err := l2.Claim(ctx, c.job, c.tick)
			if err != nil || !ok {
				t.Errorf("Claim(%s, %v) = %v, %v; want true", c.job, c.tick, ok, err)
			}
		}
	})
}

func TestNATSLockerEmbedded(t *testing.T) {
	testNATSLocker(t, MustEmbeddedNATS(t))
}

func TestNATSLockerExternal(t *testing.T) {
	testNATSLocker(t, MustExternalNATS(t))
}

// grantLog wraps a Locker and counts the claims it grants per tick
// identity (job and tick instant), whenever the claim happens.
type grantLog struct {
	Locker
	mu      *sync.Mutex
	granted map[string]int
}

func (g grantLog) Claim(ctx context.Context, job string, tick time.Time) (bool, error) {
	ok, err := g.Locker.Claim(ctx, job, tick)
	if ok {
		g.mu.Lock()
		g.granted[job+"@"+tick.UTC().Format(time.RFC3339Nano)]++
		g.mu.Unlock()
	}
	return ok, err
}

// TestSchedulersShareNATSLocker runs two schedulers (two replicas) on real
// time with a one-second job and checks that each tick, by its identity,
// was granted once in total and ran once per grant, also when a replica
// claims an old tick late (as a replica that stalled would).
func TestSchedulersShareNATSLocker(t *testing.T) {
	connect := MustEmbeddedNATS(t)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	granted := map[string]int{}
	var runs atomic.Int32
	ran := make(chan struct{}, 100)
	var bucket string
	var lockers []grantLog
	var scheds []*Scheduler
	for i := range 2 {
		js := connect(t)
		if i == 0 {
			bucket = uniqueBucket(t, js)
		}
		l, err := NewNATSLocker(js, bucket)
		if err != nil {
			t.Fatalf("NewNATSLocker: %v", err)
		}
		g := grantLog{Locker: l, mu: &mu, granted: granted}
		lockers = append(lockers, g)
		s := New(Config{Locker: g, Registerer: reg})
		MustJob(t, s, "tick", JobConfig{Every: time.Second, Endpoint: func(context.Context) error {
			runs.Add(1)
			ran <- struct{}{}
			return nil
		}})
		s.Start(t.Context())
		defer s.Stop()
		scheds = append(scheds, s)
	}
	for range 3 {
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("timed out waiting for runs")
		}
	}
	// Late duplicates: both replicas claim every tick already run again.
	mu.Lock()
	var done []string
	for k := range granted {
		done = append(done, k)
	}
	mu.Unlock()
	for _, k := range done {
		tick, err := time.Parse(time.RFC3339Nano, k[len("tick@"):])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lockers {
			if _, err := l.Claim(t.Context(), "tick", tick); err != nil {
				t.Errorf("late claim of %s: %v", k, err)
			}
		}
	}
	// Stopping waits for the runs in progress. A claim granted while Stop
	// cancels the scheduler is not run (one per scheduler at most).
	for _, s := range scheds {
		s.Stop()
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for k, n := range granted {
		total += n
		if n != 1 {
			t.Errorf("%s granted %d times, want 1", k, n)
		}
	}
	if got := int(runs.Load()); got > total || got < total-len(scheds) {
		t.Errorf("%d runs for %d granted ticks, want one run per grant", got, total)
	}
}
