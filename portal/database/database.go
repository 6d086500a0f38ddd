// Package database opens the portal's database: a SQLite file through a
// pure-Go driver by default, PostgreSQL when the URL says so.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL dialect of a database: "sqlite" or "postgres".
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database with the dialect it speaks.
type DB struct {
	Gorm    *gorm.DB
	SQL     *sql.DB
	Dialect Dialect
}

// Close closes the connection pool.
func (d *DB) Close() error { return d.SQL.Close() }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.SQL.PingContext(ctx) }

// DialectOf tells which dialect a URL selects: postgres:// and
// postgresql:// URLs are PostgreSQL, anything else is a SQLite path
// (optionally prefixed with sqlite:).
func DialectOf(rawURL string) Dialect {
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// Open connects to rawURL. For SQLite it creates the parent folder and turns
// on WAL, foreign keys, a busy timeout and immediate write transactions so
// that concurrent writers queue instead of failing.
func Open(ctx context.Context, rawURL string, log *slog.Logger) (*DB, error) {
	cfg := &gorm.Config{
		Logger: newLogger(log),
		// Timestamps are always stored in UTC; pages convert to Europe/Helsinki.
		NowFunc: func() time.Time { return time.Now().UTC() },
		// Writes that need a transaction open one explicitly.
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
	}
	d := DialectOf(rawURL)
	var dialector gorm.Dialector
	switch d {
	case Postgres:
		dialector = postgres.Open(rawURL)
	default:
		dsn, err := sqliteDSN(rawURL)
		if err != nil {
			return nil, err
		}
		dialector = sqlite.Open(dsn)
	}
	g, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: open %s: %w", d, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("database: pool: %w", err)
	}
	if d == SQLite {
		// One writer at a time is SQLite's nature; a small pool keeps
		// readers concurrent under WAL without piling up busy waits.
		sqlDB.SetMaxOpenConns(8)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("database: ping %s: %w", d, err), sqlDB.Close())
	}
	return &DB{Gorm: g, SQL: sqlDB, Dialect: d}, nil
}

func sqliteDSN(rawURL string) (string, error) {
	path := strings.TrimPrefix(rawURL, "sqlite://")
	path = strings.TrimPrefix(path, "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "", fmt.Errorf("database: empty SQLite path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("database: create %s: %w", dir, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode(), nil
}

// newLogger reports slow queries and errors without their parameters, which
// may hold personal data.
func newLogger(log *slog.Logger) logger.Interface {
	if log == nil {
		return logger.Discard
	}
	return logger.NewSlogLogger(log, logger.Config{
		SlowThreshold:             500 * time.Millisecond,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true,
	})
}

// ByID loads the row of T with the primary key id, locked for the
// transaction db is in when lock is set (FOR UPDATE on PostgreSQL; SQLite
// serialises writers anyway). missing is what it returns when there is no
// such row, so that each feature answers with its own not-found.
func ByID[T any](ctx context.Context, db *gorm.DB, id int64, lock bool, missing error) (*T, error) {
	var row T
	q := db.WithContext(ctx)
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.First(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, missing
	}
	if err != nil {
		return nil, fmt.Errorf("database: load %T %d: %w", row, id, err)
	}
	return &row, nil
}
