// Package home serves the front page, which explains the service and its
// channels, and the resident's own page "Oma asiointi", which gathers what
// each feature holds for them.
package home

import (
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Pages serves the front page and "Oma asiointi".
type Pages struct {
	fe       *frontend.Frontend
	regions  *regions.Store
	sections []frontend.SectionFunc
}

// New returns the pages.
func New(fe *frontend.Frontend, rs *regions.Store) *Pages {
	return &Pages{fe: fe, regions: rs}
}

// AddMySection adds a feature's block to "Oma asiointi", in call order.
func (p *Pages) AddMySection(fn frontend.SectionFunc) { p.sections = append(p.sections, fn) }

// Register mounts the pages.
func (p *Pages) Register(r fiber.Router) {
	r.Get("/", p.front)
	r.Get("/my", auth.RequireLogin(), p.my)
	// Information pages linked from the footer.
	for path, page := range infoPages {
		r.Get(path, p.info(page))
	}
}

// InfoSection is a heading, its paragraphs and links, all translation keys.
type InfoSection struct {
	TitleKey   string
	Paragraphs []string
	Links      []InfoLink
}

// InfoLink is a link to a service outside the portal. Both its text and
// its address are translations, so each language links its own page.
type InfoLink struct {
	TextKey, URLKey string
}

// withLinks adds links to a section.
func (s InfoSection) withLinks(links ...InfoLink) InfoSection {
	s.Links = links
	return s
}

var (
	feedbackLink  = InfoLink{"info.links.feedback", "info.links.feedback_url"}
	authorityLink = InfoLink{"info.links.authority", "info.links.authority_url"}
)

// InfoData is the Data of pages/info.
type InfoData struct {
	Intro    string
	Sections []InfoSection
}

type infoPage struct {
	title string
	data  InfoData
}

func section(prefix, name string, paragraphs ...string) InfoSection {
	keys := make([]string, len(paragraphs))
	for i, p := range paragraphs {
		keys[i] = prefix + p
	}
	return InfoSection{TitleKey: prefix + name + "_title", Paragraphs: keys}
}

var infoPages = map[string]infoPage{
	"/accessibility": {"info.accessibility.title", InfoData{Intro: "info.accessibility.intro", Sections: []InfoSection{
		section("info.accessibility.", "status", "status_text", "testing_text"),
		section("info.accessibility.", "feedback", "feedback_text").withLinks(feedbackLink),
		section("info.accessibility.", "authority", "authority_text").withLinks(authorityLink),
	}}},
	"/privacy": {"info.privacy.title", InfoData{Intro: "info.privacy.intro", Sections: []InfoSection{
		section("info.privacy.", "what", "what_text"),
		section("info.privacy.", "basis", "basis_text"),
		section("info.privacy.", "who", "who_text"),
		section("info.privacy.", "retention", "retention_text"),
		section("info.privacy.", "rights", "rights_text"),
		section("info.privacy.", "cookies", "cookies_text"),
	}}},
	"/feedback": {"info.feedback.title", InfoData{Intro: "info.feedback.intro", Sections: []InfoSection{
		section("info.feedback.", "how", "how_text").withLinks(feedbackLink),
		section("info.feedback.", "urgent", "urgent_text"),
	}}},
}

func (p *Pages) info(page infoPage) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return p.fe.Render(c, fiber.StatusOK, "pages/info", frontend.Page{TitleKey: page.title, Data: page.data})
	}
}

// RegionPhone is a region's name and phone number as the front page lists them.
type RegionPhone struct {
	Name  string
	Hours string // when the phone service answers, "" if not set
	Phone string
}

// FrontData is the Data of pages/home.
type FrontData struct {
	Regions   []RegionPhone
	LoggedOut bool
}

func (p *Pages) front(c *fiber.Ctx) error {
	loggedOut := c.Query("logged_out") != ""
	page := frontend.Page{TitleKey: "home.title"}
	if loggedOut {
		page.Notice = "notice.logged_out"
	}
	return p.fe.RenderShared(c, "pages/home", page, func(lang string) (any, error) {
		rs, err := p.regions.List(c.UserContext())
		if err != nil {
			return nil, err
		}
		data := FrontData{LoggedOut: loggedOut}
		for _, r := range rs {
			data.Regions = append(data.Regions, RegionPhone{Name: r.Name(lang), Phone: r.Phone, Hours: r.PhoneHours(lang)})
		}
		return data, nil
	})
}

// MyData is the Data of pages/my.
type MyData struct {
	Sections []frontend.Section
}

func (p *Pages) my(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	if u.Role.Staff() {
		return c.Redirect("/desk", fiber.StatusSeeOther)
	}
	data, err := frontend.CollectSections(c, p.sections)
	if err != nil {
		return err
	}
	return p.fe.Render(c, fiber.StatusOK, "pages/my", frontend.Page{TitleKey: "my.title", Data: MyData{Sections: data}})
}
