package sqldbtest

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"upmon/platform/sqldb"
)

// RerunMigration runs the down part and then the up part of the migration
// file name of fsys on db, which has it applied: a test of a migration
// that fills a table from others checks that the up part rebuilds what
// the program maintained. Each statement must end with a semicolon at the
// end of a line; comment lines are dropped.
func RerunMigration(tb testing.TB, db *sqldb.DB, fsys fs.FS, name string) {
	tb.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		tb.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "-- +goose Down")
	if i < 0 {
		tb.Fatalf("%s has no down part", name)
	}
	for _, part := range []string{text[i:], text[:i]} {
		for _, stmt := range strings.SplitAfter(part, ";\n") {
			var lines []string
			for _, l := range strings.Split(stmt, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "--") {
					lines = append(lines, l)
				}
			}
			stmt = strings.TrimSpace(strings.Join(lines, "\n"))
			if stmt == "" {
				continue
			}
			if _, err := db.ExecContext(context.Background(), stmt); err != nil {
				tb.Fatalf("%s: %s: %v", name, stmt, err)
			}
		}
	}
}
