package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestJourneyPaymentPlanToStatistics: Minna opens a rent-debt case for
// Aino and records the payment plan agreed with her; the rental company's
// payment list, imported as a CSV, pays the first instalment only, so the
// desk flags the plan as behind and its count leads to Aino's case; the
// supervisor (an admin) sees the plan among the interventions in the
// statistics, as a small group ("< 5"). Every page passes axe-core.
func TestJourneyPaymentPlanToStatistics(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)

	now := time.Now()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -3, 0)

	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk/cases/new")
	minna.pickDemoUser("Minna Järvinen")
	minna.typeText("q", "Aino")
	minna.submit("search", chromedp.Click(button("//main", "Hae")), http.StatusOK)
	minna.step("pick Aino", chromedp.Click(`//label[contains(normalize-space(), "Aino Asukas")]`))
	minna.choose("reason", "Vuokrarästi")
	minna.typeText("debt", "900")
	minna.submit("open", chromedp.Click(button("//main", "Avaa asiakkuus")), http.StatusOK)
	casePage := minna.location().Path
	minna.choose("intervention", "Maksusuunnitelma tehty")
	minna.setValue("on_date", now.Format("2006-01-02"))
	minna.submit("intervention", chromedp.Click(button("//main", "Kirjaa toimenpide")), http.StatusOK)
	minna.typeText("total", "900")
	minna.typeText("instalment", "300")
	minna.typeText("due_day", "15")
	minna.setValue("start", start.Format("2006-01-02"))
	minna.typeText("plan_reference", "1234 5678")
	minna.submit("plan", chromedp.Click(button("//main", "Tallenna suunnitelma")), http.StatusOK)
	minna.checkLight("case with a plan")

	csv := filepath.Join(t.TempDir(), "maksut.csv")
	list := "viite;päivä;summa\n1234 5678;" + start.AddDate(0, 0, 12).Format("2.1.2006") + ";300,00\n"
	if err := os.WriteFile(csv, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	minna.open("/desk/cases/payments")
	minna.check("payments import")
	minna.step("choose the list", chromedp.SetUploadFiles(`#file`, []string{csv}))
	minna.submit("import", chromedp.Click(button("//main", "Tuo maksut")), http.StatusOK)
	if got := minna.text("main"); !strings.Contains(got, "kirjattu 1") {
		t.Errorf("the import says %.300q", got)
	}
	minna.check("payments imported")

	minna.open("/desk")
	if got := minna.text(".cases-section"); !strings.Contains(got, "1 asiakkaalla on erääntynyt maksuerä.") {
		t.Errorf("the desk's cases section says %q", got)
	}
	minna.follow("the plans behind", link("//main", "1 asiakkaalla on erääntynyt maksuerä."))
	if got := minna.text("main table"); !strings.Contains(got, "Aino Asukas") {
		t.Errorf("the list of plans behind lacks Aino: %.300q", minna.text("main"))
	}
	minna.check("plans behind")
	minna.open(casePage + "?why=work")
	if got := minna.text(`[aria-labelledby="plan-title"]`); !strings.Contains(got, "300,00") {
		t.Errorf("the plan shows %.300q", got)
	}

	pirjo := newBookingTab(t, browser, p, axe)
	pirjo.open("/desk/stats")
	pirjo.pickDemoUser("Pirjo Pääkäyttäjä")
	if !pirjo.onPortal("/desk/stats") {
		t.Fatalf("after login at %s", pirjo.location())
	}
	row := pirjo.rowWith("Maksusuunnitelma tehty")
	if len(row) < 2 || row[len(row)-1] != "< 5" {
		t.Errorf("the statistics' payment-plan row %q, want < 5", row)
	}
	pirjo.check("statistics")
}
