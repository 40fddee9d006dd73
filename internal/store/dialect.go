package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds everything that differs between SQLite and PostgreSQL, so
// the queries themselves are written once, with "?" placeholders.
type dialect struct {
	name  string        // "sqlite" or "postgres"; also the migrations directory
	goose goose.Dialect // for the migration provider
	// dollar: PostgreSQL numbers its placeholders ($1, $2, ...).
	dollar bool
	// microTime: SQLite has no timestamp type. Times are stored as INTEGER
	// microseconds since the epoch, which sort and compare correctly (text
	// timestamps of varying precision do not). PostgreSQL uses timestamptz.
	microTime bool
	// forUpdate locks selected rows until the transaction ends. SQLite has
	// no row locks and needs none: its write transactions begin IMMEDIATE,
	// which already excludes every other writer.
	forUpdate string
	// constraint maps a driver error to the constraint it violated.
	constraint func(error) constraintKind
}

type constraintKind int

const (
	noConstraint constraintKind = iota
	uniqueViolation
	foreignKeyViolation
)

var sqliteDialect = &dialect{
	name:       "sqlite",
	goose:      goose.DialectSQLite3,
	microTime:  true,
	constraint: sqliteConstraint,
}

var postgresDialect = &dialect{
	name:       "postgres",
	goose:      goose.DialectPostgres,
	dollar:     true,
	forUpdate:  " FOR UPDATE",
	constraint: postgresConstraint,
}

// rebind rewrites "?" placeholders for the dialect. The store's queries
// never contain a literal "?", so a plain scan is enough.
func (d *dialect) rebind(q string) string {
	if !d.dollar || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for _, r := range q {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// ts converts a time to the dialect's column value.
func (d *dialect) ts(t time.Time) any {
	if d.microTime {
		return t.UnixMicro()
	}
	return t.UTC()
}

// nullTS is ts for a nullable column.
func (d *dialect) nullTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.ts(*t)
}

// classify turns a driver error into the store's sentinels, keeping the
// driver error in the chain for logs.
func (d *dialect) classify(err error) error {
	if err == nil {
		return nil
	}
	switch d.constraint(err) {
	case uniqueViolation:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case foreignKeyViolation:
		// The referenced row (an integration, face or image) does not
		// exist in this integration: to the caller that is "not found".
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func sqliteConstraint(err error) constraintKind {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return noConstraint
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return uniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return foreignKeyViolation
	}
	return noConstraint
}

func postgresConstraint(err error) constraintKind {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return noConstraint
	}
	switch pe.Code {
	case "23505": // unique_violation
		return uniqueViolation
	case "23503": // foreign_key_violation
		return foreignKeyViolation
	}
	return noConstraint
}

// stamp normalises a time to what both databases store exactly: UTC with
// microsecond precision. Values read back then equal the values written.
func stamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// now is the store's clock; stamp(time.Now()).
func now() time.Time { return stamp(time.Now()) }

// stampOrNow normalises t, or returns the current time when t is zero.
func stampOrNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return stamp(t)
}

// tsDest scans either dialect's timestamp column into a time.Time.
type tsDest struct{ dst *time.Time }

func (s tsDest) Scan(v any) error {
	t, err := scanTime(v)
	if err != nil {
		return err
	}
	*s.dst = t
	return nil
}

// nullTSDest scans a nullable timestamp column into a *time.Time.
type nullTSDest struct{ dst **time.Time }

func (s nullTSDest) Scan(v any) error {
	if v == nil {
		*s.dst = nil
		return nil
	}
	t, err := scanTime(v)
	if err != nil {
		return err
	}
	*s.dst = &t
	return nil
}

func scanTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case int64:
		return time.UnixMicro(v).UTC(), nil
	case time.Time:
		return v.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("store: cannot scan %T as a timestamp", v)
}
