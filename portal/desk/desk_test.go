package desk_test

import (
	"context"
	"fmt"
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
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// TestDeskAndAccessLog: staff see the desk with every feature's section;
// residents are refused; only admins read the access log, which records
// their reading, filters by post and shows actions in words.
func TestDeskAndAccessLog(t *testing.T) {
	db := dbtest.SQLite(t)
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	log := audit.New(db.Gorm, nil)
	d := desk.New(fe, log, a.Users(), regions.NewStore(db.Gorm))
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

// TestStaffRegions: the admin lists staff with role, region and last
// login, and assigns a region; a region that does not exist, a resident
// and a non-admin are refused and change nothing.
func TestStaffRegions(t *testing.T) {
	db := dbtest.SQLite(t)
	if err := db.Gorm.Exec("INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (7, 'ita', 'Itäinen', 'Östra', 'East')").Error; err != nil {
		t.Fatal(err)
	}
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	desk.New(fe, audit.New(db.Gorm, nil), a.Users(), regions.NewStore(db.Gorm)).Register(app)
	advisor := authtest.Login(t, db.Gorm, auth.RoleAdvisor, "Aaro Advisor")
	admin := authtest.Login(t, db.Gorm, auth.RoleAdmin, "Pia Admin")
	resident := authtest.Login(t, db.Gorm, auth.RoleResident, "Riikka Resident")
	regionOf := func(id int64) *int64 {
		t.Helper()
		u, err := a.Users().ByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return u.RegionID
	}

	st, body := authtest.Do(t, app, "GET", "/admin/staff", admin, nil)
	if st != http.StatusOK || !strings.Contains(body, "Aaro Advisor") || !strings.Contains(body, "Pia Admin") ||
		strings.Contains(body, "Riikka Resident") || !strings.Contains(body, "Itäinen") {
		t.Fatalf("staff page = %d, want both staff members, not the resident, and the regions", st)
	}
	if st, _ := authtest.Do(t, app, "GET", "/admin/staff", advisor, nil); st != http.StatusForbidden {
		t.Errorf("an advisor reads the staff page: %d", st)
	}
	path := fmt.Sprintf("/admin/staff/%d/region", advisor.ID)
	for name, tc := range map[string]struct {
		u      *authtest.User
		path   string
		form   url.Values
		status int
	}{
		"no such region":     {admin, path, url.Values{"_csrf": {admin.CSRF}, "region": {"99"}}, http.StatusUnprocessableEntity},
		"not a number":       {admin, path, url.Values{"_csrf": {admin.CSRF}, "region": {"x"}}, http.StatusUnprocessableEntity},
		"a resident's row":   {admin, fmt.Sprintf("/admin/staff/%d/region", resident.ID), url.Values{"_csrf": {admin.CSRF}, "region": {"7"}}, http.StatusNotFound},
		"an advisor posting": {advisor, path, url.Values{"_csrf": {advisor.CSRF}, "region": {"7"}}, http.StatusForbidden},
		"no CSRF token":      {admin, path, url.Values{"region": {"7"}}, http.StatusForbidden},
	} {
		if st, _ := authtest.Do(t, app, "POST", tc.path, tc.u, tc.form); st != tc.status {
			t.Errorf("%s: %d, want %d", name, st, tc.status)
		}
	}
	if r := regionOf(advisor.ID); r != nil {
		t.Fatalf("refused posts set region %d", *r)
	}
	if st, _ := authtest.Do(t, app, "POST", path, admin, url.Values{"_csrf": {admin.CSRF}, "region": {"7"}}); st != http.StatusSeeOther {
		t.Fatalf("assign: %d", st)
	}
	if r := regionOf(advisor.ID); r == nil || *r != 7 {
		t.Errorf("region %v, want 7", r)
	}
	if st, _ := authtest.Do(t, app, "POST", path, admin, url.Values{"_csrf": {admin.CSRF}, "region": {""}}); st != http.StatusSeeOther || regionOf(advisor.ID) != nil {
		t.Errorf("clearing the region: %d, region %v", st, regionOf(advisor.ID))
	}
}
