package pubsub

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// closeGrace is how long Close lets running handlers finish before it
	// cancels their contexts.
	closeGrace = 5 * time.Second
	// opTimeout bounds one JetStream administrative call made in the
	// background (provisioning, dead-lettering, acks).
	opTimeout = 10 * time.Second
	// healthTimeout bounds Health.
	healthTimeout = 3 * time.Second
)

// Broker is a connection to NATS JetStream (embedded or external) together
// with the topics and subscriptions declared on it. Declare topics and
// subscriptions, then call Start; Close stops everything.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	srv     *server.Server // nil for an external NATS
	nc      *nats.Conn
	js      jetstream.JetStream
	metrics *metrics
	// openedAt is when Open was called; a stream created after it was
	// (re)created while this process runs (see deliverPolicy).
	openedAt time.Time

	connClosed chan struct{}
	// connected is closed and replaced whenever the connection is
	// (re)established, to wake loops waiting out a backoff.
	connMu    sync.Mutex
	connected chan struct{}

	// runCtx stops the consume loops and the provisioner; handlerCtx is the
	// parent of handler contexts and is cancelled only after a grace period.
	runCtx        context.Context
	stopRun       context.CancelFunc
	handlerCtx    context.Context
	stopHandlers  context.CancelFunc
	closing       atomic.Bool
	closeGrace    time.Duration
	loops         sync.WaitGroup
	handlers      sync.WaitGroup
	provisionErr  atomic.Pointer[error]
	deadLetterKV  atomic.Pointer[jetstream.KeyValue]
	closeOnce     sync.Once
	mu            sync.Mutex // guards the fields below
	topics        map[string]*topic
	subscriptions []*subscription
	started       bool
	closed        bool
}

// Open connects to NATS (starting the embedded server when Config.URL is
// empty). It does not create streams or consume anything yet: declare topics
// and subscriptions, then call Start. An external server that cannot be
// reached is not an error: the client keeps retrying in the background and
// Health reports it.
func Open(ctx context.Context, cfg Config) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "pubsub"),
		metrics:    newMetrics(cfg.Registerer),
		openedAt:   time.Now(),
		connClosed: make(chan struct{}),
		connected:  make(chan struct{}),
		closeGrace: closeGrace,
		topics:     map[string]*topic{},
	}
	b.runCtx, b.stopRun = context.WithCancel(context.Background())
	b.handlerCtx, b.stopHandlers = context.WithCancel(context.Background())

	var closedOnce sync.Once
	opts := []nats.Option{
		nats.Name("upmon"),
		nats.DrainTimeout(closeGrace),
		nats.ClosedHandler(func(*nats.Conn) { closedOnce.Do(func() { close(b.connClosed) }) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !b.closing.Load() {
				b.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Debug("nats reconnect attempt failed", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats reconnected", "server", redact(nc.ConnectedUrl()))
			b.signalConnected()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.log.Warn("nats async error", "err", err)
		}),
	}
	serverURL := cfg.URL
	if cfg.URL == "" {
		b.srv, err = startEmbedded(cfg.DataDir, b.log)
		if err != nil {
			return nil, err
		}
		serverURL = b.srv.ClientURL() // not dialled: the connection is in-process
		opts = append(opts, nats.InProcessServer(b.srv))
	} else {
		opts = append(opts,
			nats.ConnectHandler(func(nc *nats.Conn) {
				b.log.Info("nats connected", "server", redact(nc.ConnectedUrl()))
				b.signalConnected()
			}),
			nats.MaxReconnects(-1),
			nats.RetryOnFailedConnect(true),
			nats.CustomReconnectDelay(reconnectDelay),
			// No buffering while disconnected: a publish must fail
			// rather than be sent later, after its caller gave up.
			nats.ReconnectBufSize(-1),
		)
	}
	b.nc, err = nats.Connect(serverURL, opts...)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("pubsub: connect to nats: %w", err)
	}
	b.js, err = jetstream.New(b.nc)
	if err != nil {
		b.nc.Close()
		b.shutdownServer()
		return nil, fmt.Errorf("pubsub: jetstream: %w", err)
	}
	b.metrics.registerDeadLetterGauge(cfg.Registerer, b)
	if cfg.URL == "" {
		b.log.Info("embedded nats started", "store", filepath.Join(cfg.DataDir, "nats"))
	} else if !b.nc.IsConnected() {
		b.log.Warn("nats unreachable; retrying in the background", "server", redact(cfg.URL))
	}
	return b, nil
}

// reconnectDelay backs off from 100ms to 5s between reconnect attempts.
func reconnectDelay(attempts int) time.Duration {
	return jitter(retryDelay(attempts))
}

// retryDelay is the delay before the n-th consecutive retry of a background
// operation: 100ms doubling up to 5s.
func retryDelay(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// redact hides credentials in a server URL before it is logged.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// Close stops the consume loops, gives running handlers a few seconds to
// finish (then cancels their contexts), drains the connection and shuts the
// embedded server down. Messages whose handlers were cut short are
// redelivered. Close is idempotent.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.closing.Store(true)
		b.stopRun()
		b.loops.Wait()
		if !waitTimeout(&b.handlers, b.closeGrace) {
			b.log.Warn("cancelling handlers still running at close")
			b.stopHandlers()
			if !waitTimeout(&b.handlers, 2*time.Second) {
				b.log.Error("handlers ignored cancellation; closing anyway")
			}
		}
		b.stopHandlers()
		if err := b.nc.Drain(); err != nil {
			b.nc.Close()
		}
		select {
		case <-b.connClosed:
		case <-time.After(closeGrace + time.Second):
			b.nc.Close()
		}
		b.shutdownServer()
	})
	return nil
}

func (b *Broker) shutdownServer() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

// Health returns nil when the broker is connected and JetStream answers, and
// otherwise the reason it is not usable.
func (b *Broker) Health(ctx context.Context) error {
	if b.closing.Load() {
		return ErrClosed
	}
	if !b.nc.IsConnected() {
		return fmt.Errorf("pubsub: nats %s", b.nc.Status())
	}
	// A request in flight when the connection drops is answered by
	// nothing but its deadline: keep that short.
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("pubsub: jetstream: %w", err)
	}
	if p := b.provisionErr.Load(); p != nil {
		return fmt.Errorf("pubsub: provisioning: %w", *p)
	}
	return nil
}

// Conn returns the underlying NATS connection, for other platform packages
// (e.g. cron locks) that share it.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// JetStream returns the JetStream context of the connection.
func (b *Broker) JetStream() jetstream.JetStream { return b.js }

// Prefix returns the namespace prefix of every NATS name the broker uses.
func (b *Broker) Prefix() string { return b.cfg.Prefix }

// Replicas returns the replica count of the broker's streams and buckets
// (always 1 on the embedded server), for other platform packages that
// create their own (e.g. cron locks).
func (b *Broker) Replicas() int { return b.cfg.Replicas }

// waitTimeout waits for wg up to d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func (b *Broker) signalConnected() {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	close(b.connected)
	b.connected = make(chan struct{})
}

// pause waits for d, or less if the connection is re-established meanwhile,
// and reports whether ctx is still live.
func (b *Broker) pause(ctx context.Context, d time.Duration) bool {
	b.connMu.Lock()
	connected := b.connected
	b.connMu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-connected:
		return true
	case <-t.C:
		return true
	}
}
