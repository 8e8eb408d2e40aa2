package channels

import (
	"context"
	"time"

	"upmon/notify"
	"upmon/platform/api"
)

// TestResponse is the result of a test-send.
type TestResponse struct {
	// Status is "sent" or "failed".
	Status string `json:"status"`
	// Error is the service's refusal (never a secret), when failed.
	Error string `json:"error,omitempty"`
	// Permanent says a retry would be refused too.
	Permanent bool `json:"permanent,omitempty"`
	// RetryAfter is the delay the service asked for, in seconds.
	RetryAfter float64 `json:"retry_after,omitempty"`
}

// Test sends a test message (marked [test]) through the channel at once,
// outside its queue, and answers the result. The channel's last success or
// error is updated too.
func (s *Service) Test(ctx context.Context, p *IDParams) (*TestResponse, error) {
	r, err := s.load(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	cfg, err := s.build(r)
	if err != nil {
		return nil, err
	}
	m := notify.Message{Event: notify.EventDown, SiteName: "upmon test", URL: "https://example.com",
		State: "down", Reason: "a test-send from upmon", Time: s.now(), IncidentID: "test", Test: true}
	err = s.deliver(ctx, cfg, m)
	s.recordResult(ctx, r.ID, s.now(), errText(err))
	if err != nil {
		out := &TestResponse{Status: "failed", Error: err.Error(), Permanent: notify.IsPermanent(err)}
		if d, ok := notify.RetryAfter(err); ok {
			out.RetryAfter = d.Seconds()
		}
		return out, nil
	}
	return &TestResponse{Status: "sent"}, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// DeadLetter is a message a channel gave up on.
type DeadLetter struct {
	// ID identifies the delivery.
	ID int64 `json:"id"`
	// SiteID is the site it is about.
	SiteID int64 `json:"site_id"`
	// Message is what was to be sent.
	Message notify.Message `json:"message"`
	// Attempts is how many attempts were made.
	Attempts int `json:"attempts"`
	// Error is the last error.
	Error string `json:"error"`
	// CreatedAt is when it was queued.
	CreatedAt time.Time `json:"created_at"`
}

// DeadLettersResponse lists a channel's dead letters.
type DeadLettersResponse struct {
	// DeadLetters, oldest first; never nil.
	DeadLetters []DeadLetter `json:"dead_letters"`
}

// DeadLetters lists a channel's dead letters (at most 1000, oldest first).
func (s *Service) DeadLetters(ctx context.Context, p *IDParams) (*DeadLettersResponse, error) {
	if _, err := s.load(ctx, p.ID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, site_id, message, attempts, last_error, created_at FROM deliveries
		WHERE channel_id = $1 AND status = $2 ORDER BY id LIMIT 1000`, p.ID, statusDead)
	if err != nil {
		return nil, dbError("dead letters", err)
	}
	defer rows.Close()
	out := &DeadLettersResponse{DeadLetters: []DeadLetter{}}
	for rows.Next() {
		var d DeadLetter
		var msg string
		var created int64
		if err := rows.Scan(&d.ID, &d.SiteID, &msg, &d.Attempts, &d.Error, &created); err != nil {
			return nil, dbError("dead letters", err)
		}
		_ = jsonUnmarshal(msg, &d.Message)
		d.CreatedAt = time.UnixMilli(created).UTC()
		out.DeadLetters = append(out.DeadLetters, d)
	}
	return out, dbError("dead letters", rows.Err())
}

// ReplayResponse says how many dead letters were queued again.
type ReplayResponse struct {
	// Replayed counts them.
	Replayed int64 `json:"replayed"`
}

// Replay queues every dead letter of a channel again, with fresh attempts.
func (s *Service) Replay(ctx context.Context, p *IDParams) (*ReplayResponse, error) {
	if _, err := s.load(ctx, p.ID); err != nil {
		return nil, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = $1, attempts = 0, next_at = $2, claimed_until = 0
		WHERE channel_id = $3 AND status = $4`, statusPending, s.now().UnixMilli(), p.ID, statusDead)
	if err != nil {
		return nil, dbError("replay", err)
	}
	n, _ := res.RowsAffected()
	s.wake(p.ID)
	return &ReplayResponse{Replayed: n}, nil
}

var errNoAlert = api.Errorf(api.NotFound, "no open alert for this site and incident")
