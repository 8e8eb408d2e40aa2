package channels

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"upmon/notify"
	"upmon/platform/api"
	"upmon/platform/tracing"
	"upmon/site"
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
// the service's Retry-After (and pauses the whole channel that long). The
// rows and the channel's status (last success, last error) change in one
// transaction, so the status never shows half an outcome.
func (w *worker) send(ctx context.Context, cfg *chanConfig, batch []row) {
	s := w.s
	label := strconv.FormatInt(cfg.ID, 10)
	if batch = s.dropDeletedSites(ctx, cfg.ID, batch); len(batch) == 0 {
		return
	}
	m, err := decode(batch)
	if err == nil {
		err = s.deliverTraced(ctx, cfg, m, batch)
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
		s.settle(ctx, cfg.ID, ids, now, "", `DELETE FROM deliveries WHERE id = $1`)
		return
	}
	text := err.Error()
	attempts := batch[0].attempts + 1
	if notify.IsPermanent(err) || attempts >= s.opts.Retry.MaxAttempts {
		s.m.sent.WithLabelValues(label, "dead").Add(float64(len(batch)))
		s.log.Warn("channels: message given up (dead letter)", "channel", cfg.ID, "attempts", attempts, "err", text)
		s.settle(ctx, cfg.ID, ids, now, text,
			`UPDATE deliveries SET status = $2, attempts = $3, last_error = $4, claimed_until = 0 WHERE id = $1`,
			statusDead, attempts, text)
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
	s.settle(ctx, cfg.ID, ids, now, text,
		`UPDATE deliveries SET attempts = $2, next_at = $3, last_error = $4, claimed_until = 0 WHERE id = $1`,
		attempts, now.Add(delay).UnixMilli(), text)
}

// dropDeletedSites removes from the queue the rows of sites deleted since
// they were routed (a site deleted while its alert waits for a retry is
// not notified) and returns the rest. When the site service cannot say,
// the rows go: better an alert about a deleted site than a lost one.
func (s *Service) dropDeletedSites(ctx context.Context, channelID int64, batch []row) []row {
	gone := map[int64]bool{}
	for _, r := range batch {
		if r.site == 0 || gone[r.site] {
			continue
		}
		if _, err := s.opts.Sites.Get(ctx, &site.GetParams{ID: r.site}); api.IsCode(err, api.NotFound) {
			gone[r.site] = true
		}
	}
	if len(gone) == 0 {
		return batch
	}
	keep := batch[:0:0]
	var drop []int64
	for _, r := range batch {
		if gone[r.site] {
			drop = append(drop, r.id)
		} else {
			keep = append(keep, r)
		}
	}
	s.m.sent.WithLabelValues(strconv.FormatInt(channelID, 10), "site_deleted").Add(float64(len(drop)))
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, id := range drop {
			if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id = $1`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("channels: cannot drop the deliveries of a deleted site", "channel", channelID, "err", err)
	}
	return keep
}

// deliverTraced sends m in a span that continues the trace of the event
// that queued the batch's first row (the others are linked), when the
// service has a tracer.
func (s *Service) deliverTraced(ctx context.Context, cfg *chanConfig, m notify.Message, batch []row) (err error) {
	ctx = tracing.WithTraceparent(ctx, batch[0].traceparent)
	if s.opts.Tracer == nil {
		return s.deliver(ctx, cfg, m)
	}
	var links []trace.Link
	for _, r := range batch[1:] {
		if sc := trace.SpanContextFromContext(tracing.WithTraceparent(context.Background(), r.traceparent)); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := s.opts.Tracer.Start(ctx, "channels.deliver", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int64("upmon.channel.id", cfg.ID), attribute.String("upmon.channel.kind", cfg.Kind),
			attribute.Int("upmon.channel.batch", len(batch))))
	defer func() { tracing.End(span, err) }()
	return s.deliver(ctx, cfg, m)
}

// settle runs q (with $1 the id) for each id and records the channel's
// last success (errText "") or last error, in one transaction. If it
// fails, the lease runs out and the rows are tried again (at least once).
func (s *Service) settle(ctx context.Context, channelID int64, ids []int64, at time.Time, errText, q string, args ...any) {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, q, append([]any{id}, args...)...); err != nil {
				return err
			}
		}
		var err error
		if errText == "" {
			_, err = tx.ExecContext(ctx, `UPDATE channels SET last_success_at = $1 WHERE id = $2`, at.UnixMilli(), channelID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE channels SET last_error = $1, last_error_at = $2 WHERE id = $3`, errText, at.UnixMilli(), channelID)
		}
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("channels: cannot record a delivery", "channel", channelID, "err", err)
	}
}
