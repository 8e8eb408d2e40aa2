package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"upmon/platform/api"
	"upmon/site"
	"upmon/web"
)

// Config is upmon's configuration. Every field has a flag and an UPMON_*
// environment variable; flags win over the environment, which wins over
// the defaults below.
type Config struct {
	// Addr is the HTTP listen address. Default 127.0.0.1:4000.
	Addr string
	// DataDir holds SQLite files, the embedded broker's store and
	// secrets.json. Default ./upmon-data.
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://…); empty means SQLite.
	DatabaseURL string
	// PingTimeout bounds one check or ping. Default 10 s.
	PingTimeout time.Duration
	// CheckConcurrency is the most checks a sweep runs at once. Default 8.
	CheckConcurrency int
	// CheckInterval is the period of the check-all cron job. It must
	// divide 24 h and be at least 1 s. Default 5 min.
	CheckInterval time.Duration
	// NATSURL selects an external NATS; empty runs an embedded broker.
	NATSURL string
	// NATSPrefix prefixes stream, consumer and bucket names. Default upmon.
	NATSPrefix string
	// NATSReplicas is the stream replica count on an external cluster.
	NATSReplicas int
	// RetryMinBackoff is the first retry delay of a failed delivery.
	RetryMinBackoff time.Duration
	// RetryMaxBackoff caps the retry delay.
	RetryMaxBackoff time.Duration
	// RetryMaxAttempts is the most delivery attempts, the first included.
	RetryMaxAttempts int
	// AckDeadline is an event handler's deadline; a message a crashed
	// process left unacknowledged is redelivered a little after it.
	// Default 30 s.
	AckDeadline time.Duration
	// DeadLetterMax is how many dead letters are kept; storing one more
	// drops the oldest. Default 10000.
	DeadLetterMax int
	// DeadLetterMaxAge is how long a dead letter is kept. Default 30 days.
	DeadLetterMaxAge time.Duration
	// SchedulerConcurrency is the most scheduled checks in flight at once
	// in this process. Default 4096.
	SchedulerConcurrency int
	// RawRetention is how long raw checks are kept. Default 7 days.
	RawRetention time.Duration
	// RollupRetention is how long hourly and daily rollups are kept.
	// Default 400 days.
	RollupRetention time.Duration
	// PublicURL is the base URL users reach upmon at (push URLs use it).
	// Default http:// + Addr.
	PublicURL string
	// MaxSites caps the number of sites; 0 means unlimited.
	MaxSites int
	// ShutdownTimeout is how long in-flight requests get on shutdown.
	ShutdownTimeout time.Duration
	// NotifyTimeout bounds one POST to a notification channel (Slack).
	// Default 10 s.
	NotifyTimeout time.Duration
	// DBTimeout bounds each database call on the hot path (scheduler
	// claims, outbox relay passes, the schedule sync), so a half-open
	// connection stalls them for this long, not for the TCP timeout; a
	// call cut off is reported on /healthz and /metrics. Default 5 s.
	DBTimeout time.Duration
	// BatchDelay is how long the writer of checks waits for more checks
	// to store in the same transaction (monitor.Options.BatchDelay); 0
	// is the engine's default (20 ms on SQLite, 300 ms on PostgreSQL).
	BatchDelay time.Duration
	// ReadTimeout bounds reading a whole request, body included, so a
	// body that trickles is cut off. Default 20 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response once it starts, so a client
	// that never reads cannot pin a handler; live streams (SSE) bound each
	// write instead. Default 30 s.
	WriteTimeout time.Duration
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// CORSOrigins are the other origins (https://app.example) whose
	// browsers may call /site and /status and make state-changing
	// requests. Default none.
	CORSOrigins []string
	// APITokens are read-write bearer tokens; ReadTokens read-only ones.
	// With any set, the API requires them (see docs/security.md).
	APITokens  []string
	ReadTokens []string
	// PublicRead lets reads through without a token.
	PublicRead bool
	// SessionIdle ends a dashboard session after this long without a
	// request. Default 12 h.
	SessionIdle time.Duration
	// SessionLifetime ends a dashboard session this long after sign-in
	// whatever its use. Default 7 days.
	SessionLifetime time.Duration
	// OIDCIssuer turns on single sign-on with this OpenID Connect
	// provider (its issuer URL); the client secret is the secret
	// OIDCClientSecret. Default off.
	OIDCIssuer string
	// OIDCClientID is upmon's client id at the provider.
	OIDCClientID string
	// OIDCRoleClaim names the ID token claim holding the role (owner,
	// editor, viewer). Default "role".
	OIDCRoleClaim string
	// OIDCDefaultRole is the role of a new sign-on user whose token has
	// no valid role claim. Default viewer.
	OIDCDefaultRole string
	// AuditRetention is how long audit records are kept. Default 365 d.
	AuditRetention time.Duration
	// InsecureNoAuth allows listening on a non-loopback address without
	// any token.
	InsecureNoAuth bool
	// DenyPrivateTargets refuses checks of loopback, private, link-local,
	// multicast and unspecified addresses.
	DenyPrivateTargets bool
	// DNSResolver is the DNS server (host:port) dns: checks without a
	// server of their own ask. The operator chose it, so
	// DenyPrivateTargets does not refuse it (its answers are still
	// checked). Default: the system's, from /etc/resolv.conf.
	DNSResolver string
	// RateLimit is the requests per second each client may make to /ping
	// and /check; RateBurst the burst. Defaults 10 and 20.
	RateLimit float64
	RateBurst int
	// Tracing turns on OpenTelemetry tracing: spans of API requests,
	// checks, transactions, outbox, broker and notifier, kept in memory
	// for the dashboard's trace page (/frontend/traces). Default off; on
	// whenever OTLPEndpoint is set.
	Tracing bool
	// OTLPEndpoint is the OTLP/HTTP base URL (http://collector:4318)
	// spans are exported to. Default OTEL_EXPORTER_OTLP_ENDPOINT, else
	// none. The SDK reads the other OTEL_* variables (service name,
	// sampler, headers) itself at start-up.
	OTLPEndpoint string
	// TraceMax and TraceMaxBytes bound the recent traces kept in memory
	// when tracing is on. Defaults 500 traces and 16 MiB.
	TraceMax      int
	TraceMaxBytes int64
	// Env is the process environment captured once at start-up (secrets
	// read their overrides from it); nothing reads os.Getenv later.
	Env []string
	// LocationConfig: checks from several locations (config_locations.go).
	LocationConfig
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Addr:             "127.0.0.1:4000",
		DataDir:          "./upmon-data",
		PingTimeout:      10 * time.Second,
		CheckConcurrency: 8,
		CheckInterval:    5 * time.Minute,
		NATSPrefix:       "upmon",
		NATSReplicas:     1,
		RetryMinBackoff:  10 * time.Second,
		RetryMaxBackoff:  10 * time.Minute,
		RetryMaxAttempts: 100,
		AckDeadline:      30 * time.Second,
		DeadLetterMax:    10000,
		DeadLetterMaxAge: 30 * 24 * time.Hour,
		ShutdownTimeout:  10 * time.Second,
		LogLevel:         "info",

		ReadTimeout:          20 * time.Second,
		WriteTimeout:         30 * time.Second,
		SessionIdle:          12 * time.Hour,
		SessionLifetime:      7 * 24 * time.Hour,
		AuditRetention:       365 * 24 * time.Hour,
		OIDCRoleClaim:        "role",
		OIDCDefaultRole:      "viewer",
		NotifyTimeout:        10 * time.Second,
		DBTimeout:            5 * time.Second,
		RateLimit:            10,
		RateBurst:            20,
		SchedulerConcurrency: 4096,
		RawRetention:         7 * 24 * time.Hour,
		RollupRetention:      400 * 24 * time.Hour,
		TraceMax:             500,
		TraceMaxBytes:        16 << 20,
		LocationConfig:       defaultLocationConfig(),
	}
}

// option describes one configuration setting.
type option struct {
	name  string
	usage string
	bind  func(fs *flag.FlagSet, c *Config)
}

var serveOptions = append([]option{
	{"addr", "HTTP listen address", func(fs *flag.FlagSet, c *Config) { fs.StringVar(&c.Addr, "addr", c.Addr, "") }},
	{"data-dir", "directory for SQLite files, the embedded broker and secrets", func(fs *flag.FlagSet, c *Config) { fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "") }},
	{"database-url", "postgres:// URL; empty uses SQLite files in the data dir", func(fs *flag.FlagSet, c *Config) { fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "") }},
	{"ping-timeout", "time limit of one check or ping", func(fs *flag.FlagSet, c *Config) { fs.DurationVar(&c.PingTimeout, "ping-timeout", c.PingTimeout, "") }},
	{"check-concurrency", "most checks running at once in a sweep", func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.CheckConcurrency, "check-concurrency", c.CheckConcurrency, "")
	}},
	{"check-interval", "default interval of every site and period of the check-all job (divides 24h, >= 1s)", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.CheckInterval, "check-interval", c.CheckInterval, "")
	}},
	{"nats-url", "external NATS URL; empty runs an embedded broker", func(fs *flag.FlagSet, c *Config) { fs.StringVar(&c.NATSURL, "nats-url", c.NATSURL, "") }},
	{"nats-prefix", "prefix of stream, consumer and bucket names", func(fs *flag.FlagSet, c *Config) { fs.StringVar(&c.NATSPrefix, "nats-prefix", c.NATSPrefix, "") }},
	{"nats-replicas", "stream replicas on an external NATS cluster", func(fs *flag.FlagSet, c *Config) { fs.IntVar(&c.NATSReplicas, "nats-replicas", c.NATSReplicas, "") }},
	{"retry-min-backoff", "first retry delay of a failed event delivery", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.RetryMinBackoff, "retry-min-backoff", c.RetryMinBackoff, "")
	}},
	{"retry-max-backoff", "largest retry delay", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.RetryMaxBackoff, "retry-max-backoff", c.RetryMaxBackoff, "")
	}},
	{"retry-max-attempts", "delivery attempts before dead-lettering, the first included", func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.RetryMaxAttempts, "retry-max-attempts", c.RetryMaxAttempts, "")
	}},
	{"ack-deadline", "deadline of one event delivery; unacknowledged events are redelivered a little after it", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.AckDeadline, "ack-deadline", c.AckDeadline, "")
	}},
	{"deadletter-max", "most dead letters kept; one more drops the oldest", func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.DeadLetterMax, "deadletter-max", c.DeadLetterMax, "")
	}},
	{"deadletter-max-age", "how long a dead letter is kept", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.DeadLetterMaxAge, "deadletter-max-age", c.DeadLetterMaxAge, "")
	}},
	{"scheduler-concurrency", "most scheduled checks in flight at once", func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.SchedulerConcurrency, "scheduler-concurrency", c.SchedulerConcurrency, "")
	}},
	{"raw-retention", "how long raw checks are kept", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.RawRetention, "raw-retention", c.RawRetention, "")
	}},
	{"rollup-retention", "how long hourly and daily rollups are kept", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.RollupRetention, "rollup-retention", c.RollupRetention, "")
	}},
	{"public-url", "base URL users reach upmon at (push URLs); default http://ADDR", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "")
	}},
	{"max-sites", "most sites that may be added (0: unlimited)", func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.MaxSites, "max-sites", c.MaxSites, "")
	}},
	{"api-token", "comma-separated read-write bearer tokens (prefer the variable)", func(fs *flag.FlagSet, c *Config) {
		fs.Var((*tokenList)(&c.APITokens), "api-token", "")
	}},
	{"read-token", "comma-separated read-only bearer tokens (prefer the variable)", func(fs *flag.FlagSet, c *Config) {
		fs.Var((*tokenList)(&c.ReadTokens), "read-token", "")
	}},
	{"public-read", "let reads through without a token", func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.PublicRead, "public-read", c.PublicRead, "")
	}},
	{"session-idle", "a dashboard session ends after this long without a request", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.SessionIdle, "session-idle", c.SessionIdle, "")
	}},
	{"session-lifetime", "a dashboard session ends this long after sign-in", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.SessionLifetime, "session-lifetime", c.SessionLifetime, "")
	}},
	{"oidc-issuer", "OpenID Connect issuer URL for single sign-on (client secret: the secret OIDCClientSecret)", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "")
	}},
	{"oidc-client-id", "client id of upmon at the OpenID Connect provider", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "")
	}},
	{"oidc-role-claim", "ID token claim holding the role (owner, editor, viewer)", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.OIDCRoleClaim, "oidc-role-claim", c.OIDCRoleClaim, "")
	}},
	{"oidc-default-role", "role of a new single sign-on user without a role claim", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.OIDCDefaultRole, "oidc-default-role", c.OIDCDefaultRole, "")
	}},
	{"audit-retention", "how long audit records are kept", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention, "")
	}},
	{"insecure-no-auth", "allow a non-loopback --addr without any token", func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.InsecureNoAuth, "insecure-no-auth", c.InsecureNoAuth, "")
	}},
	{"deny-private-targets", "refuse checks of loopback, private, link-local and multicast addresses", func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.DenyPrivateTargets, "deny-private-targets", c.DenyPrivateTargets, "")
	}},
	{"dns-resolver", "DNS server (host:port) of dns: checks without their own; default from /etc/resolv.conf", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.DNSResolver, "dns-resolver", c.DNSResolver, "")
	}},
	{"rate-limit", "requests per second per client to /ping and /check", func(fs *flag.FlagSet, c *Config) {
		fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "")
	}},
	{"rate-burst", "burst of --rate-limit", func(fs *flag.FlagSet, c *Config) {
		fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "")
	}},
	{"notify-timeout", "time limit of one POST to Slack", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.NotifyTimeout, "notify-timeout", c.NotifyTimeout, "")
	}},
	{"db-timeout", "time limit of one database call of the scheduler, outbox relays and schedule sync", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.DBTimeout, "db-timeout", c.DBTimeout, "")
	}},
	{"batch-delay", "how long the writer waits to gather checks into one transaction (0: 20ms on SQLite, 300ms on PostgreSQL)", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.BatchDelay, "batch-delay", c.BatchDelay, "")
	}},
	{"read-timeout", "time limit for reading a request, body included", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "")
	}},
	{"write-timeout", "time limit for a client to read a response (live streams excepted)", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "")
	}},
	{"shutdown-timeout", "time in-flight requests get on shutdown", func(fs *flag.FlagSet, c *Config) {
		fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "")
	}},
	{"cors-origins", "comma-separated origins allowed to call the API from browsers", func(fs *flag.FlagSet, c *Config) {
		fs.Var((*originList)(&c.CORSOrigins), "cors-origins", "")
	}},
	{"log-level", "debug, info, warn or error", func(fs *flag.FlagSet, c *Config) { fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "") }},
	{"tracing", "record OpenTelemetry traces (recent ones on /frontend/traces); on when --otlp-endpoint is set", func(fs *flag.FlagSet, c *Config) {
		fs.BoolVar(&c.Tracing, "tracing", c.Tracing, "")
	}},
	{"otlp-endpoint", "OTLP/HTTP base URL traces are exported to (default $OTEL_EXPORTER_OTLP_ENDPOINT)", func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "")
	}},
	{"trace-max", "most recent traces kept in memory", func(fs *flag.FlagSet, c *Config) { fs.IntVar(&c.TraceMax, "trace-max", c.TraceMax, "") }},
	{"trace-max-bytes", "most bytes of recent traces kept in memory", func(fs *flag.FlagSet, c *Config) {
		fs.Int64Var(&c.TraceMaxBytes, "trace-max-bytes", c.TraceMaxBytes, "")
	}},
}, locationOptions...)

// originList is a comma-separated list flag.
// tokenList is a comma-separated list of tokens; it never prints them.
type tokenList []string

func (l *tokenList) String() string {
	if l == nil || len(*l) == 0 {
		return ""
	}
	return "(set)"
}

func (l *tokenList) Set(v string) error {
	*l = nil
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if len(t) < 16 {
				return errors.New("each token must be at least 16 characters")
			}
			*l = append(*l, t)
		}
	}
	return nil
}

type originList []string

func (l *originList) String() string { return strings.Join(*l, ",") }

func (l *originList) Set(v string) error {
	*l = nil
	for o := range strings.SplitSeq(v, ",") {
		if o = strings.TrimSpace(o); o != "" {
			*l = append(*l, strings.TrimSuffix(o, "/"))
		}
	}
	return nil
}

// EnvName returns the environment variable of a flag: UPMON_ + upper snake.
func EnvName(flagName string) string {
	return "UPMON_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// UsageError is a configuration or command-line mistake; the program
// prints it on one line and exits 2.
type UsageError struct{ Msg string }

// Error implements error.
func (e *UsageError) Error() string { return e.Msg }

// ParseConfig reads flags from args and UPMON_* variables from env over
// the defaults, then validates the result. It returns the remaining
// arguments.
func ParseConfig(name string, args, env []string) (Config, []string, error) {
	c := DefaultConfig()
	c.Env = env
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, o := range serveOptions {
		o.bind(fs, &c)
	}
	if err := ApplyFlags(fs, args, env); err != nil {
		return c, nil, err
	}
	if c.OTLPEndpoint == "" {
		c.OTLPEndpoint = envToMap(env)["OTEL_EXPORTER_OTLP_ENDPOINT"]
	}
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), nil
}

// ApplyFlags parses args, then sets every flag not given on the command
// line from its UPMON_ variable.
func ApplyFlags(fs *flag.FlagSet, args, env []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		msg := err.Error()
		fs.VisitAll(func(f *flag.Flag) { // never echo a token
			if _, secret := f.Value.(*tokenList); secret && strings.Contains(msg, " for flag -"+f.Name+": ") {
				msg = "invalid value for --" + f.Name + ": " + cleanFlagErr(err)
			}
		})
		return &UsageError{Msg: msg}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	envMap := envToMap(env)
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || firstErr != nil {
			return
		}
		if v, ok := envMap[EnvName(f.Name)]; ok {
			if err := fs.Set(f.Name, v); err != nil {
				shown := fmt.Sprintf("%q", v)
				if _, secret := f.Value.(*tokenList); secret {
					shown = "(hidden)"
				}
				firstErr = &UsageError{Msg: fmt.Sprintf("invalid value %s for %s: %s", shown, EnvName(f.Name), cleanFlagErr(err))}
			}
		}
	})
	return firstErr
}

func cleanFlagErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func envToMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Validate checks the configuration's values.
func (c *Config) Validate() error {
	bad := func(flagName, format string, args ...any) error {
		return &UsageError{Msg: fmt.Sprintf("invalid --%s: ", flagName) + fmt.Sprintf(format, args...)}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return bad("addr", "%q is not host:port", c.Addr)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		return bad("data-dir", "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return bad("database-url", "must start with postgres://")
	}
	if c.PingTimeout <= 0 {
		return bad("ping-timeout", "must be positive")
	}
	if c.CheckConcurrency < 1 || c.CheckConcurrency > 10000 {
		return bad("check-concurrency", "must be between 1 and 10000")
	}
	if c.CheckInterval < time.Second || (24*time.Hour)%c.CheckInterval != 0 {
		return bad("check-interval", "must be at least 1s and divide 24h evenly")
	}
	if c.NATSURL != "" && !strings.Contains(c.NATSURL, "://") {
		return bad("nats-url", "must be a URL such as nats://127.0.0.1:4222")
	}
	if c.NATSPrefix == "" || strings.ContainsAny(c.NATSPrefix, ". *>\t") {
		return bad("nats-prefix", "must be non-empty without dots, spaces or wildcards")
	}
	if c.NATSReplicas < 1 || c.NATSReplicas > 5 {
		return bad("nats-replicas", "must be between 1 and 5")
	}
	if c.RetryMinBackoff <= 0 || c.RetryMaxBackoff < c.RetryMinBackoff {
		return bad("retry-min-backoff", "must be positive and not above --retry-max-backoff")
	}
	if c.RetryMaxAttempts < 1 {
		return bad("retry-max-attempts", "must be at least 1")
	}
	if c.AckDeadline <= 0 {
		return bad("ack-deadline", "must be positive")
	}
	if c.DeadLetterMax < 1 {
		return bad("deadletter-max", "must be at least 1")
	}
	if c.DeadLetterMaxAge < time.Minute {
		return bad("deadletter-max-age", "must be at least 1m")
	}
	if c.SchedulerConcurrency < 1 || c.SchedulerConcurrency > 100000 {
		return bad("scheduler-concurrency", "must be between 1 and 100000")
	}
	if c.RawRetention < time.Hour {
		return bad("raw-retention", "must be at least 1h")
	}
	if c.RollupRetention < c.RawRetention {
		return bad("rollup-retention", "must be at least --raw-retention")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return bad("public-url", "must start with http:// or https://")
	}
	if c.DNSResolver != "" {
		if _, _, err := net.SplitHostPort(c.DNSResolver); err != nil {
			return bad("dns-resolver", "%q is not host:port", c.DNSResolver)
		}
	}
	if c.MaxSites < 0 {
		return bad("max-sites", "must not be negative")
	}
	if err := c.LocationConfig.validate(bad); err != nil {
		return err
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 {
		return bad("rate-limit", "must be positive, with --rate-burst at least 1")
	}
	if c.OIDCIssuer != "" && (c.OIDCClientID == "" || !strings.HasPrefix(c.OIDCIssuer, "https://") && !strings.HasPrefix(c.OIDCIssuer, "http://")) {
		return bad("oidc-issuer", "must be an http(s) URL, with --oidc-client-id set")
	}
	if _, ok := api.ParseRole(c.OIDCDefaultRole); !ok {
		return bad("oidc-default-role", "must be owner, editor or viewer")
	}
	if c.OIDCRoleClaim == "" {
		return bad("oidc-role-claim", "must not be empty")
	}
	if c.AuditRetention < time.Hour {
		return bad("audit-retention", "must be at least 1h")
	}
	if c.SessionIdle < time.Second || c.SessionLifetime < c.SessionIdle {
		return bad("session-idle", "must be at least 1s and not above --session-lifetime")
	}
	if c.NotifyTimeout <= 0 {
		return bad("notify-timeout", "must be positive")
	}
	if c.DBTimeout < 10*time.Millisecond {
		return bad("db-timeout", "must be at least 10ms")
	}
	if c.BatchDelay < 0 || c.BatchDelay > 5*time.Second {
		return bad("batch-delay", "must be between 0 and 5s")
	}
	if c.ReadTimeout < 100*time.Millisecond {
		return bad("read-timeout", "must be at least 100ms")
	}
	if c.WriteTimeout < 100*time.Millisecond {
		return bad("write-timeout", "must be at least 100ms")
	}
	if c.ShutdownTimeout < 0 {
		return bad("shutdown-timeout", "must not be negative")
	}
	if err := web.ValidateOrigins(c.CORSOrigins); err != nil {
		return bad("cors-origins", "%s", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log-level", "must be debug, info, warn or error")
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("otlp-endpoint", "must be an http:// or https:// URL")
		}
	}
	if c.TraceMax < 1 || c.TraceMaxBytes < 1<<10 {
		return bad("trace-max", "must be at least 1, with --trace-max-bytes at least 1024")
	}
	return nil
}

// TracingOn reports whether traces are recorded: --tracing, or an OTLP
// endpoint to export them to.
func (c *Config) TracingOn() bool { return c.Tracing || c.OTLPEndpoint != "" }

// exposureError refuses a non-loopback --addr without access control:
// no service token, no user (users counts them) and no --insecure-no-auth.
func (c Config) exposureError(users int) error {
	if len(c.APITokens)+len(c.ReadTokens) > 0 || users > 0 || c.InsecureNoAuth || loopbackAddr(c.Addr) {
		return nil
	}
	return &UsageError{Msg: fmt.Sprintf("refusing to listen on %s without an access token or an account: "+
		"create an owner (upmon users add NAME --email E --role owner), set UPMON_API_TOKEN (see docs/security.md) or pass --insecure-no-auth", c.Addr)}
}

// loopbackAddr reports whether a listen address is on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FlagUsage returns the help text listing every serve flag.
func FlagUsage() string {
	var b strings.Builder
	d := DefaultConfig()
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	for _, o := range serveOptions {
		o.bind(fs, &d)
	}
	for _, o := range serveOptions {
		f := fs.Lookup(o.name)
		def := f.DefValue
		if d, err := time.ParseDuration(def); err == nil && def != "0" {
			def = site.Duration(d).String()
		}
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  --%-22s %s (env %s, default %s)\n", o.name, o.usage, EnvName(o.name), def)
	}
	return b.String()
}
