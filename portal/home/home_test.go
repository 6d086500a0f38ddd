package home_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/home"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// TestFrontPageAndOmaAsiointi: the front page lists each region's phone
// number with its phone hours in the visitor's language; Oma asiointi asks
// for a login, shows a resident every feature's section and sends staff to
// their desk; the information pages answer in every language.
func TestFrontPageAndOmaAsiointi(t *testing.T) {
	db := dbtest.SQLite(t)
	if err := db.Gorm.Create(&regions.Region{Code: "east", NameFI: "Itä", NameSV: "Öster", NameEN: "East", Phone: "09 310 10004",
		PhoneHoursFI: "ma–pe 9–15", PhoneHoursSV: "mån–fre 9–15", PhoneHoursEN: "Mon–Fri 9–15"}).Error; err != nil {
		t.Fatal(err)
	}
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	p := home.New(fe, regions.NewStore(db.Gorm))
	p.AddMySection(func(*fiber.Ctx) (frontend.Section, error) {
		return frontend.Section{TitleKey: "nav.booking", Template: "partials/section-links",
			Data: []frontend.Link{{Label: "My appointments", URL: "/booking"}}}, nil
	})
	p.Register(app)
	resident := authtest.Login(t, db.Gorm, auth.RoleResident, "Riikka Resident")
	advisor := authtest.Login(t, db.Gorm, auth.RoleAdvisor, "Aaro Advisor")

	cases := []struct {
		name, path string
		u          *authtest.User
		status     int
		want       []string
	}{
		{"front page in Finnish", "/", nil, http.StatusOK, []string{"Itä", `href="tel:0931010004"`, "ma–pe 9–15"}},
		{"front page in Swedish", "/?lang=sv", nil, http.StatusOK, []string{"Öster", "mån–fre 9–15"}},
		{"front page in English", "/?lang=en", nil, http.StatusOK, []string{"East", "Mon–Fri 9–15"}},
		{"Oma asiointi asks for a login", "/my", nil, http.StatusSeeOther, nil},
		{"Oma asiointi shows the sections", "/my", resident, http.StatusOK, []string{"My appointments", "Riikka Resident"}},
		{"staff go to their desk", "/my", advisor, http.StatusSeeOther, nil},
		{"accessibility statement", "/accessibility?lang=sv", nil, http.StatusOK, []string{"Tillgänglighetsutlåtande"}},
		{"privacy", "/privacy?lang=en", nil, http.StatusOK, []string{"Cookies"}},
		{"feedback", "/feedback", nil, http.StatusOK, []string{"Kiireellinen asia"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := authtest.Do(t, app, "GET", tc.path, tc.u, nil)
			if st != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, st, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tc.path, w)
				}
			}
		})
	}
}
