package exchange_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/exchange"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// env is the exchange on a real app (session, CSRF, the portal's error
// handler), files in a temporary folder, a settable clock, and the
// housing office's webhook as a test server that counts what it got.
type env struct {
	t     *testing.T
	db    *database.DB
	app   *fiber.App
	fe    *frontend.Frontend
	svc   *exchange.Service
	clock *clocktest.Clock
	hook  *hookServer
	east  int64
}

const secret = "a-webhook-secret-of-at-least-32-characters"

func newEnv(t *testing.T, db *database.DB) *env {
	t.Helper()
	ctx := context.Background()
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
	hook := newHookServer(t)
	svc := exchange.New(exchange.Options{
		DB: db, Users: a.Users(), Regions: regions.NewStore(db.Gorm), Frontend: fe,
		Files: files.New(db.Gorm, store, files.Config{Now: clock.Now}), Audit: audit.New(db.Gorm, clock.Now),
		Outbox: mail.NewOutbox(db.Gorm, clock.Now), CSRF: a.CSRFValid,
		Config: exchange.Config{Limits: files.Limits{MaxFileBytes: 64 << 10, MaxFiles: 3, MaxTotalBytes: 100 << 10},
			WebhookURL: hook.srv.URL, WebhookSecret: []byte(secret), PublicURL: &url.URL{Scheme: "https", Host: "portal.test"}},
		Now: clock.Now,
	})
	a.StreamedUploads(exchange.UploadPath)
	svc.Register(app, nil)
	_ = ctx
	return &env{t: t, db: db, app: app, fe: fe, svc: svc, clock: clock, hook: hook, east: 4}
}

func (e *env) do(method, path string, u *authtest.User, form url.Values) (int, string) {
	e.t.Helper()
	return authtest.Do(e.t, e.app, method, path, u, form)
}

// resident logs in a resident with an e-mail address (for the status mails).
func (e *env) resident(name string) *authtest.User {
	e.t.Helper()
	u := authtest.Login(e.t, e.db.Gorm, auth.RoleResident, name)
	if err := e.db.Gorm.Exec("UPDATE users SET email = ? WHERE id = ?", strings.ToLower(strings.Fields(name)[0])+"@example.test", u.ID).Error; err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) advisor(name string, region int64) *authtest.User {
	e.t.Helper()
	u := authtest.Login(e.t, e.db.Gorm, auth.RoleAdvisor, name)
	if err := auth.NewUsers(e.db.Gorm).SetRegion(context.Background(), u.ID, &region); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// upload posts files as the browser's upload form does: the CSRF token
// first, then each file.
func (e *env) upload(u *authtest.User, id int64, csrf string, parts map[string][]byte) (int, string) {
	e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if csrf != "" {
		if err := w.WriteField("_csrf", csrf); err != nil {
			e.t.Fatal(err)
		}
	}
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fw, err := w.CreateFormFile("attachment", n)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := fw.Write(parts[n]); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
	req := httptest.NewRequest("POST", fmt.Sprintf("/exchange/%d/attachments", id), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Cookie", u.Cookie)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (e *env) answers(id int64) string {
	e.t.Helper()
	var s string
	if err := e.db.Gorm.Raw("SELECT answers FROM exchange_applications WHERE id = ?", id).Scan(&s).Error; err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) status(id int64) string {
	e.t.Helper()
	var s string
	if err := e.db.Gorm.Raw("SELECT status FROM exchange_applications WHERE id = ?", id).Scan(&s).Error; err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) mails(to string) []mail.Stored {
	e.t.Helper()
	var out []mail.Stored
	if err := e.db.Gorm.Where("recipient = ?", to).Order("id").Find(&out).Error; err != nil {
		e.t.Fatal(err)
	}
	return out
}

// A tiny but real PDF and a PNG header: the files service sniffs them.
var (
	pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	htmlPDF  = []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
)

var steps = []struct {
	name string
	form url.Values
}{
	{"home", url.Values{"address": {"Kontulantie 1 A 2"}, "postal_code": {"00940"}, "landlord": {"city"}, "rooms": {"2"}, "area": {"48"}, "rent": {"812,40"}, "tenancy_start": {"2019-08-01"}}},
	{"household", url.Values{"adults": {"1"}, "children_ages": {"4, 9"}, "needs": {"ground_floor", "lift"}}},
	{"reasons", url.Values{"reasons": {"crisis", "too_small"}, "crisis": {"violence"}, "explain_crisis": {"Entinen puoliso tietää osoitteen."}, "explain_too_small": {"Kolme ihmistä kaksiossa."}}},
	{"wishes", url.Values{"areas": {"Itä-Helsinki"}, "wish_rooms": {"3"}, "max_rent": {"950"}, "earliest_move": {"2026-06-01"}}},
	{"consent", url.Values{"wants_help": {"yes"}, "consent": {"yes"}}},
}

// fill starts an application and answers every step; it returns the id.
func (e *env) fill(u *authtest.User) int64 {
	e.t.Helper()
	st, _ := e.do("POST", "/exchange", u, url.Values{"_csrf": {u.CSRF}})
	if st != http.StatusSeeOther {
		e.t.Fatalf("start: %d", st)
	}
	var id int64
	if err := e.db.Gorm.Raw("SELECT MAX(id) FROM exchange_applications WHERE resident_id = ?", u.ID).Scan(&id).Error; err != nil {
		e.t.Fatal(err)
	}
	for _, s := range steps {
		f := url.Values{"_csrf": {u.CSRF}}
		for k, v := range s.form {
			f[k] = v
		}
		if st, body := e.do("POST", fmt.Sprintf("/exchange/%d/%s", id, s.name), u, f); st != http.StatusSeeOther {
			e.t.Fatalf("step %s: %d\n%s", s.name, st, errorsOf(body))
		}
	}
	return id
}

func errorsOf(body string) string {
	var out []string
	for _, part := range strings.Split(body, `hds-text-input__error-text`)[1:] {
		if i := strings.Index(part, "</span>"); i > 0 {
			out = append(out, part[:i])
		}
	}
	return strings.Join(out, "\n")
}

// TestResidentFillsSavesAndSends: the form is saved a step at a time; bad
// input shows the step again and changes nothing; attachments are sniffed
// (an HTML page named .pdf is refused) and listed; the application is sent
// only whole, routed to the postal code's region; the resident gets a
// content-free mail and a PDF copy; nobody else sees any of it.
func TestResidentFillsSavesAndSends(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		aino := e.resident("Aino Asukas")
		st, _ := e.do("POST", "/exchange", aino, url.Values{"_csrf": {aino.CSRF}})
		if st != http.StatusSeeOther {
			t.Fatalf("start: %d", st)
		}
		var id int64
		if err := db.Gorm.Raw("SELECT id FROM exchange_applications WHERE resident_id = ?", aino.ID).Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("no draft: %v", err)
		}
		base := fmt.Sprintf("/exchange/%d", id)

		// A later step is not open before the earlier ones.
		if st, _ := e.do("GET", base+"/wishes", aino, nil); st != http.StatusSeeOther {
			t.Errorf("wishes before home: %d, want a redirect", st)
		}
		before := e.answers(id)
		st, body := e.do("POST", base+"/home", aino, url.Values{"_csrf": {aino.CSRF}, "address": {"x"}, "postal_code": {"0094"},
			"landlord": {"castle"}, "rooms": {"0"}, "area": {"48"}, "rent": {"8,123"}})
		if st != http.StatusUnprocessableEntity {
			t.Fatalf("bad home: %d", st)
		}
		for _, want := range []string{e.fe.T("fi", "exchange.error.postal_code"), e.fe.T("fi", "exchange.error.choose"), e.fe.T("fi", "exchange.error.money"), e.fe.T("fi", "exchange.error.number")} {
			if !strings.Contains(body, want) {
				t.Errorf("bad home page lacks %q", want)
			}
		}
		if e.answers(id) != before {
			t.Error("a refused step changed the answers")
		}
		// Sending an unfinished application is refused.
		if st, _ := e.do("POST", base+"/send", aino, url.Values{"_csrf": {aino.CSRF}}); st != http.StatusUnprocessableEntity {
			t.Errorf("send an empty draft: %d", st)
		}

		for _, s := range steps[:3] {
			f := url.Values{"_csrf": {aino.CSRF}}
			for k, v := range s.form {
				f[k] = v
			}
			if st, body := e.do("POST", base+"/"+s.name, aino, f); st != http.StatusSeeOther {
				t.Fatalf("step %s: %d %s", s.name, st, errorsOf(body))
			}
		}
		// "Continue later" saves and returns to Oma asiointi.
		st, _ = e.do("GET", base+"/reasons", aino, nil)
		if st != http.StatusOK {
			t.Fatalf("reasons again: %d", st)
		}

		// Attachments: a real PDF is taken, HTML named .pdf is not, no
		// token is forbidden, and over the per-file limit is 413.
		if st, body := e.upload(aino, id, aino.CSRF, map[string][]byte{"vuokrasopimus.pdf": pdfBytes}); st != http.StatusSeeOther {
			t.Fatalf("upload a PDF: %d %s", st, errorsOf(body))
		}
		if st, body := e.upload(aino, id, aino.CSRF, map[string][]byte{"kuitti.pdf": htmlPDF}); st != http.StatusUnprocessableEntity ||
			!strings.Contains(body, e.fe.T("fi", "files.error.type")) {
			t.Errorf("HTML named .pdf: %d %s", st, errorsOf(body))
		}
		if st, _ := e.upload(aino, id, "", map[string][]byte{"x.pdf": pdfBytes}); st != http.StatusForbidden {
			t.Errorf("upload without the token: %d", st)
		}
		big := append(slices.Clone(pdfBytes), bytes.Repeat([]byte("0"), 70<<10)...)
		if st, _ := e.upload(aino, id, aino.CSRF, map[string][]byte{"iso.pdf": big}); st != http.StatusRequestEntityTooLarge {
			t.Errorf("over the file limit: %d", st)
		}
		var nfiles int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM files WHERE owner = ?", "exchange/"+strconv.FormatInt(id, 10)).Scan(&nfiles).Error; err != nil || nfiles != 1 {
			t.Errorf("%d files stored, want the one PDF (%v)", nfiles, err)
		}
		st, body = e.do("GET", base+"/reasons", aino, nil)
		if st != http.StatusOK || !strings.Contains(body, "vuokrasopimus.pdf") || !strings.Contains(body, e.fe.T("fi", "exchange.attachments.remove")) {
			t.Errorf("the reasons step does not list the attachment with a remove button")
		}

		for _, s := range steps[3:] {
			f := url.Values{"_csrf": {aino.CSRF}}
			for k, v := range s.form {
				f[k] = v
			}
			if st, body := e.do("POST", base+"/"+s.name, aino, f); st != http.StatusSeeOther {
				t.Fatalf("step %s: %d %s", s.name, st, errorsOf(body))
			}
		}
		st, body = e.do("GET", base+"/summary", aino, nil)
		if st != http.StatusOK || !strings.Contains(body, "Kontulantie 1 A 2") || !strings.Contains(body, "812,40 €") ||
			!strings.Contains(body, "Lähisuhdeväkivalta") {
			t.Errorf("summary %d lacks the answers in words", st)
		}

		// Someone else sees nothing of it.
		other := e.resident("Bertta Toinen")
		for _, p := range []string{base, base + "/summary", base + "/copy.pdf"} {
			if st, _ := e.do("GET", p, other, nil); st != http.StatusNotFound {
				t.Errorf("another resident GET %s: %d, want 404", p, st)
			}
		}

		if st, _ := e.do("POST", base+"/send", aino, url.Values{"_csrf": {aino.CSRF}}); st != http.StatusSeeOther {
			t.Fatalf("send: %d", st)
		}
		if got := e.status(id); got != "sent" {
			t.Fatalf("status %q after sending", got)
		}
		var region int64
		if err := db.Gorm.Raw("SELECT region_id FROM exchange_applications WHERE id = ?", id).Scan(&region).Error; err != nil || region != e.east {
			t.Errorf("region %d, want east (%d)", region, e.east)
		}
		// Sent is read-only.
		if st, _ := e.do("POST", base+"/home", aino, url.Values{"_csrf": {aino.CSRF}, "address": {"Muu"}}); st != http.StatusConflict {
			t.Errorf("changing a sent application: %d, want 409", st)
		}
		mails := e.mails("aino@example.test")
		if len(mails) != 1 || mails[0].SubjectKey != "exchange.mail.subject" || !strings.Contains(mails[0].BodyText, "https://portal.test"+base) {
			t.Fatalf("mails %+v", mails)
		}
		for _, secretWord := range []string{"Kontulantie", "puoliso", "väkivalta", "00940"} {
			if strings.Contains(mails[0].BodyText, secretWord) || strings.Contains(mails[0].Subject, secretWord) {
				t.Errorf("the mail tells %q", secretWord)
			}
		}
		req := httptest.NewRequest("GET", base+"/copy.pdf?lang=sv", nil)
		req.Header.Set("Cookie", aino.Cookie)
		resp, err := e.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		pdf, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("copy: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// hookServer is the housing office's endpoint: it checks the signature
// and counts the deliveries; failFirst makes its first answers 500.
type hookServer struct {
	srv       *httptest.Server
	mu        sync.Mutex
	bodies    [][]byte
	failFirst int
	badSigs   int
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(exchange.HeaderTimestamp)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Header.Get(exchange.HeaderSignature) != "v1="+hex.EncodeToString(m.Sum(nil)) {
			h.badSigs++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h.failFirst > 0 {
			h.failFirst--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		h.bodies = append(h.bodies, body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// TestAdvisorAssessesAndForwards: an advisor of the region opens the
// application (logged), an advisor of another region cannot; an
// assessment missing its justification changes nothing; the assessment
// and the forward each tell the resident; the package reaches the webhook
// signed, is retried after a failure and never sent again after a 2xx.
func TestAdvisorAssessesAndForwards(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		aino := e.resident("Aino Asukas")
		id := e.fill(aino)
		if st, _ := e.do("POST", fmt.Sprintf("/exchange/%d/attachments", id), aino, nil); st == http.StatusOK {
			t.Fatal("an upload without a body succeeded")
		}
		if st, _ := e.upload(aino, id, aino.CSRF, map[string][]byte{"todistus.pdf": pdfBytes}); st != http.StatusSeeOther {
			t.Fatalf("upload: %d", st)
		}
		if st, _ := e.do("POST", fmt.Sprintf("/exchange/%d/send", id), aino, url.Values{"_csrf": {aino.CSRF}}); st != http.StatusSeeOther {
			t.Fatalf("send: %d", st)
		}
		minna := e.advisor("Minna Neuvoja", e.east)
		west := e.advisor("Ville Länsi", 2)
		base := fmt.Sprintf("/desk/exchange/%d", id)

		st, body := e.do("GET", "/desk/exchange", minna, nil)
		if st != http.StatusOK || !strings.Contains(body, "Aino Asukas") {
			t.Fatalf("east desk list: %d", st)
		}
		if st, body := e.do("GET", "/desk/exchange", west, nil); st != http.StatusOK || strings.Contains(body, "Aino Asukas") {
			t.Errorf("the west advisor's list shows the east application")
		}
		var listed int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND reason = ?", minna.ID, aino.ID, string(audit.ReasonDeskList)).Scan(&listed).Error; err != nil || listed != 1 {
			t.Errorf("%d access log entries for the list that names Aino (%v)", listed, err)
		}
		if st, _ := e.do("GET", base, west, nil); st != http.StatusNotFound {
			t.Errorf("west opens it: %d, want 404", st)
		}
		if st, _ := e.do("GET", base, aino, nil); st != http.StatusForbidden {
			t.Errorf("the resident opens the desk page: %d", st)
		}
		if st, body := e.do("GET", base, minna, nil); st != http.StatusOK || !strings.Contains(body, "todistus.pdf") {
			t.Fatalf("desk show: %d", st)
		}
		var logged int64
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = ? AND resource = ?", minna.ID, aino.ID, string(audit.ExchangeView), fmt.Sprintf("exchange/%d", id)).Scan(&logged).Error; err != nil || logged != 1 {
			t.Errorf("%d access log entries for opening it (%v)", logged, err)
		}
		// The attachment download is logged too.
		var fileID int64
		if err := db.Gorm.Raw("SELECT id FROM files WHERE owner = ?", fmt.Sprintf("exchange/%d", id)).Scan(&fileID).Error; err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", fmt.Sprintf("%s/attachments/%d", base, fileID), nil)
		req.Header.Set("Cookie", minna.Cookie)
		resp, err := e.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Equal(got, pdfBytes) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("staff download: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		if err := db.Gorm.Raw("SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND action = ?", minna.ID, string(audit.ExchangeAttachment)).Scan(&logged).Error; err != nil || logged != 1 {
			t.Errorf("%d access log entries for the download", logged)
		}

		// Forwarding before the assessment is refused.
		if st, _ := e.do("POST", base+"/forward", minna, url.Values{"_csrf": {minna.CSRF}}); st != http.StatusConflict {
			t.Errorf("forward before assessment: %d", st)
		}
		if st, _ := e.do("POST", base+"/assess", minna, url.Values{"_csrf": {minna.CSRF}, "special": {"yes"}}); st != http.StatusUnprocessableEntity {
			t.Errorf("special support without justification: %d", st)
		}
		if got := e.status(id); got != "sent" {
			t.Errorf("a refused assessment moved the status to %q", got)
		}
		st, _ = e.do("POST", base+"/assess", minna, url.Values{"_csrf": {minna.CSRF}, "special": {"yes"}, "criteria": {"violence_threat", "child_welfare"},
			"why": {"Väkivallan uhka entisen puolison taholta."}, "statement": {"Puollan kiireellistä vaihtoa."}, "urgency": {"urgent"},
			"message": {"Hakemuksesi on arvioitu."}})
		if st != http.StatusSeeOther || e.status(id) != "in_assessment" {
			t.Fatalf("assess: %d, status %s", st, e.status(id))
		}
		e.hook.failFirst = 1
		if st, _ := e.do("POST", base+"/forward", minna, url.Values{"_csrf": {minna.CSRF}, "forward_message": {"Välitetty."}}); st != http.StatusSeeOther || e.status(id) != "forwarded" {
			t.Fatalf("forward: %d, %s", st, e.status(id))
		}
		if n := len(e.mails("aino@example.test")); n != 3 {
			t.Errorf("%d mails to the resident, want 3 (sent, assessed, forwarded)", n)
		}

		ctx := context.Background()
		client := &http.Client{Timeout: 5 * time.Second}
		if n, err := e.svc.DeliverDue(ctx, client); err != nil || n != 0 {
			t.Fatalf("first delivery: %d, %v; want the 500 to count as a failure", n, err)
		}
		if n, _ := e.svc.DeliverDue(ctx, client); n != 0 {
			t.Error("retried before its back-off")
		}
		e.clock.Add(time.Minute)
		if n, err := e.svc.DeliverDue(ctx, client); err != nil || n != 1 {
			t.Fatalf("retry: %d, %v", n, err)
		}
		e.clock.Add(24 * time.Hour)
		if n, _ := e.svc.DeliverDue(ctx, client); n != 0 {
			t.Error("delivered again after a 2xx")
		}
		if e.hook.badSigs != 0 || len(e.hook.bodies) != 1 {
			t.Fatalf("webhook: %d bad signatures, %d bodies", e.hook.badSigs, len(e.hook.bodies))
		}
		var p exchange.Package
		if err := json.Unmarshal(e.hook.bodies[0], &p); err != nil {
			t.Fatal(err)
		}
		if p.Reference != exchange.Reference(id) || p.Justification == nil || p.Justification.Urgency != "urgent" ||
			len(p.Attachments) != 1 || p.Attachments[0].Content == "" || p.Answers.Home.Address != "Kontulantie 1 A 2" {
			t.Errorf("package %+v", p)
		}

		// The package as PDF and JSON from the desk.
		for _, suffix := range []string{"/package.pdf", "/package.json"} {
			req := httptest.NewRequest("GET", base+suffix, nil)
			req.Header.Set("Cookie", minna.Cookie)
			resp, err := e.app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d", suffix, resp.StatusCode)
			}
		}
		// The resident sees the status and the advisor's messages.
		st, body = e.do("GET", fmt.Sprintf("/exchange/%d", id), aino, nil)
		if st != http.StatusOK || !strings.Contains(body, "Välitetty asuntotoimistoon") || !strings.Contains(body, "Hakemuksesi on arvioitu.") {
			t.Errorf("resident's view: %d", st)
		}
		if strings.Contains(body, "Puollan") {
			t.Error("the resident sees the advisor's statement")
		}
		if st, _ := e.do("POST", base+"/outcome", minna, url.Values{"_csrf": {minna.CSRF}, "status": {"offer_made"}, "outcome_message": {"Tarjous tehty."}}); st != http.StatusSeeOther || e.status(id) != "offer_made" {
			t.Errorf("outcome: %d %s", st, e.status(id))
		}
	})
}

// TestStaleDraftsGo: drafts untouched for the TTL are deleted with their
// files; sent applications and fresh drafts stay.
func TestStaleDraftsGo(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	old := e.resident("Olli Vanha")
	st, _ := e.do("POST", "/exchange", old, url.Values{"_csrf": {old.CSRF}})
	if st != http.StatusSeeOther {
		t.Fatal(st)
	}
	var id int64
	if err := db.Gorm.Raw("SELECT id FROM exchange_applications WHERE resident_id = ?", old.ID).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec("UPDATE exchange_applications SET step = 'reasons' WHERE id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	if st, _ := e.upload(old, id, old.CSRF, map[string][]byte{"a.pdf": pdfBytes}); st != http.StatusSeeOther {
		t.Fatalf("upload %d", st)
	}
	sent := e.resident("Sanna Lähettänyt")
	sentID := e.fill(sent)
	if st, _ := e.do("POST", fmt.Sprintf("/exchange/%d/send", sentID), sent, url.Values{"_csrf": {sent.CSRF}}); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	e.clock.Add(91 * 24 * time.Hour)
	fresh := e.resident("Fanni Tuore")
	if st, _ := e.do("POST", "/exchange", fresh, url.Values{"_csrf": {fresh.CSRF}}); st != http.StatusSeeOther {
		t.Fatal(st)
	}
	n, err := e.svc.DeleteStaleDrafts(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want the one stale draft", n, err)
	}
	var left []string
	if err := db.Gorm.Raw("SELECT status FROM exchange_applications ORDER BY id").Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{"sent", "draft"}) {
		t.Errorf("left %v, want the sent application and the fresh draft", left)
	}
	var files int64
	if err := db.Gorm.Raw("SELECT COUNT(*) FROM files WHERE owner = ?", fmt.Sprintf("exchange/%d", id)).Scan(&files).Error; err != nil || files != 0 {
		t.Errorf("%d files of the deleted draft remain", files)
	}
}

// TestEveryChoiceHasWords: every value the form offers, every status and
// criterion has its text in fi, sv and en (they are named dynamically, so
// the template key check cannot see them).
func TestEveryChoiceHasWords(t *testing.T) {
	db := dbtest.SQLite(t)
	e := newEnv(t, db)
	var keys []string
	add := func(prefix string, vals []string) {
		for _, v := range vals {
			keys = append(keys, prefix+v)
		}
	}
	add("exchange.reason.", exchange.Reasons)
	add("exchange.explain.", exchange.Reasons)
	add("exchange.crisis.", exchange.CrisisKinds)
	add("exchange.need.", exchange.Needs)
	add("exchange.landlord.", exchange.Landlords)
	add("exchange.criterion.", exchange.Criteria)
	add("exchange.urgency.", exchange.Urgencies)
	add("exchange.step.", append(slices.Clone(exchange.Steps), "summary"))
	for _, s := range exchange.Statuses {
		keys = append(keys, "exchange.status."+string(s), "exchange.status_help."+string(s))
	}
	keys = append(keys, "exchange.status.draft")
	add("exchange.filetype.", []string{"pdf", "jpeg", "png", "unknown"})
	for _, k := range keys {
		for _, lang := range frontend.SupportedLanguages() {
			if got := e.fe.T(lang, k); got == k || got == "" {
				t.Errorf("%s has no %s text", k, lang)
			}
		}
	}
}
