package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/store/storetest"
	"github.com/visagehq/visage/internal/testenv"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "visage.db"))
	})
}

func TestPostgres(t *testing.T) {
	admin := testenv.PostgresAdmin(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, testenv.FreshPostgres(t, admin))
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
	dbURL := testenv.FreshPostgres(t, admin)
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
