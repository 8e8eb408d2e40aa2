package cron

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxNameLen bounds a job name (it is a metric label and part of a lock key).
	maxNameLen = 63
	// maxWait bounds one timer sleep, so that a wall-clock change is noticed
	// within a minute.
	maxWait = time.Minute
	// maxClaimWait bounds one Claim call (less for jobs with a shorter period).
	maxClaimWait = 10 * time.Second
	// day is the period every job's period must divide.
	day = 24 * time.Hour
)

// JobConfig describes a periodic job.
type JobConfig struct {
	// Title is a human-readable description of the job, for listings.
	Title string
	// Every is the job's period. It must be at least one second and divide
	// 24h exactly; runs happen at UTC multiples of it (every 5m: :00, :05, …).
	Every time.Duration
	// Endpoint is called once per claimed tick, with a context that is
	// cancelled when the scheduler stops or Timeout passes. A returned
	// error (or a panic) is logged and counted.
	Endpoint func(ctx context.Context) error
	// Timeout bounds one run: its context ends after Timeout, so a run
	// stuck on a dead connection gives way to the next tick. Default (0):
	// Every.
	Timeout time.Duration
	// Service names the service whose work the job does, for the catalog
	// and the architecture picture.
	Service string
}

// Job is a periodic job registered with a Scheduler.
type Job struct {
	s        *Scheduler
	name     string
	title    string
	every    time.Duration
	timeout  time.Duration
	endpoint func(ctx context.Context) error
	running  atomic.Bool
	last     lastRun
	service  string
}

// NewJob validates cfg and adds a job called name to s. The name is lowercase
// letters, digits and '-', starts with a letter, does not end with '-' and is
// at most 63 characters long; it must be unique within s. If s is started,
// the job starts at once.
func NewJob(s *Scheduler, name string, cfg JobConfig) (*Job, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := validateEvery(cfg.Every); err != nil {
		return nil, fmt.Errorf("cron: job %q: %w", name, err)
	}
	if cfg.Endpoint == nil {
		return nil, fmt.Errorf("cron: job %q: Endpoint is nil", name)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("cron: job %q: negative Timeout", name)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = cfg.Every
	}
	j := &Job{s: s, name: name, title: cfg.Title, every: cfg.Every, timeout: cfg.Timeout, endpoint: cfg.Endpoint, service: cfg.Service}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byName[name]; dup {
		return nil, fmt.Errorf("cron: job %q already exists", name)
	}
	s.byName[name] = j
	s.jobs = append(s.jobs, j)
	s.metrics.initJob(name)
	if s.active != nil {
		s.active.start(j)
	}
	return j, nil
}

// Name returns the job's name.
func (j *Job) Name() string { return j.name }

// Title returns the job's human-readable title.
func (j *Job) Title() string { return j.title }

// Every returns the job's period.
func (j *Job) Every() time.Duration { return j.every }

func validateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("cron: job name %q must be 1 to %d characters long", name, maxNameLen)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-')
		if !ok {
			return fmt.Errorf("cron: job name %q must start with a lowercase letter and hold only lowercase letters, digits and '-'", name)
		}
	}
	if name[len(name)-1] == '-' {
		return fmt.Errorf("cron: job name %q must not end with '-'", name)
	}
	return nil
}

func validateEvery(every time.Duration) error {
	switch {
	case every < time.Second:
		return fmt.Errorf("period (Every) %v must be at least 1s", every)
	case day%every != 0:
		return fmt.Errorf("period (Every) %v must divide 24h exactly", every)
	}
	return nil
}

// nextTick returns the first tick of period every strictly after t. Ticks are
// multiples of every counted from the zero time, which is UTC midnight;
// since every divides 24h they fall on the same instants as UTC multiples.
func nextTick(t time.Time, every time.Duration) time.Time {
	return t.Truncate(every).Add(every)
}

// loop fires the job at each tick until ctx is done. Runs are tracked by wg.
func (j *Job) loop(ctx context.Context, wg *sync.WaitGroup) {
	next := nextTick(j.s.now(), j.every)
	for {
		now := j.s.now()
		switch {
		case !now.Before(next):
			// Fire once for the latest tick that has passed (usually next;
			// later if the clock jumped forward), then realign.
			tick := now.Truncate(j.every)
			j.fire(ctx, wg, tick)
			next = tick.Add(j.every)
			continue
		case next.Sub(now) > j.every:
			// The clock went back past the last tick: realign.
			j.s.log.Warn("cron: wall clock went backwards; realigning", "job", j.name, "now", now, "next_was", next)
			next = nextTick(now, j.every)
		}
		wait := min(next.Sub(now), maxWait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// fire handles one tick: skip it if the job is still running, else claim it
// and start a run.
func (j *Job) fire(ctx context.Context, wg *sync.WaitGroup, tick time.Time) {
	if ctx.Err() != nil {
		return
	}
	if !j.running.CompareAndSwap(false, true) {
		j.s.metrics.skipped(j.name, reasonRunning)
		j.s.log.Warn("cron: previous run still going; tick skipped", "job", j.name, "tick", tick)
		return
	}
	claimCtx, cancel := context.WithTimeout(ctx, min(j.every, maxClaimWait))
	ok, err := j.s.locker.Claim(claimCtx, j.name, tick)
	cancel()
	switch {
	case ctx.Err() != nil:
		j.running.Store(false)
		return
	case err != nil:
		j.running.Store(false)
		j.s.metrics.skipped(j.name, reasonLockError)
		j.s.log.Error("cron: cannot claim tick; skipped", "job", j.name, "tick", tick, "err", err)
		return
	case !ok:
		j.running.Store(false)
		j.s.metrics.skipped(j.name, reasonClaimed)
		j.s.log.Debug("cron: tick claimed elsewhere", "job", j.name, "tick", tick)
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer j.running.Store(false)
		j.run(ctx, tick)
	}()
}

// run calls the endpoint once and records the outcome.
func (j *Job) run(ctx context.Context, tick time.Time) {
	start := j.s.now()
	ctx, cancel := context.WithTimeout(ctx, j.timeout)
	err := j.call(ctx)
	cancel()
	end := j.s.now()
	j.last.record(tick, end, err)
	j.s.metrics.ran(j.name, err == nil, end)
	if err != nil {
		j.s.log.Error("cron: run failed", "job", j.name, "tick", tick, "duration", end.Sub(start), "err", err)
		return
	}
	j.s.log.Debug("cron: run ok", "job", j.name, "tick", tick, "duration", end.Sub(start))
}

// call calls the endpoint, turning a panic into an error.
func (j *Job) call(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cron: job %q panicked: %v\n%s", j.name, r, debug.Stack())
		}
	}()
	return j.endpoint(ctx)
}
