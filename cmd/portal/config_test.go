package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func noFiles(name string) ([]byte, error) {
	if name == "/run/secrets/key" {
		return []byte(strings.Repeat("s", 40) + "\n"), nil
	}
	return nil, os.ErrNotExist
}

func TestConfigDefaultsServeSingleProcess(t *testing.T) {
	c, err := loadConfig(env(nil), noFiles)
	if err != nil {
		t.Fatal(err)
	}
	if c.Production() || !c.DevIDP() || !c.DemoData {
		t.Errorf("defaults: production=%v devIDP=%v demo=%v", c.Production(), c.DevIDP(), c.DemoData)
	}
	if c.DatabaseURL != "sqlite:./data/portal.db" || c.PublicURL.String() != "http://localhost:8080" {
		t.Errorf("defaults: db=%q public=%q", c.DatabaseURL, c.PublicURL)
	}
	if c.Location == nil || c.Location.String() != "Europe/Helsinki" {
		t.Errorf("default time zone %v", c.Location)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_TIME_ZONE": "Europe/Stockholm"}), noFiles)
	if err != nil || c.Location.String() != "Europe/Stockholm" {
		t.Errorf("PORTAL_TIME_ZONE: %v, %v", c.Location, err)
	}
}

func TestConfigSecretFile(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"PORTAL_SECRET_KEY_FILE": "/run/secrets/key"}), noFiles)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.SecretKey) != strings.Repeat("s", 40) {
		t.Errorf("secret from file = %q", c.SecretKey)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	prod := map[string]string{
		"PORTAL_ENV":                "production",
		"PORTAL_PUBLIC_URL":         "https://asumisneuvonta.example.fi",
		"PORTAL_SECRET_KEY":         strings.Repeat("x", 32),
		"PORTAL_OIDC_ISSUER":        "https://login.example.fi/realms/city",
		"PORTAL_OIDC_CLIENT_ID":     "portal",
		"PORTAL_OIDC_CLIENT_SECRET": "s3cret",
		"PORTAL_DATABASE_URL":       "postgres://portal@db/portal",
		"PORTAL_REDIS_URL":          "redis://redis:6379/0",
		"PORTAL_SMTP_HOST":          "smtp.example.fi",
		"PORTAL_MAIL_FROM":          "Asumisneuvonta <noreply@example.fi>",
		"PORTAL_S3_ENDPOINT":        "s3.example.fi",
		"PORTAL_S3_BUCKET":          "asumisneuvonta",
		"PORTAL_S3_ACCESS_KEY":      "portal",
		"PORTAL_S3_SECRET_KEY":      "s3-secret",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	if _, err := loadConfig(env(prod), noFiles); err != nil {
		t.Fatalf("valid production config refused: %v", err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want string // the variable the message must name
	}{
		{"unknown env", map[string]string{"PORTAL_ENV": "staging"}, "PORTAL_ENV"},
		{"listen without port", map[string]string{"PORTAL_LISTEN": "localhost"}, "PORTAL_LISTEN"},
		{"metrics listen", map[string]string{"PORTAL_METRICS_LISTEN": "nonsense"}, "PORTAL_METRICS_LISTEN"},
		{"log level", map[string]string{"PORTAL_LOG_LEVEL": "loud"}, "PORTAL_LOG_LEVEL"},
		{"time zone", map[string]string{"PORTAL_TIME_ZONE": "Europe/Hellsinki"}, "PORTAL_TIME_ZONE"},
		{"public url with path", map[string]string{"PORTAL_PUBLIC_URL": "http://x.fi/portal"}, "PORTAL_PUBLIC_URL"},
		{"public url scheme", map[string]string{"PORTAL_PUBLIC_URL": "ftp://x.fi"}, "PORTAL_PUBLIC_URL"},
		{"redis url", map[string]string{"PORTAL_REDIS_URL": "http://redis"}, "PORTAL_REDIS_URL"},
		{"redis sessions without redis", map[string]string{"PORTAL_SESSION_STORE": "redis"}, "PORTAL_SESSION_STORE"},
		{"session store", map[string]string{"PORTAL_SESSION_STORE": "memcached"}, "PORTAL_SESSION_STORE"},
		{"idle timeout", map[string]string{"PORTAL_SESSION_IDLE_TIMEOUT": "soon"}, "PORTAL_SESSION_IDLE_TIMEOUT"},
		{"max age negative", map[string]string{"PORTAL_SESSION_MAX_AGE": "-1h"}, "PORTAL_SESSION_MAX_AGE"},
		{"short secret", map[string]string{"PORTAL_SECRET_KEY": "short"}, "PORTAL_SECRET_KEY"},
		{"secret and file", map[string]string{"PORTAL_SECRET_KEY": strings.Repeat("x", 32), "PORTAL_SECRET_KEY_FILE": "/run/secrets/key"}, "PORTAL_SECRET_KEY"},
		{"unreadable secret file", map[string]string{"PORTAL_SECRET_KEY_FILE": "/nope"}, "PORTAL_SECRET_KEY_FILE"},
		{"client without issuer", map[string]string{"PORTAL_OIDC_CLIENT_ID": "x"}, "PORTAL_OIDC_ISSUER"},
		{"issuer without client", map[string]string{"PORTAL_OIDC_ISSUER": "https://idp.example"}, "PORTAL_OIDC_CLIENT_ID"},
		{"staff issuer without secret", map[string]string{"PORTAL_STAFF_OIDC_ISSUER": "https://idp.example", "PORTAL_STAFF_OIDC_CLIENT_ID": "x"}, "PORTAL_STAFF_OIDC_CLIENT_SECRET"},
		{"bad boolean", map[string]string{"PORTAL_DEMO_DATA": "perhaps"}, "PORTAL_DEMO_DATA"},
		{"bad rate limit", map[string]string{"PORTAL_LOGIN_RATE_LIMIT": "0"}, "PORTAL_LOGIN_RATE_LIMIT"},
		{"bad proxy", map[string]string{"PORTAL_TRUSTED_PROXIES": "10.0.0.1,everyone"}, "PORTAL_TRUSTED_PROXIES"},
		{"chat presence shorter than two renewals", map[string]string{"PORTAL_CHAT_PRESENCE_INTERVAL": "40s", "PORTAL_CHAT_PRESENCE_TTL": "1m"}, "PORTAL_CHAT_PRESENCE_TTL"},
		{"production without provider", with(prod, "PORTAL_OIDC_ISSUER", "", "PORTAL_OIDC_CLIENT_ID", "", "PORTAL_OIDC_CLIENT_SECRET", ""), "PORTAL_OIDC_ISSUER"},
		{"production without secret", with(prod, "PORTAL_SECRET_KEY", ""), "PORTAL_SECRET_KEY"},
		{"production over http", with(prod, "PORTAL_PUBLIC_URL", "http://asumisneuvonta.example.fi"), "PORTAL_PUBLIC_URL"},
		{"production on shared sqlite", with(prod, "PORTAL_DATABASE_URL", "sqlite:/data/portal.db"), "PORTAL_DATABASE_URL"},
		{"production instances without redis", with(prod, "PORTAL_REDIS_URL", ""), "PORTAL_REDIS_URL"},
		{"production with demo data", with(prod, "PORTAL_DEMO_DATA", "true"), "PORTAL_DEMO_DATA"},
		{"production without smtp", with(prod, "PORTAL_SMTP_HOST", ""), "PORTAL_SMTP_HOST"},
		{"production with an http issuer", with(prod, "PORTAL_OIDC_ISSUER", "http://login.example.fi/realms/city"), "PORTAL_OIDC_ISSUER"},
		{"a role map without a portal role", map[string]string{"PORTAL_OIDC_ROLE_MAP": "asumisneuvoja=boss"}, "PORTAL_OIDC_ROLE_MAP"},
		{"a role map without =", map[string]string{"PORTAL_OIDC_ROLE_MAP": "asumisneuvoja"}, "PORTAL_OIDC_ROLE_MAP"},
		{"production instances without s3", with(prod, "PORTAL_S3_ENDPOINT", ""), "PORTAL_S3_ENDPOINT"},
		{"s3 endpoint with a scheme", map[string]string{"PORTAL_S3_ENDPOINT": "https://s3.example.fi", "PORTAL_S3_BUCKET": "b", "PORTAL_S3_ACCESS_KEY": "k", "PORTAL_S3_SECRET_KEY": "s"}, "PORTAL_S3_ENDPOINT"},
		{"s3 without a bucket", map[string]string{"PORTAL_S3_ENDPOINT": "s3.example.fi", "PORTAL_S3_ACCESS_KEY": "k", "PORTAL_S3_SECRET_KEY": "s"}, "PORTAL_S3_BUCKET"},
		{"webhook without a secret", map[string]string{"PORTAL_EXCHANGE_WEBHOOK_URL": "https://asuntotoimisto.example.fi/hook"}, "PORTAL_EXCHANGE_WEBHOOK_SECRET"},
		{"production webhook over http", with(prod, "PORTAL_EXCHANGE_WEBHOOK_URL", "http://asuntotoimisto.example.fi/hook", "PORTAL_EXCHANGE_WEBHOOK_SECRET", strings.Repeat("w", 32)), "PORTAL_EXCHANGE_WEBHOOK_URL"},
		{"total smaller than a file", map[string]string{"PORTAL_EXCHANGE_MAX_FILE_MB": "20", "PORTAL_EXCHANGE_MAX_TOTAL_MB": "10"}, "PORTAL_EXCHANGE_MAX_TOTAL_MB"},
		{"a clamd address", map[string]string{"PORTAL_CLAMD_ADDR": "clamd"}, "PORTAL_CLAMD_ADDR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(env(tc.env), noFiles)
			if err == nil {
				t.Fatal("accepted")
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a configError", err)
			}
			if !strings.Contains(err.Error(), tc.want+":") {
				t.Errorf("message %q does not name %s", err, tc.want)
			}
		})
	}
	t.Run("single instance may use sqlite without redis", func(t *testing.T) {
		m := with(prod, "PORTAL_DATABASE_URL", "sqlite:/data/portal.db", "PORTAL_REDIS_URL", "", "PORTAL_SINGLE_INSTANCE", "true")
		if _, err := loadConfig(env(m), noFiles); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConfigProviderScopesAndRoles: scopes and the role map are read from
// their variables; an http issuer on loopback is allowed in production
// (a provider beside the portal).
func TestConfigProviderScopesAndRoles(t *testing.T) {
	c, err := loadConfig(env(map[string]string{
		"PORTAL_OIDC_ISSUER": "https://login.example.fi/realms/city", "PORTAL_OIDC_CLIENT_ID": "portal", "PORTAL_OIDC_CLIENT_SECRET": "s",
		"PORTAL_OIDC_SCOPES": "profile email roles", "PORTAL_STAFF_OIDC_SCOPES": "profile,groups",
		"PORTAL_OIDC_ROLE_CLAIM": "realm_access.roles", "PORTAL_OIDC_ROLE_MAP": "asumisneuvoja=advisor,asumisneuvonta-admin=admin",
	}), noFiles)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.ResidentOIDC.Scopes, " ") != "profile email roles" || strings.Join(c.StaffOIDC.Scopes, " ") != "profile groups" {
		t.Errorf("scopes %v / %v", c.ResidentOIDC.Scopes, c.StaffOIDC.Scopes)
	}
	if c.RoleClaim != "realm_access.roles" || c.RoleMap["asumisneuvoja"] != auth.RoleAdvisor || c.RoleMap["asumisneuvonta-admin"] != auth.RoleAdmin {
		t.Errorf("role claim %q, map %v", c.RoleClaim, c.RoleMap)
	}
}

// TestProviderOriginsOnce: two providers on one origin (two realms of one
// Keycloak) put that origin in the CSP once.
func TestProviderOriginsOnce(t *testing.T) {
	got := providerOrigins(Config{
		ResidentOIDC: OIDCConfig{Issuer: "https://login.example.fi/realms/residents"},
		StaffOIDC:    OIDCConfig{Issuer: "https://login.example.fi/realms/staff"},
	})
	if strings.Join(got, " ") != "https://login.example.fi" {
		t.Errorf("origins %v", got)
	}
}
