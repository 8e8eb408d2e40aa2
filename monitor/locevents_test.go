package monitor

import (
	"testing"
	"time"
)

func TestLocationLostAndBackEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: t0}
	s, _ := openRecorder(t, Options{Now: clock.Now, Heartbeat: time.Second})
	s.Heartbeat("eu", "eu-1", t0)
	s.Heartbeat("us", "us-1", t0)
	events := func() []LocationEvent { return outboxEvents[LocationEvent](t, s, TopicLocationChange) }

	s.publishLocationChanges(t.Context(), t0.Add(3*time.Second)) // 3 missed is still live
	if ev := events(); len(ev) != 0 {
		t.Fatalf("within 3 heartbeats: %+v", ev)
	}
	s.Heartbeat("us", "us-1", t0.Add(3*time.Second))
	s.publishLocationChanges(t.Context(), t0.Add(3*time.Second+time.Millisecond))
	s.publishLocationChanges(t.Context(), t0.Add(4*time.Second)) // once only
	ev := events()
	if len(ev) != 1 || ev[0].Type != EventLocationLost || ev[0].Location != "eu" || ev[0].Available {
		t.Fatalf("eu silent for 3 heartbeats: %+v, want one location-lost", ev)
	}
	if l := s.locs.list(t0.Add(4 * time.Second)); len(l) != 3 || l[1].Name != "eu" || l[1].State != LocationUnavailable || l[2].State != LocationLive {
		t.Fatalf("GET /locations = %+v", l)
	}
	s.Heartbeat("eu", "eu-2", t0.Add(5*time.Second)) // a new agent
	s.publishLocationChanges(t.Context(), t0.Add(5*time.Second))
	ev = events()
	if len(ev) != 2 || ev[1].Type != EventLocationBack || ev[1].Location != "eu" || !ev[1].Available {
		t.Fatalf("eu back: %+v, want one location-back", ev)
	}
}
