package contact_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// env is the contact requests on a real app (session, CSRF, the portal's
// error handler) with a settable clock, regions east (00940) and west
// (00200), and a fake of the booking's and chat's links.
type env struct {
	t     *testing.T
	db    *database.DB
	app   *fiber.App
	fe    *frontend.Frontend
	svc   *contact.Service
	clock *clocktest.Clock
	links map[int64][]contact.Link
	east  int64
	west  int64
}

func newEnv(t testing.TB, db *database.DB) *env {
	t.Helper()
	for _, q := range []string{
		"INSERT INTO regions (id, code, name_fi, name_sv, name_en) VALUES (4, 'east', 'Itä', 'Öster', 'East'), (2, 'west', 'Länsi', 'Väster', 'West')",
		"INSERT INTO postal_code_regions (postal_code, region_id) VALUES ('00940', 4), ('00200', 2)",
	} {
		if err := db.Gorm.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	a := authtest.New(t, db.Gorm)
	app, fe := authtest.App(t, a)
	clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	e := &env{db: db, app: app, fe: fe, clock: clock, links: map[int64][]contact.Link{}, east: 4, west: 2}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	e.svc = contact.New(contact.Options{
		DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
		Audit: audit.New(db.Gorm, clock.Now), Outbox: mail.NewOutbox(db.Gorm, clock.Now),
		SecretKey: []byte("contact-test-secret-key-32-bytes"),
		Links:     func(_ context.Context, id int64) ([]contact.Link, error) { return e.links[id], nil },
		Config:    contact.Config{MinFill: 3 * time.Second, MaxFormAge: 2 * time.Hour, Retention: 365 * 24 * time.Hour, TargetLimit: 3, TargetWindow: 24 * time.Hour},
		Now:       clock.Now,
	})
	e.svc.Register(app, nil)
	return e
}

func (e *env) do(method, path string, u *authtest.User, form url.Values) (int, string) {
	e.t.Helper()
	return authtest.Do(e.t, e.app, method, path, u, form)
}

var (
	csrfField  = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	tokenField = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
)

// visitor is an anonymous browser: the CSRF cookie it was given, and the
// form's tokens from the page it was shown.
type visitor struct {
	*authtest.User
	token string
}

// open shows the form to u (nil: a new anonymous visitor) and returns who
// posts it, with the page's tokens.
func (e *env) open(u *authtest.User) *visitor {
	e.t.Helper()
	req := httptest.NewRequest("GET", "/contact", nil)
	if u != nil {
		req.Header.Set("Cookie", u.Cookie)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	body := readAll(e.t, resp)
	v := &visitor{User: u}
	if u == nil {
		var cookie string
		for _, c := range resp.Cookies() {
			cookie = c.Name + "=" + c.Value
		}
		v.User = &authtest.User{Cookie: cookie, CSRF: csrfField.FindStringSubmatch(body)[1]}
	}
	v.token = tokenField.FindStringSubmatch(body)[1]
	return v
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// neighbour is a complete request from a neighbour about a resident of
// the east region.
func neighbour() url.Values {
	return url.Values{
		"who": {"neighbour"}, "sender_name": {"Niilo Naapuri"}, "concern": {"upkeep"},
		"description":   {"Rappukäytävässä haisee ja ovelle on kasautunut postia kuukauden ajan."},
		"resident_name": {"Irma Itäläinen"}, "street_address": {"Kontulantie 1 A 2"}, "postal_code": {"00940"},
		"resident_phone": {"040 765 4321"}, "person_knows": {"no"}, "sender_phone": {"050 123 4567"},
		"sender_email": {"niilo@example.test"}, "reach_time": {"arkisin iltaisin"},
	}
}

// send posts fields as v after the minimum fill time, and returns the
// status, the Location and the body.
func (e *env) send(v *visitor, fields url.Values) (int, string, string) {
	e.t.Helper()
	e.clock.Add(5 * time.Second)
	f := url.Values{"_csrf": {v.CSRF}, "form_token": {v.token}}
	for k, vals := range fields {
		f[k] = vals
	}
	req := httptest.NewRequest("POST", "/contact", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", v.Cookie)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), readAll(e.t, resp)
}

func (e *env) count(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Gorm.Raw(q, args...).Scan(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) requests() int64 { return e.count("SELECT COUNT(*) FROM contact_requests") }

func (e *env) advisor(name string, region int64) *authtest.User {
	e.t.Helper()
	u := authtest.Login(e.t, e.db.Gorm, auth.RoleAdvisor, name)
	if err := auth.NewUsers(e.db.Gorm).SetRegion(context.Background(), u.ID, &region); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) requestID(ref string) int64 {
	e.t.Helper()
	return e.count("SELECT id FROM contact_requests WHERE reference = ?", ref)
}

// TestNeighbourAsksAndAdvisorCloses: a neighbour's request, sent without
// logging in, reaches the east region's desk and no one else's; the
// neighbour gets a reference and a mail that says nothing of the request,
// and can read nothing back; the advisor's every view and change is in the
// access log; assigning, attempts and the outcome follow their rules.
func TestNeighbourAsksAndAdvisorCloses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.t = t
		v := e.open(nil)
		st, loc, body := e.send(v, neighbour())
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/contact/sent?ref=") {
			t.Fatalf("send: %d %s\n%s", st, loc, body)
		}
		ref := strings.TrimPrefix(loc, "/contact/sent?ref=")
		if !contact.ValidReference(ref) {
			t.Fatalf("reference %q", ref)
		}
		id := e.requestID(ref)
		if got := e.count("SELECT region_id FROM contact_requests WHERE id = ?", id); got != e.east {
			t.Errorf("routed to region %d, want east", got)
		}

		// The sender reads nothing back: the confirmation shows the
		// reference only, the form is empty again, the desk is closed.
		secrets := []string{"Irma", "Kontulantie", "Rappukäytävässä", "040 765 4321", "Niilo", "00940", "050 123 4567", "niilo@"}
		st, body = e.do("GET", loc, v.User, nil)
		if st != http.StatusOK || !strings.Contains(body, ref) {
			t.Fatalf("confirmation: %d", st)
		}
		for _, s := range []struct{ method, path string }{{"GET", loc}, {"GET", "/contact"}, {"GET", "/desk/contact"}, {"GET", fmt.Sprintf("/desk/contact/%d", id)}} {
			st, body := e.do(s.method, s.path, v.User, nil)
			for _, secret := range secrets {
				if strings.Contains(body, secret) {
					t.Errorf("the sender's %s %s (%d) shows %q", s.method, s.path, st, secret)
				}
			}
			if strings.HasPrefix(s.path, "/desk") && st != http.StatusSeeOther {
				t.Errorf("anonymous %s: %d, want the login", s.path, st)
			}
		}
		resident := authtest.Login(t, db.Gorm, auth.RoleResident, "Irma Itäläinen")
		if st, _ := e.do("GET", fmt.Sprintf("/desk/contact/%d", id), resident, nil); st != http.StatusForbidden {
			t.Errorf("a resident opens the desk page: %d", st)
		}

		// The mail: the reference and what happens next, nothing else.
		var mails []mail.Stored
		if err := db.Gorm.Where("recipient = ?", "niilo@example.test").Find(&mails).Error; err != nil {
			t.Fatal(err)
		}
		if len(mails) != 1 || mails[0].SubjectKey != "contact.mail.subject" || !strings.Contains(mails[0].BodyText, ref) {
			t.Fatalf("mails %+v", mails)
		}
		for _, secret := range secrets {
			if strings.Contains(mails[0].BodyText, secret) || strings.Contains(mails[0].Subject, secret) {
				t.Errorf("the mail tells %q", secret)
			}
		}

		minna := e.advisor("Minna Neuvoja", e.east)
		juha := e.advisor("Juha Kollega", e.east)
		west := e.advisor("Ville Länsi", e.west)
		page := fmt.Sprintf("/desk/contact/%d", id)
		if st, body := e.do("GET", "/desk/contact", minna, nil); st != http.StatusOK || !strings.Contains(body, ref) {
			t.Fatalf("east list: %d", st)
		} else if strings.Contains(body, "Irma") {
			t.Error("the list names the resident")
		}
		if st, body := e.do("GET", "/desk/contact", west, nil); st != http.StatusOK || strings.Contains(body, ref) {
			t.Errorf("the west list shows the east request")
		}
		if st, _ := e.do("GET", page, west, nil); st != http.StatusNotFound {
			t.Errorf("west opens it: %d, want 404", st)
		}
		st, body = e.do("GET", page, minna, nil)
		if st != http.StatusOK || !strings.Contains(body, "Irma Itäläinen") || !strings.Contains(body, "Rappukäytävässä") {
			t.Fatalf("desk show: %d", st)
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND action = ? AND resource = ?", minna.ID, string(audit.ContactView), fmt.Sprintf("contact/%d", id)); n != 1 {
			t.Errorf("%d access log entries for opening it, want 1", n)
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ?", west.ID); n != 0 {
			t.Errorf("the refused west advisor has %d access log entries", n)
		}

		post := func(u *authtest.User, action string, f url.Values) int {
			f.Set("_csrf", u.CSRF)
			st, _ := e.do("POST", page+"/"+action, u, f)
			return st
		}
		if st := post(minna, "assign", url.Values{"assignee": {fmt.Sprint(west.ID)}}); st != http.StatusUnprocessableEntity {
			t.Errorf("assign to another region's advisor: %d", st)
		}
		if st := post(minna, "assign", url.Values{"assignee": {fmt.Sprint(juha.ID)}}); st != http.StatusSeeOther {
			t.Errorf("assign to a colleague: %d", st)
		}
		if got := e.count("SELECT assignee_id FROM contact_requests WHERE id = ?", id); got != juha.ID {
			t.Errorf("assignee %d, want Juha", got)
		}
		future := e.clock.Now().Add(48 * time.Hour).Format("2006-01-02")
		if st := post(minna, "attempts", url.Values{"attempt_date": {future}, "attempt_time": {"10:00"}, "channel": {"phone"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("an attempt in the future: %d", st)
		}
		if st := post(minna, "attempts", url.Values{"attempt_date": {"2026-05-04"}, "attempt_time": {"08:30"}, "channel": {"fax"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("an attempt by fax: %d", st)
		}
		if st := post(minna, "attempts", url.Values{"attempt_date": {"2026-05-04"}, "attempt_time": {"08:30"}, "channel": {"phone"}, "result": {"Ei vastannut."}}); st != http.StatusSeeOther {
			t.Errorf("an attempt: %d", st)
		}
		if n := e.count("SELECT COUNT(*) FROM contact_attempts WHERE request_id = ?", id); n != 1 {
			t.Errorf("%d attempts stored, want 1", n)
		}
		if st := post(minna, "close", url.Values{"outcome": {"solved"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("close with an unknown outcome: %d", st)
		}
		if st := post(minna, "close", url.Values{"outcome": {"appointment_booked"}}); st != http.StatusSeeOther {
			t.Errorf("close: %d", st)
		}
		var status, outcome string
		if err := db.Gorm.Raw("SELECT status, outcome FROM contact_requests WHERE id = ?", id).Row().Scan(&status, &outcome); err != nil || status != "closed" || outcome != "appointment_booked" {
			t.Errorf("after closing %q %q %v", status, outcome, err)
		}
		if st := post(minna, "attempts", url.Values{"attempt_date": {"2026-05-04"}, "attempt_time": {"08:40"}, "channel": {"visit"}}); st != http.StatusConflict {
			t.Errorf("an attempt on a closed request: %d, want 409", st)
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND action = ?", minna.ID, string(audit.ContactUpdate)); n != 3 {
			t.Errorf("%d access log entries for changes, want 3 (assign, attempt, close)", n)
		}
		if st, body := e.do("GET", "/desk/contact?show=closed", minna, nil); st != http.StatusOK || !strings.Contains(body, ref) {
			t.Errorf("the closed list lacks it: %d", st)
		}
	})
}

// TestBadInputStoresNothing: every bad input shows the form again with
// its translated message next to the field (or, for the whole form, by
// the send button), keeps what was typed, and stores and mails nothing; a
// filled honeypot is answered like success and stores nothing either.
func TestBadInputStoresNothing(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	e.t = t
	with := func(change func(url.Values)) url.Values {
		f := neighbour()
		change(f)
		return f
	}
	cases := []struct {
		name   string
		fields url.Values
		token  func(v *visitor)
		field  string
		key    string
	}{
		{"empty", url.Values{}, nil, "resident_name", "form.error.required"},
		{"no sender kind", with(func(f url.Values) { f.Del("who") }), nil, "who", "contact.error.choose"},
		{"made-up sender kind", with(func(f url.Values) { f.Set("who", "police") }), nil, "who", "contact.error.choose"},
		{"short postal code", with(func(f url.Values) { f.Set("postal_code", "0094") }), nil, "postal_code", "contact.error.postal_code"},
		{"outside the area", with(func(f url.Values) { f.Set("postal_code", "33100") }), nil, "postal_code", "contact.error.outside_area"},
		{"description too long", with(func(f url.Values) { f.Set("description", strings.Repeat("a", 4001)) }), nil, "description", "form.error.too_long"},
		{"name too long", with(func(f url.Values) { f.Set("resident_name", strings.Repeat("Ä", 201)) }), nil, "resident_name", "form.error.too_long"},
		{"address too long", with(func(f url.Values) { f.Set("street_address", strings.Repeat("b", 201)) }), nil, "street_address", "form.error.too_long"},
		{"reach time too long", with(func(f url.Values) { f.Set("reach_time", strings.Repeat("c", 201)) }), nil, "reach_time", "form.error.too_long"},
		{"organisation too long", with(func(f url.Values) { f.Set("organisation", strings.Repeat("d", 201)) }), nil, "organisation", "form.error.too_long"},
		{"sender name too long", with(func(f url.Values) { f.Set("sender_name", strings.Repeat("e", 201)) }), nil, "sender_name", "form.error.too_long"},
		{"line break in a name", with(func(f url.Values) { f.Set("resident_name", "Irma\r\nBcc: x@y") }), nil, "resident_name", "error.field.control"},
		{"bad phone", with(func(f url.Values) { f.Set("resident_phone", "call me maybe") }), nil, "resident_phone", "form.error.phone"},
		{"bad e-mail", with(func(f url.Values) { f.Set("sender_email", "niilo at example") }), nil, "sender_email", "form.error.email"},
		{"e-mail with a name", with(func(f url.Values) { f.Set("sender_email", "Niilo <niilo@example.test>") }), nil, "sender_email", "form.error.email"},
		{"no way to reach", with(func(f url.Values) { f.Del("sender_phone"); f.Del("sender_email") }), nil, "sender_phone", "contact.error.reach"},
		{"professional without organisation", with(func(f url.Values) { f.Set("who", "professional") }), nil, "organisation", "form.error.required"},
		{"eviction date passed", with(func(f url.Values) { f.Set("eviction_date", "2026-05-01") }), nil, "eviction_date", "contact.error.date_past"},
		{"eviction date not a date", with(func(f url.Values) { f.Set("eviction_date", "huomenna") }), nil, "eviction_date", "form.error.date"},
		{"unknown concern", with(func(f url.Values) { f.Set("concern", "noise") }), nil, "concern", "contact.error.choose"},
		{"forged token", neighbour(), func(v *visitor) { v.token = "1777885200000.forged" }, "send", "contact.error.expired"},
		{"no token", neighbour(), func(v *visitor) { v.token = "" }, "send", "contact.error.expired"},
		{"sent too fast", neighbour(), func(v *visitor) { e.clock.Add(-5 * time.Second) }, "send", "contact.error.too_fast"},
		{"form too old", neighbour(), func(v *visitor) { e.clock.Add(3 * time.Hour) }, "send", "contact.error.expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			v := e.open(nil)
			if tc.token != nil {
				tc.token(v)
			}
			st, _, body := e.send(v, tc.fields)
			if st != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", st)
			}
			msg := strings.ReplaceAll(e.fe.T("fi", tc.key), "'", "&#39;")
			if !strings.Contains(body, `id="`+tc.field+`-error">`+msg) {
				t.Errorf("no %q by %s", tc.key, tc.field)
			}
			if !strings.Contains(body, `href="#`+tc.field+`"`) {
				t.Errorf("the error summary does not link to %s", tc.field)
			}
			if tc.key == "contact.error.outside_area" && !strings.Contains(body, e.fe.T("fi", "contact.outside.municipality")) {
				t.Error("outside the area: the page does not say where to turn")
			}
			if d := tc.fields.Get("description"); d != "" && len(d) < 200 && !strings.Contains(body, d) {
				t.Error("the description typed was lost")
			}
			if n := e.requests(); n != 0 {
				t.Fatalf("%d requests stored", n)
			}
			if n := e.count("SELECT COUNT(*) FROM mail_outbox"); n != 0 {
				t.Fatalf("%d mails queued", n)
			}
		})
	}
	t.Run("honeypot", func(t *testing.T) {
		e.t = t
		v := e.open(nil)
		f := neighbour()
		f.Set("website", "http://spam.example")
		st, loc, _ := e.send(v, f)
		if st != http.StatusSeeOther || !contact.ValidReference(strings.TrimPrefix(loc, "/contact/sent?ref=")) {
			t.Errorf("honeypot: %d %q, want what a success looks like", st, loc)
		}
		if n := e.requests(); n != 0 {
			t.Errorf("the honeypot stored %d requests", n)
		}
	})
}

// TestLimitPerAddress: three requests about one address in a day are
// taken, whoever sends them; a fourth (written differently) is refused
// with its message and not stored; another address is taken; a day later
// the address is open again.
func TestLimitPerAddress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.t = t
		for i := range 3 {
			if st, _, body := e.send(e.open(nil), neighbour()); st != http.StatusSeeOther {
				t.Fatalf("request %d: %d\n%s", i+1, st, body)
			}
		}
		f := neighbour()
		f.Set("street_address", "kontulantie 1a, 2")
		st, _, body := e.send(e.open(nil), f)
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="street_address-error">`+e.fe.T("fi", "contact.error.target_limit")) {
			t.Errorf("a fourth about the address: %d", st)
		}
		if n := e.requests(); n != 3 {
			t.Errorf("%d stored, want 3", n)
		}
		f.Set("street_address", "Kontulantie 3 B 7")
		if st, _, _ := e.send(e.open(nil), f); st != http.StatusSeeOther {
			t.Errorf("another address: %d", st)
		}
		e.clock.Add(24 * time.Hour)
		if st, _, _ := e.send(e.open(nil), neighbour()); st != http.StatusSeeOther {
			t.Errorf("the address a day later: %d", st)
		}
	})
}

// TestUrgentFirst: a request whose eviction date is within 14 days comes
// first, soonest first; the rest oldest first; the desk section counts
// the new and the urgent; urgency follows the calendar.
func TestUrgentFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.t = t
		minna := e.advisor("Minna Neuvoja", e.east)
		refs := map[string]string{}
		for _, c := range []struct{ name, date, address string }{
			{"none", "", "Kontulantie 1"}, {"far", "2026-05-24", "Kontulantie 2"}, {"near", "2026-05-14", "Kontulantie 3"}, {"nearest", "2026-05-10", "Kontulantie 4"},
		} {
			f := neighbour()
			f.Set("eviction_date", c.date)
			f.Set("street_address", c.address)
			st, loc, body := e.send(e.open(nil), f)
			if st != http.StatusSeeOther {
				t.Fatalf("%s: %d\n%s", c.name, st, body)
			}
			refs[c.name] = strings.TrimPrefix(loc, "/contact/sent?ref=")
		}
		order := func() []string {
			_, body := e.do("GET", "/desk/contact", minna, nil)
			var out []string
			for _, name := range []string{"none", "far", "near", "nearest"} {
				out = append(out, fmt.Sprintf("%06d:%s", strings.Index(body, refs[name]), name))
			}
			sortStrings(out)
			for i := range out {
				out[i] = out[i][7:]
			}
			return out
		}
		if got := strings.Join(order(), ","); got != "nearest,near,none,far" {
			t.Errorf("order %s, want nearest,near,none,far", got)
		}
		ctx := auth.WithActor(context.Background(), auth.Actor{UserID: minna.ID, Role: auth.RoleAdvisor})
		c, err := e.svc.Counts(ctx)
		if err != nil || c.New != 4 || c.Urgent != 2 {
			t.Errorf("counts %+v %v, want 4 new, 2 urgent", c, err)
		}
		e.clock.Add(7 * 24 * time.Hour)
		if got := strings.Join(order(), ","); got != "nearest,near,far,none" {
			t.Errorf("a week later: order %s, want nearest,near,far,none", got)
		}
		if c, _ := e.svc.Counts(ctx); c.Urgent != 3 {
			t.Errorf("a week later %d urgent, want 3", c.Urgent)
		}
	})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestHostileTextIsText: markup in every field the sender writes reaches
// the advisor's page as text, never as markup, and long words sit in the
// blocks that wrap them.
func TestHostileTextIsText(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	e.t = t
	long := strings.Repeat("Pitkäsana", 12) // 108 letters, no break
	evil := func(n string) string { return `<script>alert("` + n + `")</script><img src=x onerror=alert(1)>` + long }
	f := neighbour()
	f.Set("who", "professional")
	for _, k := range []string{"organisation", "sender_name", "description", "resident_name", "street_address", "reach_time"} {
		f.Set(k, evil(k))
	}
	st, loc, body := e.send(e.open(nil), f)
	if st != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", st, body)
	}
	id := e.requestID(strings.TrimPrefix(loc, "/contact/sent?ref="))
	minna := e.advisor("Minna Neuvoja", e.east)
	if st, _ := e.do("POST", fmt.Sprintf("/desk/contact/%d/attempts", id), minna, url.Values{"_csrf": {minna.CSRF},
		"attempt_date": {"2026-05-04"}, "attempt_time": {"08:50"}, "channel": {"letter"}, "result": {evil("result")}}); st != http.StatusSeeOther {
		t.Fatalf("attempt: %d", st)
	}
	st, body = e.do("GET", fmt.Sprintf("/desk/contact/%d", id), minna, nil)
	if st != http.StatusOK {
		t.Fatal(st)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Error("markup from the form reached the page as markup")
	}
	for _, k := range []string{"organisation", "sender_name", "description", "resident_name", "street_address", "reach_time", "result"} {
		if !strings.Contains(body, `&lt;script&gt;alert(&#34;`+k+`&#34;)&lt;/script&gt;`) {
			t.Errorf("%s is not on the page as text", k)
		}
	}
	// Each long word is inside a block of the wrapping classes.
	for _, class := range []string{`class="contact-answers"`, `class="contact-text"`} {
		i := strings.Index(body, class)
		if i < 0 || !strings.Contains(body[i:], long) {
			t.Errorf("no long word inside %s", class)
		}
	}
}

// TestResidentAboutThemself: a logged-in resident finds the form filled
// in from their profile; their request is marked as their own and the
// desk links to their appointments and chats; afterwards their own pages
// show nothing of it.
func TestResidentAboutThemself(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.t = t
		if st, _ := e.do("GET", "/contact/self", nil, nil); st != http.StatusSeeOther {
			t.Errorf("/contact/self anonymous: %d, want the login", st)
		}
		aino := authtest.Login(t, db.Gorm, auth.RoleResident, "Aino Asukas")
		if err := db.Gorm.Exec("UPDATE users SET postal_code = '00940', email = 'aino@example.test', phone = '040 111 2222' WHERE id = ?", aino.ID).Error; err != nil {
			t.Fatal(err)
		}
		st, body := e.do("GET", "/contact/self", aino, nil)
		if st != http.StatusOK || !strings.Contains(body, `value="Aino Asukas"`) || !strings.Contains(body, `value="00940"`) ||
			!strings.Contains(body, `value="aino@example.test"`) || !strings.Contains(body, `id="who-self" name="who" value="self" class="hds-radio-button__input" checked`) {
			t.Fatalf("/contact/self is not filled in: %d", st)
		}
		v := e.open(aino)
		f := url.Values{"who": {"self"}, "concern": {"rent_debt"}, "description": {"Vuokraa on maksamatta kolmelta kuukaudelta."},
			"resident_name": {"Aino Asukas"}, "street_address": {"Kontulantie 9"}, "postal_code": {"00940"}, "sender_email": {"aino@example.test"}}
		st, loc, body := e.send(v, f)
		if st != http.StatusSeeOther {
			t.Fatalf("send: %d\n%s", st, body)
		}
		id := e.requestID(strings.TrimPrefix(loc, "/contact/sent?ref="))
		if got := e.count("SELECT resident_id FROM contact_requests WHERE id = ?", id); got != aino.ID {
			t.Errorf("resident_id %d, want Aino's", got)
		}
		for _, p := range []string{"/contact", "/contact/self", loc} {
			if _, body := e.do("GET", p, aino, nil); strings.Contains(body, "maksamatta") {
				t.Errorf("%s shows Aino her request", p)
			}
		}
		e.links[aino.ID] = []contact.Link{{URL: "/desk/booking/77", Kind: "booking", When: e.clock.Now().Add(48 * time.Hour)}}
		minna := e.advisor("Minna Neuvoja", e.east)
		_, body = e.do("GET", fmt.Sprintf("/desk/contact/%d", id), minna, nil)
		if !strings.Contains(body, `href="/desk/booking/77"`) || !strings.Contains(body, e.fe.T("fi", "contact.desk.verified")) {
			t.Error("the desk does not link to Aino's appointment")
		}
		if n := e.count("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = ?", minna.ID, aino.ID, string(audit.ContactView)); n != 1 {
			t.Errorf("%d access log entries naming Aino, want 1", n)
		}
		// A resident sending about someone else is not linked.
		f = neighbour()
		f.Set("street_address", "Kontulantie 11")
		if st, loc, _ := e.send(e.open(aino), f); st != http.StatusSeeOther {
			t.Fatalf("about a neighbour: %d", st)
		} else if n := e.count("SELECT COUNT(*) FROM contact_requests WHERE id = ? AND resident_id IS NULL", e.requestID(strings.TrimPrefix(loc, "/contact/sent?ref="))); n != 1 {
			t.Error("a request about someone else is tied to the sender")
		}
	})
}

// TestRetention: a request closed longer than the retention ago is
// replaced by a statistics row with no one in it; open and recently
// closed ones stay.
func TestRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.t = t
		minna := e.advisor("Minna Neuvoja", e.east)
		ctx := auth.WithActor(context.Background(), auth.Actor{UserID: minna.ID, Role: auth.RoleAdvisor})
		var ids []int64
		for _, addr := range []string{"Kontulantie 1", "Kontulantie 2", "Kontulantie 3"} {
			f := neighbour()
			f.Set("street_address", addr)
			f.Set("eviction_date", "2026-05-08")
			_, loc, _ := e.send(e.open(nil), f)
			ids = append(ids, e.requestID(strings.TrimPrefix(loc, "/contact/sent?ref=")))
		}
		if err := e.svc.AddAttempt(ctx, ids[0], contact.AttemptInput{At: e.clock.Now(), Channel: "phone", Result: "Irma vastasi."}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Close(ctx, ids[0], "reached"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(300 * 24 * time.Hour)
		if err := e.svc.Close(ctx, ids[1], "not_reached"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(66 * 24 * time.Hour) // the first closed 366 days ago, the second 66
		n, err := e.svc.AnonymiseExpired(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("anonymised %d, %v; want 1", n, err)
		}
		if got := e.count("SELECT COUNT(*) FROM contact_requests WHERE id = ?", ids[0]); got != 0 {
			t.Error("the expired request is still there")
		}
		if got := e.count("SELECT COUNT(*) FROM contact_attempts"); got != 0 {
			t.Error("its attempts are still there")
		}
		if got := e.count("SELECT COUNT(*) FROM contact_requests WHERE id IN ?", ids[1:]); got != 2 {
			t.Errorf("%d of the open and the recently closed left, want 2", got)
		}
		var st contact.Statistic
		if err := db.Gorm.First(&st).Error; err != nil {
			t.Fatal(err)
		}
		want := contact.Statistic{ID: st.ID, RegionID: st.RegionID, SenderKind: "neighbour", Concern: "upkeep", Urgent: true, Outcome: "reached", CreatedOn: "2026-05-04", ClosedOn: "2026-05-04"}
		if st.RegionID == nil || *st.RegionID != e.east || st != want {
			t.Errorf("statistics row %+v", st)
		}
		if n, _ := e.svc.AnonymiseExpired(context.Background()); n != 0 {
			t.Errorf("a second run anonymised %d", n)
		}
	})
}

// TestEveryChoiceHasWords: every value the form and the desk offer has its
// text in fi, sv and en (they are named dynamically, so the template key
// check cannot see them).
func TestEveryChoiceHasWords(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	var keys []string
	add := func(prefix string, vals []string) {
		for _, v := range vals {
			keys = append(keys, prefix+v)
		}
	}
	add("contact.sender.", contact.SenderKinds)
	add("contact.concern.", contact.Concerns)
	add("contact.knows.", contact.Knows)
	add("contact.channel.", contact.Channels)
	add("contact.outcome.", contact.Outcomes)
	add("contact.link.", []string{"booking", "chat"})
	for _, s := range contact.Statuses {
		keys = append(keys, "contact.status."+string(s))
	}
	add("contact.error.", []string{"postal_code", "choose", "reach", "date_past", "date_future", "expired", "too_fast", "outside_area", "target_limit", "not_found", "closed"})
	add("contact.flash.", []string{"assigned", "attempt", "closed"})
	add("contact.mail.", []string{"subject", "text"})
	for _, k := range keys {
		for _, lang := range frontend.SupportedLanguages() {
			if got := e.fe.T(lang, k); got == k || got == "" {
				t.Errorf("%s has no %s text", k, lang)
			}
		}
	}
}
