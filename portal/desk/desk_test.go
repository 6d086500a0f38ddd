package desk_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/desk"
)

// TestDeskAndAccessLog: staff see the desk with every feature's section;
// residents are refused; only admins read the access log, which records
// their reading, filters by post and shows actions in words.
func TestDeskAndAccessLog(t *testing.T) {
	db := dbtest.SQLite(t)
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	log := audit.New(db.Gorm, nil)
	d := desk.New(fe, log)
	d.AddSection(func(*fiber.Ctx) (frontend.Section, error) {
		return frontend.Section{TitleKey: "nav.booking", Template: "partials/section-links",
			Data: []frontend.Link{{Label: "A feature's link", URL: "/desk/feature"}}}, nil
	})
	d.Register(app)

	resident := authtest.Login(t, db.Gorm, auth.RoleResident, "Riikka Resident")
	advisor := authtest.Login(t, db.Gorm, auth.RoleAdvisor, "Aaro Advisor")
	admin := authtest.Login(t, db.Gorm, auth.RoleAdmin, "Pia Admin")
	do := func(method, path string, u *authtest.User, form url.Values) (int, string) {
		t.Helper()
		return authtest.Do(t, app, method, path, u, form)
	}
	cases := []struct {
		name   string
		path   string
		u      *authtest.User
		status int
		want   string
	}{
		{"anonymous desk goes to the login", "/desk", nil, http.StatusSeeOther, ""},
		{"a resident is refused the desk", "/desk", resident, http.StatusForbidden, ""},
		{"an advisor sees every section", "/desk", advisor, http.StatusOK, "A feature&#39;s link"},
		{"an admin sees the desk too", "/desk", admin, http.StatusOK, "A feature&#39;s link"},
		{"an advisor is refused the access log", "/admin/access-log", advisor, http.StatusForbidden, ""},
		{"an admin reads the access log", "/admin/access-log", admin, http.StatusOK, "Lokitiedot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := do("GET", tc.path, tc.u, nil)
			if st != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("GET %s = %d, want %d with %q", tc.path, st, tc.status, tc.want)
			}
		})
	}
	// Reading the log wrote the log, once per opening, in words.
	st, body := do("POST", "/admin/access-log", admin, url.Values{"_csrf": {admin.CSRF}, "actor": {"Pia"}})
	if st != http.StatusOK || strings.Count(body, "Luki lokitietoja") != 1 || strings.Contains(body, "access_log.view") {
		t.Errorf("filtered access log = %d, want the admin's one reading in words", st)
	}
	if st, _ := do("POST", "/admin/access-log", admin, url.Values{"from": {"2026-01-01"}}); st != http.StatusForbidden {
		t.Errorf("a filter without the CSRF token: %d", st)
	}
	if st, body := do("POST", "/admin/access-log", admin, url.Values{"_csrf": {admin.CSRF}, "from": {"2026-02-01"}, "to": {"2026-01-01"}}); st != http.StatusUnprocessableEntity ||
		!strings.Contains(body, fe.T("fi", "accesslog.error.range")) {
		t.Errorf("an end before the start = %d", st)
	}
	rows, _, err := log.List(context.Background(), audit.Filter{Action: string(audit.AccessLogView)}, 1)
	if err != nil || len(rows) != 1 || rows[0].ActorName != "Pia Admin" {
		t.Errorf("access log of the access log: %v %v", rows, err)
	}
}
