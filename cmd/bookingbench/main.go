// Command bookingbench measures the booking's two hot paths on a database
// holding a year of bookings for the demo service's 15 advisors:
//
//   - list: the free slots of a region for the next 4 weeks, for a
//     meeting type (the booking page's search);
//   - book: a week's free slots listed (untimed), one picked, then the
//     slot validated and booked, with the confirmation mail rendered and
//     queued, in one transaction (timed).
//
// It prints operations per second and latency percentiles per scenario.
//
//	go run ./cmd/bookingbench -db sqlite:/tmp/bookingbench.db
//	go run ./cmd/bookingbench -db 'postgres://postgres@127.0.0.1:5432/bench?sslmode=disable'
//
// The database must be empty (or one this command filled before, with -fill=false).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/demo"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

func main() {
	dbURL := flag.String("db", "sqlite:/tmp/bookingbench.db", "database URL (sqlite:PATH or postgres://…)")
	fill := flag.Bool("fill", true, "create the schema and the data first (the database must be empty)")
	workers := flag.Int("workers", 4, "concurrent workers per scenario")
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	residents := flag.Int("residents", 2000, "residents to create")
	flag.Parse()
	if err := run(*dbURL, *fill, *workers, *duration, *residents); err != nil {
		fmt.Fprintln(os.Stderr, "bookingbench:", err)
		os.Exit(1)
	}
}

// The bench's "now": a Monday morning in Helsinki, a year into the data.
var now = time.Date(2026, 3, 23, 6, 0, 0, 0, time.UTC)

// futureWeeks are booked ahead (and bookable): the list scenario reads the
// first four of them, the book scenario books into all of them.
const futureWeeks = 26

func run(dbURL string, fill bool, workers int, duration time.Duration, nResidents int) error {
	ctx := context.Background()
	db, err := database.Open(ctx, dbURL, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	clock := func() time.Time { return now }
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return err
	}
	if fill {
		start := time.Now()
		if _, err := migrations.Up(ctx, db.SQL, db.Dialect); err != nil {
			return err
		}
		n, err := populate(ctx, db, nResidents)
		if err != nil {
			return err
		}
		fmt.Printf("filled %s in %v: %d bookings\n", db.Dialect, time.Since(start).Round(time.Second), n)
	}
	var total int64
	if err := db.Gorm.Model(&booking.Booking{}).Count(&total).Error; err != nil {
		return err
	}
	fe, err := frontend.New(frontend.Options{Logger: slog.New(slog.DiscardHandler), Location: loc})
	if err != nil {
		return err
	}
	svc := booking.New(booking.Options{
		DB: db, Users: auth.NewUsers(db.Gorm), Regions: regions.NewStore(db.Gorm), Frontend: fe, Audit: audit.New(db.Gorm, clock),
		Outbox: mail.NewOutbox(db.Gorm, clock), Now: clock, Location: loc,
		Config: booking.Config{PublicURL: &url.URL{Scheme: "https", Host: "asumisneuvonta.example.fi"}, MaxUpcoming: 1000, Weeks: futureWeeks},
	})
	var regionIDs, points []int64
	if err := db.Gorm.Raw("SELECT id FROM regions ORDER BY id").Scan(&regionIDs).Error; err != nil {
		return err
	}
	pointOf := map[int64]int64{}
	for _, r := range regionIDs {
		if err := db.Gorm.Raw("SELECT id FROM service_points WHERE region_id = ? ORDER BY id LIMIT 1", r).Scan(&points).Error; err != nil {
			return err
		}
		pointOf[r] = points[0]
	}
	var residentIDs []int64
	if err := db.Gorm.Raw("SELECT id FROM users WHERE role = 'resident'").Scan(&residentIDs).Error; err != nil {
		return err
	}
	fmt.Printf("%s, %d bookings in the database, %d workers, %v per scenario\n\n", db.Dialect, total, workers, duration)
	fmt.Printf("%-6s %8s %9s %9s %9s %9s %9s %s\n", "op", "ops", "ops/s", "p50", "p99", "max", "cpu/op", "notes")

	// query asks for `days` days from `week` weeks ahead.
	query := func(r *rand.Rand, week, days int) booking.SlotQuery {
		region := regionIDs[r.IntN(len(regionIDs))]
		t := booking.MeetingTypes[r.IntN(len(booking.MeetingTypes))]
		from := dayStart(now).AddDate(0, 0, 7*week)
		return booking.SlotQuery{RegionID: region, Type: t, ServicePointID: pointOf[region],
			From: from, To: from.AddDate(0, 0, days)}
	}
	empty := 0
	var mu sync.Mutex
	list := measure(workers, duration, func(r *rand.Rand) (time.Duration, error) {
		q := query(r, 0, 28)
		start := time.Now()
		slots, err := svc.FreeSlots(ctx, q)
		took := time.Since(start)
		if err == nil && len(slots) == 0 {
			mu.Lock()
			empty++
			mu.Unlock()
		}
		return took, err
	})
	list.print("list", fmt.Sprintf("(%d searches found no free slot)", empty))

	taken := 0
	book := measure(workers, duration, func(r *rand.Rand) (time.Duration, error) {
		// As a resident would: one week's times (any week of the bookable
		// half year, so the run does not use up the free slots), then one.
		q := query(r, r.IntN(futureWeeks), 7)
		slots, err := svc.FreeSlots(ctx, q)
		if err != nil || len(slots) == 0 {
			return 0, err
		}
		sl := slots[r.IntN(len(slots))]
		resident := residentIDs[r.IntN(len(residentIDs))]
		// The resident acts: who acts travels in the context, no HTTP request.
		as := auth.WithActor(ctx, auth.Actor{UserID: resident, Role: auth.RoleResident})
		start := time.Now()
		_, err = svc.Book(as, booking.BookRequest{
			ResidentID: resident, RegionID: q.RegionID, AdvisorID: sl.AdvisorID, Start: sl.Start,
			Type: q.Type, Topic: booking.TopicRentDebt, ServicePointID: q.ServicePointID,
			ContactPhone: "040 123 4567", VisitAddress: "Testikatu 1 A 2", Lang: "fi",
		})
		took := time.Since(start)
		if errors.Is(err, booking.ErrSlotTaken) {
			mu.Lock()
			taken++
			mu.Unlock()
			return took, nil
		}
		return took, err
	})
	book.print("book", fmt.Sprintf("(slot check, insert, mail with .ics queued; %d lost a race: 'just taken'; cpu/op includes the untimed week listing)", taken))
	return nil
}

func dayStart(t time.Time) time.Time {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		panic(err)
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// populate writes the demo service, weekly windows 8–16 for every
// advisor, residents, a year of past bookings filled to about 80% and the
// next futureWeeks weeks filled to about 60%.
func populate(ctx context.Context, db *database.DB, nResidents int) (int, error) {
	if err := demo.Seed(ctx, db.Gorm, "http://bench.invalid"); err != nil {
		return 0, err
	}
	type advisor struct {
		ID       int64
		RegionID int64
	}
	var advisors []advisor
	if err := db.Gorm.Raw("SELECT id, region_id FROM users WHERE role = 'advisor' AND title = 'Asumisneuvoja'").Scan(&advisors).Error; err != nil {
		return 0, err
	}
	if len(advisors) != 15 {
		return 0, fmt.Errorf("%d advisors, want the demo's 15", len(advisors))
	}
	// The housing mentor and the nurse of the demo get no weekly windows:
	// the 15 counsellors take the bookings.
	points := map[int64]int64{}
	for _, a := range advisors {
		var p []int64
		if err := db.Gorm.Raw("SELECT id FROM service_points WHERE region_id = ? ORDER BY id LIMIT 1", a.RegionID).Scan(&p).Error; err != nil {
			return 0, err
		}
		points[a.ID] = p[0]
		for wd := 1; wd <= 5; wd++ {
			w := booking.Window{AdvisorID: a.ID, Weekday: wd, StartMinute: 8 * 60, EndMinute: 16 * 60, SlotMinutes: 60,
				MeetingTypes: booking.JoinTypes(booking.MeetingTypes), ServicePointID: &p[0], CreatedAt: now}
			if err := db.Gorm.Create(&w).Error; err != nil {
				return 0, err
			}
		}
	}
	residents := make([]auth.User, nResidents)
	for i := range residents {
		residents[i] = auth.User{Issuer: "http://bench.invalid", Subject: fmt.Sprintf("bench-%d", i), Role: auth.RoleResident,
			Name: fmt.Sprintf("Asukas %d", i), Email: fmt.Sprintf("asukas%d@example.invalid", i), PreferredLang: "fi",
			CreatedAt: now, UpdatedAt: now}
	}
	if err := db.Gorm.CreateInBatches(residents, 500).Error; err != nil {
		return 0, err
	}
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(1, 2))
	types := booking.MeetingTypes
	var rows []booking.Booking
	first, last := dayStart(now).AddDate(-1, 0, 0), dayStart(now).AddDate(0, 0, 7*futureWeeks)
	for day := first; day.Before(last); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		future := !day.Before(dayStart(now))
		for _, a := range advisors {
			for h := 8; h < 16; h++ {
				fill := 0.8
				if future {
					fill = 0.6
				}
				if r.Float64() > fill {
					continue
				}
				y, m, d := day.Date()
				start := time.Date(y, m, d, h, 0, 0, 0, loc).UTC()
				res := residents[r.IntN(len(residents))].ID
				t := types[r.IntN(len(types))]
				b := booking.Booking{AdvisorID: a.ID, ResidentID: res, RegionID: a.RegionID, StartsAt: start, EndsAt: start.Add(time.Hour),
					MeetingType: t, Topic: booking.Topics[r.IntN(len(booking.Topics))], Lang: "fi", BookedBy: res,
					CreatedAt: start.AddDate(0, 0, -14), UpdatedAt: start.AddDate(0, 0, -14)}
				switch {
				case future:
					b.Status = booking.StatusBooked
				case r.Float64() < 0.1:
					b.Status = booking.StatusNoShow
				case r.Float64() < 0.1:
					b.Status = booking.StatusCancelled
				default:
					b.Status = booking.StatusDone
				}
				if t == booking.Office {
					p := points[a.ID]
					b.ServicePointID = &p
				}
				rows = append(rows, b)
			}
		}
	}
	err = db.Gorm.Session(&gorm.Session{CreateBatchSize: 1000}).Transaction(func(tx *gorm.DB) error {
		return tx.Create(&rows).Error
	})
	if err != nil {
		return 0, err
	}
	// Fresh statistics (and on PostgreSQL a visibility map, which lets the
	// busy-time query scan its index only), as autovacuum keeps them on a
	// database that grew over a year.
	maintain := "ANALYZE"
	if db.Dialect == database.Postgres {
		maintain = "VACUUM ANALYZE"
	}
	if err := db.Gorm.Exec(maintain).Error; err != nil {
		return 0, err
	}
	return len(rows), nil
}

// result holds the latencies of one scenario and the CPU time this
// process spent on it (not counting a PostgreSQL server's).
type result struct {
	lat     []time.Duration
	elapsed time.Duration
	cpu     time.Duration
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op on workers goroutines for d and collects the latencies
// op reports (0: the operation did not happen, such as a booking attempt
// that found no free slot).
func measure(workers int, d time.Duration, op func(r *rand.Rand) (time.Duration, error)) result {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	begin, cpu0 := time.Now(), cpuTime()
	deadline := begin.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w)+10, 99))
			var mine []time.Duration
			for time.Now().Before(deadline) {
				took, err := op(r)
				if err != nil {
					fmt.Fprintln(os.Stderr, "bookingbench:", err)
					os.Exit(1)
				}
				if took > 0 {
					mine = append(mine, took)
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(begin), cpuTime()-cpu0
	slices.Sort(all)
	return result{lat: all, elapsed: elapsed, cpu: cpu}
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p+0.5) - 1
	return r.lat[max(0, min(i, len(r.lat)-1))]
}

func (r result) print(name, notes string) {
	ops := float64(len(r.lat)) / r.elapsed.Seconds()
	var perOp time.Duration
	if len(r.lat) > 0 {
		perOp = r.cpu / time.Duration(len(r.lat))
	}
	fmt.Printf("%-6s %8d %9.0f %9s %9s %9s %9s %s\n", name, len(r.lat), ops,
		r.pct(0.50).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond),
		r.pct(1).Round(10*time.Microsecond), perOp.Round(10*time.Microsecond), notes)
}
