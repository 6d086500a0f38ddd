package frontend

import "github.com/gofiber/fiber/v2"

// Section is one feature's block on a shared page such as "Oma asiointi"
// (the resident's own page) or the advisor's desk. Template names a
// template (for example "chat/my-section") rendered with the section as
// its dot; Data is whatever that template needs. Features build sections
// and main wires them to the page, so features need not know each other.
type Section struct {
	TitleKey string // translation key of the section heading
	Template string
	Data     any
	Lang     string // filled in by the page before rendering
}

// SectionFunc builds a feature's section for the request's user.
type SectionFunc func(c *fiber.Ctx) (Section, error)

// CollectSections builds the sections of fns for the request, in order.
func CollectSections(c *fiber.Ctx, fns []SectionFunc) ([]Section, error) {
	out := make([]Section, 0, len(fns))
	lang := Lang(c)
	for _, fn := range fns {
		s, err := fn(c)
		if err != nil {
			return nil, err
		}
		s.Lang = lang
		out = append(out, s)
	}
	return out, nil
}

// Link is one entry of the ready-made section template
// "partials/section-links": a URL and its label, either already translated
// (Label) or a translation key (LabelKey).
type Link struct {
	URL      string
	Label    string
	LabelKey string
}
