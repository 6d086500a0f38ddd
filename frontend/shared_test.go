package frontend

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// A shared page is rendered once for every anonymous visitor with the same
// view and rendered again when the view changes (language, the header's
// links), when it has expired, and always for a logged-in viewer, a notice
// or an unexpected query.
func TestRenderShared(t *testing.T) {
	f := newFrontend(t, Options{Viewer: func(c *fiber.Ctx) *Viewer {
		if name := c.Get("X-Test-User"); name != "" {
			return &Viewer{Name: name, Role: auth.RoleResident}
		}
		return nil
	}})
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	var open atomic.Bool
	if err := f.AddHeaderLink(HeaderLink{LabelKey: "chat.header.link", URL: "/chat", Show: func(*fiber.Ctx) bool { return open.Load() }}); err != nil {
		t.Fatal(err)
	}
	var loads atomic.Int32
	version := "first"
	app := newApp(f, func(c *fiber.Ctx) error {
		p := Page{TitleKey: "home.title"}
		if c.Query("flash") != "" {
			p.Notice = "notice.logged_out"
		}
		return f.RenderShared(c, "pages/info", p, func(lang string) (any, error) {
			loads.Add(1)
			return map[string]any{"Intro": "", "Sections": nil, "Version": version + "-" + lang}, nil
		})
	})
	steps := []struct {
		name, target string
		header       []string
		renders      int32 // data loads this step causes
		want, absent string
	}{
		{name: "first visitor", target: "/", renders: 1, absent: "header-link"},
		{name: "second visitor shares it", target: "/", renders: 0},
		{name: "another language", target: "/?lang=sv", renders: 1, want: `lang="sv"`},
		{name: "that language shared too", target: "/?lang=sv", renders: 0, want: `lang="sv"`},
		{name: "advisors come online", target: "/", renders: 1, want: "header-link"},
		{name: "logged in: own render", target: "/", header: []string{"X-Test-User", "Riikka"}, renders: 1, want: "Riikka"},
		{name: "logged in again: own render", target: "/", header: []string{"X-Test-User", "Riikka"}, renders: 1},
		{name: "a notice: own render", target: "/?flash=1", renders: 1},
		{name: "another query: own render", target: "/?utm=x", renders: 1},
		{name: "anonymous again shares", target: "/", renders: 0, want: "header-link"},
		{name: "expired", target: "/", renders: 1},
	}
	for _, st := range steps {
		if st.name == "advisors come online" {
			open.Store(true)
		}
		if st.name == "expired" {
			now = now.Add(sharedTTL + time.Second)
		}
		before := loads.Load()
		resp, body := get(t, app, st.target, st.header...)
		if resp.StatusCode != fiber.StatusOK {
			t.Fatalf("%s: status %d", st.name, resp.StatusCode)
		}
		if got := loads.Load() - before; got != st.renders {
			t.Errorf("%s: data loaded %d times, want %d", st.name, got, st.renders)
		}
		if st.want != "" && !strings.Contains(body, st.want) {
			t.Errorf("%s: page lacks %q", st.name, st.want)
		}
		if st.absent != "" && strings.Contains(body, st.absent) {
			t.Errorf("%s: page has %q", st.name, st.absent)
		}
		if resp.Header.Get(fiber.HeaderCacheControl) != "no-store" || resp.Header.Get(fiber.HeaderContentLanguage) == "" {
			t.Errorf("%s: headers %v", st.name, resp.Header)
		}
		checkPage(t, body)
	}
}
