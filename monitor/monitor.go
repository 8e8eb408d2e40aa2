// Package monitor is the monitor service: it checks sites, records every
// check, keeps each site's current state, and publishes an
// uptime-transition event, through its transactional outbox, whenever a
// site goes down or comes back up.
package monitor

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/site"
)

// ServiceName is the name the service registers its endpoints under.
const ServiceName = "monitor"

// TopicUptimeTransition is the topic transitions are published on.
const TopicUptimeTransition = "uptime-transition"

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

// Sites is the part of the site service the monitor calls.
type Sites interface {
	// Get returns one site or a not_found error.
	Get(ctx context.Context, p *site.GetParams) (*site.Site, error)
	// List returns every site.
	List(ctx context.Context, p *site.ListParams) (*site.ListResponse, error)
}

// TransitionEvent is published when a site goes down or comes back up.
type TransitionEvent struct {
	// ID is the event's globally unique id (the broker's dedup key).
	ID string `json:"id"`
	// Site is the site that changed state.
	Site *site.Site `json:"site"`
	// Up is the new state.
	Up bool `json:"up"`
	// Seq numbers the site's transitions (1, 2, …); a subscriber that has
	// seen a higher Seq for the site can drop this event as stale.
	Seq int64 `json:"seq"`
	// CheckedAt is the time of the check that caused the transition.
	CheckedAt time.Time `json:"checked_at"`
	// Reason says why the check failed or passed, such as "HTTP 503".
	Reason string `json:"reason"`
}

// Options configures the service.
type Options struct {
	// PingTimeout bounds one check or ping. Default 10 s.
	PingTimeout time.Duration
	// CheckConcurrency is the most checks CheckAll runs at once. Default 8.
	CheckConcurrency int
	// UserAgent is sent with every check.
	UserAgent string
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// OnEvent is called after a transaction that wrote an outbox event
	// commits (it wakes the relay).
	OnEvent func()
	// Logger receives check failures.
	Logger *slog.Logger
	// Registerer receives the service's metrics; may be nil.
	Registerer prometheus.Registerer
	// Hooks are fault-injection points for tests.
	Hooks Hooks
}

// Service is the monitor service.
type Service struct {
	db      *sqldb.DB
	sites   Sites
	prober  *Prober
	opts    Options
	log     *slog.Logger
	metrics *metrics
	hooks   Hooks

	// stopping ends every running check when the program shuts down,
	// whatever context the check was started with.
	stopping context.Context
	stop     context.CancelFunc
}

// Stop abandons every running check (they record nothing) and makes new
// ones fail at once. It is called on shutdown.
func (s *Service) Stop() { s.stop() }

// New returns the monitor service.
func New(db *sqldb.DB, sites Sites, opts Options) *Service {
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 10 * time.Second
	}
	if opts.CheckConcurrency <= 0 {
		opts.CheckConcurrency = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	stopping, stop := context.WithCancel(context.Background())
	return &Service{
		stopping: stopping,
		stop:     stop,
		db:       db,
		sites:    sites,
		prober:   NewProber(ProberOptions{Timeout: opts.PingTimeout, UserAgent: opts.UserAgent}),
		opts:     opts,
		log:      opts.Logger,
		metrics:  newMetrics(opts.Registerer),
		hooks:    opts.Hooks,
	}
}

// DB returns the service's database (for its outbox relay).
func (s *Service) DB() *sqldb.DB { return s.db }

// Register adds the service's public endpoints to srv.
func (s *Service) Register(srv *api.Server) {
	srv.HandlePrefix("/ping/", api.Endpoint{Service: ServiceName, Method: "GET", Path: "/ping/{url...}"}, s.pingHandler(srv))
	api.Register(srv, ServiceName, api.Public, "POST /check/{siteID}", s.Check)
	api.Register(srv, ServiceName, api.Public, "POST /check-all", s.CheckAll)
	api.Register(srv, ServiceName, api.Public, "POST /checkall", s.CheckAll)
	api.Register(srv, ServiceName, api.Public, "GET /status", s.Status)
}

type metrics struct {
	checks      *prometheus.CounterVec
	transitions *prometheus.CounterVec
	duration    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "checks_total",
			Help: "Checks recorded, by result."}, []string{"result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "transitions_total",
			Help: "State transitions committed, by new state."}, []string{"state"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "upmon", Name: "check_duration_seconds",
			Help: "Time one check took.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}),
	}
	if reg != nil {
		reg.MustRegister(m.checks, m.transitions, m.duration)
	}
	return m
}
