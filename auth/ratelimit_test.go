package auth

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/portal/portal/database/dbtest"
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
