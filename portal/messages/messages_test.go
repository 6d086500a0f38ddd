package messages_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail/mailtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/messages"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

type env struct {
	t     testing.TB
	db    *database.DB
	app   *fiber.App
	fe    *frontend.Frontend
	svc   *messages.Service
	clock *clocktest.Clock
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
	store, err := files.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	svc := messages.New(messages.Options{
		DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
		Files: files.New(db.Gorm, store, files.Config{Now: clock.Now}), Audit: audit.New(db.Gorm, clock.Now),
		Outbox: mail.NewOutbox(db.Gorm, clock.Now), CSRF: a.CSRFValid,
		Config: messages.Config{PublicURL: &url.URL{Scheme: "https", Host: "portal.test"}}, Now: clock.Now,
	})
	a.StreamedUploads(messages.UploadPaths...)
	svc.Register(app, nil)
	return &env{t: t, db: db, app: app, fe: fe, svc: svc, clock: clock}
}

// person logs in someone with an e-mail address, a postal code and, for
// staff, a region.
func (e *env) person(role auth.Role, name, postal string, region int64) *authtest.User {
	e.t.Helper()
	u := authtest.Login(e.t, e.db.Gorm, role, name)
	email := strings.ToLower(strings.Fields(name)[0]) + "@example.test"
	if err := e.db.Gorm.Exec("UPDATE users SET email = ?, postal_code = ?, given_name = ? WHERE id = ?", email, postal, strings.Fields(name)[0], u.ID).Error; err != nil {
		e.t.Fatal(err)
	}
	if region != 0 {
		if err := auth.NewUsers(e.db.Gorm).SetRegion(context.Background(), u.ID, &region); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

// post sends a streamed message form: the CSRF token first, the fields,
// then the files.
func (e *env) post(u *authtest.User, path string, fields map[string]string, fileParts map[string][]byte) (int, string) {
	e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if err := w.WriteField("_csrf", u.CSRF); err != nil {
		e.t.Fatal(err)
	}
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			e.t.Fatal(err)
		}
	}
	for name, data := range fileParts {
		fw, err := w.CreateFormFile("attachment", name)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := fw.Write(data); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Cookie", u.Cookie)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) get(u *authtest.User, path string) (int, string) {
	e.t.Helper()
	return authtest.Do(e.t, e.app, "GET", path, u, nil)
}

func (e *env) mails(to string) []mail.Stored {
	e.t.Helper()
	var out []mail.Stored
	if err := e.db.Gorm.Where("recipient = ?", to).Order("id").Find(&out).Error; err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) logged(actor int64, action audit.Action) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND action = ?", actor, string(action)).Scan(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// TestThreadBetweenResidentAndAdvisor: a resident writes to her region with
// an attachment; its advisors get one content-free mail about the new
// thread; another resident or another region's advisor gets the same 404
// for her thread as for one that does not exist; the advisor's answer
// mails the resident without its text, markup stays text, read status and
// unread counts follow who has opened what, and staff reads are logged.
func TestThreadBetweenResidentAndAdvisor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		aino := e.person(auth.RoleResident, "Aino Asukas", "00940", 0)
		bertta := e.person(auth.RoleResident, "Bertta Toinen", "00940", 0)
		minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", "", 4)
		e.person(auth.RoleAdvisor, "Tiina Toinen", "", 4) // the region's other advisor: one mail too
		ville := e.person(auth.RoleAdvisor, "Ville Länsi", "", 2)
		secret := "Vuokrarästi 1 200 € <script>alert(1)</script> " + strings.Repeat("pitkäsana", 40)

		// A refused message stores nothing, its file neither.
		if st, _ := e.post(aino, "/messages", map[string]string{"subject": "", "body": ""}, map[string][]byte{"a.pdf": pdf}); st != http.StatusUnprocessableEntity {
			t.Fatalf("empty message: %d", st)
		}
		var n int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM files").Scan(&n).Error; err != nil || n != 0 {
			t.Fatalf("%d files after a refused message", n)
		}

		st, _ := e.post(aino, "/messages", map[string]string{"subject": "Vuokrarästi", "body": secret}, map[string][]byte{"tiliote.pdf": pdf})
		if st != http.StatusSeeOther {
			t.Fatalf("send: %d", st)
		}
		var id int64
		if err := db.Gorm.Raw("SELECT id FROM message_threads WHERE resident_id = ?", aino.ID).Scan(&id).Error; err != nil || id == 0 {
			t.Fatal("no thread")
		}
		path := fmt.Sprintf("/messages/%d", id)
		desk := fmt.Sprintf("/desk/messages/%d", id)

		for _, who := range []string{"minna@example.test", "tiina@example.test"} {
			m := e.mails(who)
			if len(m) != 1 || m[0].SubjectKey != "messages.mail.staff_new.subject" || strings.Contains(m[0].BodyText, "Vuokrarästi") {
				t.Errorf("mails to %s: %+v", who, m)
			}
		}
		if m := e.mails("ville@example.test"); len(m) != 0 {
			t.Errorf("the west advisor got %d mails", len(m))
		}

		// Not a party: the same 404 as for nothing at all.
		_, missing := e.get(bertta, "/messages/99999")
		for _, tc := range []struct {
			u    *authtest.User
			path string
		}{{bertta, path}, {ville, desk}, {bertta, path + "/files/1"}} {
			st, body := e.get(tc.u, tc.path)
			if st != http.StatusNotFound || (tc.u == bertta && tc.path == path && mainOf(body) != mainOf(missing)) {
				t.Errorf("%s GET %s: %d, want the 404 of a missing thread", tc.u.Name, tc.path, st)
			}
		}
		if st, _ := e.post(bertta, path, map[string]string{"body": "minäkin"}, nil); st != http.StatusNotFound {
			t.Errorf("Bertta answers Aino's thread: %d", st)
		}
		if _, body := e.get(bertta, "/messages"); strings.Contains(body, "Vuokrarästi") {
			t.Error("Bertta's list shows Aino's thread")
		}
		if _, body := e.get(ville, "/desk/messages?box=all"); strings.Contains(body, "Vuokrarästi") {
			t.Error("the west advisor's inbox shows the thread")
		}

		st, body := e.get(minna, "/desk/messages")
		if st != http.StatusOK || !strings.Contains(body, "Vuokrarästi") {
			t.Fatalf("Minna's inbox: %d", st)
		}
		var listed int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND reason = ?", minna.ID, aino.ID, string(audit.ReasonDeskList)).Scan(&listed).Error; err != nil || listed != 1 {
			t.Errorf("%d access log entries for the inbox that names Aino (%v)", listed, err)
		}
		st, body = e.get(minna, desk)
		if st != http.StatusOK || strings.Contains(body, "<script>alert(1)</script>") || !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("Minna's view of the thread: %d (markup must be text)", st)
		}
		if e.logged(minna.ID, audit.MessageThreadView) != 2 {
			t.Error("the inbox and the opening of the thread were not each logged once")
		}
		answer := "Soitan sinulle huomenna kello 10."
		if st, _ := e.post(minna, desk, map[string]string{"body": answer}, nil); st != http.StatusSeeOther {
			t.Fatalf("Minna answers: %d", st)
		}
		m := e.mails("aino@example.test")
		if len(m) != 1 || m[0].SubjectKey != "messages.mail.new.subject" || !strings.Contains(m[0].BodyText, "https://portal.test"+path) ||
			strings.Contains(m[0].BodyText, "Soitan") || strings.Contains(m[0].Subject, "Vuokrarästi") {
			t.Fatalf("mail to Aino: %+v", m)
		}
		if n, err := e.svc.UnreadForResident(context.Background(), aino.ID); err != nil || n != 1 {
			t.Errorf("Aino's unread: %d, %v", n, err)
		}
		if _, body := e.get(minna, desk); !strings.Contains(body, e.fe.T("fi", "messages.not_read")) {
			t.Error("Minna's message is not shown as unread")
		}
		st, body = e.get(aino, path)
		if st != http.StatusOK || !strings.Contains(body, answer) || !strings.Contains(body, "Asumisneuvoja Minna") || strings.Contains(body, "Neuvoja</") {
			t.Errorf("Aino's view: %d", st)
		}
		if n, _ := e.svc.UnreadForResident(context.Background(), aino.ID); n != 0 {
			t.Errorf("Aino's unread after reading: %d", n)
		}
		if _, body := e.get(minna, desk); !strings.Contains(body, e.fe.T("fi", "messages.read")) {
			t.Error("Minna does not see that Aino read her message")
		}
		// The resident's reply does not mail the region again.
		if st, _ := e.post(aino, path, map[string]string{"body": "Kiitos!"}, nil); st != http.StatusSeeOther {
			t.Fatalf("Aino answers: %d", st)
		}
		if len(e.mails("tiina@example.test")) != 1 {
			t.Error("a reply mailed the region again")
		}

		var fileID int64
		if err := db.Gorm.Raw("SELECT id FROM files").Scan(&fileID).Error; err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			u    *authtest.User
			base string
		}{{aino, path}, {minna, desk}} {
			req := httptest.NewRequest("GET", fmt.Sprintf("%s/files/%d", tc.base, fileID), nil)
			req.Header.Set("Cookie", tc.u.Cookie)
			resp, err := e.app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !bytes.Equal(got, pdf) {
				t.Errorf("%s downloads: %d", tc.u.Name, resp.StatusCode)
			}
		}
		if e.logged(minna.ID, audit.MessageAttachment) != 1 {
			t.Error("the staff download was not logged")
		}
		if st, _ := e.get(bertta, fmt.Sprintf("%s/files/%d", path, fileID)); st != http.StatusNotFound {
			t.Errorf("Bertta downloads: %d", st)
		}
	})
}

// TestReminderOnceWhenUnread: a staff message still unread after the
// reminder period gets one reminder; a read one none.
func TestReminderOnceWhenUnread(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	aino := e.person(auth.RoleResident, "Aino Asukas", "00940", 0)
	minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", "", 4)
	ctx := authtest.WithActor(context.Background(), minna)
	if _, err := e.svc.StartByStaff(ctx, aino.ID, messages.Draft{Subject: "Tapaaminen", Body: "Tervetuloa tapaamiseen."}); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.svc.SendReminders(context.Background()); n != 0 {
		t.Fatal("reminded at once")
	}
	e.clock.Add(8 * 24 * time.Hour)
	if n, err := e.svc.SendReminders(context.Background()); err != nil || n != 1 {
		t.Fatalf("reminders: %d, %v", n, err)
	}
	if n, _ := e.svc.SendReminders(context.Background()); n != 0 {
		t.Error("reminded twice")
	}
	var keys []string
	for _, m := range e.mails("aino@example.test") {
		keys = append(keys, m.SubjectKey)
	}
	if strings.Join(keys, " ") != "messages.mail.new.subject messages.mail.reminder.subject" {
		t.Errorf("mails %v", keys)
	}
}

// TestMailServerDownLosesNothing: the notice of a new message waits in the
// outbox while the mail server is down and arrives, over real SMTP, once
// it is up; it carries the link and none of the message.
func TestMailServerDownLosesNothing(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	aino := e.person(auth.RoleResident, "Aino Asukas", "00940", 0)
	minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", "", 4)
	port := mailtest.FreePort(t)
	transport, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: "Asumisneuvonta <noreply@portal.test>", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sender := mail.NewSender(db, transport, mail.SenderConfig{}, e.clock.Now, nil)
	ctx := authtest.WithActor(context.Background(), minna)
	if _, err := e.svc.StartByStaff(ctx, aino.ID, messages.Draft{Subject: "Maksusuunnitelma", Body: "Maksusuunnitelman luonnos on liitteenä."}); err != nil {
		t.Fatal(err)
	}
	if n, _ := sender.SendDue(context.Background()); n != 0 {
		t.Fatal("delivered to a server that is down")
	}
	sink := mailtest.StartAt(t, port)
	e.clock.Add(time.Hour)
	if n, err := sender.SendDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the server came back: %d, %v", n, err)
	}
	got := sink.Mails()
	if len(got) != 1 || got[0].To[0] != "aino@example.test" {
		t.Fatalf("received %+v", got)
	}
	data := string(got[0].Data)
	if !strings.Contains(data, "https://portal.test/messages/") || strings.Contains(data, "Maksusuunnitelma") || strings.Contains(data, "luonnos") {
		t.Errorf("the mail says too much or too little:\n%s", data)
	}
}

// TestChatContinuesAsThread: an ended chat becomes the first message of a
// thread, from the advisor, and the resident reads it.
func TestChatContinuesAsThread(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	aino := e.person(auth.RoleResident, "Aino Asukas", "00940", 0)
	minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", "", 4)
	id, err := e.svc.StartFromChat(context.Background(), aino.ID, minna.ID, "Chat: Vuokrarästi", "10.00 Aino: Hei\n10.01 Minna: Hei, miten voin auttaa?\n")
	if err != nil {
		t.Fatal(err)
	}
	st, body := e.get(aino, fmt.Sprintf("/messages/%d", id))
	if st != http.StatusOK || !strings.Contains(body, "miten voin auttaa") || !strings.Contains(body, "Chat: Vuokrarästi") {
		t.Errorf("the thread from the chat: %d", st)
	}
	if len(e.mails("aino@example.test")) != 1 {
		t.Error("the resident was not told of the thread")
	}
}

// mainOf is a page's main content, without what differs per request (the
// form tokens in the header).
func mainOf(page string) string {
	i, j := strings.Index(page, "<main"), strings.Index(page, "</main>")
	if i < 0 || j < i {
		return page
	}
	return page[i:j]
}
