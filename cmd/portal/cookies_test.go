package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestOneCookieRule: every cookie the portal sets is Secure, and the
// session and CSRF cookies __Host- prefixed, exactly when the public URL
// is https — whatever PORTAL_ENV says.
func TestOneCookieRule(t *testing.T) {
	for _, https := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[https]
		t.Run(name, func(t *testing.T) {
			ln := listenLoopback(t)
			public := "http://" + ln.Addr().String()
			if https {
				public = "https://" + ln.Addr().String()
			}
			startPortalOn(t, ln, map[string]string{"PORTAL_PUBLIC_URL": public})
			base := "http://" + ln.Addr().String()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var cookies []*http.Cookie
			for _, path := range []string{"/?lang=sv", "/login", "/booking"} {
				resp, err := client.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				cookies = append(cookies, resp.Cookies()...)
			}
			seen := map[string]bool{}
			for _, c := range cookies {
				seen[strings.TrimPrefix(c.Name, "__Host-")] = true
				if c.Secure != https {
					t.Errorf("cookie %s: Secure=%v", c.Name, c.Secure)
				}
				if c.Name == "asn_session" || c.Name == "asn_csrf" || strings.HasPrefix(c.Name, "__Host-") {
					if strings.HasPrefix(c.Name, "__Host-") != https {
						t.Errorf("cookie %s: __Host- prefix should be %v", c.Name, https)
					}
				}
			}
			for _, want := range []string{"lang", "asn_login_state", "asn_csrf"} {
				if !seen[want] {
					t.Errorf("no %s cookie among %v", want, cookies)
				}
			}
		})
	}
}
