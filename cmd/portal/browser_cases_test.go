package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCases: Minna finds Aino by name and opens a case for her rent
// debt; opening it again asks why; she adds a note and records a payment
// plan, which puts the case into follow-up; Aino sees her case in plain
// words and that Minna looked at her data, and why. Every page passes
// axe-core and shows no untranslated key.
func TestBrowserCases(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)

	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk/cases/new")
	minna.pickDemoUser("Minna Järvinen")
	if !minna.onPortal("/desk/cases/new") {
		t.Fatalf("after login at %s", minna.location())
	}
	minna.check("new case")
	minna.typeText("q", "Aino")
	minna.submit("search", chromedp.Click(button("//main", "Hae")), http.StatusOK)
	minna.step("pick Aino", chromedp.Click(`//label[contains(normalize-space(), "Aino Asukas")]`))
	minna.choose("reason", "Vuokrarästi")
	minna.choose("household", "Lapsiperhe")
	minna.typeText("debt", "1 250,50")
	minna.submit("open", chromedp.Click(button("//main", "Avaa asiakkuus")), http.StatusOK)
	if got := minna.text("h1"); got != "Asiakkuus: Aino Asukas" {
		t.Fatalf("case heading %q", got)
	}
	minna.check("case")
	minna.typeText("note", "Soitettu Ainolle, sovittu tapaaminen.")
	minna.submit("note", chromedp.Click(button("//main", "Lisää muistiinpano")), http.StatusOK)
	minna.choose("intervention", "Maksusuunnitelma tehty")
	minna.setValue("on_date", "2026-05-04")
	minna.submit("intervention", chromedp.Click(button("//main", "Kirjaa toimenpide")), http.StatusOK)
	if got := minna.text(".lead"); !strings.HasPrefix(got, "Seurannassa") {
		t.Errorf("after the payment plan the case is %q, want Seurannassa", got)
	}
	if got := minna.text(".exchange-events"); !strings.Contains(got, "Soitettu Ainolle") || !strings.Contains(got, "Maksusuunnitelma tehty") {
		t.Errorf("timeline %q", got)
	}
	minna.checkLight("case with a plan intervention")
	minna.typeText("total", "1 000")
	minna.typeText("instalment", "300")
	minna.typeText("due_day", "15")
	minna.setValue("start", "2026-01-01")
	minna.submit("plan", chromedp.Click(button("//main", "Tallenna suunnitelma")), http.StatusOK)
	if got := minna.text(`[aria-labelledby="plan-title"] table`); !strings.Contains(got, "100,00") {
		t.Errorf("the schedule %q lacks the last instalment's remainder", got)
	}
	minna.check("case with a plan")
	// The crisis-accommodation path: the criteria met, then crisis
	// accommodation; and a network partner.
	minna.choose("crisis_check", "Kriisimajoituksen kriteerit täyttyvät")
	minna.choose("crisis_answer", "Kyllä")
	minna.setValue("crisis_check_date", "2026-05-04")
	minna.submit("crisis check", chromedp.Click(button("//main", "Kirjaa selvitys")), http.StatusOK)
	minna.choose("crisis_stage", "Kriisimajoitus")
	minna.setValue("crisis_stage_start", "2026-05-04")
	minna.submit("crisis stage", chromedp.Click(button("//main", "Aloita vaihe")), http.StatusOK)
	minna.choose("partner_kind", "Isännöitsijä")
	minna.typeText("partner_contact", "Kiinteistö Oy Itäkaari")
	minna.setValue("partner_date", "2026-05-04")
	minna.submit("partner", chromedp.Click(button("//main", "Lisää yhteistyökumppani")), http.StatusOK)
	if got := minna.text(`[aria-labelledby="crisis-title"] table`); !strings.Contains(got, "Kriisimajoitus") || !strings.Contains(got, "jatkuu") {
		t.Errorf("the crisis-accommodation stages %q", got)
	}
	if got := minna.text(`[aria-labelledby="partners-title"] table`); !strings.Contains(got, "Isännöitsijä") || !strings.Contains(got, "Kiinteistö Oy Itäkaari") {
		t.Errorf("the partners %q", got)
	}
	if got := minna.text(".exchange-events"); !strings.Contains(got, "Kriisimajoitus alkoi 2026-05-04") || !strings.Contains(got, "Yhteistyökumppani mukaan") {
		t.Errorf("timeline %q", got)
	}
	minna.check("case with crisis accommodation and a partner")
	// On the desk, Aino's crisis accommodation since 4 May 2026 is over
	// three months long.
	minna.open("/desk")
	if got := minna.text(`[aria-labelledby="crisis-desk-caption"]`); !strings.Contains(got, "Aino Asukas") || !strings.Contains(got, "yli 3 kuukautta") {
		t.Errorf("the desk's crisis-accommodation path %q", got)
	}
	minna.check("desk with a crisis stay")
	minna.open("/desk/cases")
	minna.check("case list")
	minna.submit("open from the list", chromedp.Click(link("//main", "Aino Asukas")), http.StatusOK)
	minna.check("why open")
	minna.submit("why", chromedp.Click(link("//main", "Seuranta")), http.StatusOK)
	if got := minna.text("h1"); got != "Asiakkuus: Aino Asukas" {
		t.Errorf("after choosing why: %q", got)
	}

	aino := newBookingTab(t, browser, p, axe)
	aino.open("/my/case")
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/my/case") {
		t.Fatalf("after login at %s", aino.location())
	}
	aino.check("my case")
	main := aino.text("main")
	for _, want := range []string{"seuraa tilannettasi", "Maksusuunnitelma tehty", "Minna Järvinen", "Avasi asiakkuuden", "Asiakastyö", "Maksuerät", "1 000,00"} {
		if !strings.Contains(main, want) {
			t.Errorf("Aino's case page lacks %q", want)
		}
	}
	aino.inOtherLanguages("my case", map[string]string{"fi": "Asiakkuuteni", "sv": "Mitt klientärende", "en": "My case"}, true)
}
