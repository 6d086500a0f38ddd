package booking

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestStatusCountsFirstBookedAndMet: the appointments of the first
// quarter of 2026 in Helsinki time (UTC+2: from 2025-12-31T22:00Z up to
// 2026-03-31T21:00Z) by status, alike on SQLite and PostgreSQL, with the
// period's first instant in and its end out and another region's left
// out; each resident's first booking, cancelled ones too; and the
// appointments that took place from a given time, in any region.
func TestStatusCountsFirstBookedAndMet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		codes := make([]string, 0, len(f.regions))
		for code := range f.regions {
			if len(f.advisors[code]) > 0 {
				codes = append(codes, code)
			}
		}
		slices.Sort(codes)
		if len(codes) < 2 {
			t.Fatalf("the demo has advisors in %v", codes)
		}
		a, b := codes[0], codes[1]
		r := f.addResidents(t, 5)
		ts := func(s string) time.Time {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		for i, bk := range []struct {
			region          string
			resident        int64
			starts, created string
			status          Status
		}{
			{a, r[0], "2025-12-31T22:00:00Z", "2025-12-01T10:00:00Z", StatusDone},   // the first instant: in
			{a, r[0], "2026-01-15T08:00:00Z", "2026-01-02T10:00:00Z", StatusDone},   //
			{a, r[1], "2026-01-16T08:00:00Z", "2026-01-03T10:00:00Z", StatusDone},   //
			{a, r[0], "2026-02-10T08:00:00Z", "2025-11-20T10:00:00Z", StatusNoShow}, // r0's first booking
			{a, r[1], "2026-02-11T08:00:00Z", "2025-10-05T09:30:00Z", StatusCancelled},
			{a, r[2], "2026-03-31T20:30:00Z", "2026-03-01T10:00:00Z", StatusNoShow}, // the last day, local
			{a, r[1], "2026-03-31T21:00:00Z", "2026-03-02T10:00:00Z", StatusDone},   // the end: out
			{a, r[0], "2025-12-31T21:30:00Z", "2025-12-02T10:00:00Z", StatusDone},   // before: out
			{a, r[2], "2026-03-20T08:00:00Z", "2026-03-03T10:00:00Z", StatusBooked}, // not marked
			{b, r[3], "2026-01-20T08:00:00Z", "2026-01-04T10:00:00Z", StatusDone},   // the other region
			{b, r[3], "2026-01-21T08:00:00Z", "2026-01-05T10:00:00Z", StatusNoShow},
		} {
			starts, created := ts(bk.starts), ts(bk.created)
			adv := f.advisors[bk.region][0]
			if err := db.Gorm.Exec(`INSERT INTO bookings (advisor_id, resident_id, region_id, starts_at, ends_at, meeting_type, topic, status, booked_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'phone', 'rent_debt', ?, ?, ?, ?)`,
				adv, bk.resident, f.regions[bk.region], starts, starts.Add(time.Hour), bk.status, bk.resident, created, created).Error; err != nil {
				t.Fatalf("booking %d: %v", i, err)
			}
		}

		loc, err := time.LoadLocation("Europe/Helsinki")
		if err != nil {
			t.Fatal(err)
		}
		from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 1, 0, 0, 0, 0, loc)
		for _, tc := range []struct {
			name     string
			from, to time.Time
			region   int64
			want     map[Status]int64
		}{
			{"region a", from, to, f.regions[a], map[Status]int64{StatusDone: 3, StatusNoShow: 2, StatusCancelled: 1, StatusBooked: 1}},
			{"region b", from, to, f.regions[b], map[Status]int64{StatusDone: 1, StatusNoShow: 1}},
			{"all regions", from, to, 0, map[Status]int64{StatusDone: 4, StatusNoShow: 3, StatusCancelled: 1, StatusBooked: 1}},
			{"a second wider", from.Add(-time.Second), to.Add(time.Second), f.regions[a], map[Status]int64{StatusDone: 4, StatusNoShow: 2, StatusCancelled: 1, StatusBooked: 1}},
			{"a second narrower", from.Add(time.Second), to.Add(-time.Second), f.regions[a], map[Status]int64{StatusDone: 2, StatusNoShow: 2, StatusCancelled: 1, StatusBooked: 1}},
			{"half an hour earlier", from.Add(-30 * time.Minute), to.Add(-30 * time.Minute), f.regions[a], map[Status]int64{StatusDone: 4, StatusNoShow: 1, StatusCancelled: 1, StatusBooked: 1}},
		} {
			got, err := f.store.StatusCounts(ctx, tc.from, tc.to, tc.region)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}

		firsts, err := f.store.FirstBooked(ctx, []int64{r[0], r[1], r[2], r[4]})
		if err != nil {
			t.Fatal(err)
		}
		wantFirst := map[int64]time.Time{r[0]: ts("2025-11-20T10:00:00Z"), r[1]: ts("2025-10-05T09:30:00Z"), r[2]: ts("2026-03-01T10:00:00Z")}
		if len(firsts) != len(wantFirst) {
			t.Errorf("first bookings %v, want %v", firsts, wantFirst)
		}
		for id, w := range wantFirst {
			if !firsts[id].Equal(w) {
				t.Errorf("first booking of %d: %v, want %v", id, firsts[id], w)
			}
		}

		met, err := f.store.Met(ctx, []int64{r[0], r[1], r[2], r[3], r[4]}, from)
		if err != nil {
			t.Fatal(err)
		}
		wantMet := map[int64][]time.Time{
			r[0]: {ts("2025-12-31T22:00:00Z"), ts("2026-01-15T08:00:00Z")}, // at since: in; 21:30 before it: out
			r[1]: {ts("2026-01-16T08:00:00Z"), ts("2026-03-31T21:00:00Z")}, // the cancelled one not
			r[3]: {ts("2026-01-20T08:00:00Z")},                             // in region b; the no-show not
		}
		if len(met) != len(wantMet) {
			t.Errorf("met %v, want %v", met, wantMet)
		}
		for id, w := range wantMet {
			if len(met[id]) != len(w) {
				t.Errorf("meetings of %d: %v, want %v", id, met[id], w)
				continue
			}
			for i := range w {
				if !met[id][i].Equal(w[i]) {
					t.Errorf("meetings of %d: %v, want %v", id, met[id], w)
				}
			}
		}
		if met, err := f.store.Met(ctx, []int64{r[0]}, ts("2026-01-15T08:00:01Z")); err != nil || len(met) != 0 {
			t.Errorf("r0's meetings after the last: %v, %v", met, err)
		}
	})
}
