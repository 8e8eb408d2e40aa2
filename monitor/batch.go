package monitor

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"upmon/platform/sqldb"
)

// The batching writer stores a batch of checks with a fixed number of
// statements, whatever its size: one read of the batch's state rows
// (locked), one multi-row insert of the checks, one multi-row update of
// the state rows, and the rollups (rollup.go). Events, incidents and push
// deadlines, which only some checks cause, are written one by one in the
// same transaction. On PostgreSQL a statement is a network round trip and
// a plan; a check used to cost about ten of them. There each of the four
// is one statement whatever the batch's size (arrays, eachRows); on
// SQLite a VALUES list takes at most maxRowsPerStatement rows, in
// power-of-two chunks.

// maxRowsPerStatement bounds the rows of one multi-row statement (SQLite
// takes at most 32,766 parameters, PostgreSQL 65,535).
const maxRowsPerStatement = 128

// placeholder returns the n-th (from 1) parameter. SQLite gets anonymous
// "?" parameters: it looks a numbered one up by name in a list, which made
// binding a statement of a thousand parameters cost quadratic time.
func (c *stmtCache) placeholder(b *strings.Builder, n int) {
	if !c.numbered {
		b.WriteByte('?')
		return
	}
	b.WriteByte('$')
	b.WriteString(strconv.Itoa(n))
}

// values returns the VALUES rows of a multi-row statement: rows rows of
// the typed columns, the statement's only parameters. Every parameter is
// cast, so that PostgreSQL types a VALUES list the same way as the
// table's columns.
func (c *stmtCache) values(rows int, types []string) string {
	var b strings.Builder
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for col, t := range types {
			if col > 0 {
				b.WriteByte(',')
			}
			b.WriteString("CAST(")
			c.placeholder(&b, n)
			b.WriteString(" AS ")
			b.WriteString(t)
			b.WriteByte(')')
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// inList returns the parameters from, … from+n-1 of an IN list (the
// statement's parameters are all in order).
func (c *stmtCache) inList(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		c.placeholder(&b, from+i)
	}
	return b.String()
}

// eachRows calls fn with the row source of every statement that writes
// args (rows of len(types) values laid end to end) and its parameters.
// On PostgreSQL that is one statement for all rows, a SELECT from unnest
// of one array parameter per column (sqldb.Unnest): the same text for
// any batch, prepared once, one round trip. SQLite has no arrays and gets
// VALUES lists of at most maxRowsPerStatement rows (chunks).
func (c *stmtCache) eachRows(args []any, types []string, fn func(src string, args []any) error) error {
	if len(args) == 0 {
		return nil
	}
	if c.numbered {
		cols, err := sqldb.Columns(args, types)
		if err != nil {
			return err
		}
		return fn("SELECT * FROM "+sqldb.Unnest(1, types), cols)
	}
	w := len(types)
	return chunks(len(args)/w, func(lo, hi int) error {
		return fn("VALUES "+c.values(hi-lo, types), args[lo*w:hi*w])
	})
}

// chunks calls fn with consecutive index ranges covering [0, n), each a
// power of two of at most maxRowsPerStatement rows: a statement's text
// depends on its row count, and these few shapes stay prepared
// (stmtCache) however the batches vary.
func chunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := maxRowsPerStatement
		for size > n-lo {
			size /= 2
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// lockedState is a site's site_state row, locked for the batch, with the
// changes its checks made.
type lockedState struct {
	st           siteState
	certNotified int
	recent       string
	notifiedUp   bool
	latencyMS    int64
	statusCode   int
	errText      string
	was          string // the reported state as read (siteState.State)
	dirty        bool   // a check changed it: written back
	clearLease   bool   // a scheduled check was applied: its lease is given back
}

const stateColumns = `up, degraded, last_up, checked_at, seq, dseq, fail_streak, ok_streak, slow_streak, fast_streak, cert_notified, recent, notified_up`

// lockStates reads and locks the state rows of ids (sorted, distinct),
// in id order.
func (s *Service) lockStates(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]*lockedState, error) {
	out := make(map[int64]*lockedState, len(ids))
	read := func(query string, args ...any) error {
		rows, err := s.stmts.query(ctx, tx, `SELECT site_id, `+stateColumns+` FROM site_state WHERE `+query+
			` ORDER BY site_id`+s.db.Dialect.ForUpdate(), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id int64
				r  lockedState
			)
			p := &r.st
			if err := rows.Scan(&id, &p.Up, &p.Degraded, &p.LastUp, &p.CheckedAt, &p.Seq, &p.DSeq,
				&p.FailStreak, &p.OKStreak, &p.SlowStreak, &p.FastStreak, &r.certNotified, &r.recent, &r.notifiedUp); err != nil {
				return err
			}
			r.was = r.st.State()
			out[id] = &r
		}
		return rows.Err()
	}
	if s.stmts.numbered {
		// One array parameter: one statement text for any batch.
		return out, read(`site_id = ANY($1::BIGINT[])`, ids)
	}
	err := chunks(len(ids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		return read(`site_id IN (`+s.stmts.inList(1, len(args))+`)`, args...)
	})
	return out, err
}

// checkRow is one row of the checks table.
type checkRow []any

var checkTypes = []string{"BIGINT", "BOOLEAN", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}

// checkRowOf returns the checks row of p, checked from location loc.
func checkRowOf(p *pending, loc string) checkRow {
	r := p.res
	var days any
	if r.TLSDaysLeft != nil {
		days = int64(*r.TLSDaysLeft)
	}
	return checkRow{p.st.ID, r.Up, p.at.UnixMilli(), r.Latency.Milliseconds(), int64(r.StatusCode), r.Err, checkState(r),
		r.DNS.Milliseconds(), r.Connect.Milliseconds(), r.TLS.Milliseconds(), r.FirstByte.Milliseconds(), days, int64(max(r.Attempts, 1)), loc}
}

// insertChecks inserts the rows, in order.
func insertChecks(ctx context.Context, tx *sql.Tx, stmts *stmtCache, rows []checkRow) error {
	args := make([]any, 0, len(rows)*len(checkTypes))
	for _, r := range rows {
		args = append(args, r...)
	}
	return stmts.eachRows(args, checkTypes, func(src string, args []any) error {
		_, err := stmts.exec(ctx, tx, `INSERT INTO checks (site_id, up, checked_at, latency_ms, status_code, error, state, dns_ms, connect_ms, tls_ms, first_byte_ms, tls_days_left, attempts, location) `+
			src, args...)
		return err
	})
}

var stateUpdateTypes = []string{"BIGINT", "BOOLEAN", "BOOLEAN", "BOOLEAN", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT",
	"BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT", "BOOLEAN", "BOOLEAN"}

// updateStates writes the changed state rows back: one multi-row UPDATE
// (a scheduled check's lease is given back in it).
func updateStates(ctx context.Context, tx *sql.Tx, stmts *stmtCache, ids []int64, states map[int64]*lockedState) error {
	var dirty []int64
	for _, id := range ids {
		if r := states[id]; r != nil && r.dirty {
			dirty = append(dirty, id)
		}
	}
	args := make([]any, 0, len(dirty)*len(stateUpdateTypes))
	for _, id := range dirty {
		r := states[id]
		p := &r.st
		args = append(args, id, p.Up, p.Degraded, p.LastUp, p.CheckedAt, p.Seq, p.DSeq,
			int64(p.FailStreak), int64(p.OKStreak), int64(p.SlowStreak), int64(p.FastStreak), int64(r.certNotified), r.recent,
			p.State(), r.latencyMS, int64(r.statusCode), r.errText, r.notifiedUp, r.clearLease)
	}
	return stmts.eachRows(args, stateUpdateTypes, func(src string, args []any) error {
		_, err := stmts.exec(ctx, tx, `WITH v (site_id, up, degraded, last_up, checked_at, seq, dseq, fail_streak, ok_streak, slow_streak, fast_streak,
			cert_notified, recent, state, latency_ms, status_code, error, notified_up, clear_lease) AS (`+src+`)
			UPDATE site_state SET up = v.up, degraded = v.degraded, last_up = v.last_up, checked_at = v.checked_at, seq = v.seq, dseq = v.dseq,
			fail_streak = v.fail_streak, ok_streak = v.ok_streak, slow_streak = v.slow_streak, fast_streak = v.fast_streak,
			cert_notified = v.cert_notified, recent = v.recent, state = v.state, latency_ms = v.latency_ms, status_code = v.status_code,
			error = v.error, notified_up = v.notified_up,
			lease_until = CASE WHEN v.clear_lease THEN 0 ELSE site_state.lease_until END
			FROM v WHERE site_state.site_id = v.site_id`, args...)
		return err
	})
}
