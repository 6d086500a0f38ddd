package audit_test

import (
	"context"
	"testing"
	"time"

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

// TestReadsAreOneEntryPerOpening: the same read of the same record by the
// same person within SameOpening is one entry (the steps of one form, a
// reload); another record, another person or a later read is a new one;
// changes are always written.
func TestReadsAreOneEntryPerOpening(t *testing.T) {
	db := dbtest.SQLite(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	log := audit.New(db.Gorm, func() time.Time { return now })
	anna := addUser(t, db, "a", auth.RoleAdvisor, "Anna Advisor")
	bert := addUser(t, db, "b", auth.RoleAdvisor, "Bert Advisor")
	res := addUser(t, db, "r", auth.RoleResident, "Rauni Resident")
	as := func(u *auth.User) context.Context {
		return auth.WithActor(context.Background(), auth.Actor{UserID: u.ID, Role: u.Role})
	}
	count := func() int {
		t.Helper()
		var n int64
		if err := db.Gorm.Model(&audit.Entry{}).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"first read", func() error {
			return log.Record(as(anna), res.ID, audit.BookingResidentView, "user:1", audit.ReasonOnBehalf)
		}, 1},
		{"next step of the same form", func() error {
			return log.Record(as(anna), res.ID, audit.BookingResidentView, "user:1", audit.ReasonOnBehalf)
		}, 1},
		{"another record", func() error {
			return log.Record(as(anna), res.ID, audit.BookingView, "booking:7", audit.ReasonCalendar)
		}, 2},
		{"another person", func() error {
			return log.Record(as(bert), res.ID, audit.BookingResidentView, "user:1", audit.ReasonOnBehalf)
		}, 3},
		{"a change is always written", func() error {
			return log.RecordTx(as(anna), db.Gorm, res.ID, audit.BookingCreate, "booking:8", audit.ReasonOnBehalf)
		}, 4},
		{"the same change again", func() error {
			return log.RecordTx(as(anna), db.Gorm, res.ID, audit.BookingCreate, "booking:8", audit.ReasonOnBehalf)
		}, 5},
		{"the first read after the opening has passed", func() error {
			now = now.Add(audit.SameOpening + time.Second)
			return log.Record(as(anna), res.ID, audit.BookingResidentView, "user:1", audit.ReasonOnBehalf)
		}, 6},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := count(); got != s.want {
			t.Fatalf("%s: %d entries, want %d", s.name, got, s.want)
		}
	}
}
