// Package sqldb opens a service's own database, SQLite by default or a
// PostgreSQL schema when a URL is given, and applies its embedded goose
// migrations. The SQL a service writes uses $N placeholders and runs
// unchanged on both engines; the few dialect differences live in dialect.go.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"upmon/platform/tracing"
)

// Config says where services keep their databases.
type Config struct {
	// DataDir holds one SQLite file per service when DatabaseURL is empty.
	DataDir string
	// DatabaseURL is a postgres:// URL; empty selects SQLite. Its optional
	// pool_max_conns parameter caps each service's connection pool
	// (default DefaultPoolMaxConns); it is not sent to the server.
	DatabaseURL string
	// Logger receives migration progress.
	Logger *slog.Logger
}

// DB is a service's database handle.
type DB struct {
	*sql.DB
	// Dialect is the engine underneath.
	Dialect Dialect
	// Name is the service name the database belongs to.
	Name string
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Open opens (creating if needed) the database of service name and applies
// the migrations in migrations (a directory of goose *.sql files). On
// PostgreSQL the service gets its own schema, named after it.
func Open(ctx context.Context, cfg Config, name string, migrations fs.FS) (*DB, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("sqldb: invalid database name %q", name)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		db      *DB
		err     error
		dialect goose.Dialect
	)
	if cfg.DatabaseURL == "" {
		db, err = openSQLite(cfg.DataDir, name)
		dialect = goose.DialectSQLite3
	} else {
		db, err = openPostgres(ctx, cfg.DatabaseURL, name)
		dialect = goose.DialectPostgres
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx, dialect, migrations, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openSQLite(dataDir, name string) (*DB, error) {
	if dataDir == "" {
		return nil, errors.New("sqldb: a data directory is required for SQLite")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqldb: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, name+".db")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	// SQLite serialises writers; a small pool avoids piling goroutines on
	// the file lock while still letting readers run beside a writer (WAL).
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxIdleTime(0)
	return &DB{DB: sqlDB, Dialect: SQLite, Name: name}, nil
}

// DefaultPoolMaxConns is the most connections one service's pool opens on
// PostgreSQL unless the URL's pool_max_conns parameter says otherwise.
const DefaultPoolMaxConns = 16

// poolMaxConns removes the pool_max_conns parameter from q (the server
// must not see it) and returns its value, or the default.
func poolMaxConns(q url.Values) (int, error) {
	v := q.Get("pool_max_conns")
	q.Del("pool_max_conns")
	if v == "" {
		return DefaultPoolMaxConns, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errors.New("sqldb: pool_max_conns in the database URL must be between 1 and 1000")
	}
	return n, nil
}

func openPostgres(ctx context.Context, rawURL, schema string) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("sqldb: database URL must be postgres://…")
	}
	// Each service has its own pool, so a process opens up to twice
	// pool_max_conns connections; N replicas must fit the server's
	// max_connections.
	q := u.Query()
	maxConns, err := poolMaxConns(q)
	if err != nil {
		return nil, err
	}
	u.RawQuery = q.Encode()
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqldb: open postgres: %w", redact(err, rawURL))
	}
	defer admin.Close()
	// Concurrent start-ups may race to create the schema; the loser's
	// unique violation means the schema exists.
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(schema)); err != nil && !isUniqueViolation(err) {
		return nil, fmt.Errorf("sqldb: create schema %s: %w", schema, redact(err, rawURL))
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	sqlDB, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqldb: open postgres: %w", redact(err, rawURL))
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{DB: sqlDB, Dialect: Postgres, Name: schema}, nil
}

func (db *DB) migrate(ctx context.Context, dialect goose.Dialect, migrations fs.FS, log *slog.Logger) error {
	fsys, err := db.Dialect.rewriteMigrations(migrations)
	if err != nil {
		return fmt.Errorf("sqldb: read migrations of %s: %w", db.Name, err)
	}
	var opts []goose.ProviderOption
	if db.Dialect == Postgres {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(advisoryLockID(db.Name)))
		if err != nil {
			return fmt.Errorf("sqldb: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("sqldb: migrations of %s: %w", db.Name, err)
	}
	for attempt := 1; ; attempt++ {
		results, err := p.Up(ctx)
		var pe *goose.PartialError
		if errors.As(err, &pe) {
			results = pe.Applied
		}
		for _, r := range results {
			log.Info("applied migration", "db", db.Name, "version", r.Source.Version, "duration", r.Duration)
		}
		if err == nil {
			return nil
		}
		if attempt < maxMigrateAttempts && appliedConcurrently(ctx, p, err) {
			continue
		}
		return fmt.Errorf("sqldb: migrate %s: %w", db.Name, err)
	}
}

// maxMigrateAttempts bounds the runs of Up when other openers of the same
// database keep applying migrations first.
const maxMigrateAttempts = 10

// appliedConcurrently reports whether the migration that failed with err
// was applied meanwhile by another opener of the same database. SQLite has
// no migration lock: two openers may both find a migration pending, and
// the one that writes second fails (its transaction is rolled back, so it
// changed nothing); it then finds the version recorded and goes on.
func appliedConcurrently(ctx context.Context, p *goose.Provider, err error) bool {
	var pe *goose.PartialError
	if !errors.As(err, &pe) || pe.Failed == nil || pe.Failed.Source == nil {
		return false
	}
	v, verr := p.GetDBVersion(ctx)
	return verr == nil && v >= pe.Failed.Source.Version
}

// advisoryLockID derives a stable per-schema lock id so two services can
// migrate in parallel while two replicas of one service cannot.
func advisoryLockID(name string) int64 {
	var h int64 = 5887 // goose's default id base
	for _, c := range name {
		h = h*31 + int64(c)
	}
	return h
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P06")
}

// redact removes the password of rawURL from err's text.
func redact(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.PingContext(ctx) }

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. When ctx's span is recording, the transaction is a span
// "sqldb.tx <name>" beside it (fn's statements run on the caller's ctx, so
// spans fn starts are the transaction span's siblings).
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	_, span := tracing.Child(ctx, "upmon/sqldb", "sqldb.tx "+db.Name, trace.SpanKindClient)
	if span != nil {
		span.SetAttributes(attribute.String("db.system.name", db.Dialect.String()), attribute.String("db.namespace", db.Name))
		defer func() { tracing.End(span, err) }()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
