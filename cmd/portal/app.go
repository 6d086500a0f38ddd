package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// newApp returns the Fiber app with the error handler and the middleware
// every request passes, in order: recovery, request id, metrics and
// request log, security headers, language, session, CSRF.
func newApp(d *deps) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:                 "asumisneuvonta-portal",
		Views:                   d.fe.Views(),
		ErrorHandler:            errorHandler(d.fe, d.log),
		DisableStartupMessage:   true,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             2 * time.Minute,
		BodyLimit:               25 << 20, // attachments; features cap their own fields lower
		EnableTrustedProxyCheck: len(d.cfg.TrustedProxies) > 0,
		TrustedProxies:          d.cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(d.cfg),
	})
	app.Use(recover.New())
	app.Use(requestid.New())
	app.Use(observe(d))
	app.Use(d.fe.Security())
	d.fe.MountAssets(app)
	app.Use(d.fe.Languages())
	app.Use(d.auth.Session())
	app.Use(d.auth.CSRF())
	return app
}

func proxyHeader(cfg Config) string {
	if len(cfg.TrustedProxies) > 0 {
		return fiber.HeaderXForwardedFor
	}
	return ""
}

// mountCore mounts the foundation's own routes.
func mountCore(app *fiber.App, d *deps) {
	// Probes: alive, and ready to serve (database and Redis answer).
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", readyz(d))
	// Browsers ask for /favicon.ico on their own, whatever the page links.
	app.Get("/favicon.ico", func(c *fiber.Ctx) error {
		u, err := d.fe.AssetURL("favicon.svg")
		if err != nil {
			return err
		}
		return c.Redirect(u, fiber.StatusMovedPermanently)
	})
	// Login, callback, logout.
	d.auth.Register(app, auth.RateLimit("portal:ratelimit:login:", d.cfg.LoginRateLimit, time.Minute, d.redis))
	// Pages: front page, the resident's own page, the advisor desk, the access log.
	d.home.Register(app)
	d.desk.Register(app)
}

func readyz(d *deps) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := d.db.Ping(ctx); err != nil {
			d.log.Warn("not ready: database", "err", err)
			return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
		}
		if d.redis != nil {
			if err := d.redis.Ping(ctx).Err(); err != nil {
				d.log.Warn("not ready: redis", "err", err)
				return c.Status(fiber.StatusServiceUnavailable).SendString("redis unavailable")
			}
		}
		return c.SendString("ready")
	}
}

// errorHandler turns every error into a status and a translated page (or a
// JSON body for API and script requests). A *fiber.Error's message is used
// only when it is a translation key; nothing else of an error reaches the
// browser. Server errors are logged in full with the request id.
func errorHandler(fe *frontend.Frontend, log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, key := fiber.StatusInternalServerError, ""
		var fe2 *fiber.Error
		if errors.As(err, &fe2) {
			status = fe2.Code
			if strings.HasPrefix(fe2.Message, "error.") {
				key = fe2.Message
			}
		}
		rid, _ := c.Locals("requestid").(string) // set by the requestid middleware
		if status >= 500 {
			log.Error("request failed", "request_id", rid, "method", c.Method(), "route", c.Route().Path, "status", status, "err", err)
		}
		if wantsJSON(c) {
			if key == "" {
				key = "error." + strconv.Itoa(status)
			}
			lang := frontend.Lang(c)
			msg := fe.T(lang, key+".body")
			if msg == key+".body" { // a status without texts of its own
				msg = fe.T(lang, "error.400.body")
				if status >= 500 {
					msg = fe.T(lang, "error.500.body")
				}
			}
			return c.Status(status).JSON(fiber.Map{"error": key, "message": msg, "request_id": rid})
		}
		return fe.ErrorPage(c, status, key)
	}
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") ||
		strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) ||
		strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON)
}

// observe counts and times requests for Prometheus and writes one log line
// per request. The line names the route pattern, never the raw path or
// query (they may carry identifiers), and no cookies or tokens.
func observe(d *deps) fiber.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "portal_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	d.metrics.MustRegister(requests, latency)
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the error handler set the final status before it is recorded.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				d.log.Error("error handler failed", "err", herr)
				c.Status(fiber.StatusInternalServerError)
			}
		}
		route := c.Route().Path
		status := c.Response().StatusCode()
		took := time.Since(start)
		requests.WithLabelValues(route, c.Method(), strconv.Itoa(status)).Inc()
		latency.WithLabelValues(route).Observe(took.Seconds())
		rid, _ := c.Locals("requestid").(string)
		d.log.Info("request", "request_id", rid, "method", c.Method(), "route", route,
			"status", status, "duration_ms", float64(took.Microseconds())/1000)
		return nil
	}
}
