package importer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"upmon/monitor"
	"upmon/site"
)

// memTarget is a Target in memory that counts writes.
type memTarget struct {
	sites    []RemoteSite
	channels []RemoteChannel
	windows  []*monitor.Maintenance
	writes   []string
}

func (m *memTarget) Sites(context.Context) ([]RemoteSite, error) { return m.sites, nil }
func (m *memTarget) CreateSite(_ context.Context, f map[string]any) (int64, error) {
	id := int64(len(m.sites) + 1)
	url, _ := f["url"].(string)
	if f["kind"] == site.KindPush {
		url = "push:" + f["name"].(string)
	}
	var ch []int64
	if c, ok := f["channels"].([]int64); ok {
		ch = c
	}
	m.sites = append(m.sites, RemoteSite{Site: &site.Site{ID: id, URL: url}, Channels: ch})
	m.writes = append(m.writes, "create site "+url)
	return id, nil
}
func (m *memTarget) UpdateSite(_ context.Context, id int64, patch map[string]any) error {
	if c, ok := patch["channels"].([]int64); ok {
		m.sites[id-1].Channels = c
	}
	m.writes = append(m.writes, "update site "+m.sites[id-1].Site.URL)
	return nil
}
func (m *memTarget) Channels(context.Context) ([]RemoteChannel, error) { return m.channels, nil }
func (m *memTarget) CreateChannel(_ context.Context, b map[string]any) (int64, error) {
	id := int64(len(m.channels) + 1)
	ev, _ := b["events"].([]string)
	m.channels = append(m.channels, RemoteChannel{ID: id, Name: b["name"].(string), Kind: b["kind"].(string),
		Events: ev, Default: b["default"].(bool), Enabled: b["enabled"].(bool)})
	m.writes = append(m.writes, "create channel "+b["name"].(string))
	return id, nil
}
func (m *memTarget) UpdateChannel(_ context.Context, id int64, b map[string]any) error {
	m.writes = append(m.writes, "update channel "+b["name"].(string))
	return nil
}
func (m *memTarget) Maintenance(context.Context) ([]*monitor.Maintenance, error) {
	return m.windows, nil
}
func (m *memTarget) CreateMaintenance(_ context.Context, p *monitor.MaintenanceParams) error {
	m.windows = append(m.windows, &monitor.Maintenance{Sites: p.Sites, Tags: p.Tags, Start: p.Start, End: p.End, Recurrence: p.Recurrence})
	m.writes = append(m.writes, "create maintenance")
	return nil
}

// noDiff refuses sites with interval "bad" and reports no changes.
func noDiff(f map[string]any, cur *site.Site) (map[string]any, error) {
	if f["interval"] == "bad" {
		return nil, errors.New("interval: must be between 1s and 24h")
	}
	return map[string]any{}, nil
}

func testPlan() *Plan {
	start := time.Date(2024, 1, 1, 2, 0, 0, 0, time.UTC)
	return &Plan{File: "f",
		Sites: []*Site{
			{Key: "https://a", Fields: map[string]any{"url": "https://a"}, Channels: []string{"ops", "ops"}},
			{Key: "https://bad", Where: "endpoints[1]", Line: 7, Fields: map[string]any{"url": "https://bad", "interval": "bad"}},
			{Key: "push:job", Fields: map[string]any{"kind": "push", "name": "job"}},
		},
		Channels: []*Channel{{Name: "ops", Kind: "slack", Events: []string{"down"}}},
		Windows:  []*Window{{Sites: []string{"https://a", "push:job"}, Start: start, End: start.Add(time.Hour), Recurrence: "weekly"}},
	}
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	m := &memTarget{}
	p := testPlan()
	if _, err := Apply(ctx, p, m, noDiff, true); err != nil || len(m.writes) != 0 {
		t.Fatalf("dry run: %v, writes %v", err, m.writes)
	}
	if len(p.Losses) != 1 || p.Losses[0].Line != 7 || !strings.Contains(p.Losses[0].Why, "interval: must be") {
		t.Fatalf("losses %+v", p.Losses)
	}
	actions, err := Apply(ctx, testPlan(), m, noDiff, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "create channel ops|create site https://a|create site push:job|create maintenance"
	if got := strings.Join(m.writes, "|"); got != want {
		t.Fatalf("writes %s, want %s", got, want)
	}
	if got := m.sites[0].Channels; len(got) != 1 || got[0] != 1 {
		t.Errorf("routing %v", got)
	}
	if w := m.windows[0]; len(w.Sites) != 2 || w.Sites[0] != 1 || w.Sites[1] != 2 {
		t.Errorf("window sites %v", w.Sites)
	}
	if actions[0].Op != "skip" {
		t.Errorf("actions %+v", actions)
	}
	// Again: nothing to do. Then a lost route is restored.
	m.writes = nil
	if _, err := Apply(ctx, testPlan(), m, noDiff, false); err != nil || len(m.writes) != 0 {
		t.Fatalf("second apply: %v, writes %v", err, m.writes)
	}
	m.sites[0].Channels = nil
	if _, err := Apply(ctx, testPlan(), m, noDiff, false); err != nil || strings.Join(m.writes, "|") != "update site https://a" {
		t.Fatalf("routing repair: %v, writes %v", err, m.writes)
	}
}
