package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// BenchmarkDeskDay loads the advisor's desk (/desk: every section of her
// day) on a year of data: the demo service's 15 regional advisors, 3,000
// cases, 40,000 timeline entries, 2,000 payment plans with 20,000
// payments, and the appointments, contact requests and message threads of
// a working day; on SQLite and, when PORTAL_TEST_DATABASE_URL is set,
// PostgreSQL. Each request is one advisor's desk, round robin over the
// 15, over real HTTP on loopback. It reports p50, p95 and p99 in ms; the
// target is p95 under 150 ms (docs/BENCHMARKS.md).
//
//	go test -run '^$' -bench BenchmarkDeskDay -benchtime 300x ./cmd/portal/
func BenchmarkDeskDay(b *testing.B) {
	dbs := []string{"sqlite"}
	if os.Getenv("PORTAL_TEST_DATABASE_URL") != "" {
		dbs = append(dbs, "postgres")
	}
	for _, name := range dbs {
		extra := map[string]string{"PORTAL_LOG_LEVEL": "error"}
		if name == "postgres" {
			extra["PORTAL_DATABASE_URL"] = dbtest.PostgresSchemaURL(b)
		}
		p := startPortal(b, extra)
		cookies := seedDeskYear(b, p.s.deps.db.Gorm)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(cookie string) time.Duration {
			req, _ := http.NewRequest(http.MethodGet, p.url+"/desk", nil)
			req.Header.Set("Cookie", cookie)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("/desk: %d", resp.StatusCode)
			}
			return took
		}
		for _, c := range cookies { // warm the caches once per advisor
			get(c)
		}
		b.Run(name, func(b *testing.B) {
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				took = append(took, get(cookies[i%len(cookies)]))
			}
			b.StopTimer()
			slices.Sort(took)
			at := func(q float64) float64 {
				return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.95), "p95-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
}

// seedDeskYear writes the year of data and returns a session cookie for
// each of the 15 regional advisors.
func seedDeskYear(b *testing.B, db *gorm.DB) []string {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	day := func(offset int) string { return now.AddDate(0, 0, offset).Format("2006-01-02") }
	var advisors []auth.User
	if err := db.Where("role = ? AND subject LIKE ?", auth.RoleAdvisor, "demo-advisor-%").Order("id").Find(&advisors).Error; err != nil || len(advisors) != 15 {
		b.Fatalf("%d demo advisors (%v)", len(advisors), err)
	}
	insert := func(table string, rows []map[string]any) {
		b.Helper()
		if err := db.Table(table).CreateInBatches(rows, 500).Error; err != nil {
			b.Fatalf("%s: %v", table, err)
		}
	}
	var residents []map[string]any
	for i := range 3000 {
		residents = append(residents, map[string]any{"issuer": "bench", "subject": fmt.Sprint("r", i), "role": "resident",
			"name": fmt.Sprintf("Asukas %04d", i), "email": fmt.Sprintf("r%d@example.invalid", i), "postal_code": "00940",
			"preferred_lang": "fi", "created_at": now, "updated_at": now})
	}
	insert("users", residents)
	var residentIDs []int64
	if err := db.Table("users").Where("issuer = 'bench'").Order("id").Pluck("id", &residentIDs).Error; err != nil {
		b.Fatal(err)
	}
	var cs []map[string]any
	for i, r := range residentIDs {
		a := advisors[i%len(advisors)]
		status, until, interim := "open", "", ""
		switch i % 20 {
		case 0, 1, 2:
			status = "closed"
		case 3, 4, 5, 6, 7:
			status, until, interim = "follow_up", day(30+rng.IntN(300)), day(-30+rng.IntN(120))
		}
		c := map[string]any{"resident_id": r, "region_id": a.RegionID, "advisor_id": a.ID, "status": status, "reason": "rent_debt",
			"household": "single", "referrer": "resident", "debt_cents": 100_000 + rng.Int64N(500_000), "follow_up_until": until,
			"interim_due": interim, "outcome": "", "closed_at": nil, "created_at": now.AddDate(0, 0, -rng.IntN(365)), "updated_at": now.AddDate(0, 0, -rng.IntN(30))}
		if status == "closed" {
			c["outcome"], c["closed_at"] = "housing_continues", now.AddDate(0, 0, -rng.IntN(60))
		}
		cs = append(cs, c)
	}
	insert("cases", cs)
	var caseIDs []int64
	if err := db.Table("cases").Order("id").Pluck("id", &caseIDs).Error; err != nil {
		b.Fatal(err)
	}
	var events []map[string]any
	kinds := []string{"note", "note", "change", "intervention"}
	for i := range 40_000 {
		k := kinds[i%len(kinds)]
		e := map[string]any{"case_id": caseIDs[i%len(caseIDs)], "kind": k, "actor_id": advisors[i%len(advisors)].ID,
			"body": "", "field": "", "old_value": "", "new_value": "", "on_date": "",
			"created_at": now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour)}
		switch k {
		case "note":
			e["body"] = "Soitettu, sovittu tapaaminen."
		case "change":
			e["field"], e["old_value"], e["new_value"] = "debt", "1000", "800"
		case "intervention":
			e["field"], e["on_date"] = "rent_follow_up", day(-rng.IntN(365))
		}
		events = append(events, e)
	}
	insert("case_events", events)
	var plans []map[string]any
	for i := range 2000 {
		plans = append(plans, map[string]any{"case_id": caseIDs[i*3/2], "total_cents": 600_000, "instalment_cents": 30_000, "due_day": 15,
			"start_date": now.AddDate(-1, 0, 0).Format("2006-01-02"), "reference": fmt.Sprint(1000 + i), "created_at": now})
	}
	insert("payment_plans", plans)
	var planIDs []int64
	if err := db.Table("payment_plans").Order("id").Pluck("id", &planIDs).Error; err != nil {
		b.Fatal(err)
	}
	var pays []map[string]any
	for i, id := range planIDs {
		// Ten payments each, a month apart; every fourth plan is behind.
		paid := 10
		if i%4 == 0 {
			paid = 8
		}
		for m := range paid {
			pays = append(pays, map[string]any{"plan_id": id, "paid_on": now.AddDate(-1, m, 10).Format("2006-01-02"), "amount_cents": 30_000,
				"source": "import", "import_key": fmt.Sprint(id, "-", m), "created_at": now})
		}
	}
	for len(pays) < 20_000 { // extra small payments up to 20,000
		id := planIDs[rng.IntN(len(planIDs))]
		pays = append(pays, map[string]any{"plan_id": id, "paid_on": day(-rng.IntN(300)), "amount_cents": 1_000, "source": "hand", "import_key": nil, "created_at": now})
	}
	insert("plan_payments", pays)

	var cookies []string
	for _, a := range advisors {
		raw := fmt.Sprintf("deskbench-%d-%x", a.ID, rng.Uint64())
		sum := sha256.Sum256([]byte(raw))
		sess := &auth.Session{ID: hex.EncodeToString(sum[:]), UserID: a.ID, CSRFToken: "csrf-" + raw,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour)}
		if err := auth.NewDBSessions(db).Create(ctx, sess); err != nil {
			b.Fatal(err)
		}
		cookies = append(cookies, "asn_session="+raw)
	}
	return cookies
}
