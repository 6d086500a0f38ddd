package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
)

// TestBrowserErasure: Pirjo, an admin, finds a case closed seven years
// ago on the erasure page (its number, region and closing day, no name),
// confirms, and erases its personal data; the list is then empty. The
// list, the confirmation and the result pass axe-core and show no
// untranslated key; and Aino's download page passes with her data in it.
func TestBrowserErasure(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)

	d := p.s.deps
	aino, minna := p.userID(t, "demo-resident-aino"), p.userID(t, "demo-advisor-east-1")
	staff := auth.WithActor(context.Background(), auth.Actor{UserID: minna, Role: auth.RoleAdvisor})
	svc := cases.New(cases.Options{DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit, Now: d.now})
	c, err := svc.Open(staff, aino, cases.Fields{Reason: "rent_debt", EvictionDate: "2019-06-01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddNote(staff, c.ID, "Vanha muistiinpano"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(staff, c.ID, "housing_continues"); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Gorm.Exec("UPDATE cases SET closed_at = ? WHERE id = ?", time.Now().UTC().AddDate(-7, 0, 0), c.ID).Error; err != nil {
		t.Fatal(err)
	}

	pirjo := newBookingTab(t, browser, p, axe)
	pirjo.open("/admin/erasure")
	pirjo.pickDemoUser("Pirjo Pääkäyttäjä")
	if !pirjo.onPortal("/admin/erasure") {
		t.Fatalf("after login at %s", pirjo.location())
	}
	if got := pirjo.text("main table"); !strings.Contains(got, fmt.Sprint(c.ID)) || strings.Contains(got, "Aino") {
		t.Fatalf("the list %q: want the case's number and no name", got)
	}
	pirjo.check("erasure list")
	pirjo.submit("confirm", chromedp.Click(fmt.Sprintf(`//main//a[@href="/admin/erasure?confirm=%d"]`, c.ID)), http.StatusOK)
	pirjo.check("erasure confirmation")
	pirjo.submit("erase", chromedp.Click(button("//main", "Poista henkilötiedot")), http.StatusOK)
	if got := pirjo.text("main"); !strings.Contains(got, "Asiakkuuden henkilötiedot poistettiin.") || strings.Contains(got, fmt.Sprintf("confirm=%d", c.ID)) {
		t.Errorf("after erasing: %q", got)
	}
	pirjo.check("erasure done")
	var erased int64
	if err := d.db.Gorm.Raw("SELECT COUNT(*) FROM cases WHERE id = ? AND erased_at IS NOT NULL AND resident_id <> ?", c.ID, aino).Scan(&erased).Error; err != nil || erased != 1 {
		t.Errorf("the case is not erased: %d, %v", erased, err)
	}

	// Aino's download page, with her (other) data present.
	a := newBookingTab(t, browser, p, axe)
	a.open("/my/data")
	a.pickDemoUser("Aino Asukas")
	if !a.onPortal("/my/data") {
		t.Fatalf("after login at %s", a.location())
	}
	a.check("my data")
}
