package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	portalmail "github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// TestBrowserExchange walks the housing-exchange application as its people
// do, in a real browser against the running portal: Aino fills it in over
// several steps, leaves and comes back from Oma asiointi, attaches a PDF
// (and is refused a web page named .pdf), checks the summary and sends it;
// Minna, the advisor of her region, opens it, assesses it with special
// justifications and forwards it; Aino sees the new status and downloads
// her PDF copy. Every page passes axe-core's WCAG 2.1 A and AA rules, shows
// no untranslated key and logs no console error.
func TestBrowserExchange(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	dir := t.TempDir()
	pdf := filepath.Join(dir, "vuokrasopimus.pdf")
	fake := filepath.Join(dir, "kuitti.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, []byte("<!DOCTYPE html><html><body>not a pdf</body></html>"), 0o600); err != nil {
		t.Fatal(err)
	}

	aino := newBookingTab(t, browser, p, axe)
	aino.open("/exchange")
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/exchange") {
		t.Fatalf("after login at %s", aino.location())
	}
	aino.check("exchange index")
	aino.submit("start", chromedp.Click(button("//main", "Aloita hakemus")), http.StatusOK)
	aino.check("step home")
	next := chromedp.Click(button("//main", "Tallenna ja jatka"))

	// A mistake is shown by the field, and nothing is lost.
	aino.typeText("address", "Kontulantie 1 A 2")
	aino.typeText("postal_code", "940")
	aino.submit("home with a short postal code", next, http.StatusUnprocessableEntity)
	if got := aino.fieldError("postal_code"); !strings.Contains(got, "viitenä numerona") {
		t.Errorf("postal code error %q", got)
	}
	if got := eval[string](aino.session, `document.getElementById("address").value`); got != "Kontulantie 1 A 2" {
		t.Errorf("the address was lost: %q", got)
	}
	aino.check("step home with errors")
	// The rest of the home step, household and reasons; then she leaves,
	// and the answers so far are kept.
	fillExchangeToLater(aino, aino.check)
	if !aino.onPortal("/my") {
		t.Fatalf("later led to %s", aino.location())
	}
	aino.check("my page with a draft")
	aino.submit("continue", chromedp.Click(link("//main", "Jatka hakemusta")), http.StatusOK)
	if !strings.HasSuffix(aino.location().Path, "/wishes") {
		t.Fatalf("continue led to %s, want the next step", aino.location())
	}
	aino.submit("back to reasons", chromedp.Click(link(`//nav[contains(@class,"exchange-steps")]`, "Syyt ja liitteet")), http.StatusOK)
	if !eval[bool](aino.session, `document.getElementById("crisis-violence").checked`) {
		t.Error("the crisis kind was not kept")
	}

	// Attachments: the web page named .pdf is refused, the PDF taken.
	aino.step("choose the fake", chromedp.SetUploadFiles(`#attachment`, []string{fake}))
	aino.submit("upload the fake", chromedp.Click(button("//main", "Lisää liitteet")), http.StatusUnprocessableEntity)
	if got := aino.fieldError("attachment"); !strings.Contains(got, "PDF") {
		t.Errorf("the fake's error %q does not say what works", got)
	}
	aino.check("reasons with a refused file")
	aino.step("choose the PDF", chromedp.SetUploadFiles(`#attachment`, []string{pdf}))
	aino.submit("upload the PDF", chromedp.Click(button("//main", "Lisää liitteet")), http.StatusOK)
	if got := aino.text(".exchange-files"); !strings.Contains(got, "vuokrasopimus.pdf") {
		t.Fatalf("attachments list %q", got)
	}
	aino.check("reasons with an attachment")
	aino.submit("reasons", next, http.StatusOK)

	aino.check("step wishes")
	aino.typeText("areas", "Itä-Helsinki")
	aino.submit("wishes", next, http.StatusOK)
	aino.check("step consent")
	aino.step("wants help", chromedp.Click(`label[for="wants_help-yes"]`))
	aino.step("consent", chromedp.Click(`label[for="consent-yes"]`))
	aino.submit("consent", next, http.StatusOK)

	aino.check("summary")
	main := aino.text("main")
	for _, want := range []string{"Kontulantie 1 A 2", "812,40 €", "Lähisuhdeväkivalta", "vuokrasopimus.pdf"} {
		if !strings.Contains(main, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	aino.submit("send", chromedp.Click(button("//main", "Lähetä hakemus")), http.StatusOK)
	if got := aino.text(".exchange-status"); got != "Lähetetty" {
		t.Errorf("status after sending %q", got)
	}
	aino.check("sent application")
	appPath := aino.location().Path

	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk/exchange")
	minna.pickDemoUser("Minna Järvinen")
	if !minna.onPortal("/desk/exchange") {
		t.Fatalf("desk login at %s", minna.location())
	}
	minna.check("desk list")
	minna.submit("open Aino's", chromedp.Click(`//table//a`), http.StatusOK)
	minna.check("desk application")
	minna.step("special support", chromedp.Click(`label[for="special-yes"]`))
	minna.submit("assess without justification", chromedp.Click(button("//main", "Tallenna arvio")), http.StatusUnprocessableEntity)
	minna.check("desk application with errors")
	minna.step("criterion", chromedp.Click(`label[for="criteria-violence_threat"]`))
	minna.typeText("why", "Väkivallan uhka.")
	minna.typeText("statement", "Puollan kiireellistä vaihtoa.")
	minna.step("urgency", chromedp.Click(`label[for="urgency-urgent"]`))
	minna.typeText("message", "Hakemuksesi on arvioitu.")
	minna.submit("assess", chromedp.Click(button("//main", "Tallenna arvio")), http.StatusOK)
	minna.submit("forward", chromedp.Click(button("//main", "Välitä hakemus")), http.StatusOK)
	if got := minna.text(".lead .exchange-status"); got != "Välitetty asuntotoimistoon" {
		t.Errorf("desk status %q", got)
	}
	minna.check("desk application forwarded")

	aino.open(appPath)
	if got := aino.text(".exchange-status"); got != "Välitetty asuntotoimistoon" {
		t.Errorf("Aino sees %q", got)
	}
	if !strings.Contains(aino.text(".exchange-events"), "Hakemuksesi on arvioitu.") {
		t.Error("Aino does not see the advisor's message")
	}
	if strings.Contains(aino.text("main"), "Puollan") {
		t.Error("Aino sees the advisor's statement")
	}
	aino.check("forwarded application")
	aino.inOtherLanguages("forwarded application", map[string]string{"fi": "Asunnonvaihtohakemus", "sv": "Ansökan om bostadsbyte", "en": "Housing exchange application"}, true)
	var mails []portalmail.Stored
	if err := p.s.deps.db.Gorm.Where("recipient = ? AND subject_key = ?", "aino.asukas@example.invalid", "exchange.mail.subject").Find(&mails).Error; err != nil {
		t.Fatal(err)
	}
	if len(mails) != 3 {
		t.Errorf("%d status mails to Aino, want 3 (sent, assessed, forwarded)", len(mails))
	}
	for _, m := range mails {
		if !strings.Contains(m.BodyText, appPath) || strings.Contains(m.BodyText, "Kontulantie") || strings.Contains(m.BodyText, "arvioitu") {
			t.Errorf("status mail says more than that the status changed: %q", m.BodyText)
		}
	}
}

// fillExchangeToLater fills in the exchange application as Aino from the
// home step's postal code (the address typed already) through the
// household and reasons steps, a crisis among the reasons, checking each
// new step's page with check, and leaves with "save and continue later".
func fillExchangeToLater(aino *bookingTab, check func(where string)) {
	next := chromedp.Click(button("//main", "Tallenna ja jatka"))
	aino.typeText("postal_code", "00940")
	aino.step("landlord", chromedp.Click(`label[for="landlord-city"]`))
	aino.typeText("rooms", "2")
	aino.typeText("area", "48")
	aino.typeText("rent", "812,40")
	aino.submit("home", next, http.StatusOK)

	check("step household")
	aino.typeText("adults", "1")
	aino.typeText("children_ages", "4, 9")
	aino.step("needs", chromedp.Click(`label[for="needs-ground_floor"]`))
	aino.submit("household", next, http.StatusOK)

	check("step reasons")
	aino.step("reason crisis", chromedp.Click(`label[for="reasons-crisis"]`))
	aino.step("crisis kind", chromedp.Click(`label[for="crisis-violence"]`))
	aino.typeText("explain_crisis", "Entinen puoliso tietää osoitteen.")
	aino.submit("save and continue later", chromedp.Click(button("//main", "Tallenna ja jatka myöhemmin")), http.StatusOK)
}
