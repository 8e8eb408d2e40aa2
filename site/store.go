package site

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"upmon/platform/api"
	"upmon/platform/outbox"
	"upmon/platform/sqldb"
)

// dbError turns a database failure into what the endpoint answers.
func dbError(op string, err error) error { return sqldb.APIError("site", op, err) }

var errDuplicate = api.Errorf(api.AlreadyExists, "a site with this URL already exists")

const siteColumns = `id, url, name, kind, settings, push_token`

func (s *Service) store(ctx context.Context, site *Site) (*Site, error) {
	now := s.now().UTC()
	settings, err := json.Marshal(site.Settings)
	if err != nil {
		return nil, err
	}
	var token any
	if site.PushToken != "" {
		token = site.PushToken
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		// Count and look first, so a duplicate does not burn an id from
		// the PostgreSQL sequence; the unique index still decides races,
		// and on PostgreSQL the table lock makes the site cap exact.
		if s.db.Dialect == sqldb.Postgres && s.opts.MaxSites > 0 {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE sites IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites WHERE url = $1`, site.URL).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return errDuplicate
		}
		if s.opts.MaxSites > 0 {
			var total int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites`).Scan(&total); err != nil {
				return err
			}
			if total >= s.opts.MaxSites {
				return api.Errorf(api.ResourceExhausted, "the limit of %d sites is reached", s.opts.MaxSites)
			}
		}
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO sites (url, name, kind, settings, push_token, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			site.URL, site.Name, site.Kind, string(settings), token, now.UnixMilli()).Scan(&site.ID); err != nil {
			return err
		}
		if _, err := outbox.InsertEvent(ctx, tx, TopicSiteAdded, now, func(id string) any {
			return &AddedEvent{ID: id, Site: site.Ref(), AddedAt: now}
		}); err != nil {
			return err
		}
		counts := sqldb.Counts{}
		counts.Change(site.ID, 1)
		return counts.Add(ctx, tx, countTable)
	})
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return nil, errDuplicate
		}
		return nil, dbError("add", err)
	}
	s.onEvent()
	return s.fill(site), nil
}

// fill returns site with defaults filled in and its push URL.
func (s *Service) fill(site *Site) *Site {
	site.Settings = site.Settings.Filled(s.opts.Defaults)
	if site.Kind == KindPush && site.PushToken != "" {
		site.PushURL = strings.TrimRight(s.opts.PublicURL, "/") + "/push/" + site.PushToken
	}
	return site
}

type scanner interface{ Scan(...any) error }

func (s *Service) scan(row scanner) (*Site, error) {
	site, err := s.scanRaw(row)
	if err != nil {
		return nil, err
	}
	return s.fill(site), nil
}

func (s *Service) get(ctx context.Context, id int64) (*Site, error) {
	site, err := s.scan(s.db.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, api.Errorf(api.NotFound, "site %d not found", id)
	}
	if err != nil {
		return nil, dbError("get", err)
	}
	return site, nil
}

// GetByPushToken returns the push monitor with the given token.
func (s *Service) GetByPushToken(ctx context.Context, token string) (*Site, error) {
	if !validToken(token) {
		return nil, api.Errorf(api.NotFound, "unknown push token")
	}
	site, err := s.scan(s.db.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE push_token = $1`, token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, api.Errorf(api.NotFound, "unknown push token")
	}
	if err != nil {
		return nil, dbError("get by token", err)
	}
	return site, nil
}

// list reads the sites with ids above after, in order, at most limit of
// them (all when limit < 0).
func (s *Service) list(ctx context.Context, after int64, limit int) (*ListResponse, error) {
	q, args := `SELECT `+siteColumns+` FROM sites ORDER BY id`, []any(nil)
	if limit >= 0 {
		q, args = `SELECT `+siteColumns+` FROM sites WHERE id > $1 ORDER BY id LIMIT $2`, []any{after, limit}
	}
	return s.listQuery(ctx, q, args...)
}

// listQuery reads the sites a query of siteColumns answers, in its order.
func (s *Service) listQuery(ctx context.Context, q string, args ...any) (*ListResponse, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError("list", err)
	}
	defer rows.Close()
	out := &ListResponse{Sites: []*Site{}, encoded: [][]byte{}, redacted: [][]byte{}}
	for rows.Next() {
		var (
			site     Site
			settings string
			token    sql.NullString
		)
		if err := rows.Scan(&site.ID, &site.URL, &site.Name, &site.Kind, &settings, &token); err != nil {
			return nil, dbError("list", err)
		}
		e, err := s.memo.get(settings, s.opts.Defaults)
		if err != nil {
			return nil, dbError("list", fmt.Errorf("site %d: stored settings: %w", site.ID, err))
		}
		site.Settings = e.filled
		site.PushToken = token.String
		if site.Kind == KindPush && site.PushToken != "" {
			site.PushURL = strings.TrimRight(s.opts.PublicURL, "/") + "/push/" + site.PushToken
		}
		out.Sites = append(out.Sites, &site)
		out.encoded = append(out.encoded, e.encoded)
		out.redacted = append(out.redacted, e.redacted)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list", err)
	}
	return out, nil
}

func (s *Service) patch(ctx context.Context, p *PatchParams) (*Site, error) {
	now := s.now().UTC()
	var out *Site
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.scanRaw(tx.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = $1`+s.db.Dialect.ForUpdate(), p.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return api.Errorf(api.NotFound, "site %d not found", p.ID)
		}
		if err != nil {
			return err
		}
		next, err := s.applyPatch(cur, p)
		if err != nil {
			return err
		}
		if next.URL != cur.URL {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites WHERE url = $1 AND id <> $2`, next.URL, p.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errDuplicate
			}
		}
		settings, err := json.Marshal(next.Settings)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sites SET url = $1, name = $2, settings = $3 WHERE id = $4`,
			next.URL, next.Name, string(settings), p.ID); err != nil {
			return err
		}
		out = next
		_, err = outbox.InsertEvent(ctx, tx, TopicSiteUpdated, now, func(id string) any {
			return &UpdatedEvent{ID: id, SiteID: p.ID, UpdatedAt: now}
		})
		return err
	})
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return nil, errDuplicate
		}
		return nil, dbError("patch", err)
	}
	s.onEvent()
	return s.fill(out), nil
}

// scanRaw reads a site without filling defaults (for patching).
func (s *Service) scanRaw(row scanner) (*Site, error) {
	var (
		site     Site
		settings string
		token    sql.NullString
	)
	if err := row.Scan(&site.ID, &site.URL, &site.Name, &site.Kind, &settings, &token); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &site.Settings); err != nil {
		return nil, fmt.Errorf("site %d: stored settings: %w", site.ID, err)
	}
	site.PushToken = token.String
	return &site, nil
}

// applyPatch returns cur with the fields present in p applied; a field
// sent as null returns to its default.
func (s *Service) applyPatch(cur *Site, p *PatchParams) (*Site, error) {
	next := *cur
	next.Settings.Headers = maps.Clone(cur.Settings.Headers)
	if p.present["kind"] && p.Kind != "" && p.Kind != cur.Kind {
		return nil, api.FieldError("kind", "cannot change a site's kind (%s); delete it and add a new one", cur.Kind)
	}
	if p.present["url"] {
		if cur.Kind == KindPush {
			return nil, api.FieldError("url", "a push monitor's url follows its name")
		}
		u, err := ValidateURL(p.URL)
		if err != nil {
			return nil, err
		}
		kind, _ := KindOf(u)
		if err := s.checkPolicy(u, kind); err != nil {
			return nil, err
		}
		if kind != cur.Kind {
			return nil, api.FieldError("url", "the new url is a %s check; this site is %s", kind, cur.Kind)
		}
		next.URL = u
	}
	if p.present["name"] {
		next.Name = strings.TrimSpace(p.Name)
		if err := validateName(next.Name); err != nil {
			return nil, err
		}
		if cur.Kind == KindPush {
			if next.Name == "" {
				return nil, api.FieldError("name", "a push monitor needs a name")
			}
			next.URL = "push:" + next.Name
		}
	}
	dst := reflectSettings(&next.Settings)
	src := reflectSettings(&p.Settings)
	for key, i := range settingsFields {
		if p.present[key] {
			dst.Field(i).Set(src.Field(i)) // null leaves the zero value: the default
		}
	}
	if err := next.Settings.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkLocations(&next.Settings, p.present["locations"]); err != nil {
		return nil, err
	}
	if err := checkGiven(&p.Settings, p.given); err != nil {
		return nil, err
	}
	return &next, nil
}

func (s *Service) delete(ctx context.Context, id int64) error {
	now := s.now().UTC()
	deleted := false
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE id = $1`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		deleted = true
		if _, err := outbox.InsertEvent(ctx, tx, TopicSiteDeleted, now, func(eid string) any {
			return &DeletedEvent{ID: eid, SiteID: id, DeletedAt: now}
		}); err != nil {
			return err
		}
		counts := sqldb.Counts{}
		counts.Change(id, -n)
		return counts.Add(ctx, tx, countTable)
	})
	if err != nil {
		return dbError("delete", err)
	}
	if deleted {
		s.onEvent()
	}
	return nil
}

// IDs returns the ids of every site, in order: a cheap existence list
// for callers that need no settings (the monitor's /status).
func (s *Service) IDs(ctx context.Context) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM sites ORDER BY id`)
	if err != nil {
		return nil, dbError("list ids", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, dbError("list ids", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list ids", err)
	}
	return ids, nil
}

// validToken reports whether token has the shape of a push token (hex),
// so that garbage never reaches the database.
func validToken(token string) bool {
	if token == "" || len(token) > 128 {
		return false
	}
	for _, c := range token {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
