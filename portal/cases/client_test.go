package cases_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
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
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// veikko's identity code is from the temporary range: nobody's.
const veikkoCode = "110758-901S"

func (e *env) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Gorm.Raw(query, args...).Scan(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestClientRecord: an advisor records a person who has never logged in,
// found later by identity code (posted, never in a URL) and by name; bad
// input is refused with its reasons and records nothing; the same code
// twice is one person; the full code is never shown; the case opened for
// the record is the person's own when they later log in with the code,
// and they see who looked at their data.
func TestClientRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		minna := e.person(auth.RoleAdvisor, "Minna Järvinen", 4)
		users := e.count("SELECT COUNT(*) FROM users")

		for _, bad := range []struct {
			field string
			form  url.Values
			want  string
		}{
			{"check character", url.Values{"name": {"Veikko Ilmanen"}, "identity_code": {"110758-901T"}}, "Tarkista henkilötunnus"},
			{"no date", url.Values{"name": {"Veikko Ilmanen"}, "identity_code": {"310258-901S"}}, "Tarkista henkilötunnus"},
			{"century", url.Values{"name": {"Veikko Ilmanen"}, "identity_code": {"110758Q901S"}}, "Tarkista henkilötunnus"},
			{"name", url.Values{"name": {" V "}, "identity_code": {veikkoCode}}, "Kirjoita nimi"},
			{"postal code", url.Values{"name": {"Veikko Ilmanen"}, "postal_code": {"920"}}, "viisi numeroa"},
			{"phone", url.Values{"name": {"Veikko Ilmanen"}, "phone": {"soita"}}, "Tarkista puhelinnumero"},
			{"email", url.Values{"name": {"Veikko Ilmanen"}, "email": {"veikko@"}}, "Tarkista sähköpostiosoite"},
		} {
			status, body := e.do(http.MethodPost, "/desk/cases/new/client", minna, bad.form)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, bad.want) {
				t.Errorf("%s: %d, page lacks %q", bad.field, status, bad.want)
			}
		}
		if n := e.count("SELECT COUNT(*) FROM users"); n != users {
			t.Fatalf("bad records stored: %d users, want %d", n, users)
		}

		record := url.Values{"name": {"Veikko  Ilmanen"}, "identity_code": {strings.ToLower(veikkoCode)}, "street_address": {"Kontulantie 1 A 2"},
			"postal_code": {"00940"}, "phone": {"040 123 4567"}, "email": {"veikko@example.test"}}
		status, body := e.do(http.MethodPost, "/desk/cases/new/client", minna, record)
		if status != http.StatusOK || !strings.Contains(body, "110758-****") || !strings.Contains(body, "ei vielä kirjautunut") {
			t.Fatalf("recording: %d %s", status, body)
		}
		if strings.Contains(body, veikkoCode) || strings.Contains(body, strings.ToLower(veikkoCode)) {
			t.Error("the page shows the full identity code")
		}
		var rec auth.User
		if err := db.Gorm.Where("identity_code = ?", veikkoCode).First(&rec).Error; err != nil {
			t.Fatalf("the record: %v", err)
		}
		if !rec.IsClientRecord() || rec.Role != auth.RoleResident || rec.Name != "Veikko Ilmanen" || rec.StreetAddress != "Kontulantie 1 A 2" {
			t.Errorf("record %+v", rec)
		}
		status, body = e.do(http.MethodPost, "/desk/cases/new/client", minna, url.Values{"name": {"Veikko I."}, "identity_code": {veikkoCode}})
		if status != http.StatusOK || !strings.Contains(body, "on jo kirjattu henkilö") || !strings.Contains(body, "Veikko Ilmanen") {
			t.Errorf("the same code again: %d", status)
		}
		if n := e.count("SELECT COUNT(*) FROM users WHERE identity_code = ?", veikkoCode); n != 1 {
			t.Errorf("%d users with one identity code", n)
		}
		for _, q := range []string{veikkoCode, "ilmanen"} {
			status, body := e.do(http.MethodPost, "/desk/cases/new/search", minna, url.Values{"q": {q}})
			if status != http.StatusOK || !strings.Contains(body, "Veikko Ilmanen") {
				t.Errorf("search %q: %d, Veikko not found", q, status)
			}
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE resident_id = ? AND action = ?", rec.ID, string(audit.ClientRecordCreate)); n == 0 {
			t.Errorf("recording the person is not in the access log")
		}

		status, _ = e.do(http.MethodPost, "/desk/cases/new", minna, url.Values{"resident": {itoa(rec.ID)}, "reason": {"rent_debt"}, "referrer": {"relative_neighbour"}})
		if status != http.StatusSeeOther {
			t.Fatalf("opening the case: %d", status)
		}

		// Veikko logs in with strong identification: the provider's
		// identity claim links the login to the record.
		linked, err := auth.NewUsers(db.Gorm).Upsert(context.Background(), &auth.User{Issuer: "authtest", Subject: "Veikko Ilmanen",
			Role: auth.RoleResident, Name: "Veikko Ilmanen", Email: "", IdentityCode: veikkoCode}, false)
		if err != nil {
			t.Fatal(err)
		}
		if linked.ID != rec.ID || linked.IsClientRecord() || linked.Email != "veikko@example.test" || linked.Phone != "040 123 4567" {
			t.Fatalf("login linked to %+v, want record %d keeping its e-mail and phone", linked, rec.ID)
		}
		veikko := authtest.Login(t, db.Gorm, auth.RoleResident, "Veikko Ilmanen")
		if veikko.ID != rec.ID {
			t.Fatalf("a second user %d for Veikko", veikko.ID)
		}
		status, body = e.do(http.MethodGet, "/my/case", veikko, nil)
		if status != http.StatusOK || !strings.Contains(body, "Minna Järvinen") || !strings.Contains(body, "Kirjasi asiakastiedot") {
			t.Errorf("Veikko's case page: %d, lacks Minna or her recording him", status)
		}
	})
}

// TestOneRecordPerIdentityCode: advisors recording the same person at once
// make one record; the others get that record back.
func TestOneRecordPerIdentityCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		const n = 8
		type result struct {
			id      int64
			existed bool
			err     error
		}
		results := make(chan result, n)
		start := make(chan struct{})
		for i := range n {
			advisor := e.person(auth.RoleAdvisor, "Advisor "+itoa(int64(i)), 4)
			go func() {
				<-start
				u, existed, err := e.svc.CreateClient(authtest.WithActor(context.Background(), advisor),
					auth.ClientRecord{Name: "Veikko Ilmanen", IdentityCode: veikkoCode})
				r := result{existed: existed, err: err}
				if u != nil {
					r.id = u.ID
				}
				results <- r
			}()
		}
		close(start)
		made, ids := 0, map[int64]bool{}
		for range n {
			r := <-results
			if r.err != nil {
				t.Fatalf("recording: %v", r.err)
			}
			if !r.existed {
				made++
			}
			ids[r.id] = true
		}
		if made != 1 || len(ids) != 1 {
			t.Errorf("%d records made, %d ids returned; want 1 and 1", made, len(ids))
		}
		if c := e.count("SELECT COUNT(*) FROM users WHERE identity_code = ?", veikkoCode); c != 1 {
			t.Errorf("%d users hold the code", c)
		}
	})
}

// fakeOrigins is a contact request about Veikko (unknown to the portal)
// and a chat of a known resident.
type fakeOrigins struct {
	chatResident int64
	opened       []string
}

func (f *fakeOrigins) Origin(_ context.Context, kind string, id int64) (*cases.Origin, error) {
	switch {
	case kind == "contact" && id == 7:
		return &cases.Origin{Reference: "ABCD-EFGH", Name: "Veikko Ilmanen", StreetAddress: "Kontulantie 1 A 2", PostalCode: "00940",
			Phone: "040 123 4567", Reason: "rent_debt", Referrer: "relative_neighbour", EvictionDate: "2026-05-12"}, nil
	case kind == "chat" && id == 3:
		return &cases.Origin{ResidentID: f.chatResident, Referrer: "resident"}, nil
	}
	return nil, problem.E(problem.NotFound, "cases.error.not_found")
}

func (f *fakeOrigins) Opened(_ context.Context, o *cases.Origin, residentID, caseID int64) error {
	f.opened = append(f.opened, o.Kind+":"+itoa(o.ID)+":"+itoa(residentID))
	return nil
}

// TestOpenFromOrigin: a case opened from a neighbour's contact request
// prefills the person and the case's fields, records the person, says on
// the timeline where it began and tells the feature; a chat's resident is
// preselected, and once they have a case the chat leads to it; an item
// that is not there is a 404.
func TestOpenFromOrigin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		origins := &fakeOrigins{}
		clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
		a := authtest.New(t, db.Gorm)
		app, fe := authtest.App(t, a)
		svc := cases.New(cases.Options{DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
			Audit: audit.New(db.Gorm, clock.Now), Now: clock.Now, Origins: origins})
		svc.Register(app)
		e.app = app
		minna := e.person(auth.RoleAdvisor, "Minna Järvinen", 4)
		aino := e.person(auth.RoleResident, "Aino Asukas", 0)
		origins.chatResident = aino.ID

		status, body := e.do(http.MethodGet, "/desk/cases/new?from=contact&id=7", minna, nil)
		for _, want := range []string{"Avattu yhteydenottopyynnöstä ABCD-EFGH", `value="Veikko Ilmanen"`, `value="Kontulantie 1 A 2"`} {
			if status != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("from the contact request: %d, page lacks %q", status, want)
			}
		}
		if status, _ := e.do(http.MethodGet, "/desk/cases/new?from=contact&id=8", minna, nil); status != http.StatusNotFound {
			t.Errorf("another's request: %d, want 404", status)
		}
		status, body = e.do(http.MethodPost, "/desk/cases/new/client", minna, url.Values{"from": {"contact"}, "origin": {"7"},
			"name": {"Veikko Ilmanen"}, "identity_code": {veikkoCode}, "postal_code": {"00940"}})
		if status != http.StatusOK || !strings.Contains(body, `name="origin" value="7"`) || !strings.Contains(body, `value="2026-05-12"`) {
			t.Fatalf("recording from the request: %d, the origin or its eviction date lost", status)
		}
		var rec auth.User
		if err := db.Gorm.Where("identity_code = ?", veikkoCode).First(&rec).Error; err != nil {
			t.Fatal(err)
		}
		status, _ = e.do(http.MethodPost, "/desk/cases/new", minna, url.Values{"from": {"contact"}, "origin": {"7"}, "resident": {itoa(rec.ID)}, "reason": {"rent_debt"}})
		if status != http.StatusSeeOther {
			t.Fatalf("opening: %d", status)
		}
		if len(origins.opened) != 1 || origins.opened[0] != "contact:7:"+itoa(rec.ID) {
			t.Errorf("the feature was told %v", origins.opened)
		}
		var caseID int64
		if err := db.Gorm.Raw("SELECT id FROM cases WHERE resident_id = ?", rec.ID).Scan(&caseID).Error; err != nil || caseID == 0 {
			t.Fatalf("no case (%v)", err)
		}
		if _, body := e.do(http.MethodGet, "/desk/cases/"+itoa(caseID)+"?why=work", minna, nil); !strings.Contains(body, "Avattu yhteydenottopyynnöstä ABCD-EFGH") {
			t.Error("the timeline does not say where the case began")
		}

		status, body = e.do(http.MethodGet, "/desk/cases/new?from=chat&id=3", minna, nil)
		if status != http.StatusOK || !strings.Contains(body, `value="`+itoa(aino.ID)+`" class="hds-radio-button__input" checked`) {
			t.Errorf("from the chat: %d, Aino not preselected", status)
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE resident_id = ? AND action = ? AND resource = 'chat/3'", aino.ID, string(audit.CaseResidentFromItem)); n == 0 {
			t.Error("showing Aino to open a case from her chat is not in the access log")
		}
		if status, _ := e.do(http.MethodPost, "/desk/cases/new", minna, url.Values{"from": {"chat"}, "origin": {"3"}, "resident": {itoa(aino.ID)}, "reason": {"not_coping"}}); status != http.StatusSeeOther {
			t.Fatalf("opening from the chat: %d", status)
		}
		status, _ = e.do(http.MethodGet, "/desk/cases/new?from=chat&id=3", minna, nil)
		if status != http.StatusSeeOther {
			t.Errorf("the chat of a resident with a case: %d, want a redirect to it", status)
		}
		if status, _ := e.do(http.MethodGet, "/desk/cases/new?from=nonsense&id=3", minna, nil); status != http.StatusNotFound {
			t.Errorf("an unknown kind: %d", status)
		}
	})
}

// TestIdentityCodeHeld: a code held by a logged-in resident cannot be
// recorded again; a known user gets the code at a later login; another
// identity with a held code logs in without it.
func TestIdentityCodeHeld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		users := auth.NewUsers(db.Gorm)
		ctx := context.Background()
		u, err := users.Upsert(ctx, &auth.User{Issuer: "idp", Subject: "s1", Role: auth.RoleResident, Name: "Aino", IdentityCode: veikkoCode}, false)
		if err != nil || u.IdentityCode != veikkoCode {
			t.Fatalf("first login: %+v %v", u, err)
		}
		held, err := users.CreateClient(ctx, auth.ClientRecord{Name: "Aino", IdentityCode: veikkoCode})
		if !errors.Is(err, auth.ErrIdentityTaken) || held == nil || held.ID != u.ID {
			t.Errorf("recording a logged-in resident's code: %v %v", held, err)
		}
		// A login known from before the claim was read gets the code at
		// its next login; a second identity of the same code logs in without it.
		old, err := users.Upsert(ctx, &auth.User{Issuer: "idp", Subject: "s2", Role: auth.RoleResident, Name: "Bertta"}, false)
		if err != nil {
			t.Fatal(err)
		}
		again, err := users.Upsert(ctx, &auth.User{Issuer: "idp", Subject: "s2", Role: auth.RoleResident, Name: "Bertta", IdentityCode: "150382-901A"}, false)
		if err != nil || again.ID != old.ID || again.IdentityCode != "150382-901A" {
			t.Errorf("the code for a known user: %+v %v", again, err)
		}
		other, err := users.Upsert(ctx, &auth.User{Issuer: "idp2", Subject: "s3", Role: auth.RoleResident, Name: "Aino", IdentityCode: veikkoCode}, false)
		if err != nil || other.IdentityCode != "" || other.ID == u.ID {
			t.Errorf("a second identity with a held code: %+v %v", other, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
