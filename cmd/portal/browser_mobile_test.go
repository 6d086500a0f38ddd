package main

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMobileHeader: on a 375 px phone the header's Chat link,
// languages and login fold under a menu button that opens and closes with
// the keyboard, so the content starts on the first screen; on a desktop
// the button is not there. The front page's hero ends in HDS's koros.
func TestBrowserMobileHeader(t *testing.T) {
	exe := chromiumPath(t)
	src, err := os.ReadFile(testFile(t, "PORTAL_TEST_AXE", "", "axe-core (axe.min.js)"))
	if err != nil {
		t.Fatal(err)
	}
	p := startPortal(t, nil)
	browser := startChromium(t, exe)

	s := newSession(t, browser, p.url)
	s.step("a 375 × 812 phone", chromedp.EmulateViewport(375, 812))
	s.open("/")
	visible := func(css string) bool {
		return eval[bool](s, `(e => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden")(document.querySelector(`+jsString(css)+`))`)
	}
	if !visible("[data-header-menu]") || visible("#header-actions") {
		t.Fatalf("phone: menu button shown %v, actions shown %v; want the button only", visible("[data-header-menu]"), visible("#header-actions"))
	}
	// The header takes at most a quarter of the screen before the content.
	if h := eval[float64](s, `document.querySelector("header").getBoundingClientRect().height`); h > 812/4 {
		t.Errorf("the closed header is %.0f px high on an 812 px screen", h)
	}
	// The service name and the menu button share a row without overlapping.
	if eval[bool](s, `(a => (b => a.right > b.left && a.top < b.bottom && b.top < a.bottom)(document.querySelector("[data-header-menu]").getBoundingClientRect()))(document.querySelector(".action-bar__service").getBoundingClientRect())`) {
		t.Error("the service name runs under the menu button")
	}
	s.screenshot("phone-front-page")
	s.step("open the menu with the keyboard", chromedp.Focus(chromedp.CSS("[data-header-menu]")), chromedp.KeyEvent("\r"))
	if !visible("#header-actions") || s.text("[data-header-menu]") == "" ||
		eval[string](s, `document.querySelector("[data-header-menu]").getAttribute("aria-expanded")`) != "true" {
		t.Error("the menu did not open")
	}
	if !visible(".lang-selector") || !visible(".login-link") {
		t.Error("the open menu lacks the languages or the login")
	}
	s.screenshot("phone-menu-open")
	s.expectAccessible(string(src), "phone: menu open")
	s.step("close with Escape", chromedp.KeyEvent("\x1b"))
	if visible("#header-actions") || eval[string](s, `document.activeElement.getAttribute("data-header-menu")`) != "" {
		t.Error("Escape did not close the menu and return focus to its button")
	}
	if n := s.count(".hds-koros.koros--hero"); n != 1 {
		t.Errorf("%d koros under the hero", n)
	}
	s.expectClean("phone front page")

	d := newSession(t, browser, p.url)
	d.step("a 1280 × 900 desktop", chromedp.EmulateViewport(1280, 900))
	d.open("/")
	if eval[bool](d, `document.querySelector("[data-header-menu]").getClientRects().length > 0`) ||
		!eval[bool](d, `document.querySelector("#header-actions").getClientRects().length > 0`) {
		t.Error("desktop: the actions should show, the menu button not")
	}
	d.screenshot("desktop-front-page")
	d.expectClean("desktop front page")
}
