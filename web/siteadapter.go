package web

import (
	"context"
	"encoding/json"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// SiteSettingsStore adapts the site service's settings (site.Settings,
// POST /site and PATCH /site/{id}) to SettingsSource. It goes through
// the same JSON the API takes, so the forms and the API validate alike.
type SiteSettingsStore struct {
	// Sites is the site service.
	Sites *site.Service
}

// SettingsOf implements SettingsSource.
func (a SiteSettingsStore) SettingsOf(s *site.Site) SiteSettings {
	out := siteSettings(s.Name, s.Settings)
	out.Kind = s.Kind
	return out
}

// StoredSettings implements SettingsSource with the site service's
// StoredSettings.
func (a SiteSettingsStore) StoredSettings(ctx context.Context, s *site.Site) (SiteSettings, error) {
	st, err := a.Sites.StoredSettings(ctx, s.ID)
	if err != nil {
		return SiteSettings{}, err
	}
	return siteSettings(s.Name, st), nil
}

// Defaults implements SettingsSource: the site service's defaults.
func (a SiteSettingsStore) Defaults() SiteSettings {
	return siteSettings("", site.Settings{}.Filled(a.Sites.Defaults()))
}

// siteSettings converts the site service's settings; FollowRedirects
// unset is true, its default.
func siteSettings(name string, st site.Settings) SiteSettings {
	out := SiteSettings{
		Name: name, Interval: st.Interval.D(), Timeout: st.Timeout.D(), Method: st.Method,
		Headers: st.Headers, Body: st.Body, ExpectedStatus: st.ExpectedStatus,
		FollowRedirects: st.FollowRedirects == nil || *st.FollowRedirects,
		Keyword:         st.Keyword, KeywordMode: st.KeywordMode, MaxLatency: st.MaxLatency.D(),
		FailureThreshold: st.FailureThreshold, SuccessThreshold: st.SuccessThreshold, Retries: st.Retries,
		Paused: st.Paused, Tags: st.Tags, WSSend: st.WSSend, Channels: st.Channels,
	}
	for _, as := range st.JSONPath {
		out.JSONPath = append(out.JSONPath, Assertion{Path: as.Path, Op: as.Op, Value: as.Value})
	}
	return out
}

// AddWithSettings implements SettingsSource.
func (a SiteSettingsStore) AddWithSettings(ctx context.Context, url string, c SettingsChange) (*site.Site, error) {
	body := settingsJSON(c)
	body["url"] = url
	var p site.AddParams
	if err := decode(body, &p); err != nil {
		return nil, err
	}
	return a.Sites.Add(ctx, &p)
}

// UpdateSettings implements SettingsSource. A change of no field is
// still a PATCH (it answers not_found for a deleted site).
func (a SiteSettingsStore) UpdateSettings(ctx context.Context, id int64, c SettingsChange) (*site.Site, error) {
	var p site.PatchParams
	if err := decode(settingsJSON(c), &p); err != nil {
		return nil, err
	}
	p.ID = id
	return a.Sites.Patch(ctx, &p)
}

func decode(body map[string]any, dst any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return api.DecodeJSON(data, dst)
}

// settingsJSON is the fields c names as the site API's JSON: an empty
// value is null, which resets the field to its default.
func settingsJSON(c SettingsChange) map[string]any {
	s := c.Settings
	dur := func(d time.Duration) any {
		if d == 0 {
			return nil
		}
		return d.String()
	}
	count := func(n int) any {
		if n == 0 {
			return nil
		}
		return n
	}
	orNull := func(v any, empty bool) any {
		if empty {
			return nil
		}
		return v
	}
	all := map[string]any{
		"name":              s.Name,
		"interval":          dur(s.Interval),
		"timeout":           dur(s.Timeout),
		"method":            orNull(s.Method, s.Method == ""),
		"headers":           orNull(s.Headers, len(s.Headers) == 0),
		"body":              orNull(s.Body, s.Body == ""),
		"expected_status":   orNull(s.ExpectedStatus, len(s.ExpectedStatus) == 0),
		"follow_redirects":  s.FollowRedirects,
		"keyword":           orNull(s.Keyword, s.Keyword == ""),
		"keyword_mode":      orNull(s.KeywordMode, s.KeywordMode == ""),
		"json_path":         orNull(s.JSONPath, len(s.JSONPath) == 0),
		"max_latency":       dur(s.MaxLatency),
		"failure_threshold": count(s.FailureThreshold),
		"success_threshold": count(s.SuccessThreshold),
		"retries":           count(s.Retries),
		"paused":            s.Paused,
		"tags":              orNull(s.Tags, len(s.Tags) == 0),
		"ws_send":           orNull(s.WSSend, s.WSSend == ""),
		"channels":          orNull(s.Channels, len(s.Channels) == 0),
	}
	out := make(map[string]any, len(c.Fields))
	for _, f := range c.Fields {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out
}
