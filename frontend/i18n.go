package frontend

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// catalog holds every message of every supported language.
type catalog struct {
	localizers map[string]*i18n.Localizer
	ids        map[string]map[string]bool // language → message ids
}

// loadCatalog loads every <area>.<lang>.toml file of fsys, so each feature
// adds its own file beside the others, and fails listing each message id
// that one of the supported languages lacks.
func loadCatalog(fsys fs.FS) (*catalog, error) {
	bundle := i18n.NewBundle(language.Finnish)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &catalog{
		localizers: make(map[string]*i18n.Localizer, len(supportedLanguages)),
		ids:        make(map[string]map[string]bool, len(supportedLanguages)),
	}
	for _, l := range supportedLanguages {
		c.ids[l] = make(map[string]bool)
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".toml" {
			return err
		}
		buf, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		mf, err := bundle.ParseMessageFileBytes(buf, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		lang := mf.Tag.String()
		ids, ok := c.ids[lang]
		if !ok {
			return fmt.Errorf("%s: language %q is not one of %s", p, lang, strings.Join(supportedLanguages[:], ", "))
		}
		for _, m := range mf.Messages {
			if ids[m.ID] {
				return fmt.Errorf("%s: message %q is defined twice", p, m.ID)
			}
			ids[m.ID] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frontend: load translations: %w", err)
	}
	if err := c.complete(); err != nil {
		return nil, err
	}
	for _, l := range supportedLanguages {
		c.localizers[l] = i18n.NewLocalizer(bundle, l)
	}
	return c, nil
}

// complete reports every message id that exists in some language but not in all.
func (c *catalog) complete() error {
	all := make(map[string]bool)
	for _, ids := range c.ids {
		for id := range ids {
			all[id] = true
		}
	}
	var missing []string
	for _, id := range sortedKeys(all) {
		for _, l := range supportedLanguages {
			if !c.ids[l][id] {
				missing = append(missing, l+": "+id)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("frontend: translations missing: %s", strings.Join(missing, ", "))
	}
	return nil
}

// require fails listing the keys that no language defines.
func (c *catalog) require(keys ...string) error {
	missing := make(map[string]bool)
	for _, k := range keys {
		if !c.ids[DefaultLang][k] {
			missing[k] = true
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("frontend: unknown translation keys: %s", strings.Join(sortedKeys(missing), ", "))
	}
	return nil
}

// Has reports whether a message id exists (in Finnish, and so in every
// language: New checks that).
func (f *Frontend) Has(id string) bool { return f.catalog.ids[DefaultLang][id] }

// T translates id into lang, filling the message's placeholders from data. A
// message's "Count" value selects its plural form. An unsupported language
// falls back to Finnish, a missing message to the id itself. It never panics.

func (f *Frontend) T(lang, id string, data ...map[string]any) (out string) {
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("frontend: translation panicked", "id", id, "lang", lang, "panic", r)
			out = id
		}
	}()
	if !supported(lang) || !f.catalog.ids[lang][id] {
		lang = DefaultLang
	}
	if !f.catalog.ids[lang][id] {
		f.log.Warn("frontend: no translation", "id", id)
		return id
	}
	var td map[string]any
	switch len(data) {
	case 0:
	case 1:
		td = data[0]
	default:
		td = make(map[string]any)
		for _, d := range data {
			for k, v := range d {
				td[k] = v
			}
		}
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: td}
	if n, ok := td["Count"]; ok {
		cfg.PluralCount = n
	}
	msg, err := f.catalog.localizers[lang].Localize(cfg)
	if err != nil {
		var nf *i18n.MessageNotFoundErr
		if !errors.As(err, &nf) {
			f.log.Warn("frontend: translate", "id", id, "lang", lang, "err", err)
		}
		if msg == "" {
			return id
		}
	}
	return msg
}

// Translator translates into one language; a section's Data embeds it, so
// that its template (whose dot is the Section) translates with .Data.T.
type Translator struct {
	Lang string
	f    *Frontend
}

// Translator returns the translator into lang.
func (f *Frontend) Translator(lang string) Translator { return Translator{Lang: lang, f: f} }

// T translates key; args are name and value pairs for its placeholders.
func (t Translator) T(key string, args ...any) string {
	if len(args) == 0 {
		return t.f.T(t.Lang, key)
	}
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			data[k] = args[i+1]
		}
	}
	return t.f.T(t.Lang, key, data)
}
