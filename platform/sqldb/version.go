package sqldb

import (
	"context"
	"fmt"
)

// Schema returns where the database's tables live: the PostgreSQL schema
// named after the service, or "main" of the service's own SQLite file.
func (db *DB) Schema() string {
	if db.Dialect == Postgres {
		return db.Name
	}
	return "main"
}

// MigrationVersion returns the newest applied goose migration version.
func (db *DB) MigrationVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqldb: migration version of %s: %w", db.Name, err)
	}
	return v, nil
}
