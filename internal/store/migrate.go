package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationsFS holds the versioned schema, one directory per dialect: the
// two differ in types (BLOB/BYTEA, INTEGER microseconds/timestamptz,
// TEXT/jsonb), so one shared file would need templating that hides the SQL.
//
//go:embed migrations
var migrationsFS embed.FS

// migrationLockID keys the PostgreSQL advisory lock that serialises
// concurrent migrators. Advisory locks are per database, so it only has to
// differ from other lock users of the same database: "visage" in ASCII.
const migrationLockID int64 = 0x766973616765

func (s *sqlStore) Migrate(ctx context.Context) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	// Do not Close the provider: that would close the store's *sql.DB.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.d.name, err)
	}
	return nil
}

func (s *sqlStore) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrator()
	if err != nil {
		return 0, 0, err
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, latest, fmt.Errorf("store: schema version: %w", err)
	}
	return current, latest, nil
}

// migrator builds a goose provider over the store's database and the
// dialect's embedded migrations.
func (s *sqlStore) migrator() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationsFS, "migrations/"+s.d.name)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	opts := []goose.ProviderOption{
		// Only our embedded SQL files: never Go migrations that some other
		// package registered globally.
		goose.WithDisableGlobalRegistry(true),
	}
	if s.d == postgresDialect {
		// Several `visage serve` nodes may start at once. The session
		// locker holds a PostgreSQL advisory lock while migrating; the
		// others poll for it every second, for up to five minutes, and
		// then find nothing left to apply.
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(migrationLockID),
			lock.WithLockTimeout(1, 300),
		)
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.d.goose, s.db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}
