package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/store/storetest"
)

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "visage.db"))
	})
}

func TestPostgres(t *testing.T) {
	admin := postgresAdmin(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, freshDatabase(t, admin))
	})
	// Races are timing-dependent: a few rounds make a missing lock show.
	// Round 0 starts from an empty database, so the migrators also race to
	// create goose's version table; later rounds start with that table in
	// place (as an upgrade would), so they race straight for the schema.
	for round := range 3 {
		t.Run(fmt.Sprintf("concurrent-migrations/%d", round), func(t *testing.T) {
			t.Parallel()
			testConcurrentMigrations(t, admin, round > 0)
		})
	}
}

// testConcurrentMigrations starts several migrators on one empty database
// at once, as several `visage serve` nodes would: all must succeed, and
// each migration must be applied exactly once.
func testConcurrentMigrations(t *testing.T, admin *sql.DB, withVersionTable bool) {
	dbURL := freshDatabase(t, admin)
	const n = 8
	stores := make([]store.Store, n)
	for i := range stores {
		stores[i] = openStore(t, dbURL)
	}
	if withVersionTable {
		// Reading the version creates goose's table, at version 0.
		if _, _, err := stores[0].SchemaVersion(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Migrate(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	current, latest, err := stores[0].SchemaVersion(context.Background())
	if err != nil || current != latest {
		t.Fatalf("after concurrent migrations: version %d of %d (%v)", current, latest, err)
	}
	checkAppliedOnce(t, dbURL)
}

// checkAppliedOnce fails if goose recorded any migration more than once.
func checkAppliedOnce(t *testing.T, dbURL string) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dups int
	err = db.QueryRow(`SELECT count(*) FROM (SELECT version_id FROM goose_db_version
		GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dups)
	if err != nil || dups != 0 {
		t.Fatalf("migrations applied more than once: %d (%v)", dups, err)
	}
}

func openStore(t *testing.T, dbURL string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// postgresAdmin connects to the server named by VISAGE_TEST_POSTGRES_URL.
// Without a server the tests fail when VISAGE_REQUIRE_POSTGRES=1 (CI) and
// are skipped loudly otherwise, so a laptop without PostgreSQL can still
// run the SQLite half.
func postgresAdmin(t *testing.T) *sql.DB {
	base := postgresURL()
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
		msg := fmt.Sprintf("SKIPPING PostgreSQL store tests: %s unreachable: %v "+
			"(set VISAGE_TEST_POSTGRES_URL, or VISAGE_REQUIRE_POSTGRES=1 to fail instead)", base, err)
		fmt.Fprintln(os.Stderr, "WARNING:", msg) // visible without -v
		t.Skip(msg)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// freshDatabase creates a database with a random name for one test and
// drops it afterwards, so concurrent runs (and CI) never share rows. A
// separate database rather than a schema also keeps the migration advisory
// lock, which PostgreSQL scopes per database, from serialising runs.
func freshDatabase(t *testing.T, admin *sql.DB) string {
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
	u, err := url.Parse(postgresURL())
	if err != nil {
		t.Fatalf("parse PostgreSQL URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func postgresURL() string {
	if u := os.Getenv("VISAGE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultPostgresURL
}
