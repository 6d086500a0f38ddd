package booking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/demo"
)

// fixture is a migrated database with the demo data: four regions, their
// service points and advisors, and residents.
type fixture struct {
	db        *database.DB
	store     *Store
	regions   map[string]int64   // code → id
	points    map[string][]int64 // region code → service point ids
	advisors  map[string][]int64 // region code → advisor ids
	residents []int64
}

func newFixture(t testing.TB, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := demo.Seed(ctx, db.Gorm, "http://idp.test"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, store: NewStore(db), regions: map[string]int64{}, points: map[string][]int64{}, advisors: map[string][]int64{}}
	var rs []struct {
		ID   int64
		Code string
	}
	if err := db.Gorm.Raw("SELECT id, code FROM regions").Scan(&rs).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		f.regions[r.Code] = r.ID
		var ps, as []int64
		if err := db.Gorm.Raw("SELECT id FROM service_points WHERE region_id = ? ORDER BY id", r.ID).Scan(&ps).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Raw("SELECT id FROM users WHERE role = 'advisor' AND region_id = ? ORDER BY id", r.ID).Scan(&as).Error; err != nil {
			t.Fatal(err)
		}
		f.points[r.Code], f.advisors[r.Code] = ps, as
	}
	if err := db.Gorm.Raw("SELECT id FROM users WHERE role = 'resident' ORDER BY id").Scan(&f.residents).Error; err != nil {
		t.Fatal(err)
	}
	return f
}

// addResidents creates n more residents and returns their ids.
func (f *fixture) addResidents(t testing.TB, n int) []int64 {
	t.Helper()
	var ids []int64
	now := time.Now().UTC()
	for i := range n {
		u := auth.User{Issuer: "http://idp.test", Subject: fmt.Sprintf("extra-%d-%d", now.UnixNano(), i), Role: auth.RoleResident,
			Name: fmt.Sprintf("Resident %d", i), Email: fmt.Sprintf("r%d@example.test", i), PreferredLang: "fi", CreatedAt: now, UpdatedAt: now}
		if err := f.db.Gorm.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// weekdays gives an advisor 9–16 windows Monday to Friday, 60-minute
// slots, every meeting type, at the region's first service point.
func (f *fixture) weekdays(t testing.TB, region string, advisorID int64) {
	t.Helper()
	p := f.points[region][0]
	for wd := 1; wd <= 5; wd++ {
		w := &Window{AdvisorID: advisorID, Weekday: wd, StartMinute: 9 * 60, EndMinute: 16 * 60, SlotMinutes: 60,
			MeetingTypes: JoinTypes(MeetingTypes), ServicePointID: &p, CreatedAt: time.Now().UTC()}
		if err := f.store.AddWindow(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) booking(region string, advisorID, residentID int64, start time.Time) *Booking {
	p := f.points[region][0]
	return &Booking{
		AdvisorID: advisorID, ResidentID: residentID, RegionID: f.regions[region], ServicePointID: &p,
		StartsAt: start, EndsAt: start.Add(time.Hour), MeetingType: Office, Topic: TopicRentDebt,
		Lang: "fi", Status: StatusBooked, BookedBy: residentID,
	}
}

func liveBookings(t testing.TB, db *database.DB, advisorID int64, start time.Time) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Model(&Booking{}).Where("advisor_id = ? AND starts_at = ? AND status <> 'cancelled'", advisorID, start.UTC()).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOneSlotOneBookingConcurrently races 50 bookings of the same slot at
// the store: exactly one wins, every other is told the slot was taken.
func TestOneSlotOneBookingConcurrently(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		residents := f.addResidents(t, 50)
		advisor := f.advisors["east"][0]
		start := time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)
		now := start.Add(-72 * time.Hour)
		var wg sync.WaitGroup
		errs := make([]error, len(residents))
		gate := make(chan struct{})
		for i, r := range residents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				errs[i] = f.store.Create(context.Background(), f.booking("east", advisor, r, start), now, 3, nil)
			}()
		}
		close(gate)
		wg.Wait()
		ok, taken := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrSlotTaken):
				taken++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || taken != len(residents)-1 {
			t.Fatalf("%d succeeded and %d were told the slot was taken; want 1 and %d", ok, taken, len(residents)-1)
		}
		if n := liveBookings(t, db, advisor, start); n != 1 {
			t.Fatalf("%d live bookings in the slot, want 1", n)
		}
	})
}

// TestUniqueIndexRefusesSecondBooking checks that the rule lives in the
// database: a plain INSERT of a second live booking fails, a cancelled one
// frees the slot.
func TestUniqueIndexRefusesSecondBooking(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		advisor := f.advisors["west"][0]
		start := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
		first := f.booking("west", advisor, f.residents[0], start)
		if err := f.store.Create(context.Background(), first, start.Add(-48*time.Hour), 0, nil); err != nil {
			t.Fatal(err)
		}
		second := f.booking("west", advisor, f.residents[1], start)
		second.CreatedAt, second.UpdatedAt = time.Now().UTC(), time.Now().UTC()
		if err := db.Gorm.Create(second).Error; err == nil || !f.store.isUniqueViolation(err) {
			t.Fatalf("second live booking inserted directly: err = %v, want a unique violation", err)
		}
		if err := f.store.Cancel(context.Background(), first, first.ResidentID, "", time.Now(), nil); err != nil {
			t.Fatal(err)
		}
		third := f.booking("west", advisor, f.residents[1], start)
		if err := f.store.Create(context.Background(), third, start.Add(-48*time.Hour), 0, nil); err != nil {
			t.Fatalf("booking a slot freed by a cancellation: %v", err)
		}
	})
}

// TestOverlapWithDifferentStart covers bookings of different lengths that
// overlap without sharing a start: the second is refused too.
func TestOverlapWithDifferentStart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		advisor := f.advisors["south"][0]
		start := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
		now := start.Add(-48 * time.Hour)
		if err := f.store.Create(context.Background(), f.booking("south", advisor, f.residents[0], start), now, 0, nil); err != nil {
			t.Fatal(err)
		}
		b := f.booking("south", advisor, f.residents[1], start.Add(30*time.Minute))
		if err := f.store.Create(context.Background(), b, now, 0, nil); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("overlapping booking: err = %v, want ErrSlotTaken", err)
		}
	})
}

func TestMaxUpcomingPerResident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		advisor := f.advisors["north"][0]
		start := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
		now := start.Add(-48 * time.Hour)
		for i := range 3 {
			b := f.booking("north", advisor, f.residents[0], start.Add(time.Duration(i)*time.Hour))
			if err := f.store.Create(context.Background(), b, now, 3, nil); err != nil {
				t.Fatal(err)
			}
		}
		b := f.booking("north", advisor, f.residents[0], start.Add(5*time.Hour))
		if err := f.store.Create(context.Background(), b, now, 3, nil); !errors.Is(err, ErrTooMany) {
			t.Fatalf("fourth upcoming booking: err = %v, want ErrTooMany", err)
		}
	})
}

func TestCanAccess(t *testing.T) {
	east, west := int64(4), int64(1)
	b := &Booking{ResidentID: 10, RegionID: east}
	cases := []struct {
		name string
		u    *auth.User
		want bool
	}{
		{"the resident", &auth.User{ID: 10, Role: auth.RoleResident}, true},
		{"another resident", &auth.User{ID: 11, Role: auth.RoleResident}, false},
		{"a resident sharing the advisor's id space", &auth.User{ID: 10, Role: auth.RoleResident, RegionID: &east}, true},
		{"an advisor of the region", &auth.User{ID: 20, Role: auth.RoleAdvisor, RegionID: &east}, true},
		{"an advisor of another region", &auth.User{ID: 21, Role: auth.RoleAdvisor, RegionID: &west}, false},
		{"an advisor without a region", &auth.User{ID: 22, Role: auth.RoleAdvisor}, false},
		{"a supervisor", &auth.User{ID: 30, Role: auth.RoleAdmin, RegionID: &west}, true},
		{"nobody", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanAccess(tc.u, b); got != tc.want {
				t.Fatalf("CanAccess = %v, want %v", got, tc.want)
			}
		})
	}
}
