package frontend

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// HeaderLink is a link that the layout shows in the header's action bar on
// every page whose request Show accepts, such as "Chat" while advisors are
// online. Features add theirs with AddHeaderLink while the portal is wired;
// the frontend knows nothing of what decides.
type HeaderLink struct {
	// LabelKey is the translation key of the visible label.
	LabelKey string
	// HintKey, optional, is the translation key of a visually hidden text
	// read after the label, such as "advisors are online".
	HintKey string
	// URL is a path of the portal, such as "/chat".
	URL string
	// Icon is the name of an HDS icon shown before the label
	// ("speechbubble-text"); "" for none.
	Icon string
	// Show says whether the link belongs on this request's page. It runs on
	// every page view, so it must be cheap (cache what it looks up) and must
	// not fail: on trouble it answers false.
	Show func(c *fiber.Ctx) bool
	// Count, optional, is a number shown after the label ("Viestit (2)"),
	// such as unread messages; 0 shows none. It runs only when Show
	// accepted, on every page view: keep it to one indexed query, and
	// answer 0 on trouble. CountKey, with Count, is the visually hidden
	// text read with the number ("{{.Count}} unread").
	Count    func(c *fiber.Ctx) int
	CountKey string
}

// HeaderLinkView is a HeaderLink as the layout renders it.
type HeaderLinkView struct {
	LabelKey, HintKey, URL, Icon string
	Current                      bool // the page is the link's URL or under it
	Count                        int
	CountKey                     string
}

// headerLinks are the links AddHeaderLink registered; reads take no lock
// once wiring is over.
type headerLinks struct {
	mu    sync.RWMutex
	links []HeaderLink
}

var iconName = regexp.MustCompile(`^[a-z0-9-]*$`)

// AddHeaderLink adds a link to the header of every page where l.Show
// accepts the request. The keys must exist in every language and the URL
// must be a path of the portal.
func (f *Frontend) AddHeaderLink(l HeaderLink) error {
	if l.Show == nil {
		return fmt.Errorf("frontend: header link %q: no Show function", l.URL)
	}
	if !strings.HasPrefix(l.URL, "/") || safePath(l.URL) != l.URL {
		return fmt.Errorf("frontend: header link %q: not a path of the portal", l.URL)
	}
	if !iconName.MatchString(l.Icon) {
		return fmt.Errorf("frontend: header link %q: bad icon name %q", l.URL, l.Icon)
	}
	keys := []string{l.LabelKey}
	for _, k := range []string{l.HintKey, l.CountKey} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	if (l.Count == nil) != (l.CountKey == "") {
		return fmt.Errorf("frontend: header link %q: Count and CountKey go together", l.URL)
	}
	if err := f.catalog.require(keys...); err != nil {
		return err
	}
	f.header.mu.Lock()
	defer f.header.mu.Unlock()
	f.header.links = append(f.header.links, l)
	return nil
}

// headerLinksFor returns the header links the request's page shows.
func (f *Frontend) headerLinksFor(c *fiber.Ctx, path string) []HeaderLinkView {
	f.header.mu.RLock()
	links := f.header.links
	f.header.mu.RUnlock()
	var out []HeaderLinkView
	for _, l := range links {
		if !l.Show(c) {
			continue
		}
		v := HeaderLinkView{
			LabelKey: l.LabelKey, HintKey: l.HintKey, URL: l.URL, Icon: l.Icon,
			Current: path == l.URL || strings.HasPrefix(path, l.URL+"/"), CountKey: l.CountKey,
		}
		if l.Count != nil {
			v.Count = l.Count(c)
		}
		out = append(out, v)
	}
	return out
}
