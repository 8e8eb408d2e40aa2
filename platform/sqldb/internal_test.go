package sqldb

import (
	"errors"
	"maps"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRedact(t *testing.T) {
	const u = "postgres://upmon:hunter2secret@db.internal:5432/upmon"
	err := redact(errors.New(`connect "postgres://upmon:hunter2secret@db.internal:5432/upmon": refused`), u)
	if strings.Contains(err.Error(), "hunter2secret") || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("redact = %q", err)
	}
	plain := errors.New("refused")
	if got := redact(plain, "postgres://db.internal/upmon"); got != plain {
		t.Fatalf("without a password the error must be kept as is, got %v", got)
	}
}

func TestPoolMaxConnsParameter(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want int
		ok   bool
	}{{"", DefaultPoolMaxConns, true}, {"1", 1, true}, {"1000", 1000, true}, {"0", 0, false}, {"1001", 0, false}, {"x", 0, false}} {
		q := url.Values{"sslmode": {"disable"}}
		if tt.v != "" {
			q.Set("pool_max_conns", tt.v)
		}
		n, err := poolMaxConns(q)
		if n != tt.want || (err == nil) != tt.ok || q.Has("pool_max_conns") || q.Get("sslmode") != "disable" {
			t.Errorf("pool_max_conns=%q: %d, %v, left %v", tt.v, n, err, q)
		}
	}
}

func TestAdvisoryLockIDs(t *testing.T) {
	if advisoryLockID("site") == advisoryLockID("monitor") {
		t.Fatal("two services share a migration lock")
	}
	// Replicas of different builds must agree on the id: it is fixed.
	if got := advisoryLockID("site"); got != 5887*31*31*31*31+'s'*31*31*31+'i'*31*31+'t'*31+'e' {
		t.Fatalf("advisoryLockID(site) = %d changed: replicas of different versions would not exclude each other", got)
	}
	if got := quoteIdent(`a"b`); got != `"a""b"` {
		t.Fatalf("quoteIdent = %s", got)
	}
}

// TestEngineOnlyMigrations checks that a *.postgres.sql or *.sqlite.sql
// migration is applied by its engine alone, under its plain name.
func TestEngineOnlyMigrations(t *testing.T) {
	src := fstest.MapFS{
		"m/00001_both.sql":          {Data: []byte("{{BLOB}}")},
		"m/00002_func.postgres.sql": {Data: []byte("pg")},
		"m/00003_func.sqlite.sql":   {Data: []byte("lite")},
	}
	for d, want := range map[Dialect]map[string]string{
		SQLite:   {"00001_both.sql": "BLOB", "00003_func.sql": "lite"},
		Postgres: {"00001_both.sql": "BYTEA", "00002_func.sql": "pg"},
	} {
		out, err := d.rewriteMigrations(src)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for name, f := range out.(fstest.MapFS) {
			got[name] = string(f.Data)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s migrations: %v, want %v", d, got, want)
		}
	}
}
