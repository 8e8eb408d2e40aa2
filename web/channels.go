package web

import (
	"context"
	"encoding/json"
	"time"

	"upmon/channels"
	"upmon/notify"
)

// ChannelSource is the channels service as the channels page and the
// site page use it; ChannelsStore adapts *channels.Service. Every call is
// made as the signed-in caller (the request's context), so the API's
// rules and the audit log apply as to the JSON API.
type ChannelSource interface {
	// ListChannels lists every channel, secrets masked, by id.
	ListChannels(ctx context.Context) ([]ChannelInfo, error)
	// GetChannel returns one channel or a not_found error.
	GetChannel(ctx context.Context, id int64) (*ChannelInfo, error)
	// CreateChannel adds a channel, like POST /channels. Invalid input
	// is an invalid_argument error naming the field in its details.
	CreateChannel(ctx context.Context, p *channels.Fields) (*ChannelInfo, error)
	// UpdateChannel changes the given fields, like PATCH /channels/{id}:
	// an omitted or masked secret keeps its stored value.
	UpdateChannel(ctx context.Context, p *channels.UpdateParams) (*ChannelInfo, error)
	// DeleteChannel removes a channel.
	DeleteChannel(ctx context.Context, id int64) error
	// TestChannel sends a test message now and answers the result.
	TestChannel(ctx context.Context, id int64) (*channels.TestResponse, error)
	// Kinds lists the kinds of channel, each with its settings.
	Kinds() []notify.Kind
}

// ChannelInfo is a channel as the dashboard shows it: the channels
// service's answer, secrets masked. It is read from the answer's JSON, so
// fields the service adds (managed_by) reach the page as they appear.
type ChannelInfo struct {
	// ID identifies the channel.
	ID int64 `json:"id"`
	// Name is unique.
	Name string `json:"name"`
	// Kind is the kind's name.
	Kind string `json:"kind"`
	// Settings are the kind's settings, every secret masked.
	Settings map[string]any `json:"settings"`
	// Events are the events the channel wants.
	Events []string `json:"events"`
	// Tags route sites having any of them to the channel.
	Tags []string `json:"tags"`
	// Default channels serve sites routed to no channel.
	Default bool `json:"default"`
	// Enabled channels receive messages.
	Enabled bool `json:"enabled"`
	// GroupAfter is how many waiting messages are sent as one.
	GroupAfter int `json:"group_after"`
	// Concurrency is how many messages it sends at once.
	Concurrency int `json:"concurrency"`
	// RemindEvery repeats "still down" ("" off).
	RemindEvery string `json:"remind_every"`
	// Template overrides the message text.
	Template string `json:"template"`
	// Status is the delivery state.
	Status ChannelStatus `json:"status"`
	// ManagedBy names what owns the channel's name and settings (the
	// SlackWebhookURL secret), "" for a channel of its own. Such a
	// channel's other fields may change; it cannot be deleted.
	ManagedBy string `json:"managed_by"`
}

// ChannelStatus is a channel's delivery state.
type ChannelStatus struct {
	// LastSuccessAt is when a message was last accepted.
	LastSuccessAt *time.Time `json:"last_success_at"`
	// LastError is the last delivery error, scrubbed of secrets by the
	// service.
	LastError string `json:"last_error"`
	// LastErrorAt is when it happened.
	LastErrorAt *time.Time `json:"last_error_at"`
	// Pending counts messages waiting or being retried.
	Pending int `json:"pending"`
	// DeadLetters counts messages given up on.
	DeadLetters int `json:"dead_letters"`
}

// ChannelsStore adapts the channels service to ChannelSource.
type ChannelsStore struct {
	// Service is the channels service.
	Service *channels.Service
	// Registry is its registry of kinds (the forms are built from it).
	Registry *notify.Registry
}

// ListChannels implements ChannelSource.
func (a ChannelsStore) ListChannels(ctx context.Context) ([]ChannelInfo, error) {
	l, err := a.Service.List(ctx, &struct{}{})
	if err != nil {
		return nil, err
	}
	var out []ChannelInfo
	if err := viaJSON(l.Channels, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetChannel implements ChannelSource.
func (a ChannelsStore) GetChannel(ctx context.Context, id int64) (*ChannelInfo, error) {
	return channelInfo(a.Service.Get(ctx, &channels.IDParams{ID: id}))
}

// CreateChannel implements ChannelSource.
func (a ChannelsStore) CreateChannel(ctx context.Context, p *channels.Fields) (*ChannelInfo, error) {
	return channelInfo(a.Service.Create(ctx, p))
}

// UpdateChannel implements ChannelSource.
func (a ChannelsStore) UpdateChannel(ctx context.Context, p *channels.UpdateParams) (*ChannelInfo, error) {
	return channelInfo(a.Service.Update(ctx, p))
}

// DeleteChannel implements ChannelSource.
func (a ChannelsStore) DeleteChannel(ctx context.Context, id int64) error {
	_, err := a.Service.Delete(ctx, &channels.IDParams{ID: id})
	return err
}

// TestChannel implements ChannelSource.
func (a ChannelsStore) TestChannel(ctx context.Context, id int64) (*channels.TestResponse, error) {
	return a.Service.Test(ctx, &channels.IDParams{ID: id})
}

// Kinds implements ChannelSource.
func (a ChannelsStore) Kinds() []notify.Kind { return a.Registry.Kinds() }

func channelInfo(c *channels.Channel, err error) (*ChannelInfo, error) {
	if err != nil {
		return nil, err
	}
	var out ChannelInfo
	if err := viaJSON(c, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// viaJSON converts an API answer to the dashboard's type through its
// JSON, as a client of the API would read it.
func viaJSON(v, dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
