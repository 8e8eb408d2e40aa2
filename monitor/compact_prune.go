package monitor

import (
	"context"
	"database/sql"
)

// Pruning compacted history deletes exactly what pruning the rows would
// have deleted: whole blocks and packs before the cutoff, and from the
// one block or pack of each site the cutoff falls in, the checks or
// buckets before it (trimBatch of them per transaction).

const trimBatch = 256

// pruneBlocks deletes the compacted checks older than cutoff.
func (s *Service) pruneBlocks(ctx context.Context, cutoff int64) error {
	hour := blockHour(cutoff)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM check_blocks WHERE hour < $1`, hour); err != nil {
		return err
	}
	if hour == cutoff {
		return nil
	}
	after := blockKey{site: -1 << 63}
	for {
		var n int
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			n, after, err = s.trimBlocks(ctx, tx, hour, cutoff, after)
			return err
		})
		if err != nil || n < trimBatch {
			return err
		}
	}
}

// trimBlocks drops the checks before cutoff from the next trimBatch
// blocks of hour after the key after; it returns how many blocks it read
// and the last one's key.
func (s *Service) trimBlocks(ctx context.Context, tx *sql.Tx, hour, cutoff int64, after blockKey) (int, blockKey, error) {
	q := s.newSQL().sql(`SELECT site_id, location, data FROM check_blocks WHERE hour = `).arg(hour).
		sql(` AND (site_id > `).arg(after.site).sql(` OR (site_id = `).arg(after.site).sql(` AND location > `).arg(after.loc).
		sql(`)) ORDER BY site_id, location LIMIT `).arg(trimBatch).sql(s.db.Dialect.ForUpdate())
	rows, err := tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return 0, after, err
	}
	n := 0
	keep := map[blockKey][]blockCheck{}
	var gone []blockKey
	for rows.Next() {
		k := blockKey{hour: hour}
		var data []byte
		if err := rows.Scan(&k.site, &k.loc, &data); err != nil {
			rows.Close()
			return 0, after, err
		}
		n++
		after = k
		cs, err := decodeBlock(hour, data)
		if err != nil {
			rows.Close()
			return 0, after, err
		}
		i := 0
		for i < len(cs) && cs[i].At < cutoff {
			i++
		}
		switch {
		case i == len(cs):
			gone = append(gone, k)
		case i > 0:
			keep[k] = cs[i:]
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, err
	}
	for _, k := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_blocks WHERE site_id = $1 AND hour = $2 AND location = $3`, k.site, k.hour, k.loc); err != nil {
			return 0, after, err
		}
	}
	keys := make([]blockKey, 0, len(keep))
	for k := range keep {
		keys = append(keys, k)
	}
	return n, after, writeBlocks(ctx, tx, s.newSQL, keys, keep)
}

// prunePacks deletes the packed buckets of res older than cutoff.
func (s *Service) prunePacks(ctx context.Context, res string, cutoff int64) error {
	start := packStart(res, cutoff)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM rollup_packs WHERE res = $1 AND start < $2`, res, start); err != nil {
		return err
	}
	if start == cutoff {
		return nil
	}
	after := int64(-1 << 63)
	for {
		var n int
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			n, after, err = s.trimPacks(ctx, tx, res, start, cutoff, after)
			return err
		})
		if err != nil || n < trimBatch {
			return err
		}
	}
}

// trimPacks drops the buckets before cutoff from the next trimBatch packs
// of res starting at start, of sites after the site after; it returns
// how many it read and the last one's site.
func (s *Service) trimPacks(ctx context.Context, tx *sql.Tx, res string, start, cutoff, after int64) (int, int64, error) {
	q := s.newSQL().sql(`SELECT site_id, data FROM rollup_packs WHERE res = `).arg(res).sql(` AND start = `).arg(start).
		sql(` AND site_id > `).arg(after).sql(` ORDER BY site_id LIMIT `).arg(trimBatch).sql(s.db.Dialect.ForUpdate())
	rows, err := tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return 0, after, err
	}
	size := resSize(res)
	n := 0
	keep := map[packKey]map[int64]*rollup{}
	var gone []int64
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&after, &data); err != nil {
			rows.Close()
			return 0, after, err
		}
		n++
		bs, err := decodePack(data, packSpan(res)/size)
		if err != nil {
			rows.Close()
			return 0, after, err
		}
		i := 0
		for i < len(bs) && start+bs[i].idx*size < cutoff {
			i++
		}
		if i == 0 {
			continue
		}
		if i == len(bs) {
			gone = append(gone, after)
			continue
		}
		m := map[int64]*rollup{}
		for _, b := range bs[i:] {
			m[b.idx] = b.r
		}
		keep[packKey{after, start}] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, err
	}
	for _, site := range gone {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rollup_packs WHERE site_id = $1 AND res = $2 AND start = $3`, site, res, start); err != nil {
			return 0, after, err
		}
	}
	keys := make([]packKey, 0, len(keep))
	for k := range keep {
		keys = append(keys, k)
	}
	return n, after, s.writePacks(ctx, tx, res, keys, keep)
}
