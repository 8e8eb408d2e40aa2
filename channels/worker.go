package channels

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"text/template"
	"time"

	"upmon/notify"
)

// Delivery states.
const (
	statusPending = "pending"
	statusDead    = "dead"
)

// maxBatch bounds the rows one look at a queue reads and one grouped
// message carries.
const maxBatch = 1000

// chanConfig is a channel ready to send.
type chanConfig struct {
	*record
	kind    notify.Kind
	ch      notify.Channel
	tmpl    *template.Template
	secrets []string
}

func (s *Service) build(r *record) (*chanConfig, error) {
	k, ok := s.opts.Kinds.Kind(r.Kind)
	if !ok {
		return nil, errUnknownKind(r.Kind)
	}
	st, err := k.Decode(r.Settings)
	if err != nil {
		return nil, err
	}
	ch, err := k.New(st, s.opts.Env)
	if err != nil {
		return nil, err
	}
	t, err := ParseTemplate(r.Template)
	if err != nil {
		return nil, err
	}
	return &chanConfig{record: r, kind: k, ch: ch, tmpl: t, secrets: k.SecretValues(st)}, nil
}

// worker drains one channel's queue with the channel's own concurrency.
type worker struct {
	s    *Service
	wake chan struct{}
	done chan struct{}
	quit context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	cfg      *chanConfig
	busy     int
	inflight map[int64]bool // sites with a send in flight
	paused   time.Time      // the service asked us to wait (Retry-After)
	failing  bool           // the queue could not be read (logged once); run goroutine only
}

func newWorker(s *Service, cfg *chanConfig) *worker {
	return &worker{s: s, cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{}), inflight: map[int64]bool{}}
}

func (w *worker) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	w.quit = cancel
	go w.run(ctx)
}

// stop ends the loop and waits for sends in flight.
func (w *worker) stop() {
	w.quit()
	<-w.done
}

func (w *worker) update(cfg *chanConfig) {
	w.mu.Lock()
	w.cfg = cfg
	w.mu.Unlock()
	w.poke()
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.wg.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		next := w.fill(ctx)
		t.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// row is a waiting delivery.
type row struct {
	id, site int64
	attempts int
	nextAt   int64
	claimed  bool
	message  string
	// traceparent continues the trace of the event that queued the row.
	traceparent string
}

// fill starts sends for free slots and returns when to look again.
func (w *worker) fill(ctx context.Context) time.Duration {
	poll := w.s.opts.Poll
	w.mu.Lock()
	cfg, free, paused := w.cfg, w.cfg.Concurrency-w.busy, w.paused
	w.mu.Unlock()
	now := w.s.now()
	// A disabled channel is routed nothing new, but what is queued (the
	// end of a problem it was told of) still goes.
	if free <= 0 || ctx.Err() != nil {
		return poll
	}
	if now.Before(paused) {
		return min(paused.Sub(now), poll)
	}
	rows, err := w.s.waiting(ctx, cfg.ID, now)
	if err != nil {
		if ctx.Err() == nil && !w.failing {
			w.s.log.Warn("channels: cannot read a channel's queue; retrying every poll", "channel", cfg.ID, "err", err)
		}
		w.failing = true
		return poll
	}
	w.failing = false
	w.s.m.pending.WithLabelValues(strconv.FormatInt(cfg.ID, 10)).Set(float64(len(rows)))
	w.mu.Lock()
	plan := planSends(rows, w.inflight, now.UnixMilli(), cfg.GroupAfter, free)
	w.mu.Unlock()
	for _, batch := range plan.batches {
		claimed, err := w.s.claim(ctx, cfg, batch, now.Add(w.s.opts.Lease))
		if errors.Is(err, errStaleConfig) {
			return w.reload(ctx, cfg, poll)
		}
		if err != nil || len(claimed) == 0 {
			continue
		}
		w.launch(ctx, cfg, claimed)
	}
	if plan.nextAt > 0 {
		return min(max(time.UnixMilli(plan.nextAt).Sub(now), time.Millisecond), poll)
	}
	return poll
}

// reload brings this replica's channels up to date after a claim found
// that cfg is no longer the channel as stored (changed or deleted through
// another replica since this one's last poll), and says when to fill
// again: at once when the worker now holds the new settings, otherwise
// (the change cannot be built here, or the channel is gone) at the next
// poll, sending nothing with the old settings meanwhile.
func (w *worker) reload(ctx context.Context, cfg *chanConfig, poll time.Duration) time.Duration {
	w.s.m.staleClaims.Inc()
	if err := w.s.syncWorkers(ctx); err != nil && ctx.Err() == nil {
		w.s.log.Warn("channels: cannot load the channel list", "err", err)
	}
	w.mu.Lock()
	changed := w.cfg != cfg
	w.mu.Unlock()
	if changed {
		return time.Millisecond
	}
	return poll
}

// launch sends a claimed batch (one message, or several as a group) in
// its own goroutine.
func (w *worker) launch(ctx context.Context, cfg *chanConfig, batch []row) {
	w.mu.Lock()
	w.busy++
	for _, r := range batch {
		w.inflight[r.site] = true
	}
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.send(ctx, cfg, batch)
		w.mu.Lock()
		w.busy--
		for _, r := range batch {
			delete(w.inflight, r.site)
		}
		w.mu.Unlock()
		w.poke()
	}()
}

// sendPlan is what fill decided: batches to claim (a batch of several
// rows is one grouped message) and when the earliest held-back row is due.
type sendPlan struct {
	batches [][]row
	nextAt  int64
}

// planSends picks the next sends of a channel. Per site only the oldest
// row may go, and not while another of the site's rows is in flight,
// claimed elsewhere or waiting for its retry (order per site). When more
// than groupAfter rows are ready, all of them go as one grouped message
// (a site's rows together, listing its latest state); otherwise one
// message per row, up to free slots.
func planSends(rows []row, inflight map[int64]bool, now int64, groupAfter, free int) sendPlan {
	var p sendPlan
	blocked := map[int64]bool{}
	var heads, ready []row
	for _, r := range rows {
		if inflight[r.site] || blocked[r.site] {
			blocked[r.site] = true
			continue
		}
		if r.claimed || r.nextAt > now {
			if !r.claimed && (p.nextAt == 0 || r.nextAt < p.nextAt) {
				p.nextAt = r.nextAt
			}
			blocked[r.site] = true
			continue
		}
		if !slicesHasSite(heads, r.site) {
			heads = append(heads, r)
		}
		ready = append(ready, r)
	}
	if len(ready) > groupAfter && free > 0 {
		p.batches = append(p.batches, ready[:min(len(ready), maxBatch)])
		return p
	}
	for _, h := range heads {
		if len(p.batches) == free {
			break
		}
		p.batches = append(p.batches, []row{h})
	}
	return p
}

func slicesHasSite(rs []row, site int64) bool {
	for _, r := range rs {
		if r.site == site {
			return true
		}
	}
	return false
}

// waiting reads a channel's pending rows, oldest first, without their
// messages (memory stays small however long the queue).
func (s *Service) waiting(ctx context.Context, channelID int64, now time.Time) ([]row, error) {
	rs, err := s.db.QueryContext(ctx, `SELECT id, site_id, attempts, next_at, claimed_until FROM deliveries
		WHERE channel_id = $1 AND status = $2 ORDER BY id LIMIT $3`, channelID, statusPending, 4*maxBatch)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var claimedUntil int64
		if err := rs.Scan(&r.id, &r.site, &r.attempts, &r.nextAt, &claimedUntil); err != nil {
			return nil, err
		}
		r.claimed = claimedUntil > now.UnixMilli()
		out = append(out, r)
	}
	return out, rs.Err()
}

// errStaleConfig is claim's answer when the channel was changed or
// deleted since the worker loaded it.
var errStaleConfig = errors.New("channels: the channel changed since it was loaded")

// claim takes rows for this replica until lease (compare-and-set, so two
// replicas never send the same row while the lease holds) and reads
// their messages. It first checks, in the same transaction, that cfg is
// still the channel as stored: a change committed through any replica
// before the claim is never sent with the old settings (errStaleConfig,
// nothing claimed).
func (s *Service) claim(ctx context.Context, cfg *chanConfig, batch []row, until time.Time) ([]row, error) {
	var out []row
	now := s.now().UnixMilli()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		var updated int64
		err := tx.QueryRowContext(ctx, `SELECT updated_at FROM channels WHERE id = $1`, cfg.ID).Scan(&updated)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && updated != cfg.UpdatedAt.UnixMilli()) {
			return errStaleConfig
		}
		if err != nil {
			return err
		}
		for _, r := range batch {
			res, err := tx.ExecContext(ctx, `UPDATE deliveries SET claimed_until = $1 WHERE id = $2 AND status = $3 AND claimed_until <= $4`,
				until.UnixMilli(), r.id, statusPending, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				continue
			}
			if err := tx.QueryRowContext(ctx, `SELECT message, traceparent FROM deliveries WHERE id = $1`, r.id).Scan(&r.message, &r.traceparent); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// decode turns a batch into the message to send: the row's message, or a
// grouped message with each site's latest state.
func decode(batch []row) (notify.Message, error) {
	var first notify.Message
	if err := json.Unmarshal([]byte(batch[0].message), &first); err != nil {
		return first, err
	}
	if len(batch) == 1 {
		return first, nil
	}
	latest := map[int64]int{}
	var g notify.Message
	for _, r := range batch {
		var m notify.Message
		if err := json.Unmarshal([]byte(r.message), &m); err != nil {
			return g, err
		}
		e := notify.GroupEntry{SiteID: m.SiteID, SiteName: m.SiteName, URL: m.URL, Event: m.Event, State: m.State,
			Reason: m.Reason, Time: m.Time, IncidentID: m.IncidentID}
		if i, ok := latest[m.SiteID]; ok {
			g.Group[i] = e
			continue
		}
		latest[m.SiteID] = len(g.Group)
		g.Group = append(g.Group, e)
	}
	g.Time = g.Group[len(g.Group)-1].Time
	return g, nil
}
