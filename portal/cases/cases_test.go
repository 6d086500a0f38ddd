package cases_test

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

type env struct {
	t   *testing.T
	db  *database.DB
	app *fiber.App
	fe  *frontend.Frontend
	svc *cases.Service
}

func newEnv(t *testing.T, db *database.DB) *env {
	t.Helper()
	if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (4, 'east', 'Itä', 'Öster', 'East'), (2, 'west', 'Länsi', 'Väster', 'West')").Error; err != nil {
		t.Fatal(err)
	}
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	svc := cases.New(cases.Options{DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe, Audit: audit.New(db.Gorm, clock.Now), Now: clock.Now})
	svc.Register(app)
	return &env{t: t, db: db, app: app, fe: fe, svc: svc}
}

func (e *env) person(role auth.Role, name string, region int64) *authtest.User {
	e.t.Helper()
	u := authtest.Login(e.t, e.db.Gorm, role, name)
	if err := e.db.Gorm.Exec("UPDATE users SET given_name = ? WHERE id = ?", strings.Fields(name)[0], u.ID).Error; err != nil {
		e.t.Fatal(err)
	}
	if region != 0 {
		if err := auth.NewUsers(e.db.Gorm).SetRegion(context.Background(), u.ID, &region); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

func (e *env) do(method, path string, u *authtest.User, form url.Values) (int, string) {
	e.t.Helper()
	if form != nil {
		form.Set("_csrf", u.CSRF)
	}
	return authtest.Do(e.t, e.app, method, path, u, form)
}

// TestCaseRightsAndTimeline: an advisor opens a case for a resident of her
// region; opening it asks why, and the reason goes to the access log; the
// rights matrix holds (own region, colleague, admin see it; another
// region's advisor and residents get 404); every change is on the
// timeline; bad input changes nothing; a closed case cannot change.
func TestCaseRightsAndTimeline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		bertta := e.person(auth.RoleResident, "Bertta Toinen", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		tiina := e.person(auth.RoleAdvisor, "Tiina Itä", 4)
		ville := e.person(auth.RoleAdvisor, "Ville Länsi", 2)
		pirjo := e.person(auth.RoleAdmin, "Pirjo Pääkäyttäjä", 0)

		st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"rent_debt"}, "household": {"family"}, "children": {"2"}, "debt": {"1 250,50"}})
		if st != http.StatusSeeOther {
			t.Fatalf("open: %d", st)
		}
		var id int64
		if err := db.Gorm.Raw("SELECT id FROM cases WHERE resident_id = ?", aino.ID).Scan(&id).Error; err != nil || id == 0 {
			t.Fatal("no case")
		}
		if st, _ := e.do("POST", "/desk/cases/new", tiina, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"upkeep"}}); st != http.StatusConflict {
			t.Errorf("a second open case for the same resident: %d", st)
		}
		if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(bertta.ID)}, "reason": {"castle"}, "debt": {"lots"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("bad fields: %d", st)
		}
		path := fmt.Sprintf("/desk/cases/%d", id)

		// Without a reason the page asks for one, and nothing is logged.
		st, body := e.do("GET", path, minna, nil)
		if st != http.StatusOK || !strings.Contains(body, e.fe.T("fi", "cases.why.title")) {
			t.Fatalf("opening without a reason: %d", st)
		}
		for _, tc := range []struct {
			u    *authtest.User
			want int
		}{{minna, 200}, {tiina, 200}, {pirjo, 200}, {ville, 404}, {aino, 403}, {bertta, 403}} {
			if st, _ := e.do("GET", path+"?why=work", tc.u, nil); st != tc.want {
				t.Errorf("%s opens the case: %d, want %d", tc.u.Name, st, tc.want)
			}
		}
		if st, _ := e.do("GET", path, ville, nil); st != http.StatusNotFound {
			t.Errorf("another region's advisor asked for a reason: %d, want 404", st)
		}
		var logged int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND action = ? AND reason = ?", minna.ID, string(audit.CaseView), "case_work").Scan(&logged).Error; err != nil || logged != 1 {
			t.Errorf("%d access log entries of Minna's opening with its reason", logged)
		}

		if st, _ := e.do("POST", path+"/notes?why=work", minna, url.Values{"note": {"Soitettu, sovittu tapaaminen."}}); st != http.StatusSeeOther {
			t.Errorf("note: %d", st)
		}
		if st, _ := e.do("POST", path+"/interventions?why=work", minna, url.Values{"intervention": {"payment_plan"}, "on_date": {"2026-05-04"}}); st != http.StatusSeeOther {
			t.Errorf("intervention: %d", st)
		}
		if st, _ := e.do("POST", path+"/interventions?why=work", minna, url.Values{"intervention": {"payment_plan"}, "on_date": {"2027-01-01"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("an intervention in the future: %d", st)
		}
		if st, _ := e.do("POST", path+"?why=work", minna, url.Values{"reason": {"rent_debt"}, "household": {"family"}, "children": {"3"}, "debt": {"900"}, "in_court": {"yes"}}); st != http.StatusSeeOther {
			t.Errorf("update: %d", st)
		}
		var status string
		if err := db.Gorm.Raw("SELECT status FROM cases WHERE id = ?", id).Scan(&status).Error; err != nil || status != "follow_up" {
			t.Errorf("status %q after a payment plan, want follow_up", status)
		}
		_, body = e.do("GET", path+"?why=work", minna, nil)
		for _, want := range []string{"Soitettu, sovittu tapaaminen.", e.fe.T("fi", "cases.intervention_kind.payment_plan"), "125050 → 90000", "2 → 3", e.fe.T("fi", "cases.event.opened")} {
			if !strings.Contains(body, want) {
				t.Errorf("the timeline lacks %q", want)
			}
		}
		if st, _ := e.do("POST", path+"/close?why=work", minna, url.Values{"outcome": {"housing_continues"}}); st != http.StatusSeeOther {
			t.Fatalf("close: %d", st)
		}
		if st, _ := e.do("POST", path+"/notes?why=work", minna, url.Values{"note": {"Myöhemmin."}}); st != http.StatusConflict {
			t.Errorf("a note on a closed case: %d, want 409", st)
		}
		if st, _ := e.do("POST", path+"/notes?why=work", ville, url.Values{"note": {"Vieras."}}); st != http.StatusNotFound {
			t.Errorf("another region's note: %d, want 404", st)
		}
	})
}

// TestResidentSeesCaseAndWhoLooked: the resident sees the case in plain
// words and exactly the staff reads of their data made in the test, with
// names, roles and reasons.
func TestResidentSeesCaseAndWhoLooked(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	aino := e.person(auth.RoleResident, "Aino Asukas", 0)
	minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
	if _, body := e.do("GET", "/my/case", aino, nil); !strings.Contains(body, e.fe.T("fi", "cases.mine.none")) || !strings.Contains(body, e.fe.T("fi", "cases.mine.looked_none")) {
		t.Fatal("before any case the page says nothing was looked at")
	}
	if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	var id int64
	if err := db.Gorm.Raw("SELECT id FROM cases").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	if st, _ := e.do("GET", fmt.Sprintf("/desk/cases/%d?why=follow_up", id), minna, nil); st != http.StatusOK {
		t.Fatal(st)
	}
	st, body := e.do("GET", "/my/case?lang=en", aino, nil)
	if st != http.StatusOK || !strings.Contains(body, "Housing counselling is working on your matter.") || !strings.Contains(body, "Minna") {
		t.Fatalf("the resident's case page: %d", st)
	}
	for _, want := range []string{"Opened a client case", "Recorded in a client case", "Follow-up", "Client work", "Minna Neuvoja (Housing advisor)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the resident's access list lacks %q", want)
		}
	}
	if n := strings.Count(body, "Minna Neuvoja ("); n != 2 {
		t.Errorf("the resident sees %d staff reads, want exactly the 2 made", n)
	}
}

// TestPaymentPlanAndImport: a plan made on a case, a payment by hand and
// the rental company's list imported by reference; a re-import records
// nothing; a file with a bad row records nothing and names the line; the
// case shows what is paid and overdue, the desk flags it, and the resident
// sees the same plan.
func TestPaymentPlanAndImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
			t.Fatal(st)
		}
		var id int64
		if err := db.Gorm.Raw("SELECT id FROM cases").Scan(&id).Error; err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/desk/cases/%d", id)
		if st, _ := e.do("POST", path+"/payments?why=work", minna, url.Values{"paid_on": {"2026-01-14"}, "amount": {"300"}}); st != http.StatusConflict {
			t.Errorf("a payment before there is a plan: %d, want 409", st)
		}
		if st, _ := e.do("POST", path+"/plan?why=work", minna, url.Values{"total": {"1000"}, "instalment": {"2000"}, "due_day": {"31"}, "start": {"2026-01-01"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("a bad plan: %d", st)
		}
		if st, _ := e.do("POST", path+"/plan?why=work", minna, url.Values{"total": {"1 000,00"}, "instalment": {"300"}, "due_day": {"15"}, "start": {"2026-01-01"}, "plan_reference": {"1234 5678"}}); st != http.StatusSeeOther {
			t.Fatalf("plan: %d", st)
		}
		if st, _ := e.do("POST", path+"/payments?why=work", minna, url.Values{"paid_on": {"2026-01-14"}, "amount": {"300"}}); st != http.StatusSeeOther {
			t.Fatalf("payment: %d", st)
		}
		if st, _ := e.do("POST", path+"/payments?why=work", minna, url.Values{"paid_on": {"2027-01-14"}, "amount": {"300"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("a payment in the future: %d", st)
		}

		upload := func(csv string) (int, string) {
			t.Helper()
			var body strings.Builder
			w := multipart.NewWriter(&body)
			_ = w.WriteField("_csrf", minna.CSRF)
			fw, _ := w.CreateFormFile("file", "maksut.csv")
			_, _ = fw.Write([]byte(csv))
			_ = w.Close()
			req := httptest.NewRequest("POST", "/desk/cases/payments", strings.NewReader(body.String()))
			req.Header.Set("Content-Type", w.FormDataContentType())
			req.Header.Set("Cookie", minna.Cookie)
			resp, err := e.app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		good := "viite;päivä;summa\n12345678;20.2.2026;400,00\n99990000;21.2.2026;50,00\n"
		st, body := upload(good)
		if st != http.StatusOK || !strings.Contains(body, "kirjattu 1, tuotu jo aiemmin 0, ei suunnitelmaa 1") {
			t.Fatalf("import: %d %s", st, body[strings.Index(body, "<main"):])
		}
		if _, body := upload(good); !strings.Contains(body, "kirjattu 0, tuotu jo aiemmin 1") {
			t.Error("a re-import recorded something")
		}
		st, body = upload("viite;päivä;summa\n12345678;1.3.2026;10,00\n12345678;31.2.2026;10,00\n")
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Rivi 3") {
			t.Errorf("a bad file: %d, want 422 naming line 3", st)
		}
		var payments int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM plan_payments").Scan(&payments).Error; err != nil || payments != 2 {
			t.Errorf("%d payments stored, want 2 (the bad file recorded nothing)", payments)
		}

		_, body = e.do("GET", path+"?why=work", minna, nil)
		for _, want := range []string{"700,00", "300,00", e.fe.T("fi", "cases.plan.overdue")} {
			if !strings.Contains(body, want) {
				t.Errorf("the case's plan lacks %q", want)
			}
		}
		if n, err := e.svc.OverdueCases(authtest.WithActor(context.Background(), minna), minna.ID); err != nil || n != 1 {
			t.Errorf("overdue cases on the desk: %d, %v", n, err)
		}
		if st, body := e.do("GET", "/desk/cases?show=overdue", minna, nil); st != http.StatusOK || !strings.Contains(body, "Aino Asukas") {
			t.Errorf("the overdue list: %d, Aino missing", st)
		}
		_, body = e.do("GET", "/my/case", aino, nil)
		if !strings.Contains(body, e.fe.T("fi", "cases.plan.title")) || !strings.Contains(body, "700,00") {
			t.Error("the resident does not see the plan and what is paid")
		}
	})
}

// TestTimelineAcrossChannels: the case's timeline holds the resident's
// items of the other channels, in words, linked, among the case's own
// events, newest first.
func TestTimelineAcrossChannels(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	aino := e.person(auth.RoleResident, "Aino Asukas", 0)
	minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
	var asked int64
	e.svc = cases.New(cases.Options{DB: db, Users: auth.NewUsers(db.Gorm), Regions: regions.NewStore(db.Gorm), Frontend: e.fe,
		Audit: audit.New(db.Gorm, nil), Now: func() time.Time { return time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC) },
		Activities: func(_ context.Context, residentID int64) ([]cases.Activity, error) {
			asked = residentID
			return []cases.Activity{
				{When: time.Date(2026, 5, 3, 10, 0, 0, 0, time.UTC), Kind: "booking", NoteKey: "booking.status.booked", URL: "/desk/booking/7"},
				{When: time.Date(2020, 1, 1, 10, 0, 0, 0, time.UTC), Kind: "messages", Note: "<b>Vanha</b>", URL: "/desk/messages/3"},
			}, nil
		}})
	app, _ := authtest.App(t, authtest.New(t, db.Gorm))
	e.svc.Register(app)
	e.app = app
	if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	var id int64
	if err := db.Gorm.Raw("SELECT id FROM cases").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	st, body := e.do("GET", fmt.Sprintf("/desk/cases/%d?why=work", id), minna, nil)
	if st != http.StatusOK || asked != aino.ID {
		t.Fatalf("case page %d; activities asked for %d, want %d", st, asked, aino.ID)
	}
	booking, opened, old := strings.Index(body, `href="/desk/booking/7"`), strings.Index(body, e.fe.T("fi", "cases.event.opened")), strings.Index(body, `href="/desk/messages/3"`)
	if booking < 0 || opened < 0 || old < 0 || !(opened < booking && booking < old) {
		t.Errorf("timeline order: opened %d, booking %d, old thread %d; want newest first", opened, booking, old)
	}
	if !strings.Contains(body, "Varattu") || strings.Contains(body, "<b>Vanha</b>") || !strings.Contains(body, "&lt;b&gt;Vanha") {
		t.Error("activities are not in words, or their text is not escaped")
	}
}

// TestFollowUp: a follow-up of 6–24 months sets its end and the interim
// assessment halfway and moves the case into follow-up; out of range
// changes nothing; the desk counts what falls due within a week; the
// interim assessment, once made, is no longer due.
func TestFollowUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(aino.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
			t.Fatal(st)
		}
		var id int64
		if err := db.Gorm.Raw("SELECT id FROM cases").Scan(&id).Error; err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/desk/cases/%d", id)
		for _, months := range []string{"5", "25", "kuusi"} {
			if st, _ := e.do("POST", path+"/follow-up?why=work", minna, url.Values{"months": {months}}); st != http.StatusUnprocessableEntity {
				t.Errorf("%s months: %d, want 422", months, st)
			}
		}
		if st, _ := e.do("POST", path+"/interim?why=work", minna, url.Values{"interim": {"Ennen aikojaan."}}); st != http.StatusConflict {
			t.Errorf("an interim assessment before any follow-up: %d", st)
		}
		if st, _ := e.do("POST", path+"/follow-up?why=work", minna, url.Values{"months": {"12"}}); st != http.StatusSeeOther {
			t.Fatalf("follow-up: %d", st)
		}
		var c struct{ Status, FollowUpUntil, InterimDue string }
		if err := db.Gorm.Raw("SELECT status, follow_up_until, interim_due FROM cases WHERE id = ?", id).Scan(&c).Error; err != nil {
			t.Fatal(err)
		}
		// The env's clock is 4 May 2026.
		if c.Status != "follow_up" || c.FollowUpUntil != "2027-05-04" || c.InterimDue != "2026-11-04" {
			t.Errorf("after a 12-month follow-up: %+v", c)
		}
		ctx := authtest.WithActor(context.Background(), minna)
		if n, err := e.svc.DueThisWeek(ctx, minna.ID); err != nil || n != 0 {
			t.Errorf("due now: %d, %v; want nothing for months", n, err)
		}
		if err := db.Gorm.Exec("UPDATE cases SET interim_due = '2026-05-08' WHERE id = ?", id).Error; err != nil {
			t.Fatal(err)
		}
		if n, _ := e.svc.DueThisWeek(ctx, minna.ID); n != 1 {
			t.Errorf("an interim assessment due in four days: %d due, want 1", n)
		}
		// The desk's count links to the list of exactly those cases.
		bertta := e.person(auth.RoleResident, "Bertta Toinen", 0)
		if st, _ := e.do("POST", "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(bertta.ID)}, "reason": {"upkeep"}}); st != http.StatusSeeOther {
			t.Fatal(st)
		}
		if st, body := e.do("GET", "/desk/cases?show=due", minna, nil); st != http.StatusOK || !strings.Contains(body, "Aino Asukas") || strings.Contains(body, "Bertta Toinen") {
			t.Errorf("the due list: %d, want Aino only", st)
		}
		if st, body := e.do("GET", "/desk/cases?show=overdue", minna, nil); st != http.StatusOK || strings.Contains(body, "Aino Asukas") {
			t.Errorf("the overdue list: %d, want nobody (no plan)", st)
		}
		if st, _ := e.do("POST", path+"/interim?why=work", minna, url.Values{"interim": {"Maksut ajallaan."}}); st != http.StatusSeeOther {
			t.Fatalf("interim: %d", st)
		}
		if n, _ := e.svc.DueThisWeek(ctx, minna.ID); n != 0 {
			t.Errorf("after the interim assessment: %d due, want 0", n)
		}
		if _, body := e.do("GET", path+"?why=work", minna, nil); !strings.Contains(body, "Maksut ajallaan.") || !strings.Contains(body, "2027-05-04") {
			t.Error("the case page lacks the interim assessment or the follow-up's end")
		}
	})
}
