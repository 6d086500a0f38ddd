package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/redis/go-redis/v9"
)

// MsgTooManyRequests is the translation key of the rate limit's error.
const MsgTooManyRequests = "error.429"

// RateLimit allows max requests per window from one client address. With
// rdb the counts are shared by every instance through Redis, under keys
// that start with prefix; without it they are this process's own. Each
// limiter needs a prefix of its own: limiters sharing one count each
// other's requests against their own maximum.
func RateLimit(prefix string, max int, window time.Duration, rdb redis.UniversalClient) fiber.Handler {
	cfg := limiter.Config{
		Max:        max,
		Expiration: window,
		LimitReached: func(c *fiber.Ctx) error {
			return fiber.NewError(fiber.StatusTooManyRequests, MsgTooManyRequests)
		},
	}
	if rdb != nil {
		cfg.Storage = &redisStorage{rdb: rdb, prefix: prefix}
	}
	return limiter.New(cfg)
}

// redisStorage is fiber.Storage over go-redis, for the limiter.
type redisStorage struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ fiber.Storage = (*redisStorage)(nil)

func (s *redisStorage) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

func (s *redisStorage) Get(key string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	b, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

func (s *redisStorage) Set(key string, val []byte, exp time.Duration) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.rdb.Set(ctx, s.prefix+key, val, exp).Err()
}

func (s *redisStorage) Delete(key string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.rdb.Del(ctx, s.prefix+key).Err()
}

// Reset is not supported on a shared Redis: it would need a key scan.
func (s *redisStorage) Reset() error { return nil }

// Close leaves the client open: main owns it.
func (s *redisStorage) Close() error { return nil }
