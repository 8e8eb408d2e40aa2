package cron

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Scheduler. The zero value is usable: it runs every
// tick locally (a fresh LocalLocker), logs nothing and registers no metrics.
type Config struct {
	// Locker claims each tick cluster-wide. Default: a new LocalLocker,
	// which is right for a single process only.
	Locker Locker
	// Logger receives run failures and lock errors. Default: discard.
	Logger *slog.Logger
	// Registerer receives the scheduler's metrics. It may be nil (metrics are
	// kept but not exported); the global Prometheus registry is never used
	// implicitly. Several schedulers may share one registry. New panics if
	// the registry holds different metrics under the same names.
	Registerer prometheus.Registerer
	// Now returns the current wall-clock time. Default: time.Now.
	Now func() time.Time
}

// Scheduler runs a set of jobs, each at UTC-aligned multiples of its period.
type Scheduler struct {
	locker  Locker
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	mu     sync.Mutex
	jobs   []*Job
	byName map[string]*Job
	active *activation // non-nil while started
}

// activation is one Start…Stop period of a Scheduler.
type activation struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // job loops and running endpoints
}

// New returns a Scheduler with no jobs; add them with NewJob and run them
// with Start.
func New(cfg Config) *Scheduler {
	s := &Scheduler{
		locker: cfg.Locker,
		log:    cfg.Logger,
		now:    cfg.Now,
		byName: make(map[string]*Job),
	}
	if s.locker == nil {
		s.locker = &LocalLocker{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = newMetrics(cfg.Registerer)
	return s
}

// Jobs returns the scheduler's jobs in the order they were added.
func (s *Scheduler) Jobs() []*Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs := make([]*Job, len(s.jobs))
	copy(jobs, s.jobs)
	return jobs
}

// Start starts one goroutine per job; jobs added later with NewJob start at
// once. The jobs run until ctx is cancelled or Stop is called. Calling Start
// on a started scheduler does nothing; after Stop it may be started again.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active != nil {
		return
	}
	a := &activation{}
	a.ctx, a.cancel = context.WithCancel(ctx)
	s.active = a
	for _, j := range s.jobs {
		a.start(j)
	}
}

// start starts j's loop in a.
func (a *activation) start(j *Job) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		j.loop(a.ctx, &a.wg)
	}()
}

// Stop cancels the context of running endpoints, stops every job, and waits
// for the running endpoints to return. Stop on a scheduler that is not
// started does nothing.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	a := s.active
	s.active = nil
	s.mu.Unlock()
	if a == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
}
