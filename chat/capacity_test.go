package chat

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// csrfInstance serves in's chat behind the CSRF check, as the portal does,
// so that the forms are posted with their token.
func csrfInstance(e *env, in *instance) *instance {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: e.frontend().ErrorHandler(slog.New(slog.DiscardHandler))})
	app.Use(e.auth.Session(), e.auth.CSRF())
	in.svc.Register(app)
	return &instance{svc: in.svc, url: in.url, app: app}
}

// csrfToken is the token of u's session (see env.user).
func csrfToken(u *testUser) string {
	return "csrf-" + strings.TrimPrefix(u.cookie, "asn_session=")[:8]
}

func TestCapacity(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		fe := e.frontend()
		in := e.instance(t)
		web := csrfInstance(e, in)
		region := seedRegion(t, e)
		admin := e.user(t, auth.RoleAdmin, "Pirjo")
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		newcomer := e.user(t, auth.RoleAdvisor, "Ville") // no chat_advisors row yet
		resident := e.user(t, auth.RoleResident, "Aino")
		ctx := context.Background()
		def := in.svc.cfg.Capacity
		if err := e.db.Gorm.Table("users").Where("id = ?", advisor.ID).Update("region_id", region.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := in.svc.store.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
			t.Fatal(err)
		}
		state := func(t *testing.T, id int64) AdvisorState {
			t.Helper()
			states, err := in.svc.store.Advisors(ctx, []int64{id}, def)
			if err != nil {
				t.Fatal(err)
			}
			return states[id]
		}
		row := func(t *testing.T, id int64) (advisorRow, bool) {
			t.Helper()
			var rows []advisorRow
			if err := e.db.Gorm.Where("user_id = ?", id).Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				return advisorRow{}, false
			}
			return rows[0], true
		}
		save := func(t *testing.T, who *testUser, userID int64, capacity string) (int, string) {
			t.Helper()
			resp, body := web.do(t, "POST", "/chat/admin/capacity", who.cookie, url.Values{
				"_csrf": {csrfToken(who)}, "user": {strconv.FormatInt(userID, 10)}, "capacity": {capacity}})
			return resp.StatusCode, body
		}
		aid := strconv.FormatInt(advisor.ID, 10)

		t.Run("the admin page lists the staff with the default", func(t *testing.T) {
			resp, body := web.do(t, "GET", "/chat/admin", admin.cookie, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("admin page: status %d", resp.StatusCode)
			}
			help := template.HTMLEscapeString(fe.T(frontend.DefaultLang, "chat.admin.capacity_help", map[string]any{"Default": def}))
			for _, want := range []string{
				`action="/chat/admin/capacity"`, `name="_csrf" value="` + csrfToken(admin) + `"`,
				`id="capacity-` + aid + `"`, `id="capacity-` + strconv.FormatInt(admin.ID, 10) + `"`,
				`id="capacity-` + strconv.FormatInt(newcomer.ID, 10) + `"`, `<th scope="row">Anna Testinen</th>`, "<td>Itä</td>",
				`id="capacity-help">` + help, "0 / " + strconv.Itoa(def),
			} {
				if !strings.Contains(body, want) {
					t.Errorf("the admin page lacks %s", want)
				}
			}
			if strings.Contains(body, `id="capacity-`+strconv.FormatInt(resident.ID, 10)+`"`) {
				t.Error("a resident is listed among the advisors")
			}
		})

		t.Run("a capacity of 5 is kept and counts", func(t *testing.T) {
			// The desk of the advisor hears of the change on its socket.
			ac := mustDial(t, in.url, advisor.cookie)
			ac.send(map[string]any{"type": "hello"})
			if _, ok := ac.next(typeQueue, 5*time.Second); !ok {
				t.Fatal("no queue frame on connect")
			}
			for { // until the queue is quiet, so the next frame is the save's
				if _, ok := ac.next(typeQueue, 500*time.Millisecond); !ok {
					break
				}
			}
			before, _ := row(t, advisor.ID)
			if code, _ := save(t, admin, advisor.ID, "5"); code != fiber.StatusSeeOther {
				t.Fatalf("save 5: status %d", code)
			}
			if _, ok := ac.next(typeQueue, 5*time.Second); !ok {
				t.Error("the desk was not told of the new capacity")
			}
			a := state(t, advisor.ID)
			if a.Capacity != 5 || !a.OwnCapacity || a.Status != AdvisorAvailable || !a.CanAccept() {
				t.Fatalf("after saving 5: %+v", a)
			}
			after, _ := row(t, advisor.ID)
			if after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) || after.SeenAt == nil || !after.SeenAt.Equal(*before.SeenAt) {
				t.Errorf("saving the capacity changed the status or presence: %+v, was %+v", after, before)
			}
			for range 5 {
				e.activeConversation(t, in, resident, advisor)
			}
			if a := state(t, advisor.ID); a.Active != 5 || a.CanAccept() {
				t.Fatalf("with 5 of 5 chats: %+v", a)
			}
			cv := &Conversation{ResidentID: &resident.ID, Topic: "general", Lang: "fi"}
			if err := in.svc.store.NewConversation(ctx, cv); err != nil {
				t.Fatal(err)
			}
			if _, err := in.svc.store.Accept(ctx, cv.ID, advisor.principal(), 10); !errors.Is(err, errCapacity) {
				t.Fatalf("a sixth chat: %v, want errCapacity", err)
			}
			_, body := web.do(t, "GET", "/chat/admin", admin.cookie, nil)
			for _, want := range []string{`id="capacity-` + aid + `" name="capacity" class="hds-text-input__input" inputmode="numeric" value="5"`, "5 / 5"} {
				if !strings.Contains(body, want) {
					t.Errorf("the admin page lacks %s", want)
				}
			}
		})

		t.Run("bad input is shown again and changes nothing", func(t *testing.T) {
			msg := template.HTMLEscapeString(fe.T(frontend.DefaultLang, "chat.admin.capacity_invalid"))
			for _, bad := range []string{"0", "21", "abc", "-1", "2.5", "1e1"} {
				t.Run(bad, func(t *testing.T) {
					code, body := save(t, admin, advisor.ID, bad)
					if code != fiber.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422", code)
					}
					for _, want := range []string{`href="#capacity-` + aid + `"`, `id="capacity-` + aid + `-error">` + msg,
						`value="` + template.HTMLEscapeString(bad) + `" aria-describedby="capacity-` + aid + `-error capacity-help" aria-invalid="true"`} {
						if !strings.Contains(body, want) {
							t.Errorf("the page lacks %s", want)
						}
					}
					if a := state(t, advisor.ID); a.Capacity != 5 || !a.OwnCapacity {
						t.Errorf("stored capacity after %q: %+v, want 5", bad, a)
					}
				})
			}
		})

		t.Run("empty returns to the default", func(t *testing.T) {
			if code, _ := save(t, admin, advisor.ID, ""); code != fiber.StatusSeeOther {
				t.Fatalf("save empty: status %d", code)
			}
			a := state(t, advisor.ID)
			if a.Capacity != def || a.OwnCapacity || a.Status != AdvisorAvailable || a.CanAccept() {
				t.Fatalf("after saving empty: %+v, want the default %d and 5 chats too many", a, def)
			}
			if r, _ := row(t, advisor.ID); r.Capacity != nil {
				t.Errorf("stored capacity %d, want NULL", *r.Capacity)
			}
		})

		t.Run("an advisor without a status gets one, away", func(t *testing.T) {
			if _, ok := row(t, newcomer.ID); ok {
				t.Fatal("the newcomer already has a row")
			}
			if code, _ := save(t, admin, newcomer.ID, "7"); code != fiber.StatusSeeOther {
				t.Fatalf("save 7: status %d", code)
			}
			r, ok := row(t, newcomer.ID)
			if !ok || r.Status != advisorAway || r.SeenAt != nil || r.Capacity == nil || *r.Capacity != 7 {
				t.Fatalf("newcomer's row: %+v (found %v)", r, ok)
			}
			if a := state(t, newcomer.ID); a.Capacity != 7 || a.Status != advisorAway || a.Absent {
				t.Errorf("newcomer: %+v", a)
			}
			// Their own status choice keeps the capacity.
			if err := in.svc.store.SetStatus(ctx, newcomer.ID, AdvisorAvailable); err != nil {
				t.Fatal(err)
			}
			if a := state(t, newcomer.ID); a.Capacity != 7 || a.Status != AdvisorAvailable {
				t.Errorf("newcomer after choosing available: %+v", a)
			}
		})

		t.Run("only admins, with the form's token, for staff", func(t *testing.T) {
			if code, _ := save(t, advisor, advisor.ID, "20"); code != fiber.StatusForbidden {
				t.Errorf("an advisor: status %d, want 403", code)
			}
			resp, _ := web.do(t, "POST", "/chat/admin/capacity", admin.cookie, url.Values{"user": {aid}, "capacity": {"20"}})
			if resp.StatusCode != fiber.StatusForbidden {
				t.Errorf("no CSRF token: status %d, want 403", resp.StatusCode)
			}
			if a := state(t, advisor.ID); a.Capacity != def || a.OwnCapacity {
				t.Errorf("refused requests changed the capacity: %+v", a)
			}
			if code, _ := save(t, admin, resident.ID, "4"); code != fiber.StatusNotFound {
				t.Errorf("a resident's capacity: status %d, want 404", code)
			}
			if _, ok := row(t, resident.ID); ok {
				t.Error("a resident got a chat_advisors row")
			}
			resp, _ = web.do(t, "POST", "/chat/admin/capacity", admin.cookie, url.Values{"_csrf": {csrfToken(admin)}, "user": {"x"}, "capacity": {"4"}})
			if resp.StatusCode != fiber.StatusUnprocessableEntity {
				t.Errorf("no user: status %d, want 422", resp.StatusCode)
			}
		})
	})
}

func TestSetCapacityRange(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		in := e.instance(t)
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		ctx := context.Background()
		for _, n := range []int{0, maxCapacity + 1} {
			if err := in.svc.store.SetCapacity(ctx, advisor.ID, &n); err == nil {
				t.Errorf("capacity %d was stored", n)
			}
		}
		for _, n := range []int{1, maxCapacity} {
			if err := in.svc.store.SetCapacity(ctx, advisor.ID, &n); err != nil {
				t.Errorf("capacity %d: %v", n, err)
			}
		}
	})
}
