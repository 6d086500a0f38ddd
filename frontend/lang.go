package frontend

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/text/language"
)

// DefaultLang is the language of a visitor who has not chosen one and whose
// browser asks for none of the supported ones.
const DefaultLang = "fi"

// supportedLanguages are the portal's languages, default first.
var supportedLanguages = [...]string{"fi", "sv", "en"}

// SupportedLanguages returns the portal's language codes, default first.
func SupportedLanguages() []string {
	return append([]string(nil), supportedLanguages[:]...)
}

// languageNames are the selector's labels, each in its own language.
var languageNames = map[string]string{"fi": "Suomi", "sv": "Svenska", "en": "English"}

var languageMatcher = language.NewMatcher([]language.Tag{language.Finnish, language.Swedish, language.English})

const (
	langParam  = "lang"
	langCookie = "lang"
)

// langKey is the c.Locals key of the request's language.
type langKey struct{}

// LangLink is one entry of the language selector: the current page in another language.
type LangLink struct {
	Code    string // "fi", "sv", "en"
	Name    string // the language's name in that language
	URL     string
	Current bool
}

// Languages returns the middleware that decides the language of a request:
// ?lang=fi|sv|en (remembered in a cookie for a year), then that cookie, then
// the browser's Accept-Language, then Finnish. Lang reads the result.
func (f *Frontend) Languages() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if q := c.Query(langParam); supported(q) {
			lang := canonical(q)
			c.Cookie(&fiber.Cookie{
				Name:     langCookie,
				Value:    lang,
				Path:     "/",
				MaxAge:   int((365 * 24 * time.Hour).Seconds()),
				Secure:   f.opts.Secure,
				HTTPOnly: true,
				SameSite: fiber.CookieSameSiteLaxMode,
			})
			c.Locals(langKey{}, lang)
			return c.Next()
		}
		if ck := c.Cookies(langCookie); supported(ck) {
			c.Locals(langKey{}, canonical(ck))
			return c.Next()
		}
		c.Locals(langKey{}, matchAcceptLanguage(c.Get(fiber.HeaderAcceptLanguage)))
		return c.Next()
	}
}

// Lang returns the language the Languages middleware chose for the request,
// or DefaultLang where it did not run.
func Lang(c *fiber.Ctx) string {
	if l, ok := c.Locals(langKey{}).(string); ok {
		return l
	}
	return DefaultLang
}

func supported(lang string) bool {
	_, ok := languageNames[lang]
	return ok
}

// canonical returns the package's own copy of a supported code, so nothing
// keeps a reference to fasthttp's request buffers.
func canonical(lang string) string {
	for _, l := range supportedLanguages {
		if l == lang {
			return l
		}
	}
	return DefaultLang
}

// matchAcceptLanguage picks the best supported language for an
// Accept-Language header; an unmatched or broken header gives DefaultLang.
func matchAcceptLanguage(header string) string {
	if header == "" {
		return DefaultLang
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return DefaultLang
	}
	_, i, conf := languageMatcher.Match(tags...)
	if conf == language.No {
		return DefaultLang
	}
	return supportedLanguages[i]
}

// langLinks builds the selector: this page with ?lang=xx, other query
// parameters kept.
func langLinks(c *fiber.Ctx, current string) []LangLink {
	path := safePath(c.Path())
	links := make([]LangLink, 0, len(supportedLanguages))
	for _, l := range supportedLanguages {
		args := fiber.AcquireArgs()
		c.Request().URI().QueryArgs().CopyTo(args)
		args.Set(langParam, l)
		links = append(links, LangLink{
			Code:    l,
			Name:    languageNames[l],
			URL:     path + "?" + args.String(),
			Current: l == current,
		})
		fiber.ReleaseArgs(args)
	}
	return links
}
