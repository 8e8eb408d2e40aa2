// Package outbox implements the transactional outbox: a service inserts an
// event into its own outbox table in the same database transaction as the
// state change that caused it, and a Relay publishes the rows to the
// broker with the event's globally unique id as the deduplication key,
// then deletes them. A crash at any point neither loses an event (the row
// stays until published) nor duplicates one (the broker drops a second
// publish of the same id).
//
// A service that uses it creates, in one of its migrations, the table
//
//	CREATE TABLE outbox (id {{ID}}, event_id TEXT NOT NULL UNIQUE,
//	    topic TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL,
//	    trace_context TEXT NOT NULL DEFAULT '');
//
// trace_context holds the W3C traceparent of the inserting context (empty
// when tracing is off): the relay publishes the row under it, so the
// broker delivery and its handler continue the trace of the operation
// that committed the event, even on another replica.
//
// Rows are relayed in insertion order by one relay at a time per database,
// so events about one site reach the broker in the order they were
// committed. A pass reads a batch, publishes it, then deletes the
// published rows in a short transaction of its own: the broker is never
// called while a transaction is open, so a slow broker never holds
// SQLite's write lock (every check's commit would wait for it) nor a
// PostgreSQL row lock. On PostgreSQL, one relay at a time holds a
// session-level advisory lock for its whole pass (read, publish, delete),
// on a connection of its own; another replica's relay skips the pass. On
// SQLite (one process per database file) the passes of a relay never
// overlap.
//
// Every database call has a deadline (Config.Stall), so a half-open
// connection stalls a pass for seconds, not for the TCP timeout.
package outbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"upmon/platform/sqldb"
	"upmon/platform/stall"
	"upmon/platform/tracing"
)

// Insert adds an event to the outbox within tx, with the trace context of
// ctx (a span "outbox.insert" when ctx's span is recording).
func Insert(ctx context.Context, tx *sql.Tx, topic, eventID string, payload []byte, now time.Time) error {
	ctx, span := tracing.Child(ctx, "upmon/outbox", "outbox.insert "+topic, trace.SpanKindInternal)
	if span != nil {
		span.SetAttributes(attribute.String("messaging.destination.name", topic), attribute.String("messaging.message.id", eventID))
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (event_id, topic, payload, created_at, trace_context) VALUES ($1, $2, $3, $4, $5)`,
		eventID, topic, string(payload), now.UTC().UnixMilli(), tracing.Traceparent(ctx))
	if err != nil {
		err = fmt.Errorf("outbox insert: %w", err)
	}
	tracing.End(span, err)
	return err
}

// NewEventID returns a new globally unique, time-ordered event id (a
// UUIDv7): never a row id that restarts at 1 in a fresh database.
func NewEventID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// InsertEvent gives an event a new id, encodes build(id) as JSON and adds
// it to the outbox within tx. It returns the id.
func InsertEvent(ctx context.Context, tx *sql.Tx, topic string, now time.Time, build func(id string) any) (string, error) {
	id, err := NewEventID()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(build(id))
	if err != nil {
		return "", fmt.Errorf("outbox: encode %s event: %w", topic, err)
	}
	return id, Insert(ctx, tx, topic, id, payload, now)
}

// PublishFunc publishes one encoded event with its id as dedup key.
type PublishFunc func(ctx context.Context, id string, payload []byte) error

// Hooks lets tests stop the relay at a precise point to simulate a crash.
type Hooks struct {
	// AfterPublish, if set, runs after a row is published and before it
	// is deleted; a non-nil error aborts the pass as a crash would: no
	// row of the batch is deleted.
	AfterPublish func(eventID string) error
}

// Config configures a Relay.
type Config struct {
	// DB is the service database holding the outbox table. A process
	// runs one Relay per database: on SQLite, passes are kept apart by
	// the Relay itself.
	DB *sqldb.DB
	// Publishers maps topic names to their publish functions.
	Publishers map[string]PublishFunc
	// Poll is how often the relay looks for rows without being woken
	// (other replicas' rows, retries after a failure). Default 1 s.
	Poll time.Duration
	// Batch is the most rows relayed per transaction. Default 100.
	Batch int
	// Logger receives failures.
	Logger *slog.Logger
	// Registerer receives the backlog gauge; may be nil.
	Registerer prometheus.Registerer
	// Hooks are fault-injection points for tests.
	Hooks Hooks
	// Stall bounds each database call of the relay and reports the ones
	// cut off; nil gives each call stall.DefaultTimeout.
	Stall *stall.Watch
	// Tracer, if set, gives each publish a span "outbox.publish", a child
	// of the row's stored trace context; nil (tracing off) records none.
	// The row's trace context reaches the broker either way.
	Tracer trace.Tracer
}

// Relay moves outbox rows to the broker.
type Relay struct {
	cfg     Config
	wake    chan struct{}
	backlog prometheus.Gauge
	relayed prometheus.Counter
	errs    prometheus.Counter
	mu      sync.Mutex
	lastErr error
	passMu  sync.Mutex // one pass at a time
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// NewRelay returns a relay; call Start to run it.
func NewRelay(cfg Config) *Relay {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	labels := prometheus.Labels{"db": cfg.DB.Name}
	r := &Relay{
		cfg:  cfg,
		wake: make(chan struct{}, 1),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "upmon", Name: "outbox_backlog",
			Help: "Events committed to the outbox and not yet published.", ConstLabels: labels}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "upmon", Name: "outbox_relayed_total",
			Help: "Events published from the outbox.", ConstLabels: labels}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "upmon", Name: "outbox_relay_errors_total",
			Help: "Failed outbox relay passes.", ConstLabels: labels}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(r.backlog, r.relayed, r.errs)
	}
	return r
}

// SetPublisher sets the publish function of a topic; call before Start.
func (r *Relay) SetPublisher(topic string, pub PublishFunc) {
	if r.cfg.Publishers == nil {
		r.cfg.Publishers = map[string]PublishFunc{}
	}
	r.cfg.Publishers[topic] = pub
}

// Wake asks the relay to look for rows now (after a commit).
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start runs the relay until ctx ends or Stop is called.
func (r *Relay) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.cfg.Poll)
		defer t.Stop()
		backoff := time.Duration(0)
		for {
			n, err := r.RelayOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			r.setErr(err)
			if err != nil {
				r.errs.Inc()
				r.cfg.Logger.Warn("outbox relay failed; will retry", "db", r.cfg.DB.Name, "err", err)
				backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				continue
			}
			backoff = 0
			if n == r.cfg.Batch {
				continue // more rows are waiting
			}
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-t.C:
			}
		}
	}()
}

// Stop stops the relay and waits for it.
func (r *Relay) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// Name returns the name of the database the relay drains.
func (r *Relay) Name() string { return r.cfg.DB.Name }

// Err returns the last relay failure, or nil after a successful pass.
func (r *Relay) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *Relay) setErr(err error) {
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
}

type row struct {
	id      int64
	eventID string
	topic   string
	payload string
	trace   string // W3C traceparent, or ""
}

// RelayOnce publishes up to one batch of rows in order and deletes them. It
// returns how many rows it relayed. Rows published before a publish
// failure are deleted; the failed row and those after it stay for the
// next pass.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	release, leader, err := r.lead(ctx)
	if err != nil || !leader {
		return 0, err
	}
	defer release()
	batch, err := r.readBatch(ctx)
	if err != nil {
		return 0, err
	}
	sent, pubErr := r.publish(ctx, batch)
	if errors.Is(pubErr, errHook) {
		return 0, pubErr
	}
	if sent > 0 {
		if err := r.markSent(ctx, batch[:sent]); err != nil {
			return 0, err
		}
		r.relayed.Add(float64(sent))
	}
	if pubErr != nil {
		return sent, pubErr
	}
	if len(batch) < r.cfg.Batch {
		// The read saw every row and all are sent: nothing waits but
		// rows committed since, which the next pass counts. Counting
		// the table after every pass (every second, on every database)
		// was a steady share of PostgreSQL's work, a scan of the rows
		// deleted since the last vacuum.
		r.backlog.Set(0)
	} else {
		r.refreshBacklog(ctx)
	}
	return sent, nil
}

// errHook wraps an AfterPublish error.
var errHook = errors.New("outbox: after-publish hook")

// lead takes the relay lock: on PostgreSQL a session-level advisory lock
// held on a connection of its own until release (false when another
// relay holds it); on SQLite nothing beyond passMu.
func (r *Relay) lead(ctx context.Context) (release func(), ok bool, err error) {
	db := r.cfg.DB
	if db.Dialect != sqldb.Postgres {
		return func() {}, true, nil
	}
	var conn *sql.Conn
	err = r.cfg.Stall.Do(ctx, func(ctx context.Context) error {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conn = c
		return conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(db.Name)).Scan(&ok)
	})
	if err != nil || !ok {
		if conn != nil {
			discard(conn, err != nil)
		}
		return nil, false, err
	}
	return func() {
		// Unlock even when the pass's context is cancelled (Stop). The
		// unlock answering says nothing about the pass's calls, so it is
		// bounded but not observed.
		uctx, cancel := r.cfg.Stall.Context(context.WithoutCancel(ctx))
		defer cancel()
		var unlocked bool
		err := conn.QueryRowContext(uctx, `SELECT pg_advisory_unlock($1)`, lockKey(db.Name)).Scan(&unlocked)
		discard(conn, err != nil || !unlocked)
	}, true, nil
}

// discard returns conn to the pool, or closes it when it may still hold
// the relay lock (a session lock would outlive the pass on a pooled
// connection and stop every relay).
func discard(conn *sql.Conn, bad bool) {
	if bad {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = conn.Close()
}

// readBatch reads the oldest rows, outside any write transaction.
func (r *Relay) readBatch(ctx context.Context) ([]row, error) {
	var batch []row
	err := r.cfg.Stall.Do(ctx, func(ctx context.Context) error {
		batch = batch[:0]
		rows, err := r.cfg.DB.QueryContext(ctx,
			`SELECT id, event_id, topic, payload, trace_context FROM outbox ORDER BY id LIMIT $1`, r.cfg.Batch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x row
			if err := rows.Scan(&x.id, &x.eventID, &x.topic, &x.payload, &x.trace); err != nil {
				return err
			}
			batch = append(batch, x)
		}
		return rows.Err()
	})
	return batch, err
}

// publish publishes the batch in order, the event id as the broker's
// dedup key, and returns how many rows were published before an error.
func (r *Relay) publish(ctx context.Context, batch []row) (int, error) {
	for i, x := range batch {
		pub, ok := r.cfg.Publishers[x.topic]
		if !ok {
			return i, fmt.Errorf("outbox: no publisher for topic %q", x.topic)
		}
		if err := r.publishOne(ctx, pub, x); err != nil {
			return i, fmt.Errorf("publish %s: %w", x.topic, err)
		}
		if h := r.cfg.Hooks.AfterPublish; h != nil {
			if err := h(x.eventID); err != nil {
				return i, fmt.Errorf("%w: %w", errHook, err)
			}
		}
	}
	return len(batch), nil
}

// publishOne publishes x under its stored trace context, in a span of its
// own when tracing is on.
func (r *Relay) publishOne(ctx context.Context, pub PublishFunc, x row) error {
	ctx = tracing.WithTraceparent(ctx, x.trace)
	if r.cfg.Tracer == nil {
		return pub(ctx, x.eventID, []byte(x.payload))
	}
	ctx, span := r.cfg.Tracer.Start(ctx, "outbox.publish "+x.topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.destination.name", x.topic),
			attribute.String("messaging.message.id", x.eventID), attribute.String("db.namespace", r.cfg.DB.Name)))
	err := pub(ctx, x.eventID, []byte(x.payload))
	tracing.End(span, err)
	return err
}

// markSent deletes published rows in one short transaction.
func (r *Relay) markSent(ctx context.Context, sent []row) error {
	return r.cfg.Stall.Do(ctx, func(ctx context.Context) error {
		return r.cfg.DB.InTx(ctx, func(tx *sql.Tx) error {
			for _, x := range sent {
				if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = $1`, x.id); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (r *Relay) refreshBacklog(ctx context.Context) {
	if c, err := r.Backlog(ctx); err == nil {
		r.backlog.Set(float64(c))
	}
}

// Backlog returns the number of rows waiting to be published.
func (r *Relay) Backlog(ctx context.Context) (int64, error) {
	var c int64
	err := r.cfg.Stall.Do(ctx, func(ctx context.Context) error {
		return r.cfg.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&c)
	})
	return c, err
}

func lockKey(name string) int64 {
	var h int64 = 7340
	for _, c := range name {
		h = h*131 + int64(c)
	}
	return h
}
