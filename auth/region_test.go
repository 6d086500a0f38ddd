package auth_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/oidctest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

type regionCodes map[string]int64

func (r regionCodes) IDByCode(_ context.Context, code string) (int64, error) { return r[code], nil }

// TestStaffRegionClaim: a staff member's region claim becomes their region
// through the resolver (auth reads no regions table); an unknown code and
// a resident's claim leave it empty.
func TestStaffRegionClaim(t *testing.T) {
	cases := []struct {
		name, subject, region string
		roles                 []string
		want                  int64
	}{
		{"advisor of a known region", "a1", "ita", []string{"advisor"}, 4},
		{"unknown region code", "a2", "kuu", []string{"advisor"}, 0},
		{"a resident's claim is ignored", "r1", "ita", []string{"resident"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := dbtest.SQLite(t)
			if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (4, 'ita', 'Itä', 'Öst', 'East')").Error; err != nil {
				t.Fatal(err)
			}
			h := newHarnessWith(t, db, false, []auth.Role{auth.RoleResident, auth.RoleAdvisor}, regionCodes{"ita": 4})
			h.idp.SetUser(oidctest.Claims{Subject: tc.subject, Name: "N", Region: tc.region, Roles: tc.roles})
			h.login(t, newClient(t, true))
			var got sql.NullInt64
			if err := db.SQL.QueryRow("SELECT region_id FROM users WHERE subject = ?", tc.subject).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got.Int64 != tc.want {
				t.Errorf("region %v, want %d", got, tc.want)
			}
		})
	}
}
