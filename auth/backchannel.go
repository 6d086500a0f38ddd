package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm/clause"
)

// BackchannelPath is where providers post logout tokens (OpenID Connect
// Back-Channel Logout 1.0). It takes no cookies, so it is exempt from CSRF.
const BackchannelPath = "/auth/backchannel-logout"

// backchannelEvent is the member of a logout token's events claim that
// makes it one.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenMaxAge bounds how old (by iat) a logout token may be; the
// clock skew a provider's clock may have is allowed on either side.
const (
	logoutTokenMaxAge = 10 * time.Minute
	clockSkew         = 2 * time.Minute
)

// ErrBadLogoutToken is a logout token that is not valid, or used before.
var ErrBadLogoutToken = errors.New("auth: logout token rejected")

// usedLogoutToken remembers a logout token (by issuer and jti) until it
// would have expired, so that a replay is refused.
type usedLogoutToken struct {
	JTIHash   string `gorm:"primaryKey"`
	ExpiresAt time.Time
}

func (usedLogoutToken) TableName() string { return "logout_tokens" }

func (a *Auth) handleBackchannelLogout(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	ctx := c.UserContext()
	n, err := a.BackchannelLogout(ctx, c.FormValue("logout_token"))
	if err != nil {
		// The spec's answer to any failure is 400; a fault of ours is
		// logged as one.
		if errors.Is(err, ErrBadLogoutToken) {
			a.log.Warn("back-channel logout refused", "request_id", ActorFrom(ctx).RequestID, "err", err)
		} else {
			a.log.Error("back-channel logout failed", "request_id", ActorFrom(ctx).RequestID, "err", err)
		}
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "invalid_request"})
	}
	a.log.Info("back-channel logout", "request_id", ActorFrom(ctx).RequestID, "sessions", n)
	return c.SendStatus(fiber.StatusOK)
}

// logoutClaims are the claims of a logout token beyond what the ID token
// verifier checks (signature, issuer, audience, expiry).
type logoutClaims struct {
	JTI    string                     `json:"jti"`
	SID    string                     `json:"sid"`
	IAT    int64                      `json:"iat"`
	Events map[string]json.RawMessage `json:"events"`
	Nonce  *string                    `json:"nonce"`
}

// BackchannelLogout verifies a logout token and ends the sessions it
// names, on every instance (sessions are shared; the logout hooks close
// live connections everywhere). It returns how many sessions ended.
func (a *Auth) BackchannelLogout(ctx context.Context, raw string) (int, error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, pc := range a.cfg.Providers {
		if pc.Issuer != iss {
			continue
		}
		n, err := a.logoutFrom(ctx, pc.Name, raw)
		if err == nil {
			return n, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return 0, fmt.Errorf("%w: issuer %q is not a configured provider", ErrBadLogoutToken, iss)
	}
	return 0, errors.Join(errs...)
}

func (a *Auth) logoutFrom(ctx context.Context, name, raw string) (int, error) {
	p, err := a.provider(ctx, name)
	if err != nil {
		return 0, err
	}
	pctx, cancel := a.providerCtx(ctx)
	defer cancel()
	tok, err := p.verifier.Verify(pctx, raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrBadLogoutToken, name, err)
	}
	var cl logoutClaims
	if err := tok.Claims(&cl); err != nil {
		return 0, fmt.Errorf("%w: claims: %v", ErrBadLogoutToken, err)
	}
	now := a.now()
	iat := time.Unix(cl.IAT, 0)
	switch ev, ok := cl.Events[backchannelEvent]; {
	case !ok || !strings.HasPrefix(strings.TrimSpace(string(ev)), "{"):
		return 0, fmt.Errorf("%w: no back-channel logout event", ErrBadLogoutToken)
	case cl.Nonce != nil:
		return 0, fmt.Errorf("%w: a logout token has no nonce", ErrBadLogoutToken)
	case cl.SID == "" && tok.Subject == "":
		return 0, fmt.Errorf("%w: neither sid nor sub", ErrBadLogoutToken)
	case cl.JTI == "":
		return 0, fmt.Errorf("%w: no jti", ErrBadLogoutToken)
	case cl.IAT == 0 || iat.After(now.Add(clockSkew)) || now.Sub(iat) > logoutTokenMaxAge+clockSkew:
		return 0, fmt.Errorf("%w: iat %v outside the accepted window", ErrBadLogoutToken, iat)
	}

	// Remembered first, so that a replay racing this one ends nothing;
	// forgotten again if the logout fails, so that the provider may retry.
	used := usedLogoutToken{JTIHash: hashToken(tok.Issuer + "\x00" + cl.JTI), ExpiresAt: tok.Expiry.UTC()}
	if maxEnd := iat.Add(logoutTokenMaxAge + clockSkew).UTC(); used.ExpiresAt.Before(maxEnd) {
		used.ExpiresAt = maxEnd
	}
	res := a.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&used)
	if res.Error != nil {
		return 0, fmt.Errorf("auth: remember logout token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return 0, fmt.Errorf("%w: jti used before", ErrBadLogoutToken)
	}
	n, err := a.endSessions(ctx, p, cl.SID, tok.Subject)
	if err != nil {
		if ferr := a.db.WithContext(ctx).Delete(&used).Error; ferr != nil {
			err = errors.Join(err, ferr)
		}
		return 0, err
	}
	return n, nil
}

// endSessions ends the sessions of p's provider session sid, or without
// one all sessions of the user sub from p.
func (a *Auth) endSessions(ctx context.Context, p *provider, sid, sub string) (int, error) {
	m := SessionMatch{Provider: p.cfg.Name, SID: sid}
	if sid == "" {
		u, err := a.users.BySubject(ctx, p.userIssuer, sub)
		if errors.Is(err, ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		m.UserID = u.ID
	}
	ids, err := a.sessions.DeleteMatching(ctx, m)
	for _, id := range ids {
		a.loggedOut(id, m.UserID)
	}
	return len(ids), err
}

// loggedOut runs the logout hooks for a session that ended.
func (a *Auth) loggedOut(sessionID string, userID int64) {
	a.mu.Lock()
	hooks := append([]func(string, int64){}, a.onLogout...)
	a.mu.Unlock()
	for _, fn := range hooks {
		fn(sessionID, userID)
	}
}

// unverifiedIssuer reads iss from a JWT's payload without verifying it:
// only to choose the provider whose keys then verify the token.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(raw) > 16<<10 {
		return "", fmt.Errorf("%w: not a compact JWS", ErrBadLogoutToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload: %v", ErrBadLogoutToken, err)
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer == "" {
		return "", fmt.Errorf("%w: no issuer", ErrBadLogoutToken)
	}
	return c.Issuer, nil
}
