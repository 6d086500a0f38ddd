package chat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// do sends a request through the instance's app and returns the response
// and its body.
func (in *instance) do(t *testing.T, method, path, cookie string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := in.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func seedRegion(t *testing.T, e *env) *regions.Region {
	t.Helper()
	r := &regions.Region{Code: "east-" + testPrefix(t), NameFI: "Itä", NameSV: "Öster", NameEN: "East", Phone: "09 310 10004"}
	if err := e.db.Gorm.Create(r).Error; err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPages(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		e.frontend()
		in := e.instance(t)
		region := seedRegion(t, e)
		resident := e.user(t, auth.RoleResident, "Aino")
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		admin := e.user(t, auth.RoleAdmin, "Pirjo")
		ctx := context.Background()

		t.Run("closed without available advisors", func(t *testing.T) {
			resp, body := in.do(t, "GET", "/chat", "", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "09 310 10004") || strings.Contains(body, `action="/chat/start"`) {
				t.Fatalf("status %d; want the hours and phone numbers and no start form", resp.StatusCode)
			}
		})
		if err := in.svc.store.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
			t.Fatal(err)
		}
		in.svc.openNow.forget() // as another instance's change shows here after the TTL

		t.Run("Chat in the header while open, cached, not for staff", func(t *testing.T) {
			fe, err := frontend.New(frontend.Options{Location: helsinki(t)})
			if err != nil {
				t.Fatal(err)
			}
			if err := fe.AddHeaderLink(in.svc.HeaderLink()); err != nil {
				t.Fatal(err)
			}
			app := fiber.New()
			app.Use(e.auth.Session())
			app.Get("/", func(c *fiber.Ctx) error {
				return fe.Render(c, 200, "pages/home", frontend.Page{TitleKey: "home.title"})
			})
			shown := func(cookie string) bool {
				t.Helper()
				req := httptest.NewRequest("GET", "/", nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				resp, err := app.Test(req, 10000)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return strings.Contains(string(b), `href="/chat"`) && strings.Contains(string(b), "header-link")
			}
			if !shown("") || !shown(resident.cookie) {
				t.Fatal("no Chat in the header with an advisor available")
			}
			if shown(advisor.cookie) {
				t.Error("staff are offered the residents' Chat")
			}
			// A status change here shows at once.
			if resp, _ := in.do(t, "POST", "/chat/desk/status", advisor.cookie, url.Values{"status": {advisorAway}}); resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("status: %d", resp.StatusCode)
			}
			if shown("") {
				t.Error("Chat still offered after the only advisor went away")
			}
			// One elsewhere (straight in the database) only after the TTL:
			// page views do not ask the database each time.
			if err := in.svc.store.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
				t.Fatal(err)
			}
			if shown("") {
				t.Error("the answer was not cached")
			}
			in.svc.openNow.mu.Lock()
			in.svc.openNow.at = in.svc.openNow.at.Add(-openCacheTTL)
			in.svc.openNow.mu.Unlock()
			if !shown("") {
				t.Error("the cached answer outlived its TTL")
			}
		})

		t.Run("the desk reads its queue after a reconnect", func(t *testing.T) {
			resp, body := in.do(t, "GET", "/chat/desk/queue", advisor.cookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `"type":"queue"`) || !strings.Contains(body, `"canAccept":true`) ||
				!strings.Contains(body, `"status":"available"`) || strings.Contains(body, `"items"`) {
				t.Fatalf("empty queue: status %d, %s", resp.StatusCode, body)
			}
			if resp, _ := in.do(t, "GET", "/chat/desk/queue", resident.cookie, nil); resp.StatusCode != 403 {
				t.Fatalf("queue for a resident: status %d", resp.StatusCode)
			}
		})

		var guestCookie string
		var guestConv int64
		t.Run("a guest starts a chat", func(t *testing.T) {
			resp, body := in.do(t, "GET", "/chat", "", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `action="/chat/start"`) {
				t.Fatalf("status %d, no start form", resp.StatusCode)
			}
			resp, _ = in.do(t, "POST", "/chat/start", "", url.Values{"topic": {"nonsense"}, "lang": {"fi"}})
			if resp.StatusCode != fiber.StatusUnprocessableEntity {
				t.Fatalf("bad topic: status %d, want 422", resp.StatusCode)
			}
			resp, _ = in.do(t, "POST", "/chat/start", "", url.Values{"topic": {"rent_debt"}, "lang": {"sv"}, "region": {strconv.FormatInt(region.ID, 10)}})
			loc := resp.Header.Get("Location")
			if resp.StatusCode != fiber.StatusSeeOther || !strings.HasPrefix(loc, "/chat/c/") {
				t.Fatalf("start: status %d location %q", resp.StatusCode, loc)
			}
			for _, c := range resp.Cookies() {
				if c.Name == guestCookie || c.Name == "asn_chat_guest" {
					guestCookie = c.Name + "=" + c.Value
				}
			}
			if guestCookie == "" {
				t.Fatal("no guest token cookie")
			}
			guestConv, _ = strconv.ParseInt(strings.TrimPrefix(loc, "/chat/c/"), 10, 64)
			resp, body = in.do(t, "GET", loc, guestCookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "data-chat") {
				t.Fatalf("conversation page: status %d", resp.StatusCode)
			}
			if resp, _ := in.do(t, "GET", loc, "", nil); resp.StatusCode != 404 {
				t.Fatalf("someone else's conversation page: status %d, want 404", resp.StatusCode)
			}
			g := mustDial(t, in.url, guestCookie)
			g.join(guestConv, 0)
			if f, ok := g.next(typeJoined, 5*time.Second); !ok || f.Status != statusQueued {
				t.Fatalf("guest join: %+v", f)
			}
			if f, ok := g.next(typeQueue, 5*time.Second); !ok || f.Conv != guestConv {
				t.Fatalf("guest queue frame: %+v", f)
			}
		})

		t.Run("the advisor takes it from the live queue, notes, closes", func(t *testing.T) {
			ac := mustDial(t, in.url, advisor.cookie)
			ac.send(map[string]any{"type": "hello"})
			if _, ok := ac.next(typeWelcome, 5*time.Second); !ok {
				t.Fatal("no welcome for the advisor")
			}
			// A staff socket hears of the queue when it changes (on connect
			// it gets nothing: the desk reads /chat/desk/queue then).
			if resp, _ := in.do(t, "POST", "/chat/desk/status", advisor.cookie, url.Values{"status": {AdvisorAvailable}}); resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("status: %d", resp.StatusCode)
			}
			if _, ok := ac.next(typeQueue, 5*time.Second); !ok {
				t.Fatal("no queue frame for the advisor")
			}
			resp, body := in.do(t, "GET", "/chat/desk", advisor.cookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "/chat/desk/c/"+strconv.FormatInt(guestConv, 10)+"/accept") {
				t.Fatalf("desk: status %d, conversation not in the queue", resp.StatusCode)
			}
			if !strings.Contains(body, "<td>Itä</td>") || !strings.Contains(body, `<li data-code="east-`) {
				t.Error("the desk shows the region's code, not its name")
			}
			resp, body = in.do(t, "GET", "/chat/desk/queue", advisor.cookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `"conv":`+strconv.FormatInt(guestConv, 10)+`,`) {
				t.Fatalf("desk queue: status %d, %s", resp.StatusCode, body)
			}
			if resp, _ := in.do(t, "GET", "/chat/desk", resident.cookie, nil); resp.StatusCode != 403 {
				t.Fatalf("desk for a resident: status %d", resp.StatusCode)
			}
			id := strconv.FormatInt(guestConv, 10)
			resp, _ = in.do(t, "POST", "/chat/desk/c/"+id+"/accept", advisor.cookie, url.Values{})
			if resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("accept: status %d", resp.StatusCode)
			}
			resp, _ = in.do(t, "POST", "/chat/desk/c/"+id+"/accept", advisor.cookie, url.Values{})
			if resp.StatusCode != fiber.StatusConflict {
				t.Fatalf("second accept: status %d, want 409", resp.StatusCode)
			}
			resp, _ = in.do(t, "POST", "/chat/desk/c/"+id+"/notes", advisor.cookie, url.Values{"note": {"staff only <b>x</b>"}})
			if resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("note: status %d", resp.StatusCode)
			}
			resp, body = in.do(t, "GET", "/chat/desk/c/"+id, advisor.cookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "staff only &lt;b&gt;x&lt;/b&gt;") {
				t.Fatalf("desk conversation: status %d, note missing", resp.StatusCode)
			}
			if _, body := in.do(t, "GET", "/chat/c/"+id, guestCookie, nil); strings.Contains(body, "staff only") {
				t.Fatal("the guest sees the staff note")
			}
			resp, _ = in.do(t, "POST", "/chat/desk/c/"+id+"/close", advisor.cookie, url.Values{"outcome": {"advice_given"}})
			if resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("close: status %d", resp.StatusCode)
			}
			cv, err := in.svc.store.Conversation(ctx, guestConv)
			if err != nil || cv.Status != statusClosed || cv.Outcome != "advice_given" {
				t.Fatalf("after close: %+v %v", cv, err)
			}
		})

		t.Run("script in a message is inert text on the advisor's page", func(t *testing.T) {
			cv := e.activeConversation(t, in, resident, advisor)
			evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
			res := in.svc.store.Append(ctx, []Draft{{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleResident,
				SenderID: resident.ID, ClientID: "xss-1", Body: evil}})
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			resp, body := in.do(t, "GET", "/chat/desk/c/"+strconv.FormatInt(cv.ID, 10), advisor.cookie, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
				t.Fatal("the message's markup reached the page")
			}
			if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Fatal("the message text is missing")
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("a page with personal data may be cached")
			}

			// Opening the resident's page is written to the access log.
			resp, _ = in.do(t, "GET", "/chat/desk/c/"+strconv.FormatInt(cv.ID, 10)+"/resident", advisor.cookie, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("resident page: status %d", resp.StatusCode)
			}
			var n int64
			if err := e.db.Gorm.Model(&audit.Entry{}).Where("actor_id = ? AND resident_id = ? AND action = ?",
				advisor.ID, resident.ID, "chat.resident_page").Count(&n).Error; err != nil || n != 1 {
				t.Fatalf("access log entries: %d (%v)", n, err)
			}
			if resp, _ := in.do(t, "GET", "/chat/desk/c/"+strconv.FormatInt(cv.ID, 10)+"/resident", admin.cookie, nil); resp.StatusCode != 404 {
				t.Fatalf("resident page for staff not on the chat: status %d", resp.StatusCode)
			}
		})

		t.Run("Oma asiointi lists the transcripts", func(t *testing.T) {
			app := fiber.New()
			app.Use(e.auth.Session())
			app.Get("/my", func(c *fiber.Ctx) error {
				secs, err := frontend.CollectSections(c, []frontend.SectionFunc{in.svc.MySection})
				if err != nil {
					return err
				}
				return e.fe.Render(c, 200, "pages/my", frontend.Page{Data: struct{ Sections []frontend.Section }{secs}})
			})
			app.Get("/desk", func(c *fiber.Ctx) error {
				secs, err := frontend.CollectSections(c, []frontend.SectionFunc{in.svc.DeskSection})
				if err != nil {
					return err
				}
				return e.fe.Render(c, 200, "pages/desk", frontend.Page{Data: struct{ Sections []frontend.Section }{secs}})
			})
			req := httptest.NewRequest("GET", "/my", nil)
			req.Header.Set("Cookie", resident.cookie)
			resp, err := app.Test(req, 10000)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(b), "/chat/c/") {
				t.Fatalf("my page: status %d", resp.StatusCode)
			}
			req = httptest.NewRequest("GET", "/desk", nil)
			req.Header.Set("Cookie", advisor.cookie)
			if resp, err = app.Test(req, 10000); err != nil || resp.StatusCode != 200 {
				t.Fatalf("desk page: %v %v", resp.StatusCode, err)
			}
		})

		t.Run("admin edits canned replies and hours", func(t *testing.T) {
			resp, _ := in.do(t, "POST", "/chat/admin/replies", admin.cookie, url.Values{"lang": {"fi"}, "title": {"Tervehdys"}, "body": {"Hei, miten voin auttaa?"}})
			if resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("save reply: status %d", resp.StatusCode)
			}
			resp, _ = in.do(t, "POST", "/chat/admin/hours", admin.cookie, url.Values{"region": {strconv.FormatInt(region.ID, 10)}, "hours": {"Mon-Thu 08:00-16:00; Fri 08:00-12:00"}})
			if resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("save hours: status %d", resp.StatusCode)
			}
			rid := strconv.FormatInt(region.ID, 10)
			resp, body := in.do(t, "POST", "/chat/admin/hours", admin.cookie, url.Values{"region": {rid}, "hours": {"every day"}})
			if resp.StatusCode != fiber.StatusUnprocessableEntity {
				t.Fatalf("bad hours: status %d", resp.StatusCode)
			}
			// The error is at the region's own field, which keeps what was sent.
			for _, want := range []string{`href="#hours-` + rid + `"`, `id="hours-` + rid + `"`, `value="every day"`, `id="hours-` + rid + `-error"`} {
				if !strings.Contains(body, want) {
					t.Errorf("bad hours: the page lacks %s", want)
				}
			}
			// So is a failed edit of a reply; the form for a new one stays empty.
			replies, err := in.svc.store.Replies(ctx, "fi")
			if err != nil || len(replies) == 0 {
				t.Fatalf("replies: %v %v", replies, err)
			}
			id := strconv.FormatInt(replies[0].ID, 10)
			resp, body = in.do(t, "POST", "/chat/admin/replies", admin.cookie, url.Values{"id": {id}, "lang": {"fi"}, "title": {""}, "body": {"Muokattu teksti"}})
			if resp.StatusCode != fiber.StatusUnprocessableEntity {
				t.Fatalf("bad edit: status %d", resp.StatusCode)
			}
			for _, want := range []string{`href="#title-` + id + `"`, `id="title-` + id + `-error"`, ">Muokattu teksti</textarea>", `id="title" name="title" class="hds-text-input__input" type="text" value=""`} {
				if !strings.Contains(body, want) {
					t.Errorf("bad edit: the page lacks %s", want)
				}
			}
			resp, body = in.do(t, "GET", "/chat/admin", admin.cookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "Mon-Thu 08:00-16:00; Fri 08:00-12:00") || !strings.Contains(body, "Tervehdys") {
				t.Fatalf("admin page: status %d", resp.StatusCode)
			}
			if resp, _ := in.do(t, "GET", "/chat/admin", advisor.cookie, nil); resp.StatusCode != 403 {
				t.Fatalf("admin page for an advisor: status %d", resp.StatusCode)
			}
		})

		t.Run("notices come from the handler, never from the URL", func(t *testing.T) {
			saved := e.fe.T("fi", "notice.saved")
			resp, _ := in.do(t, "POST", "/chat/admin/replies", admin.cookie, url.Values{"lang": {"fi"}, "title": {"Kiitos"}, "body": {"Kiitos yhteydenotosta."}})
			if resp.StatusCode != fiber.StatusSeeOther || strings.Contains(resp.Header.Get("Location"), "notice") {
				t.Fatalf("save: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			var flash string
			for _, c := range resp.Cookies() {
				if c.Name == "portal_flash" {
					flash = c.Name + "=" + c.Value
				}
			}
			if _, body := in.do(t, "GET", "/chat/admin", admin.cookie+"; "+flash, nil); !strings.Contains(body, saved) {
				t.Error("the saved notice is not shown after the redirect")
			}
			for _, path := range []string{"/chat/admin", "/chat/desk"} {
				_, body := in.do(t, "GET", path+"?notice=Istunto+vanhentui,+soita+0700+123456", admin.cookie, nil)
				if strings.Contains(body, "Istunto vanhentui, soita") || strings.Contains(body, "notice.saved") {
					t.Errorf("%s shows text from the URL", path)
				}
				if _, body := in.do(t, "GET", path+"?notice=notice.saved", admin.cookie, nil); strings.Contains(body, saved) {
					t.Errorf("%s shows a notice named in the URL", path)
				}
			}
		})
	})
}

func TestHours(t *testing.T) {
	w, err := parseHours("Mon-Fri 09:00-15:00; Sat 10:00-12:00")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Helsinki")
	cases := []struct {
		at   time.Time
		open bool
		next time.Time
	}{
		{time.Date(2026, 3, 2, 9, 0, 0, 0, loc), true, time.Date(2026, 3, 3, 9, 0, 0, 0, loc)},   // Monday
		{time.Date(2026, 3, 2, 15, 0, 0, 0, loc), false, time.Date(2026, 3, 3, 9, 0, 0, 0, loc)}, // closes at 15
		{time.Date(2026, 3, 7, 11, 0, 0, 0, loc), true, time.Date(2026, 3, 9, 9, 0, 0, 0, loc)},  // Saturday
		{time.Date(2026, 3, 8, 11, 0, 0, 0, loc), false, time.Date(2026, 3, 9, 9, 0, 0, 0, loc)}, // Sunday
	}
	for _, c := range cases {
		t.Run(c.at.Format(time.DateTime), func(t *testing.T) {
			if got := w.openAt(c.at); got != c.open {
				t.Errorf("open = %v, want %v", got, c.open)
			}
			if got := w.nextOpening(c.at); !got.Equal(c.next) {
				t.Errorf("next = %v, want %v", got, c.next)
			}
		})
	}
	if w.String() != "Mon-Fri 09:00-15:00; Sat 10:00-12:00" {
		t.Errorf("String = %q", w.String())
	}
	allDay, err := parseHours("Mon-Sun 00:00-24:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{time.Date(2026, 3, 8, 0, 0, 0, 0, loc), time.Date(2026, 3, 8, 23, 59, 59, 0, loc)} {
		if !allDay.openAt(at) {
			t.Errorf("00:00-24:00 closed at %v", at)
		}
	}
	if allDay.String() != "Mon-Sun 00:00-24:00" {
		t.Errorf("String = %q", allDay.String())
	}
	for _, bad := range []string{"Mon", "Mon 15:00-09:00", "Xyz 09:00-10:00", "Fri-Mon 09:00-10:00", "Mon 24:00-24:00", "Mon 09:00-24:30"} {
		if _, err := parseHours(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
