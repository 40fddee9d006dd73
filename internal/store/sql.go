package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Compile-time interface guards.
var (
	_ Store = (*sqlStore)(nil)
	_ Tx    = (*conn)(nil)
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs the data methods on either the database or one transaction.
// Store embeds one bound to the database; InTx hands out one bound to a
// transaction. Both therefore share every query.
type conn struct {
	d *dialect
	q querier
	// db is set when q is the database itself; methods that must be atomic
	// (deletes that return blob keys) then open their own transaction.
	db *sql.DB
}

func (c *conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, c.d.rebind(query), args...)
	return res, c.d.classify(err)
}

func (c *conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := c.q.QueryContext(ctx, c.d.rebind(query), args...)
	return rows, c.d.classify(err)
}

// scanRow runs a one-row query and scans it into dest; no row is ErrNotFound.
func (c *conn) scanRow(ctx context.Context, query string, args []any, dest ...any) error {
	err := c.q.QueryRowContext(ctx, c.d.rebind(query), args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return c.d.classify(err)
}

// execOne runs a statement that must touch exactly one row; none is
// ErrNotFound (the row is missing or belongs to another integration).
func (c *conn) execOne(ctx context.Context, query string, args ...any) error {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// lockRows locks the rows a SELECT matches until the transaction ends. It
// is a no-op on SQLite, whose write transactions already exclude all other
// writers (see dialect.forUpdate).
func (c *conn) lockRows(ctx context.Context, query string, args ...any) error {
	if c.d.forUpdate == "" {
		return nil
	}
	_, err := c.exec(ctx, query+c.d.forUpdate, args...)
	return err
}

// atomic runs fn in a transaction: the current one, or a new one when c is
// bound to the database.
func (c *conn) atomic(ctx context.Context, fn func(c *conn) error) error {
	if c.db == nil {
		return fn(c)
	}
	return runTx(ctx, c.d, c.db, fn)
}

func runTx(ctx context.Context, d *dialect, db *sql.DB, fn func(c *conn) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", d.classify(err))
	}
	finished := false
	defer func() {
		// fn panicked or called runtime.Goexit (t.Fatal in a test): the
		// transaction (and, on SQLite, the database's write lock) must not
		// stay held by a pooled connection. A panic then carries on.
		if !finished {
			_ = tx.Rollback()
		}
	}()
	err = fn(&conn{d: d, q: tx})
	finished = true
	if err != nil {
		if rbErr := tx.Rollback(); rbErr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", d.classify(err))
	}
	return nil
}

// sqlStore is the Store for both dialects.
type sqlStore struct {
	*conn
	db *sql.DB
}

func newSQLStore(d *dialect, db *sql.DB) *sqlStore {
	return &sqlStore{conn: &conn{d: d, q: db, db: db}, db: db}
}

func (s *sqlStore) InTx(ctx context.Context, fn func(tx Tx) error) error {
	return runTx(ctx, s.d, s.db, func(c *conn) error { return fn(c) })
}

func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.name, err)
	}
	return nil
}

func (s *sqlStore) Close() error { return s.db.Close() }

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// collect scans every row of rows with scan.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// jsonArg passes a JSON document as text: SQLite keeps it in a TEXT column
// and PostgreSQL's jsonb accepts text input. Empty means NULL.
func jsonArg(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	// PostgreSQL rejects invalid JSON and SQLite would not; check here so
	// both backends behave alike.
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalid)
	}
	return string(raw), nil
}

// rawJSON turns a scanned nullable JSON column back into a RawMessage.
func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

// nullString stores "" as NULL, for optional columns under a unique
// constraint (NULLs never collide) or a foreign key (NULL is not checked).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// wrap adds the operation to an error, keeping sentinels testable.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: "+format+": %w", append(args, err)...)
}
