package main

// Browser tests: the portal as a person meets it, in a real headless
// Chromium driven by chromedp, with axe-core checking each page against
// WCAG 2.1 A and AA.
//
//	PORTAL_TEST_CHROMIUM     the browser (default: chromium on PATH, or /usr/bin/chromium)
//	PORTAL_TEST_AXE          axe.min.js from the axe-core npm package
//	PORTAL_TEST_SCREENSHOTS  a folder outside the repository: a PNG of every page checked
//
// Without the browser or axe the tests skip, and the run ends with one line
// saying what they need (go test shows it with -v, or when run in this
// folder); with CI=true they fail.
// Every tab records console errors, uncaught exceptions and Content Security
// Policy violations, and each page checked must have none.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

const (
	// browserTestTimeout bounds one test's browser with all its tabs; the
	// browser is killed when it runs out. It stops a hung browser, it is
	// not a speed check: TestBrowserAccessibility's 20-odd logins and axe
	// runs took 92 s under .ci/run's load on two cores.
	browserTestTimeout = 4 * time.Minute
	// browserStepTimeout bounds one navigation, click or script, so a page
	// that never loads fails with the step's name rather than the test's
	// deadline.
	browserStepTimeout = 20 * time.Second

	// cspBinding is the page-side function the CSP watcher reports through.
	cspBinding = "__portalTestCSPViolation"
)

// cspWatcher runs in every document before the page's own scripts (DevTools
// adds it, so the page's CSP does not apply to it) and reports each
// securitypolicyviolation event through cspBinding.
const cspWatcher = `document.addEventListener("securitypolicyviolation", function (e) {
  window.` + cspBinding + `(JSON.stringify({
    directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, sample: e.sample
  }));
});`

// axeTags are the rule tags of WCAG 2.1 levels A and AA (2.0 included).
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// testFile returns the file an environment variable names, or fallback when
// that exists. Missing, it skips the test, or fails it when CI=true.
func testFile(t *testing.T, envName, fallback, what string) string {
	t.Helper()
	path := os.Getenv(envName)
	if path == "" {
		path = fallback
	}
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("%s not found (%s=%q)", what, envName, os.Getenv(envName))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ", and CI=true requires the browser tests to run")
	}
	skipped.add(t.Name(), envName)
	t.Skip(msg)
	return ""
}

// skipped counts the browser tests skipped for a missing tool, so that the
// run ends with one line saying what they need (TestMain).
var skipped = &skipLog{needs: map[string]bool{}}

type skipLog struct {
	mu    sync.Mutex
	tests int
	needs map[string]bool
}

func (s *skipLog) add(_, env string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tests++
	s.needs[env] = true
}

// summary is the closing line, "" when nothing was skipped.
func (s *skipLog) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tests == 0 {
		return ""
	}
	return fmt.Sprintf("browser tests: %d skipped; they need Chromium (PORTAL_TEST_CHROMIUM, or chromium on PATH) and axe-core (PORTAL_TEST_AXE=path/to/axe.min.js, from `npm pack axe-core@4.14.1`); see README.md", s.tests)
}

// chromiumPath is the browser the tests drive; see testFile. Tests ask for
// it first, so a machine without one skips before starting a portal.
func chromiumPath(t *testing.T) string {
	t.Helper()
	fallback := "/usr/bin/chromium"
	if p, err := exec.LookPath("chromium"); err == nil {
		fallback = p
	}
	return testFile(t, "PORTAL_TEST_CHROMIUM", fallback, "Chromium")
}

// startChromium starts one headless Chromium with a fresh profile for the
// test and returns a context holding it. Tabs opened from it with
// newSession share the process; the browser ends with the test, before the
// portal that the test started first.
func startChromium(t *testing.T, exe string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), browserTestTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// A Finnish browser. New headless mode keeps Accept-Language at
		// en-US whatever --lang says; --accept-lang sets the header.
		chromedp.Flag("lang", "fi"),
		chromedp.Flag("accept-lang", "fi"),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the process, before TempDir removes the profile
		cancel()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium %s: %v", exe, err)
	}
	return browser
}

// session is one tab in a browser context of its own, so its cookies are
// nobody else's, like a person on their own computer. It records every
// console error, uncaught exception and CSP violation for expectClean.
type session struct {
	t    *testing.T
	ctx  context.Context
	base *url.URL
	tab  int64 // the tab's number in this test binary: its screenshots' prefix

	mu    sync.Mutex
	notes []note
	// shots are the pages the test checked last, kept in case it fails.
	shots []shot
}

// shot is one checked page's screenshot.
type shot struct {
	name string
	jpeg []byte
}

// tabs counts the tabs opened.
var tabs atomic.Int64

// keptShots is how many of its last checked pages a tab keeps.
const keptShots = 6

// keepShots writes a failed test's last checked pages into its artifact
// folder, which go test keeps under -outputdir with -artifacts (.ci/run
// passes both).
func (s *session) keepShots() {
	if !s.t.Failed() || len(s.shots) == 0 {
		return
	}
	dir := s.t.ArtifactDir()
	for i, sh := range s.shots {
		// Several tabs of one test keep theirs in the same folder.
		file := filepath.Join(dir, fmt.Sprintf("tab%d-%02d-%s.jpg", s.tab, i+1, fileName(sh.name)))
		if err := os.WriteFile(file, sh.jpeg, 0o644); err != nil {
			s.t.Logf("screenshot %s: %v", sh.name, err)
			return
		}
	}
	s.t.Logf("the last %d pages checked are in %s", len(s.shots), dir)
}

func newSession(t *testing.T, browser context.Context, base string) *session {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, base: u, tab: tabs.Add(1)}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(s.observe))
	t.Cleanup(cancel)
	s.ctx = ctx
	t.Cleanup(s.keepShots)
	setup := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		// The sandbox has no Internet; the font CDN is cut off at once and
		// deterministically instead of waiting on a DNS failure.
		if _, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: frontend.FontOrigin + "/*", Block: true}},
		}); err != nil {
			return fmt.Errorf("block the font CDN: %w", err)
		}
		if _, err := cdp.Call(ctx, tg, runtime.AddBinding, runtime.AddBindingParams{Name: cspBinding}); err != nil {
			return fmt.Errorf("add the CSP binding: %w", err)
		}
		if _, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatcher}); err != nil {
			return fmt.Errorf("add the CSP watcher: %w", err)
		}
		return nil
	})
	// The first Run binds the tab to ctx; it must not carry a step timeout.
	if err := chromedp.Do(ctx, setup); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return s
}

// observe runs in the tab's event loop: it only records. Errors,
// exceptions and CSP violations are problems; warnings are only logged.
func (s *session) observe(ev any) {
	var n note
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		n.text = "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			n.text += " " + d.Exception.Description
		}
		n.text += fmt.Sprintf(" at %s:%d", d.URL, d.LineNumber+1)
		n.problem = true
	case *runtime.EventConsoleAPICalled:
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeAssert:
			n.problem = true
		case runtime.ConsoleAPICalledTypeWarning:
		default:
			return
		}
		args := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		n.text = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		switch {
		case strings.HasPrefix(e.URL, frontend.FontOrigin+"/"):
			return // blocked on purpose in newSession
		case e.Level == cdplog.EntryLevelError:
			n.problem = true
		case e.Level != cdplog.EntryLevelWarning:
			return
		}
		n.text = fmt.Sprintf("browser log (%s %s): %s %s", e.Source, e.Level, strings.TrimSpace(e.Text), e.URL)
	case *runtime.EventBindingCalled:
		if ev.Name != cspBinding {
			return
		}
		n.text = "CSP violation: " + ev.Payload
		n.problem = true
	default:
		return
	}
	s.mu.Lock()
	s.notes = append(s.notes, n)
	s.mu.Unlock()
}

// note is one thing the tab's console showed.
type note struct {
	text    string
	problem bool // fails the page; otherwise only logged
}

// takeNotes returns and forgets what the tab has recorded.
func (s *session) takeNotes() []note {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notes
	s.notes = nil
	return n
}

// expectClean fails the test for every console error, exception or CSP
// violation recorded since the last call, and logs the warnings.
func (s *session) expectClean(where string) {
	s.t.Helper()
	for _, n := range s.takeNotes() {
		if n.problem {
			s.t.Errorf("%s: %s", where, n.text)
		} else {
			s.t.Logf("%s: %s", where, n.text)
		}
	}
}

// step runs actions under browserStepTimeout.
func (s *session) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// open loads a path of the portal and waits for the page.
func (s *session) open(path string) {
	s.t.Helper()
	s.step("open "+path, chromedp.Navigate(s.base.String()+path))
}

// follow clicks what sel finds (a link or a submit button) and waits for the
// page that the click leads to, through any redirects.
func (s *session) follow(what, sel string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		s.t.Fatalf("click %s: %v", what, err)
	}
	if resp.Status != 200 {
		s.t.Fatalf("click %s: %s answered %d", what, resp.URL, resp.Status)
	}
}

// eval evaluates a JavaScript expression into T.
func eval[T any](s *session, expr string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		s.t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// location is the tab's current URL.
func (s *session) location() *url.URL {
	s.t.Helper()
	u, err := url.Parse(eval[string](s, "location.href"))
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// text is the visible text of the first element matching a CSS selector,
// with whitespace collapsed, or "" when there is none.
func (s *session) text(css string) string {
	s.t.Helper()
	return eval[string](s, fmt.Sprintf(`(e => e ? e.innerText.replace(/\s+/g, " ").trim() : "")(document.querySelector(%s))`, jsString(css)))
}

// count is the number of elements matching a CSS selector.
func (s *session) count(css string) int {
	s.t.Helper()
	return eval[int](s, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(css)))
}

// lang is the html element's lang attribute.
func (s *session) lang() string {
	s.t.Helper()
	return eval[string](s, "document.documentElement.lang")
}

// onPortal reports whether the tab shows a page of the portal at path.
func (s *session) onPortal(path string) bool {
	s.t.Helper()
	u := s.location()
	return u.Host == s.base.Host && u.Path == path
}

// screenshot keeps the checked page for a failure report (keepShots), and
// saves it to PORTAL_TEST_SCREENSHOTS when that is set.
func (s *session) screenshot(name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	jpeg, err := chromedp.Run(ctx, chromedp.FullScreenshot(60))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.shots = append(s.shots, shot{name, jpeg})
	if len(s.shots) > keptShots {
		s.shots = s.shots[1:]
	}
	dir := screenshotDir(s.t)
	if dir == "" {
		return
	}
	file := filepath.Join(dir, fileName(s.t.Name()+"-"+name)+".jpg")
	if err := os.WriteFile(file, jpeg, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot %s", file)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string { return unsafeFileChars.ReplaceAllString(s, "_") }

// screenshotDir returns PORTAL_TEST_SCREENSHOTS, created, or "" when unset.
// A folder inside the repository is refused: screenshots hold demo personal
// data and must never be committed by accident.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PORTAL_TEST_SCREENSHOTS")
	if dir == "" {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", "..")) // tests run in cmd/portal
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(repo, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		t.Fatalf("PORTAL_TEST_SCREENSHOTS=%s is inside the repository %s; choose a folder outside it", dir, repo)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return string(b)
}

// xpathString quotes s as an XPath 1.0 string literal.
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + s + "'"
}

// link and button select, by XPath, an a or button element under scope
// whose text is exactly label, the way a person finds what to click.
func link(scope, label string) string {
	return scope + "//a[normalize-space()=" + xpathString(label) + "]"
}

func button(scope, label string) string {
	return scope + "//button[normalize-space()=" + xpathString(label) + "]"
}

// pickDemoUser clicks a demo user's button on the development provider's
// page, which the tab must be showing.
func (s *session) pickDemoUser(name string) {
	s.t.Helper()
	if s.location().Host == s.base.Host || !strings.Contains(s.text("h1"), "Kehitystunnistus") {
		s.t.Fatalf("expected the development provider's picker, got %s (%q)", s.location(), s.text("h1"))
	}
	s.expectClean("the provider's picker")
	s.screenshot("picker")
	// Each button shows the name, a title and an e-mail address.
	s.follow("the demo user "+name, "//button[.//*[contains(@class, 'user-name') and normalize-space()="+xpathString(name)+"]]")
}

func TestBrowserLanguages(t *testing.T) {
	exe := chromiumPath(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	s := newSession(t, browser, p.url)

	s.open("/")
	if got := s.lang(); got != "fi" {
		t.Fatalf("front page in %q for a Finnish browser (navigator.languages %s), want fi",
			got, eval[string](s, "JSON.stringify(navigator.languages)"))
	}
	if got := s.text("h1"); got != "Asumisneuvonta" {
		t.Errorf("Finnish heading %q", got)
	}
	s.expectClean("front page (fi)")
	s.screenshot("front-fi")

	for _, tc := range []struct{ label, lang, heading string }{
		{"Svenska", "sv", "Bostadsrådgivning"},
		{"English", "en", "Housing counselling"},
	} {
		s.follow(tc.label, link("//ul[contains(@class, 'lang-selector')]", tc.label))
		if got := s.lang(); got != tc.lang {
			t.Errorf("after %s: html lang %q, want %q", tc.label, got, tc.lang)
		}
		if got := s.text("h1"); got != tc.heading {
			t.Errorf("after %s: heading %q, want %q", tc.label, got, tc.heading)
		}
		if got := s.text(".lang-selector [aria-current]"); got != tc.label {
			t.Errorf("after %s: the selector marks %q as current", tc.label, got)
		}
		s.expectClean("front page (" + tc.lang + ")")
		s.screenshot("front-" + tc.lang)
	}

	// The choice is a cookie: a plain load, without ?lang, stays English.
	s.open("/")
	if got := s.lang(); got != "en" {
		t.Errorf("the next page load is in %q, want the chosen en", got)
	}
	if got := s.text(".action-bar__actions .login-link"); got != "Log in" {
		t.Errorf("the header's login link reads %q on the next load, want Log in", got)
	}
	s.expectClean("front page reloaded")

	t.Run("the watcher sees a CSP violation", func(t *testing.T) {
		// The policy forbids inline script: planting one must be refused,
		// and reported, or expectClean proves nothing.
		s := newSession(t, browser, p.url)
		s.open("/")
		s.expectClean("front page")
		eval[bool](s, `document.head.appendChild(Object.assign(document.createElement("script"), {textContent: "window.__planted = 1"})) !== null`)
		var got []note
		reported := func() bool {
			for _, n := range got {
				if n.problem && strings.HasPrefix(n.text, "CSP violation") {
					return true
				}
			}
			return false
		}
		for deadline := time.Now().Add(5 * time.Second); !reported() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			got = append(got, s.takeNotes()...)
		}
		if !reported() {
			t.Errorf("a planted inline script was not reported; recorded: %+v", got)
		}
		if eval[bool](s, `window.__planted === 1`) {
			t.Error("a planted inline script ran: the CSP did not apply")
		}
	})
}

func TestBrowserResidentLoginAndLogout(t *testing.T) {
	exe := chromiumPath(t)
	p := startPortal(t, nil)
	s := newSession(t, startChromium(t, exe), p.url)

	s.open("/")
	s.expectClean("front page")
	s.follow("Kirjaudu", link("//header", "Kirjaudu"))
	s.pickDemoUser("Aino Asukas")

	if !s.onPortal("/my") {
		t.Fatalf("after login at %s, want the portal's /my", s.location())
	}
	if got := s.text("h1"); got != "Oma asiointi" {
		t.Errorf("my page heading %q, want Oma asiointi", got)
	}
	if got := s.text(".user-menu__name"); got != "Aino Asukas" {
		t.Errorf("header shows %q as the user, want Aino Asukas", got)
	}
	if got := s.text(".user-menu__role"); got != "Asukas" {
		t.Errorf("header shows the role as %q, want the translated Asukas", got)
	}
	if got := s.text(`.main-nav [aria-current="page"]`); got != "Oma asiointi" {
		t.Errorf("navigation marks %q as the current page, want Oma asiointi", got)
	}
	s.expectClean("/my")
	s.screenshot("my")

	s.follow("Kirjaudu ulos", button("//header", "Kirjaudu ulos"))
	if u := s.location(); !s.onPortal("/") || u.Query().Get("logged_out") == "" {
		t.Errorf("after logout at %s, want the front page with logged_out", u)
	}
	if got := s.text(".notice-area"); !strings.Contains(got, "Olet kirjautunut ulos.") {
		t.Errorf("front page after logout shows no logged-out notice (notice area %q)", got)
	}
	if got := s.text("header .login-link"); got != "Kirjaudu" {
		t.Errorf("header's login link reads %q after logout, want Kirjaudu", got)
	}
	if n := s.count(".user-menu"); n != 0 {
		t.Error("header still shows the user menu after logout")
	}
	s.expectClean("front page after logout")
	s.screenshot("logged-out")

	// The session is gone: /my asks for a login again.
	s.open("/my")
	if s.location().Host == s.base.Host || s.count("button .user-name") == 0 {
		t.Errorf("/my after logout shows %s (%q), want the provider's picker", s.location(), s.text("h1"))
	}
	s.expectClean("/my after logout")
}

func TestBrowserStaffPages(t *testing.T) {
	exe := chromiumPath(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)

	t.Run("advisor lands on the desk", func(t *testing.T) {
		s := newSession(t, browser, p.url)
		s.open("/desk")
		s.pickDemoUser("Minna Järvinen")
		if !s.onPortal("/desk") {
			t.Fatalf("after login from /desk at %s", s.location())
		}
		if got := s.text("h1"); got != "Työpöytä" {
			t.Errorf("desk heading %q, want Työpöytä", got)
		}
		if got := s.text(".user-menu__name") + " / " + s.text(".user-menu__role"); got != "Minna Järvinen / Asumisneuvoja" {
			t.Errorf("header shows %q", got)
		}
		if n := s.count(`.main-nav a[href="/admin/access-log"]`); n != 0 {
			t.Error("an advisor's navigation offers the access log")
		}
		s.expectClean("/desk")
		s.screenshot("desk")
	})

	t.Run("admin reads her own view in the access log", func(t *testing.T) {
		s := newSession(t, browser, p.url)
		s.open("/desk")
		s.pickDemoUser("Pirjo Pääkäyttäjä")
		if !s.onPortal("/desk") {
			t.Fatalf("after login from /desk at %s", s.location())
		}
		s.expectClean("/desk (admin)")
		s.follow("Lokitiedot", link(`//nav[contains(@class, "main-nav")]`, "Lokitiedot"))
		if !s.onPortal("/admin/access-log") {
			t.Fatalf("Lokitiedot led to %s", s.location())
		}
		if got := s.text("h1"); got != "Lokitiedot" {
			t.Errorf("access log heading %q", got)
		}
		// The view is logged before the listing is read, so it lists itself.
		own := eval[int](s, `[...document.querySelectorAll(".access-log-table tbody tr")].filter(tr => {
			const cells = [...tr.cells].map(c => c.innerText.trim());
			return cells[1] === "Pirjo Pääkäyttäjä" && cells[2] === "Pääkäyttäjä" && cells[4] === "Luki lokitietoja" && cells[6] === "Lokitietojen sivu";
		}).length`)
		if own < 1 {
			t.Errorf("no row for the admin's own access-log view; table: %q", s.text(".access-log-table"))
		}
		s.expectClean("/admin/access-log")
		s.screenshot("access-log")
	})
	t.Run("admin moves an advisor to another region", func(t *testing.T) {
		s := newSession(t, browser, p.url)
		s.open("/desk")
		s.pickDemoUser("Pirjo Pääkäyttäjä")
		s.follow("Henkilöstö", link(`//nav[contains(@class, "main-nav")]`, "Henkilöstö"))
		if !s.onPortal("/admin/staff") {
			t.Fatalf("Henkilöstö led to %s", s.location())
		}
		const row = `//tr[th[normalize-space()="Amina Yusuf"]]`
		if got := eval[string](s, `(() => { const sel = document.evaluate('`+row+`//select', document, null, 9, null).singleNodeValue;
			return sel.options[sel.selectedIndex].text; })()`); got != "Itä" {
			t.Fatalf("Amina's region shows %q, want Itä", got)
		}
		if !eval[bool](s, `(() => { const sel = document.evaluate('`+row+`//select', document, null, 9, null).singleNodeValue;
			const o = [...sel.options].find(o => o.text === "Etelä"); if (!o) return false; sel.value = o.value; return true; })()`) {
			t.Fatal("no Etelä among the regions")
		}
		s.follow("save Amina's region", row+`//button`)
		if !s.onPortal("/admin/staff") {
			t.Fatalf("saving led to %s", s.location())
		}
		if got := s.text(`[role="status"]`); !strings.Contains(got, "Alue tallennettu.") {
			t.Errorf("status after saving %q", got)
		}
		if got := eval[string](s, `(() => { const sel = document.evaluate('`+row+`//select', document, null, 9, null).singleNodeValue;
			return sel.options[sel.selectedIndex].text; })()`); got != "Etelä" {
			t.Errorf("after saving Amina's region shows %q, want Etelä", got)
		}
		s.expectClean("/admin/staff")
		s.screenshot("staff")
	})
}

// axeViolation is one failed axe-core rule with the elements that fail it.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeRun evaluates axe-core in the page, injecting it first where needed.
// DevTools evaluation is not subject to the page's CSP, which forbids any
// script the portal does not serve itself. options is axe.run's options
// object as JavaScript.
func (s *session) axeRun(axeSource, options string) []axeViolation {
	s.t.Helper()
	const loaded = `typeof window.axe === "object" && typeof window.axe.run === "function"`
	if !eval[bool](s, loaded) {
		s.step("inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource+"\n;void 0"))
		if !eval[bool](s, loaded) {
			s.t.Fatal("axe-core did not load into the page")
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, `+options+`).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target.map(String).join(" "), html: n.html, summary: n.failureSummary || ""})),
	})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("axe.run: %v", err)
	}
	return v
}

// expectAccessible runs the WCAG 2.1 A and AA rules of axe-core on the page
// and fails the test for each violation, naming its rule, impact and first
// failing element.
func (s *session) expectAccessible(axeSource, where string) {
	s.t.Helper()
	tags, err := json.Marshal(axeTags)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, v := range s.axeRun(axeSource, `{runOnly: {type: "tag", values: `+string(tags)+`}, resultTypes: ["violations"]}`) {
		msg := fmt.Sprintf("%s: axe %s (%s): %s [%s]", where, v.ID, v.Impact, v.Help, v.HelpURL)
		if len(v.Nodes) > 0 {
			n := v.Nodes[0]
			msg += fmt.Sprintf("\n\tfirst of %d: %s\n\t%s\n\t%s", len(v.Nodes), n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n\t"))
		}
		s.t.Error(msg)
	}
	// axe itself must leave the console clean too.
	s.expectClean(where + " under axe")
}

func TestBrowserAccessibility(t *testing.T) {
	exe := chromiumPath(t)
	axeFile := testFile(t, "PORTAL_TEST_AXE", "", "axe-core (axe.min.js)")
	src, err := os.ReadFile(axeFile)
	if err != nil {
		t.Fatal(err)
	}
	axeSource := string(src)
	// Every page below is a login from one address within a minute: more
	// than the default login rate limit lets through.
	p := startPortal(t, map[string]string{"PORTAL_LOGIN_RATE_LIMIT": "100"})
	browser := startChromium(t, exe)

	t.Run("axe sees a planted violation", func(t *testing.T) {
		// An image without alt text: if axe is not really running on the
		// page, every check below passes for nothing.
		s := newSession(t, browser, p.url)
		s.open("/")
		eval[bool](s, `document.querySelector("main").appendChild(Object.assign(document.createElement("img"),
			{src: "data:image/gif;base64,R0lGODlhAQABAAAAACw="})) !== null`)
		found := false
		for _, v := range s.axeRun(axeSource, `{runOnly: {type: "rule", values: ["image-alt"]}}`) {
			found = found || v.ID == "image-alt"
		}
		if !found {
			t.Error("axe did not report an image without alt text")
		}
		s.expectClean("front page with a planted image")
	})

	t.Run("front page", func(t *testing.T) {
		s := newSession(t, browser, p.url)
		for _, lang := range frontend.SupportedLanguages() {
			s.open("/?lang=" + lang)
			if got := s.lang(); got != lang {
				t.Fatalf("front page in %q, want %q", got, lang)
			}
			s.expectClean("front page (" + lang + ")")
			s.expectAccessible(axeSource, "front page ("+lang+")")
		}
	})

	for _, tc := range []struct{ path, user string }{
		{"/my", "Aino Asukas"},
		{"/desk", "Minna Järvinen"},
		{"/admin/access-log", "Pirjo Pääkäyttäjä"},
		{"/admin/staff", "Pirjo Pääkäyttäjä"},
		{"/exchange", "Aino Asukas"},
		{"/desk/exchange", "Minna Järvinen"},
		{"/messages/new", "Aino Asukas"},
		{"/desk/messages", "Minna Järvinen"},
		{"/desk/messages/new", "Minna Järvinen"},
		{"/desk/cases/new", "Minna Järvinen"},
		{"/desk/stats", "Pirjo Pääkäyttäjä"},
		{"/desk/cases/payments", "Minna Järvinen"},
		{"/desk/cases/outreach", "Minna Järvinen"},
		{"/desk/cases/outreach/import", "Pirjo Pääkäyttäjä"},
		{"/my/case", "Aino Asukas"},
		{"/my/data", "Aino Asukas"},
		{"/admin/erasure", "Pirjo Pääkäyttäjä"},
		{"/contact/self", "Aino Asukas"},
		{"/desk/contact", "Minna Järvinen"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := newSession(t, browser, p.url)
			s.open(tc.path)
			s.pickDemoUser(tc.user)
			if !s.onPortal(tc.path) {
				t.Fatalf("%s after login at %s", tc.user, s.location())
			}
			s.expectClean(tc.path)
			s.expectAccessible(axeSource, tc.path)
		})
	}
}
