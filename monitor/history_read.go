package monitor

import (
	"cmp"
	"context"
	"database/sql"
	"slices"

	"upmon/platform/sqldb"
)

// The history endpoints read rows and compacted history (compact.go)
// together, in one snapshot.

// readSnapshot runs fn in a read-only transaction, so that every query
// in it sees the database at one moment: a compaction that commits
// meanwhile (moving rows into blocks) is seen entirely or not at all.
// SQLite reads in WAL mode never wait for the writer.
func (s *Service) readSnapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.db.Dialect == sqldb.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// readBuckets returns a site's rollups of resolution res with buckets in
// [from, to), oldest first: its rows and packed buckets added up.
func (s *Service) readBuckets(ctx context.Context, tx *sql.Tx, siteID int64, res string, from, to int64) ([]int64, []*rollup, error) {
	merged := map[int64]*rollup{}
	rows, err := tx.QueryContext(ctx,
		`SELECT bucket, up_count, down_count, slow_count, latency_sum, latency_max, hist FROM rollups WHERE site_id = $1 AND res = $2 AND bucket >= $3 AND bucket < $4`,
		siteID, res, from, to)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			b    int64
			r    rollup
			hist string
		)
		if err := rows.Scan(&b, &r.Up, &r.Down, &r.Slow, &r.LatencySum, &r.LatencyMax, &hist); err != nil {
			return nil, nil, err
		}
		r.Hist = decodeHist(hist)
		merged[b] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	span, size := packSpan(res), resSize(res)
	packs, err := tx.QueryContext(ctx, `SELECT start, data FROM rollup_packs WHERE site_id = $1 AND res = $2 AND start > $3 AND start < $4`,
		siteID, res, from-span, to)
	if err != nil {
		return nil, nil, err
	}
	defer packs.Close()
	for packs.Next() {
		var (
			start int64
			data  []byte
		)
		if err := packs.Scan(&start, &data); err != nil {
			return nil, nil, err
		}
		bs, err := decodePack(data, span/size)
		if err != nil {
			return nil, nil, err
		}
		for _, pb := range bs {
			b := start + pb.idx*size
			if b < from || b >= to {
				continue
			}
			if r := merged[b]; r != nil {
				r.merge(pb.r)
			} else {
				merged[b] = pb.r
			}
		}
	}
	if err := packs.Err(); err != nil {
		return nil, nil, err
	}
	buckets := make([]int64, 0, len(merged))
	for b := range merged {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	out := make([]*rollup, len(buckets))
	for i, b := range buckets {
		out[i] = merged[b]
	}
	return buckets, out, nil
}

// checksQuery is a page of a site's checks as SiteChecks asks for it:
// the first want checks in the page's order (newest first when desc)
// strictly before (desc) or after bound, if hasBound, from location loc
// if set.
type checksQuery struct {
	site     int64
	loc      string
	desc     bool
	hasBound bool
	bound    int64
	want     int
}

// compare orders checks as the page lists them: by time, then id,
// newest first when desc.
func (q *checksQuery) compare(a, b storedCheck) int {
	c := cmp.Compare(a.At, b.At)
	if c == 0 {
		c = cmp.Compare(a.ID, b.ID)
	}
	if q.desc {
		return -c
	}
	return c
}

// in says whether a check at at belongs to the page's range.
func (q *checksQuery) in(at int64) bool {
	switch {
	case !q.hasBound:
		return true
	case q.desc:
		return at < q.bound
	}
	return at > q.bound
}

// readChecks returns the page: the first want checks rows, merged with
// the checks of the site's blocks (addBlockChecks).
func (s *Service) readChecks(ctx context.Context, tx *sql.Tx, q *checksQuery) ([]storedCheck, error) {
	query := `SELECT ` + checkCols + ` FROM checks WHERE site_id = $1 ORDER BY checked_at, id LIMIT $2`
	args := []any{q.site, q.want}
	switch {
	case q.hasBound && q.desc:
		query = `SELECT ` + checkCols + ` FROM checks WHERE site_id = $1 AND checked_at < $3 ORDER BY checked_at DESC, id DESC LIMIT $2`
		args = append(args, q.bound)
	case q.hasBound:
		query = `SELECT ` + checkCols + ` FROM checks WHERE site_id = $1 AND checked_at > $3 ORDER BY checked_at, id LIMIT $2`
		args = append(args, q.bound)
	case q.desc:
		query = `SELECT ` + checkCols + ` FROM checks WHERE site_id = $1 ORDER BY checked_at DESC, id DESC LIMIT $2`
	}
	query, args = byLocation(query, args, q.loc)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var page []storedCheck
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		page = append(page, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return s.addBlockChecks(ctx, tx, q, page)
}

// addBlockChecks merges the checks of the site's blocks into page (the
// first want checks rows, in order). Blocks are read in the page's time
// order, a few at a time, until the next one cannot hold a check that
// comes before the want-th found: an hour's block holds checks of that
// hour only.
func (s *Service) addBlockChecks(ctx context.Context, tx *sql.Tx, q *checksQuery, page []storedCheck) ([]storedCheck, error) {
	type block struct {
		hour int64
		loc  string
		data []byte
	}
	limit := 4
	var last *block
	for {
		b := s.newSQL().sql(`SELECT hour, location, data FROM check_blocks WHERE site_id = `).arg(q.site)
		if q.loc != "" {
			b.sql(` AND location = `).arg(q.loc)
		}
		op, order := ` > `, ` ORDER BY hour, location`
		if q.desc {
			op, order = ` < `, ` ORDER BY hour DESC, location DESC`
		}
		switch {
		case q.hasBound && q.desc:
			b.sql(` AND hour < `).arg(q.bound)
		case q.hasBound:
			b.sql(` AND hour > `).arg(q.bound - hourMS)
		}
		if last != nil {
			b.sql(` AND (hour` + op).arg(last.hour).sql(` OR (hour = `).arg(last.hour).sql(` AND location` + op).arg(last.loc).sql(`))`)
		}
		b.sql(order + ` LIMIT `).arg(limit)
		rows, err := tx.QueryContext(ctx, b.String(), b.args...)
		if err != nil {
			return nil, err
		}
		var batch []block
		for rows.Next() {
			var bl block
			if err := rows.Scan(&bl.hour, &bl.loc, &bl.data); err != nil {
				rows.Close()
				return nil, err
			}
			batch = append(batch, bl)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i := range batch {
			bl := &batch[i]
			if len(page) >= q.want && q.past(page[q.want-1].At, bl.hour) {
				return page, nil
			}
			cs, err := decodeBlock(bl.hour, bl.data)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if q.in(c.At) {
					page = append(page, storedCheck{site: q.site, loc: bl.loc, blockCheck: c})
				}
			}
			slices.SortFunc(page, q.compare)
			page = page[:min(len(page), q.want)]
			last = bl
		}
		if len(batch) < limit {
			return page, nil
		}
		limit = min(limit*4, 256)
	}
}

// past says whether the page's want-th check, at kth, comes before every
// check of the block of hour (and of the blocks after it).
func (q *checksQuery) past(kth, hour int64) bool {
	if q.desc {
		return kth >= hour+hourMS
	}
	return kth < hour
}
