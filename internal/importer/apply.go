package importer

import (
	"context"
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

// RemoteChannel is a channel on the server.
type RemoteChannel struct {
	// ID and Name identify it.
	ID   int64  `json:"id"`
	Name string `json:"name"`
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
	var actions []Action
	for _, c := range p.Channels {
		if _, ok := ids[c.Name]; ok {
			actions = append(actions, Action{Op: "unchanged", What: "channel", Name: c.Name, Detail: "a channel of this name exists (its settings are left as they are)"})
			continue
		}
		actions = append(actions, Action{Op: "create", What: "channel", Name: c.Name, Detail: c.Kind + " " + strings.Join(c.Events, ",")})
		if dryRun {
			continue
		}
		id, err := t.CreateChannel(ctx, map[string]any{"name": c.Name, "kind": c.Kind, "settings": c.Settings,
			"events": c.Events, "default": c.Default, "enabled": !c.Disabled})
		if err != nil {
			return nil, actions, fmt.Errorf("channel %s: %w", c.Name, err)
		}
		ids[c.Name] = id
	}
	return ids, actions, nil
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
