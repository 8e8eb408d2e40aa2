package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// maxKumaRows caps the rows read from one table of a Kuma database.
const maxKumaRows = 100_000

// dbURI is the read-only URI of a database file: the file is never
// written, not even its journal (query_only).
func dbURI(file string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")
	return "file:" + r.Replace(file) + "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)"
}

// readKumaDB reads monitors, notifications, tags and maintenance from an
// Uptime Kuma database (schema of its knex migrations), read-only.
func readKumaDB(file string) (*kumaSource, error) {
	db, err := sql.Open("sqlite", dbURI(file))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return nil, fmt.Errorf("not a readable SQLite database: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		tables[n] = true
	}
	rows.Close()
	if !tables["monitor"] || !tables["notification"] {
		return nil, errors.New("not an Uptime Kuma database (no monitor and notification tables)")
	}
	src := &kumaSource{monitorNotifs: map[int64][]int64{}, monitorTags: map[int64][]kumaTag{}, maintMonitors: map[int64][]int64{}}
	if src.monitors, err = tableRows(ctx, db, "monitor", "SELECT * FROM monitor ORDER BY id"); err != nil {
		return nil, err
	}
	if src.notifications, err = tableRows(ctx, db, "notification", "SELECT * FROM notification ORDER BY id"); err != nil {
		return nil, err
	}
	if tables["monitor_notification"] {
		if err := pairs(ctx, db, "SELECT monitor_id, notification_id FROM monitor_notification ORDER BY monitor_id, notification_id", src.monitorNotifs); err != nil {
			return nil, err
		}
	}
	if tables["monitor_tag"] && tables["tag"] {
		tags, err := tableRows(ctx, db, "monitor_tag", "SELECT mt.monitor_id, t.name, mt.value FROM monitor_tag mt JOIN tag t ON t.id = mt.tag_id ORDER BY mt.monitor_id, mt.id")
		if err != nil {
			return nil, err
		}
		for _, t := range tags {
			id := int64(t.num("monitor_id"))
			src.monitorTags[id] = append(src.monitorTags[id], kumaTag{name: t.str("name"), value: t.str("value")})
		}
	}
	if tables["maintenance"] && tables["monitor_maintenance"] {
		if src.maintenance, err = tableRows(ctx, db, "maintenance", "SELECT * FROM maintenance ORDER BY id"); err != nil {
			return nil, err
		}
		if err := pairs(ctx, db, "SELECT maintenance_id, monitor_id FROM monitor_maintenance ORDER BY maintenance_id, monitor_id", src.maintMonitors); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// tableRows reads every row of a query as rows named "table id".
func tableRows(ctx context.Context, db *sql.DB, table, query string) ([]*row, error) {
	rs, err := db.QueryContext(ctx, query+fmt.Sprintf(" LIMIT %d", maxKumaRows+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", table, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out []*row
	for rs.Next() {
		if len(out) == maxKumaRows {
			return nil, fmt.Errorf("%s: more than %d rows", table, maxKumaRows)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("reading %s: %w", table, err)
		}
		r := newRow("", 0)
		for i, c := range cols {
			v := vals[i]
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format("2006-01-02 15:04:05")
			}
			r.set(c, 0, v)
		}
		r.where = fmt.Sprintf("%s %s", table, r.str("id"))
		r.used = map[string]bool{}
		out = append(out, r)
	}
	return out, rs.Err()
}

// pairs reads (a, b) id pairs into m[a].
func pairs(ctx context.Context, db *sql.DB, query string, m map[int64][]int64) error {
	rs, err := db.QueryContext(ctx, query+fmt.Sprintf(" LIMIT %d", maxKumaRows))
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var a, b int64
		if err := rs.Scan(&a, &b); err != nil {
			return err
		}
		m[a] = append(m[a], b)
	}
	return rs.Err()
}
