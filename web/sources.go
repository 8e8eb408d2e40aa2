package web

import (
	"context"
	"encoding/json"
	"time"

	"upmon/monitor"
	"upmon/site"
)

// SiteSource is the part of the site service the dashboard calls;
// *site.Service implements it.
type SiteSource interface {
	// Add validates and stores a new site.
	Add(ctx context.Context, p *site.AddParams) (*site.Site, error)
	// Get returns one site or a not_found error.
	Get(ctx context.Context, p *site.GetParams) (*site.Site, error)
	// List returns every site ordered by id.
	List(ctx context.Context, p *site.ListParams) (*site.ListResponse, error)
	// Delete removes a site; absent ids are not an error.
	Delete(ctx context.Context, p *site.GetParams) (*site.Empty, error)
}

// MonitorSource is the part of the monitor service the dashboard reads;
// *monitor.Service implements it (the types in history.go are aliases of
// the monitor's).
type MonitorSource interface {
	// CheckSite checks a site now and records the result.
	CheckSite(ctx context.Context, s *site.Site) (*monitor.CheckResult, error)
	// Overview returns the latest state and recent checks of every
	// checked site, keyed by site id, in one call.
	Overview(ctx context.Context) (map[int64]*SiteOverview, error)
	// SiteOverviewOf returns one site's row of Overview, reading only
	// that site's state; a site never checked has state unknown.
	SiteOverviewOf(ctx context.Context, siteID int64) (*SiteOverview, error)
	// SiteChecks returns a site's recent checks, newest first.
	SiteChecks(ctx context.Context, p *ChecksParams) (*ChecksResponse, error)
	// SiteUptime returns a site's uptime over a window (24h, 7d, 30d, …).
	SiteUptime(ctx context.Context, p *UptimeParams) (*UptimeResponse, error)
	// SiteIncidents returns a site's down periods, newest first.
	SiteIncidents(ctx context.Context, p *IncidentsParams) (*IncidentsResponse, error)
	// SiteLatency returns a site's response-time series over a window.
	SiteLatency(ctx context.Context, p *LatencyParams) (*LatencyResponse, error)
}

// SettingsSource is the optional part of the site service that stores
// per-site check settings. With a nil SettingsSource the dashboard shows
// no settings and adds sites by URL only.
//
// The forms show a setting the site leaves unset as an empty field, with
// its default as the placeholder, and send only what was changed, so an
// unset setting stays unset and keeps following the defaults.
type SettingsSource interface {
	// SettingsOf returns the settings a site value carries, defaults
	// filled in (no I/O: the site service's List and Get return them
	// with each site).
	SettingsOf(s *site.Site) SiteSettings
	// StoredSettings returns the settings the site has set: unset ones
	// are zero (FollowRedirects, unset, is true).
	StoredSettings(ctx context.Context, s *site.Site) (SiteSettings, error)
	// Defaults returns the values unset settings take.
	Defaults() SiteSettings
	// AddWithSettings adds a site with the fields of c set, like POST
	// /site with them in its JSON body. Invalid input is an
	// invalid_argument error naming the field in its details.
	AddWithSettings(ctx context.Context, url string, c SettingsChange) (*site.Site, error)
	// UpdateSettings changes the fields of c and keeps the others, like
	// PATCH /site/{id} with those fields in its body.
	UpdateSettings(ctx context.Context, id int64, c SettingsChange) (*site.Site, error)
}

// SettingsChange is an edit of a site's settings: the fields it names
// take their values from Settings, and the others are left alone. A
// named field that is empty (a zero duration or count, empty text, an
// empty list) returns to its default; the booleans are sent as they are.
type SettingsChange struct {
	// Settings holds the new values.
	Settings SiteSettings
	// Fields names the changed fields by their JSON names (interval,
	// follow_redirects, …), in the order of the form.
	Fields []string
}

// SiteSettings are a site's per-site check settings as the dashboard
// edits them. Zero durations and counts mean the monitor's default.
type SiteSettings struct {
	// Name is a display name; empty shows the URL.
	Name string `json:"name"`
	// Interval is the time between scheduled checks.
	Interval time.Duration `json:"-"`
	// Timeout bounds one check.
	Timeout time.Duration `json:"-"`
	// Method is GET, HEAD or POST; empty means GET.
	Method string `json:"method"`
	// Headers are sent with every check.
	Headers map[string]string `json:"headers"`
	// Body is the request body of a check.
	Body string `json:"body"`
	// ExpectedStatus lists the codes ("200") or ranges ("200-299") that
	// count as up; empty means the default (200-399).
	ExpectedStatus []string `json:"expected_status"`
	// FollowRedirects makes the check follow redirects.
	FollowRedirects bool `json:"follow_redirects"`
	// Keyword must (KeywordMode "contains") or must not ("absent")
	// appear in the response body.
	Keyword string `json:"keyword"`
	// KeywordMode is "contains" or "absent".
	KeywordMode string `json:"keyword_mode"`
	// JSONPath are assertions on a JSON response body.
	JSONPath []Assertion `json:"json_path"`
	// MaxLatency marks a slower answer as degraded.
	MaxLatency time.Duration `json:"-"`
	// FailureThreshold is how many failed checks in a row mark the site
	// down.
	FailureThreshold int `json:"failure_threshold"`
	// SuccessThreshold is how many good checks in a row mark it up again.
	SuccessThreshold int `json:"success_threshold"`
	// Retries is how many times a failed check is retried at once.
	Retries int `json:"retries"`
	// Paused stops scheduled checks.
	Paused bool `json:"paused"`
	// Tags group and filter sites.
	Tags []string `json:"tags"`
	// WSSend is the message a websocket check sends after the handshake.
	WSSend string `json:"ws_send"`
	// Channels are the ids of the notification channels the site names;
	// empty: the default channels.
	Channels []int64 `json:"channels"`
	// Kind is the site's check kind ("" when not known, as in the add
	// form); the form shows ws_send only for websocket sites and there.
	Kind string `json:"-"`
}

// Assertion is one JSON-path check on a response body, such as
// $.status == "ok".
type Assertion struct {
	// Path is a $.a.b[0] style path.
	Path string `json:"path"`
	// Op is ==, !=, <, <=, >, >=, contains or exists.
	Op string `json:"op"`
	// Value is the JSON value compared with (absent for exists).
	Value json.RawMessage `json:"value,omitempty"`
}
