package site

import (
	"context"
	"database/sql"
	"errors"

	"upmon/platform/api"
)

// StoredSettings returns a site's settings as stored: a setting the site
// leaves unset is zero (FollowRedirects nil), where Get and List answer
// it filled in with its default. Forms that edit settings start from
// these, so that saving them does not turn the defaults of the day into
// explicit values, and an unset interval or timeout keeps following the
// global configuration. An unknown site is not_found.
func (s *Service) StoredSettings(ctx context.Context, id int64) (Settings, error) {
	site, err := s.scanRaw(s.db.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Settings{}, api.Errorf(api.NotFound, "site %d not found", id)
	}
	if err != nil {
		return Settings{}, dbError("get settings", err)
	}
	return site.Settings, nil
}
