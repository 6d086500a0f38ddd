package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	// RequiredACR, when set, lists the authentication context classes
	// (the acr claim) a login must reach, such as Suomi.fi's substantial
	// and high; they are asked for as acr_values too. A login below them
	// is refused with ErrWeakLogin.
	RequiredACR []string
	// RegionClaim names the claim (a dotted path) with a staff member's
	// region code. Empty: the provider says nothing about regions, and an
	// admin assigns them in the portal, where each login leaves them be.
	RegionClaim string
	// IdentityClaim names the claim (a dotted path) with the personal
	// identity code, read from residents' logins only. A first login with
	// a valid code takes over the client record staff made with it.
	IdentityClaim string
	// Settings is the prefix of the settings that configure this provider
	// (PORTAL_OIDC, PORTAL_STAFF_OIDC), named in logs when the provider
	// refuses the client, so that operators know what to fix.
	Settings string
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
	// Timeout bounds every call to a provider: discovery, key fetch, code
	// exchange (default 10 s).
	Timeout time.Duration
	// MetadataTTL is how long a provider's discovery document is kept
	// before it is read again (default an hour); a failed read keeps the
	// old one, and a provider that stopped answering is read again at the
	// next login.
	MetadataTTL time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// Auth is the login, session and CSRF machinery.
type Auth struct {
	cfg      Config
	client   *http.Client // for every call to a provider
	db       *gorm.DB
	users    *Users
	sessions SessionStore
	now      func() time.Time
	log      *slog.Logger

	mu        sync.Mutex
	providers map[string]*provider
	onLogout  []func(sessionID string, userID int64)
	uploads   streamedUploads // csrf_stream.go
}

type provider struct {
	cfg      ProviderConfig
	oidc     *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	endSess  string
	read     time.Time // when the metadata was read
	// userIssuer is the issuer users of this provider are stored under:
	// the issuer, or for a staff client on the residents' issuer the issuer
	// marked as staff, so that one person's resident and staff identities
	// stay two users and a resident login never demotes an advisor.
	userIssuer string
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
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MetadataTTL <= 0 {
		cfg.MetadataTTL = time.Hour
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
		cfg: cfg, client: &http.Client{Timeout: cfg.Timeout},
		db: db, users: NewUsers(db), sessions: sessions,
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

// providerCtx makes ctx carry the HTTP client with the provider deadline,
// which go-oidc and oauth2 use for every call they make.
func (a *Auth) providerCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	return oidc.ClientContext(ctx, a.client), cancel
}

// provider returns the named provider, reading its metadata when it has
// not been read or is older than MetadataTTL. When the provider does not
// answer, metadata read before is used; with none, ErrUnavailable.
func (a *Auth) provider(ctx context.Context, name string) (*provider, error) {
	a.mu.Lock()
	p, ok := a.providers[name]
	a.mu.Unlock()
	if ok && a.now().Sub(p.read) < a.cfg.MetadataTTL {
		return p, nil
	}
	fresh, err := a.discover(ctx, name)
	if err != nil {
		if ok {
			a.log.Warn("auth: provider metadata not refreshed, keeping what was read before",
				"provider", name, "read", p.read, "err", err)
			return p, nil
		}
		return nil, err
	}
	a.mu.Lock()
	a.providers[name] = fresh
	a.mu.Unlock()
	return fresh, nil
}

// stale makes the next use of the provider read its metadata again: it
// failed to answer, or its keys did not verify a token.
func (a *Auth) stale(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.providers[name]; ok {
		p.read = time.Time{}
	}
}

func (a *Auth) discover(ctx context.Context, name string) (*provider, error) {
	pc, ok := a.providerConfig(name)
	if !ok {
		return nil, fmt.Errorf("auth: unknown provider %q", name)
	}
	dctx, cancel := a.providerCtx(ctx)
	defer cancel()
	// The key set keeps this context's client, without its deadline, for
	// its later key fetches; the client's own timeout bounds them.
	op, err := oidc.NewProvider(dctx, pc.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discover %s provider: %v", ErrUnavailable, name, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("auth: %s provider metadata: %w", name, err)
	}
	return &provider{
		cfg:        pc,
		oidc:       op,
		verifier:   op.Verifier(&oidc.Config{ClientID: pc.ClientID, Now: a.now}),
		endSess:    meta.EndSession,
		read:       a.now(),
		userIssuer: a.userIssuer(pc),
		oauth: oauth2.Config{
			ClientID:     pc.ClientID,
			ClientSecret: pc.ClientSecret,
			Endpoint:     endpoint(op),
			RedirectURL:  a.callbackURL(),
			Scopes:       scopes(pc.Scopes),
		},
	}, nil
}

// userIssuer is the issuer the users of pc are stored under (see
// provider.userIssuer).
func (a *Auth) userIssuer(pc ProviderConfig) string {
	if !slices.ContainsFunc(pc.Roles, Role.Staff) || slices.Contains(pc.Roles, RoleResident) {
		return pc.Issuer
	}
	for _, o := range a.cfg.Providers {
		if o.Name != pc.Name && o.Issuer == pc.Issuer {
			return pc.Issuer + "#staff"
		}
	}
	return pc.Issuer
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

// Errors of the login. ErrBadState, ErrBadToken and ErrBadRole mean
// "start again"; ErrUnavailable means the provider did not answer in time
// or failed; ErrMisconfigured means it refused the portal's client, which
// only an operator can fix; ErrWeakLogin means the login did not reach the
// required assurance level.
var (
	ErrBadState      = errors.New("auth: unknown, expired or already used state")
	ErrBadToken      = errors.New("auth: ID token rejected")
	ErrBadRole       = errors.New("auth: the provider granted no role this portal accepts")
	ErrUnavailable   = errors.New("auth: the OpenID provider is not answering")
	ErrMisconfigured = errors.New("auth: the OpenID provider refused the portal's client")
	ErrWeakLogin     = errors.New("auth: the login did not reach the required assurance level")
)

// providerFault classifies an error of a call to the provider: a refused
// client (ErrMisconfigured), a provider that failed or did not answer
// (ErrUnavailable), else a token the provider refused (ErrBadToken).
func providerFault(p *provider, step string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" ||
			re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%w: %s: %s (check %s_CLIENT_ID and %s_CLIENT_SECRET)",
				ErrMisconfigured, step, re.ErrorCode, p.cfg.Settings, p.cfg.Settings)
		case re.Response != nil && re.Response.StatusCode >= 500:
			return fmt.Errorf("%w: %s: status %d", ErrUnavailable, step, re.Response.StatusCode)
		}
		return fmt.Errorf("%w: %s: %v", ErrBadToken, step, err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, step, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrBadToken, step, err)
}

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
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if len(p.cfg.RequiredACR) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(p.cfg.RequiredACR, " ")))
	}
	return p.oauth.AuthCodeURL(state, opts...), state, nil
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
	pctx, cancel := a.providerCtx(ctx)
	defer cancel()
	tok, err := p.oauth.Exchange(pctx, code, oauth2.VerifierOption(att.CodeVerifier))
	if err != nil {
		err = providerFault(p, "code exchange", err)
		if errors.Is(err, ErrUnavailable) {
			a.stale(att.Provider)
		}
		return "", nil, err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", nil, fmt.Errorf("%w: no id_token in token response", ErrBadToken)
	}
	idt, err := p.verifier.Verify(pctx, raw)
	if err != nil {
		// go-oidc flattens the key fetch's error into text: a deadline
		// that passed, or its "fetching keys" prefix, is a provider that
		// did not answer, not a bad token.
		if pctx.Err() != nil || strings.Contains(err.Error(), "fetching keys") {
			a.stale(att.Provider)
			return "", nil, fmt.Errorf("%w: key fetch: %v", ErrUnavailable, err)
		}
		return "", nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if idt.Nonce != att.Nonce {
		return "", nil, fmt.Errorf("%w: nonce mismatch", ErrBadToken)
	}
	u, sid, err := a.userFromToken(ctx, p, idt)
	if err != nil {
		return "", nil, err
	}
	u, err = a.users.Upsert(ctx, u, p.cfg.RegionClaim != "")
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
		ID: hashToken(cookie), UserID: u.ID, CSRFToken: csrf,
		Provider: att.Provider, ProviderSID: sid, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.cfg.MaxAge),
	}
	if err := a.sessions.Create(ctx, sess); err != nil {
		return "", nil, err
	}
	return cookie, sess, nil
}

// userFromToken reads the user, and the provider's session id (sid) for
// back-channel logout, from a verified ID token.
func (a *Auth) userFromToken(ctx context.Context, p *provider, idt *oidc.IDToken) (*User, string, error) {
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return nil, "", fmt.Errorf("%w: claims: %v", ErrBadToken, err)
	}
	str := func(k string) string {
		s, _ := claimAt(all, k).(string) // absent or not a string: empty
		return s
	}
	if acr := p.cfg.RequiredACR; len(acr) > 0 && !slices.Contains(acr, str("acr")) {
		return nil, "", fmt.Errorf("%w: acr %q, want one of %v", ErrWeakLogin, str("acr"), acr)
	}
	role, err := pickRole(claimAt(all, a.cfg.RoleClaim), a.cfg.RoleMap, p.cfg.Roles)
	if err != nil {
		return nil, "", err
	}
	now := a.now().UTC()
	u := &User{
		Issuer: p.userIssuer, Subject: idt.Subject, Role: role,
		Name: str("name"), GivenName: str("given_name"), FamilyName: str("family_name"),
		Email: str("email"), PostalCode: str("postal_code"), LastLoginAt: &now,
	}
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	if p.cfg.IdentityClaim != "" && role == RoleResident {
		if raw := str(p.cfg.IdentityClaim); raw != "" {
			code, ok := NormalizeIdentityCode(raw)
			if ok {
				u.IdentityCode = code
			} else {
				a.log.Warn("auth: the identity claim is not a valid personal identity code; the login is not linked to a client record",
					"claim", p.cfg.IdentityClaim, "provider", p.cfg.Name)
			}
		}
	}
	if p.cfg.RegionClaim != "" && role.Staff() && a.cfg.Regions != nil {
		if code := str(p.cfg.RegionClaim); code != "" {
			id, err := a.cfg.Regions.IDByCode(ctx, code)
			if err != nil {
				return nil, "", fmt.Errorf("auth: region %q: %w", code, err)
			}
			if id != 0 {
				u.RegionID = &id
			}
		}
	}
	return u, str("sid"), nil
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
	a.loggedOut(sess.ID, sess.UserID)
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

// settings is the settings prefix of the named provider, for logs.
func (a *Auth) settings(name string) string {
	pc, _ := a.providerConfig(name) // unknown: empty
	return pc.Settings
}
