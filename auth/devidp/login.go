package devidp

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed web/*.html web/devidp.css
var webFiles embed.FS

// pages holds every page template; parsing at package load means a broken
// template stops the program before any request.
var pages = template.Must(template.ParseFS(webFiles, "web/*.html"))

// pageTitle is the title of the picker page; the other pages name themselves.
const pageTitle = "Kehitystunnistus / Development login — valitse demokäyttäjä / choose a demo user"

// maxFormBytes caps the picker form: three short fields.
const maxFormBytes = 16 << 10

// The picker's own pages are not under the portal's CSP, so they carry their
// own: no scripts, the stylesheet from this origin only, no framing (the
// picker's buttons must not be clickjacked). form-action is left open because
// browsers apply it to the redirect chain after the post, which ends at the
// client's redirect URI on another origin.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// page is what every page template reads.
type page struct {
	Title    string
	StyleURL string
}

type pickerPage struct {
	page
	Action    string
	ClientID  string
	RequestID string
	CSRF      string
	Groups    []userGroup
}

type messagePage struct {
	page
	Heading, HeadingEN string
	Text, TextEN       string
}

// userGroup is one section of the picker: residents, the advisors of one
// region, or admins.
type userGroup struct {
	Heading, HeadingEN string
	Users              []User
}

// regions lists the region codes in the order the picker shows them, with the
// Finnish and English names.
var regions = []struct{ code, fi, en string }{
	{"west", "Länsi", "West"},
	{"north", "Pohjoinen", "North"},
	{"south", "Etelä", "South"},
	{"east", "Itä", "East"},
}

// groupUsers sorts the demo users into the picker's sections, keeping the
// configured order within each. Advisors of a region the list above does not
// know come after the known regions, under their code.
func groupUsers(users []User) []userGroup {
	var groups []userGroup
	add := func(heading, headingEN string, keep func(User) bool) {
		var members []User
		for _, u := range users {
			if keep(u) {
				members = append(members, u)
			}
		}
		if len(members) > 0 {
			groups = append(groups, userGroup{Heading: heading, HeadingEN: headingEN, Users: members})
		}
	}

	add("Asukkaat", "Residents", func(u User) bool { return u.Role == RoleResident })

	var known []string
	for _, r := range regions {
		known = append(known, r.code)
		add("Asumisneuvojat, "+r.fi, "Advisors, "+r.en, func(u User) bool {
			return u.Role == RoleAdvisor && u.Region == r.code
		})
	}
	var other []string
	for _, u := range users {
		if u.Role == RoleAdvisor && !slices.Contains(known, u.Region) && !slices.Contains(other, u.Region) {
			other = append(other, u.Region)
		}
	}
	for _, code := range other {
		heading, headingEN := "Asumisneuvojat, "+code, "Advisors, "+code
		if code == "" {
			heading, headingEN = "Asumisneuvojat, ei aluetta", "Advisors, no region"
		}
		add(heading, headingEN, func(u User) bool { return u.Role == RoleAdvisor && u.Region == code })
	}

	add("Ylläpitäjät", "Administrators", func(u User) bool { return u.Role == RoleAdmin })
	return groups
}

// showPicker offers every demo user for a pending auth request and sets the
// cookie half of the form's CSRF token.
func (p *Provider) showPicker(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	clientID, csrf, err := p.storage.pendingLogin(id)
	if err != nil {
		p.renderProblem(w, http.StatusBadRequest, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookieName(id),
		Value:    csrf,
		Path:     p.cookiePath,
		MaxAge:   int(authRequestLifetime.Seconds()),
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteStrictMode,
	})
	p.render(w, http.StatusOK, "picker.html", pickerPage{
		page:      p.page(pageTitle),
		Action:    p.issuer + loginPath,
		ClientID:  clientID,
		RequestID: id,
		CSRF:      csrf,
		Groups:    p.groups,
	})
}

// pickUser completes the auth request as the chosen user and hands it back to
// the op package's callback, which issues the code and redirects to the client.
func (p *Provider) pickUser(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.renderProblem(w, http.StatusBadRequest, err)
		return
	}
	id := r.PostForm.Get("id")
	cookieToken := ""
	if c, err := r.Cookie(csrfCookieName(id)); err == nil {
		cookieToken = c.Value
	}
	err := p.storage.completeLogin(id, r.PostForm.Get("csrf"), cookieToken, r.PostForm.Get("user"))
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errBadCSRF) {
			status = http.StatusForbidden
		}
		p.renderProblem(w, status, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookieName(id),
		Path:     p.cookiePath,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteStrictMode,
	})
	callback := op.AuthCallbackURL(p.op)(op.ContextWithIssuer(r.Context(), p.issuer), id)
	http.Redirect(w, r, callback, http.StatusSeeOther)
}

// showLoggedOut is the end of a logout that named no registered return address.
func (p *Provider) showLoggedOut(w http.ResponseWriter, _ *http.Request) {
	p.render(w, http.StatusOK, "message.html", messagePage{
		page:      p.page("Kirjauduttu ulos / Logged out — Kehitystunnistus / Development login"),
		Heading:   "Olet kirjautunut ulos",
		HeadingEN: "You are logged out",
		Text:      "Olet kirjautunut ulos kehitystunnistuksesta. Voit sulkea tämän sivun.",
		TextEN:    "You have logged out of the development login. You can close this page.",
	})
}

// renderProblem shows a generic, translated explanation; the error itself is
// for the log only.
func (p *Provider) renderProblem(w http.ResponseWriter, status int, err error) {
	msg := messagePage{
		page:      p.page("Kirjautuminen ei onnistunut / Login failed — Kehitystunnistus / Development login"),
		Heading:   "Kirjautuminen ei onnistunut",
		HeadingEN: "Login failed",
		Text:      "Kirjautumispyyntö on vanhentunut tai sitä ei tunneta. Aloita kirjautuminen uudelleen palvelusta.",
		TextEN:    "The login request has expired or is unknown. Start logging in again from the service.",
	}
	switch {
	case errors.Is(err, errBadCSRF):
		msg.Text = "Lomaketta ei voitu varmentaa. Aloita kirjautuminen uudelleen palvelusta."
		msg.TextEN = "The form could not be verified. Start logging in again from the service."
	case errors.Is(err, errUnknownUser):
		msg.Text = "Valittua demokäyttäjää ei ole. Palaa edelliselle sivulle ja valitse toinen."
		msg.TextEN = "The chosen demo user does not exist. Go back and choose another."
	}
	slog.Info("devidp: login refused", slog.Int("status", status), slog.Any("error", err))
	p.render(w, status, "message.html", msg)
}

func (p *Provider) page(title string) page {
	return page{Title: title, StyleURL: p.issuer + stylePath}
}

// render executes a template into a buffer first, so a failure can still be
// answered with a clean 500 instead of half a page.
func (p *Provider) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		slog.Error("devidp: render page", slog.String("template", name), slog.Any("error", err))
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if _, err := buf.WriteTo(w); err != nil {
		slog.Debug("devidp: write page", slog.String("template", name), slog.Any("error", err))
	}
}

func serveStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, webFiles, "web/devidp.css")
}

// csrfCookieName names the cookie per auth request, so logins started in two
// tabs do not overwrite each other's token.
func csrfCookieName(requestID string) string {
	return "devidp_login_" + requestID
}
