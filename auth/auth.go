package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ProviderConfig is one OpenID provider and the portal's client at it.
type ProviderConfig struct {
	Name         string // "resident" or "staff"
	Issuer       string
	ClientID     string
	ClientSecret string
	// Roles lists the roles this provider may grant. A resident provider
	// (strong identification) grants only RoleResident, whatever its
	// claims say; a staff provider grants the role in the role claim.
	Roles []Role
	// Scopes are asked for besides openid; nil means profile and email. A
	// provider may put the role claim in the token only for a scope asked
	// for (Keycloak's roles, Dex's groups).
	Scopes []string
}

// RegionResolver finds regions for the region claim; portal/regions
// implements it (auth does not read the regions table itself).
type RegionResolver interface {
	// IDByCode returns the id of the region with code, 0 when there is none.
	IDByCode(ctx context.Context, code string) (int64, error)
}

// Config configures Auth.
type Config struct {
	PublicURL *url.URL
	Providers []ProviderConfig // the first is the default for /login
	// RoleClaim is where the role is in the ID token: a claim name or a
	// dotted path into nested claims (Keycloak's realm_access.roles or
	// resource_access.<client>.roles).
	RoleClaim string
	// RoleMap renames the provider's role names to the portal's
	// (asumisneuvoja → advisor); names it does not list are taken as they
	// are.
	RoleMap     map[string]Role
	Secure      bool // Secure cookies (production)
	IdleTimeout time.Duration
	MaxAge      time.Duration
	SecretKey   []byte // signs anonymous CSRF tokens
	// Regions turns a staff member's region claim into a region id; nil
	// ignores the claim.
	Regions RegionResolver
	Now     func() time.Time
	Logger  *slog.Logger
}

// Auth is the login, session and CSRF machinery.
type Auth struct {
	cfg      Config
	db       *gorm.DB
	users    *Users
	sessions SessionStore
	now      func() time.Time
	log      *slog.Logger

	mu        sync.Mutex
	providers map[string]*provider
	onLogout  []func(sessionID string, userID int64)
}

type provider struct {
	cfg      ProviderConfig
	oidc     *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	endSess  string
}

// New returns Auth. Providers are discovered lazily, so a provider that is
// briefly away at start does not stop the portal.
func New(cfg Config, db *gorm.DB, sessions SessionStore) (*Auth, error) {
	if len(cfg.Providers) == 0 {
		return nil, errors.New("auth: no OpenID provider configured")
	}
	if len(cfg.SecretKey) < 32 {
		return nil, errors.New("auth: secret key shorter than 32 bytes")
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "roles"
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Auth{
		cfg: cfg, db: db, users: NewUsers(db), sessions: sessions,
		now: now, log: log, providers: map[string]*provider{},
	}, nil
}

// Users returns the users store.
func (a *Auth) Users() *Users { return a.users }

// OnLogout registers fn to be called after a session ends by logout, so
// that live connections of that session (chat sockets) can be closed.
func (a *Auth) OnLogout(fn func(sessionID string, userID int64)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onLogout = append(a.onLogout, fn)
}

// SessionValid reports whether the session with this id is still alive.
func (a *Auth) SessionValid(ctx context.Context, sessionID string) (bool, error) {
	s, err := a.sessions.Get(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return a.alive(s), nil
}

func (a *Auth) alive(s *Session) bool {
	now := a.now()
	return now.Before(s.ExpiresAt) && now.Sub(s.LastSeenAt) < a.cfg.IdleTimeout
}

func (a *Auth) providerConfig(name string) (ProviderConfig, bool) {
	for _, p := range a.cfg.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return ProviderConfig{}, false
}

// provider discovers (once) and returns the named provider.
func (a *Auth) provider(ctx context.Context, name string) (*provider, error) {
	a.mu.Lock()
	p, ok := a.providers[name]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	pc, ok := a.providerConfig(name)
	if !ok {
		return nil, fmt.Errorf("auth: unknown provider %q", name)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, pc.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: discover %s provider: %w", name, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("auth: %s provider metadata: %w", name, err)
	}
	p = &provider{
		cfg:      pc,
		oidc:     op,
		verifier: op.Verifier(&oidc.Config{ClientID: pc.ClientID, Now: a.now}),
		endSess:  meta.EndSession,
		oauth: oauth2.Config{
			ClientID:     pc.ClientID,
			ClientSecret: pc.ClientSecret,
			Endpoint:     endpoint(op),
			RedirectURL:  a.callbackURL(),
			Scopes:       scopes(pc.Scopes),
		},
	}
	a.mu.Lock()
	a.providers[name] = p
	a.mu.Unlock()
	return p, nil
}

func (a *Auth) callbackURL() string { return a.cfg.PublicURL.String() + "/auth/callback" }

// loginAttempt is the server side of one authorization request: the state
// (hashed), the nonce and the PKCE verifier. It is single-use.
type loginAttempt struct {
	StateHash    string `gorm:"primaryKey"`
	Provider     string
	Nonce        string
	CodeVerifier string
	ReturnTo     string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

func (loginAttempt) TableName() string { return "login_attempts" }

// Errors of the login callback; all of them mean "start again".
var (
	ErrBadState = errors.New("auth: unknown, expired or already used state")
	ErrBadToken = errors.New("auth: ID token rejected")
	ErrBadRole  = errors.New("auth: the provider granted no role this portal accepts")
)

// beginLogin records a login attempt and returns the provider URL to send
// the browser to, and the state to bind to the browser.
func (a *Auth) beginLogin(ctx context.Context, providerName, returnTo string) (redirect, state string, err error) {
	p, err := a.provider(ctx, providerName)
	if err != nil {
		return "", "", err
	}
	state, err = randomToken(32)
	if err != nil {
		return "", "", err
	}
	nonce, err := randomToken(32)
	if err != nil {
		return "", "", err
	}
	verifier := oauth2.GenerateVerifier()
	now := a.now().UTC()
	att := loginAttempt{
		StateHash: hashToken(state), Provider: providerName, Nonce: nonce,
		CodeVerifier: verifier, ReturnTo: safeReturn(returnTo),
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	if err := a.db.WithContext(ctx).Create(&att).Error; err != nil {
		return "", "", fmt.Errorf("auth: store login attempt: %w", err)
	}
	return p.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// takeAttempt deletes and returns the attempt for state: a second callback
// with the same state finds nothing.
func (a *Auth) takeAttempt(ctx context.Context, state string) (*loginAttempt, error) {
	var rows []loginAttempt
	res := a.db.WithContext(ctx).Clauses(clause.Returning{}).
		Where("state_hash = ?", hashToken(state)).Delete(&rows)
	if res.Error != nil {
		return nil, fmt.Errorf("auth: take login attempt: %w", res.Error)
	}
	if len(rows) != 1 || a.now().After(rows[0].ExpiresAt) {
		return nil, ErrBadState
	}
	return &rows[0], nil
}

// finishLogin exchanges the code, verifies the ID token and its nonce,
// records the user and opens a new session. It returns the session's
// cookie value.
func (a *Auth) finishLogin(ctx context.Context, att *loginAttempt, code string) (cookie string, sess *Session, err error) {
	p, err := a.provider(ctx, att.Provider)
	if err != nil {
		return "", nil, err
	}
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(att.CodeVerifier))
	if err != nil {
		return "", nil, fmt.Errorf("%w: code exchange: %v", ErrBadToken, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", nil, fmt.Errorf("%w: no id_token in token response", ErrBadToken)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if idt.Nonce != att.Nonce {
		return "", nil, fmt.Errorf("%w: nonce mismatch", ErrBadToken)
	}
	u, err := a.userFromToken(ctx, p, idt)
	if err != nil {
		return "", nil, err
	}
	u, err = a.users.Upsert(ctx, u)
	if err != nil {
		return "", nil, err
	}
	cookie, err = randomToken(32)
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	now := a.now().UTC()
	sess = &Session{
		ID: hashToken(cookie), UserID: u.ID, CSRFToken: csrf, IDToken: raw,
		Provider: att.Provider, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.cfg.MaxAge),
	}
	if err := a.sessions.Create(ctx, sess); err != nil {
		return "", nil, err
	}
	return cookie, sess, nil
}

func (a *Auth) userFromToken(ctx context.Context, p *provider, idt *oidc.IDToken) (*User, error) {
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrBadToken, err)
	}
	str := func(k string) string {
		s, _ := all[k].(string) // absent or not a string: empty
		return s
	}
	role, err := pickRole(claimAt(all, a.cfg.RoleClaim), a.cfg.RoleMap, p.cfg.Roles)
	if err != nil {
		return nil, err
	}
	now := a.now().UTC()
	u := &User{
		Issuer: idt.Issuer, Subject: idt.Subject, Role: role,
		Name: str("name"), GivenName: str("given_name"), FamilyName: str("family_name"),
		Email: str("email"), PostalCode: str("postal_code"), LastLoginAt: &now,
	}
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	if code := str("region"); code != "" && role.Staff() && a.cfg.Regions != nil {
		id, err := a.cfg.Regions.IDByCode(ctx, code)
		if err != nil {
			return nil, fmt.Errorf("auth: region %q: %w", code, err)
		}
		if id != 0 {
			u.RegionID = &id
		}
	}
	return u, nil
}

// pickRole chooses the highest-privilege role the claim names that the
// provider may grant. A provider allowed only to grant residents always
// yields a resident.
func pickRole(claim any, roleMap map[string]Role, allowed []Role) (Role, error) {
	if len(allowed) == 1 && allowed[0] == RoleResident {
		return RoleResident, nil
	}
	var names []string
	switch v := claim.(type) {
	case string:
		names = strings.Fields(v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				names = append(names, s)
			}
		}
	}
	best := Role("")
	rank := map[Role]int{RoleResident: 1, RoleAdvisor: 2, RoleAdmin: 3}
	for _, n := range names {
		r := Role(n)
		if mapped, ok := roleMap[n]; ok {
			r = mapped
		}
		if !r.Valid() || !roleIn(r, allowed) {
			continue
		}
		if rank[r] > rank[best] {
			best = r
		}
	}
	if best == "" {
		return "", ErrBadRole
	}
	return best, nil
}

func roleIn(r Role, list []Role) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// logout ends the session and returns where to send the browser: the
// provider's end-session endpoint when it has one, else the front page.
func (a *Auth) logout(ctx context.Context, sess *Session) (string, error) {
	if err := a.sessions.Delete(ctx, sess.ID); err != nil {
		return "", err
	}
	a.mu.Lock()
	hooks := append([]func(string, int64){}, a.onLogout...)
	a.mu.Unlock()
	for _, fn := range hooks {
		fn(sess.ID, sess.UserID)
	}
	back := a.cfg.PublicURL.String() + "/?logged_out=1"
	p, err := a.provider(ctx, sess.Provider)
	if err != nil || p.endSess == "" {
		if err != nil {
			a.log.Warn("logout: provider unavailable, local logout only", "provider", sess.Provider, "err", err)
		}
		return back, nil
	}
	// No id_token_hint: the ID token carries the person's name and e-mail,
	// and this URL is a redirect that lands in history and logs. RP-Initiated
	// Logout identifies the client by client_id instead.
	q := url.Values{}
	q.Set("post_logout_redirect_uri", back)
	q.Set("client_id", p.cfg.ClientID)
	sep := "?"
	if strings.Contains(p.endSess, "?") {
		sep = "&"
	}
	return p.endSess + sep + q.Encode(), nil
}

// safeReturn accepts only a path on this origin, so the login cannot be
// used as an open redirect. Browsers drop tabs and line breaks anywhere in
// a URL, read a backslash as a slash and two leading slashes as another
// host, so "/\t/evil.example/" ends up at //evil.example/: a value with any
// control character, space or backslash is refused outright rather than
// cleaned, and what remains must parse as a bare path starting with exactly
// one slash. Anything else returns to /my.
func safeReturn(p string) string {
	const fallback = "/my"
	if p == "" || len(p) > 2048 || strings.ContainsFunc(p, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r)
	}) {
		return fallback
	}
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return fallback
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.EscapedPath(), "/") || strings.HasPrefix(u.EscapedPath(), "//") {
		return fallback
	}
	return p
}

// endpoint fixes client authentication to the Authorization header: with
// auto-detection a refused exchange is retried with the secret in the body,
// and the retry meets a code the first attempt already spent.
func endpoint(op *oidc.Provider) oauth2.Endpoint {
	e := op.Endpoint()
	e.AuthStyle = oauth2.AuthStyleInHeader
	return e
}

// scopes are the scopes to ask for: openid first, then extra, or profile
// and email when extra is nil.
func scopes(extra []string) []string {
	if extra == nil {
		extra = []string{"profile", "email"}
	}
	out := []string{oidc.ScopeOpenID}
	for _, s := range extra {
		if s != oidc.ScopeOpenID && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// claimAt follows a dotted path (realm_access.roles) into the claims; a
// claim whose own name holds a dot is found too.
func claimAt(claims map[string]any, path string) any {
	if v, ok := claims[path]; ok {
		return v
	}
	var cur any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}
