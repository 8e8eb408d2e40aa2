package pubsub

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied to zero Config, TopicConfig and SubscriptionConfig fields.
const (
	// DefaultPrefix is the default Config.Prefix.
	DefaultPrefix = "upmon"
	// DefaultMinBackoff is the default RetryPolicy.MinBackoff.
	DefaultMinBackoff = 10 * time.Second
	// DefaultMaxBackoff is the default RetryPolicy.MaxBackoff.
	DefaultMaxBackoff = 10 * time.Minute
	// DefaultMaxAttempts is the default RetryPolicy.MaxAttempts.
	DefaultMaxAttempts = 100
	// DefaultAckDeadline is the default Config.AckDeadline.
	DefaultAckDeadline = 30 * time.Second
	// DefaultMaxAge is the default TopicConfig.MaxAge.
	DefaultMaxAge = 7 * 24 * time.Hour
	// DefaultDuplicateWindow is the default TopicConfig.DuplicateWindow.
	DefaultDuplicateWindow = time.Hour
	// DefaultMaxConcurrency is the default SubscriptionConfig.MaxConcurrency.
	DefaultMaxConcurrency = 16
	// DefaultDeadLetterMax is the default Config.DeadLetterMax.
	DefaultDeadLetterMax = 10000
	// DefaultDeadLetterMaxAge is the default Config.DeadLetterMaxAge.
	DefaultDeadLetterMaxAge = 30 * 24 * time.Hour
)

// Config configures the broker. Zero values mean defaults.
type Config struct {
	// URL is the external NATS server URL (several may be given, separated
	// by commas). Empty means an embedded in-process nats-server with
	// JetStream that stores under DataDir/nats and listens on no port.
	// The client reconnects to an external server forever, with backoff.
	URL string
	// DataDir is where the embedded server stores its streams; required
	// when URL is empty, unused otherwise.
	DataDir string
	// Prefix namespaces every stream, consumer, KV bucket and subject, so
	// several installations or test runs can share one NATS. It may hold
	// letters, digits, '-' and '_'. Default "upmon".
	Prefix string
	// Replicas is the stream replica count on an external NATS cluster
	// (default 1). The embedded server always uses 1.
	Replicas int
	// Retry is the operator's default retry policy for subscriptions that
	// leave fields zero. Zero fields here mean 10s / 10min / 100 attempts.
	Retry RetryPolicy
	// AckDeadline is the default handler deadline (default 30s).
	AckDeadline time.Duration
	// DeadLetterMax is how many dead letters the store keeps (default
	// 10000); storing one more drops the oldest.
	DeadLetterMax int
	// DeadLetterMaxAge is how long a dead letter is kept (default 30 days).
	DeadLetterMaxAge time.Duration
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the broker's metrics; nil registers them nowhere.
	// The global default registry is never used implicitly.
	Registerer prometheus.Registerer
}

// RetryPolicy says how a failed message is retried. The delay after the n-th
// failed attempt is MinBackoff·2^(n-1), capped at MaxBackoff.
type RetryPolicy struct {
	// MinBackoff is the delay after the first failed attempt.
	MinBackoff time.Duration
	// MaxBackoff caps the delay between attempts.
	MaxBackoff time.Duration
	// MaxAttempts counts all attempts, the first included; when it is
	// reached the message is dead-lettered.
	MaxAttempts int
}

// withDefaults fills zero fields from def.
func (p RetryPolicy) withDefaults(def RetryPolicy) RetryPolicy {
	if p.MinBackoff == 0 {
		p.MinBackoff = def.MinBackoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = def.MaxBackoff
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	return p
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MinBackoff < 0 || p.MaxBackoff < 0 || p.MaxAttempts < 0:
		return errors.New("retry policy fields must not be negative")
	case p.MinBackoff > p.MaxBackoff:
		return fmt.Errorf("retry MinBackoff %v is above MaxBackoff %v", p.MinBackoff, p.MaxBackoff)
	}
	return nil
}

// backoff returns the delay after the given failed attempt (1-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// withDefaults returns cfg with defaults applied, or an error when it is
// invalid.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(cfg.Prefix) {
		return cfg, fmt.Errorf("pubsub: invalid prefix %q: want 1-32 letters, digits, '-' or '_'", cfg.Prefix)
	}
	if cfg.URL == "" && cfg.DataDir == "" {
		return cfg, errors.New("pubsub: DataDir is required for the embedded NATS server")
	}
	switch {
	case cfg.Replicas < 0 || cfg.Replicas > 5:
		return cfg, fmt.Errorf("pubsub: replicas %d out of range 1..5", cfg.Replicas)
	case cfg.Replicas == 0 || cfg.URL == "":
		cfg.Replicas = 1
	}
	cfg.Retry = cfg.Retry.withDefaults(RetryPolicy{DefaultMinBackoff, DefaultMaxBackoff, DefaultMaxAttempts})
	if err := cfg.Retry.validate(); err != nil {
		return cfg, fmt.Errorf("pubsub: %w", err)
	}
	if cfg.AckDeadline < 0 {
		return cfg, errors.New("pubsub: AckDeadline must not be negative")
	}
	if cfg.AckDeadline == 0 {
		cfg.AckDeadline = DefaultAckDeadline
	}
	if cfg.DeadLetterMax < 0 || cfg.DeadLetterMaxAge < 0 {
		return cfg, errors.New("pubsub: DeadLetterMax and DeadLetterMaxAge must not be negative")
	}
	if cfg.DeadLetterMax == 0 {
		cfg.DeadLetterMax = DefaultDeadLetterMax
	}
	if cfg.DeadLetterMaxAge == 0 {
		cfg.DeadLetterMaxAge = DefaultDeadLetterMaxAge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
