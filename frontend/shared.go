package frontend

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// sharedTTL is how long a shared page's rendered bytes are served before it
// is rendered again: what its data shows (a region's phone hours) may be
// this old on the front page.
const sharedTTL = 5 * time.Second

// sharedMax bounds the rendered pages kept; the keys are few (pages ×
// languages × header states), so reaching it means something varies that
// should not, and the pages are simply rendered again.
const sharedMax = 256

// sharedPages are rendered pages that look the same to every anonymous
// visitor with the same view: the same page, language and header links.
type sharedPages struct {
	mu    sync.Mutex
	pages map[string]sharedPage
}

type sharedPage struct {
	body    []byte // never changed once stored: responses send it as it is
	expires time.Time
}

func (s *sharedPages) get(key string, now time.Time) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pages[key]
	if !ok || now.After(p.expires) {
		return nil, false
	}
	return p.body, true
}

func (s *sharedPages) put(key string, body []byte, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pages == nil || len(s.pages) >= sharedMax {
		s.pages = make(map[string]sharedPage)
	}
	s.pages[key] = sharedPage{body: body, expires: now.Add(sharedTTL)}
}

// RenderShared is Render for a page whose content depends only on the
// language, such as the front page: an anonymous visitor gets the bytes
// rendered for another visitor with the same view in the last few seconds,
// and data, which loads the page's Data for a language, is not called.
// Everyone else (a logged-in viewer, a notice to show, any query other
// than the language switch) gets Render as usual. The header's links are
// decided for every request, so "Chat" appears the moment advisors come
// online.
func (f *Frontend) RenderShared(c *fiber.Ctx, name string, p Page, data func(lang string) (any, error)) error {
	if p.Notice == "" {
		p.Notice = f.TakeFlash(c)
	}
	v := f.view(c, p)
	key, shared := sharedKey(c, name, v)
	if shared {
		if body, ok := f.shared.get(key, f.now()); ok {
			return f.send(c, fiber.StatusOK, v, body)
		}
	}
	d, err := data(v.Lang)
	if err != nil {
		return err
	}
	v.Data = d
	body, err := f.execute(name, v)
	if err != nil {
		return err
	}
	if shared {
		f.shared.put(key, body, f.now())
	}
	return f.send(c, fiber.StatusOK, v, body)
}

// sharedKey names what an anonymous view of the page depends on; shared is
// false when the page must be rendered for this request alone.
func sharedKey(c *fiber.Ctx, name string, v *View) (key string, shared bool) {
	q := string(c.Request().URI().QueryString())
	if v.Viewer != nil || v.Notice != "" || v.Form.HasErrors() || (q != "" && !isLangQuery(q)) {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%d", name, v.Lang, v.Path, q, v.Year)
	for _, l := range v.HeaderLinks {
		fmt.Fprintf(&b, "|%s %t %d", l.URL, l.Current, l.Count)
	}
	return b.String(), true
}

func isLangQuery(q string) bool {
	code, ok := strings.CutPrefix(q, "lang=")
	return ok && (code == "fi" || code == "sv" || code == "en")
}
