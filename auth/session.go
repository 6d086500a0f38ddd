package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// Session is a logged-in browser. Its id is only ever known to the browser:
// stores keep the SHA-256 of it, so a leaked table or Redis dump holds no
// usable cookies.
type Session struct {
	ID         string // hash of the cookie value
	UserID     int64
	CSRFToken  string
	IDToken    string // for the provider's end-session id_token_hint
	Provider   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end of life
}

// TableName keeps gorm on the migrated table.
func (Session) TableName() string { return "sessions" }

// SessionStore keeps sessions. Get returns ErrNotFound for a missing or
// deleted session; expiry is judged by the caller, which deletes what has
// expired. Implementations are safe for concurrent use.
type SessionStore interface {
	Create(ctx context.Context, s *Session) error
	Get(ctx context.Context, id string) (*Session, error)
	// Touch records activity; the store may keep the session at most
	// until expiresAt.
	Touch(ctx context.Context, id string, at time.Time) error
	Delete(ctx context.Context, id string) error
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is the stored form of a cookie or state value.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}
