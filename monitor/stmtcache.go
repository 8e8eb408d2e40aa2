package monitor

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// stmtCache keeps the hot statements of the write path prepared: without
// it SQLite parses and plans every statement of every check again, which
// a profile showed to be the largest single cost of storing a check.
// database/sql prepares a statement once per pooled connection and reuses
// it within transactions (Tx.StmtContext).
//
// Preparing takes a pooled connection of its own, and the callers are
// inside a transaction that holds one already. Waiting for it there
// deadlocks as soon as every connection of the pool is held by a writer
// waiting to prepare (four PostgreSQL writers on a pool of four did), so
// a statement's first uses run unprepared while it is prepared in the
// background.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt // a nil value: being prepared
	closed bool
	// numbered makes the multi-row statements use numbered parameters
	// ($1, PostgreSQL) instead of anonymous ones (?, SQLite).
	numbered bool
}

// get returns the prepared statement of query, or nil (starting its
// preparation) when it is not ready yet. It never waits for the pool.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok || c.closed {
		return st
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = nil
	go c.prepare(query)
	return nil
}

// prepare prepares query and caches it; a failure leaves it to the next
// use to try again.
func (c *stmtCache) prepare(query string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || c.closed {
		if err == nil {
			_ = st.Close()
		}
		delete(c.m, query)
		return
	}
	c.m[query] = st
}

// exec runs a cached statement within tx.
func (c *stmtCache) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := c.get(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// query runs a cached query within tx.
func (c *stmtCache) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := c.get(query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// close closes every cached statement; statements still being prepared
// are closed when they are ready.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		if st != nil {
			_ = st.Close()
		}
	}
	c.m = nil
	c.closed = true
}
