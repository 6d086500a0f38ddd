// Package dbtest gives tests a fresh, migrated database: always a SQLite
// file, and a PostgreSQL schema of its own when PORTAL_TEST_DATABASE_URL is
// set. With CI=true a missing URL fails the test instead of skipping it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// PostgresURL returns PORTAL_TEST_DATABASE_URL. Without it the test is
// skipped, or failed when CI=true.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PORTAL_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PORTAL_TEST_DATABASE_URL is not set, and CI=true requires the PostgreSQL tests to run")
		}
		t.Skip("PORTAL_TEST_DATABASE_URL not set; PostgreSQL variant skipped")
	}
	return u
}

// Each runs fn once against a fresh SQLite database and once against a fresh
// PostgreSQL schema, each as a subtest named after its dialect.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a migrated SQLite database in a temporary folder.
func SQLite(t testing.TB) *database.DB {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "portal.db"), true)
}

// Postgres opens a migrated, empty schema of its own on the test server and
// drops it when the test ends.
func Postgres(t testing.TB) *database.DB {
	t.Helper()
	return open(t, PostgresSchemaURL(t), true)
}

// PostgresSchemaURL creates an empty schema on the test server, dropped at
// cleanup, and returns a URL whose connections use it.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	schema := "t_" + randomHex(t, 8)
	admin, err := database.Open(context.Background(), base, nil)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if _, err := admin.SQL.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.SQL.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("dbtest: drop schema: %v", err)
		}
		if err := admin.Close(); err != nil {
			t.Errorf("dbtest: close: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: PORTAL_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens rawURL, migrated when migrate is true, closed at cleanup.
func Open(t testing.TB, rawURL string, migrate bool) *database.DB { return open(t, rawURL, migrate) }

func open(t testing.TB, rawURL string, migrate bool) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, rawURL, nil)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("dbtest: close: %v", err)
		}
	})
	if migrate {
		if _, err := migrations.Up(ctx, db.SQL, db.Dialect); err != nil {
			t.Fatalf("dbtest: %v", err)
		}
	}
	return db
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("dbtest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
