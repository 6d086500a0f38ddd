package contact_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestFirstRequests: each resident's first contact request linked to
// them, in any region, alike on SQLite and PostgreSQL; a request about
// nobody known and a resident not asked about count for nobody.
func TestFirstRequests(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (4, 'east', 'Itä', 'Öster', 'East'), (2, 'west', 'Länsi', 'Väster', 'West')").Error; err != nil {
			t.Fatal(err)
		}
		person := func(name string) int64 { return authtest.Login(t, db.Gorm, auth.RoleResident, name).ID }
		aino, bertta, cecilia, daniel := person("Aino"), person("Bertta"), person("Cecilia"), person("Daniel")
		ts := func(s string) time.Time {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		for i, r := range []struct {
			region   int64
			resident any
			created  string
		}{
			{4, aino, "2026-02-01T10:00:00Z"},
			{2, aino, "2026-01-10T10:00:00Z"}, // west, earlier: Aino's first
			{4, bertta, "2026-03-31T20:59:59Z"},
			{4, nil, "2025-01-01T10:00:00Z"}, // about someone not linked
			{4, daniel, "2025-06-01T10:00:00Z"},
		} {
			created := ts(r.created)
			if err := db.Gorm.Exec(`INSERT INTO contact_requests (reference, region_id, resident_id, sender_kind, concern, description, resident_name, street_address, postal_code, target_key, created_at, updated_at)
				VALUES (?, ?, ?, 'self', 'rent_debt', 'Vuokrarästiä.', 'Asukas', 'Katu 1', '00940', 'key', ?, ?)`,
				fmt.Sprintf("YP-%d", i), r.region, r.resident, created, created).Error; err != nil {
				t.Fatal(err)
			}
		}
		got, err := contact.NewStore(db.Gorm).FirstRequests(context.Background(), []int64{aino, bertta, cecilia})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]time.Time{aino: ts("2026-01-10T10:00:00Z"), bertta: ts("2026-03-31T20:59:59Z")}
		if len(got) != len(want) {
			t.Errorf("first requests %v, want %v", got, want)
		}
		for id, w := range want {
			if !got[id].Equal(w) {
				t.Errorf("first request of %d: %v, want %v", id, got[id], w)
			}
		}
	})
}
