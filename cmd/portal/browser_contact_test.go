package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	portalmail "github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// TestBrowserContact walks a contact request as its people do, in a real
// browser against the running portal: Niilo, a neighbour, finds the form
// on the front page without logging in, makes the mistakes people make (a
// short postal code, then one outside the service area, which says where
// to turn instead), sends it and gets a reference and nothing else; Minna,
// an advisor of the east region, sees it counted on her desk, opens it —
// markup in the description shows as text and a long word wraps —
// records a call and closes it. The form and the advisor's page are shown
// in Swedish and English too. Every page passes axe-core's WCAG 2.1 A and
// AA rules, shows no untranslated key and logs no console error.
func TestBrowserContact(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	// The minimum fill time is for scripts; this test is not one to wait for.
	p := startPortal(t, map[string]string{"PORTAL_CONTACT_MIN_FILL": "1ms"})
	browser := startChromium(t, exe)
	long := strings.Repeat("Roskakasa", 14) // 126 letters without a break

	niilo := newBookingTab(t, browser, p, axe)
	niilo.open("/")
	niilo.submit("the front page's contact card", chromedp.Click(link("//main", "Jätä yhteydenottopyyntö")), http.StatusOK)
	if !niilo.onPortal("/contact") {
		t.Fatalf("the card led to %s", niilo.location())
	}
	niilo.check("contact form")
	send := chromedp.Click(button("//main", "Lähetä pyyntö"))
	niilo.step("who", chromedp.Click(`label[for="who-neighbour"]`))
	niilo.typeText("sender_name", "Niilo Naapuri")
	niilo.step("concern", chromedp.Click(`label[for="concern-upkeep"]`))
	niilo.typeText("description", "Ovelle on kasautunut postia. <b>kiire</b> "+long)
	niilo.typeText("resident_name", "Irma Itäläinen")
	niilo.typeText("street_address", "Kontulantie 1 A 2")
	niilo.typeText("postal_code", "940")
	niilo.step("knows", chromedp.Click(`label[for="person_knows-no"]`))
	niilo.typeText("sender_email", "niilo.naapuri@example.test")
	niilo.submit("a short postal code", send, http.StatusUnprocessableEntity)
	if got := niilo.fieldError("postal_code"); !strings.Contains(got, "viitenä numerona") {
		t.Errorf("postal code error %q", got)
	}
	if got := eval[string](niilo.session, `document.getElementById("resident_name").value`); got != "Irma Itäläinen" {
		t.Errorf("the name typed was lost: %q", got)
	}
	niilo.check("contact form with an error")
	niilo.typeText("postal_code", "33100")
	niilo.submit("a postal code outside the area", send, http.StatusUnprocessableEntity)
	if got := niilo.text(".contact-outside"); !strings.Contains(got, "oman kunnan sosiaalipalvelut") {
		t.Errorf("outside the area, the page says %q", got)
	}
	niilo.check("contact form outside the area")
	var stored int64
	if err := p.s.deps.db.Gorm.Raw("SELECT COUNT(*) FROM contact_requests").Scan(&stored).Error; err != nil || stored != 0 {
		t.Fatalf("%d requests stored before a good one (%v)", stored, err)
	}
	niilo.typeText("postal_code", "00940")
	niilo.submit("send", send, http.StatusOK)
	if !niilo.onPortal("/contact/sent") {
		t.Fatalf("sent led to %s", niilo.location())
	}
	niilo.check("contact confirmation")
	ref := niilo.text(".contact-ref__code")
	if !regexp.MustCompile(`^[A-Z2-9]{4}-[A-Z2-9]{4}$`).MatchString(ref) {
		t.Fatalf("reference %q", ref)
	}
	for _, path := range []string{niilo.location().RequestURI(), "/contact"} {
		niilo.open(path)
		if main := niilo.text("main"); strings.Contains(main, "Irma") || strings.Contains(main, "Kontulantie") || strings.Contains(main, "postia") {
			t.Errorf("%s shows Niilo what he sent", path)
		}
	}
	niilo.inOtherLanguages("contact form", map[string]string{"fi": "Yhteydenottopyyntö", "sv": "Kontaktbegäran", "en": "Contact request"}, true)

	var region int64
	if err := p.s.deps.db.Gorm.Raw("SELECT region_id FROM contact_requests WHERE reference = ?", ref).Scan(&region).Error; err != nil {
		t.Fatal(err)
	}
	if east := demoRegionID(t, p, "east"); region != east {
		t.Errorf("routed to region %d, want east (%d)", region, east)
	}
	var mails []portalmail.Stored
	if err := p.s.deps.db.Gorm.Where("recipient = ?", "niilo.naapuri@example.test").Find(&mails).Error; err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || !strings.Contains(mails[0].BodyText, ref) || strings.Contains(mails[0].BodyText, "Irma") || strings.Contains(mails[0].BodyText, "postia") {
		t.Errorf("confirmation mails %d: %+v", len(mails), mails)
	}

	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk")
	minna.pickDemoUser("Minna Järvinen")
	if !minna.onPortal("/desk") {
		t.Fatalf("desk login at %s", minna.location())
	}
	if got := minna.text(".contact-section"); !strings.Contains(got, "Uusia pyyntöjä 1.") {
		t.Errorf("the desk section says %q", got)
	}
	minna.check("desk with a contact request")
	minna.submit("all requests", chromedp.Click(link("//main", "Kaikki yhteydenottopyynnöt")), http.StatusOK)
	minna.check("contact inbox")
	if row := minna.rowWith(ref); len(row) == 0 || !strings.Contains(strings.Join(row, " "), "Uusi") {
		t.Fatalf("the inbox row of %s: %q", ref, row)
	}
	minna.submit("open "+ref, chromedp.Click(link("//main//table", ref)), http.StatusOK)
	minna.check("contact request")
	if got := minna.text("main"); !strings.Contains(got, "<b>kiire</b>") || !strings.Contains(got, "Irma Itäläinen") {
		t.Errorf("the request page does not show the description as text: %.300q", got)
	}
	if !eval[bool](minna.session, `document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
		t.Error("the long word makes the advisor's page scroll sideways")
	}
	minna.step("channel", chromedp.Click(`label[for="channel-phone"]`))
	minna.typeText("result", "Ei vastannut, yritetään huomenna.")
	minna.submit("record a call", chromedp.Click(button("//main", "Tallenna yhteydenottoyritys")), http.StatusOK)
	if got := minna.text(".contact-attempts"); !strings.Contains(got, "Ei vastannut") || !strings.Contains(got, "Minna Järvinen") {
		t.Errorf("attempts %q", got)
	}
	minna.check("contact request with an attempt")
	minna.inOtherLanguages("contact request", map[string]string{"fi": "Yhteydenottopyyntö " + ref, "sv": "Kontaktbegäran " + ref, "en": "Contact request " + ref}, true)
	minna.step("outcome", chromedp.Click(`label[for="outcome-reached"]`))
	minna.submit("close", chromedp.Click(button("//main", "Päätä pyyntö")), http.StatusOK)
	if got := minna.text(".contact-status"); got != "Päättynyt" {
		t.Errorf("status after closing %q", got)
	}
	minna.check("closed contact request")
	var status string
	if err := p.s.deps.db.Gorm.Raw("SELECT status FROM contact_requests WHERE reference = ?", ref).Scan(&status).Error; err != nil || status != "closed" {
		t.Errorf("stored status %q (%v)", status, err)
	}
}

// TestContactRateLimit: the form takes PORTAL_FORM_RATE_LIMIT posts a
// minute from one client address; the rest of 30 get 429 with the
// translated page, while another address still gets through. The address
// is the X-Forwarded-For one only behind PORTAL_TRUSTED_PROXIES: from any
// other peer the header is ignored, so changing it gains nothing.
func TestContactRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies string // PORTAL_TRUSTED_PROXIES; the test's peer is 127.0.0.1
		trusted bool
	}{
		{"behind a trusted proxy", "127.0.0.1", true},
		{"from an untrusted peer", "192.0.2.10", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPortal(t, map[string]string{
				"PORTAL_CONTACT_MIN_FILL": "1ms", "PORTAL_FORM_RATE_LIMIT": "10", "PORTAL_TRUSTED_PROXIES": tc.proxies,
			})
			b := newBrowser(t)
			_, page := b.get(p.url + "/contact")
			csrf := portalCSRF.FindStringSubmatch(page)
			token := regexp.MustCompile(`name="form_token" value="([^"]+)"`).FindStringSubmatch(page)
			if csrf == nil || token == nil {
				t.Fatal("the form has no tokens")
			}
			post := func(forwardedFor string, form url.Values) (int, string) {
				form.Set("_csrf", csrf[1])
				form.Set("form_token", token[1])
				req, err := http.NewRequest(http.MethodPost, p.url+"/contact?lang=sv", strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", forwardedFor)
				b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
				resp, body := b.do(req)
				return resp.StatusCode, body
			}
			limited := 0
			for i := range 30 {
				// Untrusted, the sender varies the header to look like many.
				from := "203.0.113.7"
				if !tc.trusted {
					from = "203.0.113." + strconv.Itoa(i+1)
				}
				st, body := post(from, url.Values{})
				switch {
				case i < 10 && st != http.StatusUnprocessableEntity:
					t.Fatalf("post %d: %d, want the form back (422)", i+1, st)
				case i >= 10 && st != http.StatusTooManyRequests:
					t.Fatalf("post %d: %d, want 429", i+1, st)
				case st == http.StatusTooManyRequests:
					limited++
					if !strings.Contains(body, "För många försök") {
						t.Fatalf("the 429 page is not in Swedish: %.300q", body)
					}
				}
			}
			if limited != 20 {
				t.Errorf("%d of 30 limited, want 20", limited)
			}
			good := url.Values{"who": {"neighbour"}, "sender_name": {"Niilo"}, "concern": {"disturbance"}, "description": {"Meteliä öisin."},
				"resident_name": {"Irma"}, "street_address": {"Kontulantie 1"}, "postal_code": {"00940"}, "person_knows": {"no"}, "sender_phone": {"050 123 4567"}}
			st, _ := post("198.51.100.20", good)
			switch {
			case tc.trusted && st != http.StatusSeeOther:
				t.Errorf("another address behind the proxy: %d, want it taken (303)", st)
			case !tc.trusted && st != http.StatusTooManyRequests:
				t.Errorf("a new X-Forwarded-For from an untrusted peer: %d, want 429", st)
			}
		})
	}
}
