package monitor

import (
	"context"
	"database/sql"
	"slices"
)

// packKey names a pack: a site's buckets of one resolution in one span.
type packKey struct {
	site  int64
	start int64
}

// compactRollups moves up to compactLimit rollups rows of resolution res
// of the sites ids (locked) with buckets before horizon into their packs;
// it returns how many it moved. A bucket not aligned on its resolution
// (none the write path makes) stays a row.
func (s *Service) compactRollups(ctx context.Context, tx *sql.Tx, ids []int64, res string, horizon int64) (int, error) {
	size := resSize(res)
	q := s.newSQL().sql(`DELETE FROM rollups WHERE (site_id, res, bucket) IN (SELECT site_id, res, bucket FROM rollups WHERE res = `).arg(res).
		sql(` AND site_id IN (`).list(ids).sql(`) AND bucket < `).arg(horizon).sql(` AND bucket % `).arg(size).
		sql(` = 0 ORDER BY site_id, bucket LIMIT `).arg(compactLimit).
		sql(`) RETURNING site_id, bucket, up_count, down_count, slow_count, latency_sum, latency_max, hist`)
	rows, err := tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return 0, err
	}
	moved := map[packKey]map[int64]*rollup{}
	n := 0
	for rows.Next() {
		var (
			site, bucket int64
			r            rollup
			hist         string
		)
		if err := rows.Scan(&site, &bucket, &r.Up, &r.Down, &r.Slow, &r.LatencySum, &r.LatencyMax, &hist); err != nil {
			rows.Close()
			return 0, err
		}
		r.Hist = decodeHist(hist)
		k := packKey{site, packStart(res, bucket)}
		if moved[k] == nil {
			moved[k] = map[int64]*rollup{}
		}
		moved[k][(bucket-k.start)/size] = &r
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.mergePacks(ctx, tx, res, moved)
}

// mergePacks adds buckets to their packs: each pack is read (locked),
// decoded, merged and written back, or created.
func (s *Service) mergePacks(ctx context.Context, tx *sql.Tx, res string, add map[packKey]map[int64]*rollup) error {
	var sites, starts []int64
	seenSite, seenStart := map[int64]bool{}, map[int64]bool{}
	for k := range add {
		if !seenSite[k.site] {
			seenSite[k.site] = true
			sites = append(sites, k.site)
		}
		if !seenStart[k.start] {
			seenStart[k.start] = true
			starts = append(starts, k.start)
		}
	}
	q := s.newSQL().sql(`SELECT site_id, start, data FROM rollup_packs WHERE res = `).arg(res).sql(` AND site_id IN (`).list(sites).
		sql(`) AND start IN (`).list(starts).sql(`)` + s.db.Dialect.ForUpdate())
	rows, err := tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return err
	}
	maxBuckets := packSpan(res) / resSize(res)
	for rows.Next() {
		var (
			k    packKey
			data []byte
		)
		if err := rows.Scan(&k.site, &k.start, &data); err != nil {
			rows.Close()
			return err
		}
		into := add[k]
		if into == nil {
			continue
		}
		old, err := decodePack(data, maxBuckets)
		if err != nil {
			rows.Close()
			return err
		}
		for _, b := range old {
			if r := into[b.idx]; r != nil {
				r.merge(b.r)
			} else {
				into[b.idx] = b.r
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	keys := make([]packKey, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	return s.writePacks(ctx, tx, res, keys, add)
}

// packOf returns the buckets of a pack in order.
func packOf(m map[int64]*rollup) []packBucket {
	out := make([]packBucket, 0, len(m))
	for idx, r := range m {
		out = append(out, packBucket{idx, r})
	}
	slices.SortFunc(out, func(a, b packBucket) int { return int(a.idx - b.idx) })
	return out
}

// writePacks inserts or replaces the packs of keys, 64 to a statement.
func (s *Service) writePacks(ctx context.Context, tx *sql.Tx, res string, keys []packKey, packs map[packKey]map[int64]*rollup) error {
	for lo := 0; lo < len(keys); lo += 64 {
		q := s.newSQL().sql(`INSERT INTO rollup_packs (site_id, res, start, data) VALUES `)
		for i, k := range keys[lo:min(lo+64, len(keys))] {
			if i > 0 {
				q.sql(",")
			}
			q.row(k.site, res, k.start, encodePack(packOf(packs[k])))
		}
		q.sql(` ON CONFLICT (site_id, res, start) DO UPDATE SET data = excluded.data`)
		if _, err := tx.ExecContext(ctx, q.String(), q.args...); err != nil {
			return err
		}
	}
	return nil
}
