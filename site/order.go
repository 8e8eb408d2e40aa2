package site

import (
	"context"
	"strconv"
	"strings"

	"upmon/platform/sqldb"
)

// countTable is the counter table of the sites (migration 00005): every
// insert and delete of a site changes it in its transaction.
const countTable = "site_count"

// displayOrder orders sites as the dashboard lists them by name: the
// display name (the name, else the URL) case-folded, then the id; the
// index sites_display_order has exactly these columns.
const displayOrder = `lower(CASE WHEN name <> '' THEN name ELSE url END), id`

// Count returns the number of sites from the counter table (16 rows),
// not from a scan of the sites.
func (s *Service) Count(ctx context.Context) (int, error) {
	n, err := sqldb.Count(ctx, s.db, countTable)
	if err != nil {
		return 0, dbError("count", err)
	}
	return n, nil
}

// ListByName returns at most limit sites in the dashboard's name order
// (name, else URL, case-folded; then id), skipping the first offset and
// leaving out the sites of exclude (which should be few). It reads the
// index sites_display_order: the cost is the page plus the offset's
// index entries, not every site.
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
