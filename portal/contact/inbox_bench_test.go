package contact_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// BenchmarkDeskInbox measures the advisor's inbox page (/desk/contact,
// the first page of 50 open requests, urgent first) through HTTP with the
// session middleware, with 20,000 open requests in her region, as many in
// another and 10,000 closed ones; and the desk section's counts. See
// docs/BENCHMARKS.md.
func BenchmarkDeskInbox(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchInbox(b, dbtest.SQLite(b)) })
	if dbtest.PostgresURL(b) != "" {
		b.Run("postgres", func(b *testing.B) { benchInbox(b, dbtest.Postgres(b)) })
	}
}

func benchInbox(b *testing.B, db *database.DB) {
	e := newEnv(b, db)
	minna := authtest.Login(b, db.Gorm, auth.RoleAdvisor, "Minna Neuvoja")
	east := e.east
	if err := auth.NewUsers(db.Gorm).SetRegion(context.Background(), minna.ID, &east); err != nil {
		b.Fatal(err)
	}
	seed(b, db, e.clock.Now())
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			st, body := authtest.Do(b, e.app, "GET", "/desk/contact", minna, nil)
			if st != http.StatusOK || strings.Count(body, `<th scope="row">`) != contact.PageSize {
				b.Fatalf("inbox: %d", st)
			}
		}
	})
	ctx := auth.WithActor(context.Background(), auth.Actor{UserID: minna.ID, Role: auth.RoleAdvisor})
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			if c, err := e.svc.Counts(ctx); err != nil || c.New == 0 {
				b.Fatal(c, err)
			}
		}
	})
}

// seed writes the requests straight into the table: 20,000 open in east
// (every tenth with an eviction date, a third of those within 14 days),
// 20,000 open in west, 10,000 closed in east.
func seed(b *testing.B, db *database.DB, now time.Time) {
	b.Helper()
	rows := make([]contact.Request, 0, 1000)
	flush := func() {
		if err := db.Gorm.CreateInBatches(rows, 500).Error; err != nil {
			b.Fatal(err)
		}
		rows = rows[:0]
	}
	n := 0
	add := func(region int64, status contact.Status) {
		n++
		created := now.Add(-time.Duration(n) * time.Minute).UTC()
		r := contact.Request{
			Reference: fmt.Sprintf("B%03d-%04d", n/10000, n%10000), RegionID: region, SenderKind: "neighbour", Concern: "upkeep",
			Description: strings.Repeat("Huoli asukkaasta. ", 20), ResidentName: "Asukas " + fmt.Sprint(n),
			StreetAddress: "Kontulantie " + fmt.Sprint(n), PostalCode: "00940", Lang: "fi", TargetKey: fmt.Sprint(n),
			Status: status, CreatedAt: created, UpdatedAt: created,
		}
		if n%10 == 0 {
			d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%45)
			r.EvictionOn = &d
		}
		if status == contact.StatusClosed {
			r.Outcome, r.ClosedAt = "reached", &created
		}
		rows = append(rows, r)
		if len(rows) == cap(rows) {
			flush()
		}
	}
	for range 20000 {
		add(4, contact.StatusNew)
	}
	for range 20000 {
		add(2, contact.StatusInProgress)
	}
	for range 10000 {
		add(4, contact.StatusClosed)
	}
	flush()
	if db.Dialect == database.Postgres {
		if err := db.Gorm.Exec("ANALYZE contact_requests").Error; err != nil {
			b.Fatal(err)
		}
	}
}
