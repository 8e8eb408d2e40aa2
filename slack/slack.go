// Package slack is the slack service: it turns uptime-transition events
// into messages posted to a Slack incoming webhook.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/monitor"
	"upmon/platform/api"
	"upmon/platform/pubsub"
	"upmon/site"
)

// SecretName is the secret holding the webhook URL (environment override
// SLACK_WEBHOOK_URL).
const SecretName = "SlackWebhookURL"

// SubscriptionName is the subscription on uptime-transition.
const SubscriptionName = "slack-notification"

// Sites is the part of the site service the slack service calls.
type Sites interface {
	// Get returns one site or a not_found error.
	Get(ctx context.Context, p *site.GetParams) (*site.Site, error)
}

// NotifyParams is the message to post.
type NotifyParams struct {
	// Text is the message, in Slack's mrkdwn.
	Text string `json:"text"`
}

// Hooks are fault-injection points for crash tests.
type Hooks struct {
	// AfterNotify, if set, runs after Slack accepted a message and before
	// the event is acknowledged.
	AfterNotify func(eventID string)
}

// Options configures the service.
type Options struct {
	// WebhookURL is the incoming webhook; empty disables posting (events
	// are still acknowledged).
	WebhookURL string
	// Sites lets the service skip events of deleted sites.
	Sites Sites
	// Timeout bounds one POST to Slack. Default 10 s.
	Timeout time.Duration
	// Logger receives delivery problems (never the webhook URL).
	Logger *slog.Logger
	// Registerer receives metrics; may be nil.
	Registerer prometheus.Registerer
	// Hooks are test fault-injection points.
	Hooks Hooks
}

// Service is the slack service.
type Service struct {
	opts   Options
	client *http.Client
	log    *slog.Logger
	sent   *prometheus.CounterVec

	mu      sync.Mutex
	lastSeq map[int64]int64
}

// New returns the slack service.
func New(opts Options) *Service {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		opts: opts,
		client: &http.Client{
			Timeout: opts.Timeout,
			Transport: &http.Transport{
				Proxy:                 nil,
				TLSHandshakeTimeout:   opts.Timeout,
				ResponseHeaderTimeout: opts.Timeout,
				MaxIdleConnsPerHost:   4,
				IdleConnTimeout:       90 * time.Second,
				ForceAttemptHTTP2:     true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log: opts.Logger,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "slack_notifications_total",
			Help: "Slack notification attempts, by result."}, []string{"result"}),
		lastSeq: map[int64]int64{},
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.sent)
	}
	if opts.WebhookURL == "" {
		s.log.Info("slack notifications disabled: no " + SecretName + " secret (set it with `upmon secret set " + SecretName + "` or SLACK_WEBHOOK_URL)")
	}
	return s
}

// Enabled reports whether a webhook is configured.
func (s *Service) Enabled() bool { return s.opts.WebhookURL != "" }

// Subscribe declares the slack-notification subscription.
func (s *Service) Subscribe(t *pubsub.Topic[*monitor.TransitionEvent]) error {
	_, err := pubsub.NewSubscription(t, SubscriptionName, pubsub.SubscriptionConfig[*monitor.TransitionEvent]{
		Handler: s.handle,
		// One site's notifications go out one at a time, in order.
		OrderingKey: func(ev *monitor.TransitionEvent) string {
			if ev == nil || ev.Site == nil {
				return ""
			}
			return strconv.FormatInt(ev.Site.ID, 10)
		},
	})
	return err
}

// Text returns the notification text of a transition. Its first line is
// the tutorial's, with the URL escaped the way Slack requires.
func Text(ev *monitor.TransitionEvent) string {
	u := Escape(ev.Site.URL)
	if ev.Up {
		return fmt.Sprintf("*%s is back up.*", u)
	}
	return fmt.Sprintf("*%s is down!*", u)
}

// Escape escapes &, < and > as Slack's mrkdwn requires.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (s *Service) handle(ctx context.Context, ev *monitor.TransitionEvent) error {
	if ev == nil || ev.Site == nil {
		return pubsub.Permanent(errors.New("transition event without a site"))
	}
	if !s.Enabled() {
		return nil
	}
	if s.opts.Sites != nil {
		if _, err := s.opts.Sites.Get(ctx, &site.GetParams{ID: ev.Site.ID}); api.IsCode(err, api.NotFound) {
			s.sent.WithLabelValues("site_deleted").Inc()
			return nil
		} else if err != nil {
			return err
		}
	}
	if s.stale(ev) {
		s.sent.WithLabelValues("stale").Inc()
		return nil
	}
	if err := s.Notify(ctx, &NotifyParams{Text: Text(ev)}); err != nil {
		return err
	}
	s.markSent(ev)
	if h := s.opts.Hooks.AfterNotify; h != nil {
		h(ev.ID)
	}
	return nil
}

// stale reports whether a newer transition of the same site was already
// delivered by this process.
func (s *Service) stale(ev *monitor.TransitionEvent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq[ev.Site.ID] >= ev.Seq && ev.Seq > 0
}

func (s *Service) markSent(ev *monitor.TransitionEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Seq > s.lastSeq[ev.Site.ID] {
		s.lastSeq[ev.Site.ID] = ev.Seq
	}
}

// Notify posts p.Text to the webhook. It is private to the process: never
// routed on the HTTP server. 5xx, 429 (honouring Retry-After) and network
// errors are retryable; 400, 403, 404 and 410 are permanent.
func (s *Service) Notify(ctx context.Context, p *NotifyParams) error {
	if !s.Enabled() {
		return nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		return pubsub.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		s.sent.WithLabelValues("invalid_webhook").Inc()
		return pubsub.Permanent(errors.New("slack: the webhook URL is invalid"))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.sent.WithLabelValues("network_error").Inc()
		// The error text of a failed request names the URL, which is a
		// secret: report only the class of failure.
		return fmt.Errorf("slack: request failed: %s", netReason(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		s.sent.WithLabelValues("ok").Inc()
		return nil
	case code == http.StatusTooManyRequests:
		s.sent.WithLabelValues("rate_limited").Inc()
		err := fmt.Errorf("slack: HTTP %d (rate limited)", code)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return pubsub.RetryAfter(err, d)
		}
		return err
	case code >= 500:
		s.sent.WithLabelValues("server_error").Inc()
		return fmt.Errorf("slack: HTTP %d", code)
	default:
		s.sent.WithLabelValues("rejected").Inc()
		return pubsub.Permanent(fmt.Errorf("slack: HTTP %d: the webhook rejected the message", code))
	}
}

func netReason(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "no such host", "EOF", "tls", "certificate"} {
		if strings.Contains(msg, s) {
			return s
		}
	}
	return "network error"
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Hour), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		return min(max(d, 0), time.Hour), true
	}
	return 0, false
}
