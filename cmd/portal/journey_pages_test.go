package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// actor is one person's plain HTTP client, with their login, that sets up
// what the pages of TestJourneyPagesEveryLanguage show.
type actor struct {
	t    *testing.T
	base string
	b    *browser
}

// newActor logs subject in from path (nobody for ""), as the pages that
// need a login send one to the development provider.
func newActor(t *testing.T, p *testPortal, subject, path string) *actor {
	t.Helper()
	a := &actor{t: t, base: p.url, b: newBrowser(t)}
	if subject != "" {
		if resp, _ := a.b.login(p.url, path, subject); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s logging in at %s: %d", subject, path, resp.StatusCode)
		}
	}
	return a
}

// get fetches a page of the portal, which must answer 200.
func (a *actor) get(path string) string {
	a.t.Helper()
	resp, body := a.b.get(a.base + path)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("GET %s: %d at %s", path, resp.StatusCode, resp.Request.URL)
	}
	return body
}

// send posts form to action with the form token of the page at from, as
// a person sending that page's form does, and returns where the redirects
// led, which must answer 200.
func (a *actor) send(from, action string, form url.Values) (*url.URL, string) {
	a.t.Helper()
	page := a.get(from)
	form.Set("_csrf", csrfOf(a.t, page))
	if m := formToken.FindStringSubmatch(page); m != nil {
		form.Set("form_token", m[1])
	}
	var resp *http.Response
	var body string
	if strings.Contains(page, `action="`+action+`" enctype="multipart/form-data"`) {
		// A form that takes attachments is sent as a browser sends it,
		// with the token first: a streamed upload checks it before reading
		// on.
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		form.Del("_csrf")
		keys := append([]string{"_csrf"}, slices.Sorted(maps.Keys(form))...)
		form.Set("_csrf", csrfOf(a.t, page))
		for _, k := range keys {
			for _, v := range form[k] {
				if err := w.WriteField(k, v); err != nil {
					a.t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			a.t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, a.base+action, &buf)
		if err != nil {
			a.t.Fatal(err)
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, body = a.b.do(req)
	} else {
		resp, body = a.b.post(a.base+action, form)
	}
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("POST %s: %d at %s: %.300s", action, resp.StatusCode, resp.Request.URL, body)
	}
	return resp.Request.URL, body
}

var (
	formToken    = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
	contactLink  = regexp.MustCompile(`href="/desk/contact/([0-9]+)"`)
	residentID   = regexp.MustCompile(`name="resident" value="([0-9]+)" [^>]*checked`)
	lastNumber   = regexp.MustCompile(`([0-9]+)$`)
	localeTables = regexp.MustCompile(`(?m)^\[([a-z_]+)[].]`)
)

// idIn is the number that ends a path.
func idIn(t *testing.T, path string) string {
	t.Helper()
	m := lastNumber.FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("no id at the end of %s", path)
	}
	return m[1]
}

// rawKeyPattern matches a translation key shown as it is, in any of the
// areas the locale files define (their top-level tables).
func rawKeyPattern(t *testing.T) *regexp.Regexp {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "frontend", "locales", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("locale files: %v", err)
	}
	areas := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range localeTables.FindAllStringSubmatch(string(src), -1) {
			areas[m[1]] = true
		}
	}
	names := make([]string, 0, len(areas))
	for a := range areas {
		names = append(names, a)
	}
	sort.Strings(names)
	return regexp.MustCompile(`\b(?:` + strings.Join(names, "|") + `)\.[a-z_]+(?:\.[a-z0-9_]+)*\b`)
}

// journeyPages are the data TestJourneyPagesEveryLanguage sets up: the
// journeys' people, each with something on every page they visit.
type journeyPages struct {
	request, irmaRequest, veikkoCase, ainoCase, booking, veikkoApp, ainoApp, conv, thread string
	sentRef, veikko                                                                       string
	bookingSearch                                                                         url.Values
}

// setUpJourneys does over HTTP what the four journeys do in the browser:
// a neighbour's contact request about Veikko, Minna's client record, case
// and home visit for him, his login and sent exchange application; Aino's
// exchange application up to its summary, her chat with Minna and her
// message thread; Aino's rent-debt case with a payment plan.
func setUpJourneys(t *testing.T, p *testPortal) journeyPages {
	t.Helper()
	var d journeyPages
	east, minnaID := demoRegionID(t, p, "east"), demoUserID(t, p, "demo-advisor-east-1")

	// Journey 1.
	niilo := newActor(t, p, "", "")
	sent, _ := niilo.send("/contact", "/contact", url.Values{"who": {"neighbour"}, "sender_name": {"Niilo Naapuri"},
		"concern": {"rent_debt"}, "description": {"Veikolla on häätö ensi viikolla."}, "resident_name": {"Veikko Ilmanen"},
		"street_address": {"Kontulantie 1 A 2"}, "postal_code": {"00940"}, "person_knows": {"no"}, "sender_phone": {"040 765 4321"}})
	if sent.Path != "/contact/sent" {
		t.Fatalf("the contact request led to %s", sent)
	}
	d.sentRef = sent.RequestURI()
	// Another request, about Irma, whom Minna records as a client but has
	// no case for yet: the new-case page shows the request and the record.
	niilo.send("/contact", "/contact", url.Values{"who": {"neighbour"}, "sender_name": {"Niilo Naapuri"},
		"concern": {"upkeep"}, "description": {"Ovelle on kasautunut postia."}, "resident_name": {"Irma Itäläinen"},
		"street_address": {"Kontulantie 3 B 7"}, "postal_code": {"00940"}, "person_knows": {"no"}, "sender_phone": {"040 765 4321"}})
	minna := newActor(t, p, "demo-advisor-east-1", "/desk")
	requests := contactLink.FindAllStringSubmatch(minna.get("/desk/contact"), -1)
	if len(requests) < 2 {
		t.Fatalf("%d requests on the desk, want 2", len(requests))
	}
	ids := []string{requests[0][1], requests[1][1]}
	slices.Sort(ids) // Veikko's came first
	d.request, d.irmaRequest = ids[0], ids[1]
	irma := "/desk/cases/new?from=contact&id=" + d.irmaRequest
	minna.send(irma, "/desk/cases/new/client", url.Values{"from": {"contact"}, "origin": {d.irmaRequest}, "name": {"Irma Itäläinen"},
		"street_address": {"Kontulantie 3 B 7"}, "postal_code": {"00940"}})
	var m []string
	from := "/desk/cases/new?from=contact&id=" + d.request
	origin := url.Values{"from": {"contact"}, "origin": {d.request}}
	client := url.Values{"name": {"Veikko Ilmanen"}, "identity_code": {"110758-901S"}, "street_address": {"Kontulantie 1 A 2"}, "postal_code": {"00940"}}
	for k, v := range origin {
		client[k] = v
	}
	_, page := minna.send(from, "/desk/cases/new/client", client)
	if m = residentID.FindStringSubmatch(page); m == nil {
		t.Fatal("recording Veikko chose no resident")
	}
	d.veikko = m[1]
	opened := url.Values{"resident": {d.veikko}, "reason": {"rent_debt"}, "debt": {"900"}}
	for k, v := range origin {
		opened[k] = v
	}
	at, _ := minna.send(from, "/desk/cases/new", opened)
	d.veikkoCase = idIn(t, at.Path)
	d.bookingSearch = url.Values{"resident": {d.veikko}, "topic": {"rent_debt"}, "type": {"home"},
		"region": {fmt.Sprint(east)}, "advisor": {fmt.Sprint(minnaID)}}
	search := "/desk/booking/new?" + d.bookingSearch.Encode()
	slot := slotValuePattern.FindStringSubmatch(minna.get(search))
	if slot == nil {
		t.Fatal("no home visit times for Veikko")
	}
	booking := url.Values{"slot": {slot[1]}, "point": {""}, "address": {"Kontulantie 1 A 2, 00940 Helsinki"}}
	for k, v := range d.bookingSearch {
		booking[k] = v
	}
	at, _ = minna.send(search, "/desk/booking/new", booking)
	d.booking = idIn(t, at.Path)

	// Veikko logs in, and then sends an exchange application; Aino fills
	// hers in up to the summary (journey 2).
	veikko := newActor(t, p, "demo-resident-veikko", "/my/case")
	aino := newActor(t, p, "demo-resident-aino", "/my")
	for _, r := range []*actor{veikko, aino} {
		at, _ := r.send("/exchange", "/exchange", url.Values{})
		app := "/exchange/" + idIn(t, strings.TrimSuffix(at.Path, "/home"))
		for _, st := range []struct {
			step string
			form url.Values
		}{
			{"home", url.Values{"address": {"Kontulantie 1 A 2"}, "postal_code": {"00940"}, "landlord": {"city"}, "rooms": {"2"}, "area": {"48"}, "rent": {"812,40"}}},
			{"household", url.Values{"adults": {"1"}, "children_ages": {"4, 9"}}},
			{"reasons", url.Values{"reasons": {"finances"}, "explain_finances": {"Vuokra on liian suuri tuloihin nähden."}}},
			{"wishes", url.Values{"areas": {"Itä-Helsinki"}}},
			{"consent", url.Values{"wants_help": {"yes"}, "consent": {"yes"}}},
		} {
			at, _ := r.send(app+"/"+st.step, app+"/"+st.step, st.form)
			if at.Path == app+"/"+st.step {
				t.Fatalf("the step %s was not accepted", st.step)
			}
		}
		if r == veikko {
			at, _ := r.send(app+"/summary", app+"/send", url.Values{})
			if at.Path != app {
				t.Fatalf("sending the application led to %s", at)
			}
			d.veikkoApp = idIn(t, app)
		} else {
			d.ainoApp = idIn(t, app)
		}
	}

	// Journey 3: a chat and a message thread.
	minna.send("/chat/desk", "/chat/desk/status", url.Values{"status": {"available"}})
	at, _ = aino.send("/chat", "/chat/start", url.Values{"topic": {"rent_debt"}, "lang": {"fi"}})
	d.conv = idIn(t, at.Path)
	minna.send("/chat/desk", "/chat/desk/c/"+d.conv+"/accept", url.Values{})
	aino.send("/chat/c/"+d.conv, "/chat/c/"+d.conv+"/messages", url.Values{"body": {"Hei! Minulla on vuokravelkaa."}})
	minna.send("/chat/desk/c/"+d.conv, "/chat/c/"+d.conv+"/messages", url.Values{"body": {"Hei Aino, kerro lisää."}})
	at, _ = aino.send("/messages/new", "/messages", url.Values{"subject": {"Vuokravelka"}, "body": {"Voinko maksaa velan erissä?"}})
	d.thread = idIn(t, at.Path)
	minna.send("/desk/messages/"+d.thread, "/desk/messages/"+d.thread, url.Values{"body": {"Voit. Tehdään maksusuunnitelma."}})

	// Journey 4: Aino's case with a payment plan that is behind.
	start := time.Now().AddDate(0, -3, 0)
	at, _ = minna.send("/desk/cases/new", "/desk/cases/new", url.Values{"resident": {fmt.Sprint(demoUserID(t, p, "demo-resident-aino"))},
		"reason": {"rent_debt"}, "debt": {"900"}})
	d.ainoCase = idIn(t, at.Path)
	minna.send("/desk/cases/"+d.ainoCase+"?why=work", "/desk/cases/"+d.ainoCase+"/plan", url.Values{"total": {"900"}, "instalment": {"300"},
		"due_day": {"15"}, "start": {start.Format("2006-01") + "-01"}, "plan_reference": {"1234 5678"}})
	return d
}

// pageVisit is one page a journey visits: whose it is and where.
type pageVisit struct {
	who, path string
}

// TestJourneyPagesEveryLanguage: every page the four journeys visit, with
// the journeys' data on it, in Finnish, Swedish and English in turn (the
// language chosen in the header, as a person does): no untranslated key,
// the html element's lang right, axe-core's WCAG 2.1 A and AA rules without
// a violation, and at 375 px wide no sideways scrolling. One Chromium, a
// tab for each person; the data is set up over HTTP first.
func TestJourneyPagesEveryLanguage(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	rawKey := rawKeyPattern(t)
	for _, key := range []string{"chat.desk.title", "nav.my", "error.not_found.title", "home.hero.title"} {
		if !rawKey.MatchString("Sivulla lukee " + key + ".") {
			t.Fatalf("the untranslated-key check misses %s", key)
		}
	}
	p := startPortal(t, map[string]string{
		"PORTAL_DATABASE_URL": dbtest.PostgresSchemaURL(t), "PORTAL_REDIS_URL": dbtest.RedisURL(t), "PORTAL_SESSION_STORE": "redis",
		"PORTAL_CHAT_HOURS": alwaysOpen, "PORTAL_CONTACT_MIN_FILL": "1ms",
		// Reruns within a minute, and other tests, come from the same address.
		"PORTAL_FORM_RATE_LIMIT": "1000", "PORTAL_LOGIN_RATE_LIMIT": "1000",
	})
	setupStart := time.Now()
	d := setUpJourneys(t, p)
	t.Logf("data set up over HTTP in %s", time.Since(setupStart).Round(10*time.Millisecond))

	const (
		anyone = ""
		minna  = "Minna Järvinen"
		pirjo  = "Pirjo Pääkäyttäjä"
		aino   = "Aino Asukas"
		veikko = "Veikko Ilmanen"
	)
	pages := []pageVisit{
		// Journey 1: the contact request to a home visit.
		{anyone, "/contact"},
		{anyone, d.sentRef},
		{minna, "/desk"},
		{minna, "/desk/contact"},
		{minna, "/desk/contact/" + d.request},
		{minna, "/desk/cases/new?from=contact&id=" + d.irmaRequest},
		{minna, "/desk/cases"},
		{minna, "/desk/cases/" + d.veikkoCase + "?why=work"},
		{minna, "/desk/booking/new?resident=" + d.veikko},
		{minna, "/desk/booking/new?" + d.bookingSearch.Encode()},
		{minna, "/desk/booking/" + d.booking},
		{veikko, "/my"},
		{veikko, "/my/case"},
		// Journey 2: the exchange application.
		{aino, "/exchange"},
		{aino, "/exchange/" + d.ainoApp + "/home"},
		{aino, "/exchange/" + d.ainoApp + "/household"},
		{aino, "/exchange/" + d.ainoApp + "/reasons"},
		{aino, "/exchange/" + d.ainoApp + "/wishes"},
		{aino, "/exchange/" + d.ainoApp + "/consent"},
		{aino, "/exchange/" + d.ainoApp + "/summary"},
		{veikko, "/exchange/" + d.veikkoApp},
		{minna, "/desk/exchange"},
		{minna, "/desk/exchange/" + d.veikkoApp},
		// Journey 3: the chat and the messages.
		{anyone, "/chat"},
		{aino, "/chat/c/" + d.conv},
		{minna, "/chat/desk"},
		{minna, "/chat/desk/c/" + d.conv},
		{aino, "/messages"},
		{aino, "/messages/new"},
		{aino, "/messages/" + d.thread},
		{minna, "/desk/messages"},
		{minna, "/desk/messages/new"},
		{minna, "/desk/messages/" + d.thread},
		// Journey 4: the payment plan to the statistics.
		{minna, "/desk/cases/" + d.ainoCase + "?why=work"},
		{minna, "/desk/cases/payments"},
		{minna, "/desk/cases?show=overdue"},
		{pirjo, "/desk/stats"},
		{aino, "/my"},
		{aino, "/my/case"},
	}

	browser := startChromium(t, exe)
	start := time.Now()
	// A tab for each person (a new tab costs a login and a cold start),
	// taken longest first by two workers at once (go test's -parallel is
	// the number of cores).
	const workers = 2
	type tabPages struct {
		who   string
		paths []string
	}
	var tabs []*tabPages
	byWho := map[string]*tabPages{}
	for _, pg := range pages {
		tp := byWho[pg.who]
		if tp == nil {
			tp = &tabPages{who: pg.who}
			tabs, byWho[pg.who] = append(tabs, tp), tp
		}
		tp.paths = append(tp.paths, pg.path)
	}
	sort.SliceStable(tabs, func(i, j int) bool { return len(tabs[i].paths) > len(tabs[j].paths) })
	queue := make(chan *tabPages, len(tabs))
	for _, tp := range tabs {
		queue <- tp
	}
	close(queue)
	t.Run("pages", func(t *testing.T) {
		for w := range workers {
			t.Run(fmt.Sprint("worker ", w+1), func(t *testing.T) {
				t.Parallel()
				for tp := range queue {
					name := tp.who
					if name == anyone {
						name = "anyone"
					}
					t.Run(name, func(t *testing.T) { checkPages(t, browser, p, axe, rawKey, tp.who, tp.paths) })
				}
			})
		}
	})
	t.Logf("%d pages, each in %d languages, checked in %s", len(pages), len(frontend.SupportedLanguages()), time.Since(start).Round(100*time.Millisecond))
}

// checkPages checks, in a tab of its own, the pages of one person: first
// all in Finnish, then in Swedish, then in English.
func checkPages(t *testing.T, browser context.Context, p *testPortal, axe string, rawKey *regexp.Regexp, who string, paths []string) {
	tab := newBookingTab(t, browser, p, axe)
	tab.step("a 375 × 812 phone", chromedp.EmulateViewport(375, 812))
	// axe-core comes with every page rather than over DevTools after
	// each: 650 kB less to send for each check.
	tab.step("axe-core in every page", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: axe})
		return err
	}))
	tab.open(paths[0])
	if who != "" {
		tab.pickDemoUser(who)
	}
	for _, lang := range frontend.SupportedLanguages() {
		for _, path := range paths {
			tab.visit(path)
			if got := tab.lang(); got != lang {
				tab.chooseLanguage(lang)
			}
			tab.checkPage(rawKey, lang, path)
		}
	}
}

// visit loads a page of the portal, which must answer 200 where it is,
// without sending the tab elsewhere.
func (b *bookingTab) visit(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(b.base.String()+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	if u := b.location(); resp.Status != http.StatusOK || u.RequestURI() != path {
		b.t.Fatalf("open %s: %d at %s", path, resp.Status, u.RequestURI())
	}
}

// languageNames are the language selector's links.
var languageNames = map[string]string{"fi": "Suomi", "sv": "Svenska", "en": "English"}

// chooseLanguage picks a language in the header, through the menu on a
// phone, as a person does; the choice holds for the pages after.
func (b *bookingTab) chooseLanguage(lang string) {
	b.t.Helper()
	if eval[bool](b.session, `(m => !!m && m.getClientRects().length > 0 && m.getAttribute("aria-expanded") !== "true")(document.querySelector("[data-header-menu]"))`) {
		b.step("open the menu", chromedp.Click(chromedp.CSS("[data-header-menu]")))
	}
	b.follow(languageNames[lang], link("//ul[contains(@class, 'lang-selector')]", languageNames[lang]))
	if got := b.lang(); got != lang {
		b.t.Fatalf("%s after choosing %s: html lang %q", b.location().Path, languageNames[lang], got)
	}
}

// checkPage checks the page in the tab: in lang, every text translated,
// no sideways scrolling, a clean console, and axe-core.
func (b *bookingTab) checkPage(rawKey *regexp.Regexp, lang, path string) {
	b.t.Helper()
	where := path + " (" + lang + ")"
	failed := b.t.Failed()
	if got := b.lang(); got != lang {
		b.t.Errorf("%s: html lang %q", where, got)
	}
	text := eval[string](b.session, `[document.title, document.body.innerText,
		...[...document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")].map(e =>
			[e.getAttribute("aria-label"), e.getAttribute("title"), e.getAttribute("placeholder"), e.getAttribute("alt")].join(" ")),
		...[...document.querySelectorAll("option")].map(o => o.text)].join("\n")`)
	if keys := rawKey.FindAllString(text, -1); len(keys) > 0 {
		b.t.Errorf("%s: untranslated keys on the page: %q", where, keys)
	}
	if w := eval[[]int](b.session, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); len(w) != 2 || w[0] > w[1] {
		// What is too wide: the innermost elements past the right edge that
		// no narrower scrolling box keeps in (unless positioned out of it).
		wide := eval[[]string](b.session, `(() => {
			const edge = document.documentElement.clientWidth + 1;
			const past = e => e.getBoundingClientRect().right > edge;
			const kept = e => {
				if (["absolute", "fixed"].includes(getComputedStyle(e).position)) { return false; }
				for (let a = e.parentElement; a; a = a.parentElement) {
					if (getComputedStyle(a).overflowX !== "visible" && !past(a)) { return true; }
				}
				return false;
			};
			return [...document.querySelectorAll("body *")].filter(e => past(e) && !kept(e) && ![...e.children].some(past)).slice(0, 5).map(e =>
				e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + [...e.classList].map(c => "." + c).join("") + " " +
				JSON.stringify((e.textContent || "").trim().slice(0, 40)) + " to " + Math.round(e.getBoundingClientRect().right) + " px");
		})()`)
		b.t.Errorf("%s scrolls sideways at 375 px (scroll width %d): too wide %q", where, w[0], wide)
	}
	b.expectCleanBut(where)
	b.expectAccessible(b.axe, where)
	if !failed && b.t.Failed() {
		b.screenshot(fileName(where))
	}
}
