package sqldb

import (
	"errors"
	"net/url"
	"strings"
	"testing"
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
