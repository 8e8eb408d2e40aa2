package channels

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"upmon/notify"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/site"
)

// ServiceName names the service in the API catalog.
const ServiceName = "channels"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the service's database migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Sites is the part of the site service the channels service calls: a
// site's name, URL, tags and named channels at event time.
type Sites interface {
	// Get returns one site or a not_found error.
	Get(ctx context.Context, p *site.GetParams) (*site.Site, error)
}

// Retry is the delivery retry policy of every channel.
type Retry struct {
	// MinBackoff is the first delay after a failure. Default 5 s.
	MinBackoff time.Duration
	// MaxBackoff caps the delay. Default 10 min.
	MaxBackoff time.Duration
	// MaxAttempts is how many attempts a message gets before it becomes a
	// dead letter. Default 20.
	MaxAttempts int
}

func (r Retry) withDefaults() Retry {
	if r.MinBackoff <= 0 {
		r.MinBackoff = 5 * time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 10 * time.Minute
	}
	r.MaxBackoff = max(r.MaxBackoff, r.MinBackoff)
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 20
	}
	return r
}

// backoff is the delay after the n-th failed attempt (1-based).
func (r Retry) backoff(n int) time.Duration {
	d := r.MinBackoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// Options configures the service.
type Options struct {
	// Kinds is the registry of channel kinds (notify/kinds.Registry).
	Kinds *notify.Registry
	// Env is what channels get from the program (HTTP client, clock).
	Env notify.Env
	// Sites resolves a site's settings at event time.
	Sites Sites
	// Retry is the delivery retry policy.
	Retry Retry
	// SendTimeout bounds one delivery attempt. Default 10 s.
	SendTimeout time.Duration
	// Poll is how often each channel's queue is read when nothing woke it
	// (deliveries queued by other replicas, retries coming due), and how
	// often the channel list is reloaded. Default 1 s.
	Poll time.Duration
	// Lease is how long a claimed delivery stays with the replica sending
	// it before another may take it over (a replica that died while
	// sending). Default 2 × SendTimeout + 10 s.
	Lease time.Duration
	// RemindTick is how often reminders are looked for. Default 1 min.
	RemindTick time.Duration
	// PublicURL is the dashboard's base URL, for incident links.
	PublicURL string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives delivery problems (never a secret).
	Logger *slog.Logger
	// Metrics are the service's Prometheus metrics (NewMetrics); nil
	// keeps them unregistered.
	Metrics *Metrics
	// Hooks are fault-injection points for crash tests.
	Hooks Hooks
	// Key encrypts the channels' settings at rest (AES-256-GCM): 32
	// bytes (ParseKey), or nil to store them in clear.
	Key []byte
	// Tracer, if set, records each delivery as a span continuing the
	// trace of the event that queued it.
	Tracer trace.Tracer
	// OrderWait bounds how long a site's event waits for its predecessor
	// to be routed first (order.go). Default 30 s.
	OrderWait time.Duration
	// OrderPoll is how soon an event that must wait is tried again.
	// Default 200 ms.
	OrderPoll time.Duration
}

// Hooks are fault-injection points for crash tests.
type Hooks struct {
	// AfterSend, if set, runs after a channel's service accepted a
	// message and before the delivery is removed from the queue.
	AfterSend func(channelID int64)
}

// Service is the channels service: channels as a resource, routing of the
// monitor's events to them, and one delivery queue per channel.
type Service struct {
	db   *sqldb.DB
	opts Options
	log  *slog.Logger
	m    *Metrics
	seal *sealer

	// syncMu makes syncWorkers one at a time, read and apply together:
	// a sync that read the list before a change must not apply it after
	// the sync that read the change (the supervisor's poll beside
	// EnsureImplicitSlack put a channel's old webhook back).
	syncMu  sync.Mutex
	mu      sync.Mutex
	workers map[int64]*worker
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	reload  chan struct{}
}

// New returns the channels service over its database.
func New(db *sqldb.DB, opts Options) *Service {
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 10 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 2*opts.SendTimeout + 10*time.Second
	}
	if opts.RemindTick <= 0 {
		opts.RemindTick = time.Minute
	}
	if opts.OrderWait <= 0 {
		opts.OrderWait = 30 * time.Second
	}
	if opts.OrderPoll <= 0 {
		opts.OrderPoll = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	opts.Retry = opts.Retry.withDefaults()
	opts.Env = opts.Env.WithDefaults()
	seal, err := newSealer(opts.Key)
	if err != nil {
		panic(err) // ParseKey returns 32 bytes; anything else is a wiring bug
	}
	return &Service{db: db, opts: opts, log: opts.Logger, m: opts.Metrics, seal: seal,
		workers: map[int64]*worker{}, reload: make(chan struct{}, 1)}
}

// Register adds the service's endpoints to srv: channel CRUD and
// test-send (read-write), reads (read, secrets masked), dead letters and
// incident acknowledgement.
func (s *Service) Register(srv *api.Server) {
	api.Register(srv, ServiceName, api.Public, "GET /channels", s.List)
	api.Register(srv, ServiceName, api.Public, "POST /channels", s.Create)
	api.Register(srv, ServiceName, api.Public, "GET /channels/kinds", s.ListKinds)
	api.Register(srv, ServiceName, api.Public, "GET /channels/{id}", s.Get)
	api.Register(srv, ServiceName, api.Public, "PATCH /channels/{id}", s.Update)
	api.Register(srv, ServiceName, api.Public, "POST /channels/{id}", s.Update)
	api.Register(srv, ServiceName, api.Public, "DELETE /channels/{id}", s.Delete)
	api.Register(srv, ServiceName, api.Public, "POST /channels/{id}/test", s.Test)
	api.Register(srv, ServiceName, api.Public, "GET /channels/{id}/dead-letters", s.DeadLetters)
	api.Register(srv, ServiceName, api.Public, "POST /channels/{id}/dead-letters/replay", s.Replay)
	api.Register(srv, ServiceName, api.Public, "POST /site/{siteID}/incidents/{incident}/ack", s.Ack)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}/alerts", s.SiteAlerts)
}

// Start starts one delivery worker per channel (reloading the channel
// list every Poll, so channels created on another replica are served
// here too) and the reminder loop. Stop ends them.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.superviseLoop(s.ctx)
	go s.remindLoop(s.ctx)
}

// Stop ends the workers and waits for sends in flight.
func (s *Service) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	s.wg.Wait()
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// superviseLoop keeps one worker per channel, reloading on a local change
// (wakeSupervisor) or every Poll.
func (s *Service) superviseLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		if err := s.syncWorkers(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("channels: cannot load the channel list", "err", err)
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			ws := s.workers
			s.workers = map[int64]*worker{}
			s.mu.Unlock()
			for _, w := range ws {
				w.stop()
			}
			return
		case <-t.C:
		case <-s.reload:
		}
	}
}

func (s *Service) wakeSupervisor() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// syncWorkers starts workers for new channels, updates changed ones and
// stops those of deleted channels.
func (s *Service) syncWorkers(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	rows, err := s.loadAll(ctx)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		seen[r.ID] = true
		w, ok := s.workers[r.ID]
		if ok && w.cfg.UpdatedAt.Equal(r.UpdatedAt) {
			continue
		}
		cfg, err := s.build(r)
		if err != nil {
			s.log.Warn("channels: cannot build channel", "channel", r.ID, "err", err)
			continue
		}
		if ok {
			w.update(cfg)
			continue
		}
		w = newWorker(s, cfg)
		s.workers[r.ID] = w
		w.start(s.ctx)
	}
	for id, w := range s.workers {
		if !seen[id] {
			delete(s.workers, id)
			go w.stop()
		}
	}
	return nil
}

// wake tells the local workers of ids that deliveries are waiting.
func (s *Service) wake(ids ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if w, ok := s.workers[id]; ok {
			w.poke()
		}
	}
}
