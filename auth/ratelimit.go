package auth

import (
	"context"
	"strconv"
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
	if rdb != nil {
		return redisLimit(prefix, max, window, rdb)
	}
	return limiter.New(limiter.Config{
		Max:          max,
		Expiration:   window,
		LimitReached: limitReached,
	})
}

func limitReached(*fiber.Ctx) error {
	return fiber.NewError(fiber.StatusTooManyRequests, MsgTooManyRequests)
}

// countScript counts a request in a fixed window: the first request of a
// window starts its expiry. One script, so that requests arriving at
// several instances at once are each counted.
var countScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`)

// redisLimit is RateLimit over Redis: a fixed window per client address,
// counted atomically in Redis, so that instances never lose each other's
// counts. While Redis does not answer, requests are let through: a rate
// limit is not worth refusing logins over.
func redisLimit(prefix string, most int, window time.Duration, rdb redis.UniversalClient) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		res, err := countScript.Run(ctx, rdb, []string{prefix + c.IP()}, window.Milliseconds()).Int64Slice()
		if err != nil || len(res) != 2 {
			return c.Next()
		}
		n, ttl := res[0], time.Duration(res[1])*time.Millisecond
		reset := int64(max(ttl, 0).Round(time.Second) / time.Second)
		c.Set("X-RateLimit-Limit", strconv.Itoa(most))
		c.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		if n > int64(most) {
			c.Set("X-RateLimit-Remaining", "0")
			c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(reset, 10))
			return limitReached(c)
		}
		c.Set("X-RateLimit-Remaining", strconv.FormatInt(int64(most)-n, 10))
		return c.Next()
	}
}
