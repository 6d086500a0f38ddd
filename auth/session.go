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
	ID        string // hash of the cookie value
	UserID    int64
	CSRFToken string
	Provider  string
	// ProviderSID is the provider's session id (the ID token's sid), by
	// which a back-channel logout names the sessions to end.
	ProviderSID string `gorm:"column:provider_sid"`
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time // absolute end of life
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
	// DeleteMatching removes the sessions of provider that m names and
	// returns the ids removed: a back-channel logout.
	DeleteMatching(ctx context.Context, m SessionMatch) ([]string, error)
}

// SessionMatch names sessions by the provider's session id, or, when SID
// is empty, all of a user's sessions from that provider.
type SessionMatch struct {
	Provider string
	SID      string
	UserID   int64
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
