package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	// Drivers: pgx's database/sql adapter registers "pgx"; modernc's pure-Go
	// SQLite (no cgo, so the binary stays static) registers "sqlite".
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// sqliteBusyTimeout is how long a SQLite writer waits for another before
// failing with SQLITE_BUSY.
const sqliteBusyTimeout = 5 * time.Second

// Open connects to the database named by url and checks that it answers.
// It does not migrate: call Migrate (the `migrate` subcommand, or serve at
// start-up) for that.
//
//	postgres://user@host:5432/db?sslmode=disable   PostgreSQL (also postgresql://)
//	sqlite:///var/lib/visage/visage.db             SQLite, absolute path
//	sqlite:visage.db                               SQLite, relative path
//	/var/lib/visage/visage.db                      SQLite, plain path
func Open(ctx context.Context, url string) (Store, error) {
	d, driver, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	if d == sqliteDialect {
		if err := createPrivate(sqlitePath(dsn)); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	s := newSQLStore(d, db)
	if err := s.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// createPrivate creates a new SQLite database file readable by its owner
// only. SQLite gives its -wal and -shm files the database file's mode, so
// they follow; an existing file keeps the mode its operator chose.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return f.Close()
}

// sqlitePath is the file of a SQLite DSN built by sqliteFile.
func sqlitePath(dsn string) string {
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	return path
}

// parseURL picks the dialect and builds the driver's DSN.
func parseURL(url string) (d *dialect, driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgresDialect, "pgx", url, nil
	case strings.HasPrefix(url, "sqlite://"):
		return sqliteFile(strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "sqlite:"):
		return sqliteFile(strings.TrimPrefix(url, "sqlite:"))
	case strings.Contains(url, "://"):
		return nil, "", "", fmt.Errorf("%w: unsupported database URL scheme in %q", ErrInvalid, url)
	}
	return sqliteFile(url)
}

// sqliteFile builds the DSN of a SQLite database file with the settings
// every connection of the pool needs (pragmas are per connection):
//   - WAL: readers never block the writer nor the writer readers;
//   - busy_timeout: a second writer waits instead of failing at once;
//   - foreign_keys: off by default in SQLite, and the schema relies on
//     them for tenant scoping and cascading deletes;
//   - synchronous NORMAL: durable across application crashes in WAL mode,
//     far fewer fsyncs than FULL;
//   - _txlock=immediate: transactions take the write lock at BEGIN, so two
//     read-then-write transactions cannot deadlock on upgrading (which the
//     busy timeout cannot resolve).
func sqliteFile(path string) (*dialect, string, string, error) {
	if path == "" || path == ":memory:" {
		// Each pooled connection would see its own empty in-memory database.
		return nil, "", "", fmt.Errorf("%w: SQLite needs a file path", ErrInvalid)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, "", "", fmt.Errorf("%w: SQLite path %q may not contain '?' or '#'", ErrInvalid, path)
	}
	dsn := "file:" + path +
		fmt.Sprintf("?_pragma=busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()) +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
	return sqliteDialect, "sqlite", dsn, nil
}
