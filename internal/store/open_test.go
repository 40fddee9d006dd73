package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		url, dialect, path string // path: the SQLite file the DSN must name
	}{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres", ""},
		{"postgresql://u@h/db", "postgres", ""},
		{"sqlite:///var/lib/visage/v.db", "sqlite", "/var/lib/visage/v.db"},
		{"sqlite:data/v.db", "sqlite", "data/v.db"},
		{"/var/lib/visage/v.db", "sqlite", "/var/lib/visage/v.db"},
		{"v.db", "sqlite", "v.db"},
	} {
		d, _, dsn, err := parseURL(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if d.name != c.dialect {
			t.Errorf("%s: dialect %s, want %s", c.url, d.name, c.dialect)
		}
		if c.path != "" && !strings.HasPrefix(dsn, "file:"+c.path+"?") {
			t.Errorf("%s: DSN %s does not name %s", c.url, dsn, c.path)
		}
	}
	for _, bad := range []string{"", "mysql://x", "sqlite://", ":memory:", "sqlite:///a.db?mode=ro"} {
		if _, _, _, err := parseURL(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: got %v, want ErrInvalid", bad, err)
		}
	}
}

// TestSQLiteSettings checks the per-connection settings the store relies
// on: foreign keys (tenant scoping, cascades), WAL and a busy timeout
// (concurrent requests), on every pooled connection.
func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.(*sqlStore).db
	for _, c := range []struct{ pragma, want string }{
		{"foreign_keys", "1"},
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"},
	} {
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.pragma, err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := "SELECT a FROM t WHERE x = ? AND (y > ? OR z = ?)"
	if got, want := postgresDialect.rebind(q), "SELECT a FROM t WHERE x = $1 AND (y > $2 OR z = $3)"; got != want {
		t.Errorf("postgres rebind: %s, want %s", got, want)
	}
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("sqlite rebind changed the query: %s", got)
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID("int_"), NewID("int_")
	if a == b || len(a) != len("int_")+26 || !strings.HasPrefix(a, "int_") {
		t.Fatalf("NewID: %q %q", a, b)
	}
}

// A new SQLite database and its WAL files are readable by their owner
// only: they hold the sealed templates, key hashes and case data.
func TestSQLiteFilesPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visage.db")
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
