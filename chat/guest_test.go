package chat

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// TestPlantedGuestTokenOpensNothing: someone who plants their own guest
// token in another person's browser (a cookie from a sibling subdomain)
// cannot read the chat that person starts next: every new chat gets a new
// token, and the chat is bound to it.
func TestPlantedGuestTokenOpensNothing(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		region := seedRegion(t, e)
		e.frontend()
		in := e.instance(t)
		advisor := e.user(t, "advisor", "Aila")
		if err := in.svc.store.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
			t.Fatal(err)
		}
		start := func(cookie string) (string, int64) {
			t.Helper()
			resp, _ := in.do(t, "POST", "/chat/start", cookie, url.Values{"topic": {"rent_debt"}, "lang": {"fi"}, "region": {strconv.FormatInt(region.ID, 10)}})
			loc := resp.Header.Get("Location")
			if resp.StatusCode != fiber.StatusSeeOther || !strings.HasPrefix(loc, "/chat/c/") {
				t.Fatalf("start: %d %q", resp.StatusCode, loc)
			}
			var got *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "asn_chat_guest" {
					got = c
				}
			}
			if got == nil {
				t.Fatal("no new guest token on start")
			}
			if got.Path != "/" || !got.HttpOnly {
				t.Errorf("guest cookie path %q httponly %v", got.Path, got.HttpOnly)
			}
			id, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/chat/c/"), 10, 64)
			return got.Name + "=" + got.Value, id
		}

		// The planter starts a chat of their own and plants its token.
		planted, planterConv := start("")
		// The victim, with the planted token in their browser, starts a chat.
		victimCookie, victimConv := start(planted)
		if victimCookie == planted {
			t.Fatal("the planted token was kept")
		}
		if victimConv == planterConv {
			t.Fatal("the victim was sent into the planter's chat")
		}
		if resp, _ := in.do(t, "GET", "/chat/c/"+strconv.FormatInt(victimConv, 10), planted, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the planted token reads the victim's chat page: %d", resp.StatusCode)
		}
		g := mustDial(t, in.url, planted)
		g.join(victimConv, 0)
		if f, ok := g.next(TypeError, 5*time.Second); !ok || f.Code != codeForbidden {
			t.Errorf("the planted token joined the victim's chat: %+v", f)
		}
		if resp, _ := in.do(t, "GET", "/chat/c/"+strconv.FormatInt(victimConv, 10), victimCookie, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("the victim's own chat: %d", resp.StatusCode)
		}
		// The chat under the replaced token was ended, not left in the queue.
		cv, err := in.svc.store.Conversation(ctx, planterConv)
		if err != nil || cv.Status != statusClosed {
			t.Errorf("the replaced token's chat: %+v %v", cv, err)
		}
	})
}

// TestGuestCookieFollowsTheCookieRule: __Host- prefixed exactly when
// cookies are Secure.
func TestGuestCookieFollowsTheCookieRule(t *testing.T) {
	for secure, want := range map[bool]string{false: "asn_chat_guest", true: "__Host-asn_chat_guest"} {
		s := &Service{cfg: Config{Secure: secure}}
		if got := s.guestCookieName(); got != want {
			t.Errorf("secure=%v: %q, want %q", secure, got, want)
		}
	}
}

// TestTwoGuestTokensIdentifyNobody: a request with two guest tokens (one
// planted at Path=/chat) is nobody's; the conversation page deletes the
// narrower one once and loads again.
func TestTwoGuestTokensIdentifyNobody(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		region := seedRegion(t, e)
		e.frontend()
		in := e.instance(t)
		if err := in.svc.store.SetStatus(context.Background(), e.user(t, "advisor", "Aila").ID, AdvisorAvailable); err != nil {
			t.Fatal(err)
		}
		resp, _ := in.do(t, "POST", "/chat/start", "", url.Values{"topic": {"rent_debt"}, "lang": {"fi"}, "region": {strconv.FormatInt(region.ID, 10)}})
		page := resp.Header.Get("Location")
		var own string
		for _, c := range resp.Cookies() {
			if c.Name == "asn_chat_guest" {
				own = c.Name + "=" + c.Value
			}
		}
		tok, _, err := in.svc.GuestToken()
		if err != nil {
			t.Fatal(err)
		}
		both := "asn_chat_guest=" + tok + "; " + own
		resp, _ = in.do(t, "GET", page, both, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?dropped=1") {
			t.Fatalf("two tokens: %d to %q, want a redirect that drops one", resp.StatusCode, resp.Header.Get("Location"))
		}
		deleted := false
		for _, c := range resp.Cookies() {
			deleted = deleted || (c.Name == "asn_chat_guest" && c.Path == "/chat" && c.Expires.Before(time.Now()))
		}
		if !deleted {
			t.Error("the narrower token was not deleted")
		}
		if resp, _ := in.do(t, "GET", page+"?dropped=1", both, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("still two tokens: %d, want the page for nobody", resp.StatusCode)
		}
		if resp, _ := in.do(t, "GET", page, own, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("the own token alone: %d", resp.StatusCode)
		}
	})
}
