package sqldb_test

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	"upmon/platform/sqldb"
)

// TestSQLiteSettingsOnEveryConnection reads the settings back from several
// pooled connections at once: each must have them, not only the first.
func TestSQLiteSettingsOnEveryConnection(t *testing.T) {
	db := MustOpen(t, sqldb.Config{DataDir: t.TempDir()}, "site")
	ctx := t.Context()
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		for _, p := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"busy_timeout", "10000"},
			{"foreign_keys", "1"},
			{"synchronous", "1"}, // NORMAL
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, p.pragma, err)
			}
			if got != p.want {
				t.Errorf("conn %d: %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
	}
}

// rawSQLite opens the file beside the DB handle with no busy timeout, so
// that a held lock shows at once as SQLITE_BUSY.
func rawSQLite(t *testing.T, path, params string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(0)"+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestSQLiteTransactionsTakeTheWriteLockAtBegin checks _txlock=immediate:
// a transaction that has not written yet already excludes other writers,
// so two read-then-write transactions cannot both read the old state.
// The writer kept out gets SQLITE_BUSY, which IsUnavailable classifies.
func TestSQLiteTransactionsTakeTheWriteLockAtBegin(t *testing.T) {
	dir := t.TempDir()
	db := MustOpen(t, sqldb.Config{DataDir: dir}, "site")
	ctx := t.Context()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	raw := rawSQLite(t, filepath.Join(dir, "site.db"), "")
	_, err = raw.ExecContext(ctx, `INSERT INTO items (name) VALUES ('other writer')`)
	if err == nil {
		t.Fatal("another writer wrote while a transaction was open: it did not take the write lock at BEGIN")
	}
	if !sqldb.IsUnavailable(err) || sqldb.IsUniqueViolation(err) {
		t.Fatalf("busy: IsUnavailable(%v) = false, want true", err)
	}
	// Readers are not blocked by the writer (WAL).
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM items`).Scan(&n); err != nil {
		t.Fatalf("read beside a writer: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO items (name) VALUES ('other writer')`); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}

func TestSQLiteUnavailableErrors(t *testing.T) {
	dir := t.TempDir()
	db := MustOpen(t, sqldb.Config{DataDir: dir}, "site")
	db.Close()
	ctx := context.Background()
	ro := rawSQLite(t, filepath.Join(dir, "site.db"), "&mode=ro")
	_, err := ro.ExecContext(ctx, `INSERT INTO items (name) VALUES ('x')`)
	if err == nil || !sqldb.IsUnavailable(err) {
		t.Errorf("read-only file: %v, want unavailable", err)
	}
	missing := rawSQLite(t, filepath.Join(dir, "no", "such", "dir", "x.db"), "")
	err = missing.PingContext(ctx)
	if err == nil || !sqldb.IsUnavailable(err) {
		t.Errorf("unopenable file: %v, want unavailable", err)
	}
}
