package cases

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// BenchmarkStats measures the statistics over 3,000 cases (two thirds in
// the east region) opened over 16 months and their 40,000 timeline events
// (a third of them interventions): an advisor's quarter of her region,
// an admin's year of all regions, and Minna's whole page through HTTP
// (the seven queries, the tables and nine SVG charts; the other channels'
// figures from the fake, which has no data here). See
// docs/BENCHMARKS.md.
func BenchmarkStats(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchStats(b, dbtest.SQLite(b)) })
	if dbtest.PostgresURL(b) != "" {
		b.Run("postgres", func(b *testing.B) { benchStats(b, dbtest.Postgres(b)) })
	}
}

func benchStats(b *testing.B, db *database.DB) {
	e := newStatsEnv(b, db)
	seedStatsBulk(b, e, 3000, 40000)
	minna := authtest.WithActor(context.Background(), e.minna)
	pirjo := authtest.WithActor(context.Background(), e.pirjo)
	year := StatsQuery{From: time.Date(2025, 5, 1, 0, 0, 0, 0, e.loc), To: time.Date(2026, 5, 1, 0, 0, 0, 0, e.loc)}
	b.Run("region-quarter", func(b *testing.B) {
		for b.Loop() {
			if st, err := e.svc.Stats(minna, e.quarter(0)); err != nil || st.NewByReason[0].N == 0 {
				b.Fatal(st, err)
			}
		}
	})
	b.Run("all-year", func(b *testing.B) {
		for b.Loop() {
			if st, err := e.svc.Stats(pirjo, year); err != nil || st.Interventions[0].N == 0 {
				b.Fatal(st, err)
			}
		}
	})
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			st, body := authtest.Do(b, e.app, "GET", "/desk/stats?from=2026-01-01&to=2026-03-31", e.minna, nil)
			if st != http.StatusOK || strings.Count(body, `<svg class="stats-chart"`) != 9 {
				b.Fatalf("page: %d", st)
			}
		}
	})
}

// seedStatsBulk writes cases and events straight into the tables, in
// batches: each case opened at its own hour from January 2025, the
// codes in turn, a third closed; events spread over the cases, every
// third an intervention dated a few days after its case opened.
func seedStatsBulk(b *testing.B, e *statsEnv, nCases, nEvents int) {
	b.Helper()
	start := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	span := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Sub(start)
	cs := make([]Case, nCases)
	for i := range cs {
		created := start.Add(span / time.Duration(nCases) * time.Duration(i))
		region := statsEast
		if i%3 == 2 {
			region = statsWest
		}
		c := Case{ResidentID: e.aino.ID, RegionID: &region, Status: StatusOpen, Reason: Reasons[i%len(Reasons)],
			Household: Households[i%len(Households)], Referrer: Referrers[i%len(Referrers)], CreatedAt: created, UpdatedAt: created}
		if i%7 == 0 {
			c.Referrer = ""
		}
		if i%3 == 0 {
			closed := created.AddDate(0, 2, 0)
			c.Status, c.Outcome, c.ClosedAt = StatusClosed, Outcomes[i%len(Outcomes)], &closed
		}
		cs[i] = c
	}
	if err := e.db.Gorm.CreateInBatches(cs, 500).Error; err != nil {
		b.Fatal(err)
	}
	evs := make([]Event, 0, 1000)
	for i := range nEvents {
		c := cs[i%nCases]
		ev := Event{CaseID: c.ID, Kind: "note", Body: "Soitettu.", CreatedAt: c.CreatedAt}
		if i%3 == 0 {
			ev = Event{CaseID: c.ID, Kind: "intervention", Field: Interventions[(i/3)%len(Interventions)],
				OnDate: c.CreatedAt.AddDate(0, 0, i%40).Format(time.DateOnly), CreatedAt: c.CreatedAt}
		}
		evs = append(evs, ev)
		if len(evs) == cap(evs) || i == nEvents-1 {
			if err := e.db.Gorm.CreateInBatches(evs, 500).Error; err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	if e.db.Dialect == database.Postgres {
		if err := e.db.Gorm.Exec("ANALYZE cases").Error; err != nil {
			b.Fatal(err)
		}
		if err := e.db.Gorm.Exec("ANALYZE case_events").Error; err != nil {
			b.Fatal(err)
		}
	}
}
