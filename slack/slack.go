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

// ServiceName is the slack service's name in the catalog.
const ServiceName = "slack"

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
	// MaxTracked is how many sites (per event kind) the service remembers
	// the last posted event of, to drop stale ones; the least recently
	// notified are forgotten first. Default DefaultMaxTracked.
	MaxTracked int
	// Routed, if set, reports that a site is routed to notification
	// channels of its own: the webhook (the implicit default Slack
	// channel) then skips its problems (down, degraded), but still tells
	// of their end.
	Routed func(ctx context.Context, siteID int64) bool
}

// Service is the slack service.
type Service struct {
	opts   Options
	client *http.Client
	log    *slog.Logger
	sent   *prometheus.CounterVec
	// tracked and evicted meter the sequence map.
	tracked prometheus.Gauge
	evicted prometheus.Counter
	seqs    *seqs
}

// New returns the slack service.
func New(opts Options) *Service {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = DefaultMaxTracked
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
		tracked: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "upmon", Name: "slack_seq_tracked",
			Help: "Sites (per event kind) whose last posted event the slack service remembers to drop stale ones."}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "upmon", Name: "slack_seq_evicted_total",
			Help: "Sites forgotten by the slack service's stale-event check because it remembered its maximum."}),
	}
	s.seqs = newSeqs(opts.MaxTracked, s.tracked, s.evicted)
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.sent, s.tracked, s.evicted)
	}
	if opts.WebhookURL == "" {
		s.log.Info("slack notifications disabled: no " + SecretName + " secret (set it with `upmon secret set " + SecretName + "` or SLACK_WEBHOOK_URL)")
	}
	return s
}

// Enabled reports whether a webhook is configured.
func (s *Service) Enabled() bool { return s.opts.WebhookURL != "" }

// Topics are the monitor's topics the service subscribes to.
type Topics struct {
	// Transitions carries down and back-up events.
	Transitions *pubsub.Topic[*monitor.TransitionEvent]
	// Degraded carries degraded and recovered events.
	Degraded *pubsub.Topic[*monitor.DegradedEvent]
	// Certs carries certificate-expiry warnings.
	Certs *pubsub.Topic[*monitor.CertExpiringEvent]
}

func siteKey(ref *site.Ref) string {
	if ref == nil {
		return ""
	}
	return strconv.FormatInt(ref.ID, 10)
}

// Subscribe declares the service's subscriptions: slack-notification on
// uptime-transition (the tutorial's), slack-degraded and slack-cert.
// One site's notifications go out one at a time, in order.
func (s *Service) Subscribe(t Topics) error {
	if _, err := pubsub.NewSubscription(t.Transitions, SubscriptionName, pubsub.SubscriptionConfig[*monitor.TransitionEvent]{
		Service:     ServiceName,
		Handler:     s.handle,
		OrderingKey: func(ev *monitor.TransitionEvent) string { return siteKey(ev.Site) },
	}); err != nil {
		return err
	}
	if t.Degraded != nil {
		if _, err := pubsub.NewSubscription(t.Degraded, "slack-degraded", pubsub.SubscriptionConfig[*monitor.DegradedEvent]{
			Service:     ServiceName,
			Handler:     s.handleDegraded,
			OrderingKey: func(ev *monitor.DegradedEvent) string { return siteKey(ev.Site) },
		}); err != nil {
			return err
		}
	}
	if t.Certs != nil {
		if _, err := pubsub.NewSubscription(t.Certs, "slack-cert", pubsub.SubscriptionConfig[*monitor.CertExpiringEvent]{
			Service: ServiceName,
			Handler: s.handleCert,
		}); err != nil {
			return err
		}
	}
	return nil
}

// Text returns the notification text of a transition. Its first line is
// the tutorial's, with the URL escaped the way Slack requires; the reason
// follows on the next line.
func Text(ev *monitor.TransitionEvent) string {
	u := siteURL(ev.Site)
	first := fmt.Sprintf("*%s is down!*", u)
	if ev.Up {
		first = fmt.Sprintf("*%s is back up.*", u)
	}
	return withReason(first, ev.Reason)
}

// DegradedText returns the notification text of a degraded event.
func DegradedText(ev *monitor.DegradedEvent) string {
	u := siteURL(ev.Site)
	first := fmt.Sprintf("*%s is no longer degraded.*", u)
	if ev.Degraded {
		first = fmt.Sprintf("*%s is degraded!*", u)
	}
	return withReason(first, ev.Reason)
}

// siteURL is how a notification names a site: its URL with the password
// and secret query values redacted (site.RedactURL), escaped for Slack.
func siteURL(ref *site.Ref) string { return Escape(site.RedactURL(ref.URL)) }

// CertText returns the notification text of a certificate warning.
func CertText(ev *monitor.CertExpiringEvent) string {
	when := fmt.Sprintf("in %d days", ev.DaysLeft)
	switch {
	case ev.DaysLeft == 1:
		when = "in 1 day"
	case ev.DaysLeft <= 0:
		when = "today"
	}
	return fmt.Sprintf("*The TLS certificate of %s expires %s.*\nIt expires on %s.",
		siteURL(ev.Site), when, ev.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))
}

func withReason(first, reason string) string {
	if reason == "" {
		return first
	}
	return first + "\n" + Escape(strings.ReplaceAll(reason, "\n", " "))
}

// Escape escapes &, < and > as Slack's mrkdwn requires.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (s *Service) handle(ctx context.Context, ev *monitor.TransitionEvent) error {
	if ev == nil || ev.Site == nil {
		return pubsub.Permanent(errors.New("transition event without a site"))
	}
	if !ev.Up && s.routedElsewhere(ctx, ev.Site) {
		s.sent.WithLabelValues("routed_elsewhere").Inc()
		return nil
	}
	return s.deliver(ctx, "transition", ev.ID, ev.Site, ev.Seq, ev.Maintenance, Text(ev))
}

func (s *Service) handleDegraded(ctx context.Context, ev *monitor.DegradedEvent) error {
	if ev == nil || ev.Site == nil {
		return pubsub.Permanent(errors.New("degraded event without a site"))
	}
	if ev.Degraded && s.routedElsewhere(ctx, ev.Site) {
		s.sent.WithLabelValues("routed_elsewhere").Inc()
		return nil
	}
	return s.deliver(ctx, "degraded", ev.ID, ev.Site, ev.Seq, ev.Maintenance, DegradedText(ev))
}

func (s *Service) handleCert(ctx context.Context, ev *monitor.CertExpiringEvent) error {
	if ev == nil || ev.Site == nil {
		return pubsub.Permanent(errors.New("cert event without a site"))
	}
	if s.routedElsewhere(ctx, ev.Site) {
		s.sent.WithLabelValues("routed_elsewhere").Inc()
		return nil
	}
	return s.deliver(ctx, "cert", ev.ID, ev.Site, 0, false, CertText(ev))
}

// deliver posts text unless Slack is off, the site is gone, the event is
// held back by maintenance, or a newer event of the same kind and site
// was already delivered (stale).
func (s *Service) deliver(ctx context.Context, kind, id string, ref *site.Ref, seq int64, maintenance bool, text string) error {
	if !s.Enabled() {
		return nil
	}
	if maintenance {
		s.sent.WithLabelValues("maintenance").Inc()
		return nil
	}
	if s.opts.Sites != nil {
		_, err := s.opts.Sites.Get(ctx, &site.GetParams{ID: ref.ID})
		switch {
		case api.IsCode(err, api.NotFound):
			s.sent.WithLabelValues("site_deleted").Inc()
			return nil
		case api.IsCode(err, api.Unavailable):
			// The site database is down: better to tell of an outage of
			// a site deleted meanwhile than to spend the retries.
			s.log.Warn("slack: cannot tell whether the site still exists; notifying anyway", "site", ref.ID)
		case err != nil:
			return err
		}
	}
	key := seqKey{kind, ref.ID}
	if s.seqs.stale(key, seq) {
		s.sent.WithLabelValues("stale").Inc()
		return nil
	}
	if err := s.Notify(ctx, &NotifyParams{Text: text}); err != nil {
		return err
	}
	s.seqs.markSent(key, seq)
	if h := s.opts.Hooks.AfterNotify; h != nil {
		h(id)
	}
	return nil
}

func (s *Service) routedElsewhere(ctx context.Context, ref *site.Ref) bool {
	return s.Enabled() && s.opts.Routed != nil && s.opts.Routed(ctx, ref.ID)
}

// Register routes the tutorial's test endpoint, POST /slack.Notify
// ({"Text": "…"}): it posts the text to the webhook and answers {}. It is
// an admin endpoint: loopback only, or a read-write token once tokens are
// configured.
func (s *Service) Register(srv *api.Server) {
	api.Register(srv, "slack", api.Admin, "POST /slack.Notify", func(ctx context.Context, p *NotifyParams) (*struct{}, error) {
		if !s.Enabled() {
			return nil, api.Errorf(api.FailedPrecondition, "no Slack webhook: set the "+SecretName+" secret")
		}
		if strings.TrimSpace(p.Text) == "" {
			return nil, api.FieldError("Text", "is required")
		}
		if err := s.Notify(ctx, p); err != nil {
			return nil, api.Errorf(api.Unavailable, "%s", err.Error())
		}
		return &struct{}{}, nil
	})
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
