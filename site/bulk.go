package site

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"upmon/platform/api"
	"upmon/platform/outbox"
	"upmon/platform/sqldb"
)

// MaxBulkSites is the most sites one POST /site/bulk request may carry.
const MaxBulkSites = 1000

// BulkAddParams are the parameters of BulkAdd: up to MaxBulkSites
// entries, each with the fields of POST /site.
type BulkAddParams struct {
	// Sites are the entries, each the body POST /site takes.
	Sites []json.RawMessage `json:"sites"`
}

// BulkAdded is the outcome of one entry of a bulk add.
type BulkAdded struct {
	// Index is the entry's position in the request.
	Index int `json:"index"`
	// ID identifies the site (new or already present).
	ID int64 `json:"id"`
	// URL is the site's URL (push:<name> for a push monitor).
	URL string `json:"url"`
	// Created is false when a site with this URL already existed; it
	// is left as it was (adding is idempotent by URL, as POST /site).
	Created bool `json:"created"`
	// PushToken and PushURL are set for new push monitors.
	PushToken string `json:"push_token,omitempty"`
	PushURL   string `json:"push_url,omitempty"`
}

// BulkAddResponse is the answer of POST /site/bulk.
type BulkAddResponse struct {
	// Sites has one entry per request entry, in order.
	Sites []BulkAdded `json:"sites"`
	// Created and Existing count the entries by outcome.
	Created  int `json:"created"`
	Existing int `json:"existing"`
}

// entryError names a bad entry by index and field in the message and in
// the details ({"index": i, "field": f}).
func entryError(i int, err error) error {
	e := api.AsError(err)
	if e.Code != api.InvalidArgument {
		return err
	}
	details := map[string]any{"index": i}
	msg := e.Message
	if d, ok := e.Details.(map[string]string); ok && d["field"] != "" {
		details["field"] = d["field"]
	}
	return &api.Error{Code: api.InvalidArgument, Message: "sites[" + strconv.Itoa(i) + "]: " + msg, Details: details}
}

// BulkAdd validates every entry, then stores the new ones in one
// transaction, each with its site-added event; an entry whose URL is
// already taken (in the database or earlier in the request) is reported,
// not an error. Nothing is stored unless every entry is valid.
func (s *Service) BulkAdd(ctx context.Context, p *BulkAddParams) (*BulkAddResponse, error) {
	if len(p.Sites) == 0 {
		return nil, api.FieldError("sites", "give at least one site")
	}
	if len(p.Sites) > MaxBulkSites {
		return nil, api.FieldError("sites", "at most %d sites per request; send the rest in further requests", MaxBulkSites)
	}
	sites := make([]*Site, len(p.Sites))
	for i, raw := range p.Sites {
		var ap AddParams
		if err := json.Unmarshal(raw, &ap); err != nil {
			return nil, entryError(i, err)
		}
		st, err := s.newSite(&ap)
		if err != nil {
			return nil, entryError(i, err)
		}
		sites[i] = st
	}
	out := &BulkAddResponse{Sites: make([]BulkAdded, len(sites))}
	if err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		out.Created, out.Existing = 0, 0
		return s.storeBulk(ctx, tx, sites, out)
	}); err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		if sqldb.IsUniqueViolation(err) {
			return nil, errDuplicate // a concurrent add took a URL: retry
		}
		return nil, dbError("bulk add", err)
	}
	if out.Created > 0 {
		s.onEvent()
	}
	return out, nil
}

// storeBulk inserts the sites whose URL is new, in one transaction.
func (s *Service) storeBulk(ctx context.Context, tx *sql.Tx, sites []*Site, out *BulkAddResponse) error {
	now := s.now().UTC()
	if s.db.Dialect == sqldb.Postgres && s.opts.MaxSites > 0 {
		if _, err := tx.ExecContext(ctx, `LOCK TABLE sites IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
	}
	total := -1
	if s.opts.MaxSites > 0 {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites`).Scan(&total); err != nil {
			return err
		}
	}
	// One prepared statement each for the chunk: parsing the SQL again
	// for every site was a third of the CPU of a bulk add on SQLite.
	sel, err := tx.PrepareContext(ctx, `SELECT id FROM sites WHERE url = $1`)
	if err != nil {
		return err
	}
	defer sel.Close()
	ins, err := tx.PrepareContext(ctx,
		`INSERT INTO sites (url, name, kind, settings, push_token, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`)
	if err != nil {
		return err
	}
	defer ins.Close()
	seen := make(map[string]int64, len(sites))
	counts := sqldb.Counts{}
	for i, st := range sites {
		r := &out.Sites[i]
		r.Index, r.URL = i, st.URL
		if id, ok := seen[st.URL]; ok {
			r.ID = id
			out.Existing++
			continue
		}
		err := sel.QueryRowContext(ctx, st.URL).Scan(&r.ID)
		if err == nil {
			seen[st.URL] = r.ID
			out.Existing++
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if s.opts.MaxSites > 0 && total >= s.opts.MaxSites {
			return api.Errorf(api.ResourceExhausted, "sites[%d]: the limit of %d sites is reached", i, s.opts.MaxSites)
		}
		if err := s.insertSite(ctx, tx, ins, st, now); err != nil {
			return fmt.Errorf("sites[%d]: %w", i, err)
		}
		total++
		seen[st.URL] = st.ID
		s.fill(st)
		r.ID, r.Created, r.PushToken, r.PushURL = st.ID, true, st.PushToken, st.PushURL
		out.Created++
		counts.Change(st.ID, 1)
	}
	return counts.Add(ctx, tx, countTable)
}

// insertSite inserts one validated site (ins: the prepared INSERT) and
// its site-added event.
func (s *Service) insertSite(ctx context.Context, tx *sql.Tx, ins *sql.Stmt, st *Site, now time.Time) error {
	settings, err := json.Marshal(st.Settings)
	if err != nil {
		return err
	}
	var token any
	if st.PushToken != "" {
		token = st.PushToken
	}
	if err := ins.QueryRowContext(ctx,
		st.URL, st.Name, st.Kind, string(settings), token, now.UnixMilli()).Scan(&st.ID); err != nil {
		return err
	}
	_, err = outbox.InsertEvent(ctx, tx, TopicSiteAdded, now, func(id string) any {
		return &AddedEvent{ID: id, Site: st.Ref(), AddedAt: now}
	})
	return err
}
