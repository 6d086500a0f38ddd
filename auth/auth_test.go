package auth_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/oidctest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// harness is the auth machinery mounted on a real listener, with a
// protected page that prints the user's name and a form endpoint that
// counts successful posts.
type harness struct {
	url    string
	idp    *oidctest.Provider
	db     *database.DB
	a      *auth.Auth
	posted int
	logs   syncBuffer
}

func newHarness(t *testing.T, db *database.DB, secure bool) *harness {
	t.Helper()
	return newHarnessRoles(t, db, secure, []auth.Role{auth.RoleResident, auth.RoleAdvisor, auth.RoleAdmin})
}

func newHarnessRoles(t *testing.T, db *database.DB, secure bool, roles []auth.Role) *harness {
	t.Helper()
	return newHarnessWith(t, db, secure, roles, nil)
}

func newHarnessWith(t *testing.T, db *database.DB, secure bool, roles []auth.Role, regions auth.RegionResolver) *harness {
	t.Helper()
	return newHarnessConfig(t, db, func(cfg *auth.Config) {
		cfg.Secure = secure
		cfg.Providers[0].Roles = roles
		cfg.Providers[0].RegionClaim = "region"
		cfg.Regions = regions
	})
}

// newHarnessConfig is the harness with its auth.Config changed by
// configure: one provider, "resident", the test provider's one client,
// all roles.
func newHarnessConfig(t *testing.T, db *database.DB, configure func(*auth.Config)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{url: "http://" + ln.Addr().String(), db: db}
	h.idp = oidctest.New(t, "portal", "portal-secret", h.url+"/auth/callback")
	pub, err := url.Parse(h.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		PublicURL: pub,
		Providers: []auth.ProviderConfig{{
			Name: "resident", Issuer: h.idp.URL, ClientID: "portal", ClientSecret: "portal-secret",
			Roles: []auth.Role{auth.RoleResident, auth.RoleAdvisor, auth.RoleAdmin}, Settings: "PORTAL_OIDC",
		}},
		RoleClaim:   h.idp.RoleClaim(),
		IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour,
		SecretKey: []byte(strings.Repeat("k", 32)),
		Logger:    slog.New(slog.NewTextHandler(&h.logs, nil)),
	}
	configure(&cfg)
	h.a, err = auth.New(cfg, db.Gorm, auth.NewDBSessions(db.Gorm))
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(h.a.Session(), h.a.CSRF())
	h.a.Register(app, func(c *fiber.Ctx) error { return c.Next() })
	app.Get("/my", auth.RequireLogin(), func(c *fiber.Ctx) error {
		return c.SendString("hello " + auth.CurrentUser(c).Name + " csrf=" + h.a.CSRFToken(c))
	})
	app.Get("/desk", auth.RequireRole(auth.RoleAdvisor), func(c *fiber.Ctx) error { return c.SendString("desk") })
	app.Post("/form", func(c *fiber.Ctx) error { h.posted++; return c.SendString("saved") })
	app.Get("/anon-form", func(c *fiber.Ctx) error { return c.SendString(h.a.CSRFToken(c)) })
	go func() {
		if err := app.Listener(ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newClient(t *testing.T, follow bool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func sessionCount(t *testing.T, db *database.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Raw("SELECT COUNT(*) FROM sessions").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// login walks the protected page → provider → callback round trip and
// returns the page's body.
func (h *harness) login(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, body := get(t, c, h.url+"/my")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after login: %d %s", resp.StatusCode, body)
	}
	return body
}

func TestLoginRoundTripAndLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db, false)
		h.idp.SetUser(oidctest.Claims{Subject: "r1", Name: "Aino Asukas", Roles: []string{"resident"}})
		c := newClient(t, true)
		body := h.login(t, c)
		if !strings.HasPrefix(body, "hello Aino Asukas") {
			t.Fatalf("page = %q, want the user's name", body)
		}
		var cookie *http.Cookie
		pub, err := url.Parse(h.url)
		if err != nil {
			t.Fatal(err)
		}
		for _, ck := range c.Jar.Cookies(pub) {
			if ck.Name == "asn_session" {
				cookie = ck
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie")
		}
		token := strings.TrimPrefix(body[strings.Index(body, "csrf="):], "csrf=")

		// Logout with the session's CSRF token: the provider's end-session
		// endpoint is visited and the old cookie stops working.
		form := url.Values{"_csrf": {token}}
		resp, err := c.PostForm(h.url+"/logout", form)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if h.idp.Logouts() != 1 {
			t.Errorf("provider saw %d logouts, want 1", h.idp.Logouts())
		}
		if n := sessionCount(t, db); n != 0 {
			t.Errorf("%d sessions after logout, want 0", n)
		}
		stale := newClient(t, false)
		stale.Jar.SetCookies(pub, []*http.Cookie{{Name: "asn_session", Value: cookie.Value}})
		resp, _ = get(t, stale, h.url+"/my")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("old cookie after logout: %d → %q, want a redirect to the login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestSessionCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "development", true: "production"}[secure], func(t *testing.T) {
			h := newHarness(t, dbtest.SQLite(t), secure)
			c := newClient(t, false)
			// Follow by hand to see the callback's Set-Cookie.
			next := h.url + "/login"
			var setCookie []string
			for i := 0; i < 6 && next != ""; i++ {
				resp, _ := get(t, c, next)
				if strings.HasPrefix(next, h.url+"/auth/callback") {
					setCookie = resp.Header.Values("Set-Cookie")
				}
				next = resp.Header.Get("Location")
				if strings.HasPrefix(next, "/") {
					next = h.url + next
				}
			}
			var sess string
			for _, sc := range setCookie {
				if strings.Contains(sc, "asn_session=") {
					sess = sc
				}
			}
			if sess == "" {
				t.Fatalf("callback set no session cookie: %q", setCookie)
			}
			low := strings.ToLower(sess)
			for _, want := range []string{"httponly", "samesite=lax", "path=/"} {
				if !strings.Contains(low, want) {
					t.Errorf("session cookie %q lacks %s", sess, want)
				}
			}
			if secure != strings.Contains(low, "secure;") && secure != strings.HasSuffix(low, "secure") {
				t.Errorf("session cookie %q: Secure should be %v", sess, secure)
			}
			if secure && !strings.HasPrefix(sess, "__Host-") {
				t.Errorf("production session cookie %q should carry the __Host- prefix", sess)
			}
		})
	}
}

func TestCallbackRejects(t *testing.T) {
	h := newHarness(t, dbtest.SQLite(t), false)

	t.Run("missing or wrong state", func(t *testing.T) {
		for _, q := range []string{"?code=x", "?code=x&state=forged"} {
			c := newClient(t, false)
			resp, _ := get(t, c, h.url+"/auth/callback"+q)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
			}
		}
		if n := sessionCount(t, h.db); n != 0 {
			t.Errorf("%d sessions, want 0", n)
		}
	})

	t.Run("state from another browser", func(t *testing.T) {
		victim := newClient(t, false)
		resp, _ := get(t, victim, h.url+"/login")
		resp, _ = get(t, victim, resp.Header.Get("Location"))
		callback := resp.Header.Get("Location") // provider → portal callback with code and state
		attacker := newClient(t, false)
		resp, _ = get(t, attacker, callback)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback in another browser: %d, want 400", resp.StatusCode)
		}
		if n := sessionCount(t, h.db); n != 0 {
			t.Errorf("%d sessions, want 0", n)
		}
	})

	t.Run("replayed code", func(t *testing.T) {
		c := newClient(t, false)
		resp, _ := get(t, c, h.url+"/login")
		state := cookieValue(t, resp, "asn_login_state")
		resp, _ = get(t, c, resp.Header.Get("Location"))
		callback := resp.Header.Get("Location")
		resp, _ = get(t, c, callback)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback: %d", resp.StatusCode)
		}
		before := sessionCount(t, h.db)
		// Replay the same code and state, state cookie restored.
		replay := newClient(t, false)
		u, err := url.Parse(h.url + "/auth/callback")
		if err != nil {
			t.Fatal(err)
		}
		replay.Jar.SetCookies(u, []*http.Cookie{{Name: "asn_login_state", Value: state}})
		resp, _ = get(t, replay, callback)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("replayed callback: %d, want 400", resp.StatusCode)
		}
		if after := sessionCount(t, h.db); after != before {
			t.Errorf("replay created a session (%d → %d)", before, after)
		}
	})

	for _, f := range []oidctest.Fault{oidctest.WrongNonce, oidctest.WrongAudience, oidctest.Expired, oidctest.BadSignature, oidctest.WrongIssuer} {
		t.Run("id token "+f.String(), func(t *testing.T) {
			h.idp.SetFault(f)
			defer h.idp.SetFault(oidctest.None)
			before := sessionCount(t, h.db)
			c := newClient(t, true)
			resp, _ := get(t, c, h.url+"/my")
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if after := sessionCount(t, h.db); after != before {
				t.Errorf("a session was created (%d → %d)", before, after)
			}
		})
	}
}

func cookieValue(t *testing.T, resp *http.Response, name string) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie", name)
	return ""
}

func TestCSRFAndRoles(t *testing.T) {
	h := newHarness(t, dbtest.SQLite(t), false)
	h.idp.SetUser(oidctest.Claims{Subject: "r2", Name: "Matti", Roles: []string{"resident"}})
	c := newClient(t, true)
	body := h.login(t, c)
	token := body[strings.Index(body, "csrf=")+5:]

	post := func(form url.Values, header map[string]string) int {
		req, err := http.NewRequest(http.MethodPost, h.url+"/form", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	cases := []struct {
		name   string
		form   url.Values
		header map[string]string
		want   int
		saved  bool
	}{
		{"no token", url.Values{"x": {"1"}}, nil, http.StatusForbidden, false},
		{"wrong token", url.Values{"_csrf": {"nope"}}, nil, http.StatusForbidden, false},
		{"token from another origin", url.Values{"_csrf": {token}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, false},
		{"form token", url.Values{"_csrf": {token}}, nil, http.StatusOK, true},
		{"header token", url.Values{}, map[string]string{"X-CSRF-Token": token}, http.StatusOK, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.posted
			if got := post(tc.form, tc.header); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
			if saved := h.posted > before; saved != tc.saved {
				t.Errorf("handler ran = %v, want %v", saved, tc.saved)
			}
		})
	}

	t.Run("anonymous signed token", func(t *testing.T) {
		anon := newClient(t, true)
		_, tok := get(t, anon, h.url+"/anon-form")
		resp, err := anon.PostForm(h.url+"/form", url.Values{"_csrf": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("anonymous post with its token: %d", resp.StatusCode)
		}
		// The same token in a browser without the cookie is refused.
		other := newClient(t, true)
		resp, err = other.PostForm(h.url+"/form", url.Values{"_csrf": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("token without its cookie: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("resident on an advisor page", func(t *testing.T) {
		resp, _ := get(t, c, h.url+"/desk")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
}

func TestResidentProviderCannotGrantStaff(t *testing.T) {
	cases := []struct {
		name    string
		allowed []auth.Role
		claims  []string
		desk    int
	}{
		{"resident-only provider ignores an admin claim", []auth.Role{auth.RoleResident}, []string{"admin"}, http.StatusForbidden},
		{"shared provider grants the claimed advisor", []auth.Role{auth.RoleResident, auth.RoleAdvisor, auth.RoleAdmin}, []string{"advisor"}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessRoles(t, dbtest.SQLite(t), false, tc.allowed)
			h.idp.SetUser(oidctest.Claims{Subject: "s", Name: "Someone", Roles: tc.claims})
			c := newClient(t, true)
			h.login(t, c)
			if resp, _ := get(t, c, h.url+"/desk"); resp.StatusCode != tc.desk {
				t.Errorf("desk: %d, want %d", resp.StatusCode, tc.desk)
			}
		})
	}
	t.Run("staff provider without a known role refuses the login", func(t *testing.T) {
		h := newHarnessRoles(t, dbtest.SQLite(t), false, []auth.Role{auth.RoleAdvisor, auth.RoleAdmin})
		h.idp.SetUser(oidctest.Claims{Subject: "x", Name: "Nobody", Roles: []string{"janitor"}})
		if resp, _ := get(t, newClient(t, true), h.url+"/my"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
		if n := sessionCount(t, h.db); n != 0 {
			t.Errorf("%d sessions, want 0", n)
		}
	})
}

func TestLoginAgainReplacesTheSession(t *testing.T) {
	h := newHarness(t, dbtest.SQLite(t), false)
	c := newClient(t, true)
	h.login(t, c)
	if resp, _ := get(t, c, h.url+"/login"); resp.StatusCode != http.StatusOK {
		t.Fatalf("second login: %d", resp.StatusCode)
	}
	if n := sessionCount(t, h.db); n != 1 {
		t.Errorf("%d sessions after logging in twice in one browser, want 1", n)
	}
}
