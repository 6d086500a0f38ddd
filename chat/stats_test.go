package chat

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// statsTime parses an RFC 3339 time of the statistics fixture.
func statsTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWaitsAndFirstChats: the chats of the first quarter of 2026 in
// Helsinki time (UTC+2, from 2025-12-31T22:00Z up to 2026-03-31T21:00Z),
// alike on SQLite and PostgreSQL: the period's first instant in, its end
// out; another region's chats and those of no region left out of a
// region's figures; the wait to the first accepting, not to accepted_at;
// never-answered chats counted but not waited; guests counted.
func TestWaitsAndFirstChats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		const east, west int64 = 4, 2
		if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (?, 'east', 'Itä', 'Öster', 'East'), (?, 'west', 'Länsi', 'Väster', 'West')", east, west).Error; err != nil {
			t.Fatal(err)
		}
		person := func(role auth.Role, name string) int64 { return authtest.Login(t, db.Gorm, role, name).ID }
		aino, bertta, cecilia, daniel := person(auth.RoleResident, "Aino"), person(auth.RoleResident, "Bertta"), person(auth.RoleResident, "Cecilia"), person(auth.RoleResident, "Daniel")

		// Each conversation: its resident (0: a guest), region (0: none),
		// status, creation and its accepted events, seconds after.
		convs := []struct {
			resident, region int64
			status, created  string
			accepted         []int
		}{
			{aino, east, "closed", "2025-12-31T22:00:00Z", []int{30}},        // the first instant: in
			{bertta, east, "closed", "2026-01-10T10:00:00Z", []int{59, 600}}, // requeued, accepted again: waited 59
			{aino, east, "active", "2026-02-01T10:00:00Z", []int{60}},        //
			{daniel, east, "active", "2026-03-31T20:59:59Z", []int{3600}},    // the last second, answered after the period
			{daniel, east, "closed", "2026-02-02T10:00:00Z", nil},            // ended while queued
			{daniel, east, "queued", "2026-02-03T10:00:00Z", nil},            // still waiting
			{0, east, "closed", "2026-02-04T10:00:00Z", []int{120}},          // a guest
			{aino, east, "closed", "2025-12-31T21:59:59Z", []int{10}},        // a second before: out
			{daniel, east, "closed", "2026-03-31T21:00:00Z", []int{10}},      // the end: out
			{bertta, west, "closed", "2026-01-15T10:00:00Z", []int{300}},     // west
			{daniel, 0, "closed", "2026-01-20T10:00:00Z", []int{5}},          // no region: all only
		}
		for i, c := range convs {
			created := statsTime(t, c.created)
			var resident, region, accepted any
			guest := ""
			if c.resident != 0 {
				resident = c.resident
			} else {
				guest = "guest-1"
			}
			if c.region != 0 {
				region = c.region
			}
			if len(c.accepted) > 0 {
				accepted = created.Add(time.Duration(c.accepted[len(c.accepted)-1]) * time.Second) // the last accepting, as the column keeps it
			}
			var id int64
			err := db.Gorm.Raw(`INSERT INTO chat_conversations (resident_id, guest_id, region_id, topic, lang, status, created_at, queued_at, accepted_at)
				VALUES (?, ?, ?, 'rent_debt', 'fi', ?, ?, ?, ?) RETURNING id`, resident, guest, region, c.status, created, created, accepted).Scan(&id).Error
			if err != nil {
				t.Fatalf("conversation %d: %v", i, err)
			}
			seq := 0
			msg := func(kind, role, event string, at time.Time) {
				seq++
				if err := db.Gorm.Exec(`INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, event, body, created_at) VALUES (?, ?, ?, ?, ?, '', ?)`,
					id, seq, kind, role, event, at).Error; err != nil {
					t.Fatal(err)
				}
			}
			msg(KindText, RoleResident, "", created.Add(time.Second)) // the resident writes first: not an accepting
			for j, s := range c.accepted {
				msg(kindSystem, roleSystem, eventAccepted, created.Add(time.Duration(s)*time.Second))
				if j < len(c.accepted)-1 {
					msg(kindSystem, roleSystem, eventRequeued, created.Add(time.Duration(s+1)*time.Second))
				}
			}
			if c.status == "closed" {
				msg(kindSystem, roleSystem, eventClosed, created.Add(2*time.Hour))
			}
		}
		loc, err := time.LoadLocation("Europe/Helsinki")
		if err != nil {
			t.Fatal(err)
		}
		from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 1, 0, 0, 0, 0, loc)
		s := NewStore(db, nil)
		for _, tc := range []struct {
			name   string
			region int64
			want   WaitFigures
		}{
			{"east", east, WaitFigures{Started: 7, Seconds: []int64{30, 59, 60, 120, 3600}}},
			{"west", west, WaitFigures{Started: 1, Seconds: []int64{300}}},
			{"all", 0, WaitFigures{Started: 9, Seconds: []int64{5, 30, 59, 60, 120, 300, 3600}}},
		} {
			got, err := s.Waits(ctx, from, to, tc.region)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
			}
		}
		// A second either way at each end.
		got, err := s.Waits(ctx, from.Add(-time.Second), to.Add(time.Second), east)
		if err != nil || got.Started != 9 || !reflect.DeepEqual(got.Seconds, []int64{10, 10, 30, 59, 60, 120, 3600}) {
			t.Errorf("a second wider: %+v, %v", got, err)
		}
		got, err = s.Waits(ctx, from.Add(time.Second), to.Add(-time.Second), east)
		if err != nil || got.Started != 5 || !reflect.DeepEqual(got.Seconds, []int64{59, 60, 120}) {
			t.Errorf("a second narrower: %+v, %v", got, err)
		}
		if got, err := s.Waits(ctx, from, to, 99); err != nil || got.Started != 0 || got.Seconds != nil {
			t.Errorf("a region without chats: %+v, %v", got, err)
		}

		firsts, err := s.FirstChats(ctx, []int64{aino, bertta, cecilia})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]time.Time{aino: statsTime(t, "2025-12-31T21:59:59Z"), bertta: statsTime(t, "2026-01-10T10:00:00Z")}
		if len(firsts) != len(want) {
			t.Errorf("first chats %v, want %v", firsts, want)
		}
		for id, w := range want {
			if !firsts[id].Equal(w) {
				t.Errorf("first chat of %d: %v, want %v", id, firsts[id], w)
			}
		}
		if firsts, err := s.FirstChats(ctx, nil); err != nil || len(firsts) != 0 {
			t.Errorf("nobody's first chats: %v, %v", firsts, err)
		}
	})
}
