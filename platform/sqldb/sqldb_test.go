package sqldb_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// migrations is a service's migration directory using both dialect macros.
var migrations = fstest.MapFS{
	"migrations/001_items.sql": {Data: []byte(`-- +goose Up
CREATE TABLE items (
    id {{ID}},
    name TEXT NOT NULL UNIQUE,
    data {{BLOB}}
);
-- +goose Down
DROP TABLE items;
`)},
	"migrations/002_tags.sql": {Data: []byte(`-- +goose Up
CREATE TABLE tags (item_id BIGINT NOT NULL REFERENCES items(id), tag TEXT NOT NULL, PRIMARY KEY (item_id, tag));
-- +goose Down
DROP TABLE tags;
`)},
	"migrations/README.md": {Data: []byte("not a migration")},
}

// MustOpen opens the database of service name with cfg, closed when tb ends.
func MustOpen(tb testing.TB, cfg sqldb.Config, name string) *sqldb.DB {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), cfg, name, migrations)
	if err != nil {
		tb.Fatalf("Open(%s): %v", name, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestOpenAppliesMigrationsWithTheDialectsTypes(t *testing.T) {
	cfg := sqldbtest.Config(t)
	db := MustOpen(t, cfg, "monitor")
	wantDialect := sqldb.SQLite
	if cfg.DatabaseURL != "" {
		wantDialect = sqldb.Postgres
	}
	if db.Dialect != wantDialect || db.Name != "monitor" || db.Dialect.String() != map[sqldb.Dialect]string{sqldb.SQLite: "sqlite", sqldb.Postgres: "postgres"}[wantDialect] {
		t.Fatalf("db = %v %q, want %v monitor", db.Dialect, db.Name, wantDialect)
	}
	ctx := t.Context()
	// {{ID}} numbers rows by itself; {{BLOB}} keeps bytes exactly.
	blob := []byte{0, 1, 2, 0xff, 'x'}
	var ids []int64
	for _, name := range []string{"a", "b"} {
		var id int64
		if err := db.QueryRowContext(ctx, `INSERT INTO items (name, data) VALUES ($1, $2) RETURNING id`, name, blob).Scan(&id); err != nil {
			t.Fatalf("insert: %v", err)
		}
		ids = append(ids, id)
	}
	if ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("ids = %v, want [1 2]", ids)
	}
	var got []byte
	if err := db.QueryRowContext(ctx, `SELECT data FROM items WHERE id = $1`, ids[1]).Scan(&got); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("blob = %v, %v; want %v", got, err, blob)
	}
	// Foreign keys are enforced on both engines.
	if _, err := db.ExecContext(ctx, `INSERT INTO tags (item_id, tag) VALUES (99, 'x')`); err == nil {
		t.Fatal("a tag of a missing item was accepted: foreign keys are off")
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestReopenAppliesNothingTwice(t *testing.T) {
	cfg := sqldbtest.Config(t)
	db := MustOpen(t, cfg, "site")
	if _, err := db.Exec(`INSERT INTO items (name) VALUES ($1)`, "kept"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = MustOpen(t, cfg, "site")
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM items`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after reopening: %d rows, %v; want the 1 row kept", n, err)
	}
	assertVersionsOnce(t, db)
}

// assertVersionsOnce checks that goose recorded each migration exactly once.
func assertVersionsOnce(t *testing.T, db *sqldb.DB) {
	t.Helper()
	rows, err := db.Query(`SELECT version_id, COUNT(*) FROM goose_db_version WHERE version_id > 0 GROUP BY version_id ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v, n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("migration %d recorded %d times", v, n)
		}
		got = append(got, string(rune('0'+v)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "1,2" {
		t.Fatalf("applied versions = %v, want 1,2", got)
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	cfg := sqldbtest.Config(t)
	const n = 6
	var wg sync.WaitGroup
	dbs := make([]*sqldb.DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = sqldb.Open(t.Context(), cfg, "monitor", migrations)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		t.FailNow()
	}
	assertVersionsOnce(t, dbs[0])
}

func TestEachServiceHasItsOwnDatabase(t *testing.T) {
	cfg := sqldbtest.Config(t)
	a, b := MustOpen(t, cfg, "site"), MustOpen(t, cfg, "monitor")
	if _, err := a.Exec(`INSERT INTO items (name) VALUES ('only-in-site')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(`SELECT COUNT(*) FROM items`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("monitor sees %d of site's rows (%v), want 0", n, err)
	}
	if cfg.DatabaseURL == "" {
		for _, name := range []string{"site.db", "monitor.db"} {
			if _, err := os.Stat(filepath.Join(cfg.DataDir, name)); err != nil {
				t.Errorf("SQLite file: %v", err)
			}
		}
		return
	}
	// On PostgreSQL each service is a schema named after it, and nothing
	// lands in public.
	rows, err := a.Query(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'items' ORDER BY table_schema`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var schemas []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		schemas = append(schemas, s)
	}
	if strings.Join(schemas, ",") != "monitor,site" {
		t.Fatalf("items tables in schemas %v, want monitor,site", schemas)
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := t.Context()
	for _, name := range []string{"", "Site", "1site", "site-x", "site;drop", `a"b`, "../etc"} {
		if _, err := sqldb.Open(ctx, sqldb.Config{DataDir: t.TempDir()}, name, migrations); err == nil {
			t.Errorf("Open(%q) accepted an invalid name", name)
		}
	}
	if _, err := sqldb.Open(ctx, sqldb.Config{}, "site", migrations); err == nil {
		t.Error("SQLite without a data directory accepted")
	}
	for _, u := range []string{"mysql://x@127.0.0.1/db", "://nope", "postgres://127.0.0.1:1/db?pool_max_conns=0",
		"postgres://127.0.0.1:1/db?pool_max_conns=x", "postgres://127.0.0.1:1/db?pool_max_conns=1001"} {
		if _, err := sqldb.Open(ctx, sqldb.Config{DatabaseURL: u}, "site", migrations); err == nil {
			t.Errorf("Open with URL %q accepted", u)
		}
	}
	bad := fstest.MapFS{"001_bad.sql": {Data: []byte("-- +goose Up\nCREATE TABLE (;\n")}}
	if _, err := sqldb.Open(ctx, sqldbtest.Config(t), "site", bad); err == nil {
		t.Error("a broken migration was accepted")
	}
}

func TestPoolMaxConns(t *testing.T) {
	base := sqldbtest.RequirePostgres(t)
	u := sqldbtest.NewPostgresDatabase(t, base)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	// The server would refuse an unknown parameter: the open succeeding
	// shows pool_max_conns was not sent.
	db := MustOpen(t, sqldb.Config{DatabaseURL: u + sep + "pool_max_conns=3"}, "site")
	if got := db.Stats().MaxOpenConnections; got != 3 {
		t.Fatalf("MaxOpenConnections = %d, want 3", got)
	}
	db = MustOpen(t, sqldb.Config{DatabaseURL: u}, "monitor")
	if got := db.Stats().MaxOpenConnections; got != sqldb.DefaultPoolMaxConns {
		t.Fatalf("default MaxOpenConnections = %d, want %d", got, sqldb.DefaultPoolMaxConns)
	}
}

func TestInTx(t *testing.T) {
	db := MustOpen(t, sqldbtest.Config(t), "site")
	ctx := t.Context()
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO items (name) VALUES ('rolled-back')`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (name) VALUES ('committed')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var names []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM items ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		names = append(names, s)
	}
	if strings.Join(names, ",") != "committed" {
		t.Fatalf("rows = %v, want [committed]", names)
	}
}

func TestDialectClauses(t *testing.T) {
	if sqldb.SQLite.SkipLocked() != "" || sqldb.SQLite.ForUpdate() != "" {
		t.Error("SQLite needs no locking clauses")
	}
	if sqldb.Postgres.SkipLocked() != " FOR UPDATE SKIP LOCKED" || sqldb.Postgres.ForUpdate() != " FOR UPDATE" {
		t.Errorf("Postgres clauses = %q, %q", sqldb.Postgres.SkipLocked(), sqldb.Postgres.ForUpdate())
	}
	// The clauses are valid SQL on the engine under test.
	db := MustOpen(t, sqldbtest.Config(t), "site")
	err := db.InTx(t.Context(), func(tx *sql.Tx) error {
		for _, clause := range []string{db.Dialect.SkipLocked(), db.Dialect.ForUpdate()} {
			rows, err := tx.Query(`SELECT id FROM items WHERE id > $1 ORDER BY id LIMIT 10`+clause, 0)
			if err != nil {
				return err
			}
			rows.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
