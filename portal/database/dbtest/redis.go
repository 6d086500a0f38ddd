package dbtest

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisURL returns PORTAL_TEST_REDIS_URL. Without it the test is skipped,
// or failed when CI=true.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PORTAL_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PORTAL_TEST_REDIS_URL is not set, and CI=true requires the Redis tests to run")
		}
		t.Skip("PORTAL_TEST_REDIS_URL not set; Redis variant skipped")
	}
	return u
}

// Redis returns a client of the test Redis and a key prefix of the test's
// own; keys under the prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("dbtest: PORTAL_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("dbtest: redis: %v", err)
	}
	prefix := "test:" + randomHex(t, 8) + ":"
	t.Cleanup(func() {
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("dbtest: redis cleanup: %v", err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("dbtest: redis cleanup: %v", err)
		}
		if err := rdb.Close(); err != nil {
			t.Errorf("dbtest: redis close: %v", err)
		}
	})
	return rdb, prefix
}
