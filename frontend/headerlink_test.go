package frontend

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestHeaderLinks(t *testing.T) {
	f := newFrontend(t, Options{})
	var open atomic.Bool
	err := f.AddHeaderLink(HeaderLink{LabelKey: "chat.header.link", HintKey: "chat.header.hint", URL: "/chat",
		Icon: "speechbubble-text", Show: func(*fiber.Ctx) bool { return open.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(f, func(c *fiber.Ctx) error {
		return f.Render(c, fiber.StatusOK, "pages/home", Page{TitleKey: "home.title"})
	})
	const link = `<a class="hds-button hds-button--primary hds-button--small header-link" href="/chat"`

	cases := []struct {
		name, target string
		open         bool
		want, absent []string
	}{
		{name: "closed", target: "/", absent: []string{"header-link"}},
		{name: "open", target: "/", open: true,
			want: []string{link + `>`, "hds-icon--speechbubble-text", `<span>Chat<span class="visually-hidden">, neuvojat ovat paikalla</span></span>`}},
		{name: "open sv", target: "/?lang=sv", open: true, want: []string{"Chatt", "rådgivarna är på plats"}},
		{name: "current below its URL", target: "/chat/c/1", open: true, want: []string{link + ` aria-current="page">`}},
		{name: "not current elsewhere", target: "/chatter", open: true, want: []string{link + `>`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			open.Store(tc.open)
			_, body := get(t, app, tc.target)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(body, a) {
					t.Errorf("page has %q", a)
				}
			}
			checkPage(t, body)
		})
	}

	show := func(*fiber.Ctx) bool { return true }
	for name, bad := range map[string]HeaderLink{
		"no Show":       {LabelKey: "chat.header.link", URL: "/chat"},
		"unknown label": {LabelKey: "no.such.key", URL: "/chat", Show: show},
		"unknown hint":  {LabelKey: "chat.header.link", HintKey: "no.such.key", URL: "/chat", Show: show},
		"other site":    {LabelKey: "chat.header.link", URL: "//evil.example/chat", Show: show},
		"absolute URL":  {LabelKey: "chat.header.link", URL: "https://evil.example/", Show: show},
		"bad icon":      {LabelKey: "chat.header.link", URL: "/chat", Icon: `x" onclick="y`, Show: show},
	} {
		if err := f.AddHeaderLink(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
