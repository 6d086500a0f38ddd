package oidctest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/oidctest"
)

const (
	clientID     = "portal-staff"
	clientSecret = "s3cret/with+odd=chars"
	redirectURI  = "http://portal.test/auth/callback"
)

var advisor = oidctest.Claims{
	Subject: "advisor-7", Name: "Eero Neuvoja", GivenName: "Eero", FamilyName: "Neuvoja",
	Email: "eero.neuvoja@example.test", Region: "east", PostalCode: "00930", Roles: []string{"advisor"},
}

// client is the portal's side: go-oidc discovery and verifier, x/oauth2 config.
type client struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	browser  *http.Client
}

func newClient(t *testing.T, p *oidctest.Provider) *client {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), p.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := provider.Endpoint()
	// Auto-detection would retry a refused exchange with the secret in the
	// body, spending a second attempt on the same code.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &client{
		provider: provider,
		oauth: oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: endpoint,
			RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: p.ClientID}),
		browser: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
}

// authorize runs authorize and returns the code the provider redirected with.
func (c *client) authorize(t *testing.T, state, nonce, pkceVerifier string) string {
	t.Helper()
	resp, err := c.browser.Get(c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkceVerifier)))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatalf("close authorize response: %v", err)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, Location %q (%v)", resp.StatusCode, resp.Header.Get("Location"), err)
	}
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("state = %q, want %q", got, state)
	}
	return back.Query().Get("code")
}

// Where a login can stop, in the order the portal checks.
const (
	passed   = ""
	exchange = "exchange"
	verify   = "verify"
	nonce    = "nonce"
)

// login runs the whole flow as the portal will and returns the verified ID
// token, or the step the portal would stop at and why.
func (c *client) login(ctx context.Context, t *testing.T) (*oidc.IDToken, *oauth2.Token, string, error) {
	t.Helper()
	const sentNonce = "expected-nonce"
	pkceVerifier := oauth2.GenerateVerifier()
	code := c.authorize(t, "state-1", sentNonce, pkceVerifier)
	token, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		return nil, nil, exchange, err
	}
	raw, ok := token.Extra("id_token").(string)
	if !ok {
		return nil, nil, exchange, errors.New("no id_token in the token response")
	}
	idToken, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, verify, err
	}
	if idToken.Nonce != sentNonce {
		return nil, nil, nonce, fmt.Errorf("nonce %q, sent %q", idToken.Nonce, sentNonce)
	}
	return idToken, token, passed, nil
}

func TestFaults(t *testing.T) {
	p := oidctest.New(t, clientID, clientSecret, redirectURI)
	p.SetUser(advisor)
	c := newClient(t, p)

	tests := []struct {
		fault    oidctest.Fault
		stopAt   string
		errorsAs any // when set, the error must be of this type
	}{
		{oidctest.None, passed, nil},
		{oidctest.WrongNonce, nonce, nil},
		{oidctest.WrongAudience, verify, nil},
		{oidctest.Expired, verify, new(*oidc.TokenExpiredError)},
		{oidctest.BadSignature, verify, nil},
		{oidctest.WrongIssuer, verify, nil},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			p.SetFault(tt.fault)
			idToken, token, stoppedAt, err := c.login(t.Context(), t)
			if stoppedAt != tt.stopAt {
				t.Fatalf("login stopped at %q (%v), want %q", stoppedAt, err, tt.stopAt)
			}
			if tt.errorsAs != nil && !errors.As(err, tt.errorsAs) {
				t.Fatalf("login error = %v (%T), want %T", err, err, tt.errorsAs)
			}
			if tt.stopAt != passed {
				return
			}
			var got struct {
				Subject string   `json:"sub"`
				Email   string   `json:"email"`
				Region  string   `json:"region"`
				Postal  string   `json:"postal_code"`
				Roles   []string `json:"roles"`
			}
			if err := idToken.Claims(&got); err != nil {
				t.Fatalf("claims: %v", err)
			}
			if got.Subject != advisor.Subject || got.Email != advisor.Email || got.Region != advisor.Region ||
				got.Postal != advisor.PostalCode || !slices.Equal(got.Roles, advisor.Roles) {
				t.Errorf("ID token claims = %+v, want %+v", got, advisor)
			}
			info, err := c.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(token))
			if err != nil || info.Subject != advisor.Subject {
				t.Errorf("userinfo = %+v, %v; want subject %q", info, err, advisor.Subject)
			}
		})
	}
}

func TestTokenRejected(t *testing.T) {
	p := oidctest.New(t, clientID, clientSecret, redirectURI)
	c := newClient(t, p)

	tests := []struct {
		name     string
		exchange func(ctx context.Context, code, pkceVerifier string) error
		want     string
	}{
		{"replayed code", func(ctx context.Context, code, v string) error {
			if _, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(v)); err != nil {
				return err
			}
			_, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(v))
			return err
		}, "invalid_grant"},
		{"wrong PKCE verifier", func(ctx context.Context, code, _ string) error {
			_, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
			return err
		}, "invalid_grant"},
		{"wrong client secret", func(ctx context.Context, code, v string) error {
			wrong := c.oauth
			wrong.ClientSecret = "guess"
			_, err := wrong.Exchange(ctx, code, oauth2.VerifierOption(v))
			return err
		}, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := oauth2.GenerateVerifier()
			code := c.authorize(t, "state", "nonce", v)
			err := tt.exchange(t.Context(), code, v)
			var rerr *oauth2.RetrieveError
			if !errors.As(err, &rerr) || rerr.ErrorCode != tt.want {
				t.Fatalf("exchange error = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestEndSession(t *testing.T) {
	p := oidctest.New(t, clientID, clientSecret, redirectURI)
	c := newClient(t, p)
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := c.provider.Claims(&meta); err != nil {
		t.Fatalf("discovery: %v", err)
	}

	q := url.Values{"post_logout_redirect_uri": {"http://portal.test/"}, "state": {"bye"}}
	resp, err := c.browser.Get(meta.EndSession + "?" + q.Encode())
	if err != nil {
		t.Fatalf("end_session: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatalf("close end_session response: %v", err)
	}
	if got, want := resp.Header.Get("Location"), "http://portal.test/?state=bye"; resp.StatusCode != http.StatusFound || got != want {
		t.Errorf("end_session: status %d, Location %q; want 302 to %q", resp.StatusCode, got, want)
	}
	if p.Logouts() != 1 {
		t.Errorf("Logouts() = %d, want 1", p.Logouts())
	}
	if p.RoleClaim() != "roles" {
		t.Errorf("RoleClaim() = %q, want roles", p.RoleClaim())
	}
}
