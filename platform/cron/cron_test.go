package cron

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestFirstRunIsAligned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 3, 14, 10, 2, 17, 0, time.UTC))
		s := New(Config{Now: clock.Now})
		rec := &recorder{now: clock.Now}
		MustJob(t, s, "check-all", JobConfig{Title: "Check all sites", Every: 5 * time.Minute, Endpoint: rec.endpoint})
		s.Start(t.Context())
		defer s.Stop()

		sleepUntil(clock, time.Date(2026, 3, 14, 10, 4, 59, 0, time.UTC))
		if got := rec.runs(); len(got) != 0 {
			t.Fatalf("runs before 10:05:00: %v", got)
		}
		sleepUntil(clock, time.Date(2026, 3, 14, 10, 20, 1, 0, time.UTC))
		want := ticks(time.Date(2026, 3, 14, 10, 5, 0, 0, time.UTC), 5*time.Minute, 4)
		if got := rec.runs(); !timesEqual(got, want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	})
}

func TestAlignmentIsUTCWhateverTheLocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// UTC+05:45: local multiples of 1h are not UTC multiples.
		loc := time.FixedZone("NPT", 5*3600+45*60)
		start := time.Date(2026, 3, 14, 10, 20, 0, 0, loc)
		clock := newClock(start)
		now := func() time.Time { return clock.Now().In(loc) }
		s := New(Config{Now: now})
		rec := &recorder{now: now}
		MustJob(t, s, "hourly", JobConfig{Every: time.Hour, Endpoint: rec.endpoint})
		s.Start(t.Context())
		defer s.Stop()

		sleepUntil(clock, start.Add(2*time.Hour))
		want := ticks(time.Date(2026, 3, 14, 5, 0, 0, 0, time.UTC), time.Hour, 2)
		got := rec.runs()
		if !timesEqual(got, want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	})
}

func TestTickSkippedWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		reg := prometheus.NewRegistry()
		s := New(Config{Now: clock.Now, Registerer: reg})
		var active, maxActive, started atomic.Int32
		MustJob(t, s, "slow", JobConfig{Every: time.Minute, Endpoint: func(ctx context.Context) error {
			started.Add(1)
			if n := active.Add(1); n > maxActive.Load() {
				maxActive.Store(n)
			}
			defer active.Add(-1)
			time.Sleep(150 * time.Second) // longer than two periods
			return nil
		}})
		s.Start(t.Context())
		defer s.Stop()

		// Runs start at 00:01 (until 00:03:30) and 00:04 (until 00:06:30);
		// ticks 00:02, 00:03, 00:05 and 00:06 are skipped.
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 6, 45, 0, time.UTC))
		if got := started.Load(); got != 2 {
			t.Errorf("runs started = %d, want 2", got)
		}
		if got := maxActive.Load(); got != 1 {
			t.Errorf("max concurrent runs = %d, want 1", got)
		}
		if got := metricValue(t, reg, "upmon_cron_skipped_total", "job", "slow", "reason", "running"); got != 4 {
			t.Errorf("skipped{running} = %v, want 4", got)
		}
		if got := metricValue(t, reg, "upmon_cron_runs_total", "job", "slow", "result", "ok"); got != 2 {
			t.Errorf("runs{ok} = %v, want 2", got)
		}
		want := float64(time.Date(2026, 1, 1, 0, 6, 30, 0, time.UTC).Unix())
		if got := metricValue(t, reg, "upmon_cron_last_run_timestamp_seconds", "job", "slow"); got != want {
			t.Errorf("last_run_timestamp = %v, want %v", got, want)
		}
	})
}

func TestNewJobValidation(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name    string
		job     string
		every   time.Duration
		nilFunc bool
		wantErr string // "" means valid
	}{
		{"5m", "check-all", 5 * time.Minute, false, ""},
		{"1s", "a", time.Second, false, ""},
		{"1.5s divides 24h", "a1", 1500 * time.Millisecond, false, ""},
		{"24h", "daily", 24 * time.Hour, false, ""},
		{"7m does not divide 24h", "check-all", 7 * time.Minute, false, "must divide 24h"},
		{"48h does not divide 24h", "check-all", 48 * time.Hour, false, "must divide 24h"},
		{"zero", "check-all", 0, false, "at least 1s"},
		{"negative", "check-all", -5 * time.Minute, false, "at least 1s"},
		{"below 1s", "check-all", 500 * time.Millisecond, false, "at least 1s"},
		{"nil endpoint", "check-all", time.Minute, true, "Endpoint is nil"},
		{"empty name", "", time.Minute, false, "1 to 63"},
		{"long name", strings.Repeat("a", 64), time.Minute, false, "1 to 63"},
		{"uppercase", "Check-all", time.Minute, false, "lowercase"},
		{"underscore", "check_all", time.Minute, false, "lowercase"},
		{"dot", "check.all", time.Minute, false, "lowercase"},
		{"leading digit", "1check", time.Minute, false, "lowercase"},
		{"leading dash", "-check", time.Minute, false, "lowercase"},
		{"trailing dash", "check-", time.Minute, false, "end with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			cfg := JobConfig{Every: tt.every, Endpoint: ok}
			if tt.nilFunc {
				cfg.Endpoint = nil
			}
			j, err := NewJob(s, tt.job, cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewJob: %v", err)
				}
				if j.Name() != tt.job || j.Every() != tt.every {
					t.Fatalf("job = %q every %v", j.Name(), j.Every())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewJob error = %v, want one containing %q", err, tt.wantErr)
			}
			if len(s.Jobs()) != 0 {
				t.Fatalf("invalid job registered")
			}
		})
	}
}

func TestJobsAndDuplicateName(t *testing.T) {
	s := New(Config{})
	ok := func(context.Context) error { return nil }
	a := MustJob(t, s, "a", JobConfig{Title: "A", Every: time.Minute, Endpoint: ok})
	b := MustJob(t, s, "b", JobConfig{Title: "B", Every: time.Hour, Endpoint: ok})
	if _, err := NewJob(s, "a", JobConfig{Every: time.Minute, Endpoint: ok}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate NewJob error = %v", err)
	}
	jobs := s.Jobs()
	if len(jobs) != 2 || jobs[0] != a || jobs[1] != b || a.Title() != "A" || b.Every() != time.Hour {
		t.Fatalf("Jobs() = %v", jobs)
	}
}

func TestSharedLocalLockerRunsEachTickOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
		clock := newClock(start)
		locker := &LocalLocker{}
		reg := prometheus.NewRegistry()
		var mu sync.Mutex
		perTick := map[int64]int{} // by Unix nanoseconds
		endpoint := func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			perTick[clock.Now().UnixNano()]++
			return nil
		}
		for range 2 {
			s := New(Config{Locker: locker, Now: clock.Now, Registerer: reg})
			MustJob(t, s, "check-all", JobConfig{Every: time.Minute, Endpoint: endpoint})
			s.Start(t.Context())
			defer s.Stop()
		}
		sleepUntil(clock, start.Add(10*time.Minute))

		mu.Lock()
		defer mu.Unlock()
		for _, tick := range ticks(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC), time.Minute, 10) {
			if n := perTick[tick.UnixNano()]; n != 1 {
				t.Errorf("tick %v ran %d times, want 1", tick.Format(time.TimeOnly), n)
			}
		}
		if len(perTick) != 10 {
			t.Errorf("ran at %d distinct times, want 10: %v", len(perTick), perTick)
		}
		// The two schedulers share the registry's collectors.
		if got := metricValue(t, reg, "upmon_cron_skipped_total", "job", "check-all", "reason", "claimed"); got != 10 {
			t.Errorf("skipped{claimed} = %v, want 10", got)
		}
		if got := metricValue(t, reg, "upmon_cron_runs_total", "job", "check-all", "result", "ok"); got != 10 {
			t.Errorf("runs{ok} = %v, want 10", got)
		}
	})
}

func TestErrorsAndPanicsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		reg := prometheus.NewRegistry()
		s := New(Config{Now: clock.Now, Registerer: reg})
		var n atomic.Int32
		MustJob(t, s, "flaky", JobConfig{Every: time.Minute, Endpoint: func(context.Context) error {
			switch n.Add(1) {
			case 1:
				return errors.New("boom")
			case 2:
				panic("kaboom")
			}
			return nil
		}})
		s.Start(t.Context())
		defer s.Stop()
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 3, 30, 0, time.UTC))
		if got := metricValue(t, reg, "upmon_cron_runs_total", "job", "flaky", "result", "error"); got != 2 {
			t.Errorf("runs{error} = %v, want 2", got)
		}
		if got := metricValue(t, reg, "upmon_cron_runs_total", "job", "flaky", "result", "ok"); got != 1 {
			t.Errorf("runs{ok} = %v, want 1", got)
		}
	})
}

// failingLocker fails every claim.
type failingLocker struct{}

func (failingLocker) Claim(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("lock store unavailable")
}

func TestLockErrorSkipsTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		reg := prometheus.NewRegistry()
		s := New(Config{Locker: failingLocker{}, Now: clock.Now, Registerer: reg})
		rec := &recorder{now: clock.Now}
		MustJob(t, s, "check-all", JobConfig{Every: time.Minute, Endpoint: rec.endpoint})
		s.Start(t.Context())
		defer s.Stop()
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 3, 30, 0, time.UTC))
		if got := rec.runs(); len(got) != 0 {
			t.Errorf("ran at %v despite lock errors", got)
		}
		if got := metricValue(t, reg, "upmon_cron_skipped_total", "job", "check-all", "reason", "lock_error"); got != 3 {
			t.Errorf("skipped{lock_error} = %v, want 3", got)
		}
	})
}

func TestForwardClockJumpFiresOnceAndRealigns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		s := New(Config{Now: clock.Now})
		rec := &recorder{now: clock.Now}
		MustJob(t, s, "check-all", JobConfig{Every: 5 * time.Minute, Endpoint: rec.endpoint})
		s.Start(t.Context())
		defer s.Stop()

		sleepUntil(clock, time.Date(2026, 1, 1, 0, 6, 0, 0, time.UTC)) // ran at 00:05
		clock.jump(3 * time.Hour)                                      // now 03:06, 36 ticks missed
		synctest.Wait()
		// Noticed within a minute: one run for the latest tick, 03:05, whose
		// clock reads 03:06-03:07; then aligned runs again.
		sleepUntil(clock, time.Date(2026, 1, 1, 3, 16, 0, 0, time.UTC))
		got := rec.runs()
		if len(got) != 4 {
			t.Fatalf("runs = %v, want 4 (00:05, one catch-up, 03:10, 03:15)", got)
		}
		if d := got[1].Sub(time.Date(2026, 1, 1, 3, 6, 0, 0, time.UTC)); d < 0 || d > time.Minute {
			t.Errorf("catch-up run at %v, want within a minute of the jump", got[1])
		}
		want := ticks(time.Date(2026, 1, 1, 3, 10, 0, 0, time.UTC), 5*time.Minute, 2)
		if !timesEqual(got[2:], want) {
			t.Errorf("runs after catch-up = %v, want %v", got[2:], want)
		}
	})
}

func TestBackwardClockJumpRealigns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC))
		s := New(Config{Now: clock.Now})
		rec := &recorder{now: clock.Now}
		MustJob(t, s, "check-all", JobConfig{Every: 5 * time.Minute, Endpoint: rec.endpoint})
		s.Start(t.Context())
		defer s.Stop()

		sleepUntil(clock, time.Date(2026, 1, 1, 3, 6, 0, 0, time.UTC)) // ran at 03:05
		clock.jump(-time.Hour)                                         // now 02:06
		synctest.Wait()
		sleepUntil(clock, time.Date(2026, 1, 1, 2, 21, 0, 0, time.UTC))
		want := []time.Time{
			time.Date(2026, 1, 1, 3, 5, 0, 0, time.UTC),
			time.Date(2026, 1, 1, 2, 10, 0, 0, time.UTC),
			time.Date(2026, 1, 1, 2, 15, 0, 0, time.UTC),
			time.Date(2026, 1, 1, 2, 20, 0, 0, time.UTC),
		}
		if got := rec.runs(); !timesEqual(got, want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	})
}

func TestStopCancelsAndWaitsForRunningEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		s := New(Config{Now: clock.Now})
		var running, returned atomic.Bool
		MustJob(t, s, "wait", JobConfig{Every: time.Minute, Endpoint: func(ctx context.Context) error {
			running.Store(true)
			<-ctx.Done()
			time.Sleep(time.Second) // some clean-up after cancellation
			returned.Store(true)
			return ctx.Err()
		}})
		s.Start(t.Context())
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 1, 30, 0, time.UTC))
		if !running.Load() {
			t.Fatal("endpoint not running")
		}
		s.Stop()
		if !returned.Load() {
			t.Fatal("Stop returned before the endpoint")
		}
		s.Stop() // idempotent
	})
}

func TestRestartAndJobAddedWhileStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		s := New(Config{Now: clock.Now})
		s.Start(t.Context())
		s.Start(t.Context()) // no-op
		rec := &recorder{now: clock.Now}
		MustJob(t, s, "late", JobConfig{Every: time.Minute, Endpoint: rec.endpoint})
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 1, 30, 0, time.UTC))
		s.Stop()
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 3, 30, 0, time.UTC))
		s.Start(t.Context())
		defer s.Stop()
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 4, 30, 0, time.UTC))
		want := []time.Time{
			time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC),
			time.Date(2026, 1, 1, 0, 4, 0, 0, time.UTC),
		}
		if got := rec.runs(); !timesEqual(got, want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	})
}

func TestParentContextCancelStopsJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		s := New(Config{Now: clock.Now})
		rec := &recorder{now: clock.Now}
		MustJob(t, s, "check-all", JobConfig{Every: time.Minute, Endpoint: rec.endpoint})
		ctx, cancel := context.WithCancel(t.Context())
		s.Start(ctx)
		defer s.Stop()
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 1, 30, 0, time.UTC))
		cancel()
		sleepUntil(clock, time.Date(2026, 1, 1, 0, 5, 30, 0, time.UTC))
		if got := rec.runs(); len(got) != 1 {
			t.Fatalf("runs = %v, want 1", got)
		}
	})
}

// A run that hangs (a database call on a dead connection) is cut off at
// its timeout, by default one period, so the next tick runs.
func TestRunIsBoundedByTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration // how long a hanging run lasts
	}{
		{"default is one period", 0, time.Minute},
		{"explicit", 10 * time.Second, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				clock := newClock(start)
				s := New(Config{Now: clock.Now})
				var (
					mu    sync.Mutex
					lasts []time.Duration
					errs  []error
				)
				MustJob(t, s, "hang", JobConfig{Every: time.Minute, Timeout: tc.timeout, Endpoint: func(ctx context.Context) error {
					began := clock.Now()
					<-ctx.Done()
					mu.Lock()
					lasts = append(lasts, clock.Now().Sub(began))
					errs = append(errs, ctx.Err())
					mu.Unlock()
					return ctx.Err()
				}})
				s.Start(t.Context())
				defer s.Stop()
				sleepUntil(clock, start.Add(4*time.Minute+30*time.Second))
				mu.Lock()
				defer mu.Unlock()
				if len(lasts) < 2 {
					t.Fatalf("%d runs ended by 00:04:30, want at least two runs cut off", len(lasts))
				}
				for i, d := range lasts {
					if d != tc.want || !errors.Is(errs[i], context.DeadlineExceeded) {
						t.Errorf("run %d lasted %v (%v), want %v and a deadline", i, d, errs[i], tc.want)
					}
				}
			})
		})
	}
}
