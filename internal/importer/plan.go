// Package importer turns another monitor's configuration (Gatus YAML,
// Uptime Kuma's SQLite database or 1.x JSON backup) into a Plan of upmon
// sites, notification channels, routing and maintenance windows, and
// applies a plan through a Target.
//
// Nothing is dropped in silence: every field or condition that has no
// upmon equivalent becomes a Loss naming its source line and the reason.
// Applying is idempotent: sites are matched by URL (push monitors by
// name), channels by name, maintenance windows by their sites, tags,
// start, end and recurrence, so a second run changes nothing.
package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"upmon/notify"
)

// Plan is what an import would create: parsed from a source file, not yet
// compared with a server.
type Plan struct {
	// Source names the format ("gatus", "kuma").
	Source string
	// File is the path read, for messages.
	File string
	// Sites are the monitors, in source order.
	Sites []*Site
	// Channels are the notification channels, in source order.
	Channels []*Channel
	// Windows are the maintenance windows.
	Windows []*Window
	// Losses lists what has no upmon equivalent.
	Losses []Loss
	// Notes lists what maps with a difference worth knowing.
	Notes []Loss
	// Mask masks a kind's settings as GET /channels shows them (the kind
	// registry's Mask), to compare a planned channel with the server's;
	// nil compares them as they are.
	Mask func(kind string, settings map[string]any) (map[string]any, error)
}

// Site is one monitor to create, as the fields of POST /site.
type Site struct {
	// Line is the source line (or row) it comes from.
	Line int
	// Where names it in the source ("endpoints[2] (api)").
	Where string
	// Key is what it is matched by: its URL, or push:<name>.
	Key string
	// Fields are the JSON fields of POST /site (the sites file schema).
	Fields map[string]any
	// Channels names the planned channels it notifies (routing).
	Channels []string
}

// Channel is one notification channel to create (POST /channels).
type Channel struct {
	// Line is the source line (or row) it comes from.
	Line int
	// Where names it in the source.
	Where string
	// Name is the channel's name (what it is matched by).
	Name string
	// Kind is the notify kind ("slack", …).
	Kind string
	// Settings are the kind's settings, validated with notify/kinds.
	Settings map[string]any
	// Events are the events it wants ("down", "up", …).
	Events []string
	// Default makes it notify sites that name no channel.
	Default bool
	// Disabled creates it switched off.
	Disabled bool
}

// Window is one maintenance window (POST /maintenance).
type Window struct {
	// Line is the source line (or row) it comes from.
	Line int
	// Where names it in the source.
	Where string
	// Sites are the keys (URLs) of the planned sites it covers.
	Sites []string
	// Tags are the tags it covers.
	Tags []string
	// Start and End bound the (first) window, in UTC.
	Start, End time.Time
	// Recurrence is "" or "weekly".
	Recurrence string
	// Note describes it.
	Note string
}

// Loss is one thing of the source that is not carried over as it was.
type Loss struct {
	// Line is the source line (0 when unknown, such as a database row).
	Line int
	// Where names the field ("endpoints[0].conditions[2]").
	Where string
	// What is the value or setting concerned.
	What string
	// Why says why it has no equivalent, or how it differs.
	Why string
}

// String renders the loss as "where: what — why".
func (l Loss) String() string {
	s := l.Where
	if l.What != "" {
		s += ": " + l.What
	}
	return s + " — " + l.Why
}

func (p *Plan) lose(line int, where, what, why string) {
	p.Losses = append(p.Losses, Loss{Line: line, Where: where, What: what, Why: why})
}

func (p *Plan) note(line int, where, what, why string) {
	p.Notes = append(p.Notes, Loss{Line: line, Where: where, What: what, Why: why})
}

// WriteLosses prints the losses and notes, sorted by line.
func (p *Plan) WriteLosses(w io.Writer) {
	sortLosses(p.Losses)
	sortLosses(p.Notes)
	if len(p.Losses) > 0 {
		fmt.Fprintf(w, "Not carried over (%d):\n", len(p.Losses))
		for _, l := range p.Losses {
			fmt.Fprintln(w, "  "+p.at(l.Line)+l.String())
		}
	}
	if len(p.Notes) > 0 {
		fmt.Fprintf(w, "Carried over with a difference (%d):\n", len(p.Notes))
		for _, l := range p.Notes {
			fmt.Fprintln(w, "  "+p.at(l.Line)+l.String())
		}
	}
}

// at is "FILE:LINE: " (or "FILE: " without a line).
func (p *Plan) at(line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d: ", p.File, line)
	}
	return p.File + ": "
}

func sortLosses(ls []Loss) {
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Line < ls[j].Line })
}

// JSONFields returns fields with every value as encoding/json decodes it
// (lists as []any, objects as map[string]any), the form the sites file
// code validates.
func JSONFields(fields map[string]any) map[string]any {
	b, err := json.Marshal(fields)
	if err != nil {
		return fields
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return fields
	}
	return out
}

// maskWith returns a Plan.Mask over a kind registry.
func maskWith(reg *notify.Registry) func(kind string, settings map[string]any) (map[string]any, error) {
	return func(kind string, settings map[string]any) (map[string]any, error) {
		k, ok := reg.Kind(kind)
		if !ok {
			return nil, fmt.Errorf("unknown channel kind %q", kind)
		}
		raw, err := json.Marshal(settings)
		if err != nil {
			return nil, err
		}
		st, err := k.Decode(raw)
		if err != nil {
			return nil, err
		}
		return k.Mask(st)
	}
}
