// Package migrations holds the versioned SQL schema, one folder per dialect,
// embedded in the binary, and applies it with goose.
//
// Files are only ever appended to: a released migration is never edited.
// Each file is applied in its own transaction and recorded in goose's version
// table. On PostgreSQL a session-level advisory lock serialises instances
// that start at the same time, so two of them migrating together leave one
// schema.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// ErrBehind is returned by Check when the schema lacks migrations this
// binary knows about.
var ErrBehind = errors.New("migrations: database schema is behind this binary; run `portal migrate up`")

// Status describes one migration.
type Status struct {
	Version int64
	Name    string
	Applied bool
}

func provider(db *sql.DB, d database.Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("migrations: %s files: %w", d, err)
	}
	var (
		gd   goose.Dialect
		opts []goose.ProviderOption
	)
	switch d {
	case database.SQLite:
		gd = goose.DialectSQLite3
	case database.Postgres:
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(
			// Wait up to 5 minutes (300 × 1 s) for another instance's migration.
			lock.WithLockTimeout(1, 300),
		)
		if err != nil {
			return nil, fmt.Errorf("migrations: advisory lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", d)
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration and returns how many it applied.
func Up(ctx context.Context, db *sql.DB, d database.Dialect) (int, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: up: %w", err)
	}
	return len(res), nil
}

// Check returns ErrBehind when a migration this binary carries has not been
// applied. The server calls it before it serves.
func Check(ctx context.Context, db *sql.DB, d database.Dialect) error {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("migrations: check: %w", err)
	}
	if pending {
		return ErrBehind
	}
	return nil
}

// List reports every migration and whether it has been applied.
func List(ctx context.Context, db *sql.DB, d database.Dialect) ([]Status, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{
			Version: s.Source.Version,
			Name:    s.Source.Path,
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}
