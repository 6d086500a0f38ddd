package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
)

// TestBrowserCaseForSomeoneNotLoggedIn: a neighbour has asked the advisors
// to contact Veikko, who has never used the portal. Minna opens the
// request on her desk and, from it, a case: the request fills in Veikko's
// name and address and the case's reason and eviction date; she adds his
// personal identity code, records him and opens the case, whose timeline
// says where it began and shows the request; she makes a payment plan and
// books him a home visit. Veikko then logs in with strong identification
// (the development provider sends his identity code) and finds his case,
// the plan, the home visit and that Minna has looked at his data. Minna closes the case; Veikko sees it
// closed. Every page passes axe-core and shows no untranslated key.
func TestBrowserCaseForSomeoneNotLoggedIn(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	// The minimum fill time is for scripts; this test is not one to wait for.
	p := startPortal(t, map[string]string{"PORTAL_CONTACT_MIN_FILL": "1ms"})
	browser := startChromium(t, exe)

	// An older, less urgent request in the same region is already waiting.
	older, err := p.s.deps.contact.Submit(context.Background(), contact.Submission{
		SenderKind: "relative", SenderName: "Sanna Sukulainen", Concern: "upkeep", Description: "Äiti ei avaa postiaan.",
		ResidentName: "Eeva Esimerkki", StreetAddress: "Kontulantie 5", PostalCode: "00940", PersonKnows: "yes", Lang: "fi",
	})
	if err != nil {
		t.Fatal(err)
	}

	// Niilo, a neighbour who is not logged in, writes from the front page.
	evicted := time.Now().AddDate(0, 0, 7)
	evicted = time.Date(evicted.Year(), evicted.Month(), evicted.Day(), 0, 0, 0, 0, time.UTC)
	niilo := newBookingTab(t, browser, p, axe)
	niilo.open("/")
	niilo.submit("the front page's contact card", chromedp.Click(link("//main", "Jätä yhteydenottopyyntö")), http.StatusOK)
	niilo.step("who", chromedp.Click(`label[for="who-neighbour"]`))
	niilo.typeText("sender_name", "Niilo Naapuri")
	niilo.typeText("sender_phone", "040 765 4321")
	niilo.step("concern", chromedp.Click(`label[for="concern-rent_debt"]`))
	niilo.typeText("description", "Veikolla on häätö ensi viikolla.")
	niilo.setValue("eviction_date", evicted.Format(time.DateOnly))
	niilo.typeText("resident_name", "Veikko Ilmanen")
	niilo.typeText("street_address", "Kontulantie 1 A 2")
	niilo.typeText("postal_code", "00940")
	niilo.step("knows", chromedp.Click(`label[for="person_knows-no"]`))
	niilo.submit("send", chromedp.Click(button("//main", "Lähetä pyyntö")), http.StatusOK)
	if !niilo.onPortal("/contact/sent") {
		t.Fatalf("sending led to %s", niilo.location())
	}
	niilo.check("contact request sent")
	var req contact.Request
	if err := p.s.deps.db.Gorm.Where("reference = ?", niilo.text(".contact-ref__code")).First(&req).Error; err != nil {
		t.Fatalf("the request Niilo was given a reference for: %v", err)
	}
	if req.EvictionOn == nil || !req.EvictionOn.Equal(evicted) || req.RegionID != demoRegionID(t, p, "east") {
		t.Fatalf("stored request: eviction %v, region %v; want %v in east", req.EvictionOn, req.RegionID, evicted)
	}
	var before int64
	if err := p.s.deps.db.Gorm.Raw("SELECT COUNT(*) FROM users WHERE subject = 'demo-resident-veikko'").Scan(&before).Error; err != nil || before != 0 {
		t.Fatalf("Veikko is known before his first login (%d, %v)", before, err)
	}

	// Minna, an advisor of the east region, finds it first on her desk: the
	// eviction next week puts it before the older request.
	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk/contact")
	minna.pickDemoUser("Minna Järvinen")
	refs := eval[[]string](minna.session, `[...document.querySelectorAll("main tbody tr")].map(tr => tr.cells[0].innerText.trim())`)
	if len(refs) != 2 || refs[0] != req.Reference || refs[1] != older.Reference {
		t.Fatalf("Minna's inbox lists %q; want the urgent %s first, then %s", refs, req.Reference, older.Reference)
	}
	minna.submit("open "+req.Reference, chromedp.Click(link("//main//table", req.Reference)), http.StatusOK)
	minna.submit("open a case from the request", chromedp.Click(link("//main", "Avaa asiakkuus")), http.StatusOK)
	if !minna.onPortal("/desk/cases/new") {
		t.Fatalf("the request's case link led to %s", minna.location())
	}
	minna.check("new case from a contact request")
	if got := eval[string](minna.session, `document.getElementById("name").value`); got != "Veikko Ilmanen" {
		t.Errorf("the request did not fill in the name: %q", got)
	}
	if strings.Contains(minna.location().RawQuery, "Veikko") {
		t.Errorf("a name in the URL: %s", minna.location())
	}
	minna.typeText("identity_code", "110758-901S")
	minna.submit("record Veikko", chromedp.Click(button("//main", "Kirjaa asiakas")), http.StatusOK)
	if got := minna.text("#resident"); !strings.Contains(got, "Veikko Ilmanen") || !strings.Contains(got, "110758-****") || strings.Contains(got, "901S") {
		t.Errorf("the recorded client is shown as %q", got)
	}
	if got := minna.selected("reason"); got != "Vuokrarästi" {
		t.Errorf("reason prefilled %q, want Vuokrarästi", got)
	}
	minna.check("client recorded")
	minna.submit("open", chromedp.Click(button("//main", "Avaa asiakkuus")), http.StatusOK)
	if got := minna.text("h1"); got != "Asiakkuus: Veikko Ilmanen" {
		t.Fatalf("case heading %q", got)
	}
	casePage := minna.location().Path
	timeline := minna.text(".exchange-events")
	for _, want := range []string{"Avattu yhteydenottopyynnöstä " + req.Reference, "Yhteydenottopyyntö"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline lacks %q: %q", want, timeline)
		}
	}
	if got := minna.text("main"); !strings.Contains(got, "ei vielä kirjautunut palveluun") {
		t.Error("the case does not say Veikko has not logged in")
	}
	minna.check("case of a client record")
	minna.typeText("total", "900")
	minna.typeText("instalment", "300")
	minna.typeText("due_day", "15")
	minna.setValue("start", time.Now().AddDate(0, 1, 0).Format("2006-01")+"-01")
	minna.submit("plan", chromedp.Click(button("//main", "Tallenna suunnitelma")), http.StatusOK)

	// Minna books a home visit for Veikko, who still has not logged in.
	minna.open("/desk/booking/new")
	minna.typeText("q", "Veikko")
	minna.submit("find Veikko", chromedp.Click(button("//main", "Hae")), http.StatusOK)
	minna.follow("Veikko in the results", link("//main", "Veikko Ilmanen"))
	minna.choose("topic", "Vuokravelka")
	minna.choose("type", "Kotikäynti")
	minna.choose("advisor", "Minna Järvinen")
	minna.submit("home visit times", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusOK)
	visits := minna.slots()
	if len(visits) == 0 {
		t.Fatal("no home visit times for Veikko")
	}
	_, visitStart := slotStart(t, visits[0].Value)
	minna.pick(visits[0])
	minna.typeText("address", "Kontulantie 1 A 2, 00940 Helsinki")
	minna.submit("book the home visit", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusOK)
	if got := minna.detail("Asukas") + " / " + minna.detail("Tapaamistapa"); !strings.HasPrefix(got, "Veikko Ilmanen / Kotikäynti") {
		t.Errorf("the home visit booked for Veikko shows %q", got)
	}
	minna.checkLight("home visit booked for a client record")

	veikko := newBookingTab(t, browser, p, axe)
	veikko.open("/my/case")
	veikko.pickDemoUser("Veikko Ilmanen")
	if !veikko.onPortal("/my/case") {
		t.Fatalf("after login at %s", veikko.location())
	}
	veikko.check("Veikko's case")
	main := veikko.text("main")
	for _, want := range []string{"Minna Järvinen", "Kirjasi asiakastiedot", "900,00"} {
		if !strings.Contains(main, want) {
			t.Errorf("Veikko's case page lacks %q", want)
		}
	}
	veikko.open("/my")
	if got := veikko.text("main"); !strings.Contains(got, finnishWhen(visitStart)) && !strings.Contains(got, "Kotikäynti") {
		t.Errorf("Veikko's own page does not show the home visit at %s: %.300q", finnishWhen(visitStart), got)
	}
	veikko.check("Veikko's own page")
	var users []auth.User
	if err := p.s.deps.db.Gorm.Where("identity_code = ?", "110758-901S").Find(&users).Error; err != nil || len(users) != 1 || users[0].IsClientRecord() {
		t.Errorf("after the login: %d users with Veikko's code (%v)", len(users), err)
	}

	minna.open(casePage + "?why=work")
	minna.choose("outcome", "Asuminen jatkuu")
	minna.submit("close", chromedp.Click(button("//main", "Päätä")), http.StatusOK)
	minna.check("closed case")
	veikko.open("/my/case")
	if got := veikko.text("main"); !strings.Contains(got, "Asiakkuutesi on päättynyt") {
		t.Errorf("after closing, Veikko sees %.200q", got)
	}
}
