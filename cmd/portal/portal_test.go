package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// testPortal is the whole portal, built as `portal serve` builds it, with
// the development provider, on loopback ports of its own.
type testPortal struct {
	url string
	s   *server
}

func startPortal(t testing.TB, extra map[string]string) *testPortal {
	t.Helper()
	return startPortalOn(t, listenLoopback(t), extra)
}

func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startPortalOn is startPortal on a listener of the caller's, whose address
// is then known before the portal starts.
func startPortalOn(t testing.TB, ln net.Listener, extra map[string]string) *testPortal {
	t.Helper()
	base := "http://" + ln.Addr().String()
	m := map[string]string{
		"PORTAL_LISTEN":         ln.Addr().String(),
		"PORTAL_PUBLIC_URL":     base,
		"PORTAL_DATA_DIR":       t.TempDir(),
		"PORTAL_DEV_IDP_LISTEN": "127.0.0.1:0",
		"PORTAL_METRICS_LISTEN": "127.0.0.1:0",
	}
	for k, v := range extra {
		m[k] = v
	}
	cfg, err := loadConfig(env(m), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := build(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := s.app.Listener(ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := s.close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testPortal{url: base, s: s}
}

// browser is an HTTP client with a cookie jar that follows redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 15 * time.Second}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenID   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	portalCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
)

// login opens path, which needs a login, picks subject on the development
// provider's page and returns the page the portal finally shows.
func (b *browser) login(base, path, subject string) (*http.Response, string) {
	b.t.Helper()
	resp, body := b.get(base + path)
	if !strings.Contains(body, subject) {
		b.t.Fatalf("expected the provider's picker offering %s, got %d at %s", subject, resp.StatusCode, resp.Request.URL)
	}
	m1, m2, m3 := formAction.FindStringSubmatch(body), hiddenID.FindStringSubmatch(body), hiddenCSRF.FindStringSubmatch(body)
	if m1 == nil || m2 == nil || m3 == nil {
		b.t.Fatal("picker form not found")
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(m1[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	return b.post(action.String(), url.Values{"id": {m2[1]}, "csrf": {html.UnescapeString(m3[1])}, "user": {subject}})
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := portalCSRF.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no _csrf field on the page")
	}
	return html.UnescapeString(m[1])
}

// storageVariants runs fn on SQLite with database sessions, and on
// PostgreSQL with Redis sessions when the test services are configured.
func storageVariants(t *testing.T, fn func(t *testing.T, p *testPortal)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startPortal(t, nil)) })
	t.Run("postgres+redis", func(t *testing.T) {
		dbURL := dbtest.PostgresSchemaURL(t)
		redisURL := dbtest.RedisURL(t)
		fn(t, startPortal(t, map[string]string{
			"PORTAL_DATABASE_URL": dbURL, "PORTAL_REDIS_URL": redisURL, "PORTAL_SESSION_STORE": "redis",
		}))
	})
}

// startInstances starts n portals in the production shape: one PostgreSQL
// schema, one Redis (the chat's channels under a prefix of the test's own),
// Redis sessions, one secret key and one OpenID provider, shared as several
// instances behind a load balancer share them. Each instance keeps its own
// address, so a browser session stays on the one it started on. Without the
// test services it skips, or fails when CI=true.
func startInstances(t *testing.T, n int, extra map[string]string) []*testPortal {
	t.Helper()
	dbURL := dbtest.PostgresSchemaURL(t)
	redisURL := dbtest.RedisURL(t)
	_, prefix := dbtest.Redis(t)
	lns := make([]net.Listener, n)
	urls := make([]*url.URL, n)
	for i := range lns {
		lns[i] = listenLoopback(t)
		urls[i] = &url.URL{Scheme: "http", Host: lns[i].Addr().String()}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	idp, client, err := startDevIDP("127.0.0.1:0", "roles", urls...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := idp.Close(); err != nil {
			t.Errorf("close the provider: %v", err)
		}
	})
	env := map[string]string{
		"PORTAL_DATABASE_URL":       dbURL,
		"PORTAL_REDIS_URL":          redisURL,
		"PORTAL_SESSION_STORE":      "redis",
		"PORTAL_CHAT_REDIS_PREFIX":  prefix + "chat:",
		"PORTAL_SECRET_KEY":         hex.EncodeToString(key),
		"PORTAL_OIDC_ISSUER":        client.Issuer,
		"PORTAL_OIDC_CLIENT_ID":     client.ClientID,
		"PORTAL_OIDC_CLIENT_SECRET": client.ClientSecret,

		"PORTAL_STAFF_OIDC_REGION_CLAIM": "region",
		// The login and form limits are counted in Redis per client address,
		// and every test on this machine comes from 127.0.0.1: tests running
		// at the same time would refuse each other's logins. The limits have
		// tests of their own (TestContactRateLimit, on one instance).
		"PORTAL_LOGIN_RATE_LIMIT": "10000",
		"PORTAL_FORM_RATE_LIMIT":  "10000",
	}
	for k, v := range extra {
		env[k] = v
	}
	ps := make([]*testPortal, n)
	for i, ln := range lns {
		// One after the other, as a rolling start: the first migrates and
		// seeds the schema, the others find it done.
		ps[i] = startPortalOn(t, ln, env)
	}
	return ps
}

func TestDevLoginRoundTripAndLogout(t *testing.T) {
	storageVariants(t, func(t *testing.T, p *testPortal) {
		b := newBrowser(t)
		resp, page := b.login(p.url, "/my", "demo-resident-aino")
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/my" {
			t.Fatalf("after login: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		if !strings.Contains(page, "Aino Asukas") {
			t.Error("my page does not show the user's name")
		}
		if !strings.Contains(page, `lang="fi"`) {
			t.Error("page is not in Finnish by default")
		}
		stale := b.c.Jar.Cookies(resp.Request.URL)

		// The way to the provider's end-session carries no ID token: it
		// would put the person's name and e-mail in a URL.
		var hops []string
		b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			hops = append(hops, req.URL.String())
			return nil
		}
		resp, page = b.post(p.url+"/logout", url.Values{"_csrf": {csrfOf(t, page)}})
		b.c.CheckRedirect = nil
		for _, h := range hops {
			if strings.Contains(h, "id_token_hint") {
				t.Errorf("logout redirect carries the ID token: %.80s…", h)
			}
		}
		if len(hops) < 2 {
			t.Errorf("logout went %v, want through the provider's end-session", hops)
		}
		if resp.Request.URL.Path != "/" || resp.Request.URL.Query().Get("logged_out") == "" {
			t.Errorf("logout ended at %s, want the front page via the provider's end-session", resp.Request.URL)
		}
		if strings.Contains(page, "Aino Asukas") {
			t.Error("front page still shows the user after logout")
		}

		// The old cookie no longer opens a session.
		old := newBrowser(t)
		old.c.Jar.SetCookies(resp.Request.URL, stale)
		old.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, _ = old.get(p.url + "/my")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("old cookie after logout: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestRolesOnPages(t *testing.T) {
	p := startPortal(t, nil)
	cases := []struct {
		subject string
		path    string
		want    int
	}{
		{"demo-resident-aino", "/desk", http.StatusForbidden},
		{"demo-resident-aino", "/admin/access-log", http.StatusForbidden},
		{"demo-advisor-east-1", "/desk", http.StatusOK},
		{"demo-advisor-east-1", "/admin/access-log", http.StatusForbidden},
		{"demo-admin", "/admin/access-log", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.subject+tc.path, func(t *testing.T) {
			b := newBrowser(t)
			resp, page := b.login(p.url, tc.path, tc.subject)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusForbidden && !strings.Contains(page, "403") && !strings.Contains(page, "oikeutta") {
				t.Error("403 page is not the translated error page")
			}
		})
	}
}

func TestAccessLogPage(t *testing.T) {
	p := startPortal(t, nil)
	b := newBrowser(t)
	_, page := b.login(p.url, "/admin/access-log", "demo-admin")
	csrf := csrfOf(t, page)
	const viewed = "Luki lokitietoja" // access_log.view, translated
	// The first view was itself logged; the page lists it in words.
	resp, page := b.get(p.url + "/admin/access-log")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, viewed) || !strings.Contains(page, "Lokitietojen sivu") ||
		!strings.Contains(page, "Pirjo Pääkäyttäjä") || strings.Contains(page, "access_log.view") {
		t.Fatalf("access log page does not list the admin's own view in words (%d): %s", resp.StatusCode, page)
	}
	// The filter is posted: a name never enters the URL.
	if !strings.Contains(page, `<form class="filter-form" method="post" action="/admin/access-log"`) {
		t.Error("the filter form is not posted")
	}
	resp, page = b.post(p.url+"/admin/access-log", url.Values{"_csrf": {csrf}, "action": {"access_log"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, viewed) || resp.Request.URL.RawQuery != "" {
		t.Fatalf("filter by action (%d, %q)", resp.StatusCode, resp.Request.URL)
	}
	resp, page = b.post(p.url+"/admin/access-log", url.Values{"_csrf": {csrf}, "from": {"yesterday"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(page, viewed) {
		t.Errorf("a bad date: %d; want 422 with the form error and no rows", resp.StatusCode)
	}
	resp, page = b.post(p.url+"/admin/access-log", url.Values{"_csrf": {csrf}, "actor": {"nobody-of-that-name"}})
	if resp.StatusCode != http.StatusOK || strings.Contains(page, viewed) {
		t.Errorf("filter by unknown actor still lists rows (%d)", resp.StatusCode)
	}
	// A filter in the URL is not read.
	if _, page = b.get(p.url + "/admin/access-log?actor=nobody-of-that-name"); !strings.Contains(page, viewed) {
		t.Error("a filter in the query string was applied")
	}
	if resp, _ = b.post(p.url+"/admin/access-log", url.Values{"actor": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a filter posted without the CSRF token: %d, want 403", resp.StatusCode)
	}
}

func TestLogoutWithoutCSRFChangesNothing(t *testing.T) {
	p := startPortal(t, nil)
	b := newBrowser(t)
	b.login(p.url, "/my", "demo-resident-matti")
	resp, _ := b.post(p.url+"/logout", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without token: %d, want 403", resp.StatusCode)
	}
	resp, page := b.get(p.url + "/my")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Matti Meikäläinen") {
		t.Error("the session did not survive a refused logout")
	}
}

func TestProbesAndHeaders(t *testing.T) {
	p := startPortal(t, nil)
	b := newBrowser(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, _ := b.get(p.url + path); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	resp, page := b.get(p.url + "/")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	for _, want := range []string{"/booking", "/chat", "#phone-numbers", "09 310 10004", "ma–pe 9–15"} {
		if !strings.Contains(page, want) {
			t.Errorf("front page lacks %q", want)
		}
	}
	if resp, _ := b.get(p.url + "/no-such-page"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
}

func TestInfoPagesInEveryLanguage(t *testing.T) {
	p := startPortal(t, nil)
	b := newBrowser(t)
	want := map[string]map[string]string{
		"/accessibility": {"fi": "Saavutettavuusseloste", "sv": "Tillgänglighetsutlåtande", "en": "Accessibility statement"},
		"/privacy":       {"fi": "Evästeet", "sv": "Kakor", "en": "Cookies"},
		"/feedback":      {"fi": "Kiireellinen asia", "sv": "Brådskande ärende", "en": "Urgent matters"},
	}
	for path, langs := range want {
		for lang, text := range langs {
			resp, page := b.get(p.url + path + "?lang=" + lang)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, text) || strings.Contains(page, "info."+strings.TrimPrefix(path, "/")) {
				t.Errorf("%s in %s: %d, want %q and no untranslated keys", path, lang, resp.StatusCode, text)
			}
		}
	}
	// The feedback service and the supervisory authority are links, each
	// language to its own page.
	links := map[string]map[string]string{
		"/accessibility": {"fi": "https://www.saavutettavuusvaatimukset.fi/", "sv": "https://www.tillganglighetskrav.fi/", "en": "https://www.webaccessibility.fi/"},
		"/feedback":      {"fi": "https://palautteet.hel.fi/fi", "sv": "https://palautteet.hel.fi/sv", "en": "https://palautteet.hel.fi/en"},
	}
	for path, langs := range links {
		for lang, href := range langs {
			if _, page := b.get(p.url + path + "?lang=" + lang); !strings.Contains(page, `href="`+href+`"`) {
				t.Errorf("%s in %s does not link %s", path, lang, href)
			}
		}
	}
}
