package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// realErrors returns errors the engine under test really produces.
func realErrors(t *testing.T, db *sqldb.DB) (unique, pk, notNull, foreignKey, syntax error) {
	t.Helper()
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `INSERT INTO items (name) VALUES ('dup')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO tags (item_id, tag) VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	_, unique = db.ExecContext(ctx, `INSERT INTO items (name) VALUES ('dup')`)
	_, pk = db.ExecContext(ctx, `INSERT INTO tags (item_id, tag) VALUES (1, 'x')`)
	_, notNull = db.ExecContext(ctx, `INSERT INTO items (name) VALUES (NULL)`)
	_, foreignKey = db.ExecContext(ctx, `INSERT INTO tags (item_id, tag) VALUES (42, 'y')`)
	_, syntax = db.ExecContext(ctx, `SELEKT 1`)
	for i, err := range []error{unique, pk, notNull, foreignKey, syntax} {
		if err == nil {
			t.Fatalf("statement %d did not fail", i)
		}
	}
	return unique, pk, notNull, foreignKey, syntax
}

func TestClassifyRealErrors(t *testing.T) {
	db := MustOpen(t, sqldbtest.Config(t), "site")
	unique, pk, notNull, fk, syntax := realErrors(t, db)
	tests := []struct {
		name              string
		err               error
		unique, unavailbl bool
	}{
		{"nil", nil, false, false},
		{"plain", errors.New("boom"), false, false},
		{"unique", unique, true, false},
		{"unique, wrapped", fmt.Errorf("add: %w", unique), true, false},
		{"primary key", pk, true, false},
		{"not null", notNull, false, false},
		{"foreign key", fk, false, false},
		{"syntax", syntax, false, false},
		{"canceled", context.Canceled, false, false},
		{"no rows", sql.ErrNoRows, false, false},
	}
	for _, tt := range tests {
		if got := sqldb.IsUniqueViolation(tt.err); got != tt.unique {
			t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", tt.name, tt.err, got, tt.unique)
		}
		if got := sqldb.IsUnavailable(tt.err); got != tt.unavailbl {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.unavailbl)
		}
	}

	// A closed database cannot be reached.
	db.Close()
	_, err := db.ExecContext(t.Context(), `INSERT INTO items (name) VALUES ('late')`)
	if err == nil || !sqldb.IsUnavailable(err) || sqldb.IsUniqueViolation(err) {
		t.Errorf("closed database: %v, want unavailable", err)
	}
}

func TestPostgresUnavailable(t *testing.T) {
	base := sqldbtest.RequirePostgres(t)
	db := MustOpen(t, sqldb.Config{DatabaseURL: sqldbtest.NewPostgresDatabase(t, base)}, "site")
	ctx := t.Context()

	// A server-side shutdown of the session (SQLSTATE 57P01).
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, `SELECT 1`)
	if err == nil || !sqldb.IsUnavailable(err) {
		t.Errorf("terminated session: %v, want unavailable", err)
	}

	// A server nobody listens on; the password is not in the error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = sqldb.Open(ctx, sqldb.Config{DatabaseURL: "postgres://upmon:hunter2secret@" + addr + "/db?sslmode=disable&connect_timeout=5"}, "site", migrations)
	if err == nil || !sqldb.IsUnavailable(err) {
		t.Errorf("refused connection: %v, want unavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("the password leaked: %v", err)
	}
}

func TestAPIError(t *testing.T) {
	db := MustOpen(t, sqldbtest.Config(t), "site")
	_, _, _, _, syntax := realErrors(t, db)
	db.Close()
	_, closed := db.Exec(`SELECT secret_column FROM items`)
	notFound := &api.Error{Code: api.NotFound, Message: "no such site"}

	if got := sqldb.APIError("site", "get", context.Canceled); got != context.Canceled {
		t.Errorf("canceled: %v, want it passed through", got)
	}
	deadline := fmt.Errorf("query: %w", context.DeadlineExceeded)
	if got := sqldb.APIError("site", "get", deadline); got != deadline {
		t.Errorf("deadline: %v, want it passed through", got)
	}
	if got := sqldb.APIError("site", "get", fmt.Errorf("wrapped: %w", notFound)); got != notFound {
		t.Errorf("api error: %v, want the api.Error itself", got)
	}
	got := sqldb.APIError("site", "get", closed)
	var ae *api.Error
	if !errors.As(got, &ae) || ae.Code != api.Unavailable || ae.Message != "the site database is unavailable" {
		t.Errorf("unavailable: %#v, want api unavailable", got)
	}
	got = sqldb.APIError("site", "get", syntax)
	if errors.As(got, &ae) || !errors.Is(got, syntax) || !strings.HasPrefix(got.Error(), "site: get: ") {
		t.Errorf("internal: %v, want %q wrapped with the service and operation, not an api.Error", got, syntax)
	}
}
