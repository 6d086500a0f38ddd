package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserStats: Pirjo opens the statistics, narrows them to the first
// quarter of 2026 in the east region with the GET form, and sees the
// tables with their charts, drawn on the server; the page passes axe-core
// and shows no untranslated key, also in Swedish and English.
func TestBrowserStats(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)

	pirjo := newBookingTab(t, browser, p, axe)
	pirjo.open("/desk/stats")
	pirjo.pickDemoUser("Pirjo Pääkäyttäjä")
	if !pirjo.onPortal("/desk/stats") {
		t.Fatalf("after login at %s", pirjo.location())
	}
	pirjo.check("statistics")
	pirjo.setValue("from", "2026-01-01")
	pirjo.setValue("to", "2026-03-31")
	pirjo.choose("region", "Itä")
	pirjo.submit("filter", chromedp.Click(button("//main", "Rajaa")), http.StatusOK)
	if q := pirjo.location().Query(); q.Get("from") != "2026-01-01" || q.Get("to") != "2026-03-31" || q.Get("region") == "" {
		t.Errorf("the filter's URL %s", pirjo.location())
	}
	if got := pirjo.text("main h2"); got != "Luvut 1.1.2026–31.3.2026: Itä" {
		t.Errorf("heading %q", got)
	}
	if n := pirjo.count("main table.hds-table"); n != 11 {
		t.Errorf("%d tables, want 11", n)
	}
	if n := pirjo.count(`main svg.stats-chart[role="img"] title`); n != 9 {
		t.Errorf("%d charts with a title, want 9", n)
	}
	if got := pirjo.text("#stats-reason-caption"); got != "Uudet asiakkuudet syyn mukaan" {
		t.Errorf("caption %q", got)
	}
	if href := eval[string](pirjo.session, `document.querySelector("a[href^='/desk/stats.csv']").getAttribute("href")`); !strings.Contains(href, "from=2026-01-01") {
		t.Errorf("CSV link %q", href)
	}
	pirjo.check("statistics of a quarter")
	pirjo.inOtherLanguages("statistics", map[string]string{"fi": "Tilastot", "sv": "Statistik", "en": "Statistics"}, true)
}
