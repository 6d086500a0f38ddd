package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/exchange"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

// exchangeConfig is the housing-exchange application's and the file
// store's part of Config.
type exchangeConfig struct {
	Exchange  exchange.Config
	S3        files.S3Config // Endpoint "" means files in PORTAL_DATA_DIR/files
	ClamdAddr string
	Interval  time.Duration // how often deliveries and the draft sweep run
}

// loadExchangeConfig reads PORTAL_EXCHANGE_*, PORTAL_S3_* and
// PORTAL_CLAMD_ADDR. Production with more than one instance must keep
// files in S3: a local folder is one instance's.
func loadExchangeConfig(r *envReader, singleInstance bool) exchangeConfig {
	prod := r.get("PORTAL_ENV") == "production"
	def := exchange.DefaultConfig()
	c := exchangeConfig{
		Exchange: exchange.Config{
			Limits:        r.fileLimits("PORTAL_EXCHANGE", def.Limits, 50),
			DraftTTL:      r.duration("PORTAL_EXCHANGE_DRAFT_TTL", def.DraftTTL),
			WebhookURL:    r.str("PORTAL_EXCHANGE_WEBHOOK_URL", ""),
			WebhookSecret: []byte(r.secret("PORTAL_EXCHANGE_WEBHOOK_SECRET")),
		},
		S3: files.S3Config{
			Endpoint:  r.str("PORTAL_S3_ENDPOINT", ""),
			Bucket:    r.str("PORTAL_S3_BUCKET", ""),
			AccessKey: r.str("PORTAL_S3_ACCESS_KEY", ""),
			SecretKey: r.secret("PORTAL_S3_SECRET_KEY"),
			Region:    r.str("PORTAL_S3_REGION", ""),
			TLS:       r.boolean("PORTAL_S3_TLS", true),
		},
		ClamdAddr: r.str("PORTAL_CLAMD_ADDR", ""),
		Interval:  r.duration("PORTAL_EXCHANGE_INTERVAL", 30*time.Second),
	}
	if u := c.Exchange.WebhookURL; u != "" {
		p, err := url.Parse(u)
		switch {
		case err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "":
			r.fail("PORTAL_EXCHANGE_WEBHOOK_URL", "want the housing office's https URL, got %q", u)
		case prod && p.Scheme != "https" && !loopback(p.Hostname()):
			r.fail("PORTAL_EXCHANGE_WEBHOOK_URL", "must be https in production (the package holds personal data)")
		}
		if len(c.Exchange.WebhookSecret) < 32 {
			r.fail("PORTAL_EXCHANGE_WEBHOOK_SECRET", "is required with PORTAL_EXCHANGE_WEBHOOK_URL, at least 32 characters")
		}
	}
	if c.S3.Endpoint != "" {
		if strings.Contains(c.S3.Endpoint, "://") {
			r.fail("PORTAL_S3_ENDPOINT", "want host:port without a scheme (PORTAL_S3_TLS says https), got %q", c.S3.Endpoint)
		}
		for name, v := range map[string]string{"PORTAL_S3_BUCKET": c.S3.Bucket, "PORTAL_S3_ACCESS_KEY": c.S3.AccessKey, "PORTAL_S3_SECRET_KEY": c.S3.SecretKey} {
			if v == "" {
				r.fail(name, "is required with PORTAL_S3_ENDPOINT")
			}
		}
	} else if prod && !singleInstance {
		r.fail("PORTAL_S3_ENDPOINT", "is required in production with more than one instance: attachments must be shared (or set PORTAL_SINGLE_INSTANCE=true)")
	}
	if c.ClamdAddr != "" {
		if err := files.CheckClamdAddr(c.ClamdAddr); err != nil {
			r.fail("PORTAL_CLAMD_ADDR", "%v", err)
		}
	}
	return c
}

// wireFiles builds the file store (S3 or a local folder) every feature's
// attachments go to, and starts its hourly sweep of what a crash left.
func wireFiles(_ *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Exchange
	var store files.Store
	if cfg.S3.Endpoint != "" {
		s3, err := files.NewS3(cfg.S3)
		if err != nil {
			return nil, fmt.Errorf("PORTAL_S3_*: %w", err)
		}
		store = s3
	} else {
		local, err := files.NewLocal(filepath.Join(d.cfg.DataDir, "files"))
		if err != nil {
			return nil, fmt.Errorf("file store: %w", err)
		}
		store = local
	}
	d.files = files.New(d.db.Gorm, store, files.Config{ClamdAddr: cfg.ClamdAddr, Now: d.now, Log: d.log})
	return background("file sweep", func(ctx context.Context) { sweepFiles(ctx, d.files, d) }), nil
}

// wireExchange builds the housing-exchange application, mounts its routes
// and sections, and starts its deliveries and draft sweep.
func wireExchange(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Exchange
	ec := cfg.Exchange
	ec.PublicURL = d.cfg.PublicURL
	svc := exchange.New(exchange.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Files: d.files, Frontend: d.fe, Audit: d.audit,
		Outbox: d.outbox, WakeMail: d.wakeMail, CSRF: d.auth.CSRFValid, Config: ec,
		Location: d.cfg.Location, Now: d.now, Log: d.log,
	})
	d.auth.StreamedUploads(exchange.UploadPath)
	svc.Register(app, d.formLimit)
	d.home.AddMySection(svc.MySection)
	d.desk.AddSection(svc.DeskSection)
	return background("exchange deliveries and draft sweep", func(ctx context.Context) { svc.RunBackground(ctx, cfg.Interval) }), nil
}

// sweepFiles removes, hourly, stored objects that a crash mid-upload left
// without a row.
func sweepFiles(ctx context.Context, fs *files.Service, d *deps) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := fs.Sweep(ctx, time.Hour); err != nil && ctx.Err() == nil {
			d.log.Error("files: sweep", "err", err)
		} else if n > 0 {
			d.log.Info("files: sweep removed orphans", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fileLimits reads a feature's attachment limits, <prefix>_MAX_FILE_MB,
// _MAX_FILES (at most maxFiles) and _MAX_TOTAL_MB; the total must hold at
// least one file.
func (r *envReader) fileLimits(prefix string, def files.Limits, maxFiles int) files.Limits {
	l := files.Limits{
		MaxFileBytes:  int64(r.integer(prefix+"_MAX_FILE_MB", int(def.MaxFileBytes>>20), 1, 100)) << 20,
		MaxFiles:      r.integer(prefix+"_MAX_FILES", def.MaxFiles, 1, maxFiles),
		MaxTotalBytes: int64(r.integer(prefix+"_MAX_TOTAL_MB", int(def.MaxTotalBytes>>20), 1, 500)) << 20,
	}
	if l.MaxTotalBytes < l.MaxFileBytes {
		r.fail(prefix+"_MAX_TOTAL_MB", "must be at least %s_MAX_FILE_MB", prefix)
	}
	return l
}
