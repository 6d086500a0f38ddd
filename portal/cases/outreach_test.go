package cases_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

func TestParseOutreachCSV(t *testing.T) {
	cases_ := []struct {
		name string
		file string
		want []string // "line ref name|address|postal cents months"
	}{
		{
			name: "Finnish Excel: semicolons, BOM, CRLF, columns in another order, extra column",
			file: "\uFEFFNimi;Vuokralaistunnus;Osoite;Postinumero;Kohde;Rästit_snt;Kuukausia\r\n  Asukas   Aino ;a 12-3;Itäkatu 1 A 2;00900;K1;125 050;3\r\n",
			want: []string{"2 A12-3 Asukas Aino|Itäkatu 1 A 2|00900 125050 3"},
		},
		{
			name: "commas, English headers, quoted address with a comma, blank lines",
			file: "\ntenant_reference,name,address,postal_code,arrears_cents,months_behind\n\nT1,Eeva Esimerkki,\"Länsitie 3, B 4\",00100,0,0\n",
			want: []string{"4 T1 Eeva Esimerkki|Länsitie 3, B 4|00100 0 0"},
		},
		{
			name: "Swedish headers",
			file: "hyresgästnummer;namn;adress;postnummer;hyresskuld_cent;månader\nS1;Sara Svensson;Östra gatan 1;00900;99;1\n",
			want: []string{"2 S1 Sara Svensson|Östra gatan 1|00900 99 1"},
		},
	}
	for _, tc := range cases_ {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := cases.ParseOutreachCSV(strings.NewReader(tc.file), 0)
			if err != nil {
				t.Fatalf("ParseOutreachCSV: %v", err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%d %s %s|%s|%s %d %d", r.Line, r.TenantRef, r.Name, r.Address, r.PostalCode, r.ArrearsCents, r.MonthsBehind))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rows\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestParseOutreachCSVRefuses(t *testing.T) {
	const head = "vuokralaistunnus;nimi;osoite;postinumero;rästit_snt;kuukausia\n"
	cases_ := []struct {
		name string
		file string
		want []cases.LineError
	}{
		{
			name: "every wrong column of every row",
			file: head + "A1;Aino;Katu 1;00900;100;1\n;Bertta;Katu 2;0090;12,50;x\nA3;;;00900;-1;1000\n",
			want: []cases.LineError{{Line: 3, Key: "cases.outreach.csv.error.reference"}, {Line: 3, Key: "cases.outreach.csv.error.postal_code"},
				{Line: 3, Key: "cases.outreach.csv.error.arrears"}, {Line: 3, Key: "cases.outreach.csv.error.months"},
				{Line: 4, Key: "cases.outreach.csv.error.name"}, {Line: 4, Key: "cases.outreach.csv.error.address"},
				{Line: 4, Key: "cases.outreach.csv.error.arrears"}, {Line: 4, Key: "cases.outreach.csv.error.months"}},
		},
		{
			name: "the same tenant twice",
			file: head + "A1;Aino;Katu 1;00900;100;1\na 1;Aino;Katu 1;00900;100;1\n",
			want: []cases.LineError{{Line: 3, Key: "cases.outreach.csv.error.duplicate"}},
		},
		{
			name: "arrears in euros, not cents: the header says so",
			file: "vuokralaistunnus;nimi;osoite;postinumero;rästit;kuukausia\nA1;Aino;Katu 1;00900;100;1\n",
			want: []cases.LineError{{Line: 1, Key: "cases.outreach.csv.error.columns"}},
		},
		{
			name: "a short row",
			file: head + "A1;Aino;Katu 1;00900\n",
			want: []cases.LineError{{Line: 2, Key: "cases.outreach.csv.error.columns"}},
		},
		{
			name: "no tenants",
			file: head + ";;;;;\n",
			want: []cases.LineError{{Line: 0, Key: "cases.outreach.csv.error.empty"}},
		},
		{
			name: "Latin-1",
			file: head + "A1;Vir\xe4;Katu 1;00900;100;1\n",
			want: []cases.LineError{{Line: 2, Key: "cases.csv.error.encoding"}},
		},
	}
	for _, tc := range cases_ {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := cases.ParseOutreachCSV(strings.NewReader(tc.file), 0)
			var ce *cases.CSVError
			if rows != nil || !errors.As(err, &ce) {
				t.Fatalf("rows %v, error %v; want no rows and a *CSVError", rows, err)
			}
			if !slices.Equal(ce.Lines, tc.want) {
				t.Errorf("lines %v, want %v", ce.Lines, tc.want)
			}
		})
	}
}

func TestOutreachRule(t *testing.T) {
	r := cases.OutreachRule{MinCents: cases.DefaultOutreachMinCents, MinMonths: cases.DefaultOutreachMinMonths}
	for _, tc := range []struct {
		cents  int64
		months int
		want   bool
	}{{50000, 0, true}, {49999, 1, false}, {0, 2, true}, {49999, 2, true}, {120000, 5, true}} {
		if got := r.Qualifies(tc.cents, tc.months); got != tc.want {
			t.Errorf("%d cents, %d months: %t, want %t", tc.cents, tc.months, got, tc.want)
		}
	}
}

// outreachEnv is newEnv with postal codes of two regions, an admin, an
// advisor of each region, and the residents the list will name.
type outreachEnv struct {
	*env
	pirjo, minna, ville, aino, bertta *authtest.User
	ainoCase                          int64
}

func newOutreachEnv(t *testing.T, db *database.DB) *outreachEnv {
	t.Helper()
	e := &outreachEnv{env: newEnv(t, db)}
	if err := db.Gorm.Exec("INSERT INTO postal_code_regions (postal_code, region_id) VALUES ('00900', 4), ('00100', 2)").Error; err != nil {
		t.Fatal(err)
	}
	e.pirjo = e.person(auth.RoleAdmin, "Pirjo Pääkäyttäjä", 0)
	e.minna = e.person(auth.RoleAdvisor, "Minna Neuvoja", 4)
	e.ville = e.person(auth.RoleAdvisor, "Ville Länsi", 2)
	e.aino = e.person(auth.RoleResident, "Aino Asukas", 0)
	e.bertta = e.person(auth.RoleResident, "Bertta Toinen", 0)
	for u, code := range map[*authtest.User]string{e.aino: "00900", e.bertta: "00100"} {
		if err := db.Gorm.Exec("UPDATE users SET postal_code = ? WHERE id = ?", code, u.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	// Aino has an open case; Bertta's is closed and matches nothing.
	e.ainoCase = e.openCase(e.minna, e.aino)
	berttaCase := e.openCase(e.ville, e.bertta)
	if st, _ := e.do("POST", fmt.Sprintf("/desk/cases/%d/close?why=work", berttaCase), e.ville, url.Values{"outcome": {"housing_continues"}}); st != http.StatusSeeOther {
		t.Fatalf("close: %d", st)
	}
	return e
}

func (e *outreachEnv) openCase(by, resident *authtest.User) int64 {
	e.t.Helper()
	if st, _ := e.do("POST", "/desk/cases/new", by, url.Values{"resident": {fmt.Sprint(resident.ID)}, "reason": {"rent_debt"}}); st != http.StatusSeeOther {
		e.t.Fatalf("open a case: %d", st)
	}
	var id int64
	if err := e.db.Gorm.Raw("SELECT id FROM cases WHERE resident_id = ? ORDER BY id DESC", resident.ID).Scan(&id).Error; err != nil || id == 0 {
		e.t.Fatalf("no case: %v", err)
	}
	return id
}

// upload posts an arrears list as u and returns the status, where it
// redirects, the flash it sets and the body.
func (e *outreachEnv) upload(u *authtest.User, file string) (status int, location, flash, body string) {
	e.t.Helper()
	var b strings.Builder
	w := multipart.NewWriter(&b)
	if err := w.WriteField("_csrf", u.CSRF); err != nil {
		e.t.Fatal(err)
	}
	fw, err := w.CreateFormFile("file", "rastit.csv")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := fw.Write([]byte(file)); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/desk/cases/outreach/import", strings.NewReader(b.String()))
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Cookie", u.Cookie)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "portal_flash" {
			flash = c.Value
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), flash, string(raw)
}

// task is an outreach task's row as the tests compare it.
type task struct {
	ID           int64
	TenantRef    string
	Name         string
	Address      string
	RegionID     int64
	ArrearsCents int64
	MonthsBehind int
	CaseID       int64
	Status       string
	Outcome      string
	Note         string
}

func (e *outreachEnv) tasks() []task {
	e.t.Helper()
	var out []task
	err := e.db.Gorm.Raw(`SELECT id, tenant_ref, name, address, COALESCE(region_id, 0) AS region_id, arrears_cents, months_behind,
		COALESCE(case_id, 0) AS case_id, status, outcome, note FROM outreach_tasks ORDER BY id`).Scan(&out).Error
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *outreachEnv) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Gorm.Raw(query, args...).Scan(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// report is an import's report as the tests compare it.
func reportText(r *cases.OutreachReport) string {
	return fmt.Sprintf("rows %d created %d updated %d below %d matched %d no_region %d already %t unknown %v",
		r.RowsCount, r.CreatedCount, r.UpdatedCount, r.BelowCount, r.MatchedCount, r.NoRegionCount, r.Already, r.UnknownPostalCodes)
}

func (e *outreachEnv) report(location string) *cases.OutreachReport {
	e.t.Helper()
	var id int64
	if _, err := fmt.Sscanf(location, "/desk/cases/outreach/import?report=%d", &id); err != nil {
		e.t.Fatalf("redirect to %q: %v", location, err)
	}
	r, err := e.svc.OutreachImportReport(authtest.WithActor(context.Background(), e.pirjo), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

const firstList = "vuokralaistunnus;nimi;osoite;postinumero;rästit_snt;kuukausia\n" +
	"A-1;ASUKAS  aino;Itäkatu 1 A 2;00900;120000;3\n" + // over both limits; Aino's open case (names in the other order)
	"A-2;Cecilia Kolmas;Itäkatu 2;00900;60000;1\n" + // over the amount
	"A-3;Daniel Neljäs;Länsitie 3;00100;10000;2\n" + // over the months, in the west
	"A-4;Eeva Viides;Itäkatu 4;00900;49999;1\n" + // below both
	"A-5;Fanni Kuudes;Tuntematon 5;99999;80000;4\n" + // no region has 99999
	"B-6;Bertta Toinen;Länsitie 6;00100;70000;2\n" // Bertta's case is closed: no link

// TestOutreachImport: an admin's import of the arrears list makes tasks
// of exactly the rows at or over the threshold, in the postal code's
// region (or none), linked to the open case of the resident with the same
// name and postal code; the report counts it all. A bad row imports
// nothing; the same file again creates nothing and shows the earlier
// report; another file updates a tenant's open task instead of making a
// second one. Advisors may not import.
func TestOutreachImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newOutreachEnv(t, db)

		// A bad row: the line is named, nothing at all is imported.
		st, _, _, body := e.upload(e.pirjo, firstList+"A-7;Gunnar Seitsemäs;Katu 7;0090;100;1\n")
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Rivi 8: "+e.fe.T("fi", "cases.outreach.csv.error.postal_code")) {
			t.Fatalf("a bad file: %d, want 422 naming line 8", st)
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks"); n != 0 {
			t.Fatalf("%d tasks after a refused file, want 0", n)
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_imports"); n != 0 {
			t.Fatalf("%d imports recorded after a refused file, want 0", n)
		}

		// Advisors may not import.
		if st, _, _, _ := e.upload(e.minna, firstList); st != http.StatusForbidden {
			t.Errorf("an advisor's import: %d, want 403", st)
		}
		if st, _ := e.do("GET", "/desk/cases/outreach/import", e.minna, nil); st != http.StatusForbidden {
			t.Errorf("an advisor opens the import page: %d, want 403", st)
		}
		if _, err := e.svc.ImportOutreach(authtest.WithActor(context.Background(), e.minna), strings.NewReader(firstList)); !problem.Is(err, problem.Forbidden) {
			t.Error("the service let an advisor import")
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks"); n != 0 {
			t.Fatalf("%d tasks after an advisor's tries, want 0", n)
		}

		st, loc, flash, _ := e.upload(e.pirjo, firstList)
		if st != http.StatusSeeOther || flash != "cases.outreach.flash.imported" {
			t.Fatalf("import: %d, flash %q", st, flash)
		}
		if got, want := reportText(e.report(loc)), "rows 6 created 5 updated 0 below 1 matched 1 no_region 1 already false unknown [99999]"; got != want {
			t.Errorf("report\n%s\nwant\n%s", got, want)
		}
		got := e.tasks()
		want := []task{
			{TenantRef: "A-1", Name: "ASUKAS aino", Address: "Itäkatu 1 A 2", RegionID: 4, ArrearsCents: 120000, MonthsBehind: 3, CaseID: e.ainoCase, Status: "open"},
			{TenantRef: "A-2", Name: "Cecilia Kolmas", Address: "Itäkatu 2", RegionID: 4, ArrearsCents: 60000, MonthsBehind: 1, Status: "open"},
			{TenantRef: "A-3", Name: "Daniel Neljäs", Address: "Länsitie 3", RegionID: 2, ArrearsCents: 10000, MonthsBehind: 2, Status: "open"},
			{TenantRef: "A-5", Name: "Fanni Kuudes", Address: "Tuntematon 5", RegionID: 0, ArrearsCents: 80000, MonthsBehind: 4, Status: "open"},
			{TenantRef: "B-6", Name: "Bertta Toinen", Address: "Länsitie 6", RegionID: 2, ArrearsCents: 70000, MonthsBehind: 2, Status: "open"},
		}
		ids := map[string]int64{}
		for i := range got {
			ids[got[i].TenantRef] = got[i].ID
			got[i].ID = 0
		}
		if !slices.Equal(got, want) {
			t.Errorf("tasks\n%+v\nwant\n%+v", got, want)
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = ? AND resource = ?",
			e.pirjo.ID, e.aino.ID, string(audit.CaseChange), fmt.Sprintf("outreach/%d", ids["A-1"])); n != 1 {
			t.Errorf("%d access log lines of linking Aino's case, want 1", n)
		}
		// The report page says it in words.
		st, body = e.do("GET", loc, e.pirjo, nil)
		if st != http.StatusOK || !strings.Contains(body, "99999") || !strings.Contains(body, e.fe.T("fi", "cases.outreach.report.below")) {
			t.Errorf("the report page: %d", st)
		}

		// The same file again: nothing new, the earlier report.
		st, loc2, flash, _ := e.upload(e.pirjo, firstList)
		if st != http.StatusSeeOther || flash != "cases.outreach.flash.already" || loc2 != loc {
			t.Errorf("the same file again: %d, flash %q, to %q; want the earlier report %q", st, flash, loc2, loc)
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks"); n != 5 {
			t.Errorf("%d tasks after the same file twice, want 5", n)
		}
		rep, err := e.svc.ImportOutreach(authtest.WithActor(context.Background(), e.pirjo), strings.NewReader(firstList))
		if err != nil || !rep.Already || rep.CreatedCount != 5 {
			t.Errorf("the service on the same file: %+v, %v; want the earlier report, Already", rep, err)
		}

		// Another file, commas and English headers: tenants with an open
		// task are updated, whatever the amount, never duplicated.
		second := "tenant_reference,name,address,postal_code,arrears_cents,months_behind\n" +
			"a-2,Cecilia Kolmas,Itäkatu 2,00900,65000,2\n" +
			"A-8,Gustav Sjunde,Östra gatan 8,00900,90000,3\n" +
			"A-3,Daniel Neljäs,Länsitie 3,00100,0,0\n" +
			"A-9,Hilma Yhdeksäs,Itäkatu 9,00900,100,0\n"
		st, loc, flash, _ = e.upload(e.pirjo, second)
		if st != http.StatusSeeOther || flash != "cases.outreach.flash.imported" {
			t.Fatalf("the second file: %d, flash %q", st, flash)
		}
		if got, want := reportText(e.report(loc)), "rows 4 created 1 updated 2 below 1 matched 0 no_region 0 already false unknown []"; got != want {
			t.Errorf("report\n%s\nwant\n%s", got, want)
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks WHERE tenant_ref = 'A-2'"); n != 1 {
			t.Errorf("%d tasks of A-2, want 1", n)
		}
		if n := e.count("SELECT arrears_cents FROM outreach_tasks WHERE tenant_ref = 'A-2'"); n != 65000 {
			t.Errorf("A-2's arrears %d, want 65000", n)
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks"); n != 6 {
			t.Errorf("%d tasks, want 6", n)
		}
		// The import page lists both imports.
		if _, body := e.do("GET", "/desk/cases/outreach/import", e.pirjo, nil); strings.Count(body, "/desk/cases/outreach/import?report=") != 2 {
			t.Error("the import page does not list the two imports")
		}
	})
}

// TestOutreachTasks: advisors see their region's open tasks largest
// arrears first, admins all (and filter by region, or no region); another
// region's advisor gets 404 on a task; opening the list and a linked task
// writes the access log; a task is done with an outcome and a note and
// leaves the open list; bad input changes nothing; a later list of the
// same tenant is linked to the case through the earlier task; done
// tasks' names, addresses and notes go after 12 months.
func TestOutreachTasks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newOutreachEnv(t, db)
		if st, _, _, _ := e.upload(e.pirjo, firstList+"A-8;Gustav Sjunde;Östra gatan 8;00900;90000;3\n"); st != http.StatusSeeOther {
			t.Fatalf("import: %d", st)
		}
		ids := map[string]int64{}
		for _, tk := range e.tasks() {
			ids[tk.TenantRef] = tk.ID
		}

		st, body := e.do("GET", "/desk/cases/outreach", e.minna, nil)
		if st != http.StatusOK {
			t.Fatalf("Minna's list: %d", st)
		}
		a1, a8, a2 := strings.Index(body, "ASUKAS aino"), strings.Index(body, "Gustav Sjunde"), strings.Index(body, "Cecilia Kolmas")
		if a1 < 0 || a8 < 0 || a2 < 0 || !(a1 < a8 && a8 < a2) {
			t.Errorf("Minna's list order: A-1 %d, A-8 %d, A-2 %d; want largest arrears first", a1, a8, a2)
		}
		for _, other := range []string{"Daniel Neljäs", "Fanni Kuudes", "Bertta Toinen", "Eeva Viides"} {
			if strings.Contains(body, other) {
				t.Errorf("Minna's list shows %s", other)
			}
		}
		if !strings.Contains(body, fmt.Sprintf(`href="/desk/cases/%d"`, e.ainoCase)) {
			t.Error("the matched task does not link to the case")
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = ? AND resource = 'cases/outreach'",
			e.minna.ID, e.aino.ID, string(audit.CaseView)); n != 1 {
			t.Errorf("%d access log lines of Minna's list for Aino, want 1", n)
		}
		if _, body := e.do("GET", "/desk/cases/outreach", e.pirjo, nil); !strings.Contains(body, "Fanni Kuudes") || !strings.Contains(body, "Daniel Neljäs") {
			t.Error("the admin does not see every region's tasks and those of no region")
		}
		if _, body := e.do("GET", "/desk/cases/outreach?region=none", e.pirjo, nil); !strings.Contains(body, "Fanni Kuudes") || strings.Contains(body, "Cecilia Kolmas") {
			t.Error("the admin's filter of no region")
		}
		if _, body := e.do("GET", "/desk/cases/outreach?region=2", e.pirjo, nil); !strings.Contains(body, "Daniel Neljäs") || strings.Contains(body, "Cecilia Kolmas") {
			t.Error("the admin's filter of the west")
		}
		if _, body := e.do("GET", "/desk/cases/outreach?region=none", e.minna, nil); strings.Contains(body, "Fanni Kuudes") {
			t.Error("an advisor sees a task of no region through the filter")
		}

		// Rights on a task.
		a1Path := fmt.Sprintf("/desk/cases/outreach/%d", ids["A-1"])
		for _, tc := range []struct {
			u    *authtest.User
			path string
			want int
		}{{e.minna, a1Path, 200}, {e.pirjo, a1Path, 200}, {e.ville, a1Path, 404}, {e.aino, a1Path, 403},
			{e.minna, fmt.Sprintf("/desk/cases/outreach/%d", ids["A-5"]), 404}, {e.pirjo, fmt.Sprintf("/desk/cases/outreach/%d", ids["A-5"]), 200},
			{e.minna, "/desk/cases/outreach/999999", 404}} {
			if st, _ := e.do("GET", tc.path, tc.u, nil); st != tc.want {
				t.Errorf("%s opens %s: %d, want %d", tc.u.Name, tc.path, st, tc.want)
			}
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = ? AND resource = ?",
			e.minna.ID, e.aino.ID, string(audit.CaseView), fmt.Sprintf("outreach/%d", ids["A-1"])); n != 1 {
			t.Errorf("%d access log lines of Minna opening the linked task, want 1", n)
		}
		// Names stay out of URLs: every link of the list is by id.
		for _, m := range strings.Split(body, `href="`)[1:] {
			if href := m[:strings.IndexByte(m, '"')]; strings.Contains(href, "Kolmas") || strings.Contains(href, "Itäkatu") {
				t.Errorf("a link carries personal data: %s", href)
			}
		}

		// Done: bad input changes nothing; another region's advisor gets 404.
		done := a1Path + "/done"
		for _, form := range []url.Values{{"outcome": {"vanished"}}, {"outcome": {"not_reached"}, "note": {strings.Repeat("x", 501)}}} {
			if st, _ := e.do("POST", done, e.minna, form); st != http.StatusUnprocessableEntity {
				t.Errorf("done with %v: %d, want 422", form["outcome"], st)
			}
		}
		if st, _ := e.do("POST", done, e.ville, url.Values{"outcome": {"not_reached"}}); st != http.StatusNotFound {
			t.Errorf("another region's advisor marks it done: %d, want 404", st)
		}
		if n := e.count("SELECT COUNT(*) FROM outreach_tasks WHERE status = 'open'"); n != 6 {
			t.Fatalf("%d open tasks after refusals, want 6", n)
		}
		if st, _ := e.do("POST", done, e.minna, url.Values{"outcome": {"reached_case_opened"}, "note": {"Soitettu, tapaaminen sovittu."}}); st != http.StatusSeeOther {
			t.Fatalf("done: %d", st)
		}
		var row struct{ Status, Outcome, Note string }
		if err := db.Gorm.Raw("SELECT status, outcome, note FROM outreach_tasks WHERE id = ?", ids["A-1"]).Scan(&row).Error; err != nil ||
			row.Status != "done" || row.Outcome != "reached_case_opened" || row.Note != "Soitettu, tapaaminen sovittu." {
			t.Errorf("the done task: %+v, %v", row, err)
		}
		if st, _ := e.do("POST", done, e.minna, url.Values{"outcome": {"not_reached"}}); st != http.StatusConflict {
			t.Errorf("done twice: %d, want 409", st)
		}
		if _, body := e.do("GET", "/desk/cases/outreach", e.minna, nil); strings.Contains(body, "ASUKAS aino") {
			t.Error("a done task is still on the open list")
		}
		if _, body := e.do("GET", "/desk/cases/outreach?done=1", e.minna, nil); !strings.Contains(body, "ASUKAS aino") ||
			!strings.Contains(body, e.fe.T("fi", "cases.outreach.outcome.reached_case_opened")) {
			t.Error("the done list lacks the task and its outcome")
		}

		// The desk counts the region's open tasks.
		e.app.Get("/test/outreach-section", func(c *fiber.Ctx) error {
			sec, err := e.svc.OutreachDeskSection(c)
			if err != nil {
				return err
			}
			d := sec.Data.(*cases.OutreachSectionData)
			return c.SendString(fmt.Sprintf("%d %d", d.Count, d.NoRegion))
		})
		for _, tc := range []struct {
			u    *authtest.User
			want string
		}{{e.minna, "2 0"}, {e.ville, "2 0"}, {e.pirjo, "5 1"}} {
			if _, got := e.do("GET", "/test/outreach-section", tc.u, nil); got != tc.want {
				t.Errorf("%s's desk: %q, want %q", tc.u.Name, got, tc.want)
			}
		}

		// Aino is listed again under another name: the new task is linked
		// to her case through the earlier task of her tenant reference.
		if st, _, _, _ := e.upload(e.pirjo, "vuokralaistunnus;nimi;osoite;postinumero;rästit_snt;kuukausia\nA-1;Aino Uusinimi;Itäkatu 1 A 2;00900;130000;4\n"); st != http.StatusSeeOther {
			t.Fatalf("the third list: %d", st)
		}
		var relinked []int64
		if err := db.Gorm.Raw("SELECT COALESCE(case_id, 0) FROM outreach_tasks WHERE tenant_ref = 'A-1' AND status = 'open'").Scan(&relinked).Error; err != nil ||
			!slices.Equal(relinked, []int64{e.ainoCase}) {
			t.Errorf("A-1's new task is linked to %v, want [%d]", relinked, e.ainoCase)
		}

		// Retention: 12 months after it was done, the task names nobody.
		sweep := func(at time.Time) int64 {
			svc := cases.New(cases.Options{DB: db, Users: auth.NewUsers(db.Gorm), Regions: regions.NewStore(db.Gorm), Frontend: e.fe,
				Audit: audit.New(db.Gorm, nil), Now: func() time.Time { return at }})
			n, err := svc.SweepOutreach(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := sweep(time.Date(2027, 5, 3, 9, 0, 0, 0, time.UTC)); n != 0 {
			t.Errorf("the sweep before 12 months emptied %d tasks", n)
		}
		if n := sweep(time.Date(2027, 5, 5, 9, 0, 0, 0, time.UTC)); n != 1 {
			t.Errorf("the sweep after 12 months emptied %d tasks, want 1", n)
		}
		for _, tk := range e.tasks() {
			switch {
			case tk.ID == ids["A-1"] && (tk.Name != "" || tk.Address != "" || tk.Note != "" || tk.Outcome != "reached_case_opened" || tk.CaseID != e.ainoCase):
				t.Errorf("the swept task: %+v; want no name, address or note, the outcome and case kept", tk)
			case tk.ID != ids["A-1"] && tk.Name == "":
				t.Errorf("an open task lost its name: %+v", tk)
			}
		}
		if st, body := e.do("GET", a1Path, e.minna, nil); st != http.StatusOK || !strings.Contains(body, e.fe.T("fi", "cases.outreach.redacted")) {
			t.Errorf("the swept task's page: %d", st)
		}
	})
}

// TestOutreachThreshold: Options set the threshold; the page states it.
func TestOutreachThreshold(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newOutreachEnv(t, db)
	e.svc = cases.New(cases.Options{DB: db, Users: auth.NewUsers(db.Gorm), Regions: regions.NewStore(db.Gorm), Frontend: e.fe,
		Audit: audit.New(db.Gorm, nil), OutreachMinCents: 100000, OutreachMinMonths: 4})
	rep, err := e.svc.ImportOutreach(authtest.WithActor(context.Background(), e.pirjo), strings.NewReader(firstList))
	if err != nil {
		t.Fatal(err)
	}
	// A-1 (1 200 €) and A-5 (4 months) qualify; the rest do not.
	if got, want := reportText(rep), "rows 6 created 2 updated 0 below 4 matched 1 no_region 1 already false unknown [99999]"; got != want {
		t.Errorf("report\n%s\nwant\n%s", got, want)
	}
	app, _ := authtest.App(t, authtest.New(t, db.Gorm))
	e.svc.Register(app)
	e.app = app
	if _, body := e.do("GET", "/desk/cases/outreach", e.minna, nil); !strings.Contains(body, e.fe.T("fi", "cases.outreach.rule", map[string]any{"Min": cases.FormatCents(100000, "fi"), "Months": 4})) {
		t.Error("the list does not state the threshold")
	}
}
