// Package devidp is the development OpenID provider: a real, in-process OpenID
// Connect provider with demo users, so the portal runs its production login code
// (discovery, authorization code flow with PKCE, signed ID tokens, logout) with no
// outside identity service.
//
// It is for development only. Nobody is authenticated: whoever opens the picker
// page can sign in as any demo user. Start refuses to listen on anything but a
// loopback address, and the portal must never wire it up in production.
package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// RoleResident, RoleAdvisor and RoleAdmin are the roles a demo user can have;
// the ID token carries the user's role in the role claim, and the portal maps
// it to its own permissions.
const (
	RoleResident = "resident"
	RoleAdvisor  = "advisor"
	RoleAdmin    = "admin"
)

// Lifetimes of what the provider hands out. Codes are short-lived because the
// client redeems them straight away; the auth request lives long enough for a
// person to pick a user.
const (
	authRequestLifetime = 10 * time.Minute
	codeLifetime        = time.Minute
	accessTokenLifetime = 15 * time.Minute
	idTokenLifetime     = 15 * time.Minute
)

// Paths the provider serves beside the OpenID endpoints of the op package.
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
	stylePath     = "/static/devidp.css"
)

// ErrNotLoopback is returned by Start for an address that is not a loopback address.
var ErrNotLoopback = errors.New("devidp: not a loopback address")

// User is a demo identity the picker page offers.
type User struct {
	Subject, Name, GivenName, FamilyName, Email string
	Role                                        string // "resident" | "advisor" | "admin"
	Region                                      string // region code for advisors ("west","north","south","east"), "" otherwise
	PostalCode                                  string
	IdentityCode                                string // a resident's personal identity code, sent as IdentityClaim
	Title                                       string // shown in the picker, e.g. "Asumisneuvoja, Itä"
}

// Client is an OpenID client (relying party) registered with the provider: a
// confidential web application, so Secret is required, and it must use PKCE
// with S256 as well.
type Client struct {
	ID, Secret                           string
	RedirectURIs, PostLogoutRedirectURIs []string
}

// Config is what New needs to build a provider. RoleClaim defaults to "roles".
// Now drives the provider's own bookkeeping (auth request, code and access
// token lifetimes); the iat and exp inside signed ID tokens come from the op
// package, which reads the real clock.
type Config struct {
	Issuer    string // e.g. "http://127.0.0.1:8081"; must be the URL the handler is served at
	Users     []User
	Clients   []Client
	RoleClaim string           // name of the claim carrying the role list, e.g. "roles"; value is a JSON array ["advisor"]
	Now       func() time.Time // optional; nil = time.Now
}

// Provider is a development OpenID provider. Its state (auth requests, codes,
// access tokens) lives in memory and is lost when the process ends.
type Provider struct {
	issuer     string
	storage    *storage
	op         *op.Provider
	groups     []userGroup // the picker's sections, built once from Config.Users
	cookiePath string      // the picker's path, to which its CSRF cookie is confined
	secure     bool        // whether cookies get the Secure flag (an https issuer)
	handler    http.Handler
}

// reservedClaims are claims the provider sets itself; the role claim must not
// overwrite any of them.
var reservedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "azp",
	"acr", "amr", "at_hash", "c_hash", "sid", "name", "given_name", "family_name",
	"email", "email_verified", "region", "postal_code", IdentityClaim,
}

// IdentityClaim is the claim with a resident's personal identity code.
const IdentityClaim = "personal_identity_code"

// New checks cfg and builds a provider with a fresh RS256 signing key. The
// handler must be served at cfg.Issuer.
func New(cfg Config) (*Provider, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "roles"
	}
	if slices.Contains(reservedClaims, cfg.RoleClaim) {
		return nil, fmt.Errorf("devidp: role claim %q is a claim the provider sets itself", cfg.RoleClaim)
	}
	if err := checkIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	users, err := checkUsers(cfg.Users)
	if err != nil {
		return nil, err
	}
	clients, err := checkClients(cfg.Clients, cfg.Issuer)
	if err != nil {
		return nil, err
	}

	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	store := newStorage(cfg.Now, cfg.RoleClaim, key, users, clients)

	opConfig := &op.Config{
		DefaultLogoutRedirectURI: cfg.Issuer + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
		SupportedClaims:          append(slices.Clone(op.DefaultSupportedClaims), cfg.RoleClaim, "region", "postal_code", IdentityClaim),
	}
	// The crypto key encrypts the opaque access tokens; a new one per start
	// invalidates every token of an earlier run, as the in-memory state is gone too.
	if _, err := rand.Read(opConfig.CryptoKey[:]); err != nil {
		return nil, fmt.Errorf("devidp: generate access token key: %w", err)
	}
	provider, err := op.NewProvider(opConfig, store, op.StaticIssuer(cfg.Issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("devidp: create OpenID provider for %s: %w", cfg.Issuer, err)
	}

	issuerURL, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("devidp: parse issuer %q: %w", cfg.Issuer, err)
	}
	p := &Provider{
		issuer:     cfg.Issuer,
		storage:    store,
		op:         provider,
		groups:     groupUsers(cfg.Users),
		cookiePath: issuerURL.Path + loginPath,
		secure:     issuerURL.Scheme == "https",
	}
	p.handler = p.routes()
	return p, nil
}

// Handler serves the provider: the OpenID endpoints (discovery, JWKS,
// authorize, token, userinfo, end_session…) and the demo user picker. It
// expects paths relative to the issuer: when the issuer has a path, mount it
// with http.StripPrefix.
func (p *Provider) Handler() http.Handler {
	return p.handler
}

// routes lists everything the provider serves. The picker and its pages come
// first; every other path belongs to the op package's router.
func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()

	// Demo user picker, reached from authorize through Client.LoginURL.
	mux.HandleFunc("GET "+loginPath, p.showPicker)
	mux.HandleFunc("POST "+loginPath, p.pickUser)

	// Where end_session lands when the client names no post_logout_redirect_uri.
	mux.HandleFunc("GET "+loggedOutPath, p.showLoggedOut)

	mux.HandleFunc("GET "+stylePath, serveStyle)
	// Browsers ask for an icon on their own; the provider has none.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

	// OpenID endpoints.
	mux.Handle("/", p.op)
	return mux
}

// checkIssuer refuses an issuer the endpoints cannot be built from. A trailing
// slash is refused rather than trimmed: clients compare the issuer byte for
// byte, so the configured value must be the one the provider announces.
func checkIssuer(issuer string) error {
	if err := op.ValidateIssuer(issuer, true); err != nil {
		return fmt.Errorf("devidp: issuer %q: %w", issuer, err)
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("devidp: parse issuer %q: %w", issuer, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("devidp: issuer %q: scheme must be http or https", issuer)
	}
	if strings.HasSuffix(issuer, "/") {
		return fmt.Errorf("devidp: issuer %q must not end with a slash", issuer)
	}
	return nil
}

// checkUsers indexes the demo users by subject. A subject may not contain a
// colon because the opaque access token encodes "token id:subject".
func checkUsers(list []User) (map[string]User, error) {
	if len(list) == 0 {
		return nil, errors.New("devidp: no demo users configured")
	}
	users := make(map[string]User, len(list))
	for i, u := range list {
		switch {
		case u.Subject == "":
			return nil, fmt.Errorf("devidp: demo user %d has no subject", i)
		case strings.Contains(u.Subject, ":"):
			return nil, fmt.Errorf("devidp: demo user subject %q contains a colon", u.Subject)
		case u.Name == "":
			return nil, fmt.Errorf("devidp: demo user %q has no name", u.Subject)
		}
		if !slices.Contains([]string{RoleResident, RoleAdvisor, RoleAdmin}, u.Role) {
			return nil, fmt.Errorf("devidp: demo user %q has unknown role %q", u.Subject, u.Role)
		}
		if _, dup := users[u.Subject]; dup {
			return nil, fmt.Errorf("devidp: demo user subject %q is used twice", u.Subject)
		}
		users[u.Subject] = u
	}
	return users, nil
}

// checkClients indexes the clients by id and checks their URIs are absolute.
func checkClients(list []Client, issuer string) (map[string]*client, error) {
	if len(list) == 0 {
		return nil, errors.New("devidp: no clients configured")
	}
	clients := make(map[string]*client, len(list))
	for _, c := range list {
		if c.ID == "" {
			return nil, errors.New("devidp: a client has no id")
		}
		if _, dup := clients[c.ID]; dup {
			return nil, fmt.Errorf("devidp: client id %q is used twice", c.ID)
		}
		if c.Secret == "" {
			return nil, fmt.Errorf("devidp: client %q has no secret", c.ID)
		}
		if len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("devidp: client %q has no redirect URI", c.ID)
		}
		for _, uri := range slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs) {
			if err := checkAbsoluteURL(uri); err != nil {
				return nil, fmt.Errorf("devidp: client %q: %w", c.ID, err)
			}
		}
		clients[c.ID] = &client{
			id:                     c.ID,
			secret:                 c.Secret,
			redirectURIs:           slices.Clone(c.RedirectURIs),
			postLogoutRedirectURIs: slices.Clone(c.PostLogoutRedirectURIs),
			loginURL:               issuer + loginPath,
		}
	}
	return clients, nil
}

func checkAbsoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse URI %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("URI %q is not an absolute http(s) URL", raw)
	}
	if u.Fragment != "" {
		return fmt.Errorf("URI %q has a fragment", raw)
	}
	return nil
}

// newSigningKey generates the RSA key that signs ID tokens for this run.
func newSigningKey() (*signingKey, error) {
	private, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generate signing key: %w", err)
	}
	return &signingKey{id: rand.Text(), private: private}, nil
}
