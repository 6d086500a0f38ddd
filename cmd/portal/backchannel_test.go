package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/oidctest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestBackchannelLogoutAcrossInstances: two instances share PostgreSQL and
// Redis and one third-party provider. An advisor logs in at the first and
// has her chat socket open there; the provider posts a logout token to the
// second. Her session ends everywhere and the first instance closes her
// socket with "session ended"; the same token posted again is refused.
func TestBackchannelLogoutAcrossInstances(t *testing.T) {
	dbURL := dbtest.PostgresSchemaURL(t)
	redisURL := dbtest.RedisURL(t)
	_, prefix := dbtest.Redis(t)
	lnA, lnB := listenLoopback(t), listenLoopback(t)
	urlA := "http://" + lnA.Addr().String()
	idp := oidctest.New(t, "portal", "portal-secret", urlA+"/auth/callback")
	idp.SetUser(oidctest.Claims{Subject: "advisor-1", Name: "Minna Järvinen", Roles: []string{"neuvoja"}})
	env := map[string]string{
		"PORTAL_DATABASE_URL":       dbURL,
		"PORTAL_REDIS_URL":          redisURL,
		"PORTAL_SESSION_STORE":      "redis",
		"PORTAL_CHAT_REDIS_PREFIX":  prefix + "chat:",
		"PORTAL_SECRET_KEY":         strings.Repeat("s", 32),
		"PORTAL_OIDC_ISSUER":        idp.URL,
		"PORTAL_OIDC_CLIENT_ID":     idp.ClientID,
		"PORTAL_OIDC_CLIENT_SECRET": idp.ClientSecret,
		"PORTAL_OIDC_ROLE_MAP":      "neuvoja=advisor",
	}
	startPortalOn(t, lnA, env)
	b := startPortalOn(t, lnB, env)

	br := newBrowser(t)
	resp, _ := br.get(urlA + "/desk")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/desk" {
		t.Fatalf("advisor login ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	sid := idp.LastSID()
	if sid == "" {
		t.Fatal("the provider issued no sid")
	}

	u, err := url.Parse(urlA)
	if err != nil {
		t.Fatal(err)
	}
	var cookies []string
	for _, c := range br.c.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	h := http.Header{"Cookie": {strings.Join(cookies, "; ")}, "Origin": {urlA}}
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial("ws://"+u.Host+"/chat/ws", h)
	if err != nil {
		t.Fatalf("chat socket: %v", err)
	}
	defer func() { _ = conn.Close() }()
	if err := conn.WriteJSON(map[string]any{"type": "hello"}); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("no welcome: %v", err)
		}
		var f struct{ Type string }
		if json.Unmarshal(data, &f) == nil && f.Type == "welcome" {
			break
		}
	}

	token := idp.LogoutToken(oidctest.LogoutToken{SID: sid})
	post := func() int {
		t.Helper()
		resp, err := http.PostForm(b.url+auth.BackchannelPath, url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := post(); got != http.StatusOK {
		t.Fatalf("back-channel logout at the other instance: %d", got)
	}
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue // frames sent before the close
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4401 {
			t.Errorf("socket ended with %v, want close 4401 (session ended)", err)
		}
		break
	}
	noFollow := *br.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noFollow.Get(urlA + "/desk")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("after the logout the desk answers %d → %q, want the login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := post(); got != http.StatusBadRequest {
		t.Errorf("the same logout token again: %d, want 400", got)
	}
}
