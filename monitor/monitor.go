// Package monitor is the monitor service: it checks sites, records every
// check, keeps each site's current state, and publishes an
// uptime-transition event, through its transactional outbox, whenever a
// site goes down or comes back up.
package monitor

import (
	"go.opentelemetry.io/otel/trace"

	"context"
	"database/sql"
	"embed"
	"io/fs"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/stall"
	"upmon/site"
)

// ServiceName is the name the service registers its endpoints under.
const ServiceName = "monitor"

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
	// GetByPushToken returns the push monitor with a token, or not_found.
	GetByPushToken(ctx context.Context, token string) (*site.Site, error)
	// IDs returns the id of every site.
	IDs(ctx context.Context) ([]int64, error)
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
	// OnRecorded, if set, is called after each check is committed (the
	// dashboard's live feed). It must not block.
	OnRecorded func(Recorded)
	// SchedulerConcurrency is the most scheduled checks in flight at
	// once in this process. Default 4096: a hanging site holds a slot
	// only until its timeout, so others keep their schedule.
	SchedulerConcurrency int
	// BatchDelay is how long the batching writer waits, after a check
	// arrives, for more checks to commit in the same transaction. A
	// batch costs a fixed number of statements, so at a few hundred
	// checks a second this turns one-check batches into batches of
	// several. A check's commit (and its notification) is that much
	// later, except for a check someone waits for alone (CheckSite, a
	// push), whose batch takes what is queued and goes. Default 20 ms on
	// SQLite (a statement is a function call) and 300 ms on PostgreSQL
	// (a statement is a network round trip and the server's work: at
	// 5,000 sites every 30 s, 300 ms instead of 100 ms took upmon from
	// ≈ 0.91 to 0.72 and the server from ≈ 0.48 to 0.30 CPU s per 1,000
	// checks, docs/performance.md); negative: none.
	BatchDelay time.Duration
	// PollInterval is the longest the scheduler sleeps between looks for
	// due sites. Default 1 s.
	PollInterval time.Duration
	// RawRetention is how long raw checks are kept (minute rollups: two
	// days, hour rollups: at most 180 days; see Prune).
	// Default 7 days.
	RawRetention time.Duration
	// RollupRetention is how long day rollups and incidents are kept
	// (hour rollups at most 180 days). Default 400 days.
	RollupRetention time.Duration
	// Dialer replaces the network dialer of checks (outbound policy).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Resolver is the operator's DNS server (host:port) for dns: checks
	// without a server of their own; empty uses /etc/resolv.conf.
	Resolver string
	// DenyPrivate refuses DNS answers the outbound policy refuses.
	DenyPrivate bool
	// DBStall bounds the database calls of the scheduler (component
	// "scheduler") and of the schedule sync ("schedule-sync") and reports
	// those cut off; nil gives each call stall.DefaultTimeout.
	DBStall *stall.Set
	// Tracer, if set, makes every check a span "monitor.check" (its
	// phases as events, its writes as child spans); nil records none.
	Tracer trace.Tracer
	// Location is the location this process checks from (--location);
	// default "local".
	Location string
	// SourceAddr, if set, is the local address checks leave from (see
	// ProberOptions.SourceAddr).
	SourceAddr net.IP
	// Assign, if set, sends a scheduled check to the agents of a location
	// (the broker link); without it sites are checked here only.
	Assign func(loc string, a *Assignment) error
	// Heartbeat is how often agents send heartbeats; a location silent
	// for LostAfter of them is unavailable. Default DefaultHeartbeat.
	Heartbeat time.Duration
	// BrokerUp, if set, says whether the broker connection that brings
	// the heartbeats is up; while it is down this replica decides no
	// location lost (it cannot hear them).
	BrokerUp func() bool
	// OnSiteCount, if set, is called with the number of sites after each
	// schedule sweep (Sync): the program sizes its memory limit by it.
	OnSiteCount func(n int)
}

// Recorded describes a committed check, for live views.
type Recorded struct {
	// SiteID is the checked site.
	SiteID int64 `json:"site_id"`
	// URL is the site's URL.
	URL string `json:"url"`
	// Up is the check's outcome.
	Up bool `json:"up"`
	// State is the site's reported state after the check.
	State string `json:"state"`
	// CheckedAt is when it ran.
	CheckedAt time.Time `json:"checked_at"`
	// LatencyMS is its latency.
	LatencyMS int64 `json:"latency_ms"`
	// StatusCode is the HTTP status (0 if none).
	StatusCode int `json:"status_code"`
	// Error is the failure reason.
	Error string `json:"error"`
	// Transition is true when the check changed the reported state.
	Transition bool `json:"transition"`
}

func recordedOf(p *pending) Recorded {
	return Recorded{
		SiteID: p.st.ID, URL: p.st.URL, Up: p.res.Up, State: p.state.State(), CheckedAt: p.at,
		LatencyMS: p.res.Latency.Milliseconds(), StatusCode: p.res.StatusCode, Error: p.res.Err,
		Transition: p.events > 0,
	}
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

	recq       []chan *pending // one per writer
	writers    sync.WaitGroup
	writerStop chan struct{}
	writerDone chan struct{}
	started    bool
	schedWake  chan struct{}
	schedDone  chan struct{}
	inflight   sync.WaitGroup
	stmts      stmtCache // prepared statements of the write path
	siteCache  siteCache // sites of scheduled checks
	schedDB    *stall.Watch
	syncDB     *stall.Watch
	locs       *locationRegistry
	createdAt  time.Time // when New ran (Options.Now), for the liveness grace
	// nextDueReads counts the scheduler's looks for its next wake-up (a
	// test checks that a saturated scheduler does not spin on them).
	nextDueReads atomic.Int64
}

// Start starts the batching writer and, when schedule is true, the
// scheduler that checks each site at its interval.
func (s *Service) Start(schedule bool) {
	if s.started {
		return
	}
	s.started = true
	for _, q := range s.recq {
		s.writers.Add(1)
		go s.writer(q)
	}
	go func() {
		s.writers.Wait()
		close(s.writerDone)
	}()
	if schedule {
		s.schedDone = make(chan struct{})
		go s.schedule()
	}
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		s.watchLocations()
	}()
}

// writerQueues makes one queue per batching writer: one for SQLite (a
// single writer at a time), two for PostgreSQL. A batch costs a fixed
// number of round trips whatever its size, so fewer writers make larger
// batches (four made one-check batches at a few hundred checks a second);
// the second keeps writes going while one waits on a row lock.
func writerQueues(db *sqldb.DB) []chan *pending {
	n := 1
	if db.Dialect == sqldb.Postgres {
		n = 2
	}
	qs := make([]chan *pending, n)
	for i := range qs {
		qs[i] = make(chan *pending)
	}
	return qs
}

// Stop abandons every running check (they record nothing), stops the
// scheduler, then lets the writer commit what is queued and stop. It is
// called on shutdown.
func (s *Service) Stop() {
	s.stop()
	if s.schedDone != nil {
		<-s.schedDone
	}
	s.inflight.Wait()
	if s.started {
		close(s.writerStop)
		<-s.writerDone
	}
	s.stmts.close()
}

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
	if opts.SchedulerConcurrency <= 0 {
		opts.SchedulerConcurrency = 4096
	}
	if opts.BatchDelay == 0 {
		opts.BatchDelay = 20 * time.Millisecond
		if db != nil && db.Dialect == sqldb.Postgres {
			opts.BatchDelay = 300 * time.Millisecond
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.RawRetention <= 0 {
		opts.RawRetention = 7 * 24 * time.Hour
	}
	if opts.RollupRetention <= 0 {
		opts.RollupRetention = 400 * 24 * time.Hour
	}
	if opts.DBStall == nil {
		opts.DBStall = stall.NewSet(0, nil)
	}
	stopping, stop := context.WithCancel(context.Background())
	var sqlDB *sql.DB
	if db != nil {
		sqlDB = db.DB
	}
	return &Service{
		stmts:      stmtCache{db: sqlDB, numbered: db != nil && db.Dialect == sqldb.Postgres},
		recq:       writerQueues(db),
		writerStop: make(chan struct{}),
		writerDone: make(chan struct{}),
		schedWake:  make(chan struct{}, 1),
		stopping:   stopping,
		stop:       stop,
		db:         db,
		sites:      sites,
		prober:     NewProber(ProberOptions{Timeout: opts.PingTimeout, UserAgent: opts.UserAgent, Dialer: opts.Dialer, TLSClientConfig: opts.Hooks.TLSClientConfig, Resolver: opts.Resolver, DenyPrivate: opts.DenyPrivate, SourceAddr: opts.SourceAddr}),
		opts:       opts,
		log:        opts.Logger,
		metrics:    newMetrics(opts.Registerer),
		hooks:      opts.Hooks,
		schedDB:    opts.DBStall.Watch("scheduler"),
		syncDB:     opts.DBStall.Watch("schedule-sync"),
		locs:       newLocationRegistry(opts.Location, opts.Heartbeat),
		createdAt:  opts.Now(),
	}
}

// DB returns the service's database (for its outbox relay).
func (s *Service) DB() *sqldb.DB { return s.db }

// Register adds the service's public endpoints to srv.
func (s *Service) Register(srv *api.Server) {
	srv.HandlePrefix("/ping/", api.Endpoint{Service: ServiceName, Method: "GET", Path: "/ping/{url...}",
		Methods: []string{"GET", "POST"}, Response: reflect.TypeFor[PingResponse](), Name: "Ping"}, s.pingHandler(srv))
	api.Register(srv, ServiceName, api.Public, "POST /check/{siteID}", s.Check)
	// A sweep of every site may take longer than an ordinary request.
	api.RegisterWithTimeout(srv, ServiceName, api.Public, "POST /check-all", 0, s.CheckAll)
	api.RegisterWithTimeout(srv, ServiceName, api.Public, "POST /checkall", 0, s.CheckAll)
	api.Register(srv, ServiceName, api.Public, "GET /status", s.Status)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}/checks", s.SiteChecks)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}/uptime", s.SiteUptime)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}/incidents", s.SiteIncidents)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}/latency", s.SiteLatency)
	api.Register(srv, ServiceName, api.Public, "GET /locations", s.Locations)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}/locations", s.SiteLocations)
	api.Register(srv, ServiceName, api.Public, "POST /maintenance", s.AddMaintenance)
	api.Register(srv, ServiceName, api.Public, "GET /maintenance", s.ListMaintenance)
	api.Register(srv, ServiceName, api.Public, "DELETE /maintenance/{id}", s.DeleteMaintenance)
	push := reflect.TypeFor[PushResponse]()
	srv.Handle(api.Endpoint{Service: ServiceName, Method: "POST", Path: "/push/{token}", Access: api.Push, Response: push, Name: "Push"}, s.pushHandler(srv))
	srv.Handle(api.Endpoint{Service: ServiceName, Method: "GET", Path: "/push/{token}", Access: api.Push, Response: push, Name: "Push"}, s.pushHandler(srv))
}

type metrics struct {
	checks      *prometheus.CounterVec
	transitions *prometheus.CounterVec
	duration    prometheus.Histogram
	lag         prometheus.Histogram
	inflightG   prometheus.Gauge
	passes      prometheus.Counter
	locChanges  *prometheus.CounterVec
	locChecks   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "checks_total",
			Help: "Checks recorded, by result."}, []string{"result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "transitions_total",
			Help: "State transitions committed, by new state."}, []string{"state"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "upmon", Name: "schedule_lag_seconds",
			Help: "How late scheduled checks start after their due time.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		inflightG: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "upmon", Name: "checks_in_flight",
			Help: "Scheduled checks running now."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "upmon", Name: "check_duration_seconds",
			Help: "Time one check took.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "upmon", Name: "liveness_passes_total",
			Help: "Liveness passes this replica completed (heartbeats written, locations lost or back decided)."}),
		locChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "location_changes_total",
			Help: "Location events this replica wrote to the outbox, by kind (lost, back)."}, []string{"change"}),
		locChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "location_checks_total",
			Help: "Agents' results this replica recorded, by location."}, []string{"location"}),
	}
	if reg != nil {
		reg.MustRegister(m.checks, m.transitions, m.duration, m.lag, m.inflightG, m.passes, m.locChanges, m.locChecks)
	}
	return m
}
