package site

import (
	"context"
	"strconv"
	"strings"

	"upmon/platform/sqldb"
)

// displayOrder orders sites as the dashboard lists them by name: the
// display name (the name, else the URL) case-folded, then the id.
const displayOrder = `lower(CASE WHEN name <> '' THEN name ELSE url END), id`

// Counts returns the number of sites and of paused sites, by aggregate
// queries (no site is read into the program).
func (s *Service) Counts(ctx context.Context) (all, paused int, err error) {
	// The LIKE finds the candidates cheaply; the JSON test makes sure
	// the text is the top-level setting, not a string inside another.
	isPaused := `json_extract(settings, '$.paused') = 1`
	if s.db.Dialect == sqldb.Postgres {
		isPaused = `(settings::jsonb ->> 'paused') = 'true'`
	}
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN settings LIKE '%"paused":true%' AND `+
		isPaused+` THEN 1 ELSE 0 END), 0) FROM sites`).Scan(&all, &paused)
	if err != nil {
		return 0, 0, dbError("count", err)
	}
	return all, paused, nil
}

// ListByName returns at most limit sites in the dashboard's name order
// (name, else URL, case-folded; then id), skipping the first offset and
// leaving out the sites of exclude (which should be few).
func (s *Service) ListByName(ctx context.Context, offset, limit int, exclude []int64) ([]*Site, error) {
	where, args := "", []any{limit, offset}
	if len(exclude) > 0 {
		var b strings.Builder
		for i, id := range exclude {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(3+i))
			args = append(args, id)
		}
		where = ` WHERE id NOT IN (` + b.String() + `)`
	}
	out, err := s.listQuery(ctx, `SELECT `+siteColumns+` FROM sites`+where+` ORDER BY `+displayOrder+` LIMIT $1 OFFSET $2`, args...)
	if err != nil {
		return nil, err
	}
	return out.Sites, nil
}

// GetMany returns the sites of ids that exist, in id order.
func (s *Service) GetMany(ctx context.Context, ids []int64) ([]*Site, error) {
	if len(ids) == 0 {
		return []*Site{}, nil
	}
	var b strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(1+i))
		args[i] = id
	}
	out, err := s.listQuery(ctx, `SELECT `+siteColumns+` FROM sites WHERE id IN (`+b.String()+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	return out.Sites, nil
}
