package frontend

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

type region struct {
	Name  string
	Phone string
	Hours string
}

type homeData struct {
	Regions []region
}

type infoSection struct {
	TitleKey   string
	Paragraphs []string
	Links      []struct{ TextKey, URLKey string }
}

type infoData struct {
	Intro    string
	Sections []infoSection
}

type sectionsData struct {
	Sections []Section
}

type logEntry struct {
	At                                                   time.Time
	ActorName, ActorRole, ResidentName, Action, Resource string
	Reason                                               string
}

type accessLogData struct {
	Entries                  []logEntry
	Page, PrevPage, NextPage int
}

// staffData has the shape of desk.StaffData.
type staffData struct {
	Staff   []staffRow
	Regions []Option
}

type staffRow struct {
	ID          int64
	Name, Email string
	Role        auth.Role
	RegionID    string
	LastLoginAt *time.Time
}

func newFrontend(t *testing.T, opts Options) *Frontend {
	t.Helper()
	if opts.Location == nil {
		loc, err := time.LoadLocation("Europe/Helsinki")
		if err != nil {
			t.Fatal(err)
		}
		opts.Location = loc
	}
	f, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// newApp wires the frontend the way cmd/portal does and adds handler at /*.
func newApp(f *Frontend, handler fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{Views: f.Views()})
	app.Use(f.Security(), f.Languages())
	f.MountAssets(app)
	if handler != nil {
		app.Get("/*", handler)
	}
	return app
}

func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() {
		if err := resp.Body.Close(); err != nil {
			t.Errorf("close body: %v", err)
		}
	}()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func get(t *testing.T, app *fiber.App, target string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, app, req)
}

func TestPagesRender(t *testing.T) {
	at := time.Date(2025, 3, 4, 12, 5, 0, 0, time.UTC)
	loggedIn := at
	resident := &Viewer{Name: "Maija Meikäläinen", Role: auth.RoleResident}
	advisor := &Viewer{Name: "Anna Neuvoja", Role: auth.RoleAdvisor}
	admin := &Viewer{Name: "Pekka Pääkäyttäjä", Role: auth.RoleAdmin}
	regions := homeData{Regions: []region{{Name: "Länsi", Phone: "09 310 11111"}, {Name: "Itä", Phone: "+358 9 310 22222"}}}
	logData := accessLogData{
		Entries: []logEntry{{At: at, ActorName: "Anna Neuvoja", ActorRole: string(auth.RoleAdvisor),
			ResidentName: "Maija Meikäläinen", Action: "view_case", Resource: "case/42", Reason: "asiakkuus"}},
		Page: 2, PrevPage: 1, NextPage: 3,
	}
	form := NewForm()
	form.Set("actor", "Anna")
	form.Fail("from", "form.error.date")

	cases := []struct {
		name   string
		target string
		header []string
		viewer *Viewer
		page   string
		p      Page
		want   []string
		absent []string
	}{
		{name: "home fi", target: "/", page: "pages/home", p: Page{TitleKey: "home.title", Data: regions},
			want: []string{`<html lang="fi">`, "<title>Asumisneuvonta | Helsingin kaupunki</title>", "Milloin asumisneuvonnasta on apua?",
				`href="/booking"`, `href="/chat"`, `href="/contact"`, `href="#phone-numbers"`,
				`<th scope="row">Länsi</th>`, `href="tel:0931011111"`, `href="tel:&#43;358931022222"`,
				`href="/login"`, "Kirjaudu", `lang="sv" hreflang="sv"`, ">Svenska<", ">English<", ">Suomi<",
				`href="https://www.hel.fi/fi"`, "Saavutettavuusseloste", "Tietosuoja", "Takaisin ylös", `class="hds-koros koros koros--footer"`, `class="hds-koros koros koros--hero hds-koros--flip-vertical"`, `d="m0 5v80h32v-80c-8 0-8-5-16-5s-8 5-16 5z"`,
				`<a class="main-nav__link" href="/" aria-current="page">Etusivu</a>`},
			absent: []string{"Työpöytä</a>", "Lokitiedot</a>", `href="/messages"`}},
		{name: "home sv", target: "/?lang=sv", page: "pages/home", p: Page{TitleKey: "home.title", Data: regions},
			want: []string{`<html lang="sv">`, "Bostadsrådgivning", "Helsingfors stad", "När kan bostadsrådgivningen hjälpa?", "Logga in",
				`href="https://www.hel.fi/sv"`, "Tillgänglighetsutlåtande"}},
		{name: "home en", target: "/?lang=en", page: "pages/home", p: Page{TitleKey: "home.title", Data: regions},
			want: []string{`<html lang="en">`, "Housing counselling", "City of Helsinki", "When can housing counselling help?", "Log in"}},
		{name: "home without regions", target: "/", page: "pages/home", p: Page{TitleKey: "home.title"},
			want: []string{"Puhelinnumerot eivät ole juuri nyt saatavilla"}, absent: []string{"<table"}},
		{name: "home with notice", target: "/", page: "pages/home", p: Page{TitleKey: "home.title", Notice: "notice.logged_out"},
			want: []string{"hds-notification--success", "Olet kirjautunut ulos."}},
		{name: "my empty", target: "/my", viewer: resident, page: "pages/my", p: Page{TitleKey: "my.title"},
			want: []string{"<h1>Oma asiointi</h1>", "Sinulla ei ole vielä asioita", "Hei, Maija Meikäläinen!",
				`<a class="main-nav__link" href="/my" aria-current="page">Oma asiointi</a>`,
				`action="/logout"`, `name="_csrf" value="token-123"`, "Kirjaudu ulos", "Asukas",
				"<title>Oma asiointi | Asumisneuvonta | Helsingin kaupunki</title>"},
			absent: []string{`href="/login"`, "Työpöytä</a>"}},
		{name: "my with sections", target: "/my?lang=en", viewer: resident, page: "pages/my",
			p: Page{TitleKey: "my.title", Data: sectionsData{Sections: []Section{
				{TitleKey: "nav.home", Template: "partials/section-links", Lang: "en", Data: []Link{{URL: "/booking/1", LabelKey: "home.channels.booking.link"}, {URL: "/x", Label: "<b>raw</b>"}}},
				{TitleKey: "nav.desk", Template: "partials/section-links", Lang: "en"},
			}}},
			want: []string{`<h2 id="section-0" class="page-section-block__title">Front page</h2>`, `<a class="hds-link" href="/booking/1">Book an appointment</a>`,
				"&lt;b&gt;raw&lt;/b&gt;", `aria-labelledby="section-1"`, "Nothing to show yet."},
			absent: []string{"You do not have any matters yet"}},
		{name: "desk advisor", target: "/desk", viewer: advisor, page: "pages/desk", p: Page{TitleKey: "desk.title"},
			want:   []string{"<h1>Työpöytä</h1>", "Työpöydällä ei ole uusia asioita", "Asumisneuvoja"},
			absent: []string{"Lokitiedot</a>", "Oma asiointi</a>"}},
		{name: "access log admin", target: "/admin/access-log", viewer: admin, page: "pages/access-log",
			p: Page{TitleKey: "accesslog.title", Data: logData, Form: form},
			want: []string{"<h1>Lokitiedot</h1>", `<caption class="hds-table__caption" id="access-log-caption">`,
				`datetime="2025-03-04T12:05:00Z"`, "4.3.2025 klo 14.05", "view_case", "Asumisneuvoja",
				`name="actor"`, `value="Anna"`, `name="resident"`, `name="action"`, `name="from"`, `name="to"`, `type="date"`,
				"Tarkista lomakkeen tiedot", `href="#from"`, `aria-invalid="true"`, "hds-text-input--invalid",
				`method="post" action="/admin/access-log"`, `name="page" value="1"`, `name="page" value="3"`,
				`<input type="hidden" name="actor" value="Anna">`, "Työpöytä</a>", "Lokitiedot</a>"},
			absent: []string{"actor=Anna", `method="get"`}},
		{name: "access log empty en", target: "/admin/access-log?lang=en", viewer: admin, page: "pages/access-log",
			p:    Page{TitleKey: "accesslog.title", Data: accessLogData{}},
			want: []string{"No log events found"}, absent: []string{"<table", "hds-pagination"}},
		{name: "staff and regions", target: "/admin/staff", viewer: admin, page: "pages/staff",
			p: Page{TitleKey: "staffadmin.title", Data: staffData{
				Staff: []staffRow{
					{ID: 3, Name: "Anna Neuvoja", Email: "anna@example.test", Role: auth.RoleAdvisor, RegionID: "2", LastLoginAt: &loggedIn},
					{ID: 4, Name: "Uusi Neuvoja", Role: auth.RoleAdvisor},
				},
				Regions: []Option{{Value: "1", Label: "Länsi"}, {Value: "2", Label: "Itä"}},
			}},
			want: []string{"<h1>Henkilöstö ja alueet</h1>", `action="/admin/staff/3/region"`, `<label class="visually-hidden" for="region-3">Alue: Anna Neuvoja</label>`,
				`<option value="2" selected>Itä</option>`, "Ei vielä", "4.3.2025 klo 14.05", `<a class="main-nav__link" href="/admin/staff" aria-current="page">Henkilöstö</a>`}},
		{name: "staff empty sv", target: "/admin/staff?lang=sv", viewer: admin, page: "pages/staff",
			p: Page{TitleKey: "staffadmin.title", Data: staffData{}}, want: []string{"Ingen i personalen har loggat in ännu"}, absent: []string{"<table"}},
		{name: "info", target: "/accessibility", page: "pages/info",
			p: Page{TitleKey: "info.accessibility.title", Data: infoData{Intro: "info.accessibility.intro", Sections: []infoSection{
				{TitleKey: "info.accessibility.status_title", Paragraphs: []string{"info.accessibility.status_text"}},
			}}},
			want: []string{"<h1>Saavutettavuusseloste</h1>", "Palvelun saavutettavuus", "WCAG 2.1", `href="/#phone-numbers"`}},
		{name: "error", target: "/missing", page: "pages/error",
			p:    Page{TitleKey: "error.404.title", Data: ErrorData{Status: 404, MessageKey: "error.404.body"}},
			want: []string{"<h1>Sivua ei löytynyt</h1>", "Virhekoodi 404"}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.page] = true
			viewer := tc.viewer
			f := newFrontend(t, Options{
				Viewer:    func(*fiber.Ctx) *Viewer { return viewer },
				CSRFToken: func(*fiber.Ctx) string { return "token-123" },
			})
			app := newApp(f, func(c *fiber.Ctx) error { return f.Render(c, fiber.StatusOK, tc.page, tc.p) })
			resp, body := get(t, app, tc.target, tc.header...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(body, a) {
					t.Errorf("body has %q", a)
				}
			}
			checkPage(t, body)
		})
	}

	f := newFrontend(t, Options{})
	for _, tmpl := range f.engine.Templates.Templates() {
		if strings.HasPrefix(tmpl.Name(), "pages/") && !seen[tmpl.Name()] {
			t.Errorf("template %s has no render test", tmpl.Name())
		}
	}
}

var (
	h1Tag       = regexp.MustCompile(`<h1[ >]`)
	inlineStyle = regexp.MustCompile(`\sstyle=`)
	rawKey      = regexp.MustCompile(`>\s*[a-z_]+\.[a-z_.0-9]+\s*<`)
)

// checkPage asserts what every rendered page must satisfy: one h1, the
// landmarks, no inline script or style (the CSP forbids them), no
// untranslated key.
var headerScript = regexp.MustCompile(`<script src="/assets/[0-9a-f]+/header\.js" defer></script>`)

func checkPage(t *testing.T, body string) {
	t.Helper()
	if n := len(h1Tag.FindAllString(body, -1)); n != 1 {
		t.Errorf("page has %d h1 elements", n)
	}
	for _, landmark := range []string{"<header", "<main id=\"main-content\"", "<footer", `class="skip-link" href="#main-content"`} {
		if !strings.Contains(body, landmark) {
			t.Errorf("page lacks %q", landmark)
		}
	}
	// The one script every page has is the header's menu button; the page
	// works without it. Anything else, inline script above all, is a fault.
	if strings.Contains(headerScript.ReplaceAllString(body, ""), "<script") {
		t.Error("page has a <script> element")
	}
	if inlineStyle.MatchString(body) {
		t.Error("page has a style attribute")
	}
	if m := rawKey.FindString(body); m != "" {
		t.Errorf("page shows an untranslated key: %s", m)
	}
	if strings.Contains(body, "ZgotmplZ") {
		t.Error("html/template rejected a value (ZgotmplZ)")
	}
}

func TestPartials(t *testing.T) {
	f := newFrontend(t, Options{})
	form := NewForm()
	form.Set("region", "east")
	form.Set("message", "Hei <b>siellä</b>")
	form.Fail("message", "form.error.too_long")
	view := &View{Lang: "fi", Form: form, f: f}
	options := []Option{{Value: "west", Label: "Länsi"}, {Value: "east", Label: "Itä"}, {Value: "fi", LabelKey: "nav.home"}}

	cases := []struct {
		name string
		tmpl string
		data any
		want []string
	}{
		{"select", "partials/select", map[string]any{"V": view, "Name": "region", "Label": "home.phones.region", "Options": options, "Required": true},
			[]string{`<select id="region" name="region"`, `<option value="east" selected>Itä</option>`, `<option value="west">Länsi</option>`,
				`>Etusivu</option>`, `<option value="">Valitse</option>`, `aria-required="true"`, `portal-select`}},
		{"textarea", "partials/textarea", map[string]any{"V": view, "Name": "message", "Label": "my.title", "Help": "form.required_hint", "Rows": 6},
			[]string{`<textarea id="message" name="message"`, `Hei &lt;b&gt;siellä&lt;/b&gt;</textarea>`, "Teksti on liian pitkä.",
				`aria-describedby="message-error message-help"`, `rows="6"`, "hds-text-input--invalid"}},
		{"text input", "partials/text-input", map[string]any{"V": view, "Name": "email", "Label": "home.title", "Type": "email", "Autocomplete": "email"},
			[]string{`type="email"`, `autocomplete="email"`, `value=""`, `<label for="email"`}},
		{"notification", "partials/notification", map[string]any{"V": view, "Type": "alert", "Label": "error.500.title", "Body": "error.500.body"},
			[]string{"hds-notification--alert", "Jokin meni vikaan", "hds-icon--alert-circle-fill"}},
		{"error summary", "partials/error-summary", view,
			[]string{`<a href="#message">Teksti on liian pitkä.</a>`, "Tarkista lomakkeen tiedot", `role="alert"`}},
		{"pagination first page", "partials/pagination", map[string]any{"V": view, "P": Pagination{Page: 1, HasNext: true, NextURL: "/x?page=2"}},
			[]string{`disabled class="hds-button hds-button--supplementary hds-button--theme-black hds-pagination__button-prev"`, `href="/x?page=2"`, "Nykyinen sivu,"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := f.engine.Templates.Lookup(tc.tmpl)
			if tmpl == nil {
				t.Fatalf("no template %s", tc.tmpl)
			}
			var buf bytes.Buffer
			if err := tmpl.Execute(&buf, tc.data); err != nil {
				t.Fatalf("execute: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("%s lacks %q in\n%s", tc.tmpl, w, buf.String())
				}
			}
		})
	}
}

func TestLanguageSelection(t *testing.T) {
	cases := []struct {
		name       string
		production bool
		target     string
		header     []string
		want       string
		cookie     []string // parts the Set-Cookie header must have; nil = no cookie
		noCookie   bool
	}{
		{name: "default", target: "/", want: "fi", noCookie: true},
		{name: "query sets cookie", target: "/?lang=sv", want: "sv",
			cookie: []string{"lang=sv", "max-age=31536000", "path=/", "HttpOnly", "SameSite=Lax"}},
		{name: "query secure in production", production: true, target: "/?lang=en", want: "en", cookie: []string{"lang=en", "secure"}},
		{name: "query beats cookie", target: "/?lang=en", header: []string{"Cookie", "lang=sv"}, want: "en", cookie: []string{"lang=en"}},
		{name: "unsupported query ignored", target: "/?lang=de", header: []string{"Accept-Language", "sv"}, want: "sv", noCookie: true},
		{name: "cookie", target: "/", header: []string{"Cookie", "lang=sv"}, want: "sv", noCookie: true},
		{name: "cookie beats accept-language", target: "/", header: []string{"Cookie", "lang=en", "Accept-Language", "sv-FI"}, want: "en"},
		{name: "bad cookie ignored", target: "/", header: []string{"Cookie", "lang=xx", "Accept-Language", "en"}, want: "en"},
		{name: "accept-language sv-FI", target: "/", header: []string{"Accept-Language", "sv-FI,sv;q=0.9,en;q=0.5"}, want: "sv"},
		{name: "accept-language en-US", target: "/", header: []string{"Accept-Language", "en-US,en;q=0.9"}, want: "en"},
		{name: "accept-language de", target: "/", header: []string{"Accept-Language", "de-DE,de;q=0.9"}, want: "fi"},
		{name: "accept-language broken", target: "/", header: []string{"Accept-Language", ";;;q=x"}, want: "fi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFrontend(t, Options{Secure: tc.production})
			app := newApp(f, func(c *fiber.Ctx) error { return c.SendString(Lang(c)) })
			resp, body := get(t, app, tc.target, tc.header...)
			if body != tc.want {
				t.Errorf("language %q, want %q", body, tc.want)
			}
			setCookie := resp.Header.Get("Set-Cookie")
			if tc.noCookie && setCookie != "" {
				t.Errorf("unexpected Set-Cookie %q", setCookie)
			}
			for _, part := range tc.cookie {
				if !strings.Contains(strings.ToLower(setCookie), strings.ToLower(part)) {
					t.Errorf("Set-Cookie %q lacks %q", setCookie, part)
				}
			}
			if !tc.production && strings.Contains(strings.ToLower(setCookie), "secure") {
				t.Errorf("Set-Cookie %q is Secure outside production", setCookie)
			}
		})
	}
}

func TestLangLinks(t *testing.T) {
	f := newFrontend(t, Options{})
	app := newApp(f, func(c *fiber.Ctx) error {
		return f.Render(c, fiber.StatusOK, "pages/desk", Page{TitleKey: "desk.title"})
	})
	cases := []struct {
		target string
		want   []string
	}{
		{"/desk?x=1&lang=sv", []string{`href="/desk?x=1&amp;lang=fi" lang="fi"`, `href="/desk?x=1&amp;lang=en" lang="en"`, `lang="sv" hreflang="sv" aria-current="true"`}},
		{"//evil.example/x", []string{`href="/?lang=sv"`}},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			_, body := get(t, app, tc.target)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			if strings.Contains(body, "evil.example") {
				t.Error("a link leads to another host")
			}
		})
	}
}

func TestMissingTranslations(t *testing.T) {
	cases := []struct {
		name    string
		files   fstest.MapFS
		wantErr []string
	}{
		{name: "complete", files: fstest.MapFS{
			"a.fi.toml": {Data: []byte("[x]\ny = \"fi\"\n")},
			"a.sv.toml": {Data: []byte("[x]\ny = \"sv\"\n")},
			"a.en.toml": {Data: []byte("[x]\ny = \"en\"\n")},
		}},
		{name: "key missing in sv", files: fstest.MapFS{
			"a.fi.toml":    {Data: []byte("[x]\ny = \"fi\"\nz = \"fi\"\n")},
			"a.sv.toml":    {Data: []byte("[x]\ny = \"sv\"\n")},
			"a.en.toml":    {Data: []byte("[x]\ny = \"en\"\nz = \"en\"\n")},
			"chat.fi.toml": {Data: []byte("w = \"fi\"\n")},
		}, wantErr: []string{"sv: x.z", "sv: w", "en: w"}},
		{name: "key only in en", files: fstest.MapFS{
			"a.fi.toml": {Data: []byte("y = \"fi\"\n")},
			"a.sv.toml": {Data: []byte("y = \"sv\"\n")},
			"a.en.toml": {Data: []byte("y = \"en\"\nextra = \"en\"\n")},
		}, wantErr: []string{"fi: extra", "sv: extra"}},
		{name: "unsupported language", files: fstest.MapFS{"a.de.toml": {Data: []byte("y = \"de\"\n")}}, wantErr: []string{`language "de"`}},
		{name: "duplicate id", files: fstest.MapFS{
			"a.fi.toml": {Data: []byte("y = \"fi\"\n")},
			"b.fi.toml": {Data: []byte("y = \"fi\"\n")},
		}, wantErr: []string{`"y" is defined twice`}},
		{name: "broken toml", files: fstest.MapFS{"a.fi.toml": {Data: []byte("y = \n")}}, wantErr: []string{"a.fi.toml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadCatalog(tc.files)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadCatalog: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("loadCatalog succeeded, want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestShippedTranslationsHaveNoUnusedLanguages(t *testing.T) {
	f := newFrontend(t, Options{})
	for _, l := range SupportedLanguages() {
		if len(f.catalog.ids[l]) == 0 {
			t.Errorf("no messages for %s", l)
		}
	}
	if err := f.catalog.require("no.such.key"); err == nil || !strings.Contains(err.Error(), "no.such.key") {
		t.Errorf("require(no.such.key) = %v", err)
	}
}

func TestT(t *testing.T) {
	f := newFrontend(t, Options{})
	cases := []struct {
		lang, id string
		data     []map[string]any
		want     string
	}{
		{"fi", "nav.home", nil, "Etusivu"},
		{"sv", "nav.home", nil, "Startsida"},
		{"en", "nav.home", nil, "Front page"},
		{"de", "nav.home", nil, "Etusivu"},
		{"", "nav.home", nil, "Etusivu"},
		{"sv", "no.such.key", nil, "no.such.key"},
		{"en", "my.greeting", []map[string]any{{"Name": "Alex"}}, "Hello, Alex!"},
		{"fi", "error.code", []map[string]any{{"Status": 404}}, "Virhekoodi 404"},
		{"fi", "my.greeting", nil, "Hei, <no value>!"},
	}
	for _, tc := range cases {
		t.Run(tc.lang+"/"+tc.id, func(t *testing.T) {
			if got := f.T(tc.lang, tc.id, tc.data...); got != tc.want {
				t.Errorf("T = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAssets(t *testing.T) {
	f := newFrontend(t, Options{})
	app := newApp(f, nil)
	cssURL, err := f.AssetURL("portal.css")
	if err != nil {
		t.Fatal(err)
	}
	hdsURL, err := f.AssetURL("vendor/hds-core/components.min.css")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AssetURL("nope.css"); err == nil {
		t.Error("AssetURL(nope.css) succeeded")
	}
	wrongHash := strings.Replace(cssURL, "/assets/", "/assets/0", 1)

	cases := []struct {
		name       string
		target     string
		gzip       bool
		wantStatus int
		wantBody   string
	}{
		{name: "portal.css", target: cssURL, wantStatus: 200, wantBody: ".action-bar"},
		{name: "hds gzip", target: hdsURL, gzip: true, wantStatus: 200, wantBody: ".hds-button"},
		{name: "wrong hash", target: wrongHash, wantStatus: 404},
		{name: "old hash", target: "/assets/0123456789abcdef/portal.css", wantStatus: 404},
		{name: "unknown file", target: strings.Replace(cssURL, "portal.css", "other.css", 1), wantStatus: 404},
		{name: "traversal", target: strings.Replace(cssURL, "portal.css", "../frontend.go", 1), wantStatus: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.gzip {
				hdr = []string{"Accept-Encoding", "gzip, br"}
			}
			resp, body := get(t, app, tc.target, hdr...)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				if resp.Header.Get("Cache-Control") != "" && strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
					t.Error("error response is cacheable")
				}
				return
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", cc)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.gzip {
				if resp.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
				}
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("body lacks %q", tc.wantBody)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{"": false, "gzip": true, "br, gzip;q=0.5": true, "gzip;q=0": false, "deflate": false, "GZIP": true}
	for h, want := range cases {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	cases := []struct {
		name       string
		production bool
		origins    []string
		want       map[string]string
		cspHas     []string
		cspLacks   []string
	}{
		{name: "development", origins: []string{"https://login.example.fi", "https://bad.example; script-src *"},
			want: map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "same-origin", "Strict-Transport-Security": ""},
			cspHas: []string{"default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "base-uri 'none'",
				"object-src 'none'", "form-action 'self' https://login.example.fi;", "img-src 'self' data:", "connect-src 'self'",
				"font-src 'self' " + FontOrigin, "style-src 'self' " + FontOrigin},
			cspLacks: []string{"unsafe-inline", "unsafe-eval", "bad.example", "script-src *"}},
		{name: "production", production: true,
			want: map[string]string{"Strict-Transport-Security": "max-age=63072000; includeSubDomains"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New()
			app.Use(SecurityHeaders(tc.production, tc.origins))
			app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
			resp, _ := get(t, app, "/")
			for h, w := range tc.want {
				if got := resp.Header.Get(h); got != w {
					t.Errorf("%s = %q, want %q", h, got, w)
				}
			}
			if resp.Header.Get("Permissions-Policy") == "" {
				t.Error("no Permissions-Policy")
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, w := range tc.cspHas {
				if !strings.Contains(csp, w) {
					t.Errorf("CSP %q lacks %q", csp, w)
				}
			}
			for _, w := range tc.cspLacks {
				if strings.Contains(csp, w) {
					t.Errorf("CSP %q has %q", csp, w)
				}
			}
		})
	}
}

func TestNewRejectsBadFormActionOrigin(t *testing.T) {
	for _, o := range []string{"javascript:alert(1)", "https://x.example; script-src *", "login.example.fi", "https://u:p@x.example"} {
		if _, err := New(Options{FormActionOrigins: []string{o}}); err == nil {
			t.Errorf("New accepted form-action origin %q", o)
		}
	}
}

func TestFontOriginMatchesVendoredFontFace(t *testing.T) {
	b, err := embedded.ReadFile("assets/vendor/hds-core/fonts.min.css")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "url("+FontOrigin+"/") {
		t.Errorf("fonts.min.css does not load from %s; update FontOrigin", FontOrigin)
	}
}

func TestEscapesData(t *testing.T) {
	f := newFrontend(t, Options{Viewer: func(*fiber.Ctx) *Viewer {
		return &Viewer{Name: `<script>alert("name")</script>`, Role: auth.RoleResident}
	}})
	evil := homeData{Regions: []region{{Name: `<script>alert(1)</script>`, Phone: `javascript:alert(2)`}}}
	app := newApp(f, func(c *fiber.Ctx) error {
		return f.Render(c, fiber.StatusOK, "pages/home", Page{TitleKey: "home.title", Data: evil})
	})
	_, body := get(t, app, "/")
	if strings.Contains(body, "<script>") {
		t.Fatal("data rendered as markup")
	}
	for _, w := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;`, `href="tel:2"`} {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q", w)
		}
	}
}

func TestErrorPage(t *testing.T) {
	cases := []struct {
		name   string
		status int
		key    string
		target string
		want   []string
	}{
		{"404", 404, "", "/x", []string{"<h1>Sivua ei löytynyt</h1>", "Etsimääsi sivua ei löytynyt", "Virhekoodi 404"}},
		{"403 sv", 403, "", "/x?lang=sv", []string{"<h1>Ingen behörighet</h1>", `<html lang="sv">`}},
		{"413 en", 413, "", "/x?lang=en", []string{"The file is too large"}},
		{"own message", 409, "accesslog.error.range", "/x", []string{"<h1>Tiedot ovat muuttuneet</h1>", "Päättymispäivä ei voi olla ennen alkamispäivää."}},
		{"title and body prefix", 403, "error.csrf", "/x?lang=en", []string{"<h1>The form&#39;s session has expired</h1>", "Reload the page"}},
		{"status prefix", 404, "error.404", "/x", []string{"<h1>Sivua ei löytynyt</h1>", "Etsimääsi sivua ei löytynyt"}},
		{"unknown key falls back", 500, "no.such.key", "/x", []string{"<h1>Jokin meni vikaan</h1>", "Palvelussa tapahtui virhe"}},
		{"418 as 400", 418, "", "/x", []string{"<h1>Pyyntöä ei voitu käsitellä</h1>", "Virhekoodi 418"}},
		{"502 as 500", 502, "", "/x", []string{"<h1>Jokin meni vikaan</h1>"}},
		{"login cancelled offers the login", 400, "error.login_cancelled", "/x",
			[]string{"<h1>Kirjautuminen keskeytettiin</h1>", `href="/login">Kirjaudu uudelleen</a>`}},
		{"login service down sv", 503, "error.login_unavailable", "/x?lang=sv",
			[]string{"<h1>Identifieringstjänsten svarar inte</h1>", `href="/login">Logga in igen</a>`}},
		{"weak login en", 403, "error.login_weak", "/x?lang=en",
			[]string{"<h1>Logging in needs strong identification</h1>", `href="/login">Log in again</a>`}},
	}
	f := newFrontend(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := newApp(f, func(c *fiber.Ctx) error { return f.ErrorPage(c, tc.status, tc.key) })
			resp, body := get(t, app, tc.target)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			checkPage(t, body)
		})
	}
}

func TestUnknownSectionTemplateFailsRender(t *testing.T) {
	f := newFrontend(t, Options{})
	app := newApp(f, func(c *fiber.Ctx) error {
		return f.Render(c, 200, "pages/my", Page{Data: sectionsData{Sections: []Section{{TitleKey: "nav.home", Template: "chat/nope"}}}})
	})
	resp, _ := get(t, app, "/")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
}

func TestRenderUnknownTemplate(t *testing.T) {
	f := newFrontend(t, Options{})
	app := newApp(f, func(c *fiber.Ctx) error { return f.Render(c, 200, "pages/nope", Page{}) })
	resp, _ := get(t, app, "/")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
}

func TestNav(t *testing.T) {
	cases := []struct {
		viewer *Viewer
		path   string
		want   []string
		cur    string
	}{
		{nil, "/", []string{"/", "/booking", "/chat", "/my"}, "/"},
		{nil, "/chat", []string{"/", "/booking", "/chat", "/my"}, "/chat"},
		{&Viewer{Role: auth.RoleResident}, "/my/messages", []string{"/", "/my", "/booking", "/chat"}, "/my"},
		{&Viewer{Role: auth.RoleAdvisor}, "/desk", []string{"/", "/desk"}, "/desk"},
		{&Viewer{Role: auth.RoleAdmin}, "/admin/access-log", []string{"/", "/desk", "/admin/staff", "/admin/access-log"}, "/admin/access-log"},
		{&Viewer{Role: "stranger"}, "/mystery", []string{"/"}, ""},
	}
	for _, tc := range cases {
		items := navFor(tc.viewer, tc.path)
		var urls []string
		cur := ""
		for _, it := range items {
			urls = append(urls, it.URL)
			if it.Current {
				cur = it.URL
			}
		}
		if strings.Join(urls, " ") != strings.Join(tc.want, " ") || cur != tc.cur {
			t.Errorf("navFor(%v, %s) = %v current %q, want %v current %q", tc.viewer, tc.path, urls, cur, tc.want, tc.cur)
		}
	}
}

func TestForm(t *testing.T) {
	var nilForm *Form
	if nilForm.Get("x") != "" || nilForm.Error("x") != "" || nilForm.HasErrors() || nilForm.ErrorList() != nil {
		t.Error("nil form is not empty")
	}
	f := &Form{Errors: map[string]string{"b": "k.b", "a": "k.a"}}
	f.Fail("z", "k.z")
	f.Fail("z", "k.other")
	f.Set("z", "v")
	got := f.ErrorList()
	want := []FieldError{{"z", "k.z"}, {"a", "k.a"}, {"b", "k.b"}}
	if len(got) != len(want) {
		t.Fatalf("ErrorList = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ErrorList[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if f.Get("z") != "v" || !f.HasErrors() {
		t.Error("Set/HasErrors")
	}
}

func TestReadFormAndPaginate(t *testing.T) {
	var form *Form
	var p Pagination
	app := fiber.New()
	app.Get("/log", func(c *fiber.Ctx) error {
		form = ReadForm(c, "actor", "resident")
		p = Paginate(c, CurrentPage(c), true)
		return nil
	})
	get(t, app, "/log?actor=+Anna+&page=3&lang=sv")
	if form.Get("actor") != "Anna" || form.Get("resident") != "" {
		t.Errorf("ReadForm = %v", form.Values)
	}
	want := Pagination{Page: 3, HasPrev: true, HasNext: true, PrevURL: "/log?actor=+Anna+&page=2", NextURL: "/log?actor=+Anna+&page=4"}
	if p != want {
		t.Errorf("Paginate = %+v, want %+v", p, want)
	}
	get(t, app, "/log?page=2")
	if p.PrevURL != "/log" {
		t.Errorf("page 1 link %q, want /log", p.PrevURL)
	}
	get(t, app, "/log?page=-4")
	if p.Page != 1 || p.HasPrev {
		t.Errorf("negative page gave %+v", p)
	}
}

func TestTemplateKeyCheck(t *testing.T) {
	f := newFrontend(t, Options{})
	cases := []struct {
		src     string
		wantErr bool
	}{
		{`<p>{{.T "nav.home"}} {{$.V.T "footer.copyright" "Year" 1}}</p>`, false},
		{`<p>{{.T "nav.hom"}}</p>`, true},
		{`<p>{{ .V.T   "no.such"  }}</p>`, true},
		{`<p>{{tr $.Lang "nav.home"}}</p><tr class="x">`, false},
		{`<p>{{tr .Lang "nav.nope"}}</p>`, true},
	}
	for _, tc := range cases {
		err := f.checkTemplateKeys(fstest.MapFS{"pages/x.html": {Data: []byte(tc.src)}})
		if (err != nil) != tc.wantErr {
			t.Errorf("checkTemplateKeys(%s) = %v, want error %v", tc.src, err, tc.wantErr)
		}
	}
}

func TestConcurrentRenders(t *testing.T) {
	f := newFrontend(t, Options{})
	app := newApp(f, func(c *fiber.Ctx) error {
		return f.Render(c, fiber.StatusOK, "pages/home", Page{TitleKey: "home.title", Data: homeData{Regions: []region{{Name: "Itä", Phone: "1"}}}})
	})
	langs := SupportedLanguages()
	errs := make(chan string, 24)
	done := make(chan struct{})
	for i := 0; i < 24; i++ {
		go func(lang string) {
			defer func() { done <- struct{}{} }()
			resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/?lang="+lang, nil), -1)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, err := io.ReadAll(resp.Body)
			if cerr := resp.Body.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				errs <- err.Error()
				return
			}
			if !strings.Contains(string(b), `<html lang="`+lang+`">`) {
				errs <- "wrong language in concurrent render for " + lang
			}
		}(langs[i%len(langs)])
	}
	for i := 0; i < 24; i++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestErrorTitlePrefix(t *testing.T) {
	f := newFrontend(t, Options{})
	form := NewForm()
	form.Fail("actor", "form.error.required")
	app := newApp(f, func(c *fiber.Ctx) error {
		return f.Render(c, fiber.StatusUnprocessableEntity, "pages/access-log", Page{TitleKey: "accesslog.title", Form: form})
	})
	resp, body := get(t, app, "/admin/access-log?lang=sv")
	if resp.StatusCode != fiber.StatusUnprocessableEntity {
		t.Errorf("status %d", resp.StatusCode)
	}
	if !strings.Contains(body, "<title>Fel: Logguppgifter | Bostadsrådgivning | Helsingfors stad</title>") {
		t.Error("title lacks the error prefix")
	}
}
