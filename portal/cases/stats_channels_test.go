package cases

import (
	"context"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// fakeChannels is the other channels of the statistics fixture: chats
// and appointments by region (0, every region, sums them), each person's
// first contact and meetings, and the regions it was asked about.
type fakeChannels struct {
	mu           sync.Mutex
	asked        []int64
	chats        map[int64]ChatWaits
	appointments map[int64]map[string]int64
	contacts     map[int64]time.Time
	meetings     map[int64][]time.Time
}

func newFakeChannels() *fakeChannels {
	return &fakeChannels{chats: map[int64]ChatWaits{}, appointments: map[int64]map[string]int64{},
		contacts: map[int64]time.Time{}, meetings: map[int64][]time.Time{}}
}

func (f *fakeChannels) regions(region int64) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, region)
	if region != 0 {
		return []int64{region}
	}
	return []int64{statsEast, statsWest}
}

func (f *fakeChannels) Chats(_ context.Context, q StatsQuery) (ChatWaits, error) {
	var out ChatWaits
	for _, r := range f.regions(q.RegionID) {
		out.Started += f.chats[r].Started
		out.Seconds = append(out.Seconds, f.chats[r].Seconds...) // unsorted: cases sorts
	}
	return out, nil
}

func (f *fakeChannels) Appointments(_ context.Context, q StatsQuery) ([]Count, error) {
	sum := map[string]int64{}
	for _, r := range f.regions(q.RegionID) {
		for code, n := range f.appointments[r] {
			sum[code] += n
		}
	}
	var out []Count
	for code, n := range sum {
		out = append(out, Count{code, n})
	}
	return out, nil
}

func (f *fakeChannels) FirstContacts(_ context.Context, ids []int64) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	for _, id := range ids {
		if t, ok := f.contacts[id]; ok {
			out[id] = t
		}
	}
	return out, nil
}

func (f *fakeChannels) Meetings(_ context.Context, ids []int64, since time.Time) (map[int64][]time.Time, error) {
	out := map[int64][]time.Time{}
	for _, id := range ids {
		for _, t := range f.meetings[id] {
			if !t.Before(since) {
				out[id] = append(out[id], t)
			}
		}
	}
	return out, nil
}

// seedChannels gives the fixture's people their first contacts and
// meetings (UTC; Helsinki is UTC+2, from 29 March UTC+3). Of east's 21
// cases of the quarter, 8 have met: Niina the day her case opened (0
// days), Raili on 1 April at 00:30 local, just after her case opened at
// 23:59:59 on 31 March (1 day; her meeting an hour before it does not
// count), Jussi in 7 days, Eeva in 7 local days from her case opened at
// local midnight on 1 January (8 UTC days: 31 December to 8 January),
// Kaisa's first case in 8 and her second, with no contact before it, in
// 16 at her next meeting, Oskari in 41 from his booking in January,
// Matti in 111 from his chat in October. Leena's only meeting was before
// her case and Aino (12 cases) has none: 13 not met. The median is
// (7+8)/2 = 7.5. West: Pekka in 5 days, 6 cases of Aino's not met.
func (e *statsEnv) seedChannels(people map[string]int64) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			e.t.Fatal(err)
		}
		return v
	}
	f := e.channels
	for name, c := range map[string]string{
		"Matti": "2025-10-01T10:00:00Z", "Oskari": "2026-01-20T10:00:00Z", "Pekka": "2026-01-10T08:00:00Z",
	} {
		f.contacts[people[name]] = at(c)
	}
	for name, ms := range map[string][]string{
		"Eeva":   {"2026-01-08T08:00:00Z"},
		"Jussi":  {"2026-01-12T08:00:00Z"},
		"Kaisa":  {"2026-01-14T08:00:00Z", "2026-02-20T08:00:00Z"},
		"Leena":  {"2026-01-07T07:00:00Z"},
		"Matti":  {"2026-01-20T08:00:00Z"},
		"Niina":  {"2026-01-09T12:00:00Z"},
		"Oskari": {"2026-03-02T08:00:00Z"},
		"Raili":  {"2026-03-31T20:00:00Z", "2026-03-31T21:30:00Z"},
		"Pekka":  {"2026-01-15T10:00:00Z"},
	} {
		for _, m := range ms {
			f.meetings[people[name]] = append(f.meetings[people[name]], at(m))
		}
	}
	f.chats[statsEast] = ChatWaits{Started: 12, Seconds: []int64{4000, 20, 45, 59, 60, 200, 299, 300, 899, 900}}
	f.chats[statsWest] = ChatWaits{Started: 3, Seconds: []int64{200, 100}}
	f.appointments[statsEast] = map[string]int64{"done": 9, "no_show": 3, "cancelled": 4, "booked": 1}
	f.appointments[statsWest] = map[string]int64{"done": 2, "no_show": 1}
}

// The expected figures of the other channels in the first quarter.
func wantEastChannels() *ChannelFigures {
	return &ChannelFigures{
		FirstMeeting: []Count{{"days_0_7", 4}, {"days_8_30", 2}, {"days_31_90", 1}, {"days_over_90", 1}, {NoMeeting, 13}},
		MedianDays:   Median{Value: 7.5, Of: 8},
		ChatsByWait:  []Count{{"wait_under_1", 3}, {"wait_1_5", 3}, {"wait_5_15", 2}, {"wait_over_15", 2}, {Unanswered, 2}},
		MedianWait:   Median{Value: 249.5, Of: 10},
		Appointments: []Count{{"done", 9}, {"no_show", 3}, {"cancelled", 4}, {"booked", 1}},
		NoShows:      Share{N: 3, Of: 12},
	}
}

func wantWestChannels() *ChannelFigures {
	return &ChannelFigures{
		FirstMeeting: []Count{{"days_0_7", 1}, {"days_8_30", 0}, {"days_31_90", 0}, {"days_over_90", 0}, {NoMeeting, 6}},
		MedianDays:   Median{Value: 5, Of: 1},
		ChatsByWait:  []Count{{"wait_under_1", 0}, {"wait_1_5", 2}, {"wait_5_15", 0}, {"wait_over_15", 0}, {Unanswered, 1}},
		MedianWait:   Median{Value: 150, Of: 2},
		Appointments: []Count{{"done", 2}, {"no_show", 1}, {"cancelled", 0}, {"booked", 0}},
		NoShows:      Share{N: 1, Of: 3},
	}
}

func wantAllChannels() *ChannelFigures {
	return &ChannelFigures{
		FirstMeeting: []Count{{"days_0_7", 5}, {"days_8_30", 2}, {"days_31_90", 1}, {"days_over_90", 1}, {NoMeeting, 19}},
		MedianDays:   Median{Value: 7, Of: 9},
		ChatsByWait:  []Count{{"wait_under_1", 3}, {"wait_1_5", 5}, {"wait_5_15", 2}, {"wait_over_15", 2}, {Unanswered, 3}},
		MedianWait:   Median{Value: 200, Of: 12},
		Appointments: []Count{{"done", 11}, {"no_show", 4}, {"cancelled", 4}, {"booked", 1}},
		NoShows:      Share{N: 4, Of: 15},
	}
}

// TestStatsChannels: the other channels are asked about the region the
// page counts (an advisor's own for 0); the first meetings move with the
// period's ends; the page and the CSV show the figures with "< 5" for
// small groups and their charts; without ChannelStats the same tables say
// the figures are not available.
func TestStatsChannels(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newStatsEnv(t, db)
		e.seedStats()
		as := func(u *authtest.User) context.Context { return authtest.WithActor(context.Background(), u) }

		e.channels.asked = nil
		for _, tc := range []struct {
			who   *authtest.User
			asked int64
			want  int64
		}{{e.minna, 0, statsEast}, {e.ville, 0, statsWest}, {e.pirjo, 0, 0}, {e.pirjo, statsWest, statsWest}} {
			if _, err := e.svc.Stats(as(tc.who), e.quarter(tc.asked)); err != nil {
				t.Fatal(err)
			}
			if got := e.channels.asked[len(e.channels.asked)-2:]; !reflect.DeepEqual(got, []int64{tc.want, tc.want}) {
				t.Errorf("%s asking for %d: the channels were asked for %v, want %d", tc.who.Name, tc.asked, got, tc.want)
			}
		}
		n := len(e.channels.asked)
		if _, err := e.svc.Stats(as(e.minna), e.quarter(statsWest)); err == nil || len(e.channels.asked) != n {
			t.Errorf("Minna asking for west: %v; the channels asked %v", err, e.channels.asked[n:])
		}

		t.Run("first meetings at the period's ends", func(t *testing.T) {
			q := e.quarter(statsEast)
			for _, tc := range []struct {
				name   string
				from   time.Time
				to     time.Time
				want   []int64 // by dayRanges, then not met
				median Median
			}{
				{"the quarter", q.From, q.To, []int64{4, 2, 1, 1, 13}, Median{7.5, 8}},
				// Raili's case opens at the last second: out.
				{"a second shorter", q.From, q.To.Add(-time.Second), []int64{3, 2, 1, 1, 13}, Median{8, 7}},
				// Eeva's case opens at the first instant: out.
				{"a second later", q.From.Add(time.Second), q.To, []int64{3, 2, 1, 1, 13}, Median{8, 7}},
				// P1 and P2, Aino's, not met.
				{"a second wider", q.From.Add(-time.Second), q.To.Add(time.Second), []int64{4, 2, 1, 1, 15}, Median{7.5, 8}},
			} {
				st, err := e.svc.Stats(as(e.minna), StatsQuery{From: tc.from, To: tc.to})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, c := range st.Channels.FirstMeeting {
					got = append(got, c.N)
				}
				if !reflect.DeepEqual(got, tc.want) || st.Channels.MedianDays != tc.median {
					t.Errorf("%s: %v median %+v, want %v median %+v", tc.name, got, st.Channels.MedianDays, tc.want, tc.median)
				}
			}
		})

		t.Run("page and CSV", func(t *testing.T) {
			row := func(label, value string) *regexp.Regexp {
				return regexp.MustCompile(`<th scope="row">` + regexp.QuoteMeta(label) + `</th>\s*<td class="stats-number">` + regexp.QuoteMeta(value) + `</td>`)
			}
			st, body := authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31&lang=en", e.minna, nil)
			if st != http.StatusOK {
				t.Fatalf("Minna's page: %d", st)
			}
			for _, want := range []*regexp.Regexp{
				row("Days from first contact to first meeting (median, new cases in the period)", "7.5"),
				row("Chats started", "12"), row("– of which no advisor answered", "&lt; 5"),
				row("Wait for an advisor to answer a chat (median)", "4 min 10 s"),
				row("Appointments that took place or that the resident missed", "12"), row("– of which the resident did not come", "&lt; 5"),
				row("No-show rate", "25%"),
				row("0–7 days", "&lt; 5"), row("Over 90 days", "&lt; 5"), row("No meeting yet", "13"),
				row("Under a minute", "&lt; 5"), row("Not answered", "&lt; 5"),
				row("Took place", "9"), row("Resident did not come", "&lt; 5"), row("Cancelled", "&lt; 5"), row("Booked, outcome not recorded", "&lt; 5"),
				regexp.MustCompile(`<title id="chart-[0-9a-f]+">Chart: New cases by the time from first contact to first meeting</title>`),
				regexp.MustCompile(`<title id="chart-[0-9a-f]+">Chart: Chats by wait</title>`),
				regexp.MustCompile(`<title id="chart-[0-9a-f]+">Chart: Appointments in the period by status</title>`),
			} {
				if !want.MatchString(body) {
					t.Errorf("Minna's page lacks %s", want)
				}
			}
			_, body = authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31", e.minna, nil)
			if !row("Päiviä ensimmäisestä yhteydenotosta ensimmäiseen tapaamiseen (mediaani, jakson uudet asiakkuudet)", "7,5").MatchString(body) ||
				!row("Poisjääntien osuus", "25 %").MatchString(body) {
				t.Error("the Finnish page lacks the median days 7,5 or the no-show rate 25 %")
			}
			// West alone: the medians and the rate of groups under 5 are not
			// published; all regions: they are.
			_, body = authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31&region=2&lang=en", e.pirjo, nil)
			if !row("Days from first contact to first meeting (median, new cases in the period)", "&lt; 5").MatchString(body) ||
				!row("Wait for an advisor to answer a chat (median)", "&lt; 5").MatchString(body) || !row("No-show rate", "&lt; 5").MatchString(body) {
				t.Error("west's small medians or rate are published")
			}
			_, body = authtest.Do(t, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31&lang=en", e.pirjo, nil)
			if !row("Days from first contact to first meeting (median, new cases in the period)", "7").MatchString(body) ||
				!row("Wait for an advisor to answer a chat (median)", "3 min 20 s").MatchString(body) || !row("No-show rate", "27%").MatchString(body) {
				t.Error("all regions' medians or rate")
			}

			resp := e.get("/desk/stats.csv?from=2026-01-01&to=2026-03-31&lang=en", e.minna)
			for _, want := range []string{
				"\r\n\r\nContacts, chat and appointments\r\nFigure;Value\r\nDays from first contact to first meeting (median, new cases in the period);7.5\r\nChats started;12\r\n",
				"\r\nWait for an advisor to answer a chat (median);4 min 10 s\r\n", "\r\nNo-show rate;25%\r\n",
				"\r\n\r\nNew cases by the time from first contact to first meeting\r\nTime to first meeting;Cases\r\n0–7 days;< 5\r\n8–30 days;< 5\r\n31–90 days;< 5\r\nOver 90 days;< 5\r\nNo meeting yet;13\r\n",
				"\r\n\r\nChats by wait\r\nWait;Chats\r\nUnder a minute;< 5\r\n",
				"\r\n\r\nAppointments in the period by status\r\nStatus;Appointments\r\nTook place;9\r\nResident did not come;< 5\r\nCancelled;< 5\r\nBooked, outcome not recorded;< 5\r\n",
			} {
				if !strings.Contains(resp.body, want) {
					t.Errorf("the CSV lacks %q", want)
				}
			}
		})

		t.Run("without ChannelStats", func(t *testing.T) {
			svc := New(Options{DB: db, Users: e.svc.users, Regions: regions.NewStore(db.Gorm), Frontend: e.fe, Audit: audit.New(db.Gorm, e.svc.now), Location: e.loc, Now: e.svc.now})
			st, err := svc.Stats(as(e.minna), e.quarter(0))
			if err != nil || st.Channels != nil {
				t.Fatalf("%+v, %v", st, err)
			}
			key, tables := svc.statsTables(st, "en")
			if len(tables) != 10 || key.ID != "key" {
				t.Fatalf("%d tables", len(tables))
			}
			for _, tb := range tables[6:] {
				if tb.Chart != "" || len(tb.Rows) == 0 {
					t.Errorf("%s: a chart, or no rows", tb.ID)
				}
				for _, r := range tb.Rows {
					if r.Value != "Not available" {
						t.Errorf("%s: %s = %q", tb.ID, r.Label, r.Value)
					}
				}
			}
		})
	})
}

// TestMedianAndRanges: the median of none, an odd and an even number of
// values; the ranges' limits; how a median is written.
func TestMedianAndRanges(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want Median
	}{{nil, Median{}}, {[]int64{7}, Median{7, 1}}, {[]int64{1, 2, 10}, Median{2, 3}}, {[]int64{1, 2, 3, 10}, Median{2.5, 4}}, {[]int64{0, 0, 0, 1, 1, 1}, Median{0.5, 6}}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if (Median{3, 4}).Published() || !(Median{3, 5}).Published() {
		t.Error("a median is published from 5 values")
	}
	days := []int64{0, 7, 8, 30, 31, 90, 91, math.MaxInt32}
	if got, want := inRanges(dayRanges, days, NoMeeting, 3), []Count{{"days_0_7", 2}, {"days_8_30", 2}, {"days_31_90", 2}, {"days_over_90", 2}, {NoMeeting, 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("days %v", got)
	}
	waits := []int64{0, 59, 60, 299, 300, 899, 900, 86400}
	if got, want := inRanges(waitRanges, waits, Unanswered, 0), []Count{{"wait_under_1", 2}, {"wait_1_5", 2}, {"wait_5_15", 2}, {"wait_over_15", 2}, {Unanswered, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("waits %v", got)
	}
	for _, tc := range []struct {
		lang string
		v    float64
		want string
	}{{"fi", 10.5, "10,5"}, {"sv", 3, "3"}, {"en", 10.5, "10.5"}, {"fi", 0.5, "0,5"}} {
		if got := decimal(tc.lang, tc.v); got != tc.want {
			t.Errorf("decimal(%s, %v) = %q, want %q", tc.lang, tc.v, got, tc.want)
		}
	}
	if !slices.Equal(rangeCodes(dayRanges), []string{"days_0_7", "days_8_30", "days_31_90", "days_over_90"}) {
		t.Error(rangeCodes(dayRanges))
	}
}
