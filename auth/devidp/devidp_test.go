package devidp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/devidp"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
)

const (
	clientID          = "portal"
	clientSecret      = "portal-dev-secret"
	redirectURI       = "http://portal.test/auth/callback"
	postLogoutURI     = "http://portal.test/"
	clientHost        = "portal.test" // never contacted: the browser stops at redirects to it
	roleClaim         = "roles"
	pickerTitle       = "Kehitystunnistus / Development login — valitse demokäyttäjä / choose a demo user"
	loggedOutHeading  = "Olet kirjautunut ulos"
	invalidGrant      = "invalid_grant"
	invalidRequest    = "invalid_request"
	loginRequired     = "login_required"
	notLoopbackReason = "not a loopback address"
)

var demoUsers = []devidp.User{
	{
		Subject: "resident-aino", Name: "Aino Asukas", GivenName: "Aino", FamilyName: "Asukas",
		Email: "aino.asukas@example.test", Role: "resident", PostalCode: "00940", Title: "Asukas, Kontula",
	},
	{
		Subject: "advisor-east-eero", Name: "Eero Neuvoja", GivenName: "Eero", FamilyName: "Neuvoja",
		Email: "eero.neuvoja@example.test", Role: "advisor", Region: "east", PostalCode: "00930", Title: "Asumisneuvoja, Itä",
	},
	{
		Subject: "advisor-west-liisa", Name: "Liisa Länsi", GivenName: "Liisa", FamilyName: "Länsi",
		Email: "liisa.lansi@example.test", Role: "advisor", Region: "west", Title: "Asumisneuvoja, Länsi",
	},
	{
		Subject: "admin-anna", Name: "Anna Ylläpitäjä", GivenName: "Anna", FamilyName: "Ylläpitäjä",
		Email: "anna.yllapitaja@example.test", Role: "admin", Title: "Ylläpitäjä",
	},
}

// env is a running provider and a client configured the way the portal
// configures go-oidc and x/oauth2.
type env struct {
	issuer   string
	clock    *clocktest.Clock
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	browser  *http.Client // keeps cookies, follows redirects until the client's host
}

func startEnv(t *testing.T) *env {
	t.Helper()
	return startEnvAt(t, "")
}

// startEnvAt runs the provider with Start when prefix is empty, otherwise
// mounts its Handler under prefix on a test server, as a portal serving it
// on its own listener would.
func startEnvAt(t *testing.T, prefix string) *env {
	t.Helper()
	clk := clocktest.New(time.Now())
	cfg := devidp.Config{
		Users: demoUsers,
		Clients: []devidp.Client{{
			ID: clientID, Secret: clientSecret,
			RedirectURIs:           []string{redirectURI},
			PostLogoutRedirectURIs: []string{postLogoutURI},
		}},
		RoleClaim: roleClaim,
		Now:       clk.Now,
	}

	var issuer string
	if prefix == "" {
		srv, err := devidp.Start("127.0.0.1:0", cfg)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
		issuer = srv.URL()
	} else {
		srv := httptest.NewUnstartedServer(nil)
		cfg.Issuer = "http://" + srv.Listener.Addr().String() + prefix
		p, err := devidp.New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		srv.Config.Handler = http.StripPrefix(prefix, p.Handler())
		srv.Start()
		t.Cleanup(srv.Close)
		issuer = cfg.Issuer
	}

	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	return &env{
		issuer:   issuer,
		clock:    clk,
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     headerAuth(provider.Endpoint()),
			RedirectURL:  redirectURI,
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		browser: &http.Client{
			Jar: jar,
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				if req.URL.Host == clientHost {
					return http.ErrUseLastResponse
				}
				return nil
			},
		},
	}
}

var (
	hiddenID   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// picker is the picker page a browser reached from authorize.
type picker struct {
	body      string
	header    http.Header
	requestID string
	csrf      string
}

// openPicker starts an authorization request and follows it to the picker.
func (e *env) openPicker(t *testing.T, state, nonce, pkceVerifier string) picker {
	t.Helper()
	authURL := e.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkceVerifier))
	status, header, body := get(t, e.browser, authURL)
	if status != http.StatusOK {
		t.Fatalf("authorize: status %d, want the picker page; body: %s", status, body)
	}
	id, csrf := hiddenID.FindStringSubmatch(body), hiddenCSRF.FindStringSubmatch(body)
	if id == nil || csrf == nil {
		t.Fatalf("picker page lacks the id or csrf field: %s", body)
	}
	return picker{body: body, header: header, requestID: id[1], csrf: csrf[1]}
}

// pick posts the picker form and returns the response, not following a
// redirect to the client.
func (e *env) pick(t *testing.T, browser *http.Client, form url.Values) *http.Response {
	t.Helper()
	resp, err := browser.PostForm(e.issuer+"/login", form)
	if err != nil {
		t.Fatalf("post picker form: %v", err)
	}
	t.Cleanup(func() { closeBody(t, resp) })
	return resp
}

// login runs authorize → picker → pick and returns the code the client got.
func (e *env) login(t *testing.T, subject, state, nonce, pkceVerifier string) string {
	t.Helper()
	p := e.openPicker(t, state, nonce, pkceVerifier)
	resp := e.pick(t, e.browser, url.Values{"id": {p.requestID}, "csrf": {p.csrf}, "user": {subject}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("pick: status %d, want a redirect to the client", resp.StatusCode)
	}
	back := location(t, resp)
	if back.Host != clientHost || back.Path != "/auth/callback" {
		t.Fatalf("pick redirected to %s, want the registered redirect URI", back)
	}
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("callback state = %q, want %q", got, state)
	}
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("callback %s has no code", back)
	}
	return code
}

// redeem exchanges a code and reports only whether that worked.
func (e *env) redeem(ctx context.Context, code, pkceVerifier string) error {
	_, _, _, err := e.exchange(ctx, code, pkceVerifier)
	return err
}

// exchange redeems a code as the portal does and returns the verified ID token.
func (e *env) exchange(ctx context.Context, code, pkceVerifier string) (*oauth2.Token, *oidc.IDToken, string, error) {
	token, err := e.oauth.Exchange(ctx, code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		return nil, nil, "", err
	}
	raw, ok := token.Extra("id_token").(string)
	if !ok {
		return nil, nil, "", errors.New("token response has no id_token")
	}
	idToken, err := e.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, "", err
	}
	return token, idToken, raw, nil
}

type idClaims struct {
	Subject    string   `json:"sub"`
	Name       string   `json:"name"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	Email      string   `json:"email"`
	Roles      []string `json:"roles"`
	Region     string   `json:"region"`
	PostalCode string   `json:"postal_code"`
}

func TestDiscovery(t *testing.T) {
	e := startEnv(t)

	var doc struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		UserinfoEndpoint      string   `json:"userinfo_endpoint"`
		JWKSURI               string   `json:"jwks_uri"`
		EndSessionEndpoint    string   `json:"end_session_endpoint"`
		SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		ResponseTypes         []string `json:"response_types_supported"`
		Claims                []string `json:"claims_supported"`
	}
	if err := e.provider.Claims(&doc); err != nil {
		t.Fatalf("discovery claims: %v", err)
	}
	if doc.Issuer != e.issuer {
		t.Errorf("issuer = %q, want %q", doc.Issuer, e.issuer)
	}
	for name, endpoint := range map[string]string{
		"authorization_endpoint": doc.AuthorizationEndpoint,
		"token_endpoint":         doc.TokenEndpoint,
		"userinfo_endpoint":      doc.UserinfoEndpoint,
		"jwks_uri":               doc.JWKSURI,
		"end_session_endpoint":   doc.EndSessionEndpoint,
	} {
		if !strings.HasPrefix(endpoint, e.issuer+"/") {
			t.Errorf("%s = %q, want an URL under the issuer", name, endpoint)
		}
	}
	for _, want := range []struct {
		name string
		list []string
		item string
	}{
		{"id_token_signing_alg_values_supported", doc.SigningAlgs, "RS256"},
		{"code_challenge_methods_supported", doc.CodeChallengeMethods, "S256"},
		{"response_types_supported", doc.ResponseTypes, "code"},
		{"claims_supported", doc.Claims, roleClaim},
	} {
		if !slices.Contains(want.list, want.item) {
			t.Errorf("%s = %v, want it to contain %q", want.name, want.list, want.item)
		}
	}

	status, _, body := get(t, http.DefaultClient, doc.JWKSURI)
	if status != http.StatusOK || !strings.Contains(body, `"kty":"RSA"`) {
		t.Errorf("JWKS: status %d, body %s; want one RSA key", status, body)
	}
}

func TestLoginFlow(t *testing.T) {
	mounts := []struct{ name, prefix string }{
		{"Start", ""},
		{"Handler under a path", "/devidp"},
	}
	tests := []struct {
		subject string
		want    idClaims
	}{
		{"resident-aino", idClaims{
			Subject: "resident-aino", Name: "Aino Asukas", GivenName: "Aino", FamilyName: "Asukas",
			Email: "aino.asukas@example.test", Roles: []string{"resident"}, PostalCode: "00940",
		}},
		{"advisor-east-eero", idClaims{
			Subject: "advisor-east-eero", Name: "Eero Neuvoja", GivenName: "Eero", FamilyName: "Neuvoja",
			Email: "eero.neuvoja@example.test", Roles: []string{"advisor"}, Region: "east", PostalCode: "00930",
		}},
		{"admin-anna", idClaims{
			Subject: "admin-anna", Name: "Anna Ylläpitäjä", GivenName: "Anna", FamilyName: "Ylläpitäjä",
			Email: "anna.yllapitaja@example.test", Roles: []string{"admin"},
		}},
	}
	for _, m := range mounts {
		e := startEnvAt(t, m.prefix)
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.subject, func(t *testing.T) {
				nonce, pkceVerifier := "nonce-"+tt.subject, oauth2.GenerateVerifier()
				code := e.login(t, tt.subject, "state-"+tt.subject, nonce, pkceVerifier)

				token, idToken, _, err := e.exchange(t.Context(), code, pkceVerifier)
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				if idToken.Nonce != nonce {
					t.Errorf("nonce = %q, want %q", idToken.Nonce, nonce)
				}
				if !slices.Equal(idToken.Audience, []string{clientID}) {
					t.Errorf("aud = %v, want [%s]", idToken.Audience, clientID)
				}
				if idToken.Issuer != e.issuer {
					t.Errorf("iss = %q, want %q", idToken.Issuer, e.issuer)
				}
				var got idClaims
				if err := idToken.Claims(&got); err != nil {
					t.Fatalf("ID token claims: %v", err)
				}
				if !equalClaims(got, tt.want) {
					t.Errorf("ID token claims = %+v, want %+v", got, tt.want)
				}

				info, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(token))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				var fromUserinfo idClaims
				if err := info.Claims(&fromUserinfo); err != nil {
					t.Fatalf("userinfo claims: %v", err)
				}
				if !equalClaims(fromUserinfo, tt.want) {
					t.Errorf("userinfo claims = %+v, want %+v", fromUserinfo, tt.want)
				}
			})
		}
	}
}

func TestCodeRejected(t *testing.T) {
	e := startEnv(t)

	tests := []struct {
		name string
		// redeem misuses a fresh code issued for pkceVerifier and returns
		// the error of the exchange that must fail.
		redeem func(t *testing.T, code, pkceVerifier string) error
	}{
		{"wrong PKCE verifier", func(t *testing.T, code, _ string) error {
			return e.redeem(t.Context(), code, oauth2.GenerateVerifier())
		}},
		{"right verifier after a wrong one", func(t *testing.T, code, pkceVerifier string) error {
			if err := e.redeem(t.Context(), code, oauth2.GenerateVerifier()); err == nil {
				t.Fatal("exchange with a wrong verifier succeeded")
			}
			return e.redeem(t.Context(), code, pkceVerifier)
		}},
		{"replayed code", func(t *testing.T, code, pkceVerifier string) error {
			if err := e.redeem(t.Context(), code, pkceVerifier); err != nil {
				t.Fatalf("first exchange: %v", err)
			}
			return e.redeem(t.Context(), code, pkceVerifier)
		}},
		{"expired code", func(t *testing.T, code, pkceVerifier string) error {
			e.clock.Add(2 * time.Minute)
			return e.redeem(t.Context(), code, pkceVerifier)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkceVerifier := oauth2.GenerateVerifier()
			code := e.login(t, "resident-aino", "state", "nonce", pkceVerifier)
			err := tt.redeem(t, code, pkceVerifier)
			var rerr *oauth2.RetrieveError
			if !errors.As(err, &rerr) || rerr.ErrorCode != invalidGrant {
				t.Fatalf("exchange error = %v, want %s", err, invalidGrant)
			}
		})
	}
}

func TestAuthorizeRejected(t *testing.T) {
	e := startEnv(t)
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())

	tests := []struct {
		name string
		opts []oauth2.AuthCodeOption
		// wantError is the error the client is sent back with; "" means
		// the provider must answer itself, without redirecting anywhere.
		wantError string
	}{
		{"unknown redirect_uri", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("redirect_uri", "http://evil.test/callback")}, ""},
		{"unknown client", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("client_id", "stranger")}, ""},
		{"no PKCE", nil, invalidRequest},
		{"plain PKCE", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"),
		}, invalidRequest},
		{"prompt=none", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("prompt", "none")}, loginRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirects.Get(e.oauth.AuthCodeURL("state-1", tt.opts...))
			if err != nil {
				t.Fatalf("authorize: %v", err)
			}
			defer closeBody(t, resp)

			if tt.wantError == "" {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("authorize: status %d, Location %q; want 400 and no redirect",
						resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("authorize: status %d, want an error redirect", resp.StatusCode)
			}
			back := location(t, resp)
			if back.Host != clientHost || back.Query().Get("error") != tt.wantError || back.Query().Get("state") != "state-1" {
				t.Fatalf("authorize redirected to %s, want the client with error=%s and the state", back, tt.wantError)
			}
		})
	}
}

func TestPickerPage(t *testing.T) {
	e := startEnv(t)
	p := e.openPicker(t, "state", "nonce", oauth2.GenerateVerifier())

	if !strings.Contains(p.body, "<title>"+pickerTitle+"</title>") {
		t.Errorf("picker page lacks the title %q", pickerTitle)
	}
	if !strings.Contains(p.body, "Development only") || !strings.Contains(p.body, "Vain kehityskäyttöön") {
		t.Error("picker page does not say it is for development only")
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want framing refused", csp)
	}
	// Sections in order: residents, advisors by region (west before east), admins.
	order := []string{"Aino Asukas", "Asumisneuvojat, Länsi", "Liisa Länsi", "Asumisneuvojat, Itä", "Eero Neuvoja", "Ylläpitäjät", "Anna Ylläpitäjä"}
	last := -1
	for _, s := range order {
		i := strings.Index(p.body, s)
		if i < 0 {
			t.Errorf("picker page lacks %q", s)
			continue
		}
		if i < last {
			t.Errorf("%q is out of order on the picker page", s)
		}
		last = i
	}

	status, header, _ := get(t, http.DefaultClient, e.issuer+"/static/devidp.css")
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: status %d, Content-Type %q", status, header.Get("Content-Type"))
	}
}

func TestPickRejected(t *testing.T) {
	e := startEnv(t)
	cookieless := &http.Client{CheckRedirect: e.browser.CheckRedirect}

	tests := []struct {
		name       string
		browser    func() *http.Client
		form       func(p picker) url.Values
		wantStatus int
	}{
		{"wrong form token", func() *http.Client { return e.browser }, func(p picker) url.Values {
			return url.Values{"id": {p.requestID}, "csrf": {"forged"}, "user": {"admin-anna"}}
		}, http.StatusForbidden},
		{"no cookie", func() *http.Client { return cookieless }, func(p picker) url.Values {
			return url.Values{"id": {p.requestID}, "csrf": {p.csrf}, "user": {"admin-anna"}}
		}, http.StatusForbidden},
		{"unknown user", func() *http.Client { return e.browser }, func(p picker) url.Values {
			return url.Values{"id": {p.requestID}, "csrf": {p.csrf}, "user": {"nobody"}}
		}, http.StatusBadRequest},
		{"unknown auth request", func() *http.Client { return e.browser }, func(p picker) url.Values {
			return url.Values{"id": {"no-such-request"}, "csrf": {p.csrf}, "user": {"admin-anna"}}
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.openPicker(t, "state", "nonce", oauth2.GenerateVerifier())
			resp := e.pick(t, tt.browser(), tt.form(p))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("pick: status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}

	t.Run("second pick of a completed request", func(t *testing.T) {
		p := e.openPicker(t, "state", "nonce", oauth2.GenerateVerifier())
		form := url.Values{"id": {p.requestID}, "csrf": {p.csrf}, "user": {"resident-aino"}}
		if resp := e.pick(t, e.browser, form); resp.StatusCode != http.StatusFound {
			t.Fatalf("first pick: status %d, want a redirect", resp.StatusCode)
		}
		if resp := e.pick(t, e.browser, form); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("second pick: status %d, want 400", resp.StatusCode)
		}
	})
}

func TestEndSession(t *testing.T) {
	e := startEnv(t)
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := e.provider.Claims(&meta); err != nil {
		t.Fatalf("discovery claims: %v", err)
	}

	tests := []struct {
		name           string
		postLogout     string
		wantStatus     int
		wantLocation   string // prefix; "" means none expected
		wantBodyPhrase string
	}{
		{"registered post_logout_redirect_uri", postLogoutURI, http.StatusFound, postLogoutURI + "?state=bye", ""},
		{"unregistered post_logout_redirect_uri", "http://evil.test/", http.StatusBadRequest, "", ""},
		{"no post_logout_redirect_uri", "", http.StatusOK, "", loggedOutHeading},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkceVerifier := oauth2.GenerateVerifier()
			code := e.login(t, "advisor-east-eero", "state", "nonce", pkceVerifier)
			token, _, rawIDToken, err := e.exchange(t.Context(), code, pkceVerifier)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}

			q := url.Values{"id_token_hint": {rawIDToken}, "state": {"bye"}}
			if tt.postLogout != "" {
				q.Set("post_logout_redirect_uri", tt.postLogout)
			}
			resp, err := e.browser.Get(meta.EndSession + "?" + q.Encode())
			if err != nil {
				t.Fatalf("end_session: %v", err)
			}
			defer closeBody(t, resp)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read end_session response: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("end_session: status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Location"); !strings.HasPrefix(got, tt.wantLocation) || (tt.wantLocation == "" && got != "") {
				t.Errorf("end_session Location = %q, want %q", got, tt.wantLocation)
			}
			if !strings.Contains(string(body), tt.wantBodyPhrase) {
				t.Errorf("end_session page lacks %q", tt.wantBodyPhrase)
			}

			_, err = e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(token))
			if loggedOut := tt.wantStatus != http.StatusBadRequest; loggedOut == (err == nil) {
				t.Errorf("userinfo after end_session: err = %v, want the access token revoked only by a logout", err)
			}
		})
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	cfg := devidp.Config{
		Users:   demoUsers,
		Clients: []devidp.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}},
	}
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.10:8081", "portal.example.org:8081"} {
		t.Run(addr, func(t *testing.T) {
			srv, err := devidp.Start(addr, cfg)
			if err == nil {
				if cerr := srv.Close(); cerr != nil {
					t.Errorf("Close: %v", cerr)
				}
				t.Fatalf("Start(%q) succeeded, want it refused", addr)
			}
			if !errors.Is(err, devidp.ErrNotLoopback) {
				t.Fatalf("Start(%q) error = %v, want %s", addr, err, notLoopbackReason)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() devidp.Config {
		return devidp.Config{
			Issuer:  "http://127.0.0.1:8081",
			Users:   slices.Clone(demoUsers),
			Clients: []devidp.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}},
		}
	}
	tests := []struct {
		name   string
		mutate func(*devidp.Config)
	}{
		{"issuer with trailing slash", func(c *devidp.Config) { c.Issuer += "/" }},
		{"issuer not a URL", func(c *devidp.Config) { c.Issuer = "127.0.0.1:8081" }},
		{"no users", func(c *devidp.Config) { c.Users = nil }},
		{"duplicate subject", func(c *devidp.Config) { c.Users = append(c.Users, c.Users[0]) }},
		{"unknown role", func(c *devidp.Config) { c.Users[0].Role = "superuser" }},
		{"client without secret", func(c *devidp.Config) { c.Clients[0].Secret = "" }},
		{"client without redirect URI", func(c *devidp.Config) { c.Clients[0].RedirectURIs = nil }},
		{"relative redirect URI", func(c *devidp.Config) { c.Clients[0].RedirectURIs = []string{"/callback"} }},
		{"role claim overwriting sub", func(c *devidp.Config) { c.RoleClaim = "sub" }},
	}
	if _, err := devidp.New(good()); err != nil {
		t.Fatalf("New with a good config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.mutate(&cfg)
			if _, err := devidp.New(cfg); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// headerAuth fixes how the client sends its secret. Left to auto-detect,
// x/oauth2 retries a failed exchange with the secret in the body, which would
// spend a second attempt on a code the provider already refused.
func headerAuth(e oauth2.Endpoint) oauth2.Endpoint {
	e.AuthStyle = oauth2.AuthStyleInHeader
	return e
}

func equalClaims(a, b idClaims) bool {
	return a.Subject == b.Subject && a.Name == b.Name && a.GivenName == b.GivenName &&
		a.FamilyName == b.FamilyName && a.Email == b.Email && slices.Equal(a.Roles, b.Roles) &&
		a.Region == b.Region && a.PostalCode == b.PostalCode
}

func get(t *testing.T, c *http.Client, rawURL string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer closeBody(t, resp)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", rawURL, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func location(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location %q: %v", resp.Header.Get("Location"), err)
	}
	return u
}

func closeBody(t *testing.T, resp *http.Response) {
	t.Helper()
	if err := resp.Body.Close(); err != nil {
		t.Errorf("close response body: %v", err)
	}
}
