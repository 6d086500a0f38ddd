package frontend

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// TestFlashOnlyCarriesKnownKeys: a notice set by a handler shows once on
// the next page; a planted cookie with text of its own shows nothing.
func TestFlashOnlyCarriesKnownKeys(t *testing.T) {
	f := newFrontend(t, Options{Location: time.UTC})
	app := fiber.New()
	app.Post("/save", func(c *fiber.Ctx) error {
		f.Flash(c, "error.home")
		return c.Redirect("/", fiber.StatusSeeOther)
	})
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("notice=" + f.TakeFlash(c)) })

	resp, err := app.Test(httptest.NewRequest("POST", "/save", nil))
	if err != nil {
		t.Fatal(err)
	}
	var cookie string
	for _, ck := range resp.Cookies() {
		if ck.Name == flashCookie {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no flash cookie set")
	}
	get := func(cookie string) (string, bool) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := new(strings.Builder)
		_, _ = io.Copy(buf, resp.Body)
		cleared := false
		for _, ck := range resp.Cookies() {
			cleared = cleared || (ck.Name == flashCookie && (ck.MaxAge < 0 || ck.Expires.Before(time.Now())))
		}
		return buf.String(), cleared
	}
	if body, cleared := get(cookie); body != "notice=error.home" || !cleared {
		t.Errorf("flash page: %q, cleared %v", body, cleared)
	}
	if body, _ := get(flashCookie + "=Istunto+vanhentui%2C+soita+0700+123"); body != "notice=" {
		t.Errorf("a planted text was shown: %q", body)
	}
	if body, _ := get(""); body != "notice=" {
		t.Errorf("no cookie: %q", body)
	}
}
