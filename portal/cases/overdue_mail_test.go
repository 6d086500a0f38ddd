package cases_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// TestOverdueNotice: a resident whose plan falls behind gets one notice,
// in their language, with a link and nothing of the debt; running again
// sends nothing new; when the late instalment is paid and the next falls
// overdue, one more; a resident without e-mail and a closed case get none.
func TestOverdueNotice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		clock := clocktest.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		a := authtest.New(t, db.Gorm)
		app, fe := authtest.App(t, a)
		outbox := mail.NewOutbox(db.Gorm, clock.Now)
		public, _ := url.Parse("https://asumisneuvonta.example")
		svc := cases.New(cases.Options{DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
			Audit: audit.New(db.Gorm, clock.Now), Now: clock.Now, OverdueMail: &cases.OverdueMail{Outbox: outbox, PublicURL: public}})
		svc.Register(app)
		e.app, e.svc = app, svc
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		bertta := e.person(auth.RoleResident, "Bertta Ilman", 0)
		if err := db.Gorm.Exec("UPDATE users SET email = 'aino@example.test', preferred_lang = 'sv' WHERE id = ?", aino.ID).Error; err != nil {
			t.Fatal(err)
		}
		plan := func(who *authtest.User) string {
			t.Helper()
			if st, _ := e.do(http.MethodPost, "/desk/cases/new", minna, url.Values{"resident": {fmt.Sprint(who.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
				t.Fatal(st)
			}
			var id int64
			if err := db.Gorm.Raw("SELECT id FROM cases WHERE resident_id = ?", who.ID).Scan(&id).Error; err != nil {
				t.Fatal(err)
			}
			path := fmt.Sprintf("/desk/cases/%d", id)
			if st, _ := e.do(http.MethodPost, path+"/plan?why=work", minna, url.Values{"total": {"900"}, "instalment": {"300"}, "due_day": {"15"}, "start": {"2026-01-01"}}); st != http.StatusSeeOther {
				t.Fatalf("plan: %d", st)
			}
			return path
		}
		ainoCase := plan(aino)
		plan(bertta) // behind too, but no e-mail address
		sent := func() []mail.Stored {
			t.Helper()
			var out []mail.Stored
			if err := db.Gorm.Order("id").Find(&out).Error; err != nil {
				t.Fatal(err)
			}
			return out
		}
		ctx := context.Background()
		for range 2 {
			if _, err := svc.SendOverdueNotices(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := sent()
		if len(got) != 1 || got[0].Recipient != "aino@example.test" {
			t.Fatalf("after two runs: %d mails (%+v), want one to Aino", len(got), got)
		}
		if !strings.Contains(got[0].Subject, "Mina ärenden") || !strings.Contains(got[0].BodyText, "https://asumisneuvonta.example/my/case") {
			t.Errorf("the notice is not Swedish or lacks the link: %q %q", got[0].Subject, got[0].BodyText)
		}
		for _, secret := range []string{"300", "900", "2026", "maksu", "betal", "skuld"} {
			if strings.Contains(got[0].BodyText, secret) || strings.Contains(got[0].Subject, secret) {
				t.Errorf("the notice tells %q", secret)
			}
		}
		// January's instalment paid in February; February's is late now.
		if st, _ := e.do(http.MethodPost, ainoCase+"/payments?why=work", minna, url.Values{"paid_on": {"2026-02-20"}, "amount": {"300"}}); st != http.StatusSeeOther {
			t.Fatalf("payment: %d", st)
		}
		if _, err := svc.SendOverdueNotices(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(sent()); n != 2 {
			t.Errorf("after the next instalment fell behind: %d mails, want 2", n)
		}
		if st, _ := e.do(http.MethodPost, ainoCase+"/close?why=work", minna, url.Values{"outcome": {"housing_continues"}}); st != http.StatusSeeOther {
			t.Fatalf("close: %d", st)
		}
		clock.Add(31 * 24 * time.Hour)
		if _, err := svc.SendOverdueNotices(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(sent()); n != 2 {
			t.Errorf("a closed case's plan sent notices: %d mails", n)
		}
	})
}
