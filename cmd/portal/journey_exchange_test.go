package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files/filestest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail/mailtest"
)

// TestJourneyExchangeApplication follows one housing-exchange application
// across two instances in the production shape (one PostgreSQL, one Redis,
// files in S3, every upload through ClamAV, mail through SMTP):
//
//   - Aino, on instance A, fills in her home and household, starts on the
//     reasons, saves and closes the tab;
//   - later, in a new browser session that lands on instance B, she logs
//     in again and finds the draft where she left it; a PDF carrying the
//     test virus is refused, her real PDF is taken; she sends the
//     application and downloads her PDF copy, which holds what she sent;
//   - Minna, her region's advisor on instance A, opens it, downloads the
//     attachment B stored (logged), assesses it and forwards it;
//   - Aino sees the new status and the advisor's message, not her
//     statement; each change reached her mailbox once, as a mail that
//     links to the application and tells nothing of it.
//
// Every key page passes axe-core and shows no console error, CSP
// violation or untranslated key; a failure leaves each tab's last pages in
// the test's artifact folder.
func TestJourneyExchangeApplication(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	svc := startJourneyServices(t)
	ps := startInstances(t, 2, svc.env)
	a, b := ps[0], ps[1]
	br := startChromium(t, exe)
	began := time.Now()

	dir := t.TempDir()
	pdf := journeyPDF("Vuokrasopimus, Kontulantie 1 A 2", "")
	pdfPath := filepath.Join(dir, "vuokrasopimus.pdf")
	virusPath := filepath.Join(dir, "skannattu-kuitti.pdf")
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(virusPath, journeyPDF("Kuitti", string(filestest.EICAR())), 0o600); err != nil {
		t.Fatal(err)
	}
	ainoID := a.userID(t, "demo-resident-aino")
	minnaID := a.userID(t, "demo-advisor-east-1")
	next := chromedp.Click(button("//main", "Tallenna ja jatka"))

	// Instance A: the first steps, then "save and continue later".
	aino := newBookingTab(t, br, a, axe)
	aino.open("/exchange")
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/exchange") {
		t.Fatalf("after login at %s", aino.location())
	}
	aino.submit("start", chromedp.Click(button("//main", "Aloita hakemus")), http.StatusOK)
	aino.check("step home")
	aino.typeText("address", "Kontulantie 1 A 2")
	fillExchangeToLater(aino, aino.checkLight)
	if !aino.onPortal("/my") {
		t.Fatalf("saving for later led to %s", aino.location())
	}
	if got := aino.text(".exchange-section"); !strings.Contains(got, "Keskeneräinen, tallennettu") {
		t.Errorf("Oma asiointi shows the draft as %q", got)
	}
	aino.check("my page with a draft")
	var appID int64
	if err := a.s.deps.db.Gorm.Raw("SELECT id FROM exchange_applications WHERE resident_id = ? AND status = 'draft'", ainoID).Scan(&appID).Error; err != nil || appID == 0 {
		t.Fatalf("no draft stored for Aino (%v)", err)
	}
	ref := fmt.Sprintf("AV-%d", appID)
	appPath := fmt.Sprintf("/exchange/%d", appID)
	journeyCloseTab(t, br, aino.session)

	// Later, a new browser session that the load balancer sends to B: she
	// logs in again and the draft is where she left it.
	aino = newBookingTab(t, br, b, axe)
	aino.open("/my")
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/my") {
		t.Fatalf("after logging in again at %s", aino.location())
	}
	if got := aino.text(".exchange-section"); !strings.Contains(got, "Hakemus "+ref) || !strings.Contains(got, "Keskeneräinen") {
		t.Errorf("in the new session Oma asiointi shows %q, want the draft %s", got, ref)
	}
	aino.submit("continue", chromedp.Click(link("//main", "Jatka hakemusta")), http.StatusOK)
	if got := aino.location().Path; got != appPath+"/wishes" {
		t.Fatalf("continuing led to %s, want the step after the one saved (%s/wishes)", got, appPath)
	}
	aino.submit("back to reasons", chromedp.Click(link(`//nav[contains(@class,"exchange-steps")]`, "Syyt ja liitteet")), http.StatusOK)
	if !eval[bool](aino.session, `document.getElementById("crisis-violence").checked`) ||
		eval[string](aino.session, `document.getElementById("explain_crisis").value`) != "Entinen puoliso tietää osoitteen." {
		t.Error("the reasons saved in the first session are not there")
	}
	aino.step("choose the infected PDF", chromedp.SetUploadFiles(`#attachment`, []string{virusPath}))
	aino.submit("upload the infected PDF", chromedp.Click(button("//main", "Lisää liitteet")), http.StatusUnprocessableEntity)
	if got := aino.fieldError("attachment"); !strings.Contains(got, "haittaohjelma") {
		t.Errorf("the infected PDF's error %q; want ClamAV's refusal", got)
	}
	aino.check("reasons with an infected file refused")
	aino.step("choose the PDF", chromedp.SetUploadFiles(`#attachment`, []string{pdfPath}))
	aino.submit("upload the PDF", chromedp.Click(button("//main", "Lisää liitteet")), http.StatusOK)
	if got := aino.text(".exchange-files"); !strings.Contains(got, "vuokrasopimus.pdf") || strings.Contains(got, "skannattu") {
		t.Fatalf("attachments list %q", got)
	}
	aino.submit("reasons", next, http.StatusOK)
	aino.typeText("areas", "Itä-Helsinki")
	aino.submit("wishes", next, http.StatusOK)
	aino.step("wants help", chromedp.Click(`label[for="wants_help-yes"]`))
	aino.step("consent", chromedp.Click(`label[for="consent-yes"]`))
	aino.submit("consent", next, http.StatusOK)
	main := aino.text("main")
	for _, want := range []string{"Kontulantie 1 A 2", "00940", "812,40 €", "4, 9", "Lähisuhdeväkivalta", "Itä-Helsinki", "vuokrasopimus.pdf"} {
		if !strings.Contains(main, want) {
			t.Errorf("the summary lacks %q, answered in one session or the other", want)
		}
	}
	aino.check("summary")
	aino.submit("send", chromedp.Click(button("//main", "Lähetä hakemus")), http.StatusOK)
	if !aino.onPortal(appPath) || aino.text(".exchange-status") != "Lähetetty" {
		t.Fatalf("sending led to %s with the status %q", aino.location(), aino.text(".exchange-status"))
	}
	aino.check("sent application")

	// The attachment is in the shared bucket, as sent.
	var key string
	if err := b.s.deps.db.Gorm.Raw("SELECT storage_key FROM files WHERE owner = ?", fmt.Sprintf("exchange/%d", appID)).Scan(&key).Error; err != nil || key == "" {
		t.Fatalf("no stored attachment (%v)", err)
	}
	if got, err := os.ReadFile(filepath.Join(svc.s3Dir, svc.bucket, key)); err != nil || !bytes.Equal(got, pdf) {
		t.Errorf("the attachment in the S3 bucket (%v): %d bytes, want the %d sent", err, len(got), len(pdf))
	}

	// Her copy: a PDF of what she sent.
	name, copyPDF := journeyDownload(aino.session, "the PDF copy", link("//main", "Lataa kopio hakemuksesta (PDF)"))
	if name != ref+".pdf" || !bytes.HasPrefix(copyPDF, []byte("%PDF-")) || !bytes.Contains(copyPDF, []byte("%%EOF")) {
		t.Errorf("the copy downloads as %q (%d bytes, starting %q), want a whole PDF named %s.pdf", name, len(copyPDF), copyPDF[:min(8, len(copyPDF))], ref)
	}
	shown := journeyPDFStreams(t, copyPDF)
	for _, want := range []string{"Asunnonvaihtohakemus", "Hakemuksen tunnus: " + ref, "Aino Asukas", "Kontulantie 1 A 2", "00940", "812,40 €",
		"4, 9", "Lähisuhdeväkivalta", "Entinen puoliso tietää osoitteen.", "Itä-Helsinki", "vuokrasopimus.pdf", "Lähetetty"} {
		if !journeyPDFShows(shown, want) {
			t.Errorf("the PDF copy does not show %q", want)
		}
	}
	if journeyPDFShows(shown, "skannattu-kuitti.pdf") {
		t.Error("the PDF copy lists the refused file")
	}
	aino.expectCleanBut("sent application after the download")

	// Minna, on A: the application B took, its attachment from the bucket.
	minna := newBookingTab(t, br, a, axe)
	minna.open("/desk/exchange")
	minna.pickDemoUser("Minna Järvinen")
	if !minna.onPortal("/desk/exchange") {
		t.Fatalf("desk login at %s", minna.location())
	}
	minna.check("desk list")
	minna.submit("open "+ref, chromedp.Click(link("//main//table", ref)), http.StatusOK)
	if got := minna.text("h1"); got != "Hakemus "+ref+": Aino Asukas" {
		t.Errorf("the desk's heading %q", got)
	}
	minna.check("desk application")
	name, got := journeyDownload(minna.session, "the attachment", link(`//ul[contains(@class,"exchange-files")]`, "vuokrasopimus.pdf"))
	if name != "vuokrasopimus.pdf" || !bytes.Equal(got, pdf) {
		t.Errorf("Minna downloads %q (%d bytes), want vuokrasopimus.pdf as sent (%d bytes)", name, len(got), len(pdf))
	}
	var logged int64
	if err := a.s.deps.db.Gorm.Raw(`SELECT COUNT(*) FROM access_log WHERE actor_id = ? AND resident_id = ? AND action = 'exchange.attachment' AND resource LIKE ?`,
		minnaID, ainoID, fmt.Sprintf("exchange/%d/files/%%", appID)).Scan(&logged).Error; err != nil || logged != 1 {
		t.Errorf("the access log has %d rows of Minna's download (%v), want 1", logged, err)
	}
	minna.step("special support", chromedp.Click(`label[for="special-yes"]`))
	minna.step("criterion", chromedp.Click(`label[for="criteria-violence_threat"]`))
	minna.typeText("why", "Väkivallan uhka.")
	minna.typeText("statement", "Puollan kiireellistä vaihtoa.")
	minna.step("urgency", chromedp.Click(`label[for="urgency-urgent"]`))
	minna.typeText("message", "Hakemuksesi on arvioitu.")
	minna.submit("assess", chromedp.Click(button("//main", "Tallenna arvio")), http.StatusOK)
	minna.submit("forward", chromedp.Click(button("//main", "Välitä hakemus")), http.StatusOK)
	if got := minna.text(".lead .exchange-status"); got != "Välitetty asuntotoimistoon" {
		t.Errorf("desk status %q after forwarding", got)
	}
	minna.check("desk application forwarded")

	// Aino, on B, sees it.
	aino.open("/my")
	if got := aino.text(".exchange-section"); !strings.Contains(got, "Välitetty asuntotoimistoon") {
		t.Errorf("Oma asiointi shows the application as %q", got)
	}
	aino.follow(ref, link(`//div[contains(@class,"exchange-section")]`, "Hakemus "+ref))
	if got := aino.text(".exchange-status"); got != "Välitetty asuntotoimistoon" {
		t.Errorf("Aino sees the status %q", got)
	}
	if events := aino.text(".exchange-events"); !strings.Contains(events, "Hakemuksesi on arvioitu.") || !strings.Contains(events, "Arvioitavana") {
		t.Errorf("the history shows %q, want the assessment with the advisor's message", events)
	}
	if strings.Contains(aino.text("main"), "Puollan") {
		t.Error("Aino sees the advisor's statement")
	}
	aino.check("forwarded application")
	// Her copy now says where the application is, and still nothing of
	// the advisor's assessment.
	_, copyPDF = journeyDownload(aino.session, "the PDF copy after forwarding", link("//main", "Lataa kopio hakemuksesta (PDF)"))
	shown = journeyPDFStreams(t, copyPDF)
	if !journeyPDFShows(shown, "Välitetty asuntotoimistoon") || !journeyPDFShows(shown, "Kontulantie 1 A 2") {
		t.Error("the PDF copy after forwarding does not show the new status and the application")
	}
	for _, secret := range []string{"Puollan kiireellistä vaihtoa.", "Väkivallan uhka."} {
		if journeyPDFShows(shown, secret) {
			t.Errorf("Aino's PDF copy shows the advisor's %q", secret)
		}
	}
	aino.expectCleanBut("forwarded application after the download")

	// Her mail: one per change, each a link and nothing of the application.
	mails := journeyWaitMails(t, svc.mail, ainoMail, 3)
	ids := map[string]bool{}
	secrets := []string{"Kontulantie", "00940", "812", "Lähisuhdeväkivalta", "puoliso", "Itä-Helsinki", "vuokrasopimus", "arvioitu",
		"Puollan", "Väkivallan", "Lähetetty", "Arvioitavana", "Välitetty", ref}
	var lastLink string
	for i, m := range mails {
		if m.subject != "Asunnonvaihtohakemuksesi tila on muuttunut" || m.attachments != 0 {
			t.Errorf("mail %d: subject %q, %d attachments", i+1, m.subject, m.attachments)
		}
		ids[m.id] = true
		links := regexp.MustCompile(`https?://[^\s<>"]+`).FindAllString(m.text, -1)
		if len(links) != 1 || (links[0] != a.url+appPath && links[0] != b.url+appPath) {
			t.Errorf("mail %d links %q, want the application on the portal only", i+1, links)
		} else {
			lastLink = links[0]
		}
		for _, s := range secrets {
			if strings.Contains(m.subject+"\n"+m.all, s) {
				t.Errorf("mail %d tells %q:\n%s", i+1, s, m.all)
			}
		}
	}
	if len(ids) != len(mails) {
		t.Errorf("%d mails carry %d Message-IDs", len(mails), len(ids))
	}
	if lastLink != "" {
		aino.step("open the mail's link", chromedp.Navigate(lastLink))
		if got := aino.location().Path; got != appPath || aino.text(".exchange-status") != "Välitetty asuntotoimistoon" {
			t.Errorf("the mail's link led to %s (%q)", got, aino.text(".exchange-status"))
		}
		aino.expectCleanBut("the application from the mail's link")
	}
	t.Logf("journey: %s", time.Since(began).Round(100*time.Millisecond))
}

// journeyServices are the servers a journey across instances needs besides
// PostgreSQL and Redis, each the test's own on loopback, stopped when it
// ends: an S3 server (versitygw) that keeps the instances' files, ClamAV's
// daemon that scans every upload, and an SMTP server that takes the mail.
type journeyServices struct {
	s3Dir  string // versitygw's posix folder: a bucket is a folder in it
	bucket string
	mail   *mailtest.Sink
	env    map[string]string // the instances' settings for them
}

func startJourneyServices(t *testing.T) *journeyServices {
	t.Helper()
	// The instances need these; without them skip (or fail when CI=true)
	// before starting anything.
	dbtest.PostgresURL(t)
	dbtest.RedisURL(t)
	s3 := filestest.StartS3(t, "portal-journey")
	clamd := filestest.StartClamd(t)
	sink, host, port := mailtest.Start(t)
	return &journeyServices{s3Dir: s3.Dir, bucket: s3.Bucket, mail: sink, env: map[string]string{
		"PORTAL_S3_ENDPOINT":   s3.Addr,
		"PORTAL_S3_BUCKET":     s3.Bucket,
		"PORTAL_S3_ACCESS_KEY": s3.Access,
		"PORTAL_S3_SECRET_KEY": s3.Secret,
		"PORTAL_S3_TLS":        "false",
		"PORTAL_CLAMD_ADDR":    clamd.Addr,
		"PORTAL_SMTP_HOST":     host,
		"PORTAL_SMTP_PORT":     strconv.Itoa(port),
		"PORTAL_SMTP_TLS":      "none",
		// The limits count per client address in Redis, and the shared test
		// Redis counts every concurrent test's requests from 127.0.0.1 under
		// the same keys: a journey must not be refused for others' logins.
		"PORTAL_LOGIN_RATE_LIMIT": "10000",
		"PORTAL_FORM_RATE_LIMIT":  "10000",
	}}
}

// journeyPDF is a small, well-formed one-page PDF showing text, with
// comment (when not empty) on a comment line after the header.
func journeyPDF(text, comment string) []byte {
	content := "BT /F1 14 Tf 72 770 Td (" + text + ") Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	if comment != "" {
		b.WriteString("%" + comment + "\n")
	}
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// journeyPDFStreams returns the PDF's streams, inflated where they are
// compressed: the pages' text is in them.
func journeyPDFStreams(t *testing.T, pdf []byte) [][]byte {
	t.Helper()
	var out [][]byte
	rest := pdf
	for {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			return out
		}
		if i >= 3 && string(rest[i-3:i]) == "end" {
			rest = rest[i+7:]
			continue
		}
		body := rest[i+7:]
		j := bytes.Index(body, []byte("\nendstream"))
		if j < 0 {
			t.Fatal("the PDF has a stream without its end")
		}
		data := body[:j]
		if z, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			if inflated, err := io.ReadAll(z); err == nil {
				data = inflated
			}
		}
		out = append(out, data)
		rest = body[j:]
	}
}

// journeyPDFShows reports whether a stream shows text as the portal's PDFs
// write it with their Unicode font: a string of UTF-16BE code units, with
// \, ( and ) escaped.
func journeyPDFShows(streams [][]byte, text string) bool {
	var enc []byte
	for _, u := range utf16.Encode([]rune(text)) {
		enc = append(enc, byte(u>>8), byte(u))
	}
	s := string(enc)
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "(", `\(`)
	s = strings.ReplaceAll(s, ")", `\)`)
	s = strings.ReplaceAll(s, "\r", `\r`)
	for _, st := range streams {
		if bytes.Contains(st, []byte(s)) {
			return true
		}
	}
	return false
}

// journeyCloseTab closes the session's tab, as a person closing it.
func journeyCloseTab(t *testing.T, br context.Context, s *session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(br, browserStepTimeout)
	defer cancel()
	c := chromedp.FromContext(s.ctx)
	if _, err := chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: c.Target.TargetID}); err != nil {
		t.Fatalf("close the tab: %v", err)
	}
}

// journeyDownload clicks what sel finds (a link to a file the server sends
// as an attachment), lets the browser save the file, and returns the name
// the browser was told and the bytes it saved.
func journeyDownload(s *session, what, sel string) (string, []byte) {
	s.t.Helper()
	dir := s.t.TempDir()
	c := chromedp.FromContext(s.ctx)
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	begin := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
	yes := true
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: c.BrowserContextID,
		DownloadPath: dir, EventsEnabled: &yes,
	}); err != nil {
		s.t.Fatalf("download %s: %v", what, err)
	}
	s.step("click "+what, chromedp.Click(sel))
	var guid, name string
	for ev, err := range begin {
		if err != nil {
			s.t.Fatalf("download %s: no download began (%v)", what, err)
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			s.t.Fatalf("download %s: not finished (%v)", what, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			s.t.Fatalf("download %s: cancelled", what)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			break
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		s.t.Fatalf("download %s: %v", what, err)
	}
	return name, data
}

// journeyMail is a mail the SMTP server took, decoded.
type journeyMail struct {
	id, subject string
	text        string // the text/plain parts
	all         string // every text part, HTML included
	attachments int
}

// journeyWaitMails waits until the SMTP server has want mails to to, and a
// moment more for any that should not come, and returns them decoded.
func journeyWaitMails(t *testing.T, sink *mailtest.Sink, to string, want int) []journeyMail {
	t.Helper()
	var got []mailtest.Received
	collect := func() {
		got = got[:0]
		for _, m := range sink.Mails() {
			for _, r := range m.To {
				if r == to {
					got = append(got, m)
					break
				}
			}
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		collect()
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // a second delivery of one would come now
	collect()
	if len(got) != want {
		t.Errorf("the SMTP server took %d mails to %s, want %d", len(got), to, want)
	}
	out := make([]journeyMail, len(got))
	for i, r := range got {
		out[i] = journeyDecode(t, r.Data)
	}
	return out
}

// journeyDecode reads a MIME message: its subject, its text parts decoded
// and its attachments counted.
func journeyDecode(t *testing.T, data []byte) journeyMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("a mail does not parse: %v\n%s", err, data)
	}
	var m journeyMail
	dec := new(mime.WordDecoder)
	if m.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("the subject %q: %v", msg.Header.Get("Subject"), err)
	}
	m.id = msg.Header.Get("Message-Id")
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		header := mail.Header(h)
		ct, params, err := mime.ParseMediaType(header.Get("Content-Type"))
		if err != nil {
			ct = "text/plain"
		}
		if strings.HasPrefix(ct, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("a mail's part: %v", err)
				}
				walk(p.Header, p)
			}
		}
		if d, _, _ := mime.ParseMediaType(header.Get("Content-Disposition")); d == "attachment" || !strings.HasPrefix(ct, "text/") {
			m.attachments++
			return
		}
		var r io.Reader = body
		switch strings.ToLower(header.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body) // ignores the line breaks
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("a mail's text: %v", err)
		}
		if ct == "text/plain" {
			m.text += string(b)
		}
		m.all += string(b)
	}
	walk(msg.Header, msg.Body)
	return m
}
