package chat

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

func availableAdvisors(t *testing.T, s *Store) int {
	t.Helper()
	n, err := s.AvailableAdvisors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func advisorState(t *testing.T, s *Store, id int64) AdvisorState {
	t.Helper()
	states, err := s.Advisors(context.Background(), []int64{id}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return states[id]
}

// setStatus chooses a status on the desk, as the advisor's form does.
func setStatus(t *testing.T, in *instance, u *testUser, status string) {
	t.Helper()
	if resp, _ := in.do(t, "POST", "/chat/desk/status", u.cookie, url.Values{"status": {status}}); resp.StatusCode != fiber.StatusSeeOther {
		t.Fatalf("set status %s: %d", status, resp.StatusCode)
	}
}

// greet opens a socket and waits until the hub has it.
func greet(t *testing.T, in *instance, u *testUser) *wsClient {
	t.Helper()
	c := mustDial(t, in.url, u.cookie)
	c.send(map[string]any{"type": "hello", "v": 1})
	if _, ok := c.next(typeWelcome, 5*time.Second); !ok {
		t.Fatal("no welcome")
	}
	return c
}

// queueWith waits for a queue frame on c that satisfies ok.
func queueWith(t *testing.T, c *wsClient, what string, ok func(frame) bool) frame {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, got := c.next(typeQueue, time.Until(deadline))
		if !got {
			t.Fatalf("no queue frame with %s", what)
		}
		if ok(f) {
			return f
		}
	}
}

func queued(t *testing.T, s *Store, resident *testUser) *Conversation {
	t.Helper()
	cv := &Conversation{ResidentID: &resident.ID, Topic: "rent_debt", Lang: "fi"}
	if err := s.NewConversation(context.Background(), cv); err != nil {
		t.Fatal(err)
	}
	return cv
}

func TestLogoutSetsAdvisorAway(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		a, b := e.instance(t), e.instance(t)
		leaving := e.user(t, auth.RoleAdvisor, "Anna")
		staying := e.user(t, auth.RoleAdvisor, "Aapo")
		resident := e.user(t, auth.RoleResident, "Aino")
		setStatus(t, a, leaving, AdvisorAvailable)
		setStatus(t, a, staying, AdvisorAvailable)
		if n := availableAdvisors(t, a.svc.store); n != 2 {
			t.Fatalf("available before logout: %d, want 2", n)
		}
		desk := greet(t, b, staying) // the other advisor's desk, on the other instance
		greet(t, a, leaving)

		// The login routes on an app of their own: logging out runs the
		// hooks of both instances' chat.
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Use(e.auth.Session())
		e.auth.Register(app, func(c *fiber.Ctx) error { return c.Next() })
		for _, u := range []*testUser{resident, leaving} {
			req := httptest.NewRequest("POST", "/logout", nil)
			req.Header.Set("Cookie", u.cookie)
			resp, err := app.Test(req, 10000)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("logout of %s: %d", u.GivenName, resp.StatusCode)
			}
		}

		if st := advisorState(t, a.svc.store, leaving.ID); st.Status != advisorAway || st.Absent {
			t.Errorf("after logout: %+v, want away by logout", st)
		}
		if st := advisorState(t, a.svc.store, staying.ID); st.Status != AdvisorAvailable {
			t.Errorf("the other advisor: %+v, want available", st)
		}
		if n := availableAdvisors(t, a.svc.store); n != 1 {
			t.Fatalf("available after logout: %d, want 1", n)
		}
		d, _, err := b.svc.availability(context.Background(), "fi")
		if err != nil {
			t.Fatal(err)
		}
		if d.Available != 1 {
			t.Errorf("the chat page counts %d advisors, want 1", d.Available)
		}
		// The queues on every instance learn of it.
		queueWith(t, desk, "1 available", func(f frame) bool { return f.Available == 1 })
	})
}

func TestPresenceLapsesWithoutADesk(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		clk := clocktest.New(time.Now().UTC())
		e.now = clk.Now
		e.lim.PresenceInterval = 20 * time.Millisecond // and PresenceTTL a minute on the test clock
		e.frontend()
		in := e.instance(t)
		store := in.svc.store
		atDesk := e.user(t, auth.RoleAdvisor, "Anna")
		gone := e.user(t, auth.RoleAdvisor, "Aapo")
		resident := e.user(t, auth.RoleResident, "Aino")
		setStatus(t, in, atDesk, AdvisorAvailable)
		setStatus(t, in, gone, AdvisorAvailable)
		ws := greet(t, in, atDesk) // gone closed the browser

		// 40 s at a time: each time the heartbeat renews the advisor with
		// a socket; the other lapses once a minute has passed.
		for i := range 5 {
			clk.Add(40 * time.Second)
			want := clk.Now().Add(-time.Second)
			deadline := time.Now().Add(5 * time.Second)
			for {
				var row advisorRow
				if err := e.db.Gorm.Where("user_id = ?", atDesk.ID).Take(&row).Error; err != nil {
					t.Fatal(err)
				}
				if row.SeenAt != nil && !row.SeenAt.Before(want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("interval %d: presence not renewed (seen %v, now %v)", i, row.SeenAt, clk.Now())
				}
				time.Sleep(10 * time.Millisecond)
			}
			want2 := 1
			if i == 0 {
				want2 = 2
			}
			if n := availableAdvisors(t, store); n != want2 {
				t.Fatalf("interval %d: %d available, want %d", i, n, want2)
			}
			if st := advisorState(t, store, atDesk.ID); st.Status != AdvisorAvailable || !st.CanAccept() {
				t.Fatalf("interval %d: the advisor at the desk is %+v", i, st)
			}
		}
		// The lapse reached the queue without anyone changing a status.
		queueWith(t, ws, "1 available", func(f frame) bool { return f.Available == 1 && f.CanAccept })

		st := advisorState(t, store, gone.ID)
		if st.Status != advisorAway || !st.Absent || st.CanAccept() {
			t.Fatalf("lapsed advisor: %+v, want away and absent", st)
		}
		if d, _, err := in.svc.availability(ctx, "fi"); err != nil || d.Available != 1 {
			t.Fatalf("the chat page counts %d advisors (%v), want 1", d.Available, err)
		}

		cv := queued(t, store, resident)
		t.Run("no chat for a lapsed advisor", func(t *testing.T) {
			if resp, _ := in.do(t, "POST", "/chat/desk/next", gone.cookie, nil); resp.StatusCode != fiber.StatusConflict {
				t.Errorf("take next: %d, want 409", resp.StatusCode)
			}
			if resp, _ := in.do(t, "POST", "/chat/desk/c/"+strconv.FormatInt(cv.ID, 10)+"/accept", gone.cookie, nil); resp.StatusCode != fiber.StatusConflict {
				t.Errorf("accept: %d, want 409", resp.StatusCode)
			}
			if got, err := store.Conversation(ctx, cv.ID); err != nil || got.Status != statusQueued {
				t.Fatalf("conversation after the refusals: %+v, %v", got, err)
			}
			_, body := in.do(t, "GET", "/chat/desk/queue", gone.cookie, nil)
			if !strings.Contains(body, `"status":"away"`) || strings.Contains(body, `"canAccept":true`) {
				t.Errorf("desk queue of a lapsed advisor: %s", body)
			}
		})
		t.Run("the desk says why, and opening it does not make one available", func(t *testing.T) {
			resp, body := in.do(t, "GET", "/chat/desk", gone.cookie, nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "Olet poissa: chat-työpöytä ei ollut auki") ||
				!strings.Contains(body, `value="away" class="hds-radio-button__input" checked`) {
				t.Fatalf("desk of a lapsed advisor: %d, no notice or away not chosen", resp.StatusCode)
			}
			if n := availableAdvisors(t, store); n != 1 {
				t.Fatalf("after opening the desk: %d available, want 1", n)
			}
		})
		t.Run("no transfer to a lapsed advisor", func(t *testing.T) {
			if resp, _ := in.do(t, "POST", "/chat/desk/next", atDesk.cookie, nil); resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("take next at the desk: %d", resp.StatusCode)
			}
			if _, err := store.TransferToAdvisor(ctx, cv.ID, atDesk.principal(), gone.ID, 3); !errors.Is(err, errCapacity) {
				t.Fatalf("transfer to a lapsed advisor: %v, want errCapacity", err)
			}
		})
		t.Run("choosing available again", func(t *testing.T) {
			setStatus(t, in, gone, AdvisorAvailable)
			if n := availableAdvisors(t, store); n != 2 {
				t.Fatalf("%d available, want 2", n)
			}
			resp, body := in.do(t, "GET", "/chat/desk", gone.cookie, nil)
			if resp.StatusCode != 200 || strings.Contains(body, "Olet poissa") ||
				!strings.Contains(body, `value="available" class="hds-radio-button__input" checked`) {
				t.Fatalf("desk after choosing available: %d", resp.StatusCode)
			}
			next := queued(t, store, resident)
			if resp, _ := in.do(t, "POST", "/chat/desk/next", gone.cookie, nil); resp.StatusCode != fiber.StatusSeeOther {
				t.Fatalf("take next: %d", resp.StatusCode)
			}
			got, err := store.Conversation(ctx, next.ID)
			if err != nil || got.Status != statusActive || got.AdvisorID == nil || *got.AdvisorID != gone.ID {
				t.Fatalf("conversation: %+v, %v; want it active with the advisor", got, err)
			}
		})
		t.Run("nobody present: closed", func(t *testing.T) {
			_ = ws.conn.Close()
			clk.Add(2 * time.Minute)
			if n := availableAdvisors(t, store); n != 0 {
				t.Fatalf("%d available, want 0", n)
			}
			if open, err := in.svc.IsOpen(ctx); err != nil || open {
				t.Fatalf("open with nobody present: %v, %v", open, err)
			}
		})
	})
}

func TestPresenceStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		users := auth.NewUsers(db.Gorm)
		newUser := func(role auth.Role, name string) *auth.User {
			u, err := users.Upsert(ctx, &auth.User{Issuer: "test", Subject: name, Role: role, Name: name, GivenName: name}, true)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		advisor := newUser(auth.RoleAdvisor, "Anna")
		resident := newUser(auth.RoleResident, "Aino")

		t.Run("status then accept, as cmd/chatbench seeds", func(t *testing.T) {
			s := NewStore(db, nil)
			cv := &Conversation{ResidentID: &resident.ID, Topic: "rent_debt", Lang: "fi"}
			if err := s.NewConversation(ctx, cv); err != nil {
				t.Fatal(err)
			}
			if err := s.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Accept(ctx, cv.ID, &Principal{UserID: advisor.ID, Role: "advisor", Name: "Anna"}, 3); err != nil {
				t.Fatalf("accept right after choosing available: %v", err)
			}
		})
		t.Run("a lapsed presence", func(t *testing.T) {
			clk := clocktest.New(time.Now().UTC())
			s := NewStore(db, clk.Now)
			if err := s.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
				t.Fatal(err)
			}
			clk.Add(DefaultLimits().PresenceTTL - time.Second)
			if n := availableAdvisors(t, s); n != 1 {
				t.Fatalf("within the TTL: %d available, want 1", n)
			}
			clk.Add(2 * time.Second)
			if n := availableAdvisors(t, s); n != 0 {
				t.Fatalf("past the TTL: %d available, want 0", n)
			}
			if st := advisorState(t, s, advisor.ID); st.Status != advisorAway || !st.Absent {
				t.Fatalf("past the TTL: %+v", st)
			}
			cv := &Conversation{ResidentID: &resident.ID, Topic: "eviction", Lang: "fi"}
			if err := s.NewConversation(ctx, cv); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Accept(ctx, cv.ID, &Principal{UserID: advisor.ID, Role: "advisor"}, 3); !errors.Is(err, errCapacity) {
				t.Fatalf("accept past the TTL: %v, want errCapacity", err)
			}
			// A socket that comes back does not revive a lapsed presence.
			if err := s.Touch(ctx, []int64{advisor.ID}); err != nil {
				t.Fatal(err)
			}
			if n := availableAdvisors(t, s); n != 0 {
				t.Fatalf("touched after the lapse: %d available, want 0", n)
			}
			if err := s.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
				t.Fatal(err)
			}
			// Renewed before it lapses, it lasts.
			for range 3 {
				clk.Add(DefaultLimits().PresenceTTL / 2)
				if err := s.Touch(ctx, []int64{advisor.ID}); err != nil {
					t.Fatal(err)
				}
			}
			if n := availableAdvisors(t, s); n != 1 {
				t.Fatalf("renewed: %d available, want 1", n)
			}
			if _, err := s.Accept(ctx, cv.ID, &Principal{UserID: advisor.ID, Role: "advisor"}, 3); err != nil {
				t.Fatalf("accept when present: %v", err)
			}
		})
		t.Run("away on logout", func(t *testing.T) {
			s := NewStore(db, nil)
			for _, tc := range []struct {
				name string
				id   int64
				want bool
			}{
				{"available advisor", advisor.ID, true},
				{"already away", advisor.ID, false},
				{"never set a status", resident.ID, false},
			} {
				changed, err := s.SetAway(ctx, tc.id)
				if err != nil || changed != tc.want {
					t.Errorf("%s: changed %v, %v; want %v", tc.name, changed, err, tc.want)
				}
			}
			if st := advisorState(t, s, advisor.ID); st.Status != advisorAway {
				t.Fatalf("after SetAway: %+v", st)
			}
		})
	})
}
