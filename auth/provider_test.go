package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/oidctest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestProviderFaults: a provider that hangs, fails or refuses the client
// is told apart from a bad login. The person gets "the login service is
// not answering" (503) within the deadline, the operator an ERROR naming
// the settings (never the secret); a cancelled login gets its own page.
func TestProviderFaults(t *testing.T) {
	const timeout = 500 * time.Millisecond
	cases := []struct {
		name    string
		fault   oidctest.Fault
		secret  string
		status  int
		message string
		log     []string // what the log must say
	}{
		{"token endpoint hangs", oidctest.HangToken, "", http.StatusServiceUnavailable, auth.MsgLoginUnavailable, []string{"level=ERROR", "not answering"}},
		{"key fetch hangs", oidctest.HangKeys, "", http.StatusServiceUnavailable, auth.MsgLoginUnavailable, []string{"level=ERROR", "key fetch"}},
		{"token endpoint fails", oidctest.TokenServerError, "", http.StatusServiceUnavailable, auth.MsgLoginUnavailable, []string{"level=ERROR", "status 500"}},
		{"wrong client secret", oidctest.None, "wrong-secret", http.StatusServiceUnavailable, auth.MsgLoginUnavailable,
			[]string{"level=ERROR", "invalid_client", "PORTAL_OIDC_CLIENT_SECRET"}},
		{"person cancels", oidctest.DenyAccess, "", http.StatusBadRequest, auth.MsgLoginCancelled, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := dbtest.SQLite(t)
			h := newHarnessConfig(t, db, func(cfg *auth.Config) {
				cfg.Timeout = timeout
				if tc.secret != "" {
					cfg.Providers[0].ClientSecret = tc.secret
				}
			})
			h.idp.SetFault(tc.fault)
			c := newClient(t, true)
			start := time.Now()
			resp, body := get(t, c, h.url+"/my")
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.message) {
				t.Errorf("status %d %q, want %d %s", resp.StatusCode, body, tc.status, tc.message)
			}
			// The client's own timeout is 10 s: an answer at all proves the
			// deadline; this bound only catches a deadline gone astray.
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("answered after %v; the provider deadline is %v", took, timeout)
			}
			if n := sessionCount(t, db); n != 0 {
				t.Errorf("%d sessions, want 0", n)
			}
			logs := h.logs.String()
			for _, want := range tc.log {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, "wrong-secret") || strings.Contains(logs, "portal-secret") {
				t.Errorf("a client secret reached the log:\n%s", logs)
			}
			// The provider recovers: the next login works.
			h.idp.SetFault(oidctest.None)
			if tc.secret == "" {
				h.login(t, newClient(t, true))
			}
		})
	}

	t.Run("provider down at login", func(t *testing.T) {
		db := dbtest.SQLite(t)
		h := newHarnessConfig(t, db, func(cfg *auth.Config) {
			cfg.Timeout = timeout
			cfg.Providers[0].Issuer = "http://127.0.0.1:1" // nothing listens there
		})
		resp, body := get(t, newClient(t, true), h.url+"/login")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, auth.MsgLoginUnavailable) {
			t.Errorf("status %d %q, want 503 %s", resp.StatusCode, body, auth.MsgLoginUnavailable)
		}
		if !strings.Contains(h.logs.String(), "level=ERROR") {
			t.Errorf("no ERROR logged:\n%s", h.logs.String())
		}
	})
}

// TestRolesScope: a provider that puts roles in the token only for a
// scope asked for grants a role once that scope is configured.
func TestRolesScope(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scopes []string
		status int
	}{
		{"scope not asked for", nil, http.StatusBadRequest},
		{"scope asked for", []string{"profile", "email", "groups"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessConfig(t, dbtest.SQLite(t), func(cfg *auth.Config) {
				cfg.Providers[0].Roles = []auth.Role{auth.RoleAdvisor, auth.RoleAdmin}
				cfg.Providers[0].Scopes = tc.scopes
			})
			h.idp.SetRolesScope("groups")
			h.idp.SetUser(oidctest.Claims{Subject: "a1", Name: "Advisor", Roles: []string{"advisor"}})
			resp, body := get(t, newClient(t, true), h.url+"/desk")
			if resp.StatusCode != tc.status {
				t.Errorf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

// TestKeycloakRealmRoles: the role is read from Keycloak's nested
// realm_access.roles and mapped to the portal's names.
func TestKeycloakRealmRoles(t *testing.T) {
	h := newHarnessConfig(t, dbtest.SQLite(t), func(cfg *auth.Config) {
		cfg.Providers[0].Roles = []auth.Role{auth.RoleAdvisor, auth.RoleAdmin}
		cfg.RoleClaim = "realm_access.roles"
		cfg.RoleMap = map[string]auth.Role{"asumisneuvoja": auth.RoleAdvisor}
	})
	h.idp.SetUser(oidctest.Claims{Subject: "kc-1", Name: "Keycloak Advisor", Extra: map[string]any{
		"realm_access": map[string]any{"roles": []string{"offline_access", "asumisneuvoja"}},
	}})
	resp, body := get(t, newClient(t, true), h.url+"/desk")
	if resp.StatusCode != http.StatusOK || body != "desk" {
		t.Errorf("status %d %q, want the desk", resp.StatusCode, body)
	}
}

// TestMetadataRefresh: an end_session_endpoint the provider adds later is
// used once the metadata is read again.
func TestMetadataRefresh(t *testing.T) {
	h := newHarnessConfig(t, dbtest.SQLite(t), func(cfg *auth.Config) { cfg.MetadataTTL = 50 * time.Millisecond })
	h.idp.SetEndSession(false)
	logoutTo := func() string {
		t.Helper()
		c := newClient(t, true)
		body := h.login(t, c)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		csrf := body[strings.Index(body, "csrf=")+5:]
		resp, err := c.PostForm(h.url+"/logout", url.Values{"_csrf": {csrf}})
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("Location")
	}
	if to := logoutTo(); strings.HasPrefix(to, h.idp.URL) {
		t.Fatalf("logout went to %s though the provider has no end-session endpoint", to)
	}
	h.idp.SetEndSession(true)
	time.Sleep(60 * time.Millisecond)
	if to := logoutTo(); !strings.HasPrefix(to, h.idp.URL+"/end_session") {
		t.Errorf("logout went to %s; the provider's new end-session endpoint was not picked up", to)
	}
}

// TestRequiredACR: a resident login below the required assurance level is
// refused with its own page; acr_values asks the provider for it; staff
// logins are not affected.
func TestRequiredACR(t *testing.T) {
	h := newHarnessConfig(t, dbtest.SQLite(t), func(cfg *auth.Config) {
		cfg.Providers[0].Roles = []auth.Role{auth.RoleResident}
		cfg.Providers[0].RequiredACR = []string{"substantial", "high"}
		staff := cfg.Providers[0]
		staff.Name, staff.Roles, staff.RequiredACR = "staff", []auth.Role{auth.RoleAdvisor, auth.RoleAdmin}, nil
		cfg.Providers = append(cfg.Providers, staff)
	})
	h.idp.SetUser(oidctest.Claims{Subject: "weak", Name: "Weak Login", ACR: "low"})
	resp, body := get(t, newClient(t, true), h.url+"/my")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, auth.MsgLoginWeak) {
		t.Errorf("weak login: %d %q, want 403 %s", resp.StatusCode, body, auth.MsgLoginWeak)
	}
	if got := h.idp.LastACRValues(); got != "substantial high" {
		t.Errorf("acr_values %q, want \"substantial high\"", got)
	}
	if n := sessionCount(t, h.db); n != 0 {
		t.Errorf("%d sessions after a refused login", n)
	}
	h.idp.SetUser(oidctest.Claims{Subject: "strong", Name: "Strong Login", ACR: "substantial"})
	h.login(t, newClient(t, true))

	h.idp.SetUser(oidctest.Claims{Subject: "staff", Name: "Advisor", Roles: []string{"advisor"}})
	c := newClient(t, true)
	if resp, _ := get(t, c, h.url+"/login/staff?return=/desk"); resp.StatusCode != http.StatusOK {
		t.Errorf("staff login without acr: %d", resp.StatusCode)
	}
	if got := h.idp.LastACRValues(); got != "" {
		t.Errorf("staff login asked for acr_values %q", got)
	}
}

// TestStaffAndResidentOnOneIssuer: with the resident and staff clients on
// one issuer, an advisor who logs in as a resident stays an advisor in her
// staff session: the two identities are two users.
func TestStaffAndResidentOnOneIssuer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarnessConfig(t, db, func(cfg *auth.Config) {
			cfg.Providers[0].Roles = []auth.Role{auth.RoleResident}
			staff := cfg.Providers[0]
			staff.Name, staff.Roles, staff.Settings = "staff", []auth.Role{auth.RoleAdvisor, auth.RoleAdmin}, "PORTAL_STAFF_OIDC"
			cfg.Providers = append(cfg.Providers, staff)
		})
		h.idp.SetUser(oidctest.Claims{Subject: "same-person", Name: "Aino Neuvoja", Roles: []string{"advisor"}})
		staff := newClient(t, true)
		if resp, body := get(t, staff, h.url+"/login/staff?return=/desk"); resp.StatusCode != http.StatusOK || body != "desk" {
			t.Fatalf("staff login: %d %q", resp.StatusCode, body)
		}
		h.login(t, newClient(t, true)) // the same person, as a resident
		if resp, body := get(t, staff, h.url+"/desk"); resp.StatusCode != http.StatusOK || body != "desk" {
			t.Errorf("after her resident login the staff session gets %d %q", resp.StatusCode, body)
		}
		var roles []string
		if err := db.Gorm.Raw("SELECT role FROM users WHERE subject = 'same-person' ORDER BY role").Scan(&roles).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(roles, []string{"advisor", "resident"}) {
			t.Errorf("users %v, want an advisor and a resident", roles)
		}
	})
}

// TestBackchannelLogout: a verified logout token ends the sessions of the
// provider session it names (or of the user, by sub), runs the logout
// hooks, and answers 200; anything the spec forbids, or a replay, gets 400
// and ends nothing.
func TestBackchannelLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db, false)
		var mu sync.Mutex
		var ended []string
		h.a.OnLogout(func(sessionID string, _ int64) {
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, sessionID)
		})
		first := newClient(t, true)
		h.login(t, first)
		sid := h.idp.LastSID()
		second := newClient(t, true)
		h.login(t, second)

		post := func(token string) int {
			t.Helper()
			resp, err := http.PostForm(h.url+auth.BackchannelPath, url.Values{"logout_token": {token}})
			if err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			return resp.StatusCode
		}
		loggedIn := func(c *http.Client) bool {
			t.Helper()
			c2 := *c
			c2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, _ := get(t, &c2, h.url+"/my")
			return resp.StatusCode == http.StatusOK
		}

		for name, bad := range map[string]oidctest.LogoutToken{
			"no event":      {SID: sid, NoEvent: true},
			"nonce":         {SID: sid, Nonce: true},
			"neither":       {},
			"foreign key":   {SID: sid, Rogue: true},
			"other client":  {SID: sid, Audience: "another-client"},
			"too old":       {SID: sid, IssuedAt: time.Now().Add(-time.Hour)},
			"from the past": {SID: sid, IssuedAt: time.Now().Add(time.Hour)},
		} {
			if got := post(h.idp.LogoutToken(bad)); got != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", name, got)
			}
		}
		if got := post("not-a-jwt"); got != http.StatusBadRequest {
			t.Errorf("garbage: %d, want 400", got)
		}
		if !loggedIn(first) || !loggedIn(second) {
			t.Fatal("a refused logout token ended a session")
		}

		token := h.idp.LogoutToken(oidctest.LogoutToken{SID: sid})
		if got := post(token); got != http.StatusOK {
			t.Fatalf("logout by sid: %d, want 200", got)
		}
		if loggedIn(first) || !loggedIn(second) {
			t.Errorf("after logout by sid: first logged in %v (want false), second %v (want true)", loggedIn(first), loggedIn(second))
		}
		mu.Lock()
		if len(ended) != 1 {
			t.Errorf("logout hooks ran for %d sessions, want 1", len(ended))
		}
		mu.Unlock()
		if got := post(token); got != http.StatusBadRequest {
			t.Errorf("replayed token: %d, want 400", got)
		}

		if got := post(h.idp.LogoutToken(oidctest.LogoutToken{Subject: "test-resident"})); got != http.StatusOK {
			t.Fatalf("logout by sub: %d, want 200", got)
		}
		if loggedIn(second) {
			t.Error("logout by sub left the user's other session")
		}
		if n := sessionCount(t, db); n != 0 {
			t.Errorf("%d sessions left", n)
		}
	})
}

// TestBackchannelLogoutRedis: with sessions in Redis the same token ends
// them (the store keeps an index by provider session).
func TestBackchannelLogoutRedis(t *testing.T) {
	rdb, prefix := dbtest.Redis(t)
	store := auth.NewRedisSessions(rdb, prefix, 30*time.Minute)
	db := dbtest.SQLite(t)
	h := newHarnessConfig(t, db, func(*auth.Config) {})
	a, err := auth.New(auth.Config{
		PublicURL: mustURL(t, h.url),
		Providers: []auth.ProviderConfig{{Name: "resident", Issuer: h.idp.URL, ClientID: "portal", ClientSecret: "portal-secret",
			Roles: []auth.Role{auth.RoleResident}}},
		IdleTimeout: time.Hour, MaxAge: time.Hour, SecretKey: []byte(strings.Repeat("k", 32)),
	}, db.Gorm, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := a.Users().Upsert(ctx, &auth.User{Issuer: h.idp.URL, Subject: "r1", Role: auth.RoleResident}, false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.Create(ctx, &auth.Session{ID: "s1", UserID: u.ID, CSRFToken: "c", Provider: "resident", ProviderSID: "op-sid",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := a.BackchannelLogout(ctx, h.idp.LogoutToken(oidctest.LogoutToken{SID: "op-sid"}))
	if err != nil || n != 1 {
		t.Fatalf("logout: %d, %v; want 1 session", n, err)
	}
	if ok, err := a.SessionValid(ctx, "s1"); ok || err != nil {
		t.Errorf("session still valid (%v, %v)", ok, err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestIdentityClaimLinksClientRecord: a resident's first login carrying
// the identity claim takes over the client record staff made with that
// code (one user, the record's phone kept, the provider's name and e-mail
// taken); a claim that is not a valid code links nothing; staff logins'
// claims are not read.
func TestIdentityClaimLinksClientRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarnessConfig(t, db, func(cfg *auth.Config) {
			cfg.Providers[0].Roles = []auth.Role{auth.RoleResident}
			cfg.Providers[0].IdentityClaim = "person.hetu"
		})
		ctx := context.Background()
		users := auth.NewUsers(db.Gorm)
		rec, err := users.CreateClient(ctx, auth.ClientRecord{Name: "Veikko I.", IdentityCode: "110758-901S", Phone: "040 123 4567"})
		if err != nil {
			t.Fatal(err)
		}
		h.idp.SetUser(oidctest.Claims{Subject: "bad-code", Name: "Someone", Extra: map[string]any{"person": map[string]any{"hetu": "110758-901T"}}})
		h.login(t, newClient(t, true))
		if u, err := users.BySubject(ctx, h.idp.URL, "bad-code"); err != nil || u.ID == rec.ID || u.IdentityCode != "" {
			t.Errorf("a login with an invalid code: %+v %v", u, err)
		}
		h.idp.SetUser(oidctest.Claims{Subject: "veikko", Name: "Veikko Ilmanen", Email: "veikko@example.test",
			Extra: map[string]any{"person": map[string]any{"hetu": "110758-901S"}}})
		if body := h.login(t, newClient(t, true)); !strings.Contains(body, "Veikko Ilmanen") {
			t.Errorf("after login: %q", body)
		}
		u, err := users.BySubject(ctx, h.idp.URL, "veikko")
		if err != nil || u.ID != rec.ID || u.IsClientRecord() || u.Phone != "040 123 4567" || u.Name != "Veikko Ilmanen" || u.Email != "veikko@example.test" {
			t.Fatalf("linked user %+v (%v), want record %d", u, err, rec.ID)
		}
		var n int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM users WHERE identity_code = '110758-901S'").Scan(&n).Error; err != nil || n != 1 {
			t.Errorf("%d users with the code (%v)", n, err)
		}
	})
}
