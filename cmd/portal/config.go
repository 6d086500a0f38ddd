package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // PORTAL_TIME_ZONE must resolve on hosts without tzdata

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// Config is the whole configuration, read once from PORTAL_* environment
// variables. Every default serves the single-process development mode.
type Config struct {
	Env           string // "development" or "production"
	Listen        string
	PublicURL     *url.URL
	MetricsListen string
	LogLevel      string
	DataDir       string
	// Location is PORTAL_TIME_ZONE: opening hours, slots and every date
	// shown are in it. Loaded once here and passed to what needs it.
	Location *time.Location

	DatabaseURL    string
	RedisURL       string
	SessionStore   string // "database" or "redis"
	SingleInstance bool

	SecretKey     []byte
	SessionIdle   time.Duration
	SessionMaxAge time.Duration

	ResidentOIDC OIDCConfig
	StaffOIDC    OIDCConfig
	RoleClaim    string
	RoleMap      map[string]auth.Role // PORTAL_OIDC_ROLE_MAP
	// OIDCTimeout bounds every call to a provider (PORTAL_OIDC_TIMEOUT);
	// OIDCMetadataTTL is how long discovery is kept (PORTAL_OIDC_METADATA_TTL).
	OIDCTimeout     time.Duration
	OIDCMetadataTTL time.Duration
	DevIDPListen    string

	DemoData        bool
	LoginRateLimit  int // requests per minute per client address
	FormRateLimit   int
	TrustedProxies  []string
	ShutdownTimeout time.Duration

	Chat     chatConfig     // wire_chat.go
	Booking  bookingConfig  // wire_booking.go
	Exchange exchangeConfig // wire_exchange.go
	Contact  contactConfig  // wire_contact.go
	Messages messagesConfig // wire_messages.go
	Cases    casesConfig    // wire_cases.go
}

// OIDCConfig is one OpenID provider and the portal's client at it.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string // asked for besides openid; nil: profile and email
	// RequiredACR (residents' provider): acr values a login must reach.
	RequiredACR []string
	// RegionClaim (staff provider): the claim with the advisor's region
	// code; empty, admins assign regions in the portal.
	RegionClaim string
	// IdentityClaim (residents' provider): the claim with the personal
	// identity code, which links a first login to a client record.
	IdentityClaim string
}

// Production reports whether development defaults are refused.
func (c Config) Production() bool { return c.Env == "production" }

// DevIDP reports whether the built-in development provider runs.
func (c Config) DevIDP() bool { return !c.Production() && c.ResidentOIDC.Issuer == "" }

// configError names the variable that was wrong.
type configError struct {
	name, msg string
}

func (e *configError) Error() string { return e.name + ": " + e.msg }

type envReader struct {
	get  func(string) string
	read func(string) ([]byte, error)
	errs []error
}

func (r *envReader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, &configError{name, fmt.Sprintf(format, args...)})
}

func (r *envReader) str(name, def string) string {
	if v := strings.TrimSpace(r.get(name)); v != "" {
		return v
	}
	return def
}

// secret reads NAME, or the file named by NAME_FILE (never both).
func (r *envReader) secret(name string) string {
	v, file := r.get(name), r.get(name+"_FILE")
	if v != "" && file != "" {
		r.fail(name, "set either %s or %s_FILE, not both", name, name)
		return ""
	}
	if file == "" {
		return v
	}
	b, err := r.read(file)
	if err != nil {
		r.fail(name+"_FILE", "cannot read the secret file: %v", err)
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (r *envReader) boolean(name string, def bool) bool {
	v := r.get(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "want true or false, got %q", v)
		return def
	}
	return b
}

func (r *envReader) integer(name string, def, min, max int) int {
	v := r.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.fail(name, "want a whole number from %d to %d, got %q", min, max, v)
		return def
	}
	return n
}

func (r *envReader) duration(name string, def time.Duration) time.Duration {
	v := r.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "want a positive duration such as 30m or 12h, got %q", v)
		return def
	}
	return d
}

// list reads a list separated by spaces or commas; unset is nil.
func (r *envReader) list(name string) []string {
	v := strings.TrimSpace(r.get(name))
	if v == "" {
		return nil
	}
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' })
}

// roleMap reads "provider-role=portal-role,…", each portal role resident,
// advisor or admin.
func (r *envReader) roleMap(name string) map[string]auth.Role {
	out := map[string]auth.Role{}
	for _, pair := range r.list(name) {
		from, to, ok := strings.Cut(pair, "=")
		if !ok || from == "" || !auth.Role(to).Valid() {
			r.fail(name, "want provider-role=portal-role pairs such as asumisneuvoja=advisor,asumisneuvonta-admin=admin (portal roles: resident, advisor, admin), got %q", pair)
			continue
		}
		out[from] = auth.Role(to)
	}
	return out
}

func (r *envReader) hostPort(name, def string) string {
	v := r.str(name, def)
	if _, _, err := net.SplitHostPort(v); err != nil {
		r.fail(name, "want host:port, got %q", v)
	}
	return v
}

func (r *envReader) oneOf(name, def string, allowed ...string) string {
	v := r.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "want one of %s, got %q", strings.Join(allowed, ", "), v)
	return def
}

// loadConfig reads the configuration through getenv and readFile, so tests
// can pass their own. It returns every problem at once, each naming its
// variable.
func loadConfig(getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	r := &envReader{get: getenv, read: readFile}
	var err error
	c := Config{
		Env:           r.oneOf("PORTAL_ENV", "development", "development", "production"),
		Listen:        r.hostPort("PORTAL_LISTEN", "localhost:8080"),
		MetricsListen: r.hostPort("PORTAL_METRICS_LISTEN", "127.0.0.1:9090"),
		LogLevel:      r.oneOf("PORTAL_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		DataDir:       r.str("PORTAL_DATA_DIR", "./data"),
		RedisURL:      r.secret("PORTAL_REDIS_URL"),
		SessionIdle:   r.duration("PORTAL_SESSION_IDLE_TIMEOUT", 30*time.Minute),
		SessionMaxAge: r.duration("PORTAL_SESSION_MAX_AGE", 12*time.Hour),
		RoleClaim:     r.str("PORTAL_OIDC_ROLE_CLAIM", "roles"),
		DevIDPListen:  r.hostPort("PORTAL_DEV_IDP_LISTEN", "127.0.0.1:8081"),
		ResidentOIDC: OIDCConfig{
			Issuer:        r.str("PORTAL_OIDC_ISSUER", ""),
			ClientID:      r.str("PORTAL_OIDC_CLIENT_ID", ""),
			ClientSecret:  r.secret("PORTAL_OIDC_CLIENT_SECRET"),
			Scopes:        r.list("PORTAL_OIDC_SCOPES"),
			RequiredACR:   r.list("PORTAL_OIDC_REQUIRED_ACR"),
			IdentityClaim: r.str("PORTAL_OIDC_IDENTITY_CLAIM", ""),
		},
		StaffOIDC: OIDCConfig{
			Issuer:       r.str("PORTAL_STAFF_OIDC_ISSUER", ""),
			ClientID:     r.str("PORTAL_STAFF_OIDC_CLIENT_ID", ""),
			ClientSecret: r.secret("PORTAL_STAFF_OIDC_CLIENT_SECRET"),
			Scopes:       r.list("PORTAL_STAFF_OIDC_SCOPES"),
			RegionClaim:  r.str("PORTAL_STAFF_OIDC_REGION_CLAIM", ""),
		},
		OIDCTimeout:     r.duration("PORTAL_OIDC_TIMEOUT", 10*time.Second),
		OIDCMetadataTTL: r.duration("PORTAL_OIDC_METADATA_TTL", time.Hour),
		RoleMap:         r.roleMap("PORTAL_OIDC_ROLE_MAP"),
		SingleInstance:  r.boolean("PORTAL_SINGLE_INSTANCE", false),
		LoginRateLimit:  r.integer("PORTAL_LOGIN_RATE_LIMIT", 30, 1, 100000),
		FormRateLimit:   r.integer("PORTAL_FORM_RATE_LIMIT", 10, 1, 100000),
		ShutdownTimeout: r.duration("PORTAL_SHUTDOWN_TIMEOUT", 20*time.Second),
	}
	prod := c.Env == "production"
	tz := r.str("PORTAL_TIME_ZONE", "Europe/Helsinki")
	if c.Location, err = time.LoadLocation(tz); err != nil {
		r.fail("PORTAL_TIME_ZONE", "want an IANA time zone such as Europe/Helsinki, got %q", tz)
		c.Location = time.UTC
	}
	c.DemoData = r.boolean("PORTAL_DEMO_DATA", !prod)
	c.SessionStore = r.oneOf("PORTAL_SESSION_STORE", "database", "database", "redis")
	if v := r.str("PORTAL_TRUSTED_PROXIES", ""); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if net.ParseIP(p) == nil {
				if _, _, err := net.ParseCIDR(p); err != nil {
					r.fail("PORTAL_TRUSTED_PROXIES", "%q is neither an IP address nor a CIDR range", p)
				}
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}

	c.Chat = loadChatConfig(r)
	c.Booking = loadBookingConfig(r)
	c.Exchange = loadExchangeConfig(r, c.SingleInstance)
	c.Contact = loadContactConfig(r)
	c.Messages = loadMessagesConfig(r)
	c.Cases = loadCasesConfig(r)

	pub := r.str("PORTAL_PUBLIC_URL", "")
	if pub == "" {
		pub = "http://" + strings.Replace(c.Listen, "0.0.0.0", "localhost", 1)
		if strings.HasPrefix(c.Listen, ":") {
			pub = "http://localhost" + c.Listen
		}
	}
	u, err := url.Parse(pub)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		r.fail("PORTAL_PUBLIC_URL", "want an absolute http(s) URL without a path, such as https://asumisneuvonta.example.fi, got %q", pub)
		u = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	u.Path = ""
	c.PublicURL = u

	c.DatabaseURL = r.secret("PORTAL_DATABASE_URL")
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + strings.TrimSuffix(c.DataDir, "/") + "/portal.db"
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		r.fail("PORTAL_REDIS_URL", "want a redis:// or rediss:// URL")
	}
	if c.SessionStore == "redis" && c.RedisURL == "" {
		r.fail("PORTAL_SESSION_STORE", "redis needs PORTAL_REDIS_URL")
	}

	if key := r.secret("PORTAL_SECRET_KEY"); key != "" {
		if len(key) < 32 {
			r.fail("PORTAL_SECRET_KEY", "must be at least 32 characters (for example `openssl rand -hex 32`)")
		}
		c.SecretKey = []byte(key)
	}

	if c.ResidentOIDC.Issuer != "" {
		checkOIDC(r, "PORTAL_OIDC", c.ResidentOIDC, prod)
	} else if c.ResidentOIDC.ClientID != "" || c.ResidentOIDC.ClientSecret != "" {
		r.fail("PORTAL_OIDC_ISSUER", "is needed when a client id or secret is set")
	}
	if c.StaffOIDC.Issuer != "" {
		checkOIDC(r, "PORTAL_STAFF_OIDC", c.StaffOIDC, prod)
	} else if c.StaffOIDC.ClientID != "" || c.StaffOIDC.ClientSecret != "" {
		r.fail("PORTAL_STAFF_OIDC_ISSUER", "is needed when a client id or secret is set")
	}

	if prod {
		if c.ResidentOIDC.Issuer == "" {
			r.fail("PORTAL_OIDC_ISSUER", "is required in production (the development provider is refused)")
		}
		if c.SecretKey == nil {
			r.fail("PORTAL_SECRET_KEY", "is required in production (no default secrets)")
		}
		if c.PublicURL.Scheme != "https" {
			r.fail("PORTAL_PUBLIC_URL", "must be https in production (cookies are Secure)")
		}
		if !c.SingleInstance {
			if database.DialectOf(c.DatabaseURL) == database.SQLite {
				r.fail("PORTAL_DATABASE_URL", "SQLite cannot be shared by several instances: use PostgreSQL, or set PORTAL_SINGLE_INSTANCE=true if exactly one instance runs")
			}
			if c.RedisURL == "" {
				r.fail("PORTAL_REDIS_URL", "several instances need Redis for chat fan-out: set it, or set PORTAL_SINGLE_INSTANCE=true if exactly one instance runs")
			}
		}
		if c.DemoData {
			r.fail("PORTAL_DEMO_DATA", "demo data is refused in production")
		}
	}
	if len(r.errs) > 0 {
		return Config{}, errors.Join(r.errs...)
	}
	return c, nil
}

func checkOIDC(r *envReader, prefix string, o OIDCConfig, prod bool) {
	u, err := url.Parse(o.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.fail(prefix+"_ISSUER", "want the provider's issuer URL, got %q", o.Issuer)
	} else if prod && u.Scheme != "https" && !loopback(u.Hostname()) {
		r.fail(prefix+"_ISSUER", "must be https in production (tokens and codes travel over it), got %q", o.Issuer)
	}
	if o.ClientID == "" {
		r.fail(prefix+"_CLIENT_ID", "is required with %s_ISSUER", prefix)
	}
	if o.ClientSecret == "" {
		r.fail(prefix+"_CLIENT_SECRET", "is required with %s_ISSUER (or %s_CLIENT_SECRET_FILE)", prefix, prefix)
	}
}

// osConfig reads the process environment.
func osConfig() (Config, error) { return loadConfig(os.Getenv, os.ReadFile) }
