package cases

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// statsEnv is the cases service in Helsinki time over the statistics
// fixture, with its people: Minna (advisor, east), Ville (advisor, west),
// Olli (advisor of no region), Pirjo (admin), Aino (resident).
type statsEnv struct {
	t                               testing.TB
	db                              *database.DB
	app                             *fiber.App
	fe                              *frontend.Frontend
	svc                             *Service
	channels                        *fakeChannels
	loc                             *time.Location
	minna, ville, olli, pirjo, aino *authtest.User
}

const (
	statsEast int64 = 4
	statsWest int64 = 2
)

func newStatsEnv(t testing.TB, db *database.DB) *statsEnv {
	t.Helper()
	if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (?, 'east', 'Itä', 'Öster', 'East'), (?, 'west', 'Länsi', 'Väster', 'West')", statsEast, statsWest).Error; err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	channels := newFakeChannels()
	svc := New(Options{DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe, Audit: audit.New(db.Gorm, clock.Now), Location: loc, Now: clock.Now, ChannelStats: channels})
	svc.RegisterStats(app)
	e := &statsEnv{t: t, db: db, app: app, fe: fe, svc: svc, channels: channels, loc: loc}
	person := func(role auth.Role, name string, region int64) *authtest.User {
		u := authtest.Login(t, db.Gorm, role, name)
		if region != 0 {
			if err := auth.NewUsers(db.Gorm).SetRegion(context.Background(), u.ID, &region); err != nil {
				t.Fatal(err)
			}
		}
		return u
	}
	e.minna = person(auth.RoleAdvisor, "Minna Neuvoja", statsEast)
	e.ville = person(auth.RoleAdvisor, "Ville Länsi", statsWest)
	e.olli = person(auth.RoleAdvisor, "Olli Alueeton", 0)
	e.pirjo = person(auth.RoleAdmin, "Pirjo Pääkäyttäjä", 0)
	e.aino = person(auth.RoleResident, "Aino Asukas", 0)
	return e
}

// fixtureCase is a row (or n alike) of the fixture's cases; the times are
// UTC, Helsinki being UTC+2 until 29 March 2026 and UTC+3 after.
type fixtureCase struct {
	name                        string // for the events; "" for none
	n                           int
	region                      int64
	reason, household, referrer string
	created, closed, outcome    string
}

// statsCases: 31 cases. In the first quarter of 2026 (Helsinki time) east
// has 21 new ones, west 7; P1 is a second before the quarter, P2 at its
// end (outside), W8 after it. r1 opens at its first instant, r11 at its
// last second; r7 closes at the last second, r9 at the end (outside).
var statsCases = []fixtureCase{
	{"r1", 1, statsEast, "rent_debt", "family", "property_staff", "2025-12-31T22:00:00Z", "2026-03-01T10:00:00Z", "housing_continues"},
	{"r2", 1, statsEast, "rent_debt", "family", "property_staff", "2026-01-05T08:00:00Z", "2026-03-02T10:00:00Z", "housing_continues"},
	{"r3", 1, statsEast, "rent_debt", "family", "property_staff", "2026-01-06T08:00:00Z", "2026-03-03T10:00:00Z", "housing_continues"},
	{"r4", 1, statsEast, "rent_debt", "family", "property_staff", "2026-01-07T08:00:00Z", "2026-03-04T10:00:00Z", "housing_continues"},
	{"r5", 1, statsEast, "rent_debt", "family", "social_services", "2026-01-08T08:00:00Z", "2026-03-05T10:00:00Z", "housing_continues"},
	{"r6", 1, statsEast, "rent_debt", "family", "social_services", "2026-01-09T08:00:00Z", "2026-03-06T10:00:00Z", "housing_continues"},
	{"r7", 1, statsEast, "rent_debt", "single", "property_staff", "2026-02-01T08:00:00Z", "2026-03-31T20:59:59Z", "evicted"},
	{"r8", 1, statsEast, "rent_debt", "single", "property_staff", "2026-02-02T08:00:00Z", "2026-03-10T10:00:00Z", "evicted"},
	{"r9", 1, statsEast, "rent_debt", "single", "property_staff", "2026-02-03T08:00:00Z", "2026-03-31T21:00:00Z", "evicted"},
	{"r10", 1, statsEast, "rent_debt", "single", "property_staff", "2026-02-04T08:00:00Z", "", ""},
	{"r11", 1, statsEast, "rent_debt", "single", "social_services", "2026-03-31T20:59:59Z", "", ""},
	{"r12", 1, statsEast, "rent_debt", "couple", "social_services", "2026-02-05T08:00:00Z", "", ""},
	{"", 3, statsEast, "disturbances", "single", "resident", "2026-02-10T08:00:00Z", "2026-03-20T10:00:00Z", "moved_suitable"},
	{"", 2, statsEast, "disturbances", "family", "social_services", "2026-02-10T08:00:00Z", "2026-03-20T10:00:00Z", "moved_suitable"},
	{"", 3, statsEast, "upkeep", "", "", "2026-01-20T08:00:00Z", "", ""},
	{"", 1, statsEast, "something_else", "single", "", "2026-01-21T08:00:00Z", "", ""},
	{"P1", 1, statsEast, "rent_debt", "single", "property_staff", "2025-12-31T21:59:59Z", "2026-02-10T12:00:00Z", "housing_continues"},
	{"P2", 1, statsEast, "rent_debt", "single", "property_staff", "2026-03-31T21:00:00Z", "", ""},
	{"w1", 1, statsWest, "rent_debt", "family", "social_services", "2026-01-15T08:00:00Z", "2026-03-15T10:00:00Z", "housing_continues"},
	{"", 3, statsWest, "rent_debt", "family", "social_services", "2026-01-16T08:00:00Z", "2026-03-16T10:00:00Z", "housing_continues"},
	{"", 3, statsWest, "rent_debt", "family", "social_services", "2026-01-17T08:00:00Z", "", ""},
	{"W8", 1, statsWest, "rent_debt", "family", "social_services", "2026-04-15T08:00:00Z", "", ""},
}

// statsEvents: kind, field, on_date of a named case's events. The
// interventions dated 2025-12-31 and 2026-04-01 fall outside the quarter;
// r1 has both an eviction cancelled and a debt kept out of court.
var statsEvents = []struct{ name, kind, field, onDate string }{
	{"r1", "intervention", "payment_plan", "2026-01-10"},
	{"r2", "intervention", "payment_plan", "2026-01-11"},
	{"r3", "intervention", "payment_plan", "2026-01-12"},
	{"r4", "intervention", "payment_plan", "2026-01-13"},
	{"r5", "intervention", "payment_plan", "2026-01-14"},
	{"r6", "intervention", "payment_plan", "2026-01-15"},
	{"r7", "intervention", "payment_plan", "2026-02-15"},
	{"P1", "intervention", "payment_plan", "2025-12-31"},
	{"r8", "intervention", "payment_plan", "2026-04-01"},
	{"r1", "intervention", "kept_out_of_court", "2026-01-01"},
	{"r2", "intervention", "kept_out_of_court", "2026-02-01"},
	{"r3", "intervention", "kept_out_of_court", "2026-02-15"},
	{"r4", "intervention", "kept_out_of_court", "2026-03-01"},
	{"r1", "intervention", "eviction_cancelled", "2026-03-31"},
	{"r5", "intervention", "eviction_cancelled", "2026-02-20"},
	{"r6", "intervention", "eviction_cancelled", "2026-04-01"},
	{"r7", "intervention", "rent_follow_up", "2026-03-15"},
	{"r8", "intervention", "rent_follow_up", "2026-03-15"},
	{"r9", "intervention", "rent_follow_up", "2026-03-15"},
	{"r10", "intervention", "rent_follow_up", "2026-03-15"},
	{"r12", "intervention", "rent_follow_up", "2026-03-15"},
	{"P1", "intervention", "rent_follow_up", "2026-01-20"},
	{"r1", "note", "", ""},
	{"r1", "change", "status", ""},
	{"r2", "change", "payment_plan", "2026-02-01"}, // not an intervention
	{"w1", "intervention", "payment_plan", "2026-02-01"},
	{"w1", "intervention", "payment_plan", "2026-02-02"},
	{"w1", "intervention", "payment_plan", "2026-02-03"},
	{"w1", "intervention", "payment_plan", "2026-02-04"},
	{"w1", "intervention", "payment_plan", "2026-02-05"},
	{"w1", "intervention", "kept_out_of_court", "2026-02-10"},
}

// statsCrisis: the crisis-accommodation stages of named cases, each
// case's resident made the person named (Kaisa has two cases). In the
// first quarter east has 5 people in crisis accommodation (Eeva's ended
// on 31 December, Leena's starts on 1 April; Raili's starts on 31 March,
// its last day), 4 in an interim flat (Matti's ended on 1 January, its
// first day) and 1 in a permanent flat (from 31 March); west 1 in crisis
// accommodation.
var statsCrisis = []struct{ name, person, stage, start, end string }{
	{"r1", "Eeva", "crisis", "2025-11-01", "2025-12-31"},
	{"r1", "Eeva", "interim", "2025-12-31", ""},
	{"r2", "Jussi", "crisis", "2026-01-10", "2026-02-15"},
	{"r2", "Jussi", "interim", "2026-02-15", "2026-03-31"},
	{"r2", "Jussi", "permanent", "2026-03-31", ""},
	{"r3", "Kaisa", "crisis", "2026-03-01", ""},
	{"r4", "Leena", "crisis", "2026-04-01", ""},
	{"r5", "Matti", "interim", "2025-06-01", "2026-01-01"},
	{"r6", "Niina", "crisis", "2026-02-01", "2026-02-20"},
	{"r7", "Oskari", "crisis", "2026-01-05", "2026-03-01"},
	{"r7", "Oskari", "interim", "2026-03-01", ""},
	{"r10", "Kaisa", "crisis", "2026-01-02", "2026-01-20"},
	{"r11", "Raili", "crisis", "2026-03-31", ""},
	{"w1", "Pekka", "crisis", "2026-02-01", ""},
}

// seedStats inserts the fixture with SQL.
func (e *statsEnv) seedStats() {
	e.t.Helper()
	at := func(s string) any {
		if s == "" {
			return nil
		}
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			e.t.Fatal(err)
		}
		return v.UTC()
	}
	ids := map[string]int64{}
	for _, c := range statsCases {
		status := "open"
		if c.closed != "" {
			status = "closed"
		}
		for range c.n {
			var id int64
			err := e.db.Gorm.Raw(`INSERT INTO cases (resident_id, region_id, status, reason, household, referrer, outcome, created_at, updated_at, closed_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				e.aino.ID, c.region, status, c.reason, c.household, c.referrer, c.outcome, at(c.created), at(c.created), at(c.closed)).Scan(&id).Error
			if err != nil || id == 0 {
				e.t.Fatalf("insert %s: %v", c.name, err)
			}
			if c.name != "" {
				ids[c.name] = id
			}
		}
	}
	for _, ev := range statsEvents {
		if err := e.db.Gorm.Exec("INSERT INTO case_events (case_id, kind, field, on_date, created_at) VALUES (?, ?, ?, ?, ?)",
			ids[ev.name], ev.kind, ev.field, ev.onDate, at("2026-04-02T08:00:00Z")).Error; err != nil {
			e.t.Fatal(err)
		}
	}
	people := map[string]int64{}
	for _, s := range statsCrisis {
		if people[s.person] == 0 {
			people[s.person] = authtest.Login(e.t, e.db.Gorm, auth.RoleResident, s.person).ID
		}
		if err := e.db.Gorm.Exec("UPDATE cases SET resident_id = ? WHERE id = ?", people[s.person], ids[s.name]).Error; err != nil {
			e.t.Fatal(err)
		}
		if err := e.db.Gorm.Exec("INSERT INTO case_crisis_stages (case_id, stage, start_date, end_date, created_at) VALUES (?, ?, ?, ?, ?)",
			ids[s.name], s.stage, s.start, s.end, at("2026-04-02T08:00:00Z")).Error; err != nil {
			e.t.Fatal(err)
		}
	}
	e.seedChannels(people)
}

// quarter is the first quarter of 2026 in Helsinki time.
func (e *statsEnv) quarter(region int64) StatsQuery {
	return StatsQuery{From: time.Date(2026, 1, 1, 0, 0, 0, 0, e.loc), To: time.Date(2026, 4, 1, 0, 0, 0, 0, e.loc), RegionID: region}
}

// counts is a code list's counts: m's, 0 for the rest.
func counts(list []string, m map[string]int64) []Count {
	out := make([]Count, len(list))
	for i, code := range list {
		out[i] = Count{code, m[code]}
	}
	return out
}

var (
	referrersAndUnknown  = append(append([]string{}, Referrers...), Unknown)
	householdsAndUnknown = append(append([]string{}, Households...), Unknown)
)

// The expected figures of the first quarter, counted by hand from the
// fixture.
func wantEast(q StatsQuery) *Stats {
	return &Stats{Query: q,
		NewByReason:         counts(Reasons, map[string]int64{"rent_debt": 12, "disturbances": 5, "upkeep": 3, "something_else": 1}),
		NewByReferrer:       counts(referrersAndUnknown, map[string]int64{"property_staff": 8, "social_services": 6, "resident": 3, Unknown: 4}),
		RentDebtByHousehold: counts(householdsAndUnknown, map[string]int64{"family": 6, "single": 5, "couple": 1}),
		Interventions:       counts(Interventions, map[string]int64{"payment_plan": 7, "kept_out_of_court": 4, "eviction_cancelled": 2, "rent_follow_up": 6}),
		ClosedByOutcome:     counts(Outcomes, map[string]int64{"housing_continues": 7, "evicted": 2, "moved_suitable": 5}),
		HousingContinued:    Share{N: 7, Of: 9},
		EvictionsPrevented:  5,
		CrisisByStage:       counts(CrisisStages, map[string]int64{"crisis": 5, "interim": 4, "permanent": 1}),
		Channels:            wantEastChannels(),
	}
}

func wantWest(q StatsQuery) *Stats {
	return &Stats{Query: q,
		NewByReason:         counts(Reasons, map[string]int64{"rent_debt": 7}),
		NewByReferrer:       counts(referrersAndUnknown, map[string]int64{"social_services": 7}),
		RentDebtByHousehold: counts(householdsAndUnknown, map[string]int64{"family": 7}),
		Interventions:       counts(Interventions, map[string]int64{"payment_plan": 5, "kept_out_of_court": 1}),
		ClosedByOutcome:     counts(Outcomes, map[string]int64{"housing_continues": 4}),
		HousingContinued:    Share{N: 4, Of: 4},
		EvictionsPrevented:  1,
		CrisisByStage:       counts(CrisisStages, map[string]int64{"crisis": 1}),
		Channels:            wantWestChannels(),
	}
}

func wantAll(q StatsQuery) *Stats {
	return &Stats{Query: q,
		NewByReason:         counts(Reasons, map[string]int64{"rent_debt": 19, "disturbances": 5, "upkeep": 3, "something_else": 1}),
		NewByReferrer:       counts(referrersAndUnknown, map[string]int64{"property_staff": 8, "social_services": 13, "resident": 3, Unknown: 4}),
		RentDebtByHousehold: counts(householdsAndUnknown, map[string]int64{"family": 13, "single": 5, "couple": 1}),
		Interventions:       counts(Interventions, map[string]int64{"payment_plan": 12, "kept_out_of_court": 5, "eviction_cancelled": 2, "rent_follow_up": 6}),
		ClosedByOutcome:     counts(Outcomes, map[string]int64{"housing_continues": 11, "evicted": 2, "moved_suitable": 5}),
		HousingContinued:    Share{N: 11, Of: 13},
		EvictionsPrevented:  6,
		CrisisByStage:       counts(CrisisStages, map[string]int64{"crisis": 6, "interim": 4, "permanent": 1}),
		Channels:            wantAllChannels(),
	}
}

// TestStatsFigures: the fixture's exact figures for the first quarter,
// alike on SQLite and PostgreSQL, for an advisor (her region), an admin
// (a region, all regions); the period's ends, to the second and the day;
// who may see which region.
func TestStatsFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newStatsEnv(t, db)
		e.seedStats()
		as := func(u *authtest.User) context.Context { return authtest.WithActor(context.Background(), u) }
		for _, tc := range []struct {
			name  string
			who   *authtest.User
			asked int64
			want  *Stats
		}{
			{"Minna, her region", e.minna, 0, wantEast(e.quarter(statsEast))},
			{"Minna, her region by id", e.minna, statsEast, wantEast(e.quarter(statsEast))},
			{"Ville, his region", e.ville, 0, wantWest(e.quarter(statsWest))},
			{"Pirjo, east", e.pirjo, statsEast, wantEast(e.quarter(statsEast))},
			{"Pirjo, all regions", e.pirjo, 0, wantAll(e.quarter(0))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := e.svc.Stats(as(tc.who), e.quarter(tc.asked))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("figures\n got %+v\nwant %+v", *got, *tc.want)
				}
			})
		}

		t.Run("the period's ends", func(t *testing.T) {
			q := e.quarter(statsEast)
			for _, tc := range []struct {
				name               string
				from, to           time.Time
				rentDebt, evicted  int64
				plans, cancelled   int64
				prevented, housing int64
			}{
				{"the quarter", q.From, q.To, 12, 2, 7, 2, 5, 7},
				// P2 opens and r9 closes at To: in a period a second longer.
				{"a second longer", q.From, q.To.Add(time.Second), 13, 3, 7, 2, 5, 7},
				// P1 opens a second before From; interventions count by
				// From's day, now 31 December: P1's plan is in.
				{"a second earlier", q.From.Add(-time.Second), q.To, 13, 2, 8, 2, 5, 7},
				// r11 opens and r7 closes at To's last second; interventions
				// count up to To's day, now 31 March: r1's is out.
				{"a second shorter", q.From, q.To.Add(-time.Second), 11, 1, 7, 1, 5, 7},
				// A day longer: 1 April's plan and cancelled eviction (r8, r6).
				{"a day longer", q.From, q.To.AddDate(0, 0, 1), 13, 3, 8, 3, 6, 7},
			} {
				got, err := e.svc.Stats(as(e.minna), StatsQuery{From: tc.from, To: tc.to})
				if err != nil {
					t.Fatal(err)
				}
				g := []int64{got.NewByReason[0].N, got.ClosedByOutcome[3].N, got.Interventions[0].N, got.Interventions[5].N, got.EvictionsPrevented, got.ClosedByOutcome[0].N}
				if w := []int64{tc.rentDebt, tc.evicted, tc.plans, tc.cancelled, tc.prevented, tc.housing}; !reflect.DeepEqual(g, w) {
					t.Errorf("%s: rent debt, evicted, plans, cancelled, prevented, housing continued = %v, want %v", tc.name, g, w)
				}
			}
			if _, err := e.svc.Stats(as(e.pirjo), StatsQuery{From: q.To, To: q.From}); !problem.Is(err, problem.Invalid) {
				t.Errorf("a period ending before it starts: %v", err)
			}
		})

		// A stage is in the period when it started by the period's last
		// day and had not ended before its first.
		t.Run("crisis stages at the period's ends", func(t *testing.T) {
			q := e.quarter(statsEast)
			for _, tc := range []struct {
				name                       string
				from, to                   time.Time
				crisis, interim, permanent int64
			}{
				{"the quarter", q.From, q.To, 5, 4, 1},
				// From's day is 31 December: Eeva's crisis accommodation
				// ended that day.
				{"a second earlier", q.From.Add(-time.Second), q.To, 6, 4, 1},
				// To's day is 31 March: Raili's crisis accommodation and
				// Jussi's permanent flat start on it, out.
				{"a second shorter", q.From, q.To.Add(-time.Second), 4, 4, 0},
				// Leena's crisis accommodation starts on 1 April.
				{"a day longer", q.From, q.To.AddDate(0, 0, 1), 6, 4, 1},
				// Matti's interim flat ended on 1 January.
				{"a day later", q.From.AddDate(0, 0, 1), q.To, 5, 3, 1},
			} {
				got, err := e.svc.Stats(as(e.minna), StatsQuery{From: tc.from, To: tc.to})
				if err != nil {
					t.Fatal(err)
				}
				if want := counts(CrisisStages, map[string]int64{"crisis": tc.crisis, "interim": tc.interim, "permanent": tc.permanent}); !reflect.DeepEqual(got.CrisisByStage, want) {
					t.Errorf("%s: %v, want %v", tc.name, got.CrisisByStage, want)
				}
			}
		})

		t.Run("rights", func(t *testing.T) {
			for _, tc := range []struct {
				who    *authtest.User
				region int64
			}{{e.minna, statsWest}, {e.ville, statsEast}, {e.olli, 0}, {e.olli, statsEast}, {e.aino, 0}} {
				if st, err := e.svc.Stats(as(tc.who), e.quarter(tc.region)); !problem.Is(err, problem.Forbidden) {
					t.Errorf("%s asks for region %d: %v, %v; want forbidden", tc.who.Name, tc.region, st, err)
				}
			}
			if _, err := e.svc.Stats(context.Background(), e.quarter(0)); !problem.Is(err, problem.Forbidden) {
				t.Errorf("nobody asks: %v", err)
			}
		})
	})
}

// TestStatsPageAndCSV: the page and the CSV show the figures with groups
// of 1–4 as "< 5", each table with its chart; an advisor cannot ask for
// another region, a resident not at all; wrong dates go back to the form.
func TestStatsPageAndCSV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newStatsEnv(t, db)
		e.seedStats()
		const quarter = "/desk/stats?from=2026-01-01&to=2026-03-31&lang=en"

		st, body := authtest.Do(t, e.app, "GET", quarter, e.minna, nil)
		if st != http.StatusOK {
			t.Fatalf("Minna's page: %d", st)
		}
		row := func(label, value string) *regexp.Regexp {
			return regexp.MustCompile(`<th scope="row">` + regexp.QuoteMeta(label) + `</th>\s*<td class="stats-number">` + regexp.QuoteMeta(value) + `</td>`)
		}
		for _, want := range []*regexp.Regexp{
			row("Rent debt", "12"), row("Poor upkeep of the home", "&lt; 5"), row("Disturbances", "5"), row("Housing exchange", "0"),
			row("Not known", "&lt; 5"), row("Family with children", "6"), row("Payment plan made", "7"), row("Rent debt kept out of court", "&lt; 5"),
			row("Housing continues", "7"), row("Evicted", "&lt; 5"), row("Rent-debt cases closed", "9"), row("Share where housing continued", "78%"),
			row("Evictions prevented (eviction cancelled or rent debt kept out of court)", "5"),
			row("Crisis accommodation", "5"), row("Interim rental flat", "&lt; 5"), row("Permanent rental flat", "&lt; 5"),
			regexp.MustCompile(`Figures 1 Jan 2026–31 Mar 2026: East`),
		} {
			if !want.MatchString(body) {
				t.Errorf("Minna's page lacks %s", want)
			}
		}
		if n := strings.Count(body, `<svg class="stats-chart" role="img"`); n != 9 {
			t.Errorf("%d charts, want one per table but the two of key figures (9)", n)
		}
		if n := strings.Count(body, `<table class="hds-table`); n != 11 {
			t.Errorf("%d tables, want 11", n)
		}
		if strings.Contains(body, `id="region"`) {
			t.Error("an advisor is offered a choice of region")
		}
		csvLink := `href="/desk/stats.csv?from=2026-01-01&amp;to=2026-03-31"`
		if !strings.Contains(body, csvLink) {
			t.Errorf("no CSV link %s", csvLink)
		}

		resp := e.get("/desk/stats.csv?from=2026-01-01&to=2026-03-31&lang=en", e.minna)
		if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			resp.header.Get("Content-Disposition") != `attachment; filename="stats-2026-01-01-2026-03-31.csv"` {
			t.Fatalf("CSV: %d %v", resp.status, resp.header)
		}
		if !strings.HasPrefix(resp.body, "\uFEFFStatistics\r\nFrom;2026-01-01\r\nTo (inclusive);2026-03-31\r\nRegion;East\r\n\r\nKey figures\r\nFigure;Value\r\n") {
			t.Errorf("CSV head %.200q", resp.body)
		}
		for _, want := range []string{
			"\r\nRent-debt cases closed;9\r\n", "\r\n– of which housing continued;7\r\n", "\r\nShare where housing continued;78%\r\n",
			"\r\n\r\nNew cases by reason\r\nReason;Cases\r\nRent debt;12\r\nPoor upkeep of the home;< 5\r\nDisturbances;5\r\nHousing exchange;0\r\n",
			"\r\nNot known;< 5\r\n", "\r\nIntervention;Interventions\r\nPayment plan made;7\r\nRent debt kept out of court;< 5\r\n",
			"\r\nClosed cases by outcome\r\nOutcome;Cases\r\nHousing continues;7\r\n",
			"\r\n\r\nPeople in each crisis-accommodation stage\r\nStage;People\r\nCrisis accommodation;5\r\nInterim rental flat;< 5\r\nPermanent rental flat;< 5\r\n",
		} {
			if !strings.Contains(resp.body, want) {
				t.Errorf("the CSV lacks %q", want)
			}
		}

		// Pirjo chooses: every region, or one; her share is published
		// for 13 cases, west's alone (4) is not.
		st, body = authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31&lang=en", e.pirjo, nil)
		if st != http.StatusOK || !row("Share where housing continued", "85%").MatchString(body) || !strings.Contains(body, `<select id="region"`) ||
			!strings.Contains(body, ": All regions") {
			t.Errorf("Pirjo's page of all regions: %d", st)
		}
		st, body = authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31&region=2&lang=en", e.pirjo, nil)
		if st != http.StatusOK || !row("Share where housing continued", "&lt; 5").MatchString(body) || !row("Rent-debt cases closed", "&lt; 5").MatchString(body) ||
			!strings.Contains(body, `<option value="2" selected>West</option>`) || !strings.Contains(body, "region=2") {
			t.Errorf("Pirjo's page of west: %d", st)
		}

		// Defaults: this year so far.
		_, body = authtest.Do(t, e.app, "GET", "/desk/stats", e.minna, nil)
		if !strings.Contains(body, `value="2026-01-01"`) || !strings.Contains(body, `value="2026-05-04"`) {
			t.Error("the default period is not this year so far")
		}

		for _, tc := range []struct {
			path string
			who  *authtest.User
			want int
		}{
			{"/desk/stats?region=2", e.minna, http.StatusForbidden},
			{"/desk/stats.csv?region=2", e.minna, http.StatusForbidden},
			{"/desk/stats", e.olli, http.StatusForbidden},
			{"/desk/stats", e.aino, http.StatusForbidden},
			{"/desk/stats.csv", e.aino, http.StatusForbidden},
			{"/desk/stats?from=2026-03-01&to=2026-02-01", e.minna, http.StatusUnprocessableEntity},
			{"/desk/stats?from=1.1.2026", e.minna, http.StatusUnprocessableEntity},
			{"/desk/stats?region=x", e.pirjo, http.StatusUnprocessableEntity},
			{"/desk/stats.csv?to=2025-01-01", e.pirjo, http.StatusUnprocessableEntity},
		} {
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			st, body := authtest.Do(t, e.app, "GET", tc.path+sep+"lang=en", tc.who, nil)
			if st != tc.want {
				t.Errorf("%s for %s: %d, want %d", tc.path, tc.who.Name, st, tc.want)
			}
			if strings.Contains(body, "Rent debt kept out of court") {
				t.Errorf("%s for %s shows figures", tc.path, tc.who.Name)
			}
		}
		_, body = authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-03-01&to=2026-02-01&lang=en", e.minna, nil)
		if !strings.Contains(body, "The end date cannot be before the start date.") {
			t.Error("a period ending before it starts is not explained at the field")
		}
	})
}

type statsResponse struct {
	status int
	header http.Header
	body   string
}

func (e *statsEnv) get(path string, u *authtest.User) statsResponse {
	e.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Cookie", u.Cookie)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return statsResponse{resp.StatusCode, resp.Header, string(b)}
}

// TestShownCount: the one rule of small groups.
func TestShownCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1: "< 5", 3: "< 5", 4: "< 5", 5: "5", 12: "12", 3000: "3000"} {
		if got := ShownCount(n); got != want {
			t.Errorf("ShownCount(%d) = %q, want %q", n, got, want)
		}
	}
	for _, tc := range []struct {
		s    Share
		pct  int64
		show bool
	}{{Share{0, 0}, 0, false}, {Share{4, 4}, 0, false}, {Share{0, 5}, 0, true}, {Share{7, 9}, 78, true}, {Share{11, 13}, 85, true}, {Share{1, 8}, 13, true}, {Share{5, 5}, 100, true}} {
		if pct, ok := tc.s.Percent(); pct != tc.pct || ok != tc.show {
			t.Errorf("%+v.Percent() = %d, %v; want %d, %v", tc.s, pct, ok, tc.pct, tc.show)
		}
	}
}

// TestStatsBarChart: the chart is well-formed SVG named by its title, a
// bar per publishable count, "< 5" and no bar for a small group, and
// every text escaped.
func TestStatsBarChart(t *testing.T) {
	svg := string(barChart(`Chart: "<b>" & co`, []Bar{{"<b>Rent & debt</b>", 12}, {"Small", 3}, {"None", 0}, {"Half", 6}}))
	for _, bad := range []string{"<b>", `"<b>"`, "& "} {
		if strings.Contains(svg, bad) {
			t.Errorf("the SVG has %q unescaped: %s", bad, svg)
		}
	}
	for _, want := range []string{`role="img"`, `&lt;b&gt;Rent &amp; debt&lt;/b&gt;`, `&#34;&lt;b&gt;&#34; &amp; co</title>`, `>&lt; 5</text>`, `>0</text>`, `>12</text>`, `viewBox="0 0 640 `} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q: %s", want, svg)
		}
	}
	if n := strings.Count(svg, "<rect"); n != 2 {
		t.Errorf("%d bars, want 2 (12 and 6; none for 3 or 0)", n)
	}
	if !strings.Contains(svg, `width="560"`) || !strings.Contains(svg, `width="280"`) {
		t.Errorf("bars not to scale: %s", svg)
	}
	id := regexp.MustCompile(`aria-labelledby="([^"]+)"`).FindStringSubmatch(svg)
	if id == nil || !strings.Contains(svg, `<title id="`+id[1]+`">`) {
		t.Errorf("the SVG is not labelled by its title: %s", svg)
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
	}
	if other := barChart("Another", nil); strings.Contains(string(other), id[1]) {
		t.Error("two charts share an id")
	}
}
