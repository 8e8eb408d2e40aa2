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
//	    topic TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL);
//
// Rows are relayed in insertion order by one relay at a time per database
// (an advisory lock on PostgreSQL; SQLite has a single process), so events
// about one site reach the broker in the order they were committed.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/sqldb"
)

// Insert adds an event to the outbox within tx.
func Insert(ctx context.Context, tx *sql.Tx, topic, eventID string, payload []byte, now time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (event_id, topic, payload, created_at) VALUES ($1, $2, $3, $4)`,
		eventID, topic, string(payload), now.UTC().UnixMilli())
	if err != nil {
		return fmt.Errorf("outbox insert: %w", err)
	}
	return nil
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
	// is deleted; a non-nil error aborts the batch (the row stays).
	AfterPublish func(eventID string) error
}

// Config configures a Relay.
type Config struct {
	// DB is the service database holding the outbox table.
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
}

// errNotLeader means another replica holds the relay lock.
var errNotLeader = errors.New("outbox: another relay is active")

// RelayOnce publishes up to one batch of rows in order and deletes them. It
// returns how many rows it relayed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	db := r.cfg.DB
	n := 0
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if db.Dialect == sqldb.Postgres {
			var ok bool
			if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockKey(db.Name)).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return errNotLeader
			}
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT id, event_id, topic, payload FROM outbox ORDER BY id LIMIT $1`, r.cfg.Batch)
		if err != nil {
			return err
		}
		var batch []row
		for rows.Next() {
			var x row
			if err := rows.Scan(&x.id, &x.eventID, &x.topic, &x.payload); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, x := range batch {
			pub, ok := r.cfg.Publishers[x.topic]
			if !ok {
				return fmt.Errorf("outbox: no publisher for topic %q", x.topic)
			}
			if err := pub(ctx, x.eventID, []byte(x.payload)); err != nil {
				return fmt.Errorf("publish %s: %w", x.topic, err)
			}
			if h := r.cfg.Hooks.AfterPublish; h != nil {
				if err := h(x.eventID); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = $1`, x.id); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if errors.Is(err, errNotLeader) {
		err = nil
		n = 0
	}
	if err == nil {
		r.relayed.Add(float64(n))
		r.refreshBacklog(ctx)
	}
	return n, err
}

func (r *Relay) refreshBacklog(ctx context.Context) {
	var c int64
	if err := r.cfg.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&c); err == nil {
		r.backlog.Set(float64(c))
	}
}

// Backlog returns the number of rows waiting to be published.
func (r *Relay) Backlog(ctx context.Context) (int64, error) {
	var c int64
	err := r.cfg.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&c)
	return c, err
}

func lockKey(name string) int64 {
	var h int64 = 7340
	for _, c := range name {
		h = h*131 + int64(c)
	}
	return h
}
