package site

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"upmon/platform/api"
	"upmon/platform/outbox"
	"upmon/platform/sqldb"
)

// dbError turns a database failure into an API error: unavailable when
// the database cannot be reached, internal otherwise (logged, not shown).
func dbError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if sqldb.IsUnavailable(err) {
		return &api.Error{Code: api.Unavailable, Message: "the site database is unavailable"}
	}
	return fmt.Errorf("site: %s: %w", op, err)
}

var errDuplicate = errors.New("duplicate site URL")

func (s *Service) store(ctx context.Context, u string) (*Site, error) {
	now := s.now().UTC()
	site := &Site{URL: u}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		// Look first, so a duplicate does not burn an id from the
		// PostgreSQL sequence; the unique index still decides races.
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites WHERE url = $1`, u).Scan(&exists)
		if err != nil {
			return err
		}
		if exists > 0 {
			return errDuplicate
		}
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO sites (url, created_at) VALUES ($1, $2) RETURNING id`,
			u, now.UnixMilli()).Scan(&site.ID); err != nil {
			return err
		}
		_, err = outbox.InsertEvent(ctx, tx, TopicSiteAdded, now, func(id string) any {
			return &AddedEvent{ID: id, Site: site, AddedAt: now}
		})
		return err
	})
	if err != nil {
		if errors.Is(err, errDuplicate) || sqldb.IsUniqueViolation(err) {
			return nil, api.Errorf(api.AlreadyExists, "a site with this URL already exists")
		}
		return nil, dbError("add", err)
	}
	s.onEvent()
	return site, nil
}

func (s *Service) get(ctx context.Context, id int64) (*Site, error) {
	site := &Site{}
	err := s.db.QueryRowContext(ctx, `SELECT id, url FROM sites WHERE id = $1`, id).Scan(&site.ID, &site.URL)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, api.Errorf(api.NotFound, "site %d not found", id)
	}
	if err != nil {
		return nil, dbError("get", err)
	}
	return site, nil
}

func (s *Service) list(ctx context.Context) ([]*Site, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, url FROM sites ORDER BY id`)
	if err != nil {
		return nil, dbError("list", err)
	}
	defer rows.Close()
	sites := []*Site{}
	for rows.Next() {
		site := &Site{}
		if err := rows.Scan(&site.ID, &site.URL); err != nil {
			return nil, dbError("list", err)
		}
		sites = append(sites, site)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list", err)
	}
	return sites, nil
}

func (s *Service) delete(ctx context.Context, id int64) error {
	now := s.now().UTC()
	deleted := false
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		deleted = true
		_, err = outbox.InsertEvent(ctx, tx, TopicSiteDeleted, now, func(eid string) any {
			return &DeletedEvent{ID: eid, SiteID: id, DeletedAt: now}
		})
		return err
	})
	if err != nil {
		return dbError("delete", err)
	}
	if deleted {
		s.onEvent()
	}
	return nil
}
