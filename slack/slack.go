// Package slack is the slack service of the tutorial. Its notifications
// are the channels service's now: the SlackWebhookURL secret (or
// SLACK_WEBHOOK_URL) defines the implicit default Slack channel
// (channels.EnsureImplicitSlack), so a down or up reaches Slack through
// the same per-channel queue as every other channel, in order per site
// across replicas, grouped in storms, retried and dead-lettered. The
// service keeps the tutorial's test endpoint, POST /slack.Notify.
package slack

import (
	"context"
	"strings"

	"upmon/platform/api"
)

// SecretName is the secret holding the webhook URL (environment override
// SLACK_WEBHOOK_URL).
const SecretName = "SlackWebhookURL"

// ServiceName is the slack service's name in the catalog.
const ServiceName = "slack"

// NotifyParams is the message to post.
type NotifyParams struct {
	// Text is the message, in Slack's mrkdwn.
	Text string `json:"text"`
}

// Options configures the service.
type Options struct {
	// PostToChannels sends a text as given to every enabled Slack channel
	// of the channels service (the implicit SlackWebhookURL channel
	// included) and returns how many accepted it.
	PostToChannels func(ctx context.Context, text string) (int, error)
}

// Service is the slack service.
type Service struct {
	opts Options
}

// New returns the slack service.
func New(opts Options) *Service {
	return &Service{opts: opts}
}

// Register routes the tutorial's test endpoint, POST /slack.Notify
// ({"Text": "…"}): it posts the text to every enabled Slack channel (the
// SlackWebhookURL secret's among them) and answers {}. It is an admin
// endpoint: loopback only, or a read-write token once tokens are
// configured.
func (s *Service) Register(srv *api.Server) {
	api.Register(srv, ServiceName, api.Admin, "POST /slack.Notify", s.Notify)
}

// Notify is POST /slack.Notify: the text goes, as given, to every enabled
// Slack channel; it answers {} once all accepted it, unavailable (with
// each failing channel's scrubbed error) when one did not, and
// failed_precondition when there is no Slack channel at all.
func (s *Service) Notify(ctx context.Context, p *NotifyParams) (*struct{}, error) {
	if strings.TrimSpace(p.Text) == "" {
		return nil, api.FieldError("Text", "is required")
	}
	reached := 0
	var err error
	if s.opts.PostToChannels != nil {
		reached, err = s.opts.PostToChannels(ctx, p.Text)
	}
	if err != nil {
		return nil, api.Errorf(api.Unavailable, "%s", err.Error())
	}
	if reached == 0 {
		return nil, api.Errorf(api.FailedPrecondition, "no Slack channel: set the "+SecretName+" secret or add a Slack channel")
	}
	return &struct{}{}, nil
}
