package web

import (
	"context"
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
}

func newFakeSites() *fakeSites {
	return &fakeSites{sites: map[int64]*site.Site{}, settings: map[int64]SiteSettings{}}
}

func (f *fakeSites) Add(_ context.Context, p *site.AddParams) (*site.Site, error) {
	return f.AddWithSettings(context.Background(), p.URL, SiteSettings{})
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

func (f *fakeSites) AddWithSettings(_ context.Context, raw string, st SiteSettings) (*site.Site, error) {
	u, err := site.ValidateURL(raw)
	if err != nil {
		return nil, err
	}
	if st.Interval != 0 && st.Interval < time.Second {
		return nil, api.FieldError("interval", "must be at least 1s")
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
	return s, nil
}

func (f *fakeSites) UpdateSettings(_ context.Context, id int64, st SiteSettings) (*site.Site, error) {
	if st.Interval != 0 && st.Interval < time.Second {
		return nil, api.FieldError("interval", "must be at least 1s")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sites[id]
	if !ok {
		return nil, api.Errorf(api.NotFound, "site %d not found", id)
	}
	f.settings[id] = st
	return s, nil
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
	out := make(map[int64]*SiteOverview, len(m.ovs))
	for k, v := range m.ovs {
		out[k] = v
	}
	return out, nil
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
	return &LatencyResponse{Window: p.Window, Step: p.Step, Points: m.latency[p.SiteID]}, nil
}

func (m *fakeMonitor) set(ov *SiteOverview) {
	m.mu.Lock()
	m.ovs[ov.SiteID] = ov
	m.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }
