package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"upmon/internal/app"
	"upmon/internal/importer"
	"upmon/monitor"
	"upmon/notify/kinds"
	"upmon/site"
)

const importUsage = "usage: upmon import gatus|kuma FILE [--server URL] [--token TOKEN] [--dry-run] [--accept-losses]"

// importCmd runs `upmon import gatus|kuma FILE`: it reads the file into a
// plan, prints what has no upmon equivalent and what would change, and
// applies the plan unless it is a dry run or something would be lost
// without --accept-losses (then it exits non-zero, changing nothing).
func importCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 {
		return &app.UsageError{Msg: importUsage}
	}
	source := args[0]
	var flags, rest []string
	dryRun, accept := false, false
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--dry-run" || a == "-dry-run":
			dryRun = true
		case a == "--accept-losses" || a == "-accept-losses":
			accept = true
		case (a == "--server" || a == "-server" || a == "--token" || a == "-token") && i+1 < len(args):
			flags = append(flags, a, args[i+1])
			i++
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
		default:
			rest = append(rest, a)
		}
	}
	c, extra, err := sitesFlags("import", flags, stdio.Env)
	if err != nil {
		return err
	}
	if len(rest)+len(extra) != 1 {
		return &app.UsageError{Msg: importUsage}
	}
	plan, err := readPlan(source, rest[0])
	if err != nil {
		return err
	}
	t := &httpTarget{c: c}
	actions, err := importer.Apply(ctx, plan, t, siteDiff, true)
	if err != nil {
		return err
	}
	plan.WriteLosses(stdio.Stdout)
	if len(plan.Losses) > 0 && !accept {
		importer.WriteActions(stdio.Stdout, actions, true)
		return fmt.Errorf("%d things have no upmon equivalent (listed above): nothing was changed; rerun with --accept-losses to import the rest", len(plan.Losses))
	}
	if dryRun {
		importer.WriteActions(stdio.Stdout, actions, true)
		return nil
	}
	actions, err = importer.Apply(ctx, plan, t, siteDiff, false)
	importer.WriteActions(stdio.Stdout, actions, false)
	return err
}

// readPlan parses the source file.
func readPlan(source, file string) (*importer.Plan, error) {
	reg, err := kinds.Registry()
	if err != nil {
		return nil, err
	}
	switch source {
	case "gatus":
		data, err := readCapped(file)
		if err != nil {
			return nil, err
		}
		return importer.ParseGatus(file, data, reg)
	case "kuma":
		return importer.ParseKuma(file, reg)
	}
	return nil, &app.UsageError{Msg: fmt.Sprintf("unknown import source %q (gatus or kuma)", source)}
}

// readCapped reads a file of at most importer.MaxFileBytes.
func readCapped(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, importer.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > importer.MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than the %d bytes a configuration may have", file, importer.MaxFileBytes)
	}
	return data, nil
}

// siteDiff validates fields as `upmon sites import` does and returns the
// patch that makes cur match them.
func siteDiff(fields map[string]any, cur *site.Site) (map[string]any, error) {
	p, err := planEntry(importer.JSONFields(fields))
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, nil
	}
	return patchFor(p, cur)
}

// httpTarget applies a plan to a server through its API.
type httpTarget struct{ c *sitesClient }

// Sites implements importer.Target.
func (t *httpTarget) Sites(ctx context.Context) ([]importer.RemoteSite, error) {
	var list struct {
		Sites []json.RawMessage `json:"sites"`
	}
	if err := t.c.do(ctx, http.MethodGet, "/site", nil, &list); err != nil {
		return nil, err
	}
	out := make([]importer.RemoteSite, 0, len(list.Sites))
	for _, raw := range list.Sites {
		var st site.Site
		var routing struct {
			Channels []int64 `json:"channels"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(raw, &routing)
		out = append(out, importer.RemoteSite{Site: &st, Channels: routing.Channels})
	}
	return out, nil
}

// CreateSite implements importer.Target.
func (t *httpTarget) CreateSite(ctx context.Context, fields map[string]any) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := t.c.do(ctx, http.MethodPost, "/site", fields, &out)
	return out.ID, err
}

// UpdateSite implements importer.Target.
func (t *httpTarget) UpdateSite(ctx context.Context, id int64, patch map[string]any) error {
	return t.c.do(ctx, http.MethodPatch, "/site/"+strconv.FormatInt(id, 10), patch, nil)
}

// Channels implements importer.Target.
func (t *httpTarget) Channels(ctx context.Context) ([]importer.RemoteChannel, error) {
	var list struct {
		Channels []importer.RemoteChannel `json:"channels"`
	}
	err := t.c.do(ctx, http.MethodGet, "/channels", nil, &list)
	if err != nil && strings.Contains(err.Error(), "answered 404") {
		return nil, fmt.Errorf("this server has no /channels API yet (%w): import a file without alerting, or update the server", err)
	}
	return list.Channels, err
}

// CreateChannel implements importer.Target.
func (t *httpTarget) CreateChannel(ctx context.Context, body map[string]any) (int64, error) {
	var out importer.RemoteChannel
	err := t.c.do(ctx, http.MethodPost, "/channels", body, &out)
	return out.ID, err
}

// Maintenance implements importer.Target.
func (t *httpTarget) Maintenance(ctx context.Context) ([]*monitor.Maintenance, error) {
	var list monitor.MaintenanceList
	err := t.c.do(ctx, http.MethodGet, "/maintenance", nil, &list)
	return list.Maintenance, err
}

// CreateMaintenance implements importer.Target.
func (t *httpTarget) CreateMaintenance(ctx context.Context, p *monitor.MaintenanceParams) error {
	return t.c.do(ctx, http.MethodPost, "/maintenance", p, nil)
}

// UpdateChannel implements importer.Target.
func (t *httpTarget) UpdateChannel(ctx context.Context, id int64, body map[string]any) error {
	return t.c.do(ctx, http.MethodPatch, "/channels/"+strconv.FormatInt(id, 10), body, nil)
}
