package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestNoLinkLeadsNowhere crawls every page each role can reach, following
// every link on this origin, and fails on a link that answers 404 or a
// server error. A link to a page that does not exist yet is a defect.
func TestNoLinkLeadsNowhere(t *testing.T) {
	// The anonymous walk sends every seed that needs a login to /login,
	// and the four logins follow from the same address within a minute:
	// more than the default login rate limit lets through.
	p := startPortal(t, map[string]string{"PORTAL_LOGIN_RATE_LIMIT": "200"})
	seeds := []string{"/", "/my", "/booking", "/chat", "/desk", "/desk/booking", "/desk/availability",
		"/chat/desk", "/chat/admin", "/admin/access-log", "/admin/staff", "/exchange", "/desk/exchange", "/messages", "/messages/new", "/desk/messages", "/desk/messages/new", "/desk/cases", "/desk/cases/new", "/desk/stats", "/desk/cases/payments", "/desk/cases/outreach", "/desk/cases/outreach/import", "/my/case", "/my/data", "/admin/erasure", "/contact", "/desk/contact", "/accessibility", "/privacy", "/feedback"}
	roles := []struct{ name, subject string }{
		{"anonymous", ""},
		{"resident", "demo-resident-aino"},
		{"advisor", "demo-advisor-east-1"},
		{"admin", "demo-admin"},
	}
	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			b := newBrowser(t)
			origin, err := url.Parse(p.url)
			if err != nil {
				t.Fatal(err)
			}
			// Redirects off this origin (to the provider's login) end the walk there.
			b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if req.URL.Host != origin.Host {
					return http.ErrUseLastResponse
				}
				return nil
			}
			if role.subject != "" {
				login := newBrowser(t)
				login.c.Jar = b.c.Jar
				login.login(p.url, "/my", role.subject)
			}
			pages, links := crawl(t, b, p.url, seeds, 400)
			t.Logf("%s: %d pages fetched, %d links checked", role.name, pages, links)
			if pages < len(seeds) {
				t.Errorf("only %d pages fetched", pages)
			}
		})
	}
}

var hrefAttr = regexp.MustCompile(`<a\s[^>]*href="([^"]*)"`)

// crawl walks the portal from seeds and returns how many pages it fetched
// and how many links it checked, failing on any that answer 404 or 5xx.
func crawl(t *testing.T, b *browser, base string, seeds []string, limit int) (pages, links int) {
	t.Helper()
	seen := map[string]string{} // target → the page that linked to it
	perPath := map[string]int{} // queries fetched per path: calendars page on forever
	queue := []string{}
	add := func(target, from string) {
		links++
		if _, ok := seen[target]; ok {
			return
		}
		path, _, _ := strings.Cut(target, "?")
		if perPath[path]++; perPath[path] > 6 {
			return
		}
		seen[target] = from
		queue = append(queue, target)
	}
	for _, s := range seeds {
		add(s, "(seed)")
	}
	for len(queue) > 0 && pages < limit {
		target := queue[0]
		queue = queue[1:]
		resp, body := b.get(base + target)
		pages++
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 500 {
			t.Errorf("%s (linked from %s) answers %d", target, seen[target], resp.StatusCode)
			continue
		}
		if resp.Request.URL.Host != strings.TrimPrefix(base, "http://") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		for _, m := range hrefAttr.FindAllStringSubmatch(body, -1) {
			if next, ok := internal(html.UnescapeString(m[1]), resp.Request.URL); ok {
				add(next, target)
			}
		}
	}
	if len(queue) > 0 {
		t.Errorf("stopped at %d pages with %d still to visit: raise the limit", pages, len(queue))
	}
	return pages, links
}

// internal resolves href against the page and returns the path and query
// of a link on this origin worth fetching: not the login, the logout, the
// provider or a static asset.
func internal(href string, page *url.URL) (string, bool) {
	u, err := page.Parse(href)
	if err != nil || u.Host != page.Host || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	for _, skip := range []string{"/login", "/logout", "/auth/", "/assets/"} {
		if strings.HasPrefix(u.Path, skip) {
			return "", false
		}
	}
	q := u.Query()
	q.Del("lang") // every page is checked in Finnish; the language pages are tested on their own
	u.RawQuery = q.Encode()
	return u.RequestURI(), true
}
