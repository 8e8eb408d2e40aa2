package channels

import (
	"context"
	"encoding/json"
	"time"
)

// Channel is a channel as the API shows it: secrets masked.
type Channel struct {
	// ID identifies the channel.
	ID int64 `json:"id"`
	// Name is unique.
	Name string `json:"name"`
	// Kind is the kind's name ("slack", "pagerduty", …).
	Kind string `json:"kind"`
	// Settings are the kind's settings with every secret masked.
	Settings map[string]any `json:"settings"`
	// Events are the events the channel wants.
	Events []string `json:"events"`
	// Tags route sites with any of these tags to the channel.
	Tags []string `json:"tags"`
	// Default channels serve sites that name no channel.
	Default bool `json:"default"`
	// Enabled channels receive messages.
	Enabled bool `json:"enabled"`
	// GroupAfter is how many waiting messages make the channel group them.
	GroupAfter int `json:"group_after"`
	// Concurrency is how many messages the channel sends at once.
	Concurrency int `json:"concurrency"`
	// RemindEvery repeats "still down" while a site stays down ("" off).
	RemindEvery string `json:"remind_every"`
	// Template overrides the message text ("" for the kind's own).
	Template string `json:"template"`
	// CreatedAt and UpdatedAt are when it was created and last changed.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Status is its delivery state.
	Status Status `json:"status"`
	// ManagedBy names the secret that defines the channel's name and
	// settings ("SlackWebhookURL" for the implicit Slack channel), which
	// then cannot be changed or deleted through the API; omitted for
	// channels made through the API.
	ManagedBy string `json:"managed_by,omitempty"`
}

// Status is a channel's delivery state.
type Status struct {
	// LastSuccessAt is when a message was last accepted.
	LastSuccessAt *time.Time `json:"last_success_at"`
	// LastError is the last delivery error (never a secret).
	LastError string `json:"last_error"`
	// LastErrorAt is when it happened.
	LastErrorAt *time.Time `json:"last_error_at"`
	// Pending counts messages waiting or being retried.
	Pending int `json:"pending"`
	// DeadLetters counts messages given up on.
	DeadLetters int `json:"dead_letters"`
}

// Fields are a channel's writable fields; in an update, absent (nil)
// fields stay as they are.
type Fields struct {
	// Name is unique, 1-100 characters.
	Name *string `json:"name"`
	// Kind is a kind's name; it cannot change.
	Kind *string `json:"kind"`
	// URL is the notification URL form, instead of Kind and Settings.
	URL *string `json:"url"`
	// Settings are the kind's settings; in an update, omitted or masked
	// secrets keep their stored values.
	Settings json.RawMessage `json:"settings"`
	// Events it wants; default all.
	Events *[]string `json:"events"`
	// Tags route sites having any of them to the channel.
	Tags *[]string `json:"tags"`
	// Default serves sites that name no channel.
	Default *bool `json:"default"`
	// Enabled; default true.
	Enabled *bool `json:"enabled"`
	// GroupAfter; default 10.
	GroupAfter *int `json:"group_after"`
	// Concurrency; default 4.
	Concurrency *int `json:"concurrency"`
	// RemindEvery, such as "1h"; "" or "0" is off.
	RemindEvery *string `json:"remind_every"`
	// Template overrides the message text.
	Template *string `json:"template"`
}

// IDParams name a channel.
type IDParams struct {
	// ID is the channel id from the path.
	ID int64 `path:"id"`
}

// UpdateParams are a channel id and the fields to change.
type UpdateParams struct {
	// ID is the channel id from the path.
	ID int64 `path:"id"`
	Fields
}

// ListResponse lists channels.
type ListResponse struct {
	// Channels, by id; never nil.
	Channels []Channel `json:"channels"`
}

// ListKinds lists the kinds with their secret settings.
func (s *Service) ListKinds(_ context.Context, _ *struct{}) (*KindsResponse, error) {
	out := &KindsResponse{Kinds: []KindInfo{}}
	for _, k := range s.opts.Kinds.Kinds() {
		ki := KindInfo{Name: k.Name, Title: k.Title, Secrets: []string{}, Schemes: k.Schemes}
		for _, sec := range k.Secrets {
			ki.Secrets = append(ki.Secrets, sec.Name)
		}
		out.Kinds = append(out.Kinds, ki)
	}
	return out, nil
}

// KindsResponse lists the channel kinds.
type KindsResponse struct {
	// Kinds, by name.
	Kinds []KindInfo `json:"kinds"`
}

// KindInfo describes a kind for clients (the dashboard's form).
type KindInfo struct {
	// Name is the kind's name in the API.
	Name string `json:"name"`
	// Title is its human name.
	Title string `json:"title"`
	// Secrets are its write-only settings.
	Secrets []string `json:"secrets"`
	// Schemes are its URL-form schemes.
	Schemes []string `json:"schemes"`
}
