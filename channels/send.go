package channels

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"upmon/notify"
)

func errUnknownKind(kind string) error { return fmt.Errorf("channels: unknown kind %q", kind) }

// deliver renders m for cfg (its template, if any) and sends it, bounded
// by SendTimeout. The error text is scrubbed of the channel's secrets.
func (s *Service) deliver(ctx context.Context, cfg *chanConfig, m notify.Message) error {
	if cfg.tmpl != nil {
		text, err := Render(cfg.tmpl, m)
		if err != nil {
			return notify.Permanent(fmt.Errorf("template: %s", err))
		}
		m.Text = text
		if m.Test && !strings.HasPrefix(text, "[test]") {
			m.Text = "[test] " + text
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.SendTimeout)
	defer cancel()
	start := time.Now()
	err := cfg.ch.Send(ctx, m)
	s.m.latency.WithLabelValues(strconv.FormatInt(cfg.ID, 10)).Observe(time.Since(start).Seconds())
	if err != nil {
		return scrubbed{err: err, text: notify.Redact(err.Error(), cfg.secrets...)}
	}
	return nil
}

// scrubbed is an error whose text has the channel's secrets masked; it
// keeps the original for IsPermanent and RetryAfter.
type scrubbed struct {
	err  error
	text string
}

func (e scrubbed) Error() string { return e.text }
func (e scrubbed) Unwrap() error { return e.err }

// send delivers a claimed batch and records the outcome: a success
// removes the rows; a permanent refusal, or the last attempt, makes them
// dead letters; any other error schedules a retry after the backoff or
// the service's Retry-After (and pauses the whole channel that long).
func (w *worker) send(ctx context.Context, cfg *chanConfig, batch []row) {
	s := w.s
	label := strconv.FormatInt(cfg.ID, 10)
	m, err := decode(batch)
	if err == nil {
		err = s.deliver(ctx, cfg, m)
	} else {
		err = notify.Permanent(fmt.Errorf("stored message: %w", err))
	}
	if ctx.Err() != nil && err != nil {
		return // shutting down: the lease runs out and another attempt follows
	}
	now := s.now()
	ids := make([]int64, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	if err == nil {
		if h := s.opts.Hooks.AfterSend; h != nil {
			h(cfg.ID)
		}
		s.m.sent.WithLabelValues(label, "sent").Add(float64(len(batch)))
		if len(batch) > 1 {
			s.m.grouped.WithLabelValues(label).Inc()
		}
		s.finish(ctx, ids)
		s.recordResult(ctx, cfg.ID, now, "")
		return
	}
	text := err.Error()
	s.recordResult(ctx, cfg.ID, now, text)
	attempts := batch[0].attempts + 1
	if notify.IsPermanent(err) || attempts >= s.opts.Retry.MaxAttempts {
		s.m.sent.WithLabelValues(label, "dead").Add(float64(len(batch)))
		s.log.Warn("channels: message given up (dead letter)", "channel", cfg.ID, "attempts", attempts, "err", text)
		s.bury(ctx, ids, attempts, text)
		return
	}
	delay := s.opts.Retry.backoff(attempts)
	if d, ok := notify.RetryAfter(err); ok {
		delay = d
		w.mu.Lock()
		w.paused = now.Add(d)
		w.mu.Unlock()
		s.m.sent.WithLabelValues(label, "rate_limited").Add(float64(len(batch)))
	} else {
		s.m.sent.WithLabelValues(label, "failed").Add(float64(len(batch)))
	}
	s.log.Info("channels: delivery failed; will retry", "channel", cfg.ID, "attempts", attempts, "in", delay, "err", text)
	s.retryLater(ctx, ids, attempts, now.Add(delay), text)
}

func (s *Service) finish(ctx context.Context, ids []int64) {
	s.updateRows(ctx, ids, `DELETE FROM deliveries WHERE id = $1`)
}

func (s *Service) bury(ctx context.Context, ids []int64, attempts int, text string) {
	s.updateRows(ctx, ids, `UPDATE deliveries SET status = $2, attempts = $3, last_error = $4, claimed_until = 0 WHERE id = $1`,
		statusDead, attempts, text)
}

func (s *Service) retryLater(ctx context.Context, ids []int64, attempts int, at time.Time, text string) {
	s.updateRows(ctx, ids, `UPDATE deliveries SET attempts = $2, next_at = $3, last_error = $4, claimed_until = 0 WHERE id = $1`,
		attempts, at.UnixMilli(), text)
}

// updateRows runs q (with $1 the id) for each id in one transaction. If
// it fails, the lease runs out and the rows are tried again
// (at-least-once).
func (s *Service) updateRows(ctx context.Context, ids []int64, q string, args ...any) {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, q, append([]any{id}, args...)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("channels: cannot record a delivery", "err", err)
	}
}
