package audit_test

import (
	"context"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestRecordReadsTheActorFromTheContext: staff actions are logged with the
// actor and request id the context carries; residents and anonymous
// visitors are not.
func TestRecordReadsTheActorFromTheContext(t *testing.T) {
	db := dbtest.SQLite(t)
	log := audit.New(db.Gorm, nil)
	advisor := addUser(t, db, "a", auth.RoleAdvisor, "Anna Advisor")
	resident := addUser(t, db, "r", auth.RoleResident, "Rauni Resident")
	cases := []struct {
		name   string
		ctx    context.Context
		logged bool
	}{
		{"no actor", context.Background(), false},
		{"anonymous", auth.WithActor(context.Background(), auth.Actor{RequestID: "r0"}), false},
		{"resident", auth.WithActor(context.Background(), auth.Actor{UserID: resident.ID, Role: auth.RoleResident, RequestID: "r1"}), false},
		{"advisor", auth.WithActor(context.Background(), auth.Actor{UserID: advisor.ID, Role: auth.RoleAdvisor, RequestID: "r2"}), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _, err := log.List(context.Background(), audit.Filter{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := log.Record(tc.ctx, resident.ID, "booking.view", "booking:1", "calendar"); err != nil {
				t.Fatal(err)
			}
			after, _, err := log.List(context.Background(), audit.Filter{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(after) - len(before); got != map[bool]int{false: 0, true: 1}[tc.logged] {
				t.Fatalf("%d entries written, want logged=%v", got, tc.logged)
			}
			if tc.logged {
				e := after[0]
				if e.ActorName != "Anna Advisor" || e.ResidentName != "Rauni Resident" || e.RequestID != "r2" {
					t.Errorf("entry = %+v", e)
				}
			}
		})
	}
}
