package pubsub_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

// startNATS runs a nats-server with JetStream on a loopback port, standing in
// for an external NATS that the test can stop and restart.
func startNATS(tb testing.TB, port int, storeDir string) *server.Server {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  storeDir,
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	tb.Cleanup(srv.Shutdown)
	return srv
}

// TestExternalOutageAndRecovery stops the "external" NATS under a running
// broker and starts it again, once with its data and once without (as if a
// memory-only server restarted): consuming resumes without a restart of the
// broker, Health and Publish report the outage meanwhile.
func TestExternalOutageAndRecovery(t *testing.T) {
	t.Parallel()
	for _, keepData := range []bool{true, false} {
		t.Run("keepData="+strconv.FormatBool(keepData), func(t *testing.T) {
			t.Parallel()
			store := t.TempDir()
			srv := startNATS(t, -1, store)
			port := srv.Addr().(*net.TCPAddr).Port

			cfg := pubsubtest.Config(t)
			cfg.URL, cfg.DataDir = "nats://127.0.0.1:"+strconv.Itoa(port), ""
			b := pubsubtest.OpenConfig(t, cfg)
			topic := mustTopic(t, b, "outage")
			h, got := recorder(nil)
			mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
			pubsubtest.Start(t, b)
			id := mustPublish(t, topic, &event{N: 1})
			if d := next(t, got); d.meta.ID != id {
				t.Fatalf("got %s, want %s", d.meta.ID, id)
			}

			srv.Shutdown()
			srv.WaitForShutdown()
			deadline := time.Now().Add(waitTimeout)
			for b.Conn().IsConnected() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := b.Health(ctx(t)); err == nil {
				t.Error("Health = nil while NATS is down")
			}
			short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			_, err := topic.Publish(short, &event{})
			cancel()
			if err == nil {
				t.Error("Publish succeeded while NATS is down")
			}

			if !keepData {
				store = t.TempDir()
			}
			startNATS(t, port, store)
			deadline = time.Now().Add(waitTimeout)
			for b.Health(ctx(t)) != nil {
				if time.Now().After(deadline) {
					t.Fatalf("Health after recovery = %v", b.Health(ctx(t)))
				}
				time.Sleep(20 * time.Millisecond)
			}
			// Like the outbox relay: publish until it succeeds. Without its
			// data the server has no consumer until the consume loop
			// re-creates it, so keep publishing until one arrives.
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				if _, err := topic.Publish(ctx(t), &event{N: 2}); err != nil {
					t.Logf("publish after recovery: %v", err)
				}
				select {
				case d := <-got:
					if d.msg.N != 2 {
						t.Errorf("got %+v after recovery", d.msg)
					}
					return
				case <-tick.C:
				case <-time.After(time.Until(deadline)):
					t.Fatal("no delivery after NATS came back")
				}
			}
		})
	}
}

// TestUnreachableExternalNATS checks that an unreachable NATS does not stop
// the program from starting, and is reported.
func TestUnreachableExternalNATS(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now

	cfg := pubsubtest.Config(t)
	cfg.URL, cfg.DataDir = "nats://127.0.0.1:"+strconv.Itoa(port), ""
	b := pubsubtest.OpenConfig(t, cfg)
	topic := mustTopic(t, b, "nowhere")
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: func(context.Context, *event) error { return nil }})
	if err := b.Start(ctx(t)); err != nil {
		t.Fatalf("Start = %v, want nil (retrying in the background)", err)
	}
	if err := b.Health(ctx(t)); err == nil {
		t.Error("Health = nil without NATS")
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := topic.Publish(short, &event{}); err == nil {
		t.Error("Publish succeeded without NATS")
	}
	if _, err := b.DeadLetters(short); err == nil || errors.Is(err, pubsub.ErrNotFound) {
		t.Errorf("DeadLetters = %v without NATS", err)
	}
}

// TestNATSAppearsAfterStart starts the broker while its external NATS is not
// yet up: Start returns nil, and once NATS appears the background
// provisioning and the consume loop get everything working.
func TestNATSAppearsAfterStart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	cfg := pubsubtest.Config(t)
	cfg.URL, cfg.DataDir = "nats://127.0.0.1:"+strconv.Itoa(port), ""
	b := pubsubtest.OpenConfig(t, cfg)
	topic := mustTopic(t, b, "late-nats")
	h, got := recorder(nil)
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	if err := b.Start(ctx(t)); err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	if err := b.Health(ctx(t)); err == nil {
		t.Fatal("Health = nil before NATS is up")
	}

	startNATS(t, port, t.TempDir())
	deadline := time.Now().Add(waitTimeout)
	for {
		err := b.Health(ctx(t))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Health = %v after NATS came up", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Health is nil once the streams and the dead-letter bucket exist; the
	// consumer may still be on its way, so publish until one arrives.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := topic.Publish(ctx(t), &event{N: 1}); err != nil {
			t.Fatalf("Publish = %v", err)
		}
		select {
		case <-got:
			dls, err := b.DeadLetters(ctx(t))
			if err != nil || len(dls) != 0 {
				t.Errorf("DeadLetters = %v, %v", dls, err)
			}
			return
		case <-tick.C:
		case <-time.After(time.Until(deadline)):
			t.Fatal("no delivery after NATS came up")
		}
	}
}
