// Package oidctest runs a small OpenID provider for tests of the portal's
// login: an httptest server that speaks the authorization code flow with PKCE
// like the city's provider would, auto-approves a configurable user, and can be
// told to hand out a broken ID token so tests can prove the login rejects it.
//
// It is test support, not a provider: it keeps one client, approves without
// asking, and checks only what a client's bugs would trip over.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Fault is the way the provider's next ID tokens are broken.
type Fault int

// None gives correct ID tokens. Each other Fault must make a correct client
// refuse the login: WrongNonce by the client's own nonce comparison, the rest
// by ID token verification.
const (
	None          Fault = iota // a correct ID token
	WrongNonce                 // nonce differs from the one sent to authorize
	WrongAudience              // aud names another client
	Expired                    // exp (and iat) lie an hour in the past
	BadSignature               // signed with a key not in the JWKS
	WrongIssuer                // iss differs from the discovered issuer

	// Faults of the provider rather than of its tokens: each must make a
	// correct client tell the person that the login service is not
	// answering (or that they cancelled), not that their login was wrong.
	HangToken        // the token endpoint accepts the request and never answers
	HangKeys         // the JWKS endpoint accepts the request and never answers
	TokenServerError // the token endpoint answers 500
	DenyAccess       // authorize returns error=access_denied: the person cancelled
)

// String names the fault, for subtest names and messages.
func (f Fault) String() string {
	switch f {
	case None:
		return "None"
	case WrongNonce:
		return "WrongNonce"
	case WrongAudience:
		return "WrongAudience"
	case Expired:
		return "Expired"
	case BadSignature:
		return "BadSignature"
	case WrongIssuer:
		return "WrongIssuer"
	case HangToken:
		return "HangToken"
	case HangKeys:
		return "HangKeys"
	case TokenServerError:
		return "TokenServerError"
	case DenyAccess:
		return "DenyAccess"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Claims is the user the provider signs in, as it appears in the ID token and
// at userinfo. Roles go into the claim RoleClaim names; ACR, when set, is the
// acr claim (the assurance level of the login); Extra adds claims as they
// are, nested ones too (Keycloak's realm_access).
type Claims struct {
	Subject, Name, GivenName, FamilyName, Email, Region, PostalCode string
	Roles                                                           []string
	ACR                                                             string
	Extra                                                           map[string]any
}

// Provider is a running test OpenID provider with one registered client.
type Provider struct {
	URL, ClientID, ClientSecret string // the issuer and the one client's credentials

	tb          testing.TB
	redirectURI string
	key         *rsa.PrivateKey
	keyID       string

	mu      sync.Mutex
	fault   Fault
	user    Claims
	rogue   *rsa.PrivateKey  // signs under BadSignature; made on first use
	codes   map[string]grant // by code, until redeemed
	tokens  map[string]Claims
	logouts int

	rolesScope string // when set, roles are in tokens only for this scope
	noEndSess  bool   // discovery leaves out end_session_endpoint
	lastSID    string
	acrValues  string        // acr_values of the last authorize request
	stop       chan struct{} // closed at cleanup: hung handlers return
}

// grant is what authorize remembers for its code.
type grant struct {
	sid       string
	user      Claims
	nonce     string
	challenge string
	scope     string
	expires   time.Time
}

// Lifetimes are short: a test redeems a code at once, and the portal keeps
// its own session after login.
const (
	codeLifetime  = time.Minute
	tokenLifetime = 5 * time.Minute
)

// roleClaim names the claim listing the user's roles, as the city's provider
// is configured to.
const roleClaim = "roles"

// Paths of the endpoints the discovery document announces.
const (
	discoveryPath  = "/.well-known/openid-configuration"
	jwksPath       = "/jwks"
	authorizePath  = "/authorize"
	tokenPath      = "/token"
	userinfoPath   = "/userinfo"
	endSessionPath = "/end_session"
)

// New starts a provider that knows one client, clientID with clientSecret and
// the one redirectURI. Until SetUser is called it approves a resident,
// "test-resident". The test's Cleanup closes it.
func New(tb testing.TB, clientID, clientSecret string, redirectURI string) *Provider {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("oidctest: generate signing key: %v", err)
	}
	p := &Provider{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		tb:           tb,
		redirectURI:  redirectURI,
		key:          key,
		keyID:        rand.Text(),
		user: Claims{
			Subject: "test-resident", Name: "Testi Asukas", GivenName: "Testi", FamilyName: "Asukas",
			Email: "testi.asukas@example.test", PostalCode: "00100", Roles: []string{"resident"},
		},
		codes:  make(map[string]grant),
		tokens: make(map[string]Claims),
		stop:   make(chan struct{}),
	}
	srv := httptest.NewServer(p.routes())
	p.URL = srv.URL
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() { close(p.stop) }) // runs first: hung handlers end before Close waits for them
	return p
}

// hang holds a request until its client gives up or the test ends, as a
// provider that accepted the connection and then stalled.
func (p *Provider) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.stop:
	}
}

// SetRolesScope puts the roles claim into ID tokens only when scope was
// asked for, as Dex does with groups and Keycloak with its roles scope; ""
// puts it there always.
func (p *Provider) SetRolesScope(scope string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rolesScope = scope
}

// SetEndSession makes discovery announce end_session_endpoint (the
// default) or leave it out.
func (p *Provider) SetEndSession(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noEndSess = !on
}

// LastSID is the provider session id (sid) of the last code issued.
func (p *Provider) LastSID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastSID
}

// LastACRValues is the acr_values parameter of the last authorize request.
func (p *Provider) LastACRValues() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acrValues
}

// SetFault makes every ID token issued from now on carry f; None repairs them.
// Call it from the test's goroutine.
func (p *Provider) SetFault(f Fault) {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if f == BadSignature && p.rogue == nil {
		rogue, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			p.tb.Fatalf("oidctest: generate the key outside the JWKS: %v", err)
		}
		p.rogue = rogue
	}
	p.fault = f
}

// SetUser sets who authorize approves from now on. Codes already issued keep
// the user they were issued for.
func (p *Provider) SetUser(c Claims) {
	c.Roles = slices.Clone(c.Roles)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = c
}

// RoleClaim is the name of the ID token claim that lists the user's roles.
func (p *Provider) RoleClaim() string {
	return roleClaim
}

// Logouts is how many times end_session was called.
func (p *Provider) Logouts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logouts
}

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+discoveryPath, p.discovery)
	mux.HandleFunc("GET "+jwksPath, p.jwks)
	mux.HandleFunc("GET "+authorizePath, p.authorize)
	mux.HandleFunc("POST "+tokenPath, p.token)
	mux.HandleFunc(userinfoPath, p.userinfo)
	mux.HandleFunc(endSessionPath, p.endSession)
	return mux
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	doc := map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + authorizePath,
		"token_endpoint":                        p.URL + tokenPath,
		"userinfo_endpoint":                     p.URL + userinfoPath,
		"jwks_uri":                              p.URL + jwksPath,
		"end_session_endpoint":                  p.URL + endSessionPath,
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"claims_supported": []string{
			"iss", "sub", "aud", "exp", "iat", "nonce", "name", "given_name", "family_name",
			"email", "region", "postal_code", "sid", "acr", roleClaim,
		},
		"backchannel_logout_supported":         true,
		"backchannel_logout_session_supported": true,
	}
	p.mu.Lock()
	if p.noEndSess {
		delete(doc, "end_session_endpoint")
	}
	p.mu.Unlock()
	p.writeJSON(w, http.StatusOK, doc)
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	fault := p.fault
	p.mu.Unlock()
	if fault == HangKeys {
		p.hang(r)
		return
	}
	p.writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &p.key.PublicKey,
		KeyID:     p.keyID,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

// authorize approves the current user at once. A wrong client or redirect URI
// is answered here; any other mistake goes back to the client as an error
// redirect, as a real provider does.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID || q.Get("redirect_uri") != p.redirectURI {
		http.Error(w, "oidctest: unknown client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	switch {
	case q.Get("response_type") != "code":
		p.redirect(w, r, url.Values{"error": {"unsupported_response_type"}, "state": {state}})
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		p.redirect(w, r, url.Values{"error": {"invalid_scope"}, "state": {state}})
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		p.redirect(w, r, url.Values{"error": {"invalid_request"}, "error_description": {"PKCE S256 required"}, "state": {state}})
		return
	}

	p.mu.Lock()
	deny := p.fault == DenyAccess
	p.acrValues = q.Get("acr_values")
	p.mu.Unlock()
	if deny {
		p.redirect(w, r, url.Values{"error": {"access_denied"}, "state": {state}})
		return
	}

	code := rand.Text()
	sid := rand.Text()
	p.mu.Lock()
	user := p.user
	user.Roles = slices.Clone(user.Roles)
	p.lastSID = sid
	p.codes[code] = grant{
		sid:       sid,
		user:      user,
		nonce:     q.Get("nonce"),
		challenge: q.Get("code_challenge"),
		scope:     q.Get("scope"),
		expires:   time.Now().Add(codeLifetime),
	}
	p.mu.Unlock()
	p.redirect(w, r, url.Values{"code": {code}, "state": {state}})
}

// token redeems a code. The code is spent on the first attempt, good or bad,
// so a replay always gets invalid_grant.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	fault := p.fault
	p.mu.Unlock()
	switch fault {
	case HangToken:
		p.hang(r)
		return
	case TokenServerError:
		http.Error(w, "oidctest: internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.tokenError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	if !p.clientAuthenticated(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		p.tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		p.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}

	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, ok := p.codes[code]
	delete(p.codes, code)
	p.mu.Unlock()
	switch {
	case !ok || time.Now().After(g.expires):
		p.tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case r.PostForm.Get("redirect_uri") != p.redirectURI:
		p.tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from authorize")
		return
	case !pkceMatches(g.challenge, r.PostForm.Get("code_verifier")):
		p.tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
		return
	}

	idToken, err := p.idToken(g)
	if err != nil {
		p.tb.Errorf("oidctest: %v", err)
		p.tokenError(w, http.StatusInternalServerError, "server_error", "could not sign the ID token")
		return
	}
	accessToken := rand.Text()
	p.mu.Lock()
	p.tokens[accessToken] = g.user
	p.mu.Unlock()

	p.writeJSON(w, http.StatusOK, map[string]any{
		"access_token": accessToken,
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime.Seconds()),
		"id_token":     idToken,
		"scope":        g.scope,
	})
}

// userClaims is the user as the ID token and userinfo describe them.
type userClaims struct {
	Subject    string   `json:"sub"`
	Name       string   `json:"name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Email      string   `json:"email,omitempty"`
	Roles      []string `json:"roles,omitempty"` // the name RoleClaim returns
	Region     string   `json:"region,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
}

func claimsOf(c Claims) userClaims {
	return userClaims{
		Subject:    c.Subject,
		Name:       c.Name,
		GivenName:  c.GivenName,
		FamilyName: c.FamilyName,
		Email:      c.Email,
		Roles:      c.Roles,
		Region:     c.Region,
		PostalCode: c.PostalCode,
	}
}

// loginClaims are the ID token's claims about the login itself.
type loginClaims struct {
	Nonce    string `json:"nonce,omitempty"`
	AuthTime int64  `json:"auth_time"`
	SID      string `json:"sid,omitempty"`
	ACR      string `json:"acr,omitempty"`
}

// idToken signs the ID token for a redeemed code, broken as the current fault says.
func (p *Provider) idToken(g grant) (string, error) {
	p.mu.Lock()
	fault, rogue := p.fault, p.rogue
	p.mu.Unlock()

	now := time.Now()
	registered := jwt.Claims{
		Issuer:   p.URL,
		Subject:  g.user.Subject,
		Audience: jwt.Audience{p.ClientID},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(tokenLifetime)),
	}
	login := loginClaims{Nonce: g.nonce, AuthTime: now.Unix(), SID: g.sid, ACR: g.user.ACR}
	user := claimsOf(g.user)
	p.mu.Lock()
	if p.rolesScope != "" && !slices.Contains(strings.Fields(g.scope), p.rolesScope) {
		user.Roles = nil
	}
	p.mu.Unlock()
	key := p.key
	switch fault {
	case WrongNonce:
		login.Nonce = "not-" + g.nonce
	case WrongAudience:
		registered.Audience = jwt.Audience{"another-client"}
	case Expired:
		registered.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
		registered.Expiry = jwt.NewNumericDate(now.Add(-time.Hour))
	case BadSignature:
		// The real key's id is kept, so the client finds a key in the JWKS
		// and has to check the signature itself to notice.
		key = rogue
	case WrongIssuer:
		registered.Issuer = p.URL + "/elsewhere"
	}

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: p.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("make ID token signer: %w", err)
	}
	b := jwt.Signed(signer).Claims(user).Claims(login).Claims(registered)
	if len(g.user.Extra) > 0 {
		b = b.Claims(g.user.Extra)
	}
	token, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("sign ID token (fault %s): %w", fault, err)
	}
	return token, nil
}

// LogoutToken is what a back-channel logout token says. Zero fields take
// their correct values; Broken lists faults to build into it.
type LogoutToken struct {
	SID, Subject string
	JTI          string    // random when empty
	IssuedAt     time.Time // now when zero
	Audience     string    // the client when empty
	NoEvent      bool      // leave out the back-channel logout event
	Nonce        bool      // add a nonce, which a logout token must not have
	Rogue        bool      // sign with a key not in the JWKS
}

// LogoutToken signs a back-channel logout token for the portal's client.
func (p *Provider) LogoutToken(lt LogoutToken) string {
	p.tb.Helper()
	if lt.JTI == "" {
		lt.JTI = rand.Text()
	}
	if lt.IssuedAt.IsZero() {
		lt.IssuedAt = time.Now()
	}
	if lt.Audience == "" {
		lt.Audience = p.ClientID
	}
	key := p.key
	if lt.Rogue {
		rogue, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			p.tb.Fatalf("oidctest: rogue key: %v", err)
		}
		key = rogue
	}
	claims := map[string]any{
		"iss": p.URL, "aud": lt.Audience, "jti": lt.JTI,
		"iat": lt.IssuedAt.Unix(), "exp": lt.IssuedAt.Add(2 * time.Minute).Unix(),
	}
	if !lt.NoEvent {
		claims["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	}
	if lt.Nonce {
		claims["nonce"] = rand.Text()
	}
	if lt.SID != "" {
		claims["sid"] = lt.SID
	}
	if lt.Subject != "" {
		claims["sub"] = lt.Subject
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: p.keyID}},
		(&jose.SignerOptions{}).WithType("logout+jwt"),
	)
	if err != nil {
		p.tb.Fatalf("oidctest: logout token signer: %v", err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		p.tb.Fatalf("oidctest: sign logout token: %v", err)
	}
	return tok
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	p.mu.Lock()
	user, known := p.tokens[token]
	p.mu.Unlock()
	if !ok || !strings.EqualFold(scheme, "Bearer") || !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "oidctest: unknown access token", http.StatusUnauthorized)
		return
	}
	p.writeJSON(w, http.StatusOK, claimsOf(user))
}

// endSession counts the logout and returns to post_logout_redirect_uri when it
// is on the client's origin, with the state appended.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "oidctest: unreadable end_session request", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.logouts++
	p.mu.Unlock()

	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if _, err := fmt.Fprintln(w, "oidctest: logged out"); err != nil {
			p.tb.Logf("oidctest: write end_session page: %v", err)
		}
		return
	}
	back, err := url.Parse(target)
	registered, rerr := url.Parse(p.redirectURI)
	if err != nil || rerr != nil || back.Scheme != registered.Scheme || back.Host != registered.Host {
		http.Error(w, "oidctest: post_logout_redirect_uri is not on the client's origin", http.StatusBadRequest)
		return
	}
	if state := r.Form.Get("state"); state != "" {
		q := back.Query()
		q.Set("state", state)
		back.RawQuery = q.Encode()
	}
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// clientAuthenticated accepts client_secret_basic and client_secret_post.
// Basic credentials are form-encoded first (RFC 6749, section 2.3.1).
func (p *Provider) clientAuthenticated(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err error
		if id, err = url.QueryUnescape(id); err != nil {
			return false
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == p.ClientID && subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) == 1
}

// redirect sends the browser back to the client's redirect URI with params.
func (p *Provider) redirect(w http.ResponseWriter, r *http.Request, params url.Values) {
	back, err := url.Parse(p.redirectURI)
	if err != nil {
		http.Error(w, "oidctest: unparsable redirect URI", http.StatusInternalServerError)
		return
	}
	q := back.Query()
	for k, v := range params {
		if v[0] != "" {
			q[k] = v
		}
	}
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) tokenError(w http.ResponseWriter, status int, code, description string) {
	p.writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func (p *Provider) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		p.tb.Errorf("oidctest: encode response: %v", err)
		http.Error(w, "oidctest: encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		p.tb.Logf("oidctest: write response: %v", err)
	}
}

// pkceMatches checks an S256 code verifier against the challenge from authorize.
func pkceMatches(challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
