package main

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

// newApp returns the Fiber app with the error handler and the middleware
// every request passes, in order: recovery, request id, metrics and
// request log, security headers, language, body guard, session, CSRF.
//
// Request bodies are streamed (StreamRequestBody, and no pre-parsing of
// multipart forms), so that an upload goes from the connection to storage
// without being held in memory (files.ReadMultipart). With streaming,
// fasthttp hands over a body larger than BodyLimit instead of refusing it;
// the body guard refuses it instead, for every request but the streamed
// uploads that features register with auth.StreamedUploads, which cap
// their own bodies.
func newApp(d *deps) *fiber.App {
	const formBodyLimit = 1 << 20 // ordinary forms; uploads stream past it
	app := fiber.New(fiber.Config{
		AppName:                      "asumisneuvonta-portal",
		Views:                        d.fe.Views(),
		ErrorHandler:                 d.fe.ErrorHandler(d.log),
		DisableStartupMessage:        true,
		ReadTimeout:                  30 * time.Second, // uploads extend their own (files.UploadReadTimeout)
		WriteTimeout:                 30 * time.Second,
		IdleTimeout:                  2 * time.Minute,
		BodyLimit:                    formBodyLimit,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		EnableTrustedProxyCheck:      len(d.cfg.TrustedProxies) > 0,
		TrustedProxies:               d.cfg.TrustedProxies,
		ProxyHeader:                  proxyHeader(d.cfg),
	})
	app.Use(recover.New())
	app.Use(requestid.New())
	app.Use(observe(d))
	app.Use(d.fe.Security())
	d.fe.MountAssets(app)
	app.Use(d.fe.Languages())
	app.Use(files.BodyGuard(formBodyLimit, d.auth.StreamedUpload))
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
		// The labels outlive the request: Prometheus keeps them. Fiber reuses
		// the memory of c.Method() for the next request, so the label is the
		// constant of the method, never that memory.
		method := methodLabel(c.Method())
		requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		latency.WithLabelValues(route).Observe(took.Seconds())
		rid, _ := c.Locals("requestid").(string)
		d.log.Info("request", "request_id", rid, "method", method, "route", route,
			"status", status, "duration_ms", float64(took.Microseconds())/1000)
		return nil
	}
}

// methods are the labels a request's method may get; others count as OTHER,
// which also bounds the label's values.
var methods = []string{
	fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace,
}

// methodLabel returns the constant string equal to m, so that the label
// never aliases the request's reused memory.
func methodLabel(m string) string {
	for _, known := range methods {
		if m == known {
			return known
		}
	}
	return "OTHER"
}
