package main

// Browser tests of appointment booking, each with a portal and a Chromium
// of its own:
//
//   - TestBrowserBookingResident: a new resident finds "Varaa aika" on the
//     front page, logs in, searches (with the mistakes people make), books
//     a time someone else takes first, books another, gets the mail with
//     the calendar file, and follows the mail's link from another browser.
//   - TestBrowserBookingMoveAndCancel: Oma asiointi, moving, cancelling
//     (with confirmation), a phone call; the pages in Swedish and English.
//   - TestBrowserBookingWithoutJavaScript: a booking with scripting off.
//   - TestBrowserBookingDesk: an advisor's desk and calendar, marking an
//     appointment done, booking, moving and cancelling for a resident.
//   - TestBrowserBookingAvailability: weekly hours and a sick day over a
//     booked call; the admin's view of a region and the access log.
//
// Every page is checked with axe-core and for console errors, CSP
// violations and untranslated keys, like the other browser tests
// (browser_test.go, whose helpers these use).
//
// The demo data gives every advisor Monday–Friday hours (office visits and
// phone calls 9–12, home visits, phone and video calls 13–15), so there are
// always free times ahead; the tests take the first one offered rather than
// a fixed date.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	portalmail "github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// bookingTab is a browser tab with the steps of the booking pages.
type bookingTab struct {
	*session
	axe string // axe-core's source; "" skips the accessibility check
	js  bool   // the tab runs scripts (the console and CSP are watched)
	// expected are the pages that answered with the error status the test
	// wanted (a form sent back with its errors), as the browser logs them.
	expected map[string]bool
	// mailboxChecked: the mailbox pages have been through axe already.
	mailboxChecked bool
}

func newBookingTab(t *testing.T, browser context.Context, p *testPortal, axe string) *bookingTab {
	t.Helper()
	b := &bookingTab{session: newSession(t, browser, p.url), axe: axe, js: true, expected: map[string]bool{}}
	// The portal scrolls smoothly unless the person prefers reduced motion,
	// as this one does: a click scrolls its target into view and must land
	// where the target is, not where it was in the middle of a scroll.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// bookingAxe reads axe-core, skipping the test without it (failing it when
// CI=true), as TestBrowserAccessibility does.
func bookingAxe(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(testFile(t, "PORTAL_TEST_AXE", "", "axe-core (axe.min.js)"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// check is what every booking page must pass: no console errors or CSP
// violations, no untranslated keys, and axe-core's WCAG 2.1 A and AA rules.
func (b *bookingTab) check(where string) {
	b.t.Helper()
	b.expectTranslated(where)
	if !b.js {
		return // neither the watcher nor axe can run in the page
	}
	b.expectCleanBut(where)
	if b.axe != "" {
		b.expectAccessible(b.axe, where)
	}
	b.screenshot(fileName(where))
}

// checkLight is check without axe, for a page whose template and state
// another step has checked with axe already.
func (b *bookingTab) checkLight(where string) {
	b.t.Helper()
	b.expectTranslated(where)
	if b.js {
		b.expectCleanBut(where)
	}
	b.screenshot(fileName(where))
}

// checkA11y is check for a page that is not the booking's own and may
// show codes that look like keys (the access log's action names).
func (b *bookingTab) checkA11y(where string) {
	b.t.Helper()
	b.expectCleanBut(where)
	b.expectAccessible(b.axe, where)
}

// expectCleanBut is expectClean, except for the error statuses of pages
// that the test asked for.
func (b *bookingTab) expectCleanBut(where string) {
	b.t.Helper()
	for _, n := range b.takeNotes() {
		wanted := false
		for e := range b.expected {
			if strings.HasPrefix(n.text, "browser log (network error): Failed to load resource: the server responded with a ") && strings.HasSuffix(n.text, e) {
				wanted = true
				delete(b.expected, e)
				break
			}
		}
		if n.problem && !wanted {
			b.t.Errorf("%s: %s", where, n.text)
		} else {
			b.t.Logf("%s: %s", where, n.text)
		}
	}
}

// untranslatedKey is a translation key shown as it is: what go-i18n leaves
// when a message is missing.
var untranslatedKey = regexp.MustCompile(`\b(?:booking|exchange|contact|files|messages|cases|mail|form|button|error|header|footer|nav|role|section|pagination|my|desk|mydata)\.[a-z_]+(?:\.[a-z0-9_]+)*\b`)

// expectTranslated fails for any translation key visible on the page, in
// its text or in the labels that assistive technology reads out.
func (b *bookingTab) expectTranslated(where string) {
	b.t.Helper()
	text := eval[string](b.session, `[document.title, document.body.innerText,
		...[...document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")].map(e =>
			[e.getAttribute("aria-label"), e.getAttribute("title"), e.getAttribute("placeholder"), e.getAttribute("alt")].join(" ")),
		...[...document.querySelectorAll("option")].map(o => o.text)].join("\n")`)
	if keys := untranslatedKey.FindAllString(text, -1); len(keys) > 0 {
		b.t.Errorf("%s: untranslated keys on the page: %q", where, keys)
	}
}

// submit runs click (on a button or a link) and waits for the page it leads
// to, through any redirects, which must answer with status want.
func (b *bookingTab) submit(what string, click chromedp.Action[chromedp.Void], want int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, click)
	if err != nil {
		b.screenshot("failed " + what)
		b.t.Fatalf("%s: %v (at %s: %.400q)", what, err, b.location(), b.text("main"))
	}
	if resp.Status != want {
		b.t.Fatalf("%s: %s answered %d, want %d; the page says: %.400q", what, resp.URL, resp.Status, want, b.text("main"))
	}
	if want != http.StatusOK {
		// The browser logs a page that answers with an error status as a
		// failed load; here it is the form's expected answer.
		b.expected[fmt.Sprintf("status of %d (%s) %s", want, http.StatusText(int(want)), resp.URL)] = true
	}
}

// choose selects, in the select element with the id, the option whose text
// starts with label, as a person picks it from the list.
func (b *bookingTab) choose(id, label string) {
	b.t.Helper()
	ok := eval[bool](b.session, fmt.Sprintf(`(s => {
		const o = s && [...s.options].find(o => o.text.trim().startsWith(%s));
		if (!o) return false;
		s.value = o.value;
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})(document.getElementById(%s))`, jsString(label), jsString(id)))
	if !ok {
		b.t.Fatalf("select #%s offers no %q; it offers %q", id, label, b.options(id))
	}
}

// options are the texts of a select's options.
func (b *bookingTab) options(id string) []string {
	b.t.Helper()
	return eval[[]string](b.session, fmt.Sprintf(`(s => s ? [...s.options].map(o => o.text.trim()) : [])(document.getElementById(%s))`, jsString(id)))
}

// selected is the text of a select's chosen option.
func (b *bookingTab) selected(id string) string {
	b.t.Helper()
	return eval[string](b.session, fmt.Sprintf(`(s => s && s.selectedIndex >= 0 ? s.options[s.selectedIndex].text.trim() : "")(document.getElementById(%s))`, jsString(id)))
}

// typeText types text into the field with the id, after clearing it.
func (b *bookingTab) typeText(id, text string) {
	b.t.Helper()
	b.setValue(id, "")
	b.step("type into #"+id, chromedp.SendKeys(chromedp.ID(id), text))
}

// setValue sets a field's value the way a date or time picker does.
func (b *bookingTab) setValue(id, value string) {
	b.t.Helper()
	if !eval[bool](b.session, fmt.Sprintf(`(e => { if (!e) return false; e.value = %s; return true })(document.getElementById(%s))`, jsString(value), jsString(id))) {
		b.t.Fatalf("no field #%s", id)
	}
}

// slotChoice is one free time the picker offers.
type slotChoice struct {
	ID    string `json:"id"`
	Value string `json:"value"`
	Label string `json:"label"`
	Day   string `json:"day"`
}

// slots are the free times on the page, in order.
func (b *bookingTab) slots() []slotChoice {
	b.t.Helper()
	return eval[[]slotChoice](b.session, `[...document.querySelectorAll("input[type=radio][name=slot]")].map(r => ({
		id: r.id, value: r.value,
		label: document.querySelector("label[for='" + r.id + "']").innerText.trim(),
		day: r.closest("fieldset").querySelector("legend").innerText.trim(),
	}))`)
}

// pick clicks the label of a free time, as a person does.
func (b *bookingTab) pick(sl slotChoice) {
	b.t.Helper()
	b.step("pick "+sl.Day+" "+sl.Label, chromedp.Click(chromedp.CSS(`label[for="`+sl.ID+`"]`)))
	if !eval[bool](b.session, fmt.Sprintf(`document.getElementById(%s).checked`, jsString(sl.ID))) {
		b.t.Fatalf("clicking %s %s did not choose it", sl.Day, sl.Label)
	}
}

// fieldError is the error text shown at a form field.
func (b *bookingTab) fieldError(id string) string {
	b.t.Helper()
	return b.text("#" + id + "-error")
}

// scripting reports whether the page runs scripts: with scripting off, the
// content of a noscript element parses as markup, with it on as text.
func (b *bookingTab) scripting() bool {
	b.t.Helper()
	return eval[bool](b.session, `(n => (n.innerHTML = "<b>x</b>", n.children.length === 0))(document.createElement("noscript"))`)
}

// slotStart decodes a slot's form value ("<advisor id>-<unix seconds>").
func slotStart(t *testing.T, value string) (advisorID int64, start time.Time) {
	t.Helper()
	a, s, ok := strings.Cut(value, "-")
	id, err1 := strconv.ParseInt(a, 10, 64)
	sec, err2 := strconv.ParseInt(s, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("slot value %q is not <advisor>-<unix seconds>", value)
	}
	return id, time.Unix(sec, 0).In(helsinkiLocation(t))
}

func helsinkiLocation(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// expectHelsinkiTimes checks that the times offered read in Helsinki time
// and lie in the demo's opening hours for the meeting type: the label of
// each is its start and end on a Helsinki clock, under the right day.
func expectHelsinkiTimes(t *testing.T, slots []slotChoice, fromHour, toHour int) {
	t.Helper()
	weekdays := []string{"sunnuntai", "maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai"}
	for _, sl := range slots {
		_, start := slotStart(t, sl.Value)
		want := start.Format("15.04") + "–" + start.Add(time.Hour).Format("15.04")
		if sl.Label != want {
			t.Errorf("the time %s is labelled %q, want %q (Helsinki time)", start.Format(time.RFC3339), sl.Label, want)
		}
		if day := fmt.Sprintf("%s %d.%d.", weekdays[start.Weekday()], start.Day(), int(start.Month())); sl.Day != day {
			t.Errorf("the time %s is under the day %q, want %q", start.Format(time.RFC3339), sl.Day, day)
		}
		if start.Hour() < fromHour || start.Hour() >= toHour {
			t.Errorf("the time %s is outside the opening hours %d–%d in Helsinki", start.Format(time.RFC3339), fromHour, toHour)
		}
	}
}

// mailRow is one mail in the development mailbox's list.
type mailRow struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	URL     string `json:"url"`
}

// mailbox opens /dev/mailbox and returns its list, newest first.
func (b *bookingTab) mailbox() []mailRow {
	b.t.Helper()
	b.open("/dev/mailbox")
	return eval[[]mailRow](b.session, `[...document.querySelectorAll("main tbody tr")].map(tr => ({
		to: tr.cells[1].innerText.trim(), subject: tr.cells[2].innerText.trim(), url: tr.cells[2].querySelector("a").href,
	}))`)
}

// findMail opens the newest mail to whom whose subject starts with subject
// and returns its text and the addresses of its attachments by name.
func (b *bookingTab) findMail(to, subject string) (body string, attachments map[string]string) {
	b.t.Helper()
	rows := b.mailbox()
	first := !b.mailboxChecked
	b.mailboxChecked = true
	if first {
		b.check("the mailbox")
	} else {
		b.expectCleanBut("the mailbox")
	}
	for _, m := range rows {
		if m.To == to && strings.HasPrefix(m.Subject, subject) {
			b.open(strings.TrimPrefix(m.URL, b.base.String()))
			body = b.text("pre.mailbox-body")
			attachments = map[string]string{}
			for _, a := range eval[[][2]string](b.session, `[...document.querySelectorAll("main a[download]")].map(a => [a.innerText.trim(), a.href])`) {
				attachments[a[0]] = a[1]
			}
			if first {
				b.check("a mail in the mailbox")
			} else {
				b.expectCleanBut("a mail in the mailbox")
			}
			return body, attachments
		}
	}
	b.t.Fatalf("no mail to %s with the subject %q in the mailbox: %+v", to, subject, rows)
	return "", nil
}

// outboxMail returns the newest queued mail to whom whose subject starts
// with subject: its text and its calendar file. Steps that have looked at
// the mailbox page once read the rest of the mail from the outbox table.
func outboxMail(t *testing.T, p *testPortal, to, subject string) (body string, calendar []byte) {
	t.Helper()
	var m portalmail.Stored
	err := p.s.deps.db.Gorm.Preload("Attachments").Where("recipient = ? AND subject LIKE ?", to, subject+"%").Order("id DESC").First(&m).Error
	if err != nil {
		t.Fatalf("no mail to %s with the subject %q: %v", to, subject, err)
	}
	for _, a := range m.Attachments {
		if a.Name == "asumisneuvonta.ics" && strings.HasPrefix(a.ContentType, "text/calendar") {
			calendar = a.Data
		}
	}
	if calendar == nil {
		t.Errorf("the mail %q has no calendar file", m.Subject)
	}
	return m.BodyText, calendar
}

// expectCalendar downloads an .ics attachment and checks that it parses and
// holds one event from start to end with the method and status given.
func expectCalendar(t *testing.T, url string, start time.Time, method, status string) {
	t.Helper()
	if url == "" {
		t.Fatal("the mail has no calendar file")
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Errorf("the calendar file is served as %q", ct)
	}
	expectEvent(t, data, start, method, status)
}

// expectEvent checks that an iCalendar file parses and holds one event
// from start with the method and status given.
func expectEvent(t *testing.T, data []byte, start time.Time, method, status string) {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the calendar file does not parse: %v\n%s", err, data)
	}
	if !bytes.Contains(data, []byte("METHOD:"+method)) {
		t.Errorf("the calendar file's method is not %s:\n%s", method, data)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("the calendar file holds %d events, want 1:\n%s", len(events), data)
	}
	got, err := events[0].GetStartAt()
	if err != nil || !got.Equal(start) {
		t.Errorf("the event starts at %v (%v), want %v", got, err, start)
	}
	if p := events[0].GetProperty(ics.ComponentPropertyStatus); p == nil || p.Value != status {
		t.Errorf("the event's status is %v, want %s", p, status)
	}
}

// demoUserID is the id of a demo person.
func demoUserID(t *testing.T, p *testPortal, subject string) int64 {
	t.Helper()
	var ids []int64
	if err := p.s.deps.db.Gorm.Raw("SELECT id FROM users WHERE subject = ?", subject).Scan(&ids).Error; err != nil || len(ids) != 1 {
		t.Fatalf("user %s: %v (%d rows)", subject, err, len(ids))
	}
	return ids[0]
}

// bookingsOf is the resident's bookings by status.
func bookingsOf(t *testing.T, p *testPortal, residentID int64) map[string]int {
	t.Helper()
	var rows []struct {
		Status string
		N      int
	}
	if err := p.s.deps.db.Gorm.Raw("SELECT status, COUNT(*) AS n FROM bookings WHERE resident_id = ? GROUP BY status", residentID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

// bookingID is the id in a booking page's path /booking/<id>.
func bookingID(t *testing.T, path string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^/(?:desk/)?booking/(\d+)$`).FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("%s is not a booking's page", path)
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// detail is the value of a row of a booking's description list.
func (b *bookingTab) detail(term string) string {
	b.t.Helper()
	return eval[string](b.session, fmt.Sprintf(`(dt => dt ? dt.nextElementSibling.innerText.trim() : "")([...document.querySelectorAll("main dl.booking-details dt")].find(dt => dt.innerText.trim() === %s))`, jsString(term)))
}

// finnishWhen is how the pages and mails write an appointment's time.
func finnishWhen(start time.Time) string {
	short := []string{"su", "ma", "ti", "ke", "to", "pe", "la"}
	return fmt.Sprintf("%s %d.%d.%d klo %s–%s", short[start.Weekday()], start.Day(), int(start.Month()), start.Year(),
		start.Format("15.04"), start.Add(time.Hour).Format("15.04"))
}

// inOtherLanguages switches the page to Swedish and English with the
// language selector, checks each (headings in h1, no untranslated keys,
// axe), and switches back to Finnish.
func (b *bookingTab) inOtherLanguages(where string, h1 map[string]string, axe bool) {
	b.t.Helper()
	for _, l := range []struct{ label, code string }{{"Svenska", "sv"}, {"English", "en"}, {"Suomi", "fi"}} {
		b.follow(where+": "+l.label, link("//ul[contains(@class, 'lang-selector')]", l.label))
		if got := b.lang(); got != l.code {
			b.t.Errorf("%s after choosing %s: html lang %q", where, l.label, got)
		}
		if got := b.text("h1"); got != h1[l.code] {
			b.t.Errorf("%s in %s: heading %q, want %q", where, l.code, got, h1[l.code])
		}
		switch {
		case l.code == "fi":
		case axe:
			b.check(where + " (" + l.code + ")")
		default:
			b.expectTranslated(where + " (" + l.code + ")")
			b.expectCleanBut(where + " (" + l.code + ")")
		}
	}
}

var (
	bookingNewTitles  = map[string]string{"fi": "Varaa aika", "sv": "Boka tid", "en": "Book an appointment"}
	bookingMoveTitles = map[string]string{"fi": "Siirrä aika", "sv": "Flytta tiden", "en": "Move the appointment"}
	bookingShowTitles = map[string]string{"fi": "Varaus", "sv": "Bokning", "en": "Appointment"}
	bookingMyTitles   = map[string]string{"fi": "Oma asiointi", "sv": "Mina ärenden", "en": "My page"}
)

const ainoMail = "aino.asukas@example.invalid"

func TestBrowserBookingResident(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	ainoID := demoUserID(t, p, "demo-resident-aino")
	minnaID := demoUserID(t, p, "demo-advisor-east-1")

	aino := newBookingTab(t, browser, p, axe)
	// Aino's computer keeps New York time: the times offered must still be
	// Helsinki's, the service's own.
	if _, err := chromedp.Call(aino.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}); err != nil {
		t.Fatal(err)
	}

	// From the front page to the booking, through the login.
	aino.open("/")
	if !aino.scripting() {
		t.Fatal("the page runs with scripting off")
	}
	aino.follow("Varaa aika on the front page", link("//main", "Varaa aika"))
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/booking") {
		t.Fatalf("after login from Varaa aika at %s, want /booking", aino.location())
	}
	if got := aino.text("h1"); got != "Varaa aika" {
		t.Errorf("booking heading %q", got)
	}
	// Her postal code 00940 is served by the east region: proposed, and
	// changeable to any other.
	if got := aino.selected("region"); got != "Itä" {
		t.Errorf("region proposed %q for postal code 00940, want Itä", got)
	}
	if got := aino.options("region"); strings.Join(got, ",") != "Valitse,Länsi,Pohjoinen,Etelä,Itä" {
		t.Errorf("regions offered %q", got)
	}
	aino.check("booking: start")

	// She tries the south region: its service points are offered instead.
	aino.choose("topic", "Vuokravelka")
	aino.choose("type", "Tapaaminen palvelupisteessä")
	aino.choose("region", "Etelä")
	aino.submit("search in another region", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusUnprocessableEntity)
	if got := aino.fieldError("point"); got != "Valitse palvelupiste." {
		t.Errorf("point error %q", got)
	}
	if got := strings.Join(aino.options("point"), "|"); !strings.Contains(got, "Heka Etelä") || strings.Contains(got, "Heka Itä") {
		t.Errorf("service points offered in the south region: %q", got)
	}
	aino.check("booking: no service point")
	aino.choose("region", "Itä")
	aino.submit("back to the east region", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusUnprocessableEntity)
	if got := strings.Join(aino.options("point"), "|"); !strings.Contains(got, "Heka Itä") || strings.Contains(got, "Heka Etelä") {
		t.Errorf("service points offered in the east region: %q", got)
	}
	aino.expectCleanBut("booking: no service point")

	// A service point without reception hours is not offered at all, and
	// the point is marked required for an office visit.
	if got := strings.Join(aino.options("point"), "|"); strings.Contains(got, "Vuosaaren palvelupiste") {
		t.Errorf("a service point without reception hours is offered: %q", got)
	}
	if n := aino.count(`select#point[aria-required="true"]`); n != 1 {
		t.Error("the service point is not marked required for an office visit")
	}

	// Office visits at the east's office, with Minna Järvinen: the times of
	// this week and the next, per day, in Helsinki time.
	aino.choose("point", "Heka Itä, asiakaspalvelu")
	aino.choose("advisor", "Minna Järvinen")
	aino.submit("search for free times", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusOK)
	week0 := aino.slots()
	if len(week0) == 0 {
		t.Fatal("no free times this week")
	}
	expectHelsinkiTimes(t, week0, 9, 12)
	aino.check("booking: times of this week")
	aino.follow("Seuraava viikko", link("//main", "Seuraava viikko"))
	searchURL := aino.location()
	week1 := aino.slots()
	if len(week1) == 0 {
		t.Fatal("no free times next week")
	}
	expectHelsinkiTimes(t, week1, 9, 12)
	for _, sl := range week1 {
		if a, _ := slotStart(t, sl.Value); a != minnaID {
			t.Errorf("a time of advisor %d offered for Minna Järvinen (%d)", a, minnaID)
		}
	}
	aino.inOtherLanguages("booking: times", bookingNewTitles, true)

	// A message over the limit (a browser that ignores maxlength): the
	// message says so, nothing is booked.
	chosen := week1[0]
	aino.pick(chosen)
	aino.setValue("message", strings.Repeat("Vuokravelkaa kertynyt. ", 50))
	aino.submit("book with a message over the limit", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusUnprocessableEntity)
	if got := aino.fieldError("message"); got != "Viesti on liian pitkä." {
		t.Errorf("message error %q", got)
	}
	if got := aino.text(".error-summary"); !strings.Contains(got, "Viesti on liian pitkä.") {
		t.Errorf("error summary %q", got)
	}
	if !eval[bool](aino.session, fmt.Sprintf(`document.getElementById(%s).checked`, jsString(chosen.ID))) {
		t.Error("the chosen time was lost with the message error")
	}
	if got := bookingsOf(t, p, ainoID); len(got) != 0 {
		t.Errorf("a refused booking changed the bookings: %v", got)
	}
	aino.check("booking: message too long")

	// Matti, on his own computer, books the very time Aino has chosen
	// before she confirms.
	matti := newBookingTab(t, browser, p, axe)
	matti.open(searchURL.RequestURI())
	matti.pickDemoUser("Matti Meikäläinen")
	if !matti.onPortal("/booking") {
		t.Fatalf("Matti after login at %s", matti.location())
	}
	var taken *slotChoice
	for _, sl := range matti.slots() {
		if sl.Value == chosen.Value {
			taken = &sl
		}
	}
	if taken == nil {
		t.Fatalf("Matti is not offered the time %s %s that Aino chose", chosen.Day, chosen.Label)
	}
	matti.pick(*taken)
	matti.submit("Matti books", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusOK)
	if got := matti.text("h1"); got != "Varaus" {
		t.Fatalf("Matti's booking ended on %q", got)
	}
	matti.checkLight("booking: Matti's confirmation")

	message := "Vuokravelkaa on kertynyt kolmelta kuukaudelta. Tarvitsen ruotsin kielen tulkin."
	aino.typeText("message", message)
	aino.submit("book the time Matti took", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusConflict)
	if got := aino.text("#slot-error"); got != "Tämä aika ehdittiin juuri varata. Valitse toinen aika." {
		t.Errorf("slot error %q", got)
	}
	if got := aino.text(".error-summary"); !strings.Contains(got, "Tämä aika ehdittiin juuri varata.") {
		t.Errorf("error summary %q", got)
	}
	for _, sl := range aino.slots() {
		if sl.Value == chosen.Value {
			t.Error("the time just taken is still offered")
		}
	}
	if got := eval[string](aino.session, `document.getElementById("message").value`); got != message {
		t.Errorf("the message was not kept: %q", got)
	}
	if got := bookingsOf(t, p, ainoID); len(got) != 0 {
		t.Errorf("a refused booking changed the bookings: %v", got)
	}
	aino.check("booking: time just taken")

	// She takes the first time still free and confirms.
	free := aino.slots()
	if len(free) == 0 {
		t.Fatal("no times left after the one taken")
	}
	_, start := slotStart(t, free[0].Value)
	when := finnishWhen(start)
	aino.pick(free[0])
	aino.submit("book", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusOK)
	id := bookingID(t, aino.location().Path)
	if got := aino.text("h1"); got != "Varaus" {
		t.Errorf("confirmation heading %q", got)
	}
	if got := aino.text(".notice-area"); !strings.Contains(got, "Aika on varattu.") {
		t.Errorf("confirmation notice %q", got)
	}
	if got := aino.text("main .lead"); !strings.Contains(got, "Lähetimme vahvistuksen") {
		t.Errorf("confirmation lead %q", got)
	}
	for term, want := range map[string]string{
		"Aika": when, "Tila": "Varattu", "Tapaamistapa": "Tapaaminen palvelupisteessä",
		"Paikka": "Heka Itä, asiakaspalvelu, Itäkatu 7, 00930 Helsinki", "Asia": "Vuokravelka",
		"Neuvoja": "Minna Järvinen", "Viesti neuvojalle": message,
	} {
		if got := aino.detail(term); got != want {
			t.Errorf("confirmation: %s %q, want %q", term, got, want)
		}
	}
	if got := bookingsOf(t, p, ainoID); got["booked"] != 1 || len(got) != 1 {
		t.Errorf("bookings after confirming: %v", got)
	}
	aino.check("booking: confirmation")

	// The confirmation mail, with the calendar file and an absolute link
	// to the booking.
	manage := fmt.Sprintf("%s/booking/%d", p.url, id)
	body, files := aino.findMail(ainoMail, "Ajanvaraus vahvistettu: "+when)
	for _, want := range []string{"Varauksesi: " + manage, "Siirrä aikaa: " + manage + "/move", "Peru aika: " + manage + "/cancel", "Liitteenä on kalenterimerkintä."} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmation mail lacks %q:\n%s", want, body)
		}
	}
	expectCalendar(t, files["asumisneuvonta.ics"], start, "REQUEST", "CONFIRMED")

	// The mail's links are absolute and work from a browser that is not
	// logged in: through the login and back.
	fresh := newBookingTab(t, browser, p, axe)
	fresh.step("open the mail's move link", chromedp.Navigate(manage+"/move"))
	fresh.pickDemoUser("Aino Asukas")
	if !fresh.onPortal(fmt.Sprintf("/booking/%d/move", id)) || !strings.Contains(fresh.text(".booking-current"), when) {
		t.Errorf("the mail's move link led to %s (%q) after login", fresh.location(), fresh.text("h1"))
	}
	fresh.expectClean("the mail's link after login")

	// Oma asiointi lists it as upcoming.
	aino.follow("Oma asiointi", link(`//nav[contains(@class, "main-nav")]`, "Oma asiointi"))
	if got := aino.text(".booking-list:not(.booking-list--past)"); !strings.Contains(got, when) || !strings.Contains(got, "Minna Järvinen") {
		t.Errorf("Oma asiointi's upcoming appointments %q lack %s", got, when)
	}
	aino.check("/my with an appointment")
}

func TestBrowserBookingMoveAndCancel(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	ainoID := demoUserID(t, p, "demo-resident-aino")
	minnaID := demoUserID(t, p, "demo-advisor-east-1")

	// Aino has booked an office visit with Minna next week (over plain
	// HTTP: TestBrowserBookingResident books in the browser).
	id, start := bookOverHTTP(t, p, "demo-resident-aino", url.Values{"topic": {"rent_debt"}, "type": {"office"},
		"region": {fmt.Sprint(demoRegionID(t, p, "east"))}, "point": {fmt.Sprint(demoServicePointID(t, p, "Heka Itä, asiakaspalvelu"))},
		"advisor": {fmt.Sprint(minnaID)}, "week": {"1"}}, url.Values{"message": {"Vuokravelkaa on kertynyt."}})
	when := finnishWhen(start)

	// Oma asiointi lists it as upcoming, in every language.
	aino := newBookingTab(t, browser, p, axe)
	aino.open("/my")
	aino.pickDemoUser("Aino Asukas")
	if got := aino.text(".booking-list:not(.booking-list--past)"); !strings.Contains(got, when) || !strings.Contains(got, "Minna Järvinen") {
		t.Errorf("Oma asiointi's upcoming appointments %q lack %s", got, when)
	}
	aino.check("/my with an appointment")
	aino.inOtherLanguages("/my", bookingMyTitles, false)
	aino.follow("the appointment on Oma asiointi", link("//main", when))
	aino.checkLight("booking: appointment")
	aino.inOtherLanguages("booking: appointment", bookingShowTitles, false)

	// She moves it to a time of the week after.
	aino.follow("Siirrä aikaa", link("//main", "Siirrä aikaa"))
	if !aino.onPortal(fmt.Sprintf("/booking/%d/move", id)) {
		t.Fatalf("Siirrä aikaa led to %s", aino.location())
	}
	if got := aino.text(".booking-current"); !strings.Contains(got, when) {
		t.Errorf("the move page shows the current time as %q", got)
	}
	if got := aino.selected("advisor"); got != "Minna Järvinen" {
		t.Errorf("the move offers the times of %q first, want her own advisor's", got)
	}
	aino.check("booking: move")
	aino.inOtherLanguages("booking: move", bookingMoveTitles, false)
	aino.follow("Seuraava viikko (move)", link("//main", "Seuraava viikko"))
	var to *slotChoice
	for _, sl := range aino.slots() {
		if _, s := slotStart(t, sl.Value); !s.Equal(start) {
			to = &sl
			break
		}
	}
	if to == nil {
		t.Fatal("no other time to move to")
	}
	_, newStart := slotStart(t, to.Value)
	newWhen := finnishWhen(newStart)
	aino.pick(*to)
	aino.submit("move", chromedp.Click(button("//main", "Siirrä tähän aikaan")), http.StatusOK)
	if !aino.onPortal(fmt.Sprintf("/booking/%d", id)) || aino.detail("Aika") != newWhen {
		t.Errorf("after moving at %s showing %q, want %s", aino.location(), aino.detail("Aika"), newWhen)
	}
	if got := aino.detail("Neuvoja"); got != "Minna Järvinen" {
		t.Errorf("after moving the advisor is %q", got)
	}
	if got := aino.text(".notice-area"); !strings.Contains(got, "Aika on siirretty.") {
		t.Errorf("move notice %q", got)
	}
	aino.checkLight("booking: moved")
	_, cal := outboxMail(t, p, ainoMail, "Ajanvaraus siirretty: "+newWhen)
	expectEvent(t, cal, newStart, "REQUEST", "CONFIRMED")

	// And cancels it: from the page of the booking, then confirming.
	aino.open(fmt.Sprintf("/booking/%d", id))
	aino.follow("Peru aika", link("//main", "Peru aika"))
	if !aino.onPortal(fmt.Sprintf("/booking/%d/cancel", id)) || aino.detail("Aika") != newWhen {
		t.Fatalf("Peru aika led to %s showing %q; want the confirmation of cancelling %s", aino.location(), aino.detail("Aika"), newWhen)
	}
	if got := bookingsOf(t, p, ainoID); got["booked"] != 1 {
		t.Errorf("opening the cancel page changed the bookings: %v", got)
	}
	aino.check("booking: cancel?")
	aino.submit("cancel", chromedp.Click(button("//main", "Peru aika")), http.StatusOK)
	if got := aino.detail("Tila"); got != "Peruttu" {
		t.Errorf("status after cancelling %q", got)
	}
	if got := aino.text(".notice-area"); !strings.Contains(got, "Aika on peruttu.") {
		t.Errorf("cancel notice %q", got)
	}
	if n := aino.count("main [href$='/cancel'], main form[action$='/cancel']"); n != 0 {
		t.Error("a cancelled appointment still offers to cancel")
	}
	aino.checkLight("booking: cancelled")
	_, cal = outboxMail(t, p, ainoMail, "Ajanvaraus peruttu: "+newWhen)
	expectEvent(t, cal, newStart, "CANCEL", "CANCELLED")
	if got := bookingsOf(t, p, ainoID); got["cancelled"] != 1 || len(got) != 1 {
		t.Errorf("bookings after cancelling: %v", got)
	}
	aino.follow("Oma asiointi", link(`//nav[contains(@class, "main-nav")]`, "Oma asiointi"))
	if got := aino.text(".booking-section"); !strings.Contains(got, "Sinulla ei ole tulevia varauksia.") || !strings.Contains(aino.text(".booking-list--past"), newWhen) {
		t.Errorf("Oma asiointi after cancelling: %q", got)
	}

	// A phone call: the number is asked for, and checked.
	aino.follow("Varaa aika on Oma asiointi", link("//main", "Varaa aika"))
	aino.choose("topic", "Häätöuhka")
	aino.choose("type", "Puhelu")
	aino.submit("search for phone times", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusOK)
	phoneSlots := aino.slots()
	if len(phoneSlots) == 0 {
		t.Fatal("no phone times this week")
	}
	expectHelsinkiTimes(t, phoneSlots, 9, 15)
	aino.pick(phoneSlots[0])
	aino.typeText("phone", "12")
	aino.submit("book a call with a bad number", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusUnprocessableEntity)
	if got := aino.fieldError("phone"); !strings.HasPrefix(got, "Anna puhelinnumero") {
		t.Errorf("phone error %q", got)
	}
	aino.checkLight("booking: bad phone number")
	aino.typeText("phone", "040 123 4567")
	aino.submit("book a call", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusOK)
	if got := aino.detail("Tapaamistapa") + " / " + aino.detail("Paikka"); got != "Puhelu / Neuvoja soittaa numeroon 040 123 4567" {
		t.Errorf("phone booking shows %q", got)
	}
	if got := bookingsOf(t, p, ainoID); got["booked"] != 1 {
		t.Errorf("bookings after the call: %v", got)
	}
	aino.check("booking: phone call confirmed")
}

// TestBrowserBookingWithoutJavaScript is a resident's booking with
// scripting off in the browser: every step is a plain link or form.
func TestBrowserBookingWithoutJavaScript(t *testing.T) {
	exe := chromiumPath(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	sofia := newBookingTab(t, browser, p, "")
	sofia.js = false
	if _, err := chromedp.Call(sofia.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	sofia.open("/")
	if sofia.scripting() {
		t.Fatal("the page runs with scripting on")
	}
	sofia.follow("Varaa aika", link("//main", "Varaa aika"))
	sofia.pickDemoUser("Sofia Lindholm")
	if !sofia.onPortal("/booking") {
		t.Fatalf("after login at %s", sofia.location())
	}
	if got := sofia.selected("region"); got != "Länsi" {
		t.Errorf("region proposed %q for 00330, want Länsi", got)
	}
	sofia.choose("topic", "Muutto tai asunnon etsiminen")
	sofia.choose("type", "Tapaaminen palvelupisteessä")
	sofia.choose("point", "Heka Länsi")
	sofia.submit("search", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusOK)
	slots := sofia.slots()
	if len(slots) == 0 {
		t.Fatal("no free times")
	}
	expectHelsinkiTimes(t, slots, 9, 12)
	sofia.check("booking without JavaScript")
	sofia.pick(slots[0])
	sofia.typeText("message", "Etsin pienempää asuntoa.")
	sofia.submit("book", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusOK)
	_, start := slotStart(t, slots[0].Value)
	if got := sofia.detail("Aika"); got != finnishWhen(start) {
		t.Errorf("confirmation shows %q, want %s", got, finnishWhen(start))
	}
	sofia.check("confirmation without JavaScript")
	sofia.follow("Oma asiointi", link(`//nav[contains(@class, "main-nav")]`, "Oma asiointi"))
	if got := sofia.text(".booking-list"); !strings.Contains(got, finnishWhen(start)) {
		t.Errorf("Oma asiointi lists %q", got)
	}
}

var slotValuePattern = regexp.MustCompile(`name="slot" value="([0-9]+-[0-9]+)"`)

// bookOverHTTP books, as a resident over plain HTTP, the first time that
// the search finds, with the booking form's other fields, and returns the
// booking's id and start.
func bookOverHTTP(t *testing.T, p *testPortal, resident string, search, fields url.Values) (int64, time.Time) {
	t.Helper()
	c := newBrowser(t)
	c.login(p.url, "/booking", resident)
	resp, page := c.get(p.url + "/booking?" + search.Encode())
	m := slotValuePattern.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("no times to book over HTTP for %s (%d)", search.Encode(), resp.StatusCode)
	}
	form := url.Values{"_csrf": {csrfOf(t, page)}, "slot": {m[1]}}
	for _, vs := range []url.Values{search, fields} {
		for k, v := range vs {
			form[k] = v
		}
	}
	resp, _ = c.post(p.url+"/booking", form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("booking over HTTP: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	_, start := slotStart(t, m[1])
	return bookingID(t, resp.Request.URL.Path), start
}

// demoServicePointID is the id of a demo service point.
func demoServicePointID(t *testing.T, p *testPortal, name string) int64 {
	t.Helper()
	var ids []int64
	if err := p.s.deps.db.Gorm.Raw("SELECT id FROM service_points WHERE name = ?", name).Scan(&ids).Error; err != nil || len(ids) != 1 {
		t.Fatalf("service point %s: %v", name, err)
	}
	return ids[0]
}

// demoRegionID is the id of a demo region.
func demoRegionID(t *testing.T, p *testPortal, code string) int64 {
	t.Helper()
	var ids []int64
	if err := p.s.deps.db.Gorm.Raw("SELECT id FROM regions WHERE code = ?", code).Scan(&ids).Error; err != nil || len(ids) != 1 {
		t.Fatalf("region %s: %v", code, err)
	}
	return ids[0]
}

// rowWith is the cells of the first row of the main content's tables that
// has a cell with the text.
func (b *bookingTab) rowWith(text string) []string {
	b.t.Helper()
	return eval[[]string](b.session, fmt.Sprintf(`(tr => tr ? [...tr.cells].map(c => c.innerText.trim()) : [])(
		[...document.querySelectorAll("main tbody tr")].find(tr => [...tr.cells].some(c => c.innerText.trim() === %s)))`, jsString(text)))
}

// deskStart is where the advisor's browser tests begin: a portal, a
// browser, and a phone call Aino has booked with Minna next week (over
// plain HTTP: the resident's pages have their own test).
type deskStart struct {
	p               *testPortal
	browser         context.Context
	axe             string
	ainoID, minnaID int64
	east            int64
	message         string
	call            time.Time
}

func startDesk(t *testing.T) *deskStart {
	t.Helper()
	exe := chromiumPath(t)
	d := &deskStart{axe: bookingAxe(t), p: startPortal(t, nil)}
	d.browser = startChromium(t, exe)
	d.ainoID = demoUserID(t, d.p, "demo-resident-aino")
	d.minnaID = demoUserID(t, d.p, "demo-advisor-east-1")
	d.east = demoRegionID(t, d.p, "east")
	d.message = "Sain häätöuhan vuokranantajalta. Tarvitsen somalin kielen tulkin."
	_, d.call = bookOverHTTP(t, d.p, "demo-resident-aino", url.Values{"topic": {"eviction"}, "type": {"phone"},
		"region": {fmt.Sprint(d.east)}, "advisor": {fmt.Sprint(d.minnaID)}, "week": {"1"}},
		url.Values{"message": {d.message}, "phone": {"040 765 4321"}})
	return d
}

func TestBrowserBookingDesk(t *testing.T) {
	ds := startDesk(t)
	p, browser, axe, ainoID, minnaID, east, message, call := ds.p, ds.browser, ds.axe, ds.ainoID, ds.minnaID, ds.east, ds.message, ds.call
	loc := helsinkiLocation(t)

	// Aino has also had an appointment yesterday that nobody has marked
	// yet (written straight to the database: nobody can book the past).
	callDay := call.Format("2006-01-02")
	now := time.Now()
	y, mo, d := now.In(loc).AddDate(0, 0, -1).Date()
	pastStart := time.Date(y, mo, d, 10, 0, 0, 0, loc)
	past := booking.Booking{
		AdvisorID: minnaID, ResidentID: ainoID, RegionID: east, StartsAt: pastStart.UTC(), EndsAt: pastStart.Add(time.Hour).UTC(),
		MeetingType: booking.Phone, Topic: booking.TopicRentDebt, Message: "Maksusuunnitelma", ContactPhone: "040 765 4321",
		Lang: "fi", Status: booking.StatusBooked, BookedBy: ainoID, CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	if err := p.s.deps.db.Gorm.Create(&past).Error; err != nil {
		t.Fatal(err)
	}

	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk")
	minna.pickDemoUser("Minna Järvinen")
	if !minna.onPortal("/desk") {
		t.Fatalf("Minna after login at %s", minna.location())
	}
	// Today's appointments are one section of the desk, under one heading.
	if n := eval[int](minna.session, `[...document.querySelectorAll("main h1, main h2, main h3")].filter(h => h.innerText.trim() === "Tämän päivän tapaamiset").length`); n != 1 {
		t.Errorf("the desk shows the heading of today's appointments %d times", n)
	}
	minna.check("/desk")

	// Her calendar: today, then the week of Aino's call.
	minna.follow("Avaa kalenteri", link("//main", "Avaa kalenteri"))
	if !minna.onPortal("/desk/booking") || minna.text("h1") != "Ajanvarauskalenteri" {
		t.Fatalf("Avaa kalenteri led to %s (%q)", minna.location(), minna.text("h1"))
	}
	minna.checkLight("calendar: today")
	minna.setValue("date", callDay)
	minna.submit("show the day of the call", chromedp.Click(button("//main", "Rajaa")), http.StatusOK)
	when := finnishWhen(call)
	row := minna.rowWith(when)
	if len(row) < 6 || row[1] != "Aino Asukas" || row[2] != "Häätöuhka" || !strings.HasPrefix(row[3], "Puhelu") || row[4] != "Viesti neuvojalle: "+message || row[5] != "Varattu" {
		t.Errorf("day calendar row for %s: %q", when, row)
	}
	minna.follow("Viikko", link("//main", "Viikko"))
	if got := minna.rowWith(when); strings.Join(got, "|") != strings.Join(row, "|") {
		t.Errorf("week calendar row for %s: %q, want %q", when, got, row)
	}
	minna.check("calendar: week")
	minna.inOtherLanguages("calendar: week", map[string]string{"fi": "Ajanvarauskalenteri", "sv": "Bokningskalender", "en": "Booking calendar"}, true)

	// The appointment's page.
	minna.follow("the call in the calendar", link("//main", when))
	if got := minna.detail("Asukas") + " / " + minna.detail("Viesti neuvojalle"); got != "Aino Asukas / "+message {
		t.Errorf("appointment page shows %q", got)
	}
	minna.check("calendar: appointment")

	// Yesterday's appointment took place: she marks it done.
	minna.open(fmt.Sprintf("/desk/booking?view=day&date=%s", pastStart.Format("2006-01-02")))
	minna.follow("yesterday's appointment", link("//main", finnishWhen(pastStart)))
	minna.checkLight("calendar: past appointment")
	minna.submit("mark done", chromedp.Click(button("//main", "Tapaaminen pidettiin")), http.StatusOK)
	if got := minna.detail("Tila"); got != "Pidetty" {
		t.Errorf("status after marking done %q", got)
	}
	if got := minna.text(".notice-area"); !strings.Contains(got, "Tieto tallennettiin.") {
		t.Errorf("outcome notice %q", got)
	}
	minna.checkLight("calendar: marked done")

	// Aino calls: Minna books a video call for her, then moves it and
	// cancels it, each time with a message that reaches Aino by mail.
	minna.follow("Takaisin kalenteriin", link("//main", "Takaisin kalenteriin"))
	minna.follow("Varaa aika asukkaan puolesta", link("//main", "Varaa aika asukkaan puolesta"))
	minna.check("book for a resident: find")
	minna.typeText("q", "Aino")
	minna.submit("find Aino", chromedp.Click(button("//main", "Hae")), http.StatusOK)
	minna.follow("Aino in the results", link("//main", "Aino Asukas"))
	if got := minna.selected("region"); got != "Itä" {
		t.Errorf("region proposed for Aino %q, want Itä", got)
	}
	minna.choose("topic", "Asunnon vaihto")
	minna.choose("type", "Videopuhelu")
	minna.choose("advisor", "Minna Järvinen")
	minna.submit("search video times for Aino", chromedp.Click(button("//main", "Näytä vapaat ajat")), http.StatusOK)
	video := minna.slots()
	if len(video) < 2 {
		t.Fatalf("%d video times for Aino", len(video))
	}
	expectHelsinkiTimes(t, video, 13, 15)
	minna.check("book for a resident: times")
	minna.pick(video[0])
	staffNote := "Soitti neuvontaan, haluaa vaihtaa pienempään."
	minna.typeText("staff_note", staffNote)
	minna.submit("book for Aino", chromedp.Click(button("//main", "Vahvista varaus")), http.StatusOK)
	if got := minna.detail("Asukas") + " / " + minna.detail("Tapaamistapa"); got != "Aino Asukas / Videopuhelu" {
		t.Errorf("the booking made for Aino shows %q", got)
	}
	// The advisor's note is the staff's, under its own label; it is not
	// shown as the resident's message to the advisor.
	if got := minna.detail("Muistiinpano (vain henkilöstö)"); got != staffNote {
		t.Errorf("the staff note shows %q", got)
	}
	if got := minna.detail("Viesti neuvojalle"); got != "" {
		t.Errorf("the advisor's note is shown as the resident's message: %q", got)
	}
	minna.checkLight("book for a resident: booked")
	minna.follow("Siirrä aikaa (staff)", link("//main", "Siirrä aikaa"))
	if got := minna.selected("advisor"); got != "Minna Järvinen" {
		t.Errorf("the staff move offers the times of %q first, want the appointment's advisor", got)
	}
	minna.check("staff move")
	moved := minna.slots()
	if len(moved) == 0 {
		t.Fatal("no time to move the video call to")
	}
	_, movedStart := slotStart(t, moved[len(moved)-1].Value)
	minna.pick(moved[len(moved)-1])
	moveNote := "Siirsin aikaa, koska minulla on koulutus."
	minna.typeText("staff_message", moveNote)
	minna.submit("move the video call", chromedp.Click(button("//main", "Siirrä tähän aikaan")), http.StatusOK)
	if got := minna.detail("Aika") + " / " + minna.detail("Neuvojan viesti"); got != finnishWhen(movedStart)+" / "+moveNote {
		t.Errorf("the moved video call shows %q", got)
	}
	cancelNote := "Hoidetaan asia puhelimessa."
	minna.typeText("staff_message", cancelNote)
	minna.submit("cancel the video call", chromedp.Click(button("//main", "Peru aika ja lähetä viesti")), http.StatusOK)
	if got := minna.detail("Tila") + " / " + minna.detail("Neuvojan viesti"); got != "Peruttu / "+cancelNote {
		t.Errorf("the cancelled video call shows %q", got)
	}
	minna.checkLight("staff cancelled")
	if body, _ := outboxMail(t, p, ainoMail, "Ajanvaraus siirretty: "+finnishWhen(movedStart)); !strings.Contains(body, moveNote) {
		t.Errorf("the move mail lacks the advisor's message:\n%s", body)
	}
	if body, _ := outboxMail(t, p, ainoMail, "Ajanvaraus peruttu: "+finnishWhen(movedStart)); !strings.Contains(body, cancelNote) {
		t.Errorf("the cancellation mail lacks the advisor's message:\n%s", body)
	}
	if got := bookingsOf(t, p, ainoID); got["booked"] != 1 || got["done"] != 1 || got["cancelled"] != 1 {
		t.Errorf("Aino's bookings after the desk's work: %v", got)
	}
}

func TestBrowserBookingAvailability(t *testing.T) {
	ds := startDesk(t)
	p, browser, axe, ainoID, minnaID, east, call := ds.p, ds.browser, ds.axe, ds.ainoID, ds.minnaID, ds.east, ds.call
	callDay := call.Format("2006-01-02")
	when := finnishWhen(call)

	// Minna looks at the day and the week of the call in her calendar.
	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk/booking")
	minna.pickDemoUser("Minna Järvinen")
	minna.setValue("date", callDay)
	minna.submit("show the day of the call", chromedp.Click(button("//main", "Rajaa")), http.StatusOK)
	minna.follow("Viikko", link("//main", "Viikko"))
	if got := minna.rowWith(when); len(got) < 2 || got[1] != "Aino Asukas" {
		t.Errorf("week calendar row for %s: %q", when, got)
	}
	minna.expectCleanBut("calendar: week")

	// Her weekly hours: a Saturday morning of phone calls, after a typo.
	minna.follow("Oma saatavuus ja poissaolot", link("//main", "Oma saatavuus ja poissaolot"))
	if got := minna.text("h1"); got != "Saatavuus" {
		t.Fatalf("availability heading %q", got)
	}
	windows := minna.count("main table tbody tr")
	if windows != 10 {
		t.Errorf("Minna has %d weekly windows, want the demo's 10", windows)
	}
	minna.check("availability")
	minna.inOtherLanguages("availability", map[string]string{"fi": "Saatavuus", "sv": "Tillgänglighet", "en": "Availability"}, false)
	minna.choose("weekday", "lauantai")
	minna.setValue("start", "10:00")
	minna.setValue("end", "09:00")
	minna.choose("slot_minutes", "30 min")
	minna.step("tick Puhelu", chromedp.Click(chromedp.CSS(`label[for="types-phone"]`)))
	minna.submit("add a window that ends before it starts", chromedp.Click(button("//main", "Lisää")), http.StatusUnprocessableEntity)
	if got := minna.fieldError("end"); got != "Loppu ei voi olla ennen alkua." {
		t.Errorf("window end error %q", got)
	}
	if n := minna.count("main table tbody tr"); n != windows {
		t.Errorf("a refused window changed the windows: %d", n)
	}
	minna.check("availability: bad window")
	minna.setValue("end", "12:00")
	minna.submit("add a window", chromedp.Click(button("//main", "Lisää")), http.StatusOK)
	if got := minna.text(".notice-area"); !strings.Contains(got, "Tallennettu.") {
		t.Errorf("window notice %q", got)
	}
	if got := minna.rowWith("lauantai"); len(got) < 4 || got[1] != "10:00–12:00" || got[2] != "30 min" || got[3] != "Puhelu" {
		t.Errorf("the new window's row: %q", got)
	}
	// Residents are offered her Saturday calls at once.
	resident := newBrowser(t)
	resident.login(p.url, "/booking", "demo-resident-matti")
	q := url.Values{"topic": {"other"}, "type": {"phone"}, "region": {fmt.Sprint(east)}, "advisor": {fmt.Sprint(minnaID)}, "week": {"1"}}
	if _, page := resident.get(p.url + "/booking?" + q.Encode()); !strings.Contains(page, "lauantai") || !strings.Contains(page, "10.30–11.00") {
		t.Error("the new Saturday window offers residents no times")
	}

	// The admin sees every advisor of the east region.
	pirjo := newBookingTab(t, browser, p, axe)
	pirjo.open("/desk/booking")
	pirjo.pickDemoUser("Pirjo Pääkäyttäjä")
	pirjo.choose("region", "Itä")
	pirjo.choose("advisor", "Kaikki alueen neuvojat")
	pirjo.setValue("date", callDay)
	pirjo.submit("the east region's calendar", chromedp.Click(button("//main", "Rajaa")), http.StatusOK)
	advisors := pirjo.options("advisor")
	for _, name := range []string{"Minna Järvinen", "Juha Lehtonen", "Tiina Saarinen", "Antti Heinonen", "Hanna Karjalainen", "Ville Niemi", "Amina Yusuf"} {
		if !strings.Contains(strings.Join(advisors, "|"), name) {
			t.Errorf("the admin's advisor list %q lacks %s", advisors, name)
		}
	}
	if got := pirjo.rowWith(when); len(got) < 3 || got[1] != "Minna Järvinen" || got[2] != "Aino Asukas" {
		t.Errorf("the region's calendar row for %s: %q", when, got)
	}
	pirjo.check("calendar: the region (admin)")

	// The access log lists Minna's views of her calendar.
	pirjo.follow("Lokitiedot", link(`//nav[contains(@class, "main-nav")]`, "Lokitiedot"))
	pirjo.typeText("actor", "Minna")
	pirjo.typeText("action", "booking.view")
	pirjo.submit("filter the access log", chromedp.Click(button("//main", "Rajaa")), http.StatusOK)
	views := eval[int](pirjo.session, `[...document.querySelectorAll(".access-log-table tbody tr")].filter(tr => {
		const c = [...tr.cells].map(c => c.innerText.trim());
		return c[1] === "Minna Järvinen" && c[3] === "Aino Asukas" && c[4] === "Näki ajanvarauksen" && c[6] === "Neuvojan kalenteri";
	}).length`)
	// The day and the week showed the same appointment within one opening:
	// one entry, in words.
	if views != 1 {
		t.Errorf("the access log lists %d calendar views by Minna, want 1; table: %q", views, pirjo.text(".access-log-table"))
	}
	pirjo.checkA11y("access log")

	// Minna falls ill on the day of Aino's call: the exception asks to
	// confirm, cancels the call and tells Aino by mail.
	note := "Neuvoja on sairaana. Varaathan uuden ajan."
	minna.choose("kind", "Sairauspoissaolo")
	minna.setValue("from_date", callDay)
	minna.typeText("note", note)
	minna.submit("add a sick day over a booked call", chromedp.Click(button("//main", "Tallenna")), http.StatusConflict)
	if got := minna.text(".booking-conflicts"); !strings.Contains(got, "Aino Asukas") || !strings.Contains(got, when) {
		t.Errorf("the conflicts shown: %q", got)
	}
	minna.check("availability: conflicts")
	minna.step("confirm", chromedp.Click(chromedp.CSS(`label[for="confirm-box"]`)))
	minna.submit("add the sick day", chromedp.Click(button("//main", "Tallenna")), http.StatusOK)
	if got := minna.text(".booking-exceptions"); !strings.Contains(got, "Sairauspoissaolo") || !strings.Contains(got, note) {
		t.Errorf("the exceptions listed: %q", got)
	}
	// A whole sick day is shown as that day, not as midnight to midnight.
	if got, day := minna.text(".booking-exceptions"), call.In(helsinkiLocation(t)).Format("2.1.2006"); !strings.Contains(got, day) || strings.Contains(got, "00.00") {
		t.Errorf("the sick day shows as %q, want the day %s without times", got, day)
	}
	minna.checkLight("availability: sick day")
	if got := bookingsOf(t, p, ainoID); got["cancelled"] != 1 || got["booked"] != 0 {
		t.Errorf("Aino's bookings after the sick day: %v", got)
	}
	body, files := minna.findMail(ainoMail, "Ajanvaraus peruttu: "+when)
	if !strings.Contains(body, "Neuvojasi ei pääse tapaamiseen.") || !strings.Contains(body, note) {
		t.Errorf("the cancellation mail does not say why:\n%s", body)
	}
	expectCalendar(t, files["asumisneuvonta.ics"], call, "CANCEL", "CANCELLED")
}
