// Command portal runs the housing counselling portal: the resident and
// advisor web service, its chat, and (in development) its own OpenID
// provider, all in one process.
//
// Usage:
//
//	portal [serve]          start the service (the default)
//	portal migrate up       apply pending database migrations
//	portal migrate status   list migrations and whether they are applied
//	portal seed-demo        write the demo regions, advisors and residents
//	portal healthcheck      exit 0 when the local server answers /healthz
//
// Configuration is read from PORTAL_* environment variables; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

const usage = `usage: portal [serve | migrate up | migrate status | seed-demo | healthcheck]`

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	cfg, err := osConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, os.Stderr)
	switch {
	case cmd == "serve":
		return serve(ctx, cfg, log, stdout)
	case cmd == "migrate" && (len(args) == 1 || args[1] == "up"):
		return migrateUp(ctx, cfg, log, stdout)
	case cmd == "migrate" && len(args) == 2 && args[1] == "status":
		return migrateStatus(ctx, cfg, log, stdout)
	case cmd == "seed-demo":
		return seedDemo(ctx, cfg, log, stdout)
	case cmd == "healthcheck":
		return healthcheck(ctx, cfg)
	}
	return errors.New(usage)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func openMigrated(ctx context.Context, cfg Config, log *slog.Logger) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return nil, err
	}
	n, err := migrations.Up(ctx, db.SQL, db.Dialect)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if n > 0 {
		log.Info("migrations applied", "count", n, "dialect", db.Dialect)
	}
	// Another instance may carry newer migrations; this binary must not
	// serve a schema it does not fully know either way, so check again.
	if err := migrations.Check(ctx, db.SQL, db.Dialect); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

func migrateUp(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	db, err := database.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	n, err := migrations.Up(ctx, db.SQL, db.Dialect)
	if err != nil {
		return errors.Join(err, db.Close())
	}
	fmt.Fprintf(out, "applied %d migration(s)\n", n)
	return db.Close()
}

func migrateStatus(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	db, err := database.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	list, err := migrations.List(ctx, db.SQL, db.Dialect)
	if err != nil {
		return errors.Join(err, db.Close())
	}
	for _, s := range list {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(out, "%05d  %-8s %s\n", s.Version, state, s.Name)
	}
	return db.Close()
}

func seedDemo(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	if cfg.Production() {
		return errors.New("seed-demo is refused in production")
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := demo.Seed(ctx, db.Gorm, devIssuer(cfg)); err != nil {
		return errors.Join(err, db.Close())
	}
	fmt.Fprintln(out, "demo data written")
	return db.Close()
}

// healthcheck asks the server on this host whether it is alive; container
// images without a shell or curl use it.
func healthcheck(ctx context.Context, cfg Config) error {
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if err := resp.Body.Close(); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	return nil
}
