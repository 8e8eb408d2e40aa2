// Package app wires the platform and the services into the running
// program. Main.Open starts everything; tests start the real program
// through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"upmon/account"
	"upmon/channels"
	"upmon/internal/version"
	"upmon/monitor"
	"upmon/notify"
	"upmon/notify/kinds"
	"upmon/platform/api"
	"upmon/platform/catalog"
	"upmon/platform/cron"
	"upmon/platform/netguard"
	"upmon/platform/outbox"
	"upmon/platform/pubsub"
	"upmon/platform/secrets"
	"upmon/platform/sqldb"
	"upmon/platform/stall"
	"upmon/platform/tracing"
	"upmon/site"
	"upmon/slack"
	"upmon/web"
)

// Hooks are fault-injection points that tests set before Open.
type Hooks struct {
	// Monitor is passed to the monitor service.
	Monitor monitor.Hooks
	// Outbox is passed to both outbox relays.
	Outbox outbox.Hooks
	// Channels is passed to the channels service.
	Channels channels.Hooks
	// Clock, if set, replaces the wall clock of the accounts service
	// (sessions, tokens, audit) and of the sign-in throttle.
	Clock func() time.Time
}

// Main is the whole program: databases, broker, services, HTTP server and
// scheduler.
type Main struct {
	// Config is the configuration Open uses.
	Config Config
	// Logger receives the program's logs; default discards.
	Logger *slog.Logger
	// Hooks are test fault-injection points.
	Hooks Hooks

	registry *prometheus.Registry
	tracing  *tracing.Tracing
	siteDB   *sqldb.DB
	monDB    *sqldb.DB
	accDB    *sqldb.DB
	chanDB   *sqldb.DB
	broker   *pubsub.Broker
	secrets  *secrets.Store
	sched    *cron.Scheduler
	relays   []*outbox.Relay
	stalls   *stall.Set
	api      *api.Server
	declared *catalog.Registry
	replica  string
	openapi  map[string]any
	auth     *auth
	login    *loginThrottle
	oidc     *oidcLogin // nil without --oidc-issuer
	http     *http.Server
	listener net.Listener

	// Accounts is the accounts service (users, sessions, tokens, audit),
	// available after Open.
	Accounts *account.Service
	// Site, Monitor and Slack are the services, available after Open.
	Site    *site.Service
	Monitor *monitor.Service
	Slack   *slack.Service
	// Channels is the notification channels service, available after Open.
	Channels *channels.Service
	// chanKinds is its registry of channel kinds (the dashboard's forms).
	chanKinds *notify.Registry
	// Web is the dashboard, available after Open.
	Web *web.Handler

	live *liveBatcher // committed checks for the live subject

	rootCtx    context.Context
	rootCancel context.CancelFunc
	serveDone  chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// New returns a Main for cfg.
func New(cfg Config, log *slog.Logger) *Main {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Main{Config: cfg, Logger: log}
}

// Open opens the databases and the broker, starts the services, the
// scheduler and the HTTP server. On error everything opened is closed.
func (m *Main) Open(ctx context.Context) (err error) {
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := m.Logger
	m.rootCtx, m.rootCancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	m.registry = prometheus.NewRegistry()
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if m.secrets, err = secrets.Open(cfg.DataDir, cfg.Env); err != nil {
		return err
	}
	m.replica = replicaID()
	if m.tracing, err = tracing.New(ctx, tracing.Config{
		Enabled:      cfg.TracingOn(),
		OTLPEndpoint: cfg.OTLPEndpoint,
		Replica:      m.replica,
		Version:      version.String(),
		Recent:       tracing.RecorderConfig{MaxTraces: cfg.TraceMax, MaxBytes: cfg.TraceMaxBytes},
	}); err != nil {
		return err
	}

	dbCfg := sqldb.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, Logger: log}
	if m.siteDB, err = sqldb.Open(ctx, dbCfg, "site", site.Migrations()); err != nil {
		return err
	}
	if m.monDB, err = sqldb.Open(ctx, dbCfg, "monitor", monitor.Migrations()); err != nil {
		return err
	}
	if m.accDB, err = sqldb.Open(ctx, dbCfg, account.ServiceName, account.Migrations()); err != nil {
		return err
	}
	var users int
	if err := m.accDB.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if err := cfg.exposureError(users); err != nil {
		return err
	}
	if m.chanDB, err = sqldb.Open(ctx, dbCfg, "channels", channels.Migrations()); err != nil {
		return err
	}

	m.broker, err = pubsub.Open(ctx, pubsub.Config{
		URL:      cfg.NATSURL,
		DataDir:  cfg.DataDir,
		Prefix:   cfg.NATSPrefix,
		Replicas: cfg.NATSReplicas,
		Retry: pubsub.RetryPolicy{
			MinBackoff:  cfg.RetryMinBackoff,
			MaxBackoff:  cfg.RetryMaxBackoff,
			MaxAttempts: cfg.RetryMaxAttempts,
		},
		AckDeadline:      cfg.AckDeadline,
		DeadLetterMax:    cfg.DeadLetterMax,
		DeadLetterMaxAge: cfg.DeadLetterMaxAge,
		Logger:           log,
		Registerer:       m.registry,
		Tracer:           m.tracing.Tracer("upmon/pubsub"),
	})
	if err != nil {
		return err
	}

	// Listen before wiring, so the services know the real address (the
	// configured port may be 0).
	if m.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if err := m.wire(ctx); err != nil {
		return err
	}
	if err := m.broker.Start(ctx); err != nil {
		return err
	}
	for _, r := range m.relays {
		r.Start(m.rootCtx)
	}
	m.Monitor.Start(true)
	m.Channels.Start()
	if err := m.linkAgents(); err != nil {
		return err
	}
	if err := m.Monitor.Sync(ctx); err != nil {
		log.Warn("initial schedule sync failed; the check-all job will retry", "err", err)
	}
	if err := m.startLive(); err != nil {
		log.Warn("live updates from other replicas are off", "err", err)
	}
	m.sched.Start(m.rootCtx)
	m.startFlows()
	return m.serve()
}

// wire builds the services, topics, subscriptions, relays and routes.
func (m *Main) wire(ctx context.Context) error {
	cfg, log := m.Config, m.Logger
	m.declared = &catalog.Registry{}

	m.stalls = stall.NewSet(cfg.DBTimeout, m.registry)
	siteRelay := m.newRelay(m.siteDB)
	monRelay := m.newRelay(m.monDB)
	m.Site = site.New(m.siteDB, site.Options{
		OnEvent:     siteRelay.Wake,
		Defaults:    site.Defaults{Interval: cfg.CheckInterval, Timeout: cfg.PingTimeout, Locations: cfg.DefaultLocations()},
		PublicURL:   m.publicURL(),
		MaxSites:    cfg.MaxSites,
		DenyPrivate: cfg.DenyPrivateTargets,
		// The monitor is made next; it knows the locations agents announced.
		LocationKnown: func(name string) bool { return m.Monitor.LocationKnown(name) },
	})
	var dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	if cfg.DenyPrivateTargets {
		dialer = netguard.DialerFrom(cfg.PingTimeout, cfg.SourceIP())
	}
	m.Monitor = monitor.New(m.monDB, m.Site, monitor.Options{
		PingTimeout:          cfg.PingTimeout,
		CheckConcurrency:     cfg.CheckConcurrency,
		SchedulerConcurrency: cfg.SchedulerConcurrency,
		BatchDelay:           cfg.BatchDelay,
		RawRetention:         cfg.RawRetention,
		RollupRetention:      cfg.RollupRetention,
		UserAgent:            version.UserAgent(),
		OnEvent:              monRelay.Wake,
		OnRecorded:           m.onRecorded,
		Logger:               log,
		Registerer:           m.registry,
		Hooks:                m.Hooks.Monitor,
		Dialer:               dialer,
		Resolver:             cfg.DNSResolver,
		DenyPrivate:          cfg.DenyPrivateTargets,
		DBStall:              m.stalls,
		Tracer:               m.tracing.Tracer("upmon/monitor"),
		Assign:               m.assign,
		Location:             cfg.Location,
		Heartbeat:            cfg.Heartbeat,
		BrokerUp:             func() bool { return m.broker.Conn().IsConnected() },
		OnSiteCount:          setMemoryLimit,
		SourceAddr:           cfg.SourceIP(),
	})
	m.declared.Uses(monitor.ServiceName, site.ServiceName, "monitor.Sites")

	added, err := pubsub.NewTopic[*site.AddedEvent](m.broker, site.TopicSiteAdded, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	updated, err := pubsub.NewTopic[*site.UpdatedEvent](m.broker, site.TopicSiteUpdated, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	deleted, err := pubsub.NewTopic[*site.DeletedEvent](m.broker, site.TopicSiteDeleted, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	transitions, err := pubsub.NewTopic[*monitor.TransitionEvent](m.broker, monitor.TopicUptimeTransition, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	degraded, err := pubsub.NewTopic[*monitor.DegradedEvent](m.broker, monitor.TopicDegraded, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	certs, err := pubsub.NewTopic[*monitor.CertExpiringEvent](m.broker, monitor.TopicCertExpiring, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	locs, err := pubsub.NewTopic[*monitor.LocationEvent](m.broker, monitor.TopicLocationChange, pubsub.TopicConfig{})
	if err != nil {
		return err
	}
	monRelay.SetPublisher(locs.Name(), locs.PublishRaw)
	siteRelay.SetPublisher(added.Name(), added.PublishRaw)
	siteRelay.SetPublisher(updated.Name(), updated.PublishRaw)
	siteRelay.SetPublisher(deleted.Name(), deleted.PublishRaw)
	monRelay.SetPublisher(transitions.Name(), transitions.PublishRaw)
	monRelay.SetPublisher(degraded.Name(), degraded.PublishRaw)
	monRelay.SetPublisher(certs.Name(), certs.PublishRaw)

	if err := m.Monitor.Subscribe(monitor.Topics{Added: added, Updated: updated, Deleted: deleted}); err != nil {
		return err
	}

	if err := m.wireChannels(ctx, channels.Topics{Transitions: transitions, Degraded: degraded, Certs: certs, Locations: locs, Deleted: deleted}); err != nil {
		return err
	}
	// The tutorial's secret is the implicit default Slack channel, served
	// by the channels queue like every other channel.
	webhook, _ := m.declared.Secret(m.secrets, slack.ServiceName, slack.SecretName)
	if err := m.Channels.EnsureImplicitSlack(ctx, webhook); err != nil {
		return err
	}
	if webhook == "" {
		log.Info("no default Slack channel: no " + slack.SecretName + " secret (set it with `upmon secret set " + slack.SecretName + "` or SLACK_WEBHOOK_URL)")
	}
	m.Slack = slack.New(slack.Options{
		PostToChannels: func(ctx context.Context, text string) (int, error) {
			return m.Channels.PostText(ctx, "slack", text)
		},
	})
	m.declared.Uses(slack.ServiceName, channels.ServiceName, "slack.PostToChannels")

	var locker cron.Locker = &cron.LocalLocker{}
	if cfg.NATSURL != "" {
		nl, err := cron.NewNATSLocker(m.broker.JetStream(), m.broker.Prefix()+"_cron", cron.WithReplicas(m.broker.Replicas()))
		if err != nil {
			return fmt.Errorf("cron lock: %w", err)
		}
		nl.SetHolder(m.replica)
		locker = nl
	}
	m.sched = cron.New(cron.Config{Locker: locker, Logger: log, Registerer: m.registry})
	// The scheduler checks each site at its own interval; the check-all
	// job keeps every site on that schedule (new, changed, deleted sites).
	if _, err := cron.NewJob(m.sched, "check-all", cron.JobConfig{
		Title:    "Check all sites (reconcile the schedule)",
		Every:    cfg.CheckInterval,
		Endpoint: m.Monitor.SyncJob,
		// A sweep of many sites may outlast a short period; its database
		// calls have their own deadline (--db-timeout).
		Timeout: max(cfg.CheckInterval, time.Minute),
		Service: monitor.ServiceName,
	}); err != nil {
		return err
	}
	m.Accounts = account.New(m.accDB, account.Options{SessionIdle: cfg.SessionIdle, SessionLifetime: cfg.SessionLifetime,
		AuditRetention: cfg.AuditRetention, Logger: log, Now: m.Hooks.Clock})
	if _, err := cron.NewJob(m.sched, "prune-accounts", cron.JobConfig{
		Title:    "Prune expired sessions and audit records past --audit-retention",
		Every:    time.Hour,
		Endpoint: m.Accounts.PruneJob,
		Service:  account.ServiceName,
	}); err != nil {
		return err
	}
	if _, err := cron.NewJob(m.sched, "prune-history", cron.JobConfig{
		Title:    "Prune checks and rollups past their retention",
		Every:    time.Hour,
		Endpoint: m.Monitor.PruneJob,
		Service:  monitor.ServiceName,
	}); err != nil {
		return err
	}

	m.api = api.NewServer(log)
	m.api.SetTracer(m.tracing.Tracer("upmon/api"))
	m.auth = newAuth(cfg, m.Accounts)
	m.login = newLoginThrottle()
	if m.Hooks.Clock != nil {
		m.login.now = m.Hooks.Clock
	}
	m.api.AddGuard(m.auth.guard)
	m.api.AddWrapper(m.auditWrapper)
	m.api.AddGuard(newLimiter(cfg.RateLimit, cfg.RateBurst).guard)
	oidcSecret, _ := m.declared.Secret(m.secrets, account.ServiceName, OIDCSecretName)
	if cfg.OIDCIssuer != "" {
		m.oidc = newOIDCLogin(cfg, oidcSecret, m.publicURL())
	}
	m.registerLogin()
	m.registerOIDC()
	m.Accounts.Register(m.api)
	m.Site.Register(m.api)
	m.Monitor.Register(m.api)
	m.Channels.Register(m.api)
	m.Slack.Register(m.api)
	m.Web = web.New(web.Options{Sites: m.Site, Monitor: m.Monitor, Settings: web.SiteSettingsStore{Sites: m.Site},
		CORSOrigins: cfg.CORSOrigins, Logger: log, Architecture: m.liveDiagram, Accounts: m.Accounts, Alerts: m.Channels, Traces: m.traceSource(),
		OpenAPI: m.OpenAPI, Channels: web.ChannelsStore{Service: m.Channels, Registry: m.chanKinds}})
	m.live = &liveBatcher{send: m.publishLive}
	m.Web.Register(m.api)
	m.declared.Uses(web.ServiceName, site.ServiceName, "web.SiteSource")
	m.declared.Uses(web.ServiceName, monitor.ServiceName, "web.MonitorSource")
	m.declared.Uses(web.ServiceName, account.ServiceName, "web.Accounts")
	m.declared.Uses(web.ServiceName, channels.ServiceName, "web.ChannelSource")
	registerAdmin(m.api, m.broker)
	m.registerCatalog()
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/healthz", Access: api.Open}, http.HandlerFunc(m.healthz))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/metrics"}, m.metricsHandler())
	return m.buildOpenAPI()
}

// wireChannels builds the notification channels service and its router
// subscriptions on the monitor's topics.
func (m *Main) wireChannels(ctx context.Context, t channels.Topics) error {
	cfg := m.Config
	reg, err := kinds.Registry()
	if err != nil {
		return err
	}
	m.chanKinds = reg
	key, err := m.channelsKey(ctx)
	if err != nil {
		return err
	}
	httpOpts := notify.HTTPOptions{Timeout: cfg.NotifyTimeout, UserAgent: version.UserAgent()}
	if cfg.DenyPrivateTargets {
		// A channel's URL is user input too: the same outbound policy as checks.
		httpOpts.Transport = &http.Transport{Proxy: nil, DialContext: netguard.Dialer(cfg.NotifyTimeout),
			TLSHandshakeTimeout: cfg.NotifyTimeout, ResponseHeaderTimeout: cfg.NotifyTimeout,
			MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true}
	}
	m.Channels = channels.New(m.chanDB, channels.Options{
		Kinds:       reg,
		Env:         notify.Env{HTTP: notify.NewHTTPClient(httpOpts)},
		Sites:       m.Site,
		Retry:       channels.Retry{MinBackoff: cfg.RetryMinBackoff, MaxBackoff: cfg.RetryMaxBackoff, MaxAttempts: cfg.RetryMaxAttempts},
		SendTimeout: cfg.NotifyTimeout,
		PublicURL:   m.publicURL(),
		Logger:      m.Logger,
		Metrics:     channels.NewMetrics(m.registry),
		Key:         key,
		Hooks:       m.Hooks.Channels,
		Tracer:      m.tracing.Tracer("upmon/channels"),
	})
	// Rows written before settings were encrypted are sealed now.
	if err := m.Channels.SealStored(ctx); err != nil {
		return err
	}
	return m.Channels.Subscribe(t)
}

// traceSource is the recorder of recent traces for the trace page, nil
// (not a nil pointer in an interface) when tracing is off.
func (m *Main) traceSource() web.TraceSource {
	if rec := m.tracing.Recent(); rec != nil {
		return rec
	}
	return nil
}

func (m *Main) newRelay(db *sqldb.DB) *outbox.Relay {
	r := outbox.NewRelay(outbox.Config{
		DB:         db,
		Logger:     m.Logger,
		Registerer: m.registry,
		Hooks:      m.Hooks.Outbox,
		Stall:      m.stalls.Watch("outbox." + db.Name),
		Tracer:     m.tracing.Tracer("upmon/outbox"),
	})
	m.relays = append(m.relays, r)
	return r
}

// publicURL is the base URL push monitors are told to use.
func (m *Main) publicURL() string {
	if m.Config.PublicURL != "" {
		return m.Config.PublicURL
	}
	return m.URL()
}

// serve starts the HTTP server on the configured address.
func (m *Main) serve() error {
	ln := m.listener
	m.http = &http.Server{
		Handler:           newHTTPMiddleware(m.Config.WriteTimeout, m.Logger, m.registry).wrap(m.Web.Protect(m.auth.withAccess(m.loginRedirect(m.api)))),
		ReadHeaderTimeout: min(10*time.Second, m.Config.ReadTimeout),
		ReadTimeout:       m.Config.ReadTimeout, // a trickling body is cut off
		WriteTimeout:      0,                    // per response instead (httpMiddleware): live streams (SSE) stay open
		ConnState:         clearDeadline,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return m.rootCtx },
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.http.RegisterOnShutdown(m.Web.Hub().Close) // end live streams so shutdown need not wait
	m.serveDone = make(chan struct{})
	go func() {
		defer close(m.serveDone)
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}()
	m.Logger.Info("upmon listening", "url", m.URL(), "version", version.String())
	return nil
}

// URL returns the base URL the server listens on (after Open).
func (m *Main) URL() string {
	if m.listener == nil {
		return ""
	}
	return "http://" + m.listener.Addr().String()
}

// Handler returns the HTTP handler (after Open).
func (m *Main) Handler() http.Handler { return m.auth.withAccess(m.api) }

// Endpoints returns the route registry: every endpoint registered, with
// its declared access (after Open).
func (m *Main) Endpoints() []api.Endpoint { return m.api.Endpoints() }

// API returns the typed API server (after Open): its registered endpoints
// and routing, for tools and tests that describe what is served.
func (m *Main) API() *api.Server { return m.api }

// Tracing returns the program's tracing (after Open); Recent is nil when
// tracing is off.
func (m *Main) Tracing() *tracing.Tracing { return m.tracing }

// Broker returns the event broker (after Open).
func (m *Main) Broker() *pubsub.Broker { return m.broker }

// Close shuts down gracefully: in-flight requests get ShutdownTimeout to
// finish, then running checks are abandoned (recording nothing), the
// scheduler, subscriptions and relays stop, and the databases close.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err := m.http.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, err)
		}
		cancel()
	}
	if m.rootCancel != nil {
		m.rootCancel()
	}
	if m.Monitor != nil {
		m.Monitor.Stop()
	}
	if m.Channels != nil {
		m.Channels.Stop()
	}
	if m.http != nil {
		_ = m.http.Close()
		<-m.serveDone
	} else if m.listener != nil {
		m.listener.Close()
	}
	if m.sched != nil {
		m.sched.Stop()
	}
	for _, r := range m.relays {
		r.Stop()
	}
	if m.broker != nil {
		if err := m.broker.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, db := range []*sqldb.DB{m.accDB, m.chanDB, m.monDB, m.siteDB} {
		if db != nil {
			if err := db.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if m.tracing != nil {
		// Export what is buffered; a collector that is down costs at
		// most the shutdown timeout.
		ctx, cancel := context.WithTimeout(context.Background(), max(m.Config.ShutdownTimeout, time.Second))
		if err := m.tracing.Shutdown(ctx); err != nil {
			m.Logger.Warn("exporting the last traces failed", "err", err)
		}
		cancel()
	}
	return errors.Join(errs...)
}
