package web

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"upmon/monitor"
	"upmon/platform/api"
	"upmon/site"
)

// fakeSites is an in-memory SiteSource (and SettingsSource) for tests.
type fakeSites struct {
	mu       sync.Mutex
	next     int64
	sites    map[int64]*site.Site
	settings map[int64]SiteSettings
	// changes records the fields of each AddWithSettings and
	// UpdateSettings call.
	changes [][]string
}

func newFakeSites() *fakeSites {
	return &fakeSites{sites: map[int64]*site.Site{}, settings: map[int64]SiteSettings{}}
}

func (f *fakeSites) Add(_ context.Context, p *site.AddParams) (*site.Site, error) {
	return f.AddWithSettings(context.Background(), p.URL, SettingsChange{})
}

func (f *fakeSites) Get(_ context.Context, p *site.GetParams) (*site.Site, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sites[p.ID]
	if !ok {
		return nil, api.Errorf(api.NotFound, "site %d not found", p.ID)
	}
	return s, nil
}

func (f *fakeSites) List(context.Context, *site.ListParams) (*site.ListResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &site.ListResponse{Sites: []*site.Site{}}
	for _, s := range f.sites {
		out.Sites = append(out.Sites, s)
	}
	slices.SortFunc(out.Sites, func(a, b *site.Site) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *fakeSites) Delete(_ context.Context, p *site.GetParams) (*site.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sites, p.ID)
	return nil, nil
}

func (f *fakeSites) SettingsOf(s *site.Site) SiteSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings[s.ID]
}

func (f *fakeSites) StoredSettings(_ context.Context, s *site.Site) (SiteSettings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.settings[s.ID]
	if !ok {
		return SiteSettings{}, api.Errorf(api.NotFound, "site %d not found", s.ID)
	}
	return st, nil
}

func (f *fakeSites) Defaults() SiteSettings {
	return SiteSettings{Interval: 5 * time.Minute, Timeout: 10 * time.Second, Method: "GET", ExpectedStatus: []string{"200-399"},
		FollowRedirects: true, KeywordMode: "contains", FailureThreshold: 1, SuccessThreshold: 1}
}

func (f *fakeSites) AddWithSettings(_ context.Context, raw string, c SettingsChange) (*site.Site, error) {
	u, err := site.ValidateURL(raw)
	if err != nil {
		return nil, err
	}
	st, err := applyChange(blankSettings, c)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sites {
		if s.URL == u {
			return nil, api.Errorf(api.AlreadyExists, "a site with this URL already exists")
		}
	}
	f.next++
	s := &site.Site{ID: f.next, URL: u}
	f.sites[s.ID] = s
	f.settings[s.ID] = st
	f.changes = append(f.changes, c.Fields)
	return s, nil
}

func (f *fakeSites) UpdateSettings(_ context.Context, id int64, c SettingsChange) (*site.Site, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sites[id]
	if !ok {
		return nil, api.Errorf(api.NotFound, "site %d not found", id)
	}
	st, err := applyChange(f.settings[id], c)
	if err != nil {
		return nil, err
	}
	f.settings[id] = st
	f.changes = append(f.changes, c.Fields)
	return s, nil
}

// applyChange applies the fields c names to st, as the site service's
// PATCH does (an empty field is its default), and checks the interval.
func applyChange(st SiteSettings, c SettingsChange) (SiteSettings, error) {
	n := c.Settings
	for _, f := range c.Fields {
		switch f {
		case "name":
			st.Name = n.Name
		case "interval":
			if n.Interval != 0 && n.Interval < time.Second {
				return st, api.FieldError("interval", "must be at least 1s")
			}
			st.Interval = n.Interval
		case "timeout":
			st.Timeout = n.Timeout
		case "method":
			st.Method = n.Method
		case "headers":
			st.Headers = n.Headers
		case "body":
			st.Body = n.Body
		case "expected_status":
			st.ExpectedStatus = n.ExpectedStatus
		case "follow_redirects":
			st.FollowRedirects = n.FollowRedirects
		case "keyword":
			st.Keyword = n.Keyword
		case "keyword_mode":
			st.KeywordMode = n.KeywordMode
		case "json_path":
			st.JSONPath = n.JSONPath
		case "max_latency":
			st.MaxLatency = n.MaxLatency
		case "failure_threshold":
			st.FailureThreshold = n.FailureThreshold
		case "success_threshold":
			st.SuccessThreshold = n.SuccessThreshold
		case "retries":
			st.Retries = n.Retries
		case "paused":
			st.Paused = n.Paused
		case "tags":
			st.Tags = n.Tags
		case "channels":
			for i, id := range n.Channels {
				if id <= 0 {
					return st, api.FieldError(fmt.Sprintf("channels[%d]", i), "must be a channel id")
				}
			}
			st.Channels = n.Channels
		default:
			return st, api.FieldError(f, "unknown field")
		}
	}
	return st, nil
}

// fakeMonitor is an in-memory MonitorSource for tests.
type fakeMonitor struct {
	mu        sync.Mutex
	ovs       map[int64]*SiteOverview
	checks    map[int64][]Check
	incidents map[int64][]Incident
	latency   map[int64][]LatencyPoint
	uptime    *float64
	checked   []int64
	// overviews and overviewOf count the Overview and SiteOverviewOf calls.
	overviews, overviewOf int
	// splits are the sites whose locations disagree; latencyAt records
	// the location of each latency series asked for.
	splits    map[int64]*monitor.LocationSplit
	latencyAt []string
}

func newFakeMonitor() *fakeMonitor {
	return &fakeMonitor{ovs: map[int64]*SiteOverview{}, checks: map[int64][]Check{},
		incidents: map[int64][]Incident{}, latency: map[int64][]LatencyPoint{}}
}

func (m *fakeMonitor) CheckSite(_ context.Context, s *site.Site) (*monitor.CheckResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checked = append(m.checked, s.ID)
	return &monitor.CheckResult{SiteID: s.ID, Up: true, StatusCode: 200, LatencyMS: 5, CheckedAt: time.Now()}, nil
}

func (m *fakeMonitor) Overview(context.Context) (map[int64]*SiteOverview, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.overviews++
	out := make(map[int64]*SiteOverview, len(m.ovs))
	for k, v := range m.ovs {
		out[k] = v
	}
	return out, nil
}

// SiteOverviewOf answers like the monitor: state unknown for a site
// never checked. (The fake has no site list: it never answers not_found.)
func (m *fakeMonitor) SiteOverviewOf(_ context.Context, id int64) (*SiteOverview, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.overviewOf++
	if ov := m.ovs[id]; ov != nil {
		return ov, nil
	}
	return &SiteOverview{SiteID: id, State: StateUnknown, Recent: []RecentCheck{}}, nil
}

func (m *fakeMonitor) SiteChecks(_ context.Context, p *ChecksParams) (*ChecksResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &ChecksResponse{Checks: m.checks[p.SiteID]}, nil
}

func (m *fakeMonitor) SiteUptime(_ context.Context, p *UptimeParams) (*UptimeResponse, error) {
	return &UptimeResponse{Window: p.Window, Uptime: m.uptime, Checks: 10}, nil
}

func (m *fakeMonitor) SiteIncidents(_ context.Context, p *IncidentsParams) (*IncidentsResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &IncidentsResponse{Incidents: m.incidents[p.SiteID]}, nil
}

func (m *fakeMonitor) SiteLatency(_ context.Context, p *LatencyParams) (*LatencyResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latencyAt = append(m.latencyAt, p.Location)
	return &LatencyResponse{Window: p.Window, Step: p.Step, Points: m.latency[p.SiteID]}, nil
}

func (m *fakeMonitor) LocationSplits(_ context.Context, sites []*site.Site) (map[int64]*monitor.LocationSplit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int64]*monitor.LocationSplit{}
	for _, s := range sites {
		if sp := m.splits[s.ID]; sp != nil {
			out[s.ID] = sp
		}
	}
	return out, nil
}

func (m *fakeMonitor) set(ov *SiteOverview) {
	m.mu.Lock()
	m.ovs[ov.SiteID] = ov
	m.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }
