package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSessions keeps sessions in Redis, each key living no longer than
// the session's idle timeout or absolute end, whichever comes first.
type RedisSessions struct {
	rdb    redis.UniversalClient
	prefix string
	idle   time.Duration
}

var _ SessionStore = (*RedisSessions)(nil)

// NewRedisSessions returns a Redis session store; prefix namespaces its keys.
func NewRedisSessions(rdb redis.UniversalClient, prefix string, idle time.Duration) *RedisSessions {
	return &RedisSessions{rdb: rdb, prefix: prefix + "session:", idle: idle}
}

func (s *RedisSessions) ttl(sess *Session, now time.Time) time.Duration {
	ttl := sess.ExpiresAt.Sub(now)
	if ttl > s.idle {
		ttl = s.idle
	}
	return ttl
}

// Create stores a new session.
func (s *RedisSessions) Create(ctx context.Context, sess *Session) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("auth: encode session: %w", err)
	}
	ttl := s.ttl(sess, sess.LastSeenAt)
	if ttl <= 0 {
		return fmt.Errorf("auth: create session: already expired")
	}
	// The indexes by which a back-channel logout finds the session live
	// as long as the newest session they list; a member whose session has
	// gone is skipped at logout.
	life := sess.ExpiresAt.Sub(sess.LastSeenAt)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.prefix+sess.ID, b, ttl)
		for _, idx := range s.indexes(sess) {
			p.SAdd(ctx, idx, sess.ID)
			p.Expire(ctx, idx, life) // every session lives MaxAge at most: the newest outlives the rest
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: create session: %w", err)
	}
	return nil
}

// indexes are the sets that list sess: its user's sessions from its
// provider, and its provider session's.
func (s *RedisSessions) indexes(sess *Session) []string {
	out := []string{s.userIndex(sess.Provider, sess.UserID)}
	if sess.ProviderSID != "" {
		out = append(out, s.sidIndex(sess.Provider, sess.ProviderSID))
	}
	return out
}

func (s *RedisSessions) userIndex(provider string, userID int64) string {
	return fmt.Sprintf("%sby-user:%s:%d", s.prefix, provider, userID)
}

func (s *RedisSessions) sidIndex(provider, sid string) string {
	return s.prefix + "by-sid:" + provider + ":" + hashToken(sid)
}

// DeleteMatching removes the sessions m names.
func (s *RedisSessions) DeleteMatching(ctx context.Context, m SessionMatch) ([]string, error) {
	idx := s.userIndex(m.Provider, m.UserID)
	if m.SID != "" {
		idx = s.sidIndex(m.Provider, m.SID)
	}
	ids, err := s.rdb.SMembers(ctx, idx).Result()
	if err != nil {
		return nil, fmt.Errorf("auth: sessions of %s: %w", m.Provider, err)
	}
	var gone []string
	for _, id := range ids {
		n, err := s.rdb.Del(ctx, s.prefix+id).Result()
		if err != nil {
			return gone, fmt.Errorf("auth: delete session: %w", err)
		}
		if n == 1 {
			gone = append(gone, id)
		}
	}
	if err := s.rdb.Del(ctx, idx).Err(); err != nil {
		return gone, fmt.Errorf("auth: delete session index: %w", err)
	}
	return gone, nil
}

// Get loads a session.
func (s *RedisSessions) Get(ctx context.Context, id string) (*Session, error) {
	b, err := s.rdb.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load session: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return nil, fmt.Errorf("auth: decode session: %w", err)
	}
	return &sess, nil
}

// Touch records activity and extends the key's life.
func (s *RedisSessions) Touch(ctx context.Context, id string, at time.Time) error {
	sess, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	sess.LastSeenAt = at
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("auth: encode session: %w", err)
	}
	ttl := s.ttl(sess, at)
	if ttl <= 0 {
		return s.Delete(ctx, id)
	}
	// XX: never resurrect a session deleted meanwhile by a logout.
	if err := s.rdb.SetArgs(ctx, s.prefix+id, b, redis.SetArgs{Mode: "XX", TTL: ttl}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("auth: touch session: %w", err)
	}
	return nil
}

// Delete removes a session.
func (s *RedisSessions) Delete(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.prefix+id).Err(); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}
