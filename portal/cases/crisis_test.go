package cases_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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

// newCrisisEnv is newEnv's service in Helsinki time on a clock the test
// moves (4 May 2026 at noon to begin with), with the desk's
// crisis-accommodation section at /test/desk as the desk renders it.
func newCrisisEnv(t *testing.T, db *database.DB) (*env, *clocktest.Clock) {
	t.Helper()
	if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (4, 'east', 'Itä', 'Öster', 'East'), (2, 'west', 'Länsi', 'Väster', 'West')").Error; err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	svc := cases.New(cases.Options{DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
		Audit: audit.New(db.Gorm, clock.Now), Location: loc, Now: clock.Now})
	svc.Register(app)
	app.Get("/test/desk", func(c *fiber.Ctx) error {
		secs, err := frontend.CollectSections(c, []frontend.SectionFunc{svc.CrisisDeskSection})
		if err != nil {
			return err
		}
		return fe.Render(c, fiber.StatusOK, "pages/desk", frontend.Page{TitleKey: "nav.desk", Data: struct{ Sections []frontend.Section }{secs}})
	})
	return &env{t: t, db: db, app: app, fe: fe, svc: svc}, clock
}

// crisisOpen opens a case for resident by advisor and returns its path.
func crisisOpen(e *env, advisor, resident *authtest.User) (int64, string) {
	e.t.Helper()
	if st, _ := e.do("POST", "/desk/cases/new", advisor, url.Values{"resident": {fmt.Sprint(resident.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
		e.t.Fatalf("open a case for %s: %d", resident.Name, st)
	}
	var id int64
	if err := e.db.Gorm.Raw("SELECT id FROM cases WHERE resident_id = ? AND status <> 'closed'", resident.ID).Scan(&id).Error; err != nil || id == 0 {
		e.t.Fatalf("no case for %s: %v", resident.Name, err)
	}
	return id, fmt.Sprintf("/desk/cases/%d", id)
}

// crisisCount runs a COUNT query.
func crisisCount(e *env, query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Gorm.Raw(query, args...).Scan(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// crisisStages is a case's stages as "stage start–end", in order.
func crisisStages(e *env, id int64) []string {
	e.t.Helper()
	var rows []struct{ Stage, StartDate, EndDate string }
	if err := e.db.Gorm.Raw("SELECT stage, start_date, end_date FROM case_crisis_stages WHERE case_id = ? ORDER BY id", id).Scan(&rows).Error; err != nil {
		e.t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Stage + " " + r.StartDate + "–" + r.EndDate
	}
	return out
}

// TestCrisisPath: over HTTP, the three checks with who and when (a check
// answered again replaces the answer, the timeline keeps both), then the
// stages crisis accommodation → interim flat → permanent flat, each
// ending the previous on its start; crisis accommodation needs the
// criteria met; a stage out of order, one starting before the previous,
// a bad or future date, an end before the start are refused with a
// translated message and store nothing; the page and the timeline show
// it all in fi, sv and en; another region's advisor gets 404 on every
// POST; a closed case changes no more.
func TestCrisisPath(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e, _ := newCrisisEnv(t, db)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		ville := e.person(auth.RoleAdvisor, "Ville Länsi", 2)
		id, path := crisisOpen(e, minna, aino)

		stored := func() string {
			t.Helper()
			return fmt.Sprint(crisisCount(e, "SELECT COUNT(*) FROM case_crisis_checks WHERE case_id = ?", id), " checks, ",
				crisisStages(e, id), ", ", crisisCount(e, "SELECT COUNT(*) FROM case_events WHERE case_id = ? AND kind IN ('crisis_check', 'crisis_stage')", id), " events")
		}
		refused := func(what, route string, form url.Values, field, key string) {
			t.Helper()
			before := stored()
			st, body := e.do("POST", path+route+"?why=work", minna, form)
			if st != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d, want 422", what, st)
			}
			if !strings.Contains(body, `href="#`+field+`"`) || !strings.Contains(body, e.fe.T("fi", key)) {
				t.Errorf("%s: the form does not say %q at %s", what, e.fe.T("fi", key), field)
			}
			if after := stored(); after != before {
				t.Errorf("%s stored something: %s, was %s", what, after, before)
			}
		}
		ok := func(what, route string, form url.Values) {
			t.Helper()
			if st, _ := e.do("POST", path+route+"?why=work", minna, form); st != http.StatusSeeOther {
				t.Fatalf("%s: %d, want 303", what, st)
			}
		}
		check := func(item, answer, date string) url.Values {
			return url.Values{"crisis_check": {item}, "crisis_answer": {answer}, "crisis_check_date": {date}}
		}
		stage := func(s, start string) url.Values {
			return url.Values{"crisis_stage": {s}, "crisis_stage_start": {start}}
		}

		refused("crisis accommodation before its criteria", "/crisis/stages", stage("crisis", "2026-02-02"), "crisis_stage", "cases.crisis.error.criteria")
		refused("an unknown check", "/crisis/checks", check("castle", "yes", "2026-02-01"), "crisis_check", "cases.error.choose")
		refused("an answer other than yes or no", "/crisis/checks", check("own_network", "maybe", "2026-02-01"), "crisis_answer", "cases.error.choose")
		refused("a check in the future", "/crisis/checks", check("own_network", "no", "2026-05-05"), "crisis_check_date", "cases.crisis.error.date")
		refused("a check on 31 February", "/crisis/checks", check("own_network", "no", "31.2.2026"), "crisis_check_date", "cases.crisis.error.date")
		refused("a check without a date", "/crisis/checks", check("own_network", "no", ""), "crisis_check_date", "cases.crisis.error.date")

		ok("emergency service considered", "/crisis/checks", check("emergency_service", "yes", "2026-02-01"))
		ok("own network explored", "/crisis/checks", check("own_network", "no", "1.2.2026"))
		ok("own network again", "/crisis/checks", check("own_network", "yes", "2026-02-02"))
		ok("criteria met", "/crisis/checks", check("criteria_met", "yes", "2026-02-02"))
		var network struct {
			Answer    bool
			CheckedOn string
			CheckedBy int64
		}
		if err := db.Gorm.Raw("SELECT answer, checked_on, checked_by FROM case_crisis_checks WHERE case_id = ? AND item = 'own_network'", id).Scan(&network).Error; err != nil {
			t.Fatal(err)
		}
		if !network.Answer || network.CheckedOn != "2026-02-02" || network.CheckedBy != minna.ID {
			t.Errorf("own network after answering again: %+v", network)
		}
		if got := stored(); got != "3 checks, [], 4 events" {
			t.Errorf("after the checks: %s", got)
		}

		ok("crisis accommodation", "/crisis/stages", stage("crisis", "2026-02-02"))
		refused("an interim flat before the crisis accommodation", "/crisis/stages", stage("interim", "2026-02-01"), "crisis_stage_start", "cases.crisis.error.before_previous")
		refused("crisis accommodation again", "/crisis/stages", stage("crisis", "2026-03-01"), "crisis_stage", "cases.crisis.error.order")
		refused("an unknown stage", "/crisis/stages", stage("hotel", "2026-03-01"), "crisis_stage", "cases.error.choose")
		refused("a stage in the future", "/crisis/stages", stage("interim", "2026-05-05"), "crisis_stage_start", "cases.crisis.error.date")
		ok("interim flat", "/crisis/stages", stage("interim", "2026-03-15"))
		refused("an end before the interim flat started", "/crisis/end", url.Values{"crisis_stage_end": {"2026-03-14"}}, "crisis_stage_end", "cases.crisis.error.end_before_start")
		refused("the interim flat again", "/crisis/stages", stage("interim", "2026-04-01"), "crisis_stage", "cases.crisis.error.order")
		ok("permanent flat", "/crisis/stages", stage("permanent", "2026-04-20"))
		want := []string{"crisis 2026-02-02–2026-03-15", "interim 2026-03-15–2026-04-20", "permanent 2026-04-20–"}
		if got := crisisStages(e, id); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stages %v, want %v", got, want)
		}
		ok("leaving the permanent flat", "/crisis/end", url.Values{"crisis_stage_end": {"2026-05-04"}})
		refused("ending when nothing goes on", "/crisis/end", url.Values{"crisis_stage_end": {"2026-05-04"}}, "crisis_stage_end", "cases.crisis.error.no_stage")
		// Started: crisis, interim, permanent; ended: each.
		if n := crisisCount(e, "SELECT COUNT(*) FROM case_events WHERE case_id = ? AND kind = 'crisis_stage' AND actor_id = ?", id, minna.ID); n != 6 {
			t.Errorf("%d stage events, want 6", n)
		}

		// Another region's advisor: 404 on every POST, nothing stored.
		before := stored()
		for route, form := range map[string]url.Values{
			"/crisis/checks": check("criteria_met", "no", "2026-05-04"),
			"/crisis/stages": stage("permanent", "2026-05-04"),
			"/crisis/end":    {"crisis_stage_end": {"2026-05-04"}},
			"/partners":      {"partner_kind": {"kela"}, "partner_date": {"2026-05-04"}},
		} {
			if st, _ := e.do("POST", path+route+"?why=work", ville, form); st != http.StatusNotFound {
				t.Errorf("Ville posts %s: %d, want 404", route, st)
			}
			bad := url.Values{}
			if st, _ := e.do("POST", path+route+"?why=work", ville, bad); st != http.StatusNotFound {
				t.Errorf("Ville posts a bad %s: %d, want 404", route, st)
			}
		}
		if after := stored(); after != before || crisisCount(e, "SELECT COUNT(*) FROM case_partners") != 0 {
			t.Errorf("Ville's posts stored something: %s, was %s", after, before)
		}

		// The page, in every language; opening it is logged (repeats
		// within one opening are folded into one entry).
		for lang, wants := range map[string][]string{
			"fi": {"Kriisimajoitus</h2>", "Kriisimajoituksen kriteerit täyttyvät", "Kyllä · 2026-02-02 (Minna Neuvoja)", "Välivuokra-asunto alkoi 2026-03-15",
				"Kriisimajoitus päättyi 2026-03-15", "Pysyvä vuokra-asunto päättyi 2026-05-04", "Omaa verkostoa (sukulaiset, ystävät) on selvitetty: Ei (2026-02-01)"},
			"sv": {"Krisinkvartering</h2>", "Kriterierna för krisinkvartering uppfylls", "Andrahandshyresbostad började 2026-03-15", "Utredning för krisinkvartering"},
			"en": {"Crisis accommodation</h2>", "Criteria for crisis accommodation met", "Interim rental flat started 2026-03-15", "Crisis-accommodation stage",
				"Own network (relatives, friends) explored: Yes (2026-02-02)"},
		} {
			st, body := e.do("GET", path+"?why=work&lang="+lang, minna, nil)
			if st != http.StatusOK {
				t.Fatalf("the case page in %s: %d", lang, st)
			}
			for _, w := range wants {
				if !strings.Contains(body, w) {
					t.Errorf("the %s case page lacks %q", lang, w)
				}
			}
			// Crisis accommodation 2 February – 15 March: 41 days, within
			// three months; the interim flat 36 days.
			if !regexp.MustCompile(`2026-02-02</td>\s*<td class="nowrap">2026-03-15</td>\s*<td>41</td>`).MatchString(body) {
				t.Errorf("the %s page lacks the crisis accommodation's 41 days", lang)
			}
			if strings.Contains(body, "cases.crisis.") {
				t.Errorf("the %s page shows a bare key", lang)
			}
		}
		if n := crisisCount(e, "SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND action = ? AND resource = ? AND reason = 'case_work'",
			minna.ID, string(audit.CaseView), fmt.Sprintf("cases/%d", id)); n != 1 {
			t.Errorf("reading the case page: %d access log entries, want 1", n)
		}

		ok("close", "/close", url.Values{"outcome": {"moved_suitable"}})
		if st, _ := e.do("POST", path+"/partners?why=work", minna, url.Values{"partner_kind": {"kela"}, "partner_date": {"2026-05-04"}}); st != http.StatusConflict {
			t.Errorf("a partner on a closed case: %d, want 409", st)
		}
		if _, body := e.do("GET", path+"?why=work", minna, nil); strings.Contains(body, "/crisis/stages") || strings.Contains(body, "/partners?") {
			t.Error("a closed case offers the path's forms")
		}
	})
}

// TestCasePartners: partners of every kind may be added with an optional
// organisation (at most 200 characters, shown as text) and a date; each
// is on the timeline in fi, sv and en and listed on the page; bad input
// stores nothing; another region's advisor gets 404.
func TestCasePartners(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e, _ := newCrisisEnv(t, db)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		ville := e.person(auth.RoleAdvisor, "Ville Länsi", 2)
		_, path := crisisOpen(e, minna, aino)
		partner := func(u *authtest.User, kind, contact, date string) int {
			t.Helper()
			st, _ := e.do("POST", path+"/partners?why=work", u, url.Values{"partner_kind": {kind}, "partner_contact": {contact}, "partner_date": {date}})
			return st
		}
		for _, kind := range cases.PartnerKinds {
			if st := partner(minna, kind, "", "2026-05-04"); st != http.StatusSeeOther {
				t.Errorf("partner %s: %d", kind, st)
			}
		}
		if st := partner(minna, "property_manager", "Kiinteistö Oy Itäkaari, isännöitsijä Laine", "2026-04-30"); st != http.StatusSeeOther {
			t.Errorf("a partner with its contact: %d", st)
		}
		if st := partner(minna, "kela", "<b>Kela</b> "+strings.Repeat("ä", 188), "4.5.2026"); st != http.StatusSeeOther {
			t.Errorf("a contact of 200 characters: %d", st)
		}
		const stored = "SELECT COUNT(*) FROM case_partners"
		n := crisisCount(e, stored)
		for _, tc := range []struct{ name, kind, contact, date, field string }{
			{"an unknown kind", "landlord", "", "2026-05-04", "partner_kind"},
			{"a contact of 201 characters", "kela", strings.Repeat("ä", 201), "2026-05-04", "partner_contact"},
			{"a contact with a line break", "kela", "Kela\nItä", "2026-05-04", "partner_contact"},
			{"a date in the future", "kela", "", "2026-05-05", "partner_date"},
			{"no date", "kela", "", "", "partner_date"},
		} {
			st, body := e.do("POST", path+"/partners?why=work", minna, url.Values{"partner_kind": {tc.kind}, "partner_contact": {tc.contact}, "partner_date": {tc.date}})
			if st != http.StatusUnprocessableEntity || !strings.Contains(body, `href="#`+tc.field+`"`) {
				t.Errorf("%s: %d, want 422 naming %s", tc.name, st, tc.field)
			}
		}
		if st := partner(ville, "kela", "", "2026-05-04"); st != http.StatusNotFound {
			t.Errorf("another region's partner: %d, want 404", st)
		}
		if got := crisisCount(e, stored); got != n || n != int64(len(cases.PartnerKinds)+2) {
			t.Errorf("%d partners stored, want %d (bad input stored nothing)", got, len(cases.PartnerKinds)+2)
		}
		if got := crisisCount(e, "SELECT COUNT(*) FROM case_events WHERE kind = 'partner'"); got != n {
			t.Errorf("%d partner events, want %d", got, n)
		}
		for lang, wants := range map[string][]string{
			"fi": {"Verkostoyhteistyö</h2>", "Yhteistyökumppani mukaan", "Isännöitsijä", "Vammaisten sosiaalityö", "Kiinteistö Oy Itäkaari, isännöitsijä Laine"},
			"sv": {"Nätverkssamarbete</h2>", "Samarbetspartner med", "Disponent", "FPA", "Kiinteistö Oy Itäkaari, isännöitsijä Laine"},
			"en": {"Network partners</h2>", "Partner involved", "Property manager", "Child protection", "Kiinteistö Oy Itäkaari, isännöitsijä Laine"},
		} {
			st, body := e.do("GET", path+"?why=work&lang="+lang, minna, nil)
			if st != http.StatusOK {
				t.Fatalf("the case page in %s: %d", lang, st)
			}
			for _, w := range wants {
				if !strings.Contains(body, w) {
					t.Errorf("the %s case page lacks %q", lang, w)
				}
			}
			if strings.Contains(body, "<b>Kela</b>") || strings.Count(body, "&lt;b&gt;Kela&lt;/b&gt;") != 2 {
				t.Errorf("the %s page does not show the contact as text, once in the list and once on the timeline", lang)
			}
		}
	})
}

// TestCrisisDesk: the desk lists the stages going on in the advisor's own
// cases (responsible or colleague), not others' of her region nor ended
// ones, with their days; crisis accommodation over three months and an
// interim flat over six are flagged as the clock moves past them; the
// list writes the access log.
func TestCrisisDesk(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e, clock := newCrisisEnv(t, db)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		tiina := e.person(auth.RoleAdvisor, "Tiina Itä", 4)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		bertta := e.person(auth.RoleResident, "Bertta Toinen", 0)
		cecilia := e.person(auth.RoleResident, "Cecilia Kolmas", 0)
		daniel := e.person(auth.RoleResident, "Daniel Neljäs", 0)
		clock.Set(time.Date(2026, 4, 30, 9, 0, 0, 0, time.UTC))
		post := func(u *authtest.User, path, route string, form url.Values) {
			t.Helper()
			if st, _ := e.do("POST", path+route+"?why=work", u, form); st != http.StatusSeeOther {
				t.Fatalf("%s %s: %d", path, route, st)
			}
		}
		// Aino: crisis accommodation from 1 February (Minna's case).
		ainoID, ainoCase := crisisOpen(e, minna, aino)
		post(minna, ainoCase, "/crisis/checks", url.Values{"crisis_check": {"criteria_met"}, "crisis_answer": {"yes"}, "crisis_check_date": {"2026-02-01"}})
		post(minna, ainoCase, "/crisis/stages", url.Values{"crisis_stage": {"crisis"}, "crisis_stage_start": {"2026-02-01"}})
		// Bertta: an interim flat from 15 November (Tiina's case, Minna
		// the colleague).
		berttaID, berttaCase := crisisOpen(e, tiina, bertta)
		if err := db.Gorm.Exec("UPDATE cases SET colleague_id = ? WHERE id = ?", minna.ID, berttaID).Error; err != nil {
			t.Fatal(err)
		}
		post(tiina, berttaCase, "/crisis/stages", url.Values{"crisis_stage": {"interim"}, "crisis_stage_start": {"2025-11-15"}})
		// Cecilia: Tiina's alone; Daniel: Minna's, his stage ended.
		_, ceciliaCase := crisisOpen(e, tiina, cecilia)
		post(tiina, ceciliaCase, "/crisis/stages", url.Values{"crisis_stage": {"interim"}, "crisis_stage_start": {"2025-06-01"}})
		_, danielCase := crisisOpen(e, minna, daniel)
		post(minna, danielCase, "/crisis/stages", url.Values{"crisis_stage": {"interim"}, "crisis_stage_start": {"2025-06-01"}})
		post(minna, danielCase, "/crisis/end", url.Values{"crisis_stage_end": {"2026-01-31"}})

		ctx := authtest.WithActor(t.Context(), minna)
		stays := func() string {
			t.Helper()
			list, err := e.svc.CrisisStays(ctx, minna.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range list {
				out = append(out, fmt.Sprintf("%d %s %s %d %v", s.CaseID, s.Stage, s.Start, s.Days, s.Over))
			}
			return strings.Join(out, "; ")
		}
		// 30 April: 88 days of crisis accommodation (three months end on
		// 1 May), 166 days of the interim flat (six months on 15 May).
		if got, want := stays(), fmt.Sprintf("%d interim 2025-11-15 166 false; %d crisis 2026-02-01 88 false", berttaID, ainoID); got != want {
			t.Errorf("30 April: %s, want %s", got, want)
		}
		_, body := e.do("GET", "/test/desk?lang=en", minna, nil)
		if strings.Contains(body, "cases-overdue") || !strings.Contains(body, "Crisis-accommodation path") ||
			!regexp.MustCompile(`href="/desk/cases/\d+">Bertta Toinen</a></th>\s*<td>Interim rental flat</td>\s*<td class="nowrap">2025-11-15</td>\s*<td>166</td>`).MatchString(body) {
			t.Errorf("the desk on 30 April: %s", body[strings.Index(body, "<main"):])
		}
		if strings.Contains(body, "Cecilia") || strings.Contains(body, "Daniel") {
			t.Error("the desk lists another's case or an ended stage")
		}
		if n := crisisCount(e, "SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resource = 'cases/crisis' AND reason = ?", minna.ID, string(audit.ReasonDeskList)); n != 2 {
			t.Errorf("%d access log entries of the desk list, want one per resident listed (2)", n)
		}

		// 2 May (Helsinki): Aino's crisis accommodation is over three
		// months and comes first.
		clock.Set(time.Date(2026, 5, 1, 21, 30, 0, 0, time.UTC))
		if got, want := stays(), fmt.Sprintf("%d crisis 2026-02-01 90 true; %d interim 2025-11-15 168 false", ainoID, berttaID); got != want {
			t.Errorf("2 May: %s, want %s", got, want)
		}
		_, body = e.do("GET", "/test/desk", minna, nil)
		flag := regexp.MustCompile(`Aino Asukas</a></th>\s*<td>Kriisimajoitus</td>\s*<td class="nowrap">2026-02-01</td>\s*<td>90 · <strong class="cases-overdue">yli 3 kuukautta</strong></td>`)
		if !flag.MatchString(body) || strings.Count(body, "cases-overdue") != 1 {
			t.Errorf("the desk on 2 May does not flag Aino alone")
		}
		// 16 May: Bertta's interim flat too is over six months.
		clock.Set(time.Date(2026, 5, 16, 9, 0, 0, 0, time.UTC))
		if got, want := stays(), fmt.Sprintf("%d interim 2025-11-15 182 true; %d crisis 2026-02-01 104 true", berttaID, ainoID); got != want {
			t.Errorf("16 May: %s, want %s", got, want)
		}
		_, body = e.do("GET", "/test/desk?lang=sv", minna, nil)
		if !strings.Contains(body, "över 6 månader") || !strings.Contains(body, "över 3 månader") {
			t.Error("the Swedish desk lacks the overstays")
		}
		// Tiina sees Bertta and Cecilia; a resident nothing.
		_, body = e.do("GET", "/test/desk", tiina, nil)
		if !strings.Contains(body, "Bertta Toinen") || !strings.Contains(body, "Cecilia Kolmas") || strings.Contains(body, "Aino Asukas") {
			t.Error("Tiina's desk")
		}
		if st, _ := e.do("GET", "/test/desk", aino, nil); st != http.StatusOK {
			t.Errorf("a resident's section: %d", st)
		}
	})
}
