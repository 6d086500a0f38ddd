package migrations_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

func TestUpOnEmptyDatabase(t *testing.T) {
	cases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresSchemaURL(t) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, tc.url(t), false)
			if err := migrations.Check(ctx, db.SQL, db.Dialect); err != migrations.ErrBehind {
				t.Fatalf("Check on empty schema = %v, want ErrBehind", err)
			}
			n, err := migrations.Up(ctx, db.SQL, db.Dialect)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("Up applied nothing on an empty schema")
			}
			if err := migrations.Check(ctx, db.SQL, db.Dialect); err != nil {
				t.Fatalf("Check after Up = %v", err)
			}
			again, err := migrations.Up(ctx, db.SQL, db.Dialect)
			if err != nil || again != 0 {
				t.Fatalf("second Up = %d, %v; want 0, nil", again, err)
			}
			list, err := migrations.List(ctx, db.SQL, db.Dialect)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range list {
				if !s.Applied {
					t.Errorf("migration %d not applied", s.Version)
				}
			}
			// The access log is append-only: updates and deletes are refused.
			if _, err := db.SQL.Exec(`INSERT INTO users (issuer, subject, role, created_at, updated_at)
				VALUES ('i', 's', 'advisor', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SQL.Exec(`INSERT INTO access_log (at, actor_id, actor_role, action)
				VALUES (CURRENT_TIMESTAMP, (SELECT id FROM users), 'advisor', 'view')`); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{"UPDATE access_log SET reason = 'x'", "DELETE FROM access_log"} {
				if _, err := db.SQL.Exec(stmt); err == nil {
					t.Errorf("%q succeeded on the append-only access log", stmt)
				}
			}
		})
	}
}

func TestConcurrentMigrateOnPostgres(t *testing.T) {
	u := dbtest.PostgresSchemaURL(t)
	a := dbtest.Open(t, u, false)
	b := dbtest.Open(t, u, false)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	counts := make([]int, 2)
	for i, d := range []*database.DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = migrations.Up(ctx, d.SQL, d.Dialect)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrate %d: %v", i, err)
		}
	}
	list, err := migrations.List(ctx, a.SQL, a.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	if counts[0]+counts[1] != len(list) {
		t.Fatalf("applied %d + %d migrations, want %d in total (each exactly once)", counts[0], counts[1], len(list))
	}
	if err := migrations.Check(ctx, a.SQL, a.Dialect); err != nil {
		t.Fatal(err)
	}
}
