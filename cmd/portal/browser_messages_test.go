package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMessages: Aino writes to housing counselling with a PDF
// attached; Minna, an advisor of her region, sees "Viestit (1)" in the
// header, opens the thread, downloads nothing she need not, and answers;
// Aino sees her own count, reads the answer signed with Minna's first
// name, and the count goes. Every page passes axe-core and shows no
// untranslated key, in fi, sv and en.
func TestBrowserMessages(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	p := startPortal(t, nil)
	browser := startChromium(t, exe)
	pdf := filepath.Join(t.TempDir(), "tiliote.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	aino := newBookingTab(t, browser, p, axe)
	aino.open("/messages")
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/messages") {
		t.Fatalf("after login at %s", aino.location())
	}
	aino.check("messages list (empty)")
	aino.submit("new message", chromedp.Click(link("//main", "Kirjoita uusi viesti")), http.StatusOK)
	aino.check("new message")
	send := chromedp.Click(button("//main", "Lähetä viesti"))
	aino.submit("send an empty message", send, http.StatusUnprocessableEntity)
	if got := aino.fieldError("body"); got == "" {
		t.Error("an empty message shows no error by its field")
	}
	aino.check("new message with errors")
	aino.typeText("subject", "Vuokrarästi")
	aino.typeText("body", "Minulle on kertynyt vuokrarästiä <b>kaksi kuukautta</b>.")
	aino.step("attach", chromedp.SetUploadFiles(`#attachment`, []string{pdf}))
	aino.submit("send", send, http.StatusOK)
	if got := aino.text(".messages-thread"); !strings.Contains(got, "<b>kaksi kuukautta</b>") || !strings.Contains(got, "tiliote.pdf") {
		t.Errorf("the thread shows %q", got)
	}
	aino.check("thread (resident)")

	minna := newBookingTab(t, browser, p, axe)
	minna.open("/desk")
	minna.pickDemoUser("Minna Järvinen")
	if got := minna.text(`.header-link[href="/desk/messages"]`); !strings.Contains(got, "(1)") {
		t.Errorf("Minna's header link %q, want an unread count of 1", got)
	}
	minna.submit("inbox", chromedp.Click(`.header-link[href="/desk/messages"]`), http.StatusOK)
	minna.check("inbox")
	minna.submit("open the thread", chromedp.Click(link("//main", "Vuokrarästi")), http.StatusOK)
	minna.check("thread (advisor)")
	minna.typeText("body", "Soitan sinulle huomenna kello 10.")
	minna.submit("answer", chromedp.Click(button("//main", "Lähetä viesti")), http.StatusOK)
	if got := minna.text(".messages-thread"); !strings.Contains(got, "Soitan sinulle") {
		t.Errorf("Minna's thread after answering %q", got)
	}
	minna.checkLight("thread (advisor) answered")

	aino.open("/my")
	if got := aino.text(`.header-link[href="/messages"]`); !strings.Contains(got, "(1)") {
		t.Errorf("Aino's header link %q, want 1 unread", got)
	}
	aino.submit("to messages", chromedp.Click(`.header-link[href="/messages"]`), http.StatusOK)
	aino.check("messages list (unread)")
	aino.submit("open", chromedp.Click(link("//main", "Vuokrarästi")), http.StatusOK)
	if got := aino.text(".messages-thread"); !strings.Contains(got, "Asumisneuvoja Minna") || strings.Contains(got, "Järvinen") {
		t.Errorf("the answer is signed %q; want the advisor's first name only", got)
	}
	if got := aino.text(`.header-link[href="/messages"]`); strings.Contains(got, "(") {
		t.Errorf("after reading, Aino's header link still counts: %q", got)
	}
	aino.inOtherLanguages("thread (resident)", map[string]string{"fi": "Vuokrarästi", "sv": "Vuokrarästi", "en": "Vuokrarästi"}, true)
}
