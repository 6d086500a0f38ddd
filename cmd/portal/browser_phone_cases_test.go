package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCasePagesOnAPhone: every page of the client cases, the
// outreach tasks, the statistics, the data download and the erasure fits a
// 375 px phone without scrolling sideways, with a case that has a plan,
// a crisis stage and a partner, so that its forms and tables are all
// there.
func TestBrowserCasePagesOnAPhone(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	db := p.s.deps.db.Gorm
	aino, minnaID, east := demoUserID(t, p, "demo-resident-aino"), demoUserID(t, p, "demo-advisor-east-1"), demoRegionID(t, p, "east")
	now := time.Now().UTC()
	day := func(offset int) string { return now.AddDate(0, 0, offset).Format("2006-01-02") }
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO cases (id, resident_id, region_id, advisor_id, status, reason, household, referrer, debt_cents, eviction_date, created_at, updated_at)
			VALUES (900, ?, ?, ?, 'open', 'rent_debt', 'single_parent', 'property_staff', 245050, ?, ?, ?)`, []any{aino, east, minnaID, day(20), now, now}},
		{`INSERT INTO payment_plans (case_id, total_cents, instalment_cents, due_day, start_date, reference, created_at)
			VALUES (900, 245050, 30000, 15, ?, '1234 5678', ?)`, []any{now.AddDate(0, -2, 0).Format("2006-01") + "-01", now}},
		{`INSERT INTO case_events (case_id, kind, actor_id, body, created_at) VALUES (900, 'note', ?, ?, ?)`,
			[]any{minnaID, "Pitkä muistiinpano, jossa on hyvin pitkä sana: Vuokranmaksusuunnitelmaneuvotteluvalmistelut.", now}},
		{`INSERT INTO case_crisis_stages (case_id, stage, start_date, end_date, created_by, created_at) VALUES (900, 'crisis', ?, '', ?, ?)`,
			[]any{day(-40), minnaID, now}},
		{`INSERT INTO case_partners (case_id, kind, contact, on_date, created_by, created_at) VALUES (900, 'property_manager', 'Isännöitsijätoimisto Virtanen & Kumppanit Oy, 040 765 4321', ?, ?, ?)`,
			[]any{day(-3), minnaID, now}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}

	fits := func(tab *bookingTab, path string) {
		t.Helper()
		tab.open(path)
		if w := eval[[]int](tab.session, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); len(w) != 2 || w[0] > w[1] {
			t.Errorf("%s scrolls sideways on a phone: %v", path, w)
		}
		tab.checkLight("phone " + path)
	}
	phone := func(who, first string) *bookingTab {
		t.Helper()
		tab := newBookingTab(t, browser, p, axe)
		tab.step("a 375 × 812 phone", chromedp.EmulateViewport(375, 812))
		tab.open(first)
		tab.pickDemoUser(who)
		return tab
	}
	minna := phone("Minna Järvinen", "/desk")
	for _, path := range []string{"/desk", "/desk/cases", "/desk/cases/new", fmt.Sprintf("/desk/cases/%d?why=work", 900),
		"/desk/cases/outreach", "/desk/cases/payments", "/desk/stats"} {
		fits(minna, path)
	}
	pirjo := phone("Pirjo Pääkäyttäjä", "/admin/erasure")
	for _, path := range []string{"/admin/erasure", "/desk/cases/outreach/import"} {
		fits(pirjo, path)
	}
	ainoTab := phone("Aino Asukas", "/my/case")
	for _, path := range []string{"/my/case", "/my/data", "/my"} {
		fits(ainoTab, path)
	}
}
