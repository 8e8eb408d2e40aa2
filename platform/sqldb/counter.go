package sqldb

import (
	"context"
	"database/sql"
	"maps"
	"slices"
)

// A counter table keeps a row count that would otherwise cost a scan of
// the counted table: on PostgreSQL COUNT(*) reads every row version the
// table holds, live or dead, unless vacuum has marked its pages visible.
// The table has the columns (shard INTEGER PRIMARY KEY, n BIGINT NOT NULL)
// and the count is the sum of n. Each change adds to the row of its key's
// shard, in the transaction that inserts or deletes the counted rows:
// concurrent transactions on PostgreSQL then wait on one another's count
// only when their keys share a shard, not on one hot row for every
// insert.

// CounterShards is the number of shards of a counter table; a key's shard
// is key mod CounterShards. A migration that fills a counter table groups
// by the same expression.
const CounterShards = 16

// Execer is a database handle or a transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Counts collects changes to a counter table, by key, to be written at
// once (Add) at the end of a transaction.
type Counts map[int64]int64

// Change records that delta rows of key were inserted (or, negative,
// deleted).
func (c Counts) Change(key, delta int64) {
	if delta == 0 {
		return
	}
	shard := ((key % CounterShards) + CounterShards) % CounterShards
	c[shard] += delta
}

// Add writes the changes to table within ex, one upsert per shard in
// shard order (so two transactions take the shards' row locks in the same
// order and cannot deadlock on them). It should be the transaction's last
// write: the shard rows stay locked until commit.
func (c Counts) Add(ctx context.Context, ex Execer, table string) error {
	for _, shard := range slices.Sorted(maps.Keys(c)) {
		delta := c[shard]
		if delta == 0 {
			continue
		}
		if _, err := ex.ExecContext(ctx, `INSERT INTO `+table+` (shard, n) VALUES ($1, $2)
			ON CONFLICT (shard) DO UPDATE SET n = `+table+`.n + excluded.n`, shard, delta); err != nil {
			return err
		}
	}
	return nil
}

// Count returns the sum of a counter table.
func Count(ctx context.Context, db *DB, table string) (int, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM `+table).Scan(&n)
	return int(n), err
}
