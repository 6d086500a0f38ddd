package auth

import (
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestRateLimitsCountApart: the login and the form limit count their own
// requests, in one process and through Redis, and through Redis every
// instance counts against the same limit.
func TestRateLimitsCountApart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		redis func(t *testing.T) (redis.UniversalClient, string)
	}{
		{"memory", func(*testing.T) (redis.UniversalClient, string) { return nil, "" }},
		{"redis", func(t *testing.T) (redis.UniversalClient, string) { return dbtest.Redis(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := tc.redis(t)
			// An instance of the portal: a login and a form limit.
			instance := func() *fiber.App {
				app := fiber.New()
				ok := func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) }
				app.Get("/login", RateLimit(prefix+"login:", 3, time.Minute, rdb), ok)
				app.Post("/form", RateLimit(prefix+"form:", 2, time.Minute, rdb), ok)
				return app
			}
			a := instance()
			status := func(app *fiber.App, method, path string) int {
				t.Helper()
				resp, err := app.Test(httptest.NewRequest(method, path, nil))
				if err != nil {
					t.Fatal(err)
				}
				if err := resp.Body.Close(); err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode
			}
			for i := range 3 {
				if got := status(a, "GET", "/login"); got != fiber.StatusNoContent {
					t.Fatalf("login %d: %d", i+1, got)
				}
			}
			for i := range 2 {
				if got := status(a, "POST", "/form"); got != fiber.StatusNoContent {
					t.Fatalf("form %d after three logins: %d, want the form's own count", i+1, got)
				}
			}
			if got := status(a, "POST", "/form"); got != fiber.StatusTooManyRequests {
				t.Errorf("a third form: %d, want 429", got)
			}
			if got := status(a, "GET", "/login"); got != fiber.StatusTooManyRequests {
				t.Errorf("a fourth login: %d, want 429", got)
			}
			if rdb != nil {
				if got := status(instance(), "GET", "/login"); got != fiber.StatusTooManyRequests {
					t.Errorf("a fourth login on another instance: %d, want 429", got)
				}
			}
		})
	}
}

// TestRateLimitCountsEveryRequestAcrossInstances: requests arriving at two
// instances at the same moment are each counted, so exactly the limit gets
// through; each refused one says when to try again.
func TestRateLimitCountsEveryRequestAcrossInstances(t *testing.T) {
	rdb, prefix := dbtest.Redis(t)
	const limit, perInstance = 10, 40
	ok := func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) }
	var apps []*fiber.App
	for range 2 {
		app := fiber.New()
		app.Get("/login", RateLimit(prefix+"login:", limit, time.Minute, rdb), ok)
		apps = append(apps, app)
	}
	var (
		mu       sync.Mutex
		passed   int
		refused  int
		noRetry  int
		wg       sync.WaitGroup
		failures []error
	)
	for _, app := range apps {
		for range perInstance {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := app.Test(httptest.NewRequest("GET", "/login", nil), -1)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
					return
				}
				_ = resp.Body.Close()
				switch resp.StatusCode {
				case fiber.StatusNoContent:
					passed++
				case fiber.StatusTooManyRequests:
					refused++
					if s, _ := strconv.Atoi(resp.Header.Get(fiber.HeaderRetryAfter)); s < 1 || s > 60 {
						noRetry++
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(failures[0])
	}
	if passed != limit || refused != 2*perInstance-limit {
		t.Fatalf("%d passed and %d refused of %d, want exactly %d through", passed, refused, 2*perInstance, limit)
	}
	if noRetry > 0 {
		t.Errorf("%d refusals without a Retry-After of 1–60 s", noRetry)
	}
}

// TestRateLimitLetsThroughWhileRedisIsAway: a limit is not worth refusing
// logins over.
func TestRateLimitLetsThroughWhileRedisIsAway(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	app := fiber.New()
	app.Get("/login", RateLimit("t:login:", 1, time.Minute, rdb), func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	for i := range 3 {
		resp, err := app.Test(httptest.NewRequest("GET", "/login", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != fiber.StatusNoContent {
			t.Fatalf("request %d with Redis away: %d, want it let through", i+1, resp.StatusCode)
		}
	}
}
