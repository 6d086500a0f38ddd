// Package authtest logs people in for tests without an OpenID provider: it
// writes a user and a live session straight into the store and returns the
// session cookie, so a handler test can act as a resident, an advisor or an
// admin through the real session middleware.
package authtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// New returns an Auth over db with database sessions and a provider that is
// never reached, for tests that only need sessions, roles and CSRF.
func New(t testing.TB, db *gorm.DB) *auth.Auth {
	t.Helper()
	a, err := auth.New(auth.Config{
		PublicURL: &url.URL{Scheme: "http", Host: "portal.test"},
		Providers: []auth.ProviderConfig{{
			Name: "resident", Issuer: "http://idp.invalid", ClientID: "portal", ClientSecret: "secret",
			Roles: []auth.Role{auth.RoleResident, auth.RoleAdvisor, auth.RoleAdmin},
		}},
		IdleTimeout: time.Hour, MaxAge: 12 * time.Hour,
		SecretKey: []byte("authtest-secret-key-of-32-bytes!"),
	}, db, auth.NewDBSessions(db))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// User is a logged-in test user: the user, the Cookie header value of its
// session and its CSRF token.
type User struct {
	*auth.User
	Cookie string
	CSRF   string
}

// Login creates a user with role and name and a live session for it.
func Login(t testing.TB, db *gorm.DB, role auth.Role, name string) *User {
	t.Helper()
	ctx := context.Background()
	u, err := auth.NewUsers(db).Upsert(ctx, &auth.User{Issuer: "authtest", Subject: name, Role: role, Name: name, GivenName: name}, true)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	raw := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(raw))
	now := time.Now().UTC()
	sess := &auth.Session{ID: hex.EncodeToString(sum[:]), UserID: u.ID, CSRFToken: "csrf-" + raw[:16],
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := auth.NewDBSessions(db).Create(ctx, sess); err != nil {
		t.Fatal(err)
	}
	return &User{User: u, Cookie: "asn_session=" + raw, CSRF: sess.CSRFToken}
}

// WithActor returns ctx acting as u, for calling a service directly as
// the session middleware would.
func WithActor(ctx context.Context, u *User) context.Context {
	return auth.WithActor(ctx, auth.Actor{UserID: u.ID, Role: u.Role})
}
