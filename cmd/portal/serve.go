package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/devidp"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/demo"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/desk"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/home"
	portalmail "github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/messages"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// deps is what features are built from. main owns it; features receive it
// in their wire function and take what they need.
type deps struct {
	cfg       Config
	log       *slog.Logger
	db        *database.DB
	redis     redis.UniversalClient // nil in single-process mode
	auth      *auth.Auth
	fe        *frontend.Frontend
	audit     *audit.Log
	regions   *regions.Store
	now       func() time.Time
	formLimit fiber.Handler // rate limit for public forms
	metrics   *prometheus.Registry
	home      *home.Pages
	desk      *desk.Desk
	outbox    *portalmail.Outbox // every feature's mail, sent by wireMail's sender
	wakeMail  func()
	files     *files.Service    // every feature's attachments (wireFiles)
	messages  *messages.Service // the chat continues ended chats as threads here
	contact   *contact.Service  // cases are opened from contact requests (wireContact)
}

// server is the running portal with everything that must be closed.
type server struct {
	app     *fiber.App
	deps    *deps
	metrics *http.Server
	devIDP  *devidp.Server
	stops   []func(context.Context) error
}

func devIssuer(cfg Config) string {
	if cfg.DevIDP() {
		return "http://" + cfg.DevIDPListen
	}
	return cfg.ResidentOIDC.Issuer
}

// build opens every dependency and assembles the app. On error, whatever
// was already opened is closed.
func build(ctx context.Context, cfg Config, log *slog.Logger) (s *server, err error) {
	s = &server{}
	d := &deps{cfg: cfg, log: log, now: time.Now}
	s.deps = d
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close(context.Background()))
		}
	}()

	if d.db, err = openMigrated(ctx, cfg, log); err != nil {
		return s, err
	}
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return s, fmt.Errorf("PORTAL_REDIS_URL: %w", err)
		}
		d.redis = redis.NewClient(opt)
		if err := d.redis.Ping(ctx).Err(); err != nil {
			return s, fmt.Errorf("redis: %w", err)
		}
	}
	if d.cfg.SecretKey == nil {
		// Development only (production refuses to start without one):
		// anonymous form tokens and chat guest tokens reset at restart.
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return s, fmt.Errorf("secret key: %w", err)
		}
		d.cfg.SecretKey = []byte(hex.EncodeToString(b))
	}
	if cfg.DevIDP() {
		if s.devIDP, d.cfg.ResidentOIDC, err = startDevIDP(cfg.DevIDPListen, cfg.RoleClaim, cfg.PublicURL); err != nil {
			return s, err
		}
		if d.cfg.StaffOIDC.RegionClaim == "" {
			d.cfg.StaffOIDC.RegionClaim = "region" // the development provider sends one
		}
		if d.cfg.ResidentOIDC.IdentityClaim == "" {
			d.cfg.ResidentOIDC.IdentityClaim = devidp.IdentityClaim
		}
	}
	if cfg.DemoData {
		if err := demo.Seed(ctx, d.db.Gorm, d.cfg.ResidentOIDC.Issuer); err != nil {
			return s, err
		}
	}

	d.regions = regions.NewStore(d.db.Gorm)
	var sessions auth.SessionStore = auth.NewDBSessions(d.db.Gorm)
	if cfg.SessionStore == "redis" {
		sessions = auth.NewRedisSessions(d.redis, "portal:", cfg.SessionIdle)
	}
	if d.auth, err = auth.New(auth.Config{
		PublicURL:   cfg.PublicURL,
		Providers:   providers(d.cfg),
		RoleClaim:   cfg.RoleClaim,
		RoleMap:     cfg.RoleMap,
		Timeout:     cfg.OIDCTimeout,
		MetadataTTL: cfg.OIDCMetadataTTL,
		Secure:      secureCookies(cfg),
		IdleTimeout: cfg.SessionIdle,
		MaxAge:      cfg.SessionMaxAge,
		SecretKey:   d.cfg.SecretKey,
		Regions:     d.regions,
		Logger:      log,
	}, d.db.Gorm, sessions); err != nil {
		return s, err
	}
	if d.fe, err = frontend.New(frontend.Options{
		Location: cfg.Location,
		Secure:   secureCookies(cfg),
		Viewer: func(c *fiber.Ctx) *frontend.Viewer {
			if u := auth.CurrentUser(c); u != nil {
				return &frontend.Viewer{Name: u.Name, Role: u.Role}
			}
			return nil
		},
		CSRFToken:         d.auth.CSRFToken,
		FormActionOrigins: providerOrigins(d.cfg),
		Unavailable:       database.IsUnavailable,
		Logger:            log,
	}); err != nil {
		return s, err
	}
	d.audit = audit.New(d.db.Gorm, d.now)
	d.metrics = prometheus.NewRegistry()
	d.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.formLimit = auth.RateLimit("portal:ratelimit:form:", cfg.FormRateLimit, time.Minute, d.redis)

	s.app = newApp(d)
	// Features add their blocks to these shared pages in their wire functions.
	d.home = home.New(d.fe, d.regions)
	d.desk = desk.New(d.fe, d.audit, d.auth.Users(), d.regions)
	wires := []func(*fiber.App, *deps) (func(context.Context) error, error){
		wireMail,  // first: the others queue mail in its outbox
		wireFiles, // and keep attachments in its store
		wireChat,
		wireBooking,
		wireMessages,
		wireExchange,
		wireContact,
		wireCases,
		wireMyData,
	}
	for _, wire := range wires {
		stop, err := wire(s.app, d)
		if err != nil {
			return s, err
		}
		s.stops = append(s.stops, stop)
	}
	mountCore(s.app, d)
	s.app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })

	if cfg.MetricsListen != "" {
		s.metrics = &http.Server{
			Addr:              cfg.MetricsListen,
			Handler:           promhttp.HandlerFor(d.metrics, promhttp.HandlerOpts{Registry: d.metrics}),
			ReadHeaderTimeout: 5 * time.Second,
		}
	}
	return s, nil
}

// secureCookies is the portal's one cookie rule: every cookie is Secure,
// and the session and CSRF cookies __Host- prefixed, exactly when the
// public URL is https (production requires it to be).
func secureCookies(cfg Config) bool { return cfg.PublicURL.Scheme == "https" }

func providers(cfg Config) []auth.ProviderConfig {
	r, st := cfg.ResidentOIDC, cfg.StaffOIDC
	resident := auth.ProviderConfig{
		Name: "resident", Issuer: r.Issuer, ClientID: r.ClientID, ClientSecret: r.ClientSecret,
		Scopes: r.Scopes, RequiredACR: r.RequiredACR, IdentityClaim: r.IdentityClaim, Settings: "PORTAL_OIDC",
	}
	if st.Issuer == "" {
		// One provider for everyone: roles come from its role claim, and
		// so does the staff region when the staff's region claim is set.
		resident.Roles = []auth.Role{auth.RoleResident, auth.RoleAdvisor, auth.RoleAdmin}
		resident.RegionClaim = st.RegionClaim
		return []auth.ProviderConfig{resident}
	}
	resident.Roles = []auth.Role{auth.RoleResident}
	return []auth.ProviderConfig{resident, {
		Name: "staff", Issuer: st.Issuer, ClientID: st.ClientID, ClientSecret: st.ClientSecret,
		Roles: []auth.Role{auth.RoleAdvisor, auth.RoleAdmin}, Scopes: st.Scopes,
		RegionClaim: st.RegionClaim, Settings: "PORTAL_STAFF_OIDC",
	}}
}

func providerOrigins(cfg Config) []string {
	var out []string
	for _, iss := range []string{cfg.ResidentOIDC.Issuer, cfg.StaffOIDC.Issuer} {
		if u, err := url.Parse(iss); err == nil && u.Host != "" && !slices.Contains(out, u.Scheme+"://"+u.Host) {
			out = append(out, u.Scheme+"://"+u.Host) // once, though both providers share it
		}
	}
	return out
}

// startDevIDP runs the development OpenID provider on addr, a loopback
// address, with the demo people, and returns the portal's client at it. The
// client may return to each of publicURLs: the portal's own, or in tests
// those of several instances sharing one provider as they share the city's.
func startDevIDP(addr, roleClaim string, publicURLs ...*url.URL) (*devidp.Server, OIDCConfig, error) {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, OIDCConfig{}, fmt.Errorf("dev provider secret: %w", err)
	}
	var users []devidp.User
	for _, p := range demo.People() {
		users = append(users, devidp.User{
			Subject: p.Subject, Name: p.Name(), GivenName: p.GivenName, FamilyName: p.FamilyName,
			Email: p.Email, Role: string(p.Role), Region: p.Region, PostalCode: p.PostalCode, Title: p.Title,
			IdentityCode: p.IdentityCode,
		})
	}
	client := devidp.Client{ID: "portal-dev", Secret: hex.EncodeToString(secret)}
	for _, u := range publicURLs {
		client.RedirectURIs = append(client.RedirectURIs, u.String()+"/auth/callback")
		client.PostLogoutRedirectURIs = append(client.PostLogoutRedirectURIs, u.String()+"/?logged_out=1")
	}
	srv, err := devidp.Start(addr, devidp.Config{
		// Issuer is left empty: Start takes it from the address it listens on.
		Users: users, Clients: []devidp.Client{client}, RoleClaim: roleClaim,
	})
	if err != nil {
		return nil, OIDCConfig{}, fmt.Errorf("development provider: %w", err)
	}
	return srv, OIDCConfig{Issuer: srv.URL(), ClientID: client.ID, ClientSecret: client.Secret}, nil
}

// close releases everything build opened, in reverse order.
func (s *server) close(ctx context.Context) error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.stops[i](ctx))
	}
	if s.metrics != nil {
		errs = append(errs, s.metrics.Shutdown(ctx))
	}
	if s.devIDP != nil {
		errs = append(errs, s.devIDP.Shutdown(ctx))
	}
	if s.deps.redis != nil {
		errs = append(errs, s.deps.redis.Close())
	}
	if s.deps.db != nil {
		errs = append(errs, s.deps.db.Close())
	}
	return errors.Join(errs...)
}

// serve runs the portal until ctx ends, then shuts down gracefully:
// in-flight requests finish, features stop, connections close.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	started := time.Now()
	s, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return errors.Join(fmt.Errorf("PORTAL_LISTEN: %w", err), s.close(context.Background()))
	}
	errc := make(chan error, 2)
	go func() { errc <- s.app.Listener(ln) }()
	if s.metrics != nil {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return errors.Join(fmt.Errorf("PORTAL_METRICS_LISTEN: %w", err), s.app.Shutdown(), s.close(context.Background()))
		}
		go func() {
			if err := s.metrics.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	go s.sweepSessions(ctx)
	printBanner(stdout, s, time.Since(started))
	log.Info("portal started", "listen", cfg.Listen, "public_url", cfg.PublicURL.String(),
		"env", cfg.Env, "database", string(s.deps.db.Dialect), "redis", s.deps.redis != nil,
		"startup_ms", time.Since(started).Milliseconds())

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("portal stopping")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(err, s.app.ShutdownWithContext(sctx), s.close(sctx))
}

// sweepSessions deletes expired sessions and login attempts every few
// minutes (Redis expires its own).
func (s *server) sweepSessions(ctx context.Context) {
	store := auth.NewDBSessions(s.deps.db.Gorm)
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := store.DeleteExpired(ctx, time.Now().UTC(), s.deps.cfg.SessionIdle); err != nil && ctx.Err() == nil {
				s.deps.log.Warn("session sweep failed", "err", err)
			}
		}
	}
}

func printBanner(w io.Writer, s *server, took time.Duration) {
	cfg := s.deps.cfg
	fmt.Fprintf(w, "Asumisneuvonta portal is running at %s  (started in %d ms)\n", cfg.PublicURL, took.Milliseconds())
	if cfg.MetricsListen != "" {
		fmt.Fprintf(w, "Metrics: http://%s/metrics\n", cfg.MetricsListen)
	}
	if s.devIDP != nil {
		fmt.Fprintf(w, "Development login (no passwords) at %s — pick a demo user after clicking \"Kirjaudu\":\n", s.devIDP.URL())
		for _, p := range demo.People() {
			line := fmt.Sprintf("  %-9s %s", p.Role, p.Name())
			if p.Title != "" {
				line += " — " + p.Title
			}
			if p.Region != "" {
				line += " (" + p.Region + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	if cfg.Production() {
		return
	}
	fmt.Fprintf(w, "Database: %s   Redis: %v   Stop with Ctrl-C.\n", database.Dialect(s.deps.db.Dialect), s.deps.redis != nil)
}
