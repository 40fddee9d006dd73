package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the server tests use (VISAGE_TEST_POSTGRES_URL).
func PostgresURL() string {
	if u := os.Getenv("VISAGE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultPostgresURL
}

// PostgresAdmin connects to the test server. Without one the test fails
// when VISAGE_REQUIRE_POSTGRES=1 (CI) and is skipped loudly otherwise, so
// a laptop without PostgreSQL can still run the SQLite half.
func PostgresAdmin(t testing.TB) *sql.DB {
	t.Helper()
	base := PostgresURL()
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("VISAGE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL at %s is required (VISAGE_REQUIRE_POSTGRES=1) but unreachable: %v", base, err)
		}
		msg := fmt.Sprintf("SKIPPING PostgreSQL tests: %s unreachable: %v "+
			"(set VISAGE_TEST_POSTGRES_URL, or VISAGE_REQUIRE_POSTGRES=1 to fail instead)", base, err)
		fmt.Fprintln(os.Stderr, "WARNING:", msg) // visible without -v
		t.Skip(msg)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// FreshPostgres creates a database with a random name for one test and
// drops it afterwards, so concurrent runs (and CI) never share rows. A
// separate database rather than a schema also keeps the migration advisory
// lock, which PostgreSQL scopes per database, from serialising runs.
func FreshPostgres(t testing.TB, admin *sql.DB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "visage_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends the sessions of stores a failed test left open.
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatalf("parse PostgreSQL URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
