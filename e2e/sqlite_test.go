package e2e

import (
	"database/sql"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

func sqlOpenSQLite(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
}
