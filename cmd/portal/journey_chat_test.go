package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestJourneyChatToThread follows one conversation from the live chat into
// secure messages, across two instances in the production shape (one
// PostgreSQL, one Redis, files in S3 through ClamAV, mail through SMTP):
//
//   - Aino chats on instance A with Minna, who is on instance B;
//   - Aino's network is cut while both keep writing, then comes back:
//     each side ends with every message exactly once, in order, without a
//     reload, and the database holds what both pages show;
//   - Minna closes the chat and continues it as a message thread, whose
//     first message is the whole transcript; Aino is mailed a link only;
//   - Aino opens the thread on A and answers with a picture attached;
//   - Minna, on B, sees the answer and downloads the picture from the
//     shared bucket, which writes the access log.
//
// Every key page passes axe-core and shows no console error, CSP
// violation or untranslated key; a failure leaves each tab's last pages in
// the test's artifact folder.
func TestJourneyChatToThread(t *testing.T) {
	exe := chromiumPath(t)
	axe := bookingAxe(t)
	svc := startJourneyServices(t)
	env := map[string]string{"PORTAL_CHAT_HOURS": alwaysOpen}
	for k, v := range svc.env {
		env[k] = v
	}
	ps := startInstances(t, 2, env)
	a, b := ps[0], ps[1]
	br := startChromium(t, exe)
	began := time.Now()
	ainoID := a.userID(t, "demo-resident-aino")
	minnaID := a.userID(t, "demo-advisor-east-1")
	picture := journeyPNG(t)
	picPath := filepath.Join(t.TempDir(), "maksumuistutus.png")
	if err := os.WriteFile(picPath, picture, 0o600); err != nil {
		t.Fatal(err)
	}

	// Minna, on B, is available.
	minna := newBookingTab(t, br, b, axe)
	minna.open("/chat/desk")
	minna.pickDemoUser("Minna Järvinen")
	if !minna.onPortal("/chat/desk") {
		t.Fatalf("after login at %s", minna.location())
	}
	minna.step("choose Paikalla", chromedp.Click(chromedp.CSS(`label[for="status-available"]`)))
	minna.follow("Tallenna", button(`//form[contains(@class, "chat-status")]`, "Tallenna"))
	minna.deskOnline()

	// Aino, on A, logs in from /chat once A knows an advisor is available.
	aino := newBookingTab(t, br, a, axe)
	for deadline := time.Now().Add(crossInstance); ; time.Sleep(250 * time.Millisecond) {
		aino.open("/chat")
		if aino.count(`main a[href*="login"]`) > 0 || time.Now().After(deadline) {
			break
		}
	}
	aino.follow("Kirjaudu ja aloita", link("//main", "Kirjaudu ja aloita"))
	aino.pickDemoUser("Aino Asukas")
	if !aino.onPortal("/chat") {
		t.Fatalf("after login at %s, want back on /chat", aino.location())
	}
	aino.step("choose the topic", chromedp.SetValue(chromedp.CSS("#topic"), "rent_debt"))
	aino.follow("Aloita chat", button("//main", "Aloita chat"))
	conv := aino.convID()
	minna.waitJS("Aino's chat in the queue", queueRow(conv))
	minna.follow("Ota keskustelu", fmt.Sprintf(`//tr[@data-conv="%d"]//button`, conv))
	aino.waitText("the advisor's name", "[data-chat-status]", "Neuvoja: Minna")

	const hello, reply = "Hei! Minulla on vuokrarästiä kaksi kuukautta.", "Hei Aino, kerro lisää tilanteestasi."
	aino.say(hello)
	minna.waitJS("Aino's message", hasMessage("peer", hello))
	minna.say(reply)
	aino.waitJS("Minna's reply", hasMessage("peer", reply))
	aino.waitJS("read", ownMark(hello, "Luettu"))
	aino.check("chat, active")
	minna.check("desk chat, active")

	// The cut: Aino's network goes while both keep writing.
	eval[bool](aino.session, `(window.__samePage = true)`)
	eval[bool](minna.session, `(window.__samePage = true)`)
	peersBefore := len(bodies(aino.messages(), "peer"))
	aino.setOffline(true, true)
	aino.waitText("the page says it is offline", "[data-chat-conn]", "Yhteys katkesi")
	minnaWrote := []string{"Katkon aikana 1: montako kuukautta rästiä on?", "Katkon aikana 2: onko vuokranantaja ottanut yhteyttä?", "Katkon aikana 3: voit myös varata ajan."}
	ainoWrote := []string{"Kirjoitin tämän ilman verkkoa.", "Ja tämänkin, yhä ilman verkkoa."}
	for i, m := range minnaWrote {
		minna.paste(m)
		minna.waitJS("stored: "+m, fmt.Sprintf(`[...document.querySelectorAll("[data-chat-messages] > li.chat-msg--own")].some(li =>
			li.querySelector(".chat-msg__body").textContent === %s && li.getAttribute("data-seq"))`, jsString(m)))
		if i < len(ainoWrote) {
			aino.say(ainoWrote[i])
		}
	}
	aino.screenshot("chat-offline")
	for _, m := range ainoWrote {
		if !eval[bool](aino.session, ownMark(m, "Lähetetään…")) {
			t.Errorf("%q written offline is not shown as being sent: %+v", m, aino.messages())
		}
	}
	if n := len(bodies(aino.messages(), "peer")); n != peersBefore {
		t.Errorf("Aino's page shows %d new messages from Minna while offline", n-peersBefore)
	}
	if got := bodies(minna.messages(), "peer"); slices.Contains(got, ainoWrote[0]) {
		t.Error("Minna has a message Aino wrote offline before the network came back")
	}
	aino.setOffline(false, true)
	for _, m := range minnaWrote {
		aino.waitJS("after the cut: "+m, hasMessage("peer", m))
	}
	for _, m := range ainoWrote {
		minna.waitJS("after the cut, at Minna: "+m, hasMessage("peer", m))
		aino.waitJS("read: "+m, ownMark(m, "Luettu"))
	}
	aino.waitJS("the connection note cleared", `document.querySelector("[data-chat-conn]").textContent === ""`)
	for _, s := range []*bookingTab{aino, minna} {
		if !eval[bool](s.session, `window.__samePage === true`) {
			t.Error("a page was reloaded")
		}
	}
	ainoSees, minnaSees := aino.messages(), minna.messages()
	checkTranscript(t, "resident", ainoSees)
	checkTranscript(t, "advisor", minnaSees)
	all := append(append([]string{hello, reply}, minnaWrote...), ainoWrote...)
	for _, m := range all {
		if n := countOf(append(bodies(ainoSees, "own"), bodies(ainoSees, "peer")...), m); n != 1 {
			t.Errorf("Aino's page shows %q %d times", m, n)
		}
		if n := countOf(append(bodies(minnaSees, "own"), bodies(minnaSees, "peer")...), m); n != 1 {
			t.Errorf("Minna's page shows %q %d times", m, n)
		}
	}
	if got := bodies(ainoSees, "own"); !slices.Equal(got, append([]string{hello}, ainoWrote...)) {
		t.Errorf("Aino's own messages %q", got)
	}
	if got := bodies(minnaSees, "own"); !slices.Equal(got, append([]string{reply}, minnaWrote...)) {
		t.Errorf("Minna's own messages %q", got)
	}
	journeyStored(t, a, conv, ainoSees, "resident")
	journeyStored(t, b, conv, minnaSees, "advisor")
	aino.check("chat after the cut")
	minna.expectCleanBut("desk chat after the cut")

	// Minna closes the chat and continues it as a thread.
	minna.step("choose the outcome", chromedp.Click(chromedp.CSS(`label[for="outcome-advice_given"]`)))
	minna.follow("Päätä keskustelu", button("//main", "Päätä keskustelu"))
	aino.waitJS("the closing", hasMessage("system", "Neuvoja päätti keskustelun."))
	minna.open(fmt.Sprintf("/chat/desk/c/%d", conv))
	minna.submit("continue as a thread", chromedp.Click(button("//main", "Jatka viestiketjuna")), http.StatusOK)
	p := minna.location().Path
	thread, err := strconv.ParseInt(strings.TrimPrefix(p, "/desk/messages/"), 10, 64)
	if err != nil || !strings.HasPrefix(p, "/desk/messages/") {
		t.Fatalf("continuing as a thread led to %s", p)
	}
	first := minna.text(".messages-thread")
	for _, m := range all {
		if n := strings.Count(first, m); n != 1 {
			t.Errorf("the thread's first message has %q %d times", m, n)
		}
	}
	minna.check("desk thread from the chat")

	// Aino, on A, is told, opens the thread and answers with a picture.
	aino.open("/my")
	if got := aino.text(`.header-link[href="/messages"]`); !strings.Contains(got, "(1)") {
		t.Errorf("Aino's header link %q, want one unread", got)
	}
	aino.submit("to messages", chromedp.Click(`.header-link[href="/messages"]`), http.StatusOK)
	aino.check("messages list")
	aino.submit("open the thread", chromedp.Click(link("//main", "Chat: Vuokravelka")), http.StatusOK)
	if got := aino.location().Path; got != fmt.Sprintf("/messages/%d", thread) {
		t.Fatalf("the list's thread is %s, want /messages/%d", got, thread)
	}
	if got := aino.text(".messages-thread"); !strings.Contains(got, "Asumisneuvoja Minna") || !strings.Contains(got, minnaWrote[2]) || !strings.Contains(got, ainoWrote[1]) {
		t.Errorf("Aino's thread shows %.400q", got)
	}
	const answer = "Tässä vuokranantajan maksumuistutus."
	aino.typeText("body", answer)
	aino.step("attach", chromedp.SetUploadFiles(`#attachment`, []string{picPath}))
	aino.submit("answer", chromedp.Click(button("//main", "Lähetä viesti")), http.StatusOK)
	if got := aino.text(".messages-thread"); !strings.Contains(got, answer) || !strings.Contains(got, "maksumuistutus.png") {
		t.Errorf("after answering Aino's thread shows %.400q", got)
	}
	aino.check("thread answered with an attachment")

	// Minna, on B, sees the answer and downloads the picture.
	minna.open(fmt.Sprintf("/desk/messages/%d", thread))
	if got := minna.text(".messages-thread"); !strings.Contains(got, answer) || !strings.Contains(got, "maksumuistutus.png") {
		t.Errorf("Minna's thread shows %.400q", got)
	}
	minna.check("desk thread with the answer")
	name, got := journeyDownload(minna.session, "the picture", link(`//ul[contains(@class,"messages-files")]`, "maksumuistutus.png"))
	if name != "maksumuistutus.png" || !bytes.Equal(got, picture) {
		t.Errorf("Minna downloads %q (%d bytes), want maksumuistutus.png as sent (%d bytes)", name, len(got), len(picture))
	}
	minna.expectCleanBut("desk thread after the download")
	var file struct {
		ID         int64
		StorageKey string
	}
	if err := b.s.deps.db.Gorm.Raw("SELECT id, storage_key FROM files WHERE owner LIKE 'messages/%' AND name = 'maksumuistutus.png'").Scan(&file).Error; err != nil || file.ID == 0 {
		t.Fatalf("the picture is not stored (%v)", err)
	}
	if got, err := os.ReadFile(filepath.Join(svc.s3Dir, svc.bucket, file.StorageKey)); err != nil || !bytes.Equal(got, picture) {
		t.Errorf("the picture in the S3 bucket (%v): %d bytes, want the %d sent", err, len(got), len(picture))
	}
	var rows []struct {
		ActorRole  string
		ResidentID int64
		Reason     string
	}
	if err := b.s.deps.db.Gorm.Raw(`SELECT actor_role, resident_id, reason FROM access_log WHERE actor_id = ? AND action = 'messages.attachment' AND resource = ?`,
		minnaID, fmt.Sprintf("messages/%d/files/%d", thread, file.ID)).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ActorRole != "advisor" || rows[0].ResidentID != ainoID || rows[0].Reason != "messages" {
		t.Errorf("the access log's rows of Minna's download: %+v, want one, an advisor's, of Aino, for the messages", rows)
	}

	// The mail that told Aino of the thread: a link, nothing of the chat.
	mails := journeyWaitMails(t, svc.mail, ainoMail, 1)
	for _, m := range mails {
		links := strings.Fields(m.text)
		want := []string{a.url + fmt.Sprintf("/messages/%d", thread), b.url + fmt.Sprintf("/messages/%d", thread)}
		found := false
		for _, l := range links {
			found = found || slices.Contains(want, l)
		}
		if !found || m.attachments != 0 {
			t.Errorf("the new-message mail (%d attachments) does not link the thread:\n%s", m.attachments, m.text)
		}
		for _, s := range append(all, "Vuokravelka", "maksumuistutus", "Minna") {
			if strings.Contains(m.subject+"\n"+m.all, s) {
				t.Errorf("the new-message mail tells %q:\n%s", s, m.all)
			}
		}
	}
	t.Logf("journey: %s", time.Since(began).Round(100*time.Millisecond))
}

// journeyStored fails the test unless the conversation's text messages in
// p's database are exactly those a page shows to viewer ("resident" or
// "advisor"): each once, under the sequence number shown.
func journeyStored(t *testing.T, p *testPortal, conv int64, ms []chatMsg, viewer string) {
	t.Helper()
	var rows []struct {
		Seq        int
		SenderRole string
		Body       string
	}
	err := p.s.deps.db.Gorm.Raw(`SELECT seq, sender_role, body FROM chat_messages
		WHERE conversation_id = ? AND kind = 'text' ORDER BY seq`, conv).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"resident": "advisor", "advisor": "resident"}[viewer]
	var stored, shown []string
	for _, r := range rows {
		stored = append(stored, fmt.Sprintf("%d %s: %s", r.Seq, r.SenderRole, r.Body))
	}
	for _, m := range ms {
		switch m.Class {
		case "own":
			shown = append(shown, fmt.Sprintf("%d %s: %s", m.Seq, viewer, m.Body))
		case "peer":
			shown = append(shown, fmt.Sprintf("%d %s: %s", m.Seq, other, m.Body))
		}
	}
	if !slices.Equal(stored, shown) {
		t.Errorf("the database holds the messages\n\t%s\nthe %s's page shows\n\t%s",
			strings.Join(stored, "\n\t"), viewer, strings.Join(shown, "\n\t"))
	}
}

// journeyPNG is a small picture, as a phone's photo of a letter would be.
func journeyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 80, 60))
	for x := range 80 {
		for y := range 60 {
			img.Set(x, y, color.RGBA{uint8(x * 3), uint8(y * 4), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
