// Package opsgenie is the Opsgenie kind of notification channel: a
// problem creates an alert (POST /v2/alerts), its end closes it by alias
// (POST /v2/alerts/{alias}/close?identifierType=alias); the alias is
// derived from the site and incident ids.
package opsgenie

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/incident/opsgenie"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "opsgenie"

// DefaultAPIURL is Opsgenie's US API; the EU one is
// https://api.eu.opsgenie.com.
const DefaultAPIURL = "https://api.opsgenie.com"

// Settings are an Opsgenie channel's settings.
type Settings struct {
	// APIKey is an API integration's key (secret).
	APIKey string `json:"api_key"`
	// Priority overrides the alert priority (P1 … P5); empty picks it
	// from the event: P1 for down, P3 for warnings.
	Priority string `json:"priority,omitempty"`
	// Tags are added to every alert (besides "upmon" and the event).
	Tags []string `json:"tags,omitempty"`
	// APIURL is the API's base URL; default DefaultAPIURL.
	APIURL string `json:"api_url,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if s.Priority != "" {
		if err := notify.OneOf("priority", s.Priority, "P1", "P2", "P3", "P4", "P5"); err != nil {
			return err
		}
	}
	return notify.First(notify.Required("api_key", s.APIKey), notify.CheckURL("api_url", s.APIURL, true))
}

// Kind returns the Opsgenie kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Opsgenie",
		Secrets:  []notify.Secret{{Name: "api_key"}},
		Schemes:  []string{"opsgenie"},
		Defaults: func() *Settings { return &Settings{APIURL: DefaultAPIURL} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses opsgenie://host[:port]/apiKey[?priority=P2&tags=a,b].
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.APIKey == "" {
		return nil, notify.Fieldf("url", "is not a valid Opsgenie URL (opsgenie://api.opsgenie.com/apiKey)")
	}
	s := &Settings{APIKey: c.APIKey, Priority: c.Priority, Tags: c.Tags, APIURL: DefaultAPIURL}
	if u.Host != "" {
		s.APIURL = "https://" + u.Host
	}
	return s, nil
}

// Channel creates and closes alerts of one integration.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Alert is the body of a create request.
type Alert struct {
	// Message, Alias, Description, Details, Entity, Source, Priority and
	// Tags as the Alert API defines them.
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority"`
	Tags        []string          `json:"tags"`
}

// Send creates an alert for a problem and closes it at its end; a
// test-send creates a P5 alert and closes it at once; a grouped message
// gives one alert per site.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	for _, one := range notify.Split(m) {
		alias := notify.IncidentKey(one)
		if one.Event.Problem() || one.Test {
			if err := c.post(ctx, "v2/alerts", c.alert(one, alias)); err != nil {
				return err
			}
		}
		if !one.Event.Problem() || one.Test {
			path := "v2/alerts/" + url.PathEscape(alias) + "/close?identifierType=alias"
			if err := c.post(ctx, path, map[string]string{"source": "upmon", "note": notify.Subject(one)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Channel) alert(m notify.Message, alias string) Alert {
	prio := c.s.Priority
	switch {
	case m.Test:
		prio = "P5"
	case prio != "":
	case notify.Severity(m) == "critical":
		prio = "P1"
	default:
		prio = "P3"
	}
	details := map[string]string{"url": m.URL, "event": string(m.Event)}
	if m.IncidentLink != "" {
		details["incident"] = m.IncidentLink
	}
	return Alert{
		Message: notify.Truncate(notify.Subject(m), 130), Alias: alias,
		Description: notify.Truncate(strings.Join(notify.Details(m), "\n"), 15000), Details: details,
		Entity: m.URL, Source: "upmon", Priority: prio,
		Tags: append([]string{"upmon", string(m.Event)}, c.s.Tags...),
	}
}

func (c *Channel) post(ctx context.Context, path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{URL: notify.JoinURL(c.s.APIURL, path), Body: body,
		Header: http.Header{"Authorization": {"GenieKey " + c.s.APIKey}}, Secrets: []string{c.s.APIKey}})
	return err
}
