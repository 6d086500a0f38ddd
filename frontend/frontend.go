// Package frontend is the portal's presentation layer: the hel.fi look built
// from the Helsinki Design System, the page layout with header and footer, the
// shared form partials, translations in Finnish, Swedish and English, the
// static assets under content-hashed URLs and the security headers. Templates,
// translations and assets are embedded in the binary.
//
// Features render through one Frontend:
//
//	f.Render(c, fiber.StatusOK, "pages/home", frontend.Page{TitleKey: "home.title", Data: data})
//
// Every template is parsed and every translation checked in New, so a broken
// template or a missing translation stops the start, not a request.
package frontend

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

//go:embed templates locales assets
var embedded embed.FS

// Viewer is the signed-in person a page is rendered for.
type Viewer struct {
	Name string
	Role auth.Role
}

// Options configures New.
type Options struct {
	// Secure is true when the public URL is https: cookies get the Secure
	// flag and responses an HSTS header. It is the portal's one cookie rule.
	Secure bool
	// Viewer returns the signed-in person of the request; nil means anonymous.
	Viewer func(c *fiber.Ctx) *Viewer
	// CSRFToken returns the token forms post back in the _csrf field.
	CSRFToken func(c *fiber.Ctx) string
	// FormActionOrigins are extra origins for the CSP form-action directive,
	// such as the OpenID provider that logout redirects to.
	FormActionOrigins []string
	// Logger receives template and translation problems; nil means slog.Default().
	Logger *slog.Logger
	// Location is the time zone dates are shown in (PORTAL_TIME_ZONE); required.
	Location *time.Location
	// Unavailable reports whether an error is a dependency being away (the
	// database restarting): the error handler answers 503, "try again in a
	// moment", instead of 500. nil: none is.
	Unavailable func(error) bool
}

// Frontend renders pages, translates and serves the static assets. It is safe
// for concurrent use once New has returned.
type Frontend struct {
	opts    Options
	log     *slog.Logger
	loc     *time.Location
	now     func() time.Time
	engine  *html.Engine
	catalog *catalog
	assets  *assetSet
	logos   map[string]template.HTML
	header  headerLinks
	shared  sharedPages
}

// Page is what a handler hands to Render.
type Page struct {
	// TitleKey is the translation key of the page title (<title> and usually the h1).
	TitleKey string
	// Data is the page's own data, reachable as .Data in the template.
	Data any
	// Form holds submitted values and validation errors; nil means an empty form.
	Form *Form
	// Notice is the translation key of a success notification shown above
	// the content. When empty, the notice a handler set with Flash before
	// redirecting here is shown (never text from the URL).
	Notice string
}

// View is the value every template executes with; its methods T, DateTime
// and Date are callable from templates ($.T inside range and with).
type View struct {
	Lang      string     // "fi", "sv" or "en"; also <html lang>
	Viewer    *Viewer    // nil when anonymous
	CSRF      string     // for the hidden _csrf field of every POST form
	Path      string     // the request path, for aria-current and form actions
	Title     string     // the translated Page.TitleKey
	Data      any        // Page.Data
	Form      *Form      // Page.Form, never nil
	Notice    string     // Page.Notice, a translation key
	LangLinks []LangLink // this page in each language
	Nav       []NavItem  // the main navigation for the viewer's role
	Year      int        // for the copyright line
	// HeaderLinks are the links features added to the header
	// (AddHeaderLink) that this page shows.
	HeaderLinks []HeaderLinkView
	// Content is the rendered page inside layouts/base.
	Content template.HTML

	f *Frontend
}

// NavItem is one link of the main navigation.
type NavItem struct {
	Key     string // translation key of the label
	URL     string
	Current bool
}

// Location is the time zone dates are shown in.
func (f *Frontend) Location() *time.Location { return f.loc }

// New loads the translations, checks that every message exists in Finnish,
// Swedish and English and that every key the templates name exists, hashes
// the assets and parses every template.
func New(opts Options) (*Frontend, error) {
	f := &Frontend{opts: opts, log: opts.Logger, loc: opts.Location, now: time.Now}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.loc == nil {
		return nil, fmt.Errorf("frontend: Options.Location is required (the time zone dates are shown in)")
	}
	if err := checkOrigins(opts.FormActionOrigins); err != nil {
		return nil, err
	}

	locales, err := fs.Sub(embedded, "locales")
	if err != nil {
		return nil, fmt.Errorf("frontend: locales: %w", err)
	}
	if f.catalog, err = loadCatalog(locales); err != nil {
		return nil, err
	}
	if err := f.catalog.require(requiredKeys()...); err != nil {
		return nil, err
	}

	assets, err := fs.Sub(embedded, "assets")
	if err != nil {
		return nil, fmt.Errorf("frontend: assets: %w", err)
	}
	if f.assets, err = loadAssets(assets); err != nil {
		return nil, err
	}
	if f.logos, err = loadLogos(assets); err != nil {
		return nil, err
	}

	templates, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, fmt.Errorf("frontend: templates: %w", err)
	}
	if err := f.checkTemplateKeys(templates); err != nil {
		return nil, err
	}
	f.engine = html.NewFileSystem(http.FS(templates), ".html")
	f.engine.AddFuncMap(f.funcs())
	if err := f.engine.Load(); err != nil {
		return nil, fmt.Errorf("frontend: parse templates: %w", err)
	}
	if f.engine.Templates.Lookup(baseLayout) == nil {
		return nil, fmt.Errorf("frontend: template %s is missing", baseLayout)
	}
	return f, nil
}

const baseLayout = "layouts/base"

// Views returns the template engine for fiber.Config{Views: f.Views()}, for
// handlers that render a fragment with c.Render(name, data) and no layout.
// Whole pages go through Render, which builds the View and adds the layout:
// layouts/base expects a *View and takes the page from View.Content.
func (f *Frontend) Views() fiber.Views {
	return f.engine
}

// funcs are the template functions besides the View methods.
func (f *Frontend) funcs() template.FuncMap {
	return template.FuncMap{
		// asset "portal.css" → /assets/<hash>/portal.css
		"asset": f.assets.url,
		// logo "sv" → the Helsinki logo of that language as inline SVG.
		"logo": func(lang string) template.HTML {
			if l, ok := f.logos[lang]; ok {
				return l
			}
			return f.logos[DefaultLang]
		},
		// dict "V" $ "Name" "email" builds the argument of a partial.
		"dict": dict,
		// list "a" "b" is a []string, for a partial's Values.
		"list": func(v ...string) []string { return v },
		// tel "09 310 12345" → tel:0931012345 (html/template blocks tel: URLs it did not vet).
		"tel": telURL,
		// tr .Lang "key" "Name" .Name translates where the dot is not a View,
		// as in a Section's template.
		"tr": func(lang, id string, args ...any) string {
			return (&View{Lang: lang, f: f}).T(id, args...)
		},
		// section . renders a Section's own template with the section as its dot.
		"section": f.renderSection,
	}
}

// renderSection executes a Section's template for pages/my and pages/desk.
func (f *Frontend) renderSection(s Section) (template.HTML, error) {
	t := f.engine.Templates.Lookup(s.Template)
	if t == nil {
		return "", fmt.Errorf("section template %q does not exist", s.Template)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, s); err != nil {
		return "", fmt.Errorf("section %s: %w", s.Template, err)
	}
	return template.HTML(buf.String()), nil //nolint:gosec // produced by html/template above
}

// telURL builds a tel: link of a phone number, keeping only its digits and a
// leading plus, so nothing else can reach the URL.
func telURL(phone string) template.URL {
	var b strings.Builder
	b.WriteString("tel:")
	for i, r := range strings.TrimSpace(phone) {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return template.URL(b.String()) //nolint:gosec // digits and '+' only
}

// dict turns key-value pairs into a map, for passing several values to a partial.
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
}

// Render executes the template name inside layouts/base and writes it with
// status. The response is marked no-store: pages carry personal data.
func (f *Frontend) Render(c *fiber.Ctx, status int, name string, p Page) error {
	if p.Notice == "" {
		p.Notice = f.TakeFlash(c)
	}
	v := f.view(c, p)
	body, err := f.execute(name, v)
	if err != nil {
		return err
	}
	return f.send(c, status, v, body)
}

// send answers with a rendered page.
func (f *Frontend) send(c *fiber.Ctx, status int, v *View, body []byte) error {
	c.Status(status)
	c.Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentLanguage, v.Lang)
	return c.Send(body)
}

// execute renders the page and then the layout around it. The templates are
// executed directly rather than through the engine's layout mechanism, which
// rebinds a shared template function and so serialises every render.
func (f *Frontend) execute(name string, v *View) ([]byte, error) {
	page := f.engine.Templates.Lookup(name)
	if page == nil {
		return nil, fmt.Errorf("frontend: render %s: no such template", name)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("frontend: render %s: %w", name, err)
	}
	v.Content = template.HTML(buf.String()) //nolint:gosec // produced by html/template above
	buf.Reset()
	if err := f.engine.Templates.Lookup(baseLayout).Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("frontend: render %s in %s: %w", name, baseLayout, err)
	}
	return buf.Bytes(), nil
}

func (f *Frontend) view(c *fiber.Ctx, p Page) *View {
	lang := Lang(c)
	v := &View{
		Lang:      lang,
		Path:      safePath(c.Path()),
		Data:      p.Data,
		Form:      p.Form,
		Notice:    p.Notice,
		LangLinks: langLinks(c, lang),
		Year:      f.now().In(f.loc).Year(),
		f:         f,
	}
	if v.Form == nil {
		v.Form = NewForm()
	}
	if p.TitleKey != "" {
		v.Title = f.T(lang, p.TitleKey)
	}
	if f.opts.Viewer != nil {
		v.Viewer = f.opts.Viewer(c)
	}
	if f.opts.CSRFToken != nil {
		v.CSRF = f.opts.CSRFToken(c)
	}
	v.Nav = navFor(v.Viewer, v.Path)
	v.HeaderLinks = f.headerLinksFor(c, v.Path)
	return v
}

// navFor lists the main navigation a viewer of that role sees.
func navFor(viewer *Viewer, path string) []NavItem {
	items := []NavItem{{Key: "nav.home", URL: "/"}}
	if viewer == nil {
		// Anonymous visitors see where help is: booking asks them to log
		// in, the chat takes them as guests, Oma asiointi asks for a login.
		items = append(items,
			NavItem{Key: "nav.booking", URL: "/booking"},
			NavItem{Key: "nav.chat", URL: "/chat"},
			NavItem{Key: "nav.my", URL: "/my"})
	}
	if viewer != nil {
		switch viewer.Role {
		case auth.RoleResident:
			items = append(items, NavItem{Key: "nav.my", URL: "/my"},
				NavItem{Key: "nav.booking", URL: "/booking"},
				NavItem{Key: "nav.chat", URL: "/chat"})
		case auth.RoleAdvisor:
			items = append(items, NavItem{Key: "nav.desk", URL: "/desk"})
		case auth.RoleAdmin:
			items = append(items,
				NavItem{Key: "nav.desk", URL: "/desk"},
				NavItem{Key: "nav.staff", URL: "/admin/staff"},
				NavItem{Key: "nav.access_log", URL: "/admin/access-log"})
		}
	}
	for i := range items {
		u := items[i].URL
		items[i].Current = path == u || (u != "/" && strings.HasPrefix(path, u+"/"))
	}
	return items
}

// T translates id into the view's language; args are key-value pairs for the
// message's placeholders ({{.T "x" "Name" .Name}}) or a single map.
func (v *View) T(id string, args ...any) string {
	if len(args) == 1 {
		if m, ok := args[0].(map[string]any); ok {
			return v.f.T(v.Lang, id, m)
		}
	}
	var data map[string]any
	for i := 0; i+1 < len(args); i += 2 {
		k, ok := args[i].(string)
		if !ok {
			continue
		}
		if data == nil {
			data = make(map[string]any, len(args)/2)
		}
		data[k] = args[i+1]
	}
	if data == nil {
		return v.f.T(v.Lang, id)
	}
	return v.f.T(v.Lang, id, data)
}

// DateTime formats t as a local date and time in the view's language.
func (v *View) DateTime(t time.Time) string { return v.f.DateTime(v.Lang, t) }

// DateTime formats t as a local date and time in lang, for text made
// outside a page (a PDF, a mail).
func (f *Frontend) DateTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(f.loc)
	switch lang {
	case "en":
		return t.Format("2 Jan 2006, 15:04")
	case "sv":
		return t.Format("2.1.2006 kl. 15.04")
	default:
		return t.Format("2.1.2006 klo 15.04")
	}
}

// Date formats t as a local date in the view's language.
func (v *View) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(v.f.loc)
	if v.Lang == "en" {
		return t.Format("2 Jan 2006")
	}
	return t.Format("2.1.2006")
}

// templateKey finds translation keys named literally in templates:
// .T "key", $.T "key" and tr .Lang "key".
var templateKey = regexp.MustCompile(`(?:\bT|\btr\s+[^"\s]+)\s+"([^"]+)"`)

// checkTemplateKeys makes a typo in a template's translation key a start-up
// error rather than a raw key on a page.
func (f *Frontend) checkTemplateKeys(templates fs.FS) error {
	var keys []string
	err := fs.WalkDir(templates, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, err := fs.ReadFile(templates, path)
		if err != nil {
			return err
		}
		for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("frontend: read templates: %w", err)
	}
	return f.catalog.require(keys...)
}

// requiredKeys are the translation keys the Go code uses.
func requiredKeys() []string {
	keys := []string{"nav.home", "nav.my", "nav.desk", "nav.access_log",
		"role.resident", "role.advisor", "role.admin", "service.name"}
	for _, s := range errorStatuses {
		keys = append(keys, errorTitleKey(s), errorBodyKey(s))
	}
	return keys
}

// safePath keeps a request path usable as a same-site link: a path starting
// with // or /\ would be read by browsers as another host.
func safePath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`) {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return p
}

// sortedKeys returns the keys of a set in order, for stable error messages.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
