package main

// Browser tests of the live chat: frontend/assets/chat.js against the real
// server in headless Chromium, the resident and the advisor each in a
// browser context of their own (see browser_test.go for the helpers and
// the skip/fail rule).

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// chatWait bounds one wait for something the other side did to show up.
const chatWait = 10 * time.Second

// crossInstance bounds how long a status change on one instance takes to
// show in another instance's page headers: the queue change crosses Redis
// and the header's cached answer is forgotten (about 100 ms).
const crossInstance = 2 * time.Second

// alwaysOpen keeps the chat within its opening hours whenever the test runs.
const alwaysOpen = "Mon-Sun 00:00-24:00"

// xssPayload is what a hostile or careless person might type: markup, a
// script URL and a link. It must show as the very same text, inert.
const xssPayload = `<img src=x onerror=alert(1)> <a href="javascript:alert(2)">klikkaa</a> https://example.invalid/ohje?a=1&b=<b>2</b>`

// readAxe returns axe-core's source; see testFile.
func readAxe(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(testFile(t, "PORTAL_TEST_AXE", "", "axe-core (axe.min.js)"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// waitJS waits until the JavaScript expression is truthy in the page.
func (s *session) waitJS(what, expr string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")",
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(chatWait)))
	if err != nil {
		s.t.Fatalf("%s: not within %s (%v)\n\tpage %s: %q", what, chatWait, err, s.location().Path, s.text("main"))
	}
}

// waitText waits until the first element matching css contains text.
func (s *session) waitText(what, css, text string) {
	s.t.Helper()
	s.waitJS(what, fmt.Sprintf(`(e => e && e.textContent.replace(/\s+/g, " ").includes(%s))(document.querySelector(%s))`,
		jsString(text), jsString(css)))
}

// enter presses Enter in the focused element as a keyboard does. SendKeys
// would add a char event, which types a line break that no keydown handler
// can prevent (see its documentation).
var enter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		}); err != nil {
			return err
		}
	}
	return nil
})

// say types a message into the chat's box like a person, key by key, and
// sends it with Enter.
func (s *session) say(text string) {
	s.t.Helper()
	s.step("type "+text, chromedp.SendKeys(chromedp.CSS("#chat-body"), text), chromedp.Focus(chromedp.CSS("#chat-body")), enter)
}

// paste puts a message into the chat's box at once and sends it with Enter.
func (s *session) paste(text string) {
	s.t.Helper()
	eval[bool](s, fmt.Sprintf(`(e => { e.value = %s; return true; })(document.getElementById("chat-body"))`, jsString(text)))
	s.step("send "+text, chromedp.Focus(chromedp.CSS("#chat-body")), enter)
}

// chatMsg is one message of the transcript on the page.
type chatMsg struct {
	Seq   int    `json:"seq"`
	CID   string `json:"cid"`
	Class string `json:"class"` // own, peer or system
	Who   string `json:"who"`
	Body  string `json:"body"`
	Mark  string `json:"mark"`
	Tags  int    `json:"tags"` // elements inside the body: must stay 0
}

// messages reads the transcript on the page in order.
func (s *session) messages() []chatMsg {
	s.t.Helper()
	return eval[[]chatMsg](s, `[...document.querySelectorAll("[data-chat-messages] > li")].map(li => ({
		seq: Number(li.getAttribute("data-seq")) || 0,
		cid: li.getAttribute("data-cid") || "",
		class: li.classList.contains("chat-msg--own") ? "own" : li.classList.contains("chat-msg--system") ? "system" : "peer",
		who: (li.querySelector(".chat-msg__who") || {textContent: ""}).textContent.trim(),
		body: (li.querySelector(".chat-msg__body") || {textContent: ""}).textContent,
		mark: (li.querySelector(".chat-msg__mark") || {textContent: ""}).textContent.replace(/^\s*·\s*/, ""),
		tags: li.querySelector(".chat-msg__body") ? li.querySelector(".chat-msg__body").querySelectorAll("*").length : 0,
	}))`)
}

// bodies are the texts of the messages from one side ("own" or "peer").
func bodies(ms []chatMsg, class string) []string {
	var out []string
	for _, m := range ms {
		if m.Class == class {
			out = append(out, m.Body)
		}
	}
	return out
}

// hasMessage is a JavaScript test for a message of class with exactly body.
func hasMessage(class, body string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("[data-chat-messages] > li.chat-msg--%s .chat-msg__body")].some(b => b.textContent === %s)`,
		class, jsString(body))
}

// ownMark is a JavaScript test that one's own message with body shows mark.
func ownMark(body, mark string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("[data-chat-messages] > li.chat-msg--own")].some(li =>
		li.querySelector(".chat-msg__body").textContent === %s && (li.querySelector(".chat-msg__mark") || {}).textContent === " · " + %s)`,
		jsString(body), jsString(mark))
}

// recordMarks makes the page remember every state its own messages'
// marks pass through, since some last only a moment.
func (s *session) recordMarks() {
	s.t.Helper()
	eval[bool](s, `(() => {
		window.__marks = [];
		new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
			const mark = n.nodeType === 3 ? r.target : n;
			if (!(mark instanceof Element) || !mark.classList.contains("chat-msg__mark")) { return; }
			const li = mark.closest("li");
			window.__marks.push({body: li.querySelector(".chat-msg__body").textContent, mark: (n.nodeType === 3 ? n.data : n.textContent).replace(/^\s*·\s*/, "")});
		}))).observe(document.querySelector("[data-chat-messages]"), {childList: true, subtree: true});
		return true;
	})()`)
}

// marksOf returns the states one's own message with body went through.
func (s *session) marksOf(body string) []string {
	s.t.Helper()
	return eval[[]string](s, fmt.Sprintf(`window.__marks.filter(m => m.body === %s && m.mark).map(m => m.mark)`, jsString(body)))
}

// watchHostile records, for the rest of the test, every JavaScript dialog
// the tab opens (and dismisses it) and every request for the image the
// payload names: either means markup in a message came alive.
func (s *session) watchHostile() func() []string {
	s.t.Helper()
	var mu sync.Mutex
	var seen []string
	err := chromedp.Listen(s.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			mu.Lock()
			seen = append(seen, "dialog: "+ev.Message)
			mu.Unlock()
			go func() {
				ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
				defer cancel()
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		case *network.EventRequestWillBeSent:
			if u, err := url.Parse(ev.Request.URL); err == nil && (u.Path == "/x" || u.Scheme == "javascript") {
				mu.Lock()
				seen = append(seen, "request: "+ev.Request.URL)
				mu.Unlock()
			}
		}
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// setOffline cuts the tab off the network, or connects it again. With
// tell, the page learns it as from a switched-off Wi-Fi (navigator.onLine
// and the offline and online events); without, new connections just fail.
// Chromium's emulation leaves an open WebSocket alone either way.
func (s *session) setOffline(offline, tell bool) {
	s.t.Helper()
	s.step(fmt.Sprintf("offline=%v", offline), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		conds := []*network.Conditions{}
		if offline {
			conds = append(conds, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if _, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule,
			network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
			return err
		}
		if !tell {
			return nil
		}
		_, err := cdp.Call(ctx, tg, network.OverrideNetworkState,
			network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// socketHook runs before the page's scripts and keeps every WebSocket the
// page opens in window.__sockets, so that the test can cut them.
const socketHook = `(() => {
	const Native = window.WebSocket;
	window.__sockets = [];
	window.WebSocket = function (url, protocols) {
		const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
		window.__sockets.push(ws);
		return ws;
	};
	window.WebSocket.prototype = Native.prototype;
	Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();`

// captureSockets installs socketHook in the tab's next documents.
func (s *session) captureSockets() {
	s.t.Helper()
	s.step("capture WebSockets", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: socketHook})
		return err
	}))
}

// expectCleanBut is expectClean, but notes that allowed accepts are only
// logged: the browser reports a failed connection as an error even when
// the network is away on purpose.
func (s *session) expectCleanBut(where string, allowed func(text string) bool) {
	s.t.Helper()
	for _, n := range s.takeNotes() {
		if n.problem && !allowed(n.text) {
			s.t.Errorf("%s: %s", where, n.text)
		} else {
			s.t.Logf("%s: %s", where, n.text)
		}
	}
}

// reopen closes the session's tab and opens a new one in the same browser
// context (same cookies, fresh sessionStorage), as a person closing the tab
// and coming back does. The new tab lives until owner ends.
func (s *session) reopen(browser context.Context, owner *testing.T) *session {
	s.t.Helper()
	c := chromedp.FromContext(s.ctx)
	n := &session{t: s.t, base: s.base}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithExistingBrowserContext(c.BrowserContextID), chromedp.WithListener(n.observe))
	owner.Cleanup(cancel)
	n.ctx = ctx
	// The same preparation as newSession's.
	setup := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: frontend.FontOrigin + "/*", Block: true}},
		}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, runtime.AddBinding, runtime.AddBindingParams{Name: cspBinding}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatcher})
		return err
	})
	if err := chromedp.Do(ctx, setup); err != nil {
		s.t.Fatalf("open a tab: %v", err)
	}
	closeCtx, closeCancel := context.WithTimeout(browser, browserStepTimeout)
	defer closeCancel()
	if _, err := chromedp.CallBrowser(closeCtx, target.CloseTarget, target.CloseTargetParams{TargetID: c.Target.TargetID}); err != nil {
		s.t.Fatalf("close the tab: %v", err)
	}
	return n
}

// convID is the conversation the tab shows (/chat/c/<id> and the like).
func (s *session) convID() int64 {
	s.t.Helper()
	p := s.location().Path
	id, err := strconv.ParseInt(p[strings.LastIndex(p, "/")+1:], 10, 64)
	if err != nil {
		s.t.Fatalf("no conversation in %s", p)
	}
	return id
}

// deskOnline waits until the desk's live queue is connected.
func (s *session) deskOnline() {
	s.t.Helper()
	s.waitJS("the desk's live queue connects", `document.querySelector("[data-chat-queue]").getAttribute("data-conn") === "online"`)
}

// queueRow is a JavaScript expression for the desk's row of a conversation.
func queueRow(id int64) string {
	return fmt.Sprintf(`document.querySelector('[data-chat-queue-rows] tr[data-conv="%d"]')`, id)
}

// TestBrowserChat runs the whole chat in the browser twice: on one portal
// with SQLite and the in-process broker, and in the production shape, where
// the resident (and the anonymous visitor) use one instance and the advisor
// another, so that every message, receipt, typing indicator and queue update
// crosses Redis, and every message is stored in the one PostgreSQL schema.
func TestBrowserChat(t *testing.T) {
	exe := chromiumPath(t)
	axeSource := readAxe(t)
	open := map[string]string{"PORTAL_CHAT_HOURS": alwaysOpen}
	t.Run("sqlite", func(t *testing.T) {
		p := startPortal(t, open)
		browserChat(t, exe, axeSource, p, p)
	})
	t.Run("postgres+redis, two instances", func(t *testing.T) {
		ps := startInstances(t, 2, open)
		browserChat(t, exe, axeSource, ps[0], ps[1])
	})
}

// browserChat is TestBrowserChat's steps, with the resident's and the
// visitor's browser on resPortal and the advisor's on advPortal.
func browserChat(t *testing.T, exe, axeSource string, resPortal, advPortal *testPortal) {
	start := time.Now()
	browser := startChromium(t, exe)
	adv := newSession(t, browser, advPortal.url)
	res := newSession(t, browser, resPortal.url)
	advHostile, resHostile := adv.watchHostile(), res.watchHostile()
	var conv, guestFirst int64
	var g *session // the anonymous visitor
	var gHostile func() []string
	top := t

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"no advisor available: no Chat link, and /chat says so", func(t *testing.T) {
			res.open("/")
			if n := res.count("header .header-link"); n != 0 {
				t.Errorf("the header offers Chat with no advisor available")
			}
			res.open("/chat")
			if got := res.text(".hds-notification"); !strings.Contains(got, "Kaikki neuvojat ovat juuri nyt varattuina.") ||
				strings.Contains(got, "avautuu seuraavan kerran") {
				t.Errorf("/chat within opening hours without advisors says %q", got)
			}
			if n := res.count(`form[action="/chat/start"]`); n != 0 {
				t.Error("/chat offers to start a chat with no advisor available")
			}
			for _, href := range []string{"/booking", "#chat-phones"} {
				if res.count(`.hds-notification a[href="`+href+`"]`) != 1 {
					t.Errorf("no alternative %s offered", href)
				}
			}
			res.expectClean("/chat, no advisors")
			res.screenshot("no-advisors")
			res.expectAccessible(axeSource, "/chat, no advisors")
		}},
		{"the advisor becomes available on the chat desk", func(t *testing.T) {
			adv.open("/chat/desk")
			adv.pickDemoUser("Minna Järvinen")
			if !adv.onPortal("/chat/desk") {
				t.Fatalf("after login at %s", adv.location())
			}
			adv.step("choose Paikalla", chromedp.Click(chromedp.CSS(`label[for="status-available"]`)))
			adv.follow("Tallenna", button(`//form[contains(@class, "chat-status")]`, "Tallenna"))
			if !eval[bool](adv, `document.getElementById("status-available").checked`) {
				t.Fatal("the status did not change to available")
			}
			adv.deskOnline()
			if got := adv.text("[data-chat-queue-rows]"); got != "Jonossa ei ole keskusteluja." {
				t.Errorf("queue %q, want it empty", got)
			}
			if n := adv.count(`header .header-link[href="/chat"]`); n != 0 {
				t.Error("staff are offered the residents' Chat link")
			}
			adv.expectClean("/chat/desk")
			eval[bool](adv, `(window.__sameDesk = true)`)
		}},
		{"the resident finds Chat in the header, logs in and starts a chat", func(t *testing.T) {
			// The header learns of a status change on its own instance at
			// once, and of one on another instance as soon as the queue
			// change arrives over Redis.
			deadline := time.Now()
			if resPortal != advPortal {
				deadline = deadline.Add(crossInstance)
			}
			for {
				res.open("/")
				got := eval[string](res, `document.querySelector("header .header-link")?.textContent.replace(/\s+/g, " ").trim() ?? ""`)
				if got == "Chat, neuvojat ovat paikalla" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("header chat link reads %q, want it shown while an advisor is available", got)
				}
				time.Sleep(250 * time.Millisecond)
			}
			res.follow("Chat in the header", "header a.header-link")
			if !res.onPortal("/chat") || res.count(`header a.header-link[aria-current="page"]`) != 1 {
				t.Fatalf("Chat led to %s", res.location())
			}
			res.follow("Kirjaudu ja aloita", link("//main", "Kirjaudu ja aloita"))
			res.pickDemoUser("Aino Asukas")
			if !res.onPortal("/chat") {
				t.Fatalf("after login at %s, want back on /chat", res.location())
			}
			res.expectClean("/chat, open")
			res.screenshot("chat-open")
			res.expectAccessible(axeSource, "/chat, open")
			res.step("choose the topic", chromedp.SetValue(chromedp.CSS("#topic"), "rent_debt"))
			if got := eval[string](res, `document.getElementById("lang").value`); got != "fi" {
				t.Errorf("chat language preset to %q, want the page's fi", got)
			}
			res.follow("Aloita chat", button("//main", "Aloita chat"))
			if !strings.HasPrefix(res.location().Path, "/chat/c/") {
				t.Fatalf("starting led to %s", res.location())
			}
			conv = res.convID()
			res.waitText("queue position", "[data-chat-status]", "Olet jonossa sijalla 1.")
			res.expectClean("conversation, queued")
			res.screenshot("queued")
			res.expectAccessible(axeSource, "conversation, queued")
		}},
		{"the waiting chat appears on the desk without a reload and is accepted", func(t *testing.T) {
			adv.waitJS("the new chat on the desk", queueRow(conv))
			if !eval[bool](adv, `window.__sameDesk === true`) {
				t.Error("the desk reloaded")
			}
			row := eval[[]string](adv, `[...`+queueRow(conv)+`.cells].map(c => c.textContent.trim())`)
			if want := []string{"Vuokravelka", "suomi", "Itä", "Tunnistettu asukas", "0 min", "Ota keskustelu"}; !slices.Equal(row, want) {
				t.Errorf("queue row %q, want %q", row, want)
			}
			// A screen reader hears of it: the desk's polite live region.
			adv.waitText("the arrival announced", `[data-chat-queue-live][aria-live="polite"]`, "Uusi keskustelu jonossa: Vuokravelka. Jonossa odottavia: 1.")
			adv.expectClean("/chat/desk with a waiting chat")
			adv.screenshot("desk-queue")
			// The advisor has the row focused when an anonymous visitor
			// starts a chat too: the update leaves the row, and the focus,
			// where they were.
			eval[bool](adv, `(r => { window.__queueRow = r; r.querySelector("button").focus(); return true; })(`+queueRow(conv)+`)`)
			g = newSession(top, browser, resPortal.url)
			g.t = t
			gHostile = g.watchHostile()
			g.open("/")
			g.follow("Chat in the header", "header a.header-link")
			if g.count(".chat-start__anon") != 1 {
				t.Error("the visitor is not told they may ask anonymously")
			}
			g.step("choose the topic", chromedp.SetValue(chromedp.CSS("#topic"), "general"), chromedp.SetValue(chromedp.CSS("#lang"), "sv"))
			g.follow("Aloita chat", button("//main", "Aloita chat"))
			guestFirst = g.convID()
			g.waitText("queue position behind the resident", "[data-chat-status]", "Olet jonossa sijalla 2.")
			adv.waitJS("the visitor's chat on the desk", queueRow(guestFirst))
			row = eval[[]string](adv, `[...`+queueRow(guestFirst)+`.cells].map(c => c.textContent.trim())`)
			if want := []string{"Muu asia", "ruotsi", "Mikä tahansa alue", "Tunnistamaton"}; !slices.Equal(row[:4], want) {
				t.Errorf("queue row %q, want it to start %q", row, want)
			}
			if got := eval[[]string](adv, `[...document.querySelectorAll("[data-chat-queue-rows] tr")].map(tr => tr.getAttribute("data-conv"))`); !slices.Equal(got, []string{strconv.FormatInt(conv, 10), strconv.FormatInt(guestFirst, 10)}) {
				t.Errorf("queue order %q, want the own region's chat first", got)
			}
			if !eval[bool](adv, queueRow(conv)+` === window.__queueRow && document.activeElement === window.__queueRow.querySelector("button")`) {
				t.Error("a queue update replaced the row, or took its focus")
			}
			adv.expectAccessible(axeSource, "/chat/desk with two waiting")
			adv.expectAccessible(axeSource, "/chat/desk with a waiting chat")
			adv.follow("Ota keskustelu", fmt.Sprintf(`//tr[@data-conv="%d"]//button`, conv))
			if !adv.onPortal(fmt.Sprintf("/chat/desk/c/%d", conv)) {
				t.Fatalf("accepting led to %s", adv.location())
			}
			if got := adv.text(".chat-facts"); !strings.Contains(got, "Aino Asukas") {
				t.Errorf("the advisor does not see who the resident is: %q", got)
			}
			res.waitText("the advisor's first name", "[data-chat-status]", "Neuvoja: Minna")
			g.waitText("the visitor moves up", "[data-chat-status]", "Olet jonossa sijalla 1.")
			res.waitJS("the joined event", hasMessage("system", "Minna liittyi keskusteluun."))
			if got := res.text("[data-chat-status]"); strings.Contains(got, "Järvinen") {
				t.Errorf("the resident sees the advisor's family name: %q", got)
			}
		}},
		{"messages both ways with typing and sent, delivered, read", func(t *testing.T) {
			res.recordMarks()
			const hello = "Hei! Minulla on vuokravelkaa."
			res.step("type", chromedp.SendKeys(chromedp.CSS("#chat-body"), hello))
			adv.waitText("the resident's typing", "[data-chat-typing]", "Aino Asukas kirjoittaa…")
			res.step("send", chromedp.Focus(chromedp.CSS("#chat-body")), enter)
			adv.waitJS("the resident's message", hasMessage("peer", hello))
			res.waitJS("read", ownMark(hello, "Luettu"))
			if got := res.marksOf(hello); !isSubsequence([]string{"Lähetetään…", "Lähetetty", "Toimitettu", "Luettu"}, got) {
				t.Errorf("the message's states were %q, want sending, sent, delivered, read in order", got)
			}
			if got := eval[string](res, `document.getElementById("chat-body").value`); got != "" {
				t.Errorf("the box still holds %q after sending", got)
			}

			adv.recordMarks()
			const reply = "Hei Aino, kerro lisää tilanteestasi."
			adv.step("type", chromedp.SendKeys(chromedp.CSS("#chat-body"), reply))
			res.waitText("the advisor's typing", "[data-chat-typing]", "Minna kirjoittaa…")
			adv.step("send", chromedp.Focus(chromedp.CSS("#chat-body")), enter)
			res.waitJS("the advisor's reply", hasMessage("peer", reply))
			adv.waitJS("read", ownMark(reply, "Luettu"))
			if got := adv.marksOf(reply); !isSubsequence([]string{"Lähetetään…", "Lähetetty", "Toimitettu", "Luettu"}, got) {
				t.Errorf("the reply's states were %q", got)
			}
			if got := res.text("[data-chat-typing]"); got != "" {
				t.Errorf("typing still shown after the message: %q", got)
			}
			ms := res.messages()
			if last := ms[len(ms)-1]; last.Who != "Minna" || last.Body != reply {
				t.Errorf("the resident sees the reply as %+v", last)
			}
			ms = adv.messages()
			if m := ms[len(ms)-2]; m.Who != "Aino Asukas" || m.Body != hello {
				t.Errorf("the advisor sees the resident's message as %+v", m)
			}

			// The advisor turns to another tab: a message is delivered,
			// but read only when she comes back.
			other, closeOther := chromedp.NewContext(adv.ctx, chromedp.WithNewWindow(false))
			defer closeOther()
			adv.step("open another tab", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error { return chromedp.Do(other) }))
			adv.waitJS("the desk tab in the background", `document.visibilityState === "hidden"`)
			const later = "Oletko vielä siellä?"
			res.say(later)
			res.waitJS("delivered", ownMark(later, "Toimitettu"))
			// The background tab has it (its title counts it unread) and still
			// does not report it read.
			adv.waitJS("the background tab counts it unread", `document.title.startsWith("(1) ")`)
			if !eval[bool](res, ownMark(later, "Toimitettu")) {
				t.Errorf("a message to a tab in the background shows %q, want delivered only", res.marksOf(later))
			}
			if got := eval[string](adv, "document.title"); !strings.HasPrefix(got, "(1) ") {
				t.Errorf("the background tab's title %q does not count the new message", got)
			}
			closeOther()
			adv.step("back to the chat", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.CallBrowser(ctx, target.ActivateTarget, target.ActivateTargetParams{TargetID: tg.TargetID})
				return err
			}))
			res.waitJS("read once the advisor is back", ownMark(later, "Luettu"))
			if got := eval[string](adv, "document.title"); strings.HasPrefix(got, "(") {
				t.Errorf("the title still counts unread messages: %q", got)
			}
			res.expectClean("conversation, active")
			adv.expectClean("desk conversation, active")
			res.screenshot("active")
			adv.screenshot("desk-active")
		}},
		{"markup and links in messages stay inert text on both sides", func(t *testing.T) {
			res.paste(xssPayload)
			adv.waitJS("the payload at the advisor", hasMessage("peer", xssPayload))
			adv.paste("Vastaus: " + xssPayload)
			res.waitJS("the payload at the resident", hasMessage("peer", "Vastaus: "+xssPayload))
			res.waitJS("read", ownMark(xssPayload, "Luettu"))
			// The advisor's page once more as the server renders it.
			adv.open(fmt.Sprintf("/chat/desk/c/%d", conv))
			adv.waitJS("the payload rendered", hasMessage("peer", xssPayload))
			for _, s := range []*session{res, adv} {
				for _, m := range s.messages() {
					if m.Tags != 0 {
						t.Errorf("a message body holds %d elements: %q", m.Tags, m.Body)
					}
				}
				if n := s.count("[data-chat-messages] img, [data-chat-messages] a, [data-chat-messages] b"); n != 0 {
					t.Errorf("%d elements injected into the transcript", n)
				}
			}
			// An image's error event fires once its load fails: a probe image
			// that fails after the transcript's would have run their onerror.
			for _, s := range []*session{res, adv} {
				eval[bool](s, `(() => { window.__probeFailed = false; const i = new Image(); i.onerror = () => { window.__probeFailed = true; }; i.src = "data:image/png;base64,AAAA"; return true; })()`)
				s.waitJS("a failing probe image's error event", `window.__probeFailed`)
			}
			for name, seen := range map[string][]string{"resident": resHostile(), "advisor": advHostile()} {
				for _, s := range seen {
					t.Errorf("%s's page: %s", name, s)
				}
			}
			res.expectClean("conversation with markup")
			adv.expectClean("desk conversation with markup")
		}},
		{"through a network drop: no reload, nothing lost, nothing twice", func(t *testing.T) {
			eval[bool](res, `(window.__samePage = true)`)
			before := res.messages()
			res.setOffline(true, true)
			res.waitText("the page says it is offline", "[data-chat-conn]", "Yhteys katkesi")
			meanwhile := []string{"Viesti katkon aikana 1", "Viesti katkon aikana 2", "Viesti katkon aikana 3"}
			for _, m := range meanwhile {
				adv.paste(m)
				adv.waitJS("stored: "+m, fmt.Sprintf(`[...document.querySelectorAll("[data-chat-messages] > li.chat-msg--own")].some(li =>
					li.querySelector(".chat-msg__body").textContent === %s && li.getAttribute("data-seq"))`, jsString(m)))
			}
			const offline = "Kirjoitin tämän yhteyden ollessa poikki."
			res.say(offline)
			res.screenshot("offline")
			if !eval[bool](res, ownMark(offline, "Lähetetään…")) {
				t.Errorf("a message written offline is not shown as being sent: %+v", res.messages())
			}
			if n := len(res.messages()) - len(before); n != 1 {
				t.Errorf("%d new messages while offline, want only the own one", n)
			}
			res.setOffline(false, true)
			caughtUp(t, res, adv, meanwhile, offline)
			res.waitJS("the connection note cleared", `document.querySelector("[data-chat-conn]").textContent === ""`)
			res.expectClean("conversation after the drop")
			adv.expectClean("desk conversation during the drop")
		}},
		{"closing the tab and coming back brings the conversation back", func(t *testing.T) {
			before := res.messages()
			res = res.reopen(browser, top)
			resHostile = res.watchHostile()
			res.captureSockets() // for the next drop
			res.open("/chat")
			if !res.onPortal(fmt.Sprintf("/chat/c/%d", conv)) {
				t.Fatalf("/chat in a new tab led to %s, want the open conversation", res.location())
			}
			res.waitText("the advisor", "[data-chat-status]", "Neuvoja: Minna")
			after := res.messages()
			if len(after) != len(before) {
				t.Fatalf("%d messages after coming back, %d before", len(after), len(before))
			}
			for i := range after {
				if a, b := after[i], before[i]; a.Seq != b.Seq || a.Body != b.Body || a.Class != b.Class {
					t.Errorf("message %d: %+v after coming back, %+v before", i, a, b)
				}
			}
			if !eval[bool](res, ownMark("Kirjoitin tämän yhteyden ollessa poikki.", "Luettu")) {
				t.Error("one's own messages lost their read state")
			}
			res.say("Palasin takaisin.")
			adv.waitJS("the message from the new tab", hasMessage("peer", "Palasin takaisin."))
			adv.say("Hyvä, jatketaan.")
			res.waitJS("the reply in the new tab", hasMessage("peer", "Hyvä, jatketaan."))
			checkTranscript(t, "resident", res.messages())
			res.expectClean("conversation in a new tab")
			res.expectAccessible(axeSource, "conversation, active")
			adv.expectClean("desk conversation")
			adv.expectAccessible(axeSource, "desk conversation, active")
		}},
		{"through a drop the browser does not notice: back-off, resume, exactly once", func(t *testing.T) {
			eval[bool](res, `(window.__samePage = true)`)
			res.setOffline(true, false)
			// The connection dies under the page, as behind a failing
			// proxy; reconnecting fails until the network returns.
			eval[bool](res, `(window.__sockets.forEach(ws => ws.close()), true)`)
			res.waitText("the page says it is offline", "[data-chat-conn]", "Yhteys katkesi")
			meanwhile := []string{"Toinen katko 1", "Toinen katko 2"}
			for _, m := range meanwhile {
				adv.paste(m)
			}
			const typed = "Kirjoitin tämänkin katkon aikana."
			res.say(typed)
			adv.waitJS("the advisor's messages stored", fmt.Sprintf(`[...document.querySelectorAll("[data-chat-messages] > li.chat-msg--own[data-seq]")].filter(li =>
				[%s, %s].includes(li.querySelector(".chat-msg__body").textContent)).length === 2`, jsString(meanwhile[0]), jsString(meanwhile[1])))
			// The page keeps trying while offline: wait for another attempt.
			before := eval[int](res, `window.__sockets.length`)
			res.waitJS("reconnect attempts while offline", fmt.Sprintf(`window.__sockets.length >= %d`, before+1))
			res.setOffline(false, false)
			caughtUp(t, res, adv, meanwhile, typed)
			res.expectCleanBut("conversation after a silent drop", func(text string) bool {
				return strings.Contains(text, "WebSocket connection to") && strings.Contains(text, "ERR_INTERNET_DISCONNECTED")
			})
		}},
		{"the advisor closes with an outcome; the transcript stays in Oma asiointi", func(t *testing.T) {
			n := len(res.messages())
			adv.step("choose the outcome", chromedp.Click(chromedp.CSS(`label[for="outcome-appointment_booked"]`)))
			adv.follow("Päätä keskustelu", button("//main", "Päätä keskustelu"))
			if !adv.onPortal("/chat/desk") || !strings.Contains(adv.text(".notice-area"), "Keskustelu päätettiin.") {
				t.Errorf("closing led to %s (%q)", adv.location(), adv.text(".notice-area"))
			}
			res.waitJS("the closing", hasMessage("system", "Neuvoja päätti keskustelun."))
			res.waitText("the state", "[data-chat-status]", "Keskustelu on päättynyt.")
			if eval[bool](res, `!document.querySelector("[data-chat-form]").hidden || !document.querySelector(".chat__end").hidden`) {
				t.Error("a closed chat still offers to write or end")
			}
			if eval[bool](res, `document.querySelector("[data-chat-after]").hidden`) {
				t.Error("a closed chat offers no way on")
			}
			res.expectClean("conversation, closed")
			res.screenshot("closed")
			adv.open(fmt.Sprintf("/chat/desk/c/%d", conv))
			if got := adv.text(".chat-facts"); !strings.Contains(got, "Päättynyt · Aika varattu") {
				t.Errorf("the closed chat's facts on the desk: %q", got)
			}
			adv.expectClean("desk conversation, closed")
			adv.open("/chat/desk")
			res.follow("Oma asiointi", link(`//nav[contains(@class, "main-nav")]`, "Oma asiointi"))
			if res.count(`header .header-link[href="/chat"]`) != 1 {
				t.Error("Oma asiointi does not offer Chat while advisors are online")
			}
			href := fmt.Sprintf("/chat/transcripts/%d", conv)
			if got := res.text(`main a[href="` + href + `"]`); !strings.Contains(got, "Vuokravelka") || !strings.Contains(got, "Päättynyt") {
				t.Fatalf("Oma asiointi lists the chat as %q", got)
			}
			res.follow("the transcript", `main a[href="`+href+`"]`)
			if got := res.text("h1"); got != "Chat-keskustelun tallenne" {
				t.Errorf("transcript heading %q", got)
			}
			ms := res.messages()
			if len(ms) != n+1 {
				t.Errorf("the transcript has %d messages, the chat had %d and the closing", len(ms), n)
			}
			if !slices.Contains(bodies(ms, "own"), xssPayload) || !slices.Contains(bodies(ms, "peer"), "Hyvä, jatketaan.") {
				t.Errorf("the transcript lacks messages: %+v", ms)
			}
			if n := res.count("[data-chat-messages] img, [data-chat-messages] a, #chat-body"); n != 0 {
				t.Errorf("the transcript has %d injected elements or a message box", n)
			}
			// The transcript is what the database holds, whichever
			// instance stored each message.
			checkStored(t, advPortal, conv, ms)
			res.expectClean("transcript")
			res.screenshot("transcript")
			res.expectAccessible(axeSource, "transcript")
		}},
		{"an anonymous visitor chats for general advice; the advisor sees unidentified", func(t *testing.T) {
			adv.deskOnline()
			eval[bool](adv, `(window.__sameDesk = true)`)
			first := guestFirst
			adv.waitJS("the visitor's chat still waiting", queueRow(first))
			// Leaving the queue empties the desk's queue, live.
			g.follow("Lopeta keskustelu", button("//main", "Lopeta keskustelu"))
			adv.waitJS("the queue empties", `!`+queueRow(first)+` && document.querySelector("[data-chat-queue-rows]").textContent.includes("Jonossa ei ole keskusteluja.")`)
			g.follow("Aloita uusi chat", link("//main", "Aloita uusi chat"))
			g.step("choose the topic", chromedp.SetValue(chromedp.CSS("#topic"), "general"))
			g.follow("Aloita chat", button("//main", "Aloita chat"))
			conv := g.convID()
			if conv == first {
				t.Fatal("a new chat reopened the ended one")
			}
			adv.waitJS("the visitor's new chat", queueRow(conv))
			if !eval[bool](adv, `window.__sameDesk === true`) {
				t.Error("the desk reloaded")
			}
			adv.follow("Ota keskustelu", fmt.Sprintf(`//tr[@data-conv="%d"]//button`, conv))
			if got := adv.text(".chat-facts dd"); got != "Tunnistamaton" {
				t.Errorf("the advisor sees the visitor as %q", got)
			}
			if adv.count(`a[href$="/resident"]`) != 0 {
				t.Error("the advisor is offered the page of an unidentified visitor")
			}
			g.waitText("the advisor", "[data-chat-status]", "Neuvoja: Minna")
			g.say("Mistä saan apua vuokravelkaan?")
			adv.waitJS("the visitor's message", hasMessage("peer", "Mistä saan apua vuokravelkaan?"))
			if ms := adv.messages(); ms[len(ms)-1].Who != "Tunnistamaton" {
				t.Errorf("the visitor's message is signed %q", ms[len(ms)-1].Who)
			}
			adv.say("Voit varata ajan tai soittaa.")
			g.waitJS("the reply", hasMessage("peer", "Voit varata ajan tai soittaa."))
			g.expectClean("visitor's conversation")
			g.expectAccessible(axeSource, "visitor's conversation")
			adv.expectClean("desk conversation, unidentified")
			adv.expectAccessible(axeSource, "desk conversation, unidentified")
			for _, s := range gHostile() {
				t.Errorf("visitor's page: %s", s)
			}
		}},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			// The sessions report to the step that uses them.
			adv.t, res.t = t, t
			if g != nil {
				g.t = t
			}
			st.fn(t)
		})
		if !ok {
			t.Fatalf("stopped after %q failed", st.name)
		}
	}
	t.Logf("chat in the browser: %s", time.Since(start).Round(100*time.Millisecond))
}

// TestBrowserChatClosed: outside the opening hours /chat says when it
// opens and what to do meanwhile, and no page offers Chat.
func TestBrowserChatClosed(t *testing.T) {
	exe := chromiumPath(t)
	axeSource := readAxe(t)
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	// Open only on the day after tomorrow: closed now whatever the time.
	day := time.Now().In(helsinki).AddDate(0, 0, 2)
	p := startPortal(t, map[string]string{"PORTAL_CHAT_HOURS": day.Format("Mon") + " 09:00-15:00"})
	s := newSession(t, startChromium(t, exe), p.url)

	s.open("/")
	if n := s.count("header .header-link"); n != 0 {
		t.Error("the header offers Chat outside the opening hours")
	}
	s.open("/chat")
	opens := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, helsinki)
	got := s.text(".hds-notification")
	for _, want := range []string{"Chat on nyt suljettu.", "Chat avautuu seuraavan kerran " + opens.Format("2.1.2006 klo 15.04") + ".",
		"Varaa aika", "Alueiden puhelinnumerot"} {
		if !strings.Contains(got, want) {
			t.Errorf("/chat outside the hours lacks %q: %q", want, got)
		}
	}
	if n := s.count(`form[action="/chat/start"]`); n != 0 {
		t.Error("/chat offers to start a chat outside the opening hours")
	}
	// Chat hours and phone hours are apart: the phone numbers have a table
	// of their own, with the phone service's hours.
	if got := s.text(".chat-hours tbody tr"); !strings.Contains(got, "Länsi") || strings.Contains(got, "09 310") {
		t.Errorf("the chat hours' first row %q: want the region, without a phone number", got)
	}
	if got := s.text(".chat-phones tbody tr"); !strings.Contains(got, "Länsi") || !strings.Contains(got, "09 310") || !strings.Contains(got, "ma–pe 9–15") {
		t.Errorf("the phone table's first row %q lacks the region, its number or its phone hours", got)
	}
	s.step("Alueiden puhelinnumerot", chromedp.Click(link("//main", "Alueiden puhelinnumerot")))
	if u := s.location(); u.Path != "/chat" || u.Fragment != "chat-phones" {
		t.Errorf("the phone alternative led to %s", u)
	}
	s.expectClean("/chat, closed")
	s.screenshot("closed-hours")
	s.expectAccessible(axeSource, "/chat, closed")

	// The chat's administration, where such hours are set.
	s.open("/chat/admin")
	s.pickDemoUser("Pirjo Pääkäyttäjä")
	if !s.onPortal("/chat/admin") {
		t.Fatalf("after login at %s", s.location())
	}
	s.step("write a canned reply", chromedp.SetValue(chromedp.CSS("#lang"), "fi"),
		chromedp.SetValue(chromedp.CSS("#title"), "Tervehdys"), chromedp.SetValue(chromedp.CSS("#body"), "Hei, miten voin auttaa?"))
	s.follow("Tallenna", button(`//form[.//legend[normalize-space()="Uusi valmis vastaus"]]`, "Tallenna"))
	if got := s.text(".notice-area"); got == "" || s.count(`input[value="Tervehdys"]`) != 1 {
		t.Errorf("saving a canned reply: notice %q, reply listed %d times", got, s.count(`input[value="Tervehdys"]`))
	}
	// An advisor's chat capacity: out of range it comes back with its
	// error, which axe checks too; in range it is kept.
	outi := `//main//tr[th[normalize-space()="Outi Rantanen"]]`
	s.step("type a capacity out of range", chromedp.SetValue(outi+`//input[@name="capacity"]`, "21"))
	ctx, cancel := context.WithTimeout(s.ctx, browserStepTimeout)
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(button(outi, "Tallenna")))
	cancel()
	if err != nil || resp.Status != 422 {
		t.Fatalf("saving a capacity out of range: %v, want a 422 page (%v)", resp, err)
	}
	if got := s.text(".chat-admin-capacity .hds-text-input__error-text"); !strings.Contains(got, "Anna kokonaisluku 1–20") {
		t.Errorf("a capacity out of range: error %q", got)
	}
	s.expectCleanBut("/chat/admin, a capacity out of range", func(text string) bool { return strings.Contains(text, "status of 422") })
	s.expectAccessible(axeSource, "/chat/admin, a capacity out of range")
	s.step("type a capacity", chromedp.SetValue(outi+`//input[@name="capacity"]`, "5"))
	s.follow("Tallenna", button(outi, "Tallenna"))
	if n := s.count(`.chat-admin-capacity input[name="capacity"][value="5"]`); n != 1 {
		t.Errorf("saving a capacity of 5: shown %d times", n)
	}
	s.expectClean("/chat/admin")
	s.expectAccessible(axeSource, "/chat/admin")
	s.screenshot("admin")
}

// checkTranscript fails the test unless the messages on a page are each
// there once, in sequence.
func checkTranscript(t *testing.T, who string, ms []chatMsg) {
	t.Helper()
	last := 0
	for _, m := range ms {
		if m.Seq == 0 {
			t.Errorf("%s: a message without a sequence number: %+v", who, m)
			continue
		}
		if m.Seq <= last {
			t.Errorf("%s: message %d shown after %d: %+v", who, m.Seq, last, m)
		}
		last = m.Seq
	}
}

// checkStored fails the test unless the conversation's text messages in
// p's database are exactly those of ms, a transcript as the resident sees
// it: each once, under the sequence number shown.
func checkStored(t *testing.T, p *testPortal, conv int64, ms []chatMsg) {
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
	var stored, shown []string
	for _, r := range rows {
		stored = append(stored, fmt.Sprintf("%d %s: %s", r.Seq, r.SenderRole, r.Body))
	}
	for _, m := range ms {
		switch m.Class {
		case "own":
			shown = append(shown, fmt.Sprintf("%d resident: %s", m.Seq, m.Body))
		case "peer":
			shown = append(shown, fmt.Sprintf("%d advisor: %s", m.Seq, m.Body))
		}
	}
	if !slices.Equal(stored, shown) {
		t.Errorf("the database holds the messages\n\t%s\nthe transcript shows\n\t%s",
			strings.Join(stored, "\n\t"), strings.Join(shown, "\n\t"))
	}
}

// isSubsequence reports whether want appears in got in order, perhaps with
// repeats and other states between.
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// caughtUp checks a resident's page after a network drop: the advisor's
// messages sent meanwhile arrived last and in order, the message the
// resident wrote during the drop was stored and read once, both
// transcripts are whole, and the page was never reloaded.
func caughtUp(t *testing.T, res, adv *session, meanwhile []string, own string) {
	t.Helper()
	for _, m := range meanwhile {
		res.waitJS("after the drop: "+m, hasMessage("peer", m))
	}
	res.waitJS("the message written during the drop stored", ownMark(own, "Luettu"))
	adv.waitJS("the message written during the drop at the advisor", hasMessage("peer", own))
	if !eval[bool](res, `window.__samePage === true`) {
		t.Error("the page was reloaded")
	}
	checkTranscript(t, "resident", res.messages())
	checkTranscript(t, "advisor", adv.messages())
	got := bodies(res.messages(), "peer")
	if tail := got[len(got)-len(meanwhile):]; !slices.Equal(tail, meanwhile) {
		t.Errorf("the advisor's messages after the drop arrived as %q, want %q", tail, meanwhile)
	}
	if n := countOf(bodies(adv.messages(), "peer"), own); n != 1 {
		t.Errorf("the advisor has the message written during the drop %d times", n)
	}
}
