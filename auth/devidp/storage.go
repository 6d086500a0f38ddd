package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Compile-time checks that storage is everything the op package asks of it.
var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
	_ op.AuthRequest               = (*authRequest)(nil)
	_ op.Client                    = (*client)(nil)
	_ op.SigningKey                = (*signingKey)(nil)
	_ op.Key                       = (*publicKey)(nil)
)

var (
	errUnknownRequest = errors.New("devidp: unknown or expired auth request")
	errRequestDone    = errors.New("devidp: auth request already completed")
	errBadCSRF        = errors.New("devidp: login form token does not match")
	errUnknownUser    = errors.New("devidp: unknown demo user")
	errUnknownCode    = errors.New("devidp: unknown, used or expired code")
	errUnknownToken   = errors.New("devidp: unknown or expired access token")
	errUnknownClient  = errors.New("devidp: unknown client")
	errBadSecret      = errors.New("devidp: wrong client secret")
	errUnsupported    = errors.New("devidp: not supported by the development provider")
)

// storage is the provider's in-memory state behind the op.Storage interface.
// Everything mutable is guarded by mu; users, clients and the key never change
// after New.
type storage struct {
	now       func() time.Time
	roleClaim string
	key       *signingKey
	users     map[string]User
	clients   map[string]*client

	mu       sync.Mutex
	requests map[string]*authRequest // by auth request id
	codes    map[string]issuedCode   // by code
	tokens   map[string]accessToken  // by access token id
}

type issuedCode struct {
	requestID string
	expires   time.Time
}

type accessToken struct {
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

func newStorage(now func() time.Time, roleClaim string, key *signingKey, users map[string]User, clients map[string]*client) *storage {
	return &storage{
		now:       now,
		roleClaim: roleClaim,
		key:       key,
		users:     users,
		clients:   clients,
		requests:  make(map[string]*authRequest),
		codes:     make(map[string]issuedCode),
		tokens:    make(map[string]accessToken),
	}
}

// CreateAuthRequest stores a validated authorization request. It is also where
// the provider's own rules are enforced: PKCE with S256 for every client, and
// no prompt=none, as there is no session to reuse.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("the development provider keeps no session; a demo user must be picked")
	}
	id, csrf := rand.Text(), rand.Text()
	now := s.now()
	ar := &authRequest{
		id:           id,
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone(req.Scopes),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		challenge:    &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod},
		csrf:         csrf,
		expires:      now.Add(authRequestLifetime),
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.requests[id] = ar
	return ar.snapshot(), nil
}

// AuthRequestByID returns a copy of a live auth request, so the op package
// never reads fields another request is writing.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.liveRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return ar.snapshot(), nil
}

// AuthRequestByCode redeems a code. The code is forgotten on first use, whether
// the exchange then succeeds or not, so a replay or a second guess at the PKCE
// verifier always fails.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	issued, ok := s.codes[code]
	delete(s.codes, code)
	if !ok || !s.now().Before(issued.expires) {
		return nil, errUnknownCode
	}
	ar, err := s.liveRequestLocked(issued.requestID)
	if err != nil {
		return nil, fmt.Errorf("redeem code: %w", err)
	}
	return ar.snapshot(), nil
}

// SaveAuthCode records the code issued for a completed auth request. A request
// yields one code only: a second visit to the callback cannot mint another.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.liveRequestLocked(id)
	if err != nil {
		return fmt.Errorf("save code: %w", err)
	}
	if !ar.done {
		return errors.New("devidp: save code: no user picked yet")
	}
	if ar.codeIssued {
		return errors.New("devidp: save code: a code was already issued for this auth request")
	}
	ar.codeIssued = true
	s.codes[code] = issuedCode{requestID: id, expires: s.now().Add(codeLifetime)}
	return nil
}

// DeleteAuthRequest forgets a request once its tokens are issued.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	return nil
}

// CreateAccessToken records an opaque access token for the userinfo endpoint.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	id := rand.Text()
	clientID := ""
	if ar, ok := req.(op.AuthRequest); ok {
		clientID = ar.GetClientID()
	}
	now := s.now()
	expires := now.Add(accessTokenLifetime)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = accessToken{
		subject:  req.GetSubject(),
		clientID: clientID,
		scopes:   slices.Clone(req.GetScopes()),
		expires:  expires,
	}
	return id, expires, nil
}

// CreateAccessAndRefreshTokens is never reached: no client has the
// refresh_token grant.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, fmt.Errorf("refresh tokens: %w", errUnsupported)
}

// TokenRequestByRefreshToken is never reached: no refresh tokens are issued.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, fmt.Errorf("refresh tokens: %w", errUnsupported)
}

// TerminateSession revokes the user's access tokens for the client, or for
// every client when end_session named none. There is no login session to end:
// every sign-in goes through the picker.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	if userID == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.DeleteFunc(s.tokens, func(_ string, t accessToken) bool {
		return t.subject == userID && (clientID == "" || t.clientID == clientID)
	})
	return nil
}

// RevokeToken revokes an access token the client holds. An unknown token is
// not an error (RFC 7009, section 2.2).
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
	}
	delete(s.tokens, tokenID)
	return nil
}

// GetRefreshTokenInfo reports every token as not a refresh token: none are issued.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey returns the key that signs ID tokens.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.key, nil
}

// SignatureAlgorithms lists the one algorithm the provider signs with.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet is the JWKS: the public half of the signing key.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key}}, nil
}

// GetClientByClientID returns a registered client.
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("%w %q", errUnknownClient, clientID)
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	c, ok := s.clients[clientID]
	if !ok {
		return fmt.Errorf("%w %q", errUnknownClient, clientID)
	}
	if subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return fmt.Errorf("%w for client %q", errBadSecret, clientID)
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the op package; SetUserinfoFromRequest
// fills the ID token instead.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts every claim of the demo user into the ID token,
// whatever the scopes: the portal reads the ID token, not userinfo.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	return s.fillUserinfo(info, req.GetSubject())
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access token.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	if _, err := s.liveToken(tokenID, subject); err != nil {
		return err
	}
	return s.fillUserinfo(info, subject)
}

// SetIntrospectionFromToken describes a live access token to the client it
// was issued to; any other token is reported inactive by the op package.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil {
		return err
	}
	if t.clientID != clientID {
		return fmt.Errorf("introspect token of client %q as %q: %w", t.clientID, clientID, errUnknownToken)
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(info, subject); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.ClientID = t.clientID
	resp.Scope = t.scopes
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque, not JWTs.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is for JWT client authentication, which no client uses.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, fmt.Errorf("JWT profile: %w", errUnsupported)
}

// ValidateJWTProfileScopes is for the JWT profile grant, which is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, fmt.Errorf("JWT profile: %w", errUnsupported)
}

// Health reports the in-memory storage as always ready.
func (s *storage) Health(context.Context) error {
	return nil
}

// pendingLogin returns what the picker page needs of an auth request that is
// still waiting for a user.
func (s *storage) pendingLogin(id string) (clientID, csrf string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.liveRequestLocked(id)
	if err != nil {
		return "", "", err
	}
	if ar.done {
		return "", "", errRequestDone
	}
	return ar.clientID, ar.csrf, nil
}

// completeLogin marks the auth request as done for the picked user. Both the
// form field and the cookie must carry the request's token: the form proves
// the post came from the picker page, the cookie that it came from the browser
// the page was served to.
func (s *storage) completeLogin(id, formToken, cookieToken, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.liveRequestLocked(id)
	if err != nil {
		return err
	}
	if ar.done {
		return errRequestDone
	}
	if !tokensEqual(ar.csrf, formToken) || !tokensEqual(ar.csrf, cookieToken) {
		return errBadCSRF
	}
	if _, ok := s.users[subject]; !ok {
		return errUnknownUser
	}
	ar.done = true
	ar.subject = subject
	ar.authTime = s.now()
	return nil
}

func (s *storage) liveRequestLocked(id string) (*authRequest, error) {
	ar, ok := s.requests[id]
	if !ok || !s.now().Before(ar.expires) {
		return nil, errUnknownRequest
	}
	return ar, nil
}

func (s *storage) liveToken(tokenID, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok || t.subject != subject || !s.now().Before(t.expires) {
		return accessToken{}, errUnknownToken
	}
	return t, nil
}

// sweepLocked drops whatever has expired, so abandoned logins do not pile up.
func (s *storage) sweepLocked(now time.Time) {
	maps.DeleteFunc(s.requests, func(_ string, ar *authRequest) bool { return !now.Before(ar.expires) })
	maps.DeleteFunc(s.codes, func(_ string, c issuedCode) bool { return !now.Before(c.expires) })
	maps.DeleteFunc(s.tokens, func(_ string, t accessToken) bool { return !now.Before(t.expires) })
}

func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string) error {
	u, ok := s.users[subject]
	if !ok {
		return fmt.Errorf("%w %q", errUnknownUser, subject)
	}
	info.Subject = u.Subject
	info.Name = u.Name
	info.GivenName = u.GivenName
	info.FamilyName = u.FamilyName
	info.Email = u.Email
	info.EmailVerified = u.Email != ""
	info.AppendClaims(s.roleClaim, []string{u.Role})
	if u.Region != "" {
		info.AppendClaims("region", u.Region)
	}
	if u.PostalCode != "" {
		info.AppendClaims("postal_code", u.PostalCode)
	}
	if u.IdentityCode != "" {
		info.AppendClaims(IdentityClaim, u.IdentityCode)
	}
	return nil
}

// authRequest is one authorization request, from authorize until its code is
// redeemed.
type authRequest struct {
	id           string
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge
	csrf         string
	expires      time.Time

	done       bool
	subject    string
	authTime   time.Time
	codeIssued bool
}

func (ar *authRequest) snapshot() *authRequest {
	c := *ar
	return &c
}

func (ar *authRequest) GetID() string                         { return ar.id }
func (ar *authRequest) GetACR() string                        { return "" }
func (ar *authRequest) GetAMR() []string                      { return nil }
func (ar *authRequest) GetAudience() []string                 { return []string{ar.clientID} }
func (ar *authRequest) GetAuthTime() time.Time                { return ar.authTime }
func (ar *authRequest) GetClientID() string                   { return ar.clientID }
func (ar *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return ar.challenge }
func (ar *authRequest) GetNonce() string                      { return ar.nonce }
func (ar *authRequest) GetRedirectURI() string                { return ar.redirectURI }
func (ar *authRequest) GetResponseType() oidc.ResponseType    { return ar.responseType }
func (ar *authRequest) GetResponseMode() oidc.ResponseMode    { return ar.responseMode }
func (ar *authRequest) GetScopes() []string                   { return ar.scopes }
func (ar *authRequest) GetState() string                      { return ar.state }
func (ar *authRequest) GetSubject() string                    { return ar.subject }
func (ar *authRequest) Done() bool                            { return ar.done }

// client is a registered Client as the op package sees it: a web application
// using the authorization code flow only.
type client struct {
	id                     string
	secret                 string
	redirectURIs           []string
	postLogoutRedirectURIs []string
	loginURL               string
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return idTokenLifetime }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// AuthMethod is client_secret_basic; the provider also accepts the secret in
// the form body (client_secret_post), as Config.AuthMethodPost is on.
func (c *client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }

func (c *client) LoginURL(requestID string) string {
	return c.loginURL + "?" + url.Values{"id": {requestID}}.Encode()
}

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// signingKey is the RSA key of this run, private half.
type signingKey struct {
	id      string
	private *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.private }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the public half of the signing key, as published in the JWKS.
type publicKey struct{ *signingKey }

func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return &k.private.PublicKey }

func tokensEqual(want, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
