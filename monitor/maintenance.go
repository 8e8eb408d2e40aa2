package monitor

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"upmon/platform/api"
	"upmon/site"
)

// Maintenance is a window during which a set of sites (by id or tag) is
// still checked and recorded, but its notifications are held back.
type Maintenance struct {
	// ID identifies the window.
	ID int64 `json:"id"`
	// Sites lists site ids in the window.
	Sites []int64 `json:"sites"`
	// Tags puts every site carrying one of them in the window.
	Tags []string `json:"tags"`
	// Start and End bound the (first) window.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Recurrence is "" (once) or "weekly" (the same times every week).
	Recurrence string `json:"recurrence"`
	// Note says why.
	Note string `json:"note"`
}

// MaintenanceParams create a window.
type MaintenanceParams struct {
	// Sites lists site ids.
	Sites []int64 `json:"sites"`
	// Tags lists tags.
	Tags []string `json:"tags"`
	// Start and End are RFC 3339 times.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Recurrence is "" or "weekly".
	Recurrence string `json:"recurrence"`
	// Note says why.
	Note string `json:"note"`
}

// MaintenanceList is the answer of ListMaintenance.
type MaintenanceList struct {
	// Maintenance lists the windows; never nil.
	Maintenance []*Maintenance `json:"maintenance"`
}

// MaintenanceID identifies a window.
type MaintenanceID struct {
	// ID is the window id from the path.
	ID int64 `path:"id"`
}

type maintenanceWindow struct {
	sites  []int64
	tags   []string
	start  int64
	end    int64
	weekly bool
}

const week = 7 * 24 * time.Hour

// active reports whether the window covers at.
func (w maintenanceWindow) active(atMS int64) bool {
	if atMS < w.start {
		return false
	}
	if !w.weekly {
		return atMS < w.end
	}
	return (atMS-w.start)%week.Milliseconds() < w.end-w.start
}

func inMaintenance(windows []maintenanceWindow, st *site.Site, at time.Time) bool {
	ms := at.UnixMilli()
	for _, w := range windows {
		if !w.active(ms) {
			continue
		}
		if slices.Contains(w.sites, st.ID) {
			return true
		}
		for _, t := range st.Tags {
			if slices.Contains(w.tags, t) {
				return true
			}
		}
	}
	return false
}

// loadMaintenance reads every window (few, and read once per batch).
func (s *Service) loadMaintenance(ctx context.Context) ([]maintenanceWindow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site_ids, tags, starts_at, ends_at, weekly FROM maintenance`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []maintenanceWindow
	for rows.Next() {
		var (
			w           maintenanceWindow
			sites, tags string
		)
		if err := rows.Scan(&sites, &tags, &w.start, &w.end, &w.weekly); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(sites), &w.sites)
		_ = json.Unmarshal([]byte(tags), &w.tags)
		out = append(out, w)
	}
	return out, rows.Err()
}

// InMaintenance reports whether st is in a maintenance window at at.
func (s *Service) InMaintenance(ctx context.Context, st *site.Site, at time.Time) (bool, error) {
	ws, err := s.loadMaintenance(ctx)
	if err != nil {
		return false, dbError("maintenance", err)
	}
	return inMaintenance(ws, st, at), nil
}

// AddMaintenance creates a maintenance window.
func (s *Service) AddMaintenance(ctx context.Context, p *MaintenanceParams) (*Maintenance, error) {
	if len(p.Sites) == 0 && len(p.Tags) == 0 {
		return nil, api.FieldError("sites", "name at least one site id or tag")
	}
	if len(p.Sites) > 10000 || len(p.Tags) > 100 {
		return nil, api.FieldError("sites", "too many sites or tags")
	}
	for i, id := range p.Sites {
		if id <= 0 {
			return nil, api.FieldError("sites", "sites[%d] must be a positive id", i)
		}
	}
	for i, t := range p.Tags {
		if t == "" || len(t) > 50 {
			return nil, api.FieldError("tags", "tags[%d] must be 1-50 bytes", i)
		}
	}
	if p.Start.IsZero() || p.End.IsZero() {
		return nil, api.FieldError("start", "start and end are required (RFC 3339)")
	}
	if !p.End.After(p.Start) {
		return nil, api.FieldError("end", "must be after start")
	}
	switch p.Recurrence {
	case "":
	case "weekly":
		if p.End.Sub(p.Start) >= week {
			return nil, api.FieldError("end", "a weekly window must last less than a week")
		}
	default:
		return nil, api.FieldError("recurrence", "must be \"\" or \"weekly\"")
	}
	if len(p.Note) > 500 || !utf8.ValidString(p.Note) {
		return nil, api.FieldError("note", "at most 500 bytes of UTF-8")
	}
	sites, _ := json.Marshal(nonNil(p.Sites))
	tags, _ := json.Marshal(nonNilS(p.Tags))
	m := &Maintenance{Sites: nonNil(p.Sites), Tags: nonNilS(p.Tags), Start: p.Start.UTC(), End: p.End.UTC(), Recurrence: p.Recurrence, Note: strings.TrimSpace(p.Note)}
	err := s.db.QueryRowContext(ctx,
		`INSERT INTO maintenance (site_ids, tags, starts_at, ends_at, weekly, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		string(sites), string(tags), m.Start.UnixMilli(), m.End.UnixMilli(), p.Recurrence == "weekly", m.Note, s.opts.Now().UnixMilli()).Scan(&m.ID)
	if err != nil {
		return nil, dbError("add maintenance", err)
	}
	return m, nil
}

// ListMaintenance lists the maintenance windows.
func (s *Service) ListMaintenance(ctx context.Context, _ *struct{}) (*MaintenanceList, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, site_ids, tags, starts_at, ends_at, weekly, note FROM maintenance ORDER BY id`)
	if err != nil {
		return nil, dbError("list maintenance", err)
	}
	defer rows.Close()
	out := &MaintenanceList{Maintenance: []*Maintenance{}}
	for rows.Next() {
		var (
			m           Maintenance
			sites, tags string
			start, end  int64
			weekly      bool
		)
		if err := rows.Scan(&m.ID, &sites, &tags, &start, &end, &weekly, &m.Note); err != nil {
			return nil, dbError("list maintenance", err)
		}
		_ = json.Unmarshal([]byte(sites), &m.Sites)
		_ = json.Unmarshal([]byte(tags), &m.Tags)
		m.Sites, m.Tags = nonNil(m.Sites), nonNilS(m.Tags)
		m.Start, m.End = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC()
		if weekly {
			m.Recurrence = "weekly"
		}
		out.Maintenance = append(out.Maintenance, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list maintenance", err)
	}
	return out, nil
}

// DeleteMaintenance removes a window (absent ids are not an error).
func (s *Service) DeleteMaintenance(ctx context.Context, p *MaintenanceID) (*struct{}, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM maintenance WHERE id = $1`, p.ID); err != nil {
		return nil, dbError("delete maintenance", err)
	}
	return nil, nil
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
