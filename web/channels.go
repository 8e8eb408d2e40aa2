package web

import (
	"context"

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
// service's answer, secrets masked.
type ChannelInfo = channels.Channel

// ChannelStatus is a channel's delivery state.
type ChannelStatus = channels.Status

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
	return l.Channels, nil
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
	return c, nil
}
