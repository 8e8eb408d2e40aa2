package sqldb_test

import (
	"database/sql"
	"reflect"
	"strings"
	"testing"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

func TestUnnestText(t *testing.T) {
	got := sqldb.Unnest(3, []string{"BIGINT", "TEXT"})
	if want := "unnest($3::BIGINT[],$4::TEXT[])"; got != want {
		t.Fatalf("Unnest = %q, want %q", got, want)
	}
}

func TestColumnsRefusesWhatItCannotType(t *testing.T) {
	types := []string{"BIGINT", "BOOLEAN", "TEXT"}
	for _, tc := range []struct {
		name  string
		args  []any
		types []string
		want  string
	}{
		{"ragged rows", []any{int64(1), true}, types, "not rows of 3 columns"},
		{"no columns", []any{int64(1)}, nil, "not rows of 0 columns"},
		{"float as BIGINT", []any{1.5, true, "a"}, types, "float64, not a BIGINT"},
		{"int as BOOLEAN", []any{int64(1), 1, "a"}, types, "int, not a BOOLEAN"},
		{"bytes as TEXT", []any{int64(1), true, []byte("a")}, types, "[]uint8, not a TEXT"},
		{"unknown type", []any{int64(1)}, []string{"REAL"}, "no array column of type REAL"},
	} {
		_, err := sqldb.Columns(tc.args, tc.types)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Columns error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestColumnsRoundTripThroughPostgres writes rows through one unnest
// statement and reads them back: the same values, NULLs and order.
func TestColumnsRoundTripThroughPostgres(t *testing.T) {
	base := sqldbtest.RequirePostgres(t)
	db, err := sql.Open("pgx", sqldbtest.NewPostgresDatabase(t, base))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE r (id BIGINT GENERATED ALWAYS AS IDENTITY, n INTEGER, b BOOLEAN, s TEXT)`); err != nil {
		t.Fatal(err)
	}
	types := []string{"BIGINT", "BOOLEAN", "TEXT"}
	args := []any{
		int64(-7), true, "first, with 'quotes' and ,{commas}",
		nil, false, nil,
		3, nil, "",
		int32(2147483647), true, "NULL",
	}
	cols, err := sqldb.Columns(args, types)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ExecContext(ctx, `INSERT INTO r (n, b, s) SELECT * FROM `+sqldb.Unnest(1, types), cols...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 4 {
		t.Fatalf("inserted %d rows, want 4", n)
	}
	rows, err := db.QueryContext(ctx, `SELECT n, b, s FROM r ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []any
	for rows.Next() {
		var (
			n sql.NullInt64
			b sql.NullBool
			s sql.NullString
		)
		if err := rows.Scan(&n, &b, &s); err != nil {
			t.Fatal(err)
		}
		got = append(got, n, b, s)
	}
	want := []any{
		sql.NullInt64{Int64: -7, Valid: true}, sql.NullBool{Bool: true, Valid: true}, sql.NullString{String: "first, with 'quotes' and ,{commas}", Valid: true},
		sql.NullInt64{}, sql.NullBool{Bool: false, Valid: true}, sql.NullString{},
		sql.NullInt64{Int64: 3, Valid: true}, sql.NullBool{}, sql.NullString{String: "", Valid: true},
		sql.NullInt64{Int64: 2147483647, Valid: true}, sql.NullBool{Bool: true, Valid: true}, sql.NullString{String: "NULL", Valid: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows read back:\n got %v\nwant %v", got, want)
	}
}
