package cases_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// erasureEnv is newEnv with a clock the test moves and a retention of
// its own.
func erasureEnv(t *testing.T, db *database.DB, retention time.Duration) (*env, *clocktest.Clock) {
	t.Helper()
	e := newEnv(t, db)
	clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	e.svc = cases.New(cases.Options{DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
		Audit: audit.New(db.Gorm, clock.Now), Now: clock.Now, Retention: retention})
	e.svc.Register(app)
	e.app, e.fe = app, fe
	return e, clock
}

// caseRow is every column of a case, to compare before and after.
type caseRow struct {
	ResidentID                                   int64
	RegionID                                     int64
	Status, Reason, Household, Referrer, Outcome string
	Children                                     int
	DebtCents                                    int64
	InCourt                                      bool
	CourtDate, EvictionDate                      string
	CreatedAt                                    time.Time
	ClosedAt, ErasedAt                           *time.Time
}

// String shows the row with its times, so that two rows compare by value.
func (r caseRow) String() string {
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%d %d %s %s %s %s %s %d %d %t %q %q %s %s %s", r.ResidentID, r.RegionID, r.Status, r.Reason, r.Household, r.Referrer, r.Outcome,
		r.Children, r.DebtCents, r.InCourt, r.CourtDate, r.EvictionDate, r.CreatedAt.UTC().Format(time.RFC3339Nano), at(r.ClosedAt), at(r.ErasedAt))
}

func (e *env) caseRow(id int64) caseRow {
	e.t.Helper()
	var r caseRow
	err := e.db.Gorm.Raw(`SELECT resident_id, COALESCE(region_id, 0) AS region_id, status, reason, household, referrer, outcome, children, debt_cents, in_court,
		court_date, eviction_date, created_at, closed_at, erased_at FROM cases WHERE id = ?`, id).Scan(&r).Error
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// TestErasure: a case closed longer ago than the retention loses its
// personal data in one go — notes and free text, court and eviction
// dates, the plan's reference and import keys, partners' contacts — and
// is detached from the person (an empty user of its own), while every
// figure of /desk/stats stays the same; the page lists it without names;
// the timeline says it was erased; the person no longer sees it and their
// access log says who erased it. Erasing again changes nothing. A case
// closed within the retention, or still open, is refused with a
// translated message and nothing changes; advisors may not erase.
func TestErasure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e, clock := erasureEnv(t, db, 365*24*time.Hour)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		bertta := e.person(auth.RoleResident, "Bertta Toinen", 0)
		cecilia := e.person(auth.RoleResident, "Cecilia Kolmas", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		pirjo := e.person(auth.RoleAdmin, "Pirjo Pääkäyttäjä", 0)
		if err := db.Gorm.Exec("UPDATE users SET phone = '0401234567', postal_code = '00940' WHERE id = ?", aino.ID).Error; err != nil {
			t.Fatal(err)
		}
		open := func(u *authtest.User, fields url.Values) int64 {
			t.Helper()
			fields.Set("resident", fmt.Sprint(u.ID))
			if st, _ := e.do("POST", "/desk/cases/new", minna, fields); st != http.StatusSeeOther {
				t.Fatalf("open: %d", st)
			}
			var id int64
			if err := db.Gorm.Raw("SELECT id FROM cases WHERE resident_id = ?", u.ID).Scan(&id).Error; err != nil || id == 0 {
				t.Fatal("no case")
			}
			return id
		}
		post := func(path string, form url.Values, want int) {
			t.Helper()
			if st, _ := e.do("POST", path, minna, form); st != want {
				t.Fatalf("%s: %d, want %d", path, st, want)
			}
		}
		id := open(aino, url.Values{"reason": {"rent_debt"}, "household": {"family"}, "children": {"2"}, "referrer": {"property_staff"},
			"debt": {"2 400"}, "in_court": {"yes"}, "court_date": {"2026-06-01"}, "eviction_date": {"2026-07-01"}})
		path := fmt.Sprintf("/desk/cases/%d", id)
		post(path+"/notes?why=work", url.Values{"note": {"Aino kertoi terveydestään."}}, http.StatusSeeOther)
		post(path+"?why=work", url.Values{"reason": {"rent_debt"}, "household": {"family"}, "children": {"2"}, "referrer": {"property_staff"},
			"debt": {"2 400"}, "in_court": {"yes"}, "court_date": {"2026-06-02"}, "eviction_date": {"2026-07-02"}}, http.StatusSeeOther)
		post(path+"/plan?why=work", url.Values{"total": {"2 400"}, "instalment": {"200"}, "due_day": {"15"}, "start": {"2026-03-01"}, "plan_reference": {"1234 5678"}}, http.StatusSeeOther)
		post(path+"/payments?why=work", url.Values{"paid_on": {"2026-03-14"}, "amount": {"200"}}, http.StatusSeeOther)
		post(path+"/interventions?why=work", url.Values{"intervention": {"kept_out_of_court"}, "on_date": {"2026-05-02"}}, http.StatusSeeOther)
		post(path+"/follow-up?why=work", url.Values{"months": {"6"}}, http.StatusSeeOther)
		post(path+"/interim?why=work", url.Values{"interim": {"Aino maksaa ajallaan."}}, http.StatusSeeOther)
		ctx := authtest.WithActor(context.Background(), minna)
		if _, err := e.svc.ImportPayments(ctx, strings.NewReader("viite;päivä;summa\n12345678;20.4.2026;200,00\n")); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			e.svc.RecordCrisisCheck(ctx, id, "criteria_met", "yes", "2026-05-01"),
			e.svc.StartCrisisStage(ctx, id, "crisis", "2026-05-02"),
			e.svc.AddPartner(ctx, id, "property_manager", "Isännöitsijä Virtanen 040 765 4321", "2026-05-03"),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		// The landlord's arrears list named Aino: a done outreach task
		// linked to her case.
		if err := db.Gorm.Exec(`INSERT INTO outreach_imports (id, sha256, min_cents, min_months, created_at) VALUES (1, 'x', 50000, 2, ?)`, clock.Now()).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Exec(`INSERT INTO outreach_tasks (tenant_ref, name, address, postal_code, arrears_cents, months_behind, case_id, import_id, last_import_id, status, outcome, note, done_at, created_at, updated_at)
			VALUES ('T-1', 'Aino Asukas', 'Kontulantie 1', '00940', 120000, 3, ?, 1, 1, 'done', 'reached_case_opened', 'Tavattu kotona.', ?, ?, ?)`, id, clock.Now(), clock.Now(), clock.Now()).Error; err != nil {
			t.Fatal(err)
		}
		post(path+"/close?why=work", url.Values{"outcome": {"housing_continues"}}, http.StatusSeeOther)

		// Bertta's case closes a year later: inside the retention when
		// Aino's has passed it. Cecilia's stays open.
		clock.Add(365 * 24 * time.Hour)
		bid := open(bertta, url.Values{"reason": {"upkeep"}, "eviction_date": {"2027-08-01"}})
		post(fmt.Sprintf("/desk/cases/%d/notes?why=work", bid), url.Values{"note": {"Bertan muistiinpano."}}, http.StatusSeeOther)
		post(fmt.Sprintf("/desk/cases/%d/close?why=work", bid), url.Values{"outcome": {"moved_suitable"}}, http.StatusSeeOther)
		cid := open(cecilia, url.Values{"reason": {"exchange"}})
		clock.Add(2 * 24 * time.Hour)

		admin := authtest.WithActor(context.Background(), pirjo)
		stats := func() *cases.Stats {
			t.Helper()
			st, err := e.svc.Stats(admin, cases.StatsQuery{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		before, beforeRow := stats(), e.caseRow(id)
		if before.EvictionsPrevented != 1 || before.CrisisByStage[0].N != 1 {
			t.Fatalf("the fixture counts nothing: %+v", before)
		}
		bertta0, cecilia0 := e.caseRow(bid), e.caseRow(cid)
		events0 := e.count("SELECT COUNT(*) FROM case_events")

		// Advisors may not; the page lists Aino's case only, without names.
		if st, _ := e.do("GET", "/admin/erasure", minna, nil); st != http.StatusForbidden {
			t.Errorf("an advisor's erasure page: %d", st)
		}
		if st, _ := e.do("POST", fmt.Sprintf("/admin/erasure/%d", id), minna, url.Values{"confirm": {"yes"}}); st != http.StatusForbidden {
			t.Errorf("an advisor's erasure: %d", st)
		}
		st, body := e.do("GET", "/admin/erasure", pirjo, nil)
		if st != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`href="/admin/erasure?confirm=%d"`, id)) ||
			strings.Contains(body, fmt.Sprintf(`confirm=%d"`, bid)) || strings.Contains(body, fmt.Sprintf(`confirm=%d"`, cid)) {
			t.Fatalf("the erasure page: %d, want Aino's case only", st)
		}
		for _, name := range []string{"Aino", "Bertta", "Cecilia"} {
			if strings.Contains(body, name) {
				t.Errorf("the erasure page names %s", name)
			}
		}
		if !strings.Contains(body, "Itä") {
			t.Error("the erasure page lacks the case's region")
		}
		if _, body := e.do("GET", fmt.Sprintf("/admin/erasure?confirm=%d", id), pirjo, nil); !strings.Contains(body, fmt.Sprintf(`action="/admin/erasure/%d"`, id)) {
			t.Error("no confirmation form")
		}

		// Refusals change nothing.
		for _, tc := range []struct {
			id   int64
			form url.Values
			want int
		}{
			{bid, url.Values{"confirm": {"yes"}}, http.StatusConflict},
			{cid, url.Values{"confirm": {"yes"}}, http.StatusConflict},
			{id, url.Values{}, http.StatusUnprocessableEntity},
			{999999, url.Values{"confirm": {"yes"}}, http.StatusNotFound},
		} {
			st, body := e.do("POST", fmt.Sprintf("/admin/erasure/%d", tc.id), pirjo, tc.form)
			if st != tc.want {
				t.Errorf("erasing %d: %d, want %d", tc.id, st, tc.want)
			}
			if tc.want == http.StatusConflict && !strings.Contains(body, e.fe.T("fi", "cases.erasure.error.not_due")) {
				t.Errorf("erasing %d: the refusal is not said", tc.id)
			}
		}
		if e.caseRow(bid).String() != bertta0.String() || e.caseRow(cid).String() != cecilia0.String() || e.caseRow(id).String() != beforeRow.String() || e.count("SELECT COUNT(*) FROM case_events") != events0 {
			t.Fatal("a refused erasure changed something")
		}
		if e.count("SELECT COUNT(*) FROM users WHERE issuer = ?", cases.ErasedIssuer) != 0 {
			t.Fatal("a refused erasure left a user")
		}

		if st, _ := e.do("POST", fmt.Sprintf("/admin/erasure/%d", id), pirjo, url.Values{"confirm": {"yes"}}); st != http.StatusSeeOther {
			t.Fatalf("erase: %d", st)
		}
		after := e.caseRow(id)
		if after.ErasedAt == nil || after.ResidentID == aino.ID || after.CourtDate != "" || after.EvictionDate != "" {
			t.Errorf("the erased case: %+v", after)
		}
		kept := beforeRow
		kept.ResidentID, kept.CourtDate, kept.EvictionDate, kept.ErasedAt = after.ResidentID, "", "", after.ErasedAt
		if after.String() != kept.String() {
			t.Errorf("erasure changed the statistical facts:\n%+v\nwant\n%+v", after, kept)
		}
		var anon auth.User
		if err := db.Gorm.Where("id = ?", after.ResidentID).First(&anon).Error; err != nil {
			t.Fatal(err)
		}
		if anon.Issuer != cases.ErasedIssuer || len(anon.Subject) != 36 || anon.Name != "" || anon.Email != "" || anon.Phone != "" ||
			anon.PostalCode != "" || anon.IdentityCode != "" || anon.StreetAddress != "" || anon.Role != auth.RoleResident {
			t.Errorf("the case points at %+v, want an empty erased user", anon)
		}
		for what, q := range map[string]string{
			"bodies":          "SELECT COUNT(*) FROM case_events WHERE case_id = ? AND body <> ''",
			"date values":     "SELECT COUNT(*) FROM case_events WHERE case_id = ? AND field IN ('court_date', 'eviction_date') AND (old_value <> '' OR new_value <> '')",
			"plan reference":  "SELECT COUNT(*) FROM payment_plans WHERE case_id = ? AND reference <> ''",
			"import keys":     "SELECT COUNT(*) FROM plan_payments p JOIN payment_plans pl ON pl.id = p.plan_id WHERE pl.case_id = ? AND p.import_key IS NOT NULL",
			"partner contact": "SELECT COUNT(*) FROM case_partners WHERE case_id = ? AND contact <> ''",
			"outreach link":   "SELECT COUNT(*) FROM outreach_tasks WHERE case_id = ?",
		} {
			if n := e.count(q, id); n != 0 {
				t.Errorf("%d %s left after erasure", n, what)
			}
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks WHERE name <> '' OR address <> '' OR note <> '' OR tenant_ref <> '' OR redacted_at IS NULL"); n != 0 {
			t.Errorf("%d outreach tasks still name Aino", n)
		}
		if n := e.count("SELECT COUNT(*) FROM case_events WHERE case_id = ? AND kind = 'intervention' AND field = 'kept_out_of_court' AND on_date = '2026-05-02'", id); n != 1 {
			t.Errorf("the intervention is gone: %d", n)
		}
		if n := e.count("SELECT COUNT(*) FROM plan_payments p JOIN payment_plans pl ON pl.id = p.plan_id WHERE pl.case_id = ?", id); n != 2 {
			t.Errorf("%d payments kept, want the 2 (their dates and amounts)", n)
		}
		if got := stats(); !reflect.DeepEqual(got, before) {
			t.Errorf("the statistics changed:\nbefore %+v\nafter  %+v", before, got)
		}
		if e.caseRow(bid).String() != bertta0.String() || e.count("SELECT COUNT(*) FROM case_events WHERE case_id = ? AND body = 'Bertan muistiinpano.'", bid) != 1 {
			t.Error("erasing Aino's case touched Bertta's")
		}

		// The case page says it was erased and shows nothing of Aino.
		st, body = e.do("GET", path+"?why=supervision", pirjo, nil)
		if st != http.StatusOK || !strings.Contains(body, e.fe.T("fi", "cases.event.erased")) || !strings.Contains(body, "Asiakkuus: (henkilötiedot poistettu)") {
			t.Errorf("the erased case's page: %d, no word of the erasure in the timeline and heading", st)
		}
		if _, body := e.do("GET", "/desk/cases?closed=1", pirjo, nil); !strings.Contains(body, "(henkilötiedot poistettu)") {
			t.Error("the case list does not say the person's data was erased")
		}
		for _, gone := range []string{"Aino", "aino", "terveydestään", "maksaa ajallaan", "Virtanen", "12345678", "2026-06-02", "2026-07-02", "0401234567"} {
			if strings.Contains(body, gone) {
				t.Errorf("the erased case's page still shows %q", gone)
			}
		}
		// Aino no longer sees it; her access log says it was erased, by whom.
		st, body = e.do("GET", "/my/case", aino, nil)
		if st != http.StatusOK || !strings.Contains(body, e.fe.T("fi", "cases.mine.none")) || !strings.Contains(body, e.fe.T("fi", "accesslog.action.cases.erase")) || !strings.Contains(body, "Pirjo Pääkäyttäjä") {
			t.Errorf("Aino's page after the erasure: %d", st)
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = ? AND reason = ?", pirjo.ID, aino.ID, string(audit.CaseErase), string(audit.ReasonCaseRetention)); n != 1 {
			t.Errorf("%d access log entries of the erasure, want 1", n)
		}

		// Again: nothing changes.
		users0, events1 := e.count("SELECT COUNT(*) FROM users"), e.count("SELECT COUNT(*) FROM case_events")
		if st, _ := e.do("POST", fmt.Sprintf("/admin/erasure/%d", id), pirjo, url.Values{"confirm": {"yes"}}); st != http.StatusSeeOther {
			t.Errorf("erasing again: %d", st)
		}
		if n, err := e.svc.EraseAll(admin); err != nil || n != 0 {
			t.Errorf("erase all with nothing due: %d, %v", n, err)
		}
		if e.caseRow(id).String() != after.String() || e.count("SELECT COUNT(*) FROM users") != users0 || e.count("SELECT COUNT(*) FROM case_events") != events1 {
			t.Error("erasing twice changed something")
		}
		if _, body := e.do("GET", "/admin/erasure", pirjo, nil); !strings.Contains(body, e.fe.T("fi", "cases.erasure.empty")) {
			t.Error("the erased case is still listed")
		}

		// Another year on, Bertta's is due too: "erase all" takes it.
		clock.Add(365 * 24 * time.Hour)
		if st, _ := e.do("POST", "/admin/erasure", pirjo, url.Values{}); st != http.StatusUnprocessableEntity {
			t.Errorf("erase all unconfirmed: %d", st)
		}
		if st, _ := e.do("POST", "/admin/erasure", pirjo, url.Values{"confirm": {"yes"}}); st != http.StatusSeeOther {
			t.Errorf("erase all: %d", st)
		}
		if r := e.caseRow(bid); r.ErasedAt == nil || r.ResidentID == bertta.ID || r.ResidentID == after.ResidentID {
			t.Errorf("Bertta's case after erase all: %+v (each erased case has an empty user of its own)", r)
		}
		if r := e.caseRow(cid); r.String() != cecilia0.String() {
			t.Error("erase all touched an open case")
		}
	})
}

// TestErasureRetentionDefault: without a setting, a case is kept six
// years after closing.
func TestErasureRetentionDefault(t *testing.T) {
	if cases.DefaultRetention != 52560*time.Hour {
		t.Errorf("default retention %v, want 52560h (6 × 365 days)", cases.DefaultRetention)
	}
	db := dbtest.SQLite(t)
	e, clock := erasureEnv(t, db, 0)
	aino := e.person(auth.RoleResident, "Aino Asukas", 0)
	minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
	pirjo := e.person(auth.RoleAdmin, "Pirjo Pääkäyttäjä", 0)
	if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	id := e.count("SELECT id FROM cases")
	if st, _ := e.do("POST", fmt.Sprintf("/desk/cases/%d/close?why=work", id), minna, url.Values{"outcome": {"lost_contact"}}); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	admin := authtest.WithActor(context.Background(), pirjo)
	clock.Add(cases.DefaultRetention - time.Hour)
	if list, err := e.svc.Erasable(admin); err != nil || len(list) != 0 {
		t.Errorf("erasable an hour before six years: %v, %v", list, err)
	}
	clock.Add(2 * time.Hour)
	if list, err := e.svc.Erasable(admin); err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("erasable after six years: %v, %v", list, err)
	}
	if _, err := e.svc.Erasable(authtest.WithActor(context.Background(), minna)); err == nil {
		t.Error("an advisor listed erasable cases")
	}
}
