package demo_test

import (
	"context"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/demo"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

func TestSeedIsIdempotentAndComplete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for range 2 {
			if err := demo.Seed(ctx, db.Gorm, "http://idp.test"); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]int64{"west": 2, "north": 4, "south": 3, "east": 6}
		for code, n := range want {
			var got int64
			err := db.Gorm.Raw(`SELECT COUNT(*) FROM users u JOIN regions r ON r.id = u.region_id
				WHERE r.code = ? AND u.role = 'advisor' AND u.title = 'Asumisneuvoja'`, code).Scan(&got).Error
			if err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Errorf("region %s: %d advisors, want %d", code, got, n)
			}
		}
		var users int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM users").Scan(&users).Error; err != nil {
			t.Fatal(err)
		}
		seeded := 0
		for _, p := range demo.People() {
			if !p.NotSeeded {
				seeded++
			} else if err := db.Gorm.Raw("SELECT COUNT(*) FROM users WHERE subject = ?", p.Subject).Scan(&users).Error; err != nil || users != 0 {
				t.Errorf("%s is seeded: the portal must not know them before their first login (%v)", p.Subject, err)
			}
		}
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM users").Scan(&users).Error; err != nil {
			t.Fatal(err)
		}
		if users != int64(seeded) {
			t.Errorf("%d users after seeding twice, want %d", users, seeded)
		}
		rs := regions.NewStore(db.Gorm)
		for pc, code := range map[string]string{"00940": "east", "00510": "south", "00330": "west", "00700": "north"} {
			r, err := rs.ForPostalCode(ctx, pc)
			if err != nil {
				t.Fatalf("postal code %s: %v", pc, err)
			}
			if r.Code != code {
				t.Errorf("postal code %s → %s, want %s", pc, r.Code, code)
			}
		}
		if _, err := rs.ForPostalCode(ctx, "99999"); err != regions.ErrNotFound {
			t.Errorf("unknown postal code: %v, want ErrNotFound", err)
		}
	})
}
