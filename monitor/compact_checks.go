package monitor

import (
	"context"
	"database/sql"
	"time"
)

// checkCols are the columns of a checks row, in the order scanCheck
// reads them.
const checkCols = `site_id, location, id, up, state, checked_at, latency_ms, status_code, error, dns_ms, connect_ms, tls_ms, first_byte_ms, tls_days_left, attempts`

// storedCheck is a check as stored: in a checks row or a block.
type storedCheck struct {
	site int64
	loc  string
	blockCheck
}

func scanCheck(rows *sql.Rows) (storedCheck, error) {
	var (
		c    storedCheck
		days *int64
	)
	err := rows.Scan(&c.site, &c.loc, &c.ID, &c.Up, &c.State, &c.At, &c.LatencyMS, &c.StatusCode, &c.Error,
		&c.DNSMS, &c.ConnectMS, &c.TLSMS, &c.FirstByte, &days, &c.Attempts)
	if days != nil {
		c.HasDays, c.DaysLeft = true, *days
	}
	return c, err
}

// check is the API's form of c.
func (c *storedCheck) check() Check {
	out := Check{ID: c.ID, SiteID: c.site, Up: c.Up, State: c.State, CheckedAt: time.UnixMilli(c.At).UTC(),
		LatencyMS: c.LatencyMS, StatusCode: int(c.StatusCode), Error: c.Error, DNSMS: c.DNSMS, ConnectMS: c.ConnectMS,
		TLSMS: c.TLSMS, FirstByteMS: c.FirstByte, Attempts: int(c.Attempts), Location: c.loc}
	if out.State == "" {
		out.State = StateDown
		if out.Up {
			out.State = StateUp
		}
	}
	if c.HasDays {
		d := int(c.DaysLeft)
		out.TLSDaysLeft = &d
	}
	return out
}

// blockKey names a block: a site's checks of one hour from one location.
type blockKey struct {
	site int64
	hour int64
	loc  string
}

// compactChecks moves up to compactLimit checks rows of the sites ids
// (locked) older than horizon into their blocks, merged with what the
// blocks hold; it returns how many it moved.
func (s *Service) compactChecks(ctx context.Context, tx *sql.Tx, ids []int64, horizon int64) (int, error) {
	q := s.newSQL().sql(`DELETE FROM checks WHERE id IN (SELECT id FROM checks WHERE site_id IN (`).list(ids).
		sql(`) AND checked_at < `).arg(horizon).sql(` ORDER BY site_id, checked_at, id LIMIT `).arg(compactLimit).
		sql(`) RETURNING ` + checkCols)
	rows, err := tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return 0, err
	}
	moved := map[blockKey][]blockCheck{}
	n := 0
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		k := blockKey{c.site, blockHour(c.At), c.loc}
		moved[k] = append(moved[k], c.blockCheck)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.mergeBlocks(ctx, tx, moved)
}

// mergeBlocks adds checks to their blocks: each block is read (locked),
// decoded, merged and written back, or created.
func (s *Service) mergeBlocks(ctx context.Context, tx *sql.Tx, add map[blockKey][]blockCheck) error {
	var sites, hours []int64
	seenSite, seenHour := map[int64]bool{}, map[int64]bool{}
	for k := range add {
		if !seenSite[k.site] {
			seenSite[k.site] = true
			sites = append(sites, k.site)
		}
		if !seenHour[k.hour] {
			seenHour[k.hour] = true
			hours = append(hours, k.hour)
		}
	}
	q := s.newSQL().sql(`SELECT site_id, hour, location, data FROM check_blocks WHERE site_id IN (`).list(sites).
		sql(`) AND hour IN (`).list(hours).sql(`)` + s.db.Dialect.ForUpdate())
	rows, err := tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			k    blockKey
			data []byte
		)
		if err := rows.Scan(&k.site, &k.hour, &k.loc, &data); err != nil {
			rows.Close()
			return err
		}
		if add[k] == nil {
			continue
		}
		old, err := decodeBlock(k.hour, data)
		if err != nil {
			rows.Close()
			return err
		}
		add[k] = append(add[k], old...)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	keys := make([]blockKey, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	return writeBlocks(ctx, tx, s.newSQL, keys, add)
}

// writeBlocks inserts or replaces the blocks of keys, 64 to a statement.
func writeBlocks(ctx context.Context, tx *sql.Tx, newSQL func() *sqlBuf, keys []blockKey, blocks map[blockKey][]blockCheck) error {
	for lo := 0; lo < len(keys); lo += 64 {
		q := newSQL().sql(`INSERT INTO check_blocks (site_id, hour, location, n, data) VALUES `)
		for i, k := range keys[lo:min(lo+64, len(keys))] {
			if i > 0 {
				q.sql(",")
			}
			cs := blocks[k]
			sortBlockChecks(cs)
			q.row(k.site, k.hour, k.loc, int64(len(cs)), encodeBlock(k.hour, cs))
		}
		q.sql(` ON CONFLICT (site_id, hour, location) DO UPDATE SET n = excluded.n, data = excluded.data`)
		if _, err := tx.ExecContext(ctx, q.String(), q.args...); err != nil {
			return err
		}
	}
	return nil
}
