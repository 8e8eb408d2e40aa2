package stall

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// hang waits for its context, as a call on a dead connection does.
func hang(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestWatchReportsCallsCutOffByTheDeadline(t *testing.T) {
	reg := prometheus.NewRegistry()
	set := NewSet(20*time.Millisecond, reg)
	w := set.Watch("scheduler")
	if set.Watch("scheduler") != w {
		t.Fatal("a component has two watches")
	}
	errDB := errors.New("connection refused")
	steps := []struct {
		name    string
		parent  func() context.Context
		fn      func(context.Context) error
		stalled bool
	}{
		{"ok", context.Background, func(context.Context) error { return nil }, false},
		{"hangs", context.Background, hang, true},
		{"another error clears it", context.Background, func(context.Context) error { return errDB }, false},
		{"hangs again", context.Background, hang, true},
		{"cancelled by shutdown: unchanged", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, hang, true},
		{"answers", context.Background, func(context.Context) error { return nil }, false},
	}
	for _, st := range steps {
		_ = w.Do(st.parent(), st.fn)
		if w.Stalled() != st.stalled {
			t.Fatalf("after %q: stalled %v, want %v", st.name, w.Stalled(), st.stalled)
		}
	}
	if got := counter(t, reg, "scheduler"); got != 2 {
		t.Fatalf("upmon_db_stalls_total = %v, want 2", got)
	}
	_ = w.Do(context.Background(), hang)
	if fmt.Sprint(set.Stalled(), set.Components()) != "[scheduler] [scheduler]" {
		t.Fatalf("Stalled %v, Components %v", set.Stalled(), set.Components())
	}
}

func TestNilWatchStillBoundsCalls(t *testing.T) {
	var w *Watch
	ctx, cancel := w.Context(context.Background())
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("a nil watch gave no deadline")
	}
	if err := w.Do(context.Background(), func(context.Context) error { return nil }); err != nil || w.Stalled() {
		t.Fatalf("nil watch: %v, stalled %v", err, w.Stalled())
	}
}

func counter(t *testing.T, reg *prometheus.Registry, component string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "upmon_db_stalls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == component {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}
