package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// keyboard is a tab used with the keyboard alone: every step is a key
// sent through DevTools' Input.dispatchKeyEvent, as a keyboard sends it
// (no mouse event, no script clicking), and after each key that moves the
// focus the focused element must be visible and show that it has focus.
type keyboard struct {
	*bookingTab
	presses int             // keys sent, for the log
	walked  int             // pages walked through
	flagged map[string]bool // elements already reported, so one defect fails once
}

// newKeyboard drives the tab b with the keyboard.
func newKeyboard(t *testing.T, b *bookingTab) *keyboard {
	t.Helper()
	return &keyboard{bookingTab: b, flagged: map[string]bool{}}
}

// focusState is the focused element as the page sees it.
type focusState struct {
	None      bool   `json:"none"`      // nothing but the body has focus: it has left the page's controls
	Key       string `json:"key"`       // the element's place in the document, to recognise it again
	Name      string `json:"name"`      // its name: label, aria-label or text
	Desc      string `json:"desc"`      // tag, id and classes, for messages
	Checked   bool   `json:"checked"`   // a radio button or checkbox is checked
	Value     string `json:"value"`     // a field's value; a select's chosen option's text
	Footer    bool   `json:"footer"`    // it is in the page's footer
	Why       string `json:"why"`       // why it is not visible, "" when it is
	Indicator string `json:"indicator"` // what shows the focus, "" when nothing does
	Match     bool   `json:"match"`     // the caller's predicate holds
	Moving    bool   `json:"moving"`    // a transition is still running on it
}

// focusJS is a function of a predicate on an element: it describes
// document.activeElement. An HDS radio button or checkbox keeps its
// input out of sight and draws both the box and the focus ring on the
// label, so for those the label is what must show.
const focusJS = `(match => {
	const el = document.activeElement;
	if (!el || el === document.body || el === document.documentElement) { return {none: true}; }
	// (A visually hidden part of a name, set apart, gets spaces around it in innerText.)
	const norm = s => (s || "").replace(/\s+/g, " ").replace(/ ([,.])/g, "$1").trim();
	const desc = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + [...e.classList].map(c => "." + c).join("");
	const name = (() => {
		const label = el.getAttribute("aria-label");
		if (label) { return norm(label); }
		const by = el.getAttribute("aria-labelledby");
		if (by) { return norm(by.split(/\s+/).map(id => (document.getElementById(id) || {}).textContent || "").join(" ")); }
		if (el.labels && el.labels.length) { return norm([...el.labels].map(l => l.innerText).join(" ")).replace(/\s*\*$/, ""); }
		if (el instanceof HTMLInputElement) { return norm(el.value || el.title); }
		return norm(el.innerText);
	})();
	const parts = [];
	// (Counting siblings, since a form's own properties, children among
	// them, give way to its fields' names.)
	for (let e = el; e.parentElement; e = e.parentElement) {
		let i = 0;
		for (let s = e.previousElementSibling; s; s = s.previousElementSibling) { i++; }
		parts.push(e.tagName + i);
	}
	const shown = el.matches(".hds-radio-button__input, .hds-checkbox__input") && el.labels && el.labels[0] ? el.labels[0] : el;
	const clear = c => c === "transparent" || /^rgba\(.*,\s*0\)$/.test(c);
	const ring = cs => {
		if (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 1 && !clear(cs.outlineColor)) {
			return "outline " + cs.outlineWidth + " " + cs.outlineStyle + " " + cs.outlineColor;
		}
		// Each shadow is "color x y blur spread": a ring has a colour and
		// a blur or spread of at least a pixel.
		for (const shadow of cs.boxShadow === "none" ? [] : cs.boxShadow.split(/,(?![^(]*\))/)) {
			const color = (shadow.match(/rgba?\([^)]*\)/) || ["transparent"])[0];
			const px = (shadow.replace(color, "").match(/-?[0-9.]+px/g) || []).map(parseFloat);
			if (!clear(color) && Math.max(px[2] || 0, px[3] || 0) >= 1) { return "box-shadow " + shadow.trim(); }
		}
		return "";
	};
	let indicator = ring(getComputedStyle(el));
	if (!indicator && shown !== el) {
		indicator = ring(getComputedStyle(shown, "::before")) || ring(getComputedStyle(shown, "::after")) || ring(getComputedStyle(shown));
	}
	let why = "";
	const box = shown.getClientRects()[0];
	if (!box || box.width < 1 || box.height < 1) {
		why = "it has no size";
	} else if (getComputedStyle(shown).visibility === "hidden") {
		why = "it is hidden";
	} else if (box.bottom <= 0 || box.top >= innerHeight || box.right <= 0 || box.left >= innerWidth) {
		why = "it is outside the window (" + Math.round(box.left) + "," + Math.round(box.top) + " in " + innerWidth + "×" + innerHeight + ")";
	} else {
		const x = Math.min(Math.max((box.left + box.right) / 2, 0), innerWidth - 1);
		const y = Math.min(Math.max((box.top + box.bottom) / 2, 0), innerHeight - 1);
		const hit = document.elementFromPoint(x, y);
		if (hit && !el.contains(hit) && !shown.contains(hit)) { why = "it is covered by " + desc(hit); }
	}
	let value = "";
	if (el instanceof HTMLSelectElement) { value = el.selectedIndex >= 0 ? norm(el.options[el.selectedIndex].text) : ""; }
	else if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) { value = el.value; }
	// A ring that fades in is judged when it has.
	const moving = [el, shown].some(e => e.getAnimations({subtree: true}).some(a => a.playState === "running"));
	return {
		key: parts.reverse().join("/"), name, desc: desc(el), moving,
		checked: !!el.checked, value,
		footer: !!el.closest("footer"), why, indicator, match: !!match(el, name),
	};
})`

// focusWait bounds how long the focused element may take to come into
// view and show its focus: HDS fades some rings in over 85 ms.
const focusWait = time.Second

// focus describes the focused element; pred is a JavaScript expression of
// el and its name, reported as Match.
func (k *keyboard) focus(pred string) focusState {
	k.t.Helper()
	if pred == "" {
		pred = "false"
	}
	return eval[focusState](k.session, focusJS+"((el, name) => "+pred+")")
}

// checkFocus fails the test when the focused element cannot be seen or
// shows no focus, after waiting a moment for a ring that fades in.
func (k *keyboard) checkFocus(pred string) focusState {
	k.t.Helper()
	f := k.focus(pred)
	for deadline := time.Now().Add(focusWait); !f.None && (f.Why != "" || f.Indicator == "") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		f = k.focus(pred)
	}
	if f.None || (f.Why == "" && f.Indicator != "") || k.flagged[f.Key] {
		return f
	}
	k.flagged[f.Key] = true // one failure for each element of a page
	where := k.where()
	if f.Why != "" {
		k.t.Errorf("%s: the focused %s %q cannot be seen: %s", where, f.Desc, f.Name, f.Why)
	}
	if f.Indicator == "" {
		k.t.Errorf("%s: the focused %s %q shows no focus (no outline, no box-shadow; still changing: %v)", where, f.Desc, f.Name, f.Moving)
	}
	return f
}

// expectFocusCheckWorks plants, on the page just loaded, what the focus
// check must catch: a link whose focus ring is taken away, and a link
// covered by another element. If the check does not see them, it proves
// nothing. The page must be loaded again after.
func (k *keyboard) expectFocusCheckWorks() {
	k.t.Helper()
	eval[bool](k.session, `(() => {
		document.querySelector(".universal-bar a").style.setProperty("outline", "none", "important");
		const cover = document.createElement("div");
		cover.style.cssText = "position: absolute; z-index: 1000; background: white";
		const r = document.querySelector(".action-bar__title").getBoundingClientRect();
		Object.assign(cover.style, {left: r.left + scrollX + "px", top: r.top + scrollY + "px", width: r.width + "px", height: r.height + "px"});
		document.body.appendChild(cover);
		return true;
	})()`)
	k.press(kb.Tab) // the skip link
	k.press(kb.Tab)
	if f := k.focus(""); f.Name != "Helsingin kaupunki" || f.Indicator != "" {
		k.t.Errorf("a link without a focus ring: the check sees %s %q with %q", f.Desc, f.Name, f.Indicator)
	}
	k.press(kb.Tab)
	if f := k.focus(""); !strings.HasPrefix(f.Why, "it is covered by div") {
		k.t.Errorf("a covered link: the check sees %s %q as %q", f.Desc, f.Name, f.Why)
	}
}

// where names the page for messages.
func (k *keyboard) where() string {
	k.t.Helper()
	u := k.location()
	return u.Host + u.Path
}

// press sends keys to whatever has the focus, with modifiers.
func (k *keyboard) press(keys string, mods ...chromedp.Modifier) {
	k.t.Helper()
	k.presses += len([]rune(keys))
	k.step(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys, chromedp.KeyModifiers(mods...)))
}

// tab presses Tab (Shift-Tab when back) and checks the focus it lands on.
func (k *keyboard) tab(back bool, pred string) focusState {
	k.t.Helper()
	if back {
		k.press(kb.Tab, chromedp.ModifierShift)
	} else {
		k.press(kb.Tab)
	}
	return k.checkFocus(pred)
}

// maxTabs bounds the Tab presses to reach one control.
const maxTabs = 150

// tabToWhere presses Tab until the focused element satisfies pred (a
// JavaScript expression of el and name), failing when it is not reached
// within maxTabs presses or the focus has gone round the whole page: what
// a keyboard cannot reach, a keyboard user cannot use.
func (k *keyboard) tabToWhere(what, pred string) focusState {
	k.t.Helper()
	var stops []string
	first, prev := "", ""
	for range maxTabs {
		f := k.tab(false, pred)
		if f.Match {
			return f
		}
		if f.None {
			stops, prev = append(stops, "(out of the page)"), ""
			continue
		}
		if f.Key == prev {
			continue // the next part of a date field
		}
		stops, prev = append(stops, f.Name), f.Key
		if first == "" {
			first = f.Key
		} else if f.Key == first {
			break // once round the page
		}
	}
	k.screenshot("unreachable " + what)
	k.t.Fatalf("%s: %s cannot be reached with Tab; the focus went through %q", k.where(), what, stops)
	return focusState{}
}

// tabTo presses Tab until the focused element's name is label.
func (k *keyboard) tabTo(label string) focusState {
	k.t.Helper()
	return k.tabToWhere(fmt.Sprintf("%q", label), "name === "+jsString(label))
}

// typeKeys types text into the focused field key by key.
func (k *keyboard) typeKeys(text string) {
	k.t.Helper()
	k.press(text)
	if got := k.focus("").Value; !strings.HasSuffix(got, text) {
		k.t.Fatalf("%s: typed %q, the field holds %q", k.where(), text, got)
	}
}

// fill tabs to the field labelled label and types text into it.
func (k *keyboard) fill(label, text string) {
	k.t.Helper()
	k.tabTo(label)
	k.typeKeys(text)
}

// chooseRadio tabs into the radio group name and moves with the arrow
// keys to the button labelled label, which the arrows check.
func (k *keyboard) chooseRadio(group, label string) {
	k.t.Helper()
	f := k.tabToWhere("the radio group "+group, `el.type === "radio" && el.name === `+jsString(group))
	for seen := map[string]bool{}; f.Name != label; {
		if seen[f.Key] {
			k.t.Fatalf("%s: the radio group %s has no %q", k.where(), group, label)
		}
		seen[f.Key] = true
		k.press(kb.ArrowDown)
		f = k.checkFocus("")
	}
	if !f.Checked {
		k.press(" ")
		if f = k.focus(""); !f.Checked {
			k.t.Fatalf("%s: Space did not check %q", k.where(), label)
		}
	}
}

// chooseOption tabs to the select labelled label and moves with the arrow
// keys to the first option whose text starts with option.
func (k *keyboard) chooseOption(label, option string) {
	k.t.Helper()
	f := k.tabTo(label)
	for seen := map[string]bool{}; !strings.HasPrefix(f.Value, option); {
		if seen[f.Value] {
			k.t.Fatalf("%s: the list %q has no %q", k.where(), label, option)
		}
		seen[f.Value] = true
		k.press(kb.ArrowDown)
		f = k.checkFocus("")
	}
}

// activate presses Enter on the focused link or button, which must lead to
// a page answering 200.
func (k *keyboard) activate(what string) {
	k.t.Helper()
	k.presses++
	k.submit(what, chromedp.KeyEvent(kb.Enter), http.StatusOK)
}

// enterOn tabs to the link or button labelled label and presses Enter.
func (k *keyboard) enterOn(label string) {
	k.t.Helper()
	k.tabTo(label)
	k.activate(label)
}

// maxStops bounds the focus stops of one page for walk.
const maxStops = 400

// walk tabs through the whole page from its top to its end, where the
// focus leaves the page after the footer's last link, and then with
// Shift-Tab back to the top through the same stops in reverse: no control
// holds the focus (no trap), in either direction. The page must have just
// loaded, with nothing focused.
func (k *keyboard) walk() {
	k.t.Helper()
	where := k.where()
	if f := k.focus(""); !f.None {
		k.t.Fatalf("%s: walk from the top, but %s %q has the focus", where, f.Desc, f.Name)
	}
	var stops []focusState
	seen := map[string]bool{}
	for {
		f := k.tab(false, "")
		if f.None {
			break
		}
		if len(stops) == maxStops {
			k.t.Fatalf("%s: after %d Tab presses the focus has not left the page", where, maxStops)
		}
		// A date field takes a Tab for each of its parts.
		if last := len(stops) - 1; last >= 0 && stops[last].Key == f.Key {
			continue
		}
		if seen[f.Key] {
			k.t.Fatalf("%s: a focus trap: Tab came back to %s %q after %q", where, f.Desc, f.Name, names(stops))
		}
		seen[f.Key] = true
		stops = append(stops, f)
	}
	if len(stops) == 0 {
		k.t.Fatalf("%s: nothing on the page takes the focus", where)
	}
	if first := stops[0]; first.Desc != "a.skip-link" {
		k.t.Errorf("%s: the first Tab goes to %s %q, want the skip link", where, first.Desc, first.Name)
	}
	if last := stops[len(stops)-1]; !last.Footer {
		k.t.Errorf("%s: the focus leaves the page after %s %q, not after the footer", where, last.Desc, last.Name)
	}
	for i := len(stops) - 1; i >= 0; i-- {
		f := k.tab(true, "")
		for !f.None && i+1 < len(stops) && f.Key == stops[i+1].Key {
			f = k.tab(true, "") // the other parts of a date field
		}
		if f.Key != stops[i].Key {
			k.t.Fatalf("%s: Shift-Tab from the end reached %s %q at stop %d, want %s %q; forward the stops were %q",
				where, f.Desc, f.Name, i, stops[i].Desc, stops[i].Name, names(stops))
		}
	}
	// Once more leaves the page at the top: the focus is where it began.
	if f := k.tab(true, ""); !f.None && f.Key != stops[len(stops)-1].Key {
		k.t.Errorf("%s: Shift-Tab from the skip link went to %s %q", where, f.Desc, f.Name)
	}
	k.walked++
	k.t.Logf("%s: %d focus stops, there and back", where, len(stops))
}

func names(fs []focusState) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// loginAs picks a demo user on the development provider's page, which the
// tab must be showing, with Tab and Enter.
func (k *keyboard) loginAs(user string) {
	k.t.Helper()
	if k.location().Host == k.base.Host || !strings.Contains(k.text("h1"), "Kehitystunnistus") {
		k.t.Fatalf("expected the development provider's picker, got %s (%q)", k.location(), k.text("h1"))
	}
	k.tabToWhere("the demo user "+user, `(u => !!u && u.textContent.trim() === `+jsString(user)+`)(el.querySelector(".user-name"))`)
	k.activate("log in as " + user)
}

// keyboardPortal is the portal of TestJourneyKeyboard: PostgreSQL and
// Redis, the chat always open, and no minimum fill time for the contact
// form (a person typing takes long enough anyway).
func keyboardPortal(t *testing.T) *testPortal {
	t.Helper()
	return startPortal(t, map[string]string{
		"PORTAL_DATABASE_URL": dbtest.PostgresSchemaURL(t), "PORTAL_REDIS_URL": dbtest.RedisURL(t), "PORTAL_SESSION_STORE": "redis",
		"PORTAL_CHAT_HOURS": alwaysOpen, "PORTAL_CONTACT_MIN_FILL": "1ms",
		// Reruns within a minute, and other tests, come from the same address.
		"PORTAL_FORM_RATE_LIMIT": "1000", "PORTAL_LOGIN_RATE_LIMIT": "1000",
	})
}

// TestJourneyKeyboard: journey 1 (a neighbour's contact request about
// Veikko, who has never logged in, to a case and a home visit that he
// finds after his first login) and the chat journey once more with the
// keyboard alone: every step is Tab, Shift-Tab, Enter, Space, an arrow key
// or typing, sent as key events; no mouse, no script clicking. After every
// key the focused element must be in view, uncovered, and show a focus
// ring; every control the journey uses must be reachable with Tab; on the
// pages walked through, Tab goes from the skip link to the footer's last
// link and out, and Shift-Tab comes back the same way (no focus trap). In
// the chat, each side's new message is announced to the other: the text of
// the other page's aria-live transcript changes.
func TestJourneyKeyboard(t *testing.T) {
	exe := chromiumPath(t)
	p := keyboardPortal(t)

	t.Run("contact request to a home visit", func(t *testing.T) {
		start := time.Now()
		browser := startChromium(t, exe)

		// Niilo, a neighbour, not logged in, from the front page.
		niilo := newKeyboard(t, newBookingTab(t, browser, p, ""))
		niilo.open("/")
		niilo.expectFocusCheckWorks()
		niilo.open("/")
		niilo.walk()
		niilo.enterOn("Jätä yhteydenottopyyntö")
		if !niilo.onPortal("/contact") {
			t.Fatalf("the contact card led to %s", niilo.location())
		}
		niilo.walk()
		niilo.chooseRadio("who", "naapuri")
		niilo.fill("Nimesi", "Niilo Naapuri")
		niilo.chooseRadio("concern", "Vuokravelka")
		niilo.fill("Kerro tilanteesta", "Veikolla on häätö ensi viikolla.")
		niilo.fill("Asukkaan nimi", "Veikko Ilmanen")
		niilo.fill("Katuosoite", "Kontulantie 1 A 2")
		niilo.fill("Postinumero", "00940")
		niilo.chooseRadio("person_knows", "Ei")
		niilo.fill("Puhelinnumerosi", "040 765 4321")
		niilo.enterOn("Lähetä pyyntö")
		if !niilo.onPortal("/contact/sent") {
			t.Fatalf("sending led to %s: %.300q", niilo.location(), niilo.text("main"))
		}
		ref := niilo.text(".contact-ref__code")
		niilo.checkLight("contact request sent")
		niilo.walk()

		// Minna, the advisor, opens it, records Veikko and opens a case.
		minna := newKeyboard(t, newBookingTab(t, browser, p, ""))
		minna.open("/desk/contact")
		minna.loginAs("Minna Järvinen")
		if !minna.onPortal("/desk/contact") {
			t.Fatalf("after login at %s", minna.location())
		}
		minna.walk()
		minna.enterOn(ref)
		minna.checkLight("contact request")
		minna.walk()
		minna.enterOn("Avaa asiakkuus")
		if !minna.onPortal("/desk/cases/new") {
			t.Fatalf("the request's case link led to %s", minna.location())
		}
		minna.walk()
		if f := minna.tabTo("Nimi"); f.Value != "Veikko Ilmanen" {
			t.Errorf("the request did not fill in the name: %q", f.Value)
		}
		minna.fill("Henkilötunnus", "110758-901S")
		minna.enterOn("Kirjaa asiakas")
		if got := minna.text("#resident"); !strings.Contains(got, "Veikko Ilmanen") {
			t.Fatalf("the recorded client is shown as %q", got)
		}
		minna.checkLight("client recorded")
		minna.walk()
		minna.enterOn("Avaa asiakkuus")
		if got := minna.text("h1"); got != "Asiakkuus: Veikko Ilmanen" {
			t.Fatalf("case heading %q", got)
		}
		minna.checkLight("case")
		minna.walk()

		// From the desk, she books him a home visit.
		minna.enterOn("Työpöytä")
		minna.walk()
		minna.enterOn("Varaa aika asukkaan puolesta")
		minna.walk()
		minna.fill("Asukkaan nimi tai sähköposti", "Veikko")
		minna.activate("search with Enter in the field")
		minna.enterOn("Veikko Ilmanen")
		minna.walk()
		minna.chooseOption("Asia", "Vuokravelka")
		minna.chooseOption("Tapaamistapa", "Kotikäynti")
		minna.chooseOption("Neuvoja", "Minna Järvinen")
		minna.enterOn("Näytä vapaat ajat")
		minna.checkLight("free home visit times")
		minna.walk()
		slot := minna.tabToWhere("the first free time", `el.type === "radio" && el.name === "slot"`)
		minna.press(" ")
		if !minna.focus("").Checked {
			t.Fatalf("Space did not choose the time %q", slot.Name)
		}
		minna.fill("Käyntiosoite", "Kontulantie 1 A 2, 00940 Helsinki")
		minna.enterOn("Vahvista varaus")
		if got := minna.detail("Asukas") + " / " + minna.detail("Tapaamistapa"); !strings.HasPrefix(got, "Veikko Ilmanen / Kotikäynti") {
			t.Errorf("the home visit booked for Veikko shows %q", got)
		}
		minna.checkLight("home visit booked")
		minna.walk()

		// Veikko logs in for the first time and finds both.
		veikko := newKeyboard(t, newBookingTab(t, browser, p, ""))
		veikko.open("/my/case")
		veikko.loginAs("Veikko Ilmanen")
		if !veikko.onPortal("/my/case") {
			t.Fatalf("after login at %s", veikko.location())
		}
		if got := veikko.text("main"); !strings.Contains(got, "Minna Järvinen") {
			t.Errorf("Veikko's case page lacks his advisor: %.300q", got)
		}
		veikko.checkLight("Veikko's case")
		veikko.walk()
		veikko.enterOn("Oma asiointi")
		if got := veikko.text("main"); !strings.Contains(got, "Kotikäynti") {
			t.Errorf("Veikko's own page does not show the home visit: %.300q", got)
		}
		veikko.checkLight("Veikko's own page")
		veikko.walk()
		t.Logf("by keyboard: %d keys, %d pages walked, in %s", niilo.presses+minna.presses+veikko.presses,
			niilo.walked+minna.walked+veikko.walked, time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("chat", func(t *testing.T) {
		start := time.Now()
		browser := startChromium(t, exe)

		// Minna opens the chat desk and becomes available.
		minna := newKeyboard(t, newBookingTab(t, browser, p, ""))
		minna.open("/chat/desk")
		minna.loginAs("Minna Järvinen")
		if !minna.onPortal("/chat/desk") {
			t.Fatalf("after login at %s", minna.location())
		}
		minna.walk()
		minna.chooseRadio("status", "Paikalla")
		minna.enterOn("Tallenna")
		minna.deskOnline()
		minna.checkLight("chat desk")

		// Aino finds Chat in the header, logs in and starts a chat.
		aino := newKeyboard(t, newBookingTab(t, browser, p, ""))
		aino.open("/")
		aino.enterOn("Chat, neuvojat ovat paikalla")
		aino.walk()
		aino.enterOn("Kirjaudu ja aloita")
		aino.loginAs("Aino Asukas")
		if !aino.onPortal("/chat") {
			t.Fatalf("after login at %s", aino.location())
		}
		aino.walk()
		aino.chooseOption("Aihe", "Vuokravelka")
		aino.enterOn("Aloita chat")
		conv := aino.convID()
		aino.waitText("queue position", "[data-chat-status]", "Olet jonossa sijalla 1.")
		aino.checkLight("chat, queued")

		// The chat appears on Minna's desk, live; she takes it.
		minna.waitJS("the chat on the desk", queueRow(conv))
		minna.tabToWhere("the chat's Ota keskustelu", fmt.Sprintf(`name === "Ota keskustelu" && !!el.closest('tr[data-conv="%d"]')`, conv))
		minna.activate("Ota keskustelu")
		if !minna.onPortal(fmt.Sprintf("/chat/desk/c/%d", conv)) {
			t.Fatalf("taking the chat led to %s", minna.location())
		}
		aino.waitText("the advisor", "[data-chat-status]", "Neuvoja: Minna")
		minna.checkLight("desk conversation")
		minna.walk()
		aino.walk()

		// Each writes with the keyboard; the other's page announces it.
		minna.tabTo("Viesti")
		for _, m := range []struct {
			from, to *keyboard
			text     string
		}{
			{aino, minna, "Hei! Minulla on vuokravelkaa."},
			{minna, aino, "Hei Aino, kerro lisää."},
			{aino, minna, "Vuokra on kaksi kuukautta myöhässä."},
			{minna, aino, "Tehdään maksusuunnitelma."},
		} {
			if f := m.from.focus(""); f.Name != "Viesti" {
				m.from.tabTo("Viesti")
			}
			m.to.watchLive()
			m.from.typeKeys(m.text)
			m.from.step("send with Enter", enter)
			m.to.waitJS("the message on the other side", hasMessage("peer", m.text))
			m.to.expectAnnounced(m.text)
			if f := m.from.checkFocus(""); f.Name != "Viesti" || f.Value != "" {
				t.Errorf("after sending, the focus is on %s %q holding %q; want the empty message box", f.Desc, f.Name, f.Value)
			}
		}
		aino.checkLight("conversation")
		minna.checkLight("desk conversation with messages")
		t.Logf("chat by keyboard: %d keys, %d pages walked, in %s", aino.presses+minna.presses,
			aino.walked+minna.walked, time.Since(start).Round(100*time.Millisecond))
	})
}

// liveRegions are the page's regions that assistive technology reads out
// when their content changes.
const liveRegions = `[...document.querySelectorAll('[aria-live]:not([aria-live="off"]), [role="log"], [role="status"], [role="alert"]')]`

// watchLive notes the text of each live region of the page, before
// something happens that must be announced.
func (k *keyboard) watchLive() {
	k.t.Helper()
	if n := eval[int](k.session, `(window.__live = `+liveRegions+`.map(r => ({r, text: r.textContent}))).length`); n == 0 {
		k.t.Errorf("%s: the page has no live region", k.where())
	}
}

// expectAnnounced fails unless text has come into a live region that was
// on the page at watchLive, without it before: a screen reader reads it
// out.
func (k *keyboard) expectAnnounced(text string) {
	k.t.Helper()
	if !eval[bool](k.session, `window.__live.some(({r, text}) => r.isConnected && !r.closest("[hidden], [aria-hidden=true]") &&
		!text.includes(`+jsString(text)+`) && r.textContent.includes(`+jsString(text)+`))`) {
		k.t.Errorf("%s: %q was not announced: no live region's text took it in (live regions: %q)", k.where(), text,
			eval[[]string](k.session, liveRegions+`.map(r => r.outerHTML.slice(0, 120))`))
	}
}
