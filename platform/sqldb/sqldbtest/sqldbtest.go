// Package sqldbtest gives tests a private database: a SQLite data dir in
// a temp directory, or, when UPMON_TEST_POSTGRES_URL is set, a fresh
// PostgreSQL database dropped when the test ends.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"upmon/platform/sqldb"
)

// EnvPostgresURL names the variable that points tests at PostgreSQL.
const EnvPostgresURL = "UPMON_TEST_POSTGRES_URL"

// PostgresURL returns the configured test server URL, or "" for SQLite.
func PostgresURL() string { return os.Getenv(EnvPostgresURL) }

// Config returns a database configuration private to tb: a temp data dir
// for SQLite, plus a new PostgreSQL database when UPMON_TEST_POSTGRES_URL
// is set.
func Config(tb testing.TB) sqldb.Config {
	tb.Helper()
	cfg := sqldb.Config{DataDir: tb.TempDir()}
	if base := PostgresURL(); base != "" {
		cfg.DatabaseURL = NewPostgresDatabase(tb, base)
	}
	return cfg
}

// RequirePostgres returns the PostgreSQL test URL or skips tb with a clear
// message when it is not set.
func RequirePostgres(tb testing.TB) string {
	tb.Helper()
	u := PostgresURL()
	if u == "" {
		tb.Skip("skipping: set " + EnvPostgresURL + " (for example postgres://postgres@127.0.0.1:5432/test) to run PostgreSQL tests")
	}
	return u
}

// NewPostgresDatabase creates a uniquely named database on the server at
// base, drops it when tb ends, and returns its URL.
func NewPostgresDatabase(tb testing.TB, base string) string {
	tb.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	name := "upmon_t_" + hex.EncodeToString(buf[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvPostgresURL, err)
	}
	u.Path = "/" + name
	return u.String()
}
