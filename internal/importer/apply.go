package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"upmon/monitor"
	"upmon/site"
)

// RemoteSite is a site on the server with the channels it names.
type RemoteSite struct {
	// Site is the site as GET /site shows it.
	Site *site.Site
	// Channels are the ids of the channels it names (routing).
	Channels []int64
}

// RemoteChannel is a channel on the server as GET /channels shows it
// (secrets masked).
type RemoteChannel struct {
	// ID and Name identify it.
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Kind is the notify kind.
	Kind string `json:"kind"`
	// Settings are the kind's settings, secrets masked.
	Settings map[string]any `json:"settings"`
	// Events are the events it wants.
	Events []string `json:"events"`
	// Default and Enabled are its routing switches.
	Default bool `json:"default"`
	// Enabled channels receive messages.
	Enabled bool `json:"enabled"`
}

// Target is the upmon server a plan is applied to.
type Target interface {
	// Sites lists the sites.
	Sites(ctx context.Context) ([]RemoteSite, error)
	// CreateSite adds a site (the fields of POST /site) and returns its id.
	CreateSite(ctx context.Context, fields map[string]any) (int64, error)
	// UpdateSite patches a site (PATCH /site/{id}).
	UpdateSite(ctx context.Context, id int64, patch map[string]any) error
	// Channels lists the channels.
	Channels(ctx context.Context) ([]RemoteChannel, error)
	// CreateChannel adds a channel (POST /channels) and returns its id.
	CreateChannel(ctx context.Context, body map[string]any) (int64, error)
	// UpdateChannel changes a channel (PATCH /channels/{id}).
	UpdateChannel(ctx context.Context, id int64, body map[string]any) error
	// Maintenance lists the maintenance windows.
	Maintenance(ctx context.Context) ([]*monitor.Maintenance, error)
	// CreateMaintenance adds a window.
	CreateMaintenance(ctx context.Context, p *monitor.MaintenanceParams) error
}

// SiteDiff validates a planned site's fields as the API would and, when
// cur is not nil, returns the PATCH body that makes cur what they
// describe (empty when nothing differs).
type SiteDiff func(fields map[string]any, cur *site.Site) (map[string]any, error)

// Action is one step of applying a plan.
type Action struct {
	// Op is "create", "update", "unchanged" or "skip".
	Op string
	// What is "site", "channel" or "maintenance".
	What string
	// Name names the object.
	Name string
	// Detail says what changes (the fields of an update) or why it is
	// skipped.
	Detail string
}

// Apply compares the plan with the target and, unless dryRun, creates and
// updates what differs: channels first, then sites (with their routing),
// then maintenance windows. It returns the actions in order. A site the
// API would refuse is skipped and recorded in the plan's losses before
// anything is sent.
func Apply(ctx context.Context, p *Plan, t Target, diff SiteDiff, dryRun bool) ([]Action, error) {
	var actions []Action
	valid := p.Sites[:0:0]
	for _, st := range p.Sites {
		if _, err := diff(st.Fields, nil); err != nil {
			p.lose(st.Line, st.Where, "", fmt.Sprintf("the site would be refused (%v): not imported", err))
			actions = append(actions, Action{Op: "skip", What: "site", Name: st.Key, Detail: err.Error()})
			continue
		}
		valid = append(valid, st)
	}
	chanIDs, acts, err := applyChannels(ctx, p, t, dryRun)
	actions = append(actions, acts...)
	if err != nil {
		return actions, err
	}
	siteIDs, acts, err := applySites(ctx, valid, t, diff, chanIDs, dryRun)
	actions = append(actions, acts...)
	if err != nil {
		return actions, err
	}
	acts, err = applyWindows(ctx, p, t, siteIDs, dryRun)
	return append(actions, acts...), err
}

func applyChannels(ctx context.Context, p *Plan, t Target, dryRun bool) (map[string]int64, []Action, error) {
	ids := map[string]int64{}
	if len(p.Channels) == 0 {
		return ids, nil, nil
	}
	remote, err := t.Channels(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing channels: %w", err)
	}
	for _, rc := range remote {
		ids[rc.Name] = rc.ID
	}
	byName := map[string]RemoteChannel{}
	for _, rc := range remote {
		byName[rc.Name] = rc
	}
	var actions []Action
	for _, c := range p.Channels {
		body := map[string]any{"name": c.Name, "kind": c.Kind, "settings": c.Settings,
			"events": c.Events, "default": c.Default, "enabled": !c.Disabled}
		if rc, ok := byName[c.Name]; ok {
			diff, err := channelDiff(p, c, rc)
			if err != nil {
				return nil, actions, fmt.Errorf("channel %s: %w", c.Name, err)
			}
			if len(diff) == 0 {
				actions = append(actions, Action{Op: "unchanged", What: "channel", Name: c.Name})
				continue
			}
			actions = append(actions, Action{Op: "update", What: "channel", Name: c.Name, Detail: strings.Join(diff, ", ")})
			if dryRun {
				continue
			}
			if rc.Kind != c.Kind {
				return nil, actions, fmt.Errorf("channel %s: it is a %s channel on the server and a kind cannot change: rename one of them", c.Name, rc.Kind)
			}
			delete(body, "kind")
			if err := t.UpdateChannel(ctx, rc.ID, body); err != nil {
				return nil, actions, fmt.Errorf("channel %s: %w", c.Name, err)
			}
			continue
		}
		actions = append(actions, Action{Op: "create", What: "channel", Name: c.Name, Detail: c.Kind + " " + strings.Join(c.Events, ",")})
		if dryRun {
			continue
		}
		id, err := t.CreateChannel(ctx, body)
		if err != nil {
			return nil, actions, fmt.Errorf("channel %s: %w", c.Name, err)
		}
		ids[c.Name] = id
	}
	return ids, actions, nil
}

// channelDiff names what differs between a planned channel and the
// server's one of the same name: kind, settings (compared masked, as the
// server shows them, so a secret counts as the same when its masked form
// is), events, default, enabled.
func channelDiff(p *Plan, c *Channel, rc RemoteChannel) ([]string, error) {
	var diff []string
	if rc.Kind != c.Kind {
		diff = append(diff, "kind")
	}
	want := c.Settings
	if p.Mask != nil && rc.Kind == c.Kind {
		m, err := p.Mask(c.Kind, c.Settings)
		if err != nil {
			return nil, err
		}
		want = m
	}
	if !sameValue(want, rc.Settings) {
		diff = append(diff, "settings")
	}
	if !sameSet(c.Events, rc.Events) {
		diff = append(diff, "events")
	}
	if c.Default != rc.Default {
		diff = append(diff, "default")
	}
	if c.Disabled == rc.Enabled {
		diff = append(diff, "enabled")
	}
	return diff, nil
}

// sameValue compares two settings maps as JSON values (a missing map and
// an empty one are the same).
func sameValue(a, b map[string]any) bool {
	canon := func(m map[string]any) string {
		if len(m) == 0 {
			return "{}"
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return fmt.Sprint(m)
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		out, _ := json.Marshal(v)
		return string(out)
	}
	return canon(a) == canon(b)
}

func applySites(ctx context.Context, sites []*Site, t Target, diff SiteDiff, chanIDs map[string]int64, dryRun bool) (map[string]int64, []Action, error) {
	remote, err := t.Sites(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing sites: %w", err)
	}
	byKey := map[string]RemoteSite{}
	ids := map[string]int64{}
	for _, rs := range remote {
		byKey[rs.Site.URL] = rs
		ids[rs.Site.URL] = rs.Site.ID
	}
	var actions []Action
	for _, st := range sites {
		var want []int64
		for _, name := range st.Channels {
			if id, ok := chanIDs[name]; ok && !slices.Contains(want, id) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		cur, exists := byKey[st.Key]
		if !exists {
			body := clone(st.Fields)
			if len(want) > 0 {
				body["channels"] = want
			}
			if st.Fields["kind"] == site.KindPush {
				delete(body, "url")
			}
			actions = append(actions, Action{Op: "create", What: "site", Name: st.Key})
			if dryRun {
				continue
			}
			id, err := t.CreateSite(ctx, body)
			if err != nil {
				return nil, actions, fmt.Errorf("site %s: %w", st.Key, err)
			}
			ids[st.Key] = id
			continue
		}
		patch, err := diff(st.Fields, cur.Site)
		if err != nil {
			return nil, actions, fmt.Errorf("site %s: %w", st.Key, err)
		}
		// The site's channels are the import's business only when the
		// source names some; the settings diff does not judge them.
		delete(patch, "channels")
		have := slices.Clone(cur.Channels)
		slices.Sort(have)
		if len(st.Channels) > 0 && !slices.Equal(have, want) {
			patch["channels"] = want
		}
		if len(patch) == 0 {
			actions = append(actions, Action{Op: "unchanged", What: "site", Name: st.Key})
			continue
		}
		actions = append(actions, Action{Op: "update", What: "site", Name: st.Key, Detail: strings.Join(sortedKeys(patch), ", ")})
		if dryRun {
			continue
		}
		if err := t.UpdateSite(ctx, cur.Site.ID, patch); err != nil {
			return nil, actions, fmt.Errorf("site %s: %w", st.Key, err)
		}
	}
	return ids, actions, nil
}

func applyWindows(ctx context.Context, p *Plan, t Target, siteIDs map[string]int64, dryRun bool) ([]Action, error) {
	if len(p.Windows) == 0 {
		return nil, nil
	}
	remote, err := t.Maintenance(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing maintenance windows: %w", err)
	}
	var actions []Action
	for _, w := range p.Windows {
		params := &monitor.MaintenanceParams{Tags: w.Tags, Start: w.Start, End: w.End, Recurrence: w.Recurrence, Note: w.Note}
		missing := 0
		for _, key := range w.Sites {
			if id, ok := siteIDs[key]; ok {
				params.Sites = append(params.Sites, id)
			} else {
				missing++
			}
		}
		name := fmt.Sprintf("%s %s–%s", w.Recurrence, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
		if missing > 0 && !dryRun {
			return actions, fmt.Errorf("maintenance %s: %d of its sites were not created", name, missing)
		}
		if missing == 0 && slices.ContainsFunc(remote, func(m *monitor.Maintenance) bool { return sameWindow(m, params) }) {
			actions = append(actions, Action{Op: "unchanged", What: "maintenance", Name: name})
			continue
		}
		actions = append(actions, Action{Op: "create", What: "maintenance", Name: name, Detail: fmt.Sprintf("%d sites", len(w.Sites))})
		if dryRun {
			continue
		}
		if err := t.CreateMaintenance(ctx, params); err != nil {
			return actions, fmt.Errorf("maintenance %s: %w", name, err)
		}
	}
	return actions, nil
}

// sameWindow reports whether m is the window p describes.
func sameWindow(m *monitor.Maintenance, p *monitor.MaintenanceParams) bool {
	return m.Start.Equal(p.Start) && m.End.Equal(p.End) && m.Recurrence == p.Recurrence &&
		sameSet(m.Sites, p.Sites) && sameSet(m.Tags, p.Tags)
}

func sameSet[T int64 | string](a, b []T) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// WriteActions prints the actions, one a line, and a count of each.
func WriteActions(w io.Writer, actions []Action, dryRun bool) {
	counts := map[string]int{}
	for _, a := range actions {
		counts[a.Op]++
		line := fmt.Sprintf("  %-9s %-11s %s", a.Op, a.What, a.Name)
		if a.Detail != "" {
			line += " (" + a.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	var parts []string
	ops := sortedKeys(counts)
	sort.Strings(ops)
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%d %s", counts[op], op))
	}
	prefix := ""
	if dryRun {
		prefix = "dry run, nothing changed: "
	}
	fmt.Fprintln(w, prefix+strings.Join(parts, ", "))
}
