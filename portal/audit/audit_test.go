package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

func addUser(t *testing.T, db *database.DB, subject string, role auth.Role, name string) *auth.User {
	t.Helper()
	u, err := auth.NewUsers(db.Gorm).Upsert(context.Background(), &auth.User{Issuer: "i", Subject: subject, Role: role, Name: name}, true)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestWriteAndList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		log := audit.New(db.Gorm, func() time.Time { return now })
		advisor := addUser(t, db, "a", auth.RoleAdvisor, "Anna Advisor")
		admin := addUser(t, db, "b", auth.RoleAdmin, "Bertta Boss")
		resident := addUser(t, db, "r", auth.RoleResident, "Rauni Resident")
		rid := resident.ID
		entries := []audit.Entry{
			{ActorID: advisor.ID, ActorRole: "advisor", ResidentID: &rid, Action: "booking.view", Resource: "booking:1", Reason: "calendar"},
			{ActorID: advisor.ID, ActorRole: "advisor", ResidentID: &rid, Action: "chat.resident_page", Resource: "chat:2"},
			{ActorID: admin.ID, ActorRole: "admin", Action: "access_log.view"},
		}
		for i, e := range entries {
			now = now.Add(time.Minute)
			if err := log.Write(ctx, e); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if err := log.Write(ctx, audit.Entry{Action: "x"}); err == nil {
			t.Error("an entry without actor was written")
		}
		cases := []struct {
			name string
			f    audit.Filter
			want []string // actions, newest first
		}{
			{"all", audit.Filter{}, []string{"access_log.view", "chat.resident_page", "booking.view"}},
			{"by actor name", audit.Filter{Actor: "anna"}, []string{"chat.resident_page", "booking.view"}},
			{"by resident name", audit.Filter{Resident: "RAUNI"}, []string{"chat.resident_page", "booking.view"}},
			{"by action prefix", audit.Filter{Action: "booking."}, []string{"booking.view"}},
			{"like wildcards are literal", audit.Filter{Action: "%"}, nil},
			{"underscore is literal", audit.Filter{Action: "access_log"}, []string{"access_log.view"}},
			{"underscore is not a wildcard", audit.Filter{Action: "access-log"}, nil},
			{"from", audit.Filter{From: time.Date(2026, 3, 1, 12, 2, 0, 0, time.UTC)}, []string{"access_log.view", "chat.resident_page"}},
			{"to", audit.Filter{To: time.Date(2026, 3, 1, 12, 2, 0, 0, time.UTC)}, []string{"booking.view"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rows, more, err := log.List(ctx, tc.f, 1)
				if err != nil {
					t.Fatal(err)
				}
				if more {
					t.Error("more pages reported")
				}
				var got []string
				for _, r := range rows {
					got = append(got, r.Action)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				}
			})
		}
		rows, _, err := log.List(ctx, audit.Filter{Action: "booking"}, 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("rows %v err %v", rows, err)
		}
		if rows[0].ActorName != "Anna Advisor" || rows[0].ResidentName != "Rauni Resident" || !rows[0].At.Equal(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)) {
			t.Errorf("row = %+v", rows[0])
		}
	})
}

func TestListPages(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	log := audit.New(db.Gorm, nil)
	a := addUser(t, db, "a", auth.RoleAdvisor, "A")
	for i := 0; i < audit.PageSize+3; i++ {
		if err := log.Write(ctx, audit.Entry{ActorID: a.ID, ActorRole: "advisor", Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	rows, more, err := log.List(ctx, audit.Filter{}, 1)
	if err != nil || len(rows) != audit.PageSize || !more {
		t.Fatalf("page 1: %d rows, more=%v, %v", len(rows), more, err)
	}
	rows, more, err = log.List(ctx, audit.Filter{}, 2)
	if err != nil || len(rows) != 3 || more {
		t.Fatalf("page 2: %d rows, more=%v, %v", len(rows), more, err)
	}
}

// TestRecordList: a list of residents is logged once per resident, folded
// within SameOpening like single reads, and a resident new to the list is
// logged on the next view; a resident viewing lists is not logged.
func TestRecordList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		log := audit.New(db.Gorm, func() time.Time { return now })
		advisor := addUser(t, db, "a", auth.RoleAdvisor, "Anna Advisor")
		r1, r2, r3 := addUser(t, db, "r1", auth.RoleResident, "R1"), addUser(t, db, "r2", auth.RoleResident, "R2"), addUser(t, db, "r3", auth.RoleResident, "R3")
		ctx := auth.WithActor(context.Background(), auth.Actor{UserID: advisor.ID, Role: auth.RoleAdvisor})
		count := func() int64 {
			t.Helper()
			var n int64
			if err := db.Gorm.Model(&audit.Entry{}).Where("action = ?", string(audit.ExchangeView)).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := log.RecordList(ctx, []int64{r1.ID, r2.ID, r1.ID}, audit.ExchangeView, "exchange/desk", audit.ReasonDeskList); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d entries, want one per resident (2)", n)
		}
		now = now.Add(time.Minute)
		if err := log.RecordList(ctx, []int64{r1.ID, r2.ID, r3.ID}, audit.ExchangeView, "exchange/desk", audit.ReasonDeskList); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 3 {
			t.Errorf("%d entries, want the new resident added (3)", n)
		}
		now = now.Add(audit.SameOpening + time.Minute)
		if err := log.RecordList(ctx, []int64{r1.ID}, audit.ExchangeView, "exchange/desk", audit.ReasonDeskList); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 4 {
			t.Errorf("%d entries, want a new opening after SameOpening (4)", n)
		}
		res := auth.WithActor(context.Background(), auth.Actor{UserID: r1.ID, Role: auth.RoleResident})
		if err := log.RecordList(res, []int64{r1.ID}, audit.ExchangeView, "exchange/desk", audit.ReasonDeskList); err != nil || count() != 4 {
			t.Errorf("a resident's list view was logged (%v)", err)
		}
	})
}
