package cron

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLastClaimNamesTheReplica: two replicas share a NATS bucket; each sees
// which of them claimed the newest tick of a job.
func TestLastClaimNamesTheReplica(t *testing.T) {
	connect := MustEmbeddedNATS(t)
	js1, js2 := connect(t), connect(t)
	bucket := uniqueBucket(t, js1)
	a, err := NewNATSLocker(js1, bucket)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNATSLocker(js2, bucket)
	if err != nil {
		t.Fatal(err)
	}
	a.SetHolder("replica-a")
	b.SetHolder("replica-b")
	ctx := t.Context()

	if _, _, ok, err := b.LastClaim(ctx, "check-all"); ok || err != nil {
		t.Fatalf("LastClaim before any claim: ok %v, err %v", ok, err)
	}
	tick := time.Date(2026, 3, 14, 10, 5, 0, 0, time.UTC)
	for i, l := range []*NATSLocker{a, b, a} {
		if ok, err := l.Claim(ctx, "check-all", tick.Add(time.Duration(i)*5*time.Minute)); !ok || err != nil {
			t.Fatalf("Claim %d: %v %v", i, ok, err)
		}
	}
	if ok, err := b.Claim(ctx, "prune-history", tick.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("Claim prune-history: %v %v", ok, err)
	}
	for _, l := range []*NATSLocker{a, b} {
		got, who, ok, err := l.LastClaim(ctx, "check-all")
		if err != nil || !ok || !got.Equal(tick.Add(10*time.Minute)) || who != "replica-a" {
			t.Errorf("LastClaim: %v %q %v %v; want %v by replica-a", got, who, ok, err, tick.Add(10*time.Minute))
		}
	}
}

// TestStatusReportsRunsAndNextTick: a job run in this process shows as the
// last tick, run by this replica, with its error; the next run is the next
// multiple of the period.
func TestStatusReportsRunsAndNextTick(t *testing.T) {
	now := time.Date(2026, 3, 14, 10, 7, 30, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	j := MustJob(t, s, "check-all", JobConfig{Every: 5 * time.Minute, Service: "monitor",
		Endpoint: func(context.Context) error { return errors.New("boom") }})
	st := s.Status(t.Context(), "me")
	if len(st) != 1 || !st[0].LastTick.IsZero() || !st[0].NextRun.Equal(now.Truncate(5*time.Minute).Add(5*time.Minute)) ||
		st[0].Service != "monitor" {
		t.Fatalf("before a run: %+v", st)
	}
	j.run(t.Context(), now.Truncate(5*time.Minute))
	st = s.Status(t.Context(), "me")
	if !st[0].LastTick.Equal(now.Truncate(5*time.Minute)) || st[0].LastReplica != "me" || st[0].LastError != "boom" {
		t.Fatalf("after a failed run: %+v", st[0])
	}
}
