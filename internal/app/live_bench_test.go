package app

import (
	"encoding/json"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"upmon/monitor"
	"upmon/platform/pubsub/pubsubtest"
)

// BenchmarkLiveFeed measures the live feed's cost per committed check
// through a real broker (embedded NATS, or UPMON_TEST_NATS_URL): the
// publisher's encoding and sends, the broker, and one subscriber that
// decodes every check (a replica with a dashboard stream open).
// "per-check" sends one message per check, as upmon did before batching;
// "batched" is liveBatcher. It reports the process's CPU time per 1,000
// checks (cpu-ms/1k-checks) and messages per 1,000 checks.
func BenchmarkLiveFeed(b *testing.B) {
	broker := pubsubtest.Open(b)
	pubsubtest.Start(b, broker)
	nc := broker.Conn()
	rec := monitor.Recorded{SiteID: 12345, URL: "http://127.0.0.1:8080/t/12345", Up: true, State: "up",
		CheckedAt: time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC), LatencyMS: 3, StatusCode: 200}
	for _, batched := range []bool{false, true} {
		name := "per-check"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			subject := broker.Prefix() + ".bench.live." + name
			var got, msgs atomic.Int64
			sub, err := nc.Subscribe(subject, func(msg *nats.Msg) {
				msgs.Add(1)
				got.Add(int64(len(decodeLive(msg.Data))))
			})
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Unsubscribe()
			if err := sub.SetPendingLimits(-1, -1); err != nil {
				b.Fatal(err)
			}
			publish := func(v any) {
				data, err := json.Marshal(v)
				if err == nil {
					err = nc.Publish(subject, data)
				}
				if err != nil {
					b.Error(err)
				}
			}
			lb := &liveBatcher{send: func(rs []monitor.Recorded) { publish(rs) }}
			cpu0 := benchCPU(b)
			b.ResetTimer()
			for i := range b.N {
				r := rec
				r.SiteID = int64(i)
				if batched {
					lb.add(r)
				} else {
					publish(r)
				}
			}
			lb.flush()
			deadline := time.Now().Add(time.Minute)
			for got.Load() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d checks arrived", got.Load(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64((benchCPU(b)-cpu0).Microseconds())/1000/float64(b.N)*1000, "cpu-ms/1k-checks")
			b.ReportMetric(float64(msgs.Load())/float64(b.N)*1000, "msgs/1k-checks")
		})
	}
}

// benchCPU is the CPU time (user + system) the process has used.
func benchCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
