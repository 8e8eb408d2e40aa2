package monitor

import (
	"context"
	"slices"

	"upmon/platform/sqldb"
)

// The overview's summary (StateSummary) reads two small tables instead of
// site_state, which every check rewrites (migration 00015):
// site_attention holds the sites not up, never checked or paused, and
// state_rows the number of site_state rows (a counter table, sharded by
// site id: sqldb.Counts). A check that changes no
// reported state writes neither. Every statement that creates or deletes
// a state row, changes a reported state or changes a schedule setting
// records the site in an attention set, and the set is applied in the
// same transaction: each site's attention row is recomputed from its
// state row as the transaction sees it, so the table cannot drift from
// site_state whatever the order of the changes.
//
// The writer holds the site's state row lock when it recomputes the
// site's attention row, so on PostgreSQL two transactions never wait on
// each other's attention rows in an order their state rows did not
// already impose; the count rows are updated last, just before commit.

// attentionChunk bounds the ids of one statement of attentionSet.apply.
const attentionChunk = 500

// attentionSet is what a transaction changed that the summary tables
// must reflect: the sites to recompute and the change in the number of
// state rows.
type attentionSet struct {
	ids    []int64
	counts sqldb.Counts
}

// touch records that id's state row was created, deleted or changed in a
// way the summary shows.
func (a *attentionSet) touch(id int64) { a.ids = append(a.ids, id) }

// created records that id's state row was created.
func (a *attentionSet) created(id int64) {
	a.touch(id)
	a.count(id, 1)
}

// count records delta state rows of id created (or deleted, negative).
func (a *attentionSet) count(id, delta int64) {
	if a.counts == nil {
		a.counts = sqldb.Counts{}
	}
	a.counts.Change(id, delta)
}

// deleteState deletes id's state row within db and records it (when
// there was one).
func (a *attentionSet) deleteState(ctx context.Context, db execer, id int64) error {
	res, err := db.ExecContext(ctx, `DELETE FROM site_state WHERE site_id = $1`, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return err
	}
	a.touch(id)
	a.count(id, -n)
	return nil
}

// apply recomputes the attention rows of the touched sites from their
// state rows and adds the change to the row count, within db (the
// transaction that made the changes). An empty set writes nothing.
func (a *attentionSet) apply(ctx context.Context, db execer, numbered bool) error {
	ids := slices.Clone(a.ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for lo := 0; lo < len(ids); lo += attentionChunk {
		chunk := ids[lo:min(lo+attentionChunk, len(ids))]
		del := (&sqlBuf{numbered: numbered}).sql(`DELETE FROM site_attention WHERE site_id IN (`).list(chunk).sql(`)`)
		if _, err := db.ExecContext(ctx, del.String(), del.args...); err != nil {
			return err
		}
		ins := (&sqlBuf{numbered: numbered}).sql(`INSERT INTO site_attention (site_id, state, paused)
			SELECT site_id, CASE WHEN checked_at = 0 THEN '` + StateUnknown + `' ELSE state END, paused FROM site_state
			WHERE (checked_at = 0 OR state <> '` + StateUp + `' OR paused) AND site_id IN (`).list(chunk).sql(`)`)
		if _, err := db.ExecContext(ctx, ins.String(), ins.args...); err != nil {
			return err
		}
	}
	return a.counts.Add(ctx, db, "state_rows")
}
