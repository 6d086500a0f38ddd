package frontend

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Pagination is what partials/pagination renders: the current page and
// links to the neighbours. Lists page by "there is more" rather than by a
// total count, which stays cheap on large tables such as the access log.
type Pagination struct {
	Page    int // 1-based
	HasPrev bool
	HasNext bool
	PrevURL string
	NextURL string
}

// PageParam is the query parameter that carries the page number.
const PageParam = "page"

// CurrentPage reads ?page= from the request; missing or invalid gives 1.
func CurrentPage(c *fiber.Ctx) int {
	n, err := strconv.Atoi(c.Query(PageParam))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// Paginate builds the Pagination of the current request's list: the links
// keep the path and every other query parameter (the filters) and change
// only ?page=.
func Paginate(c *fiber.Ctx, page int, hasNext bool) Pagination {
	if page < 1 {
		page = 1
	}
	p := Pagination{Page: page, HasPrev: page > 1, HasNext: hasNext}
	link := func(n int) string {
		args := fiber.AcquireArgs()
		defer fiber.ReleaseArgs(args)
		c.Request().URI().QueryArgs().CopyTo(args)
		args.Del(langParam)
		if n == 1 {
			args.Del(PageParam)
		} else {
			args.Set(PageParam, strconv.Itoa(n))
		}
		u := strings.Clone(safePath(c.Path()))
		if q := args.String(); q != "" {
			u += "?" + q
		}
		return u
	}
	if p.HasPrev {
		p.PrevURL = link(page - 1)
	}
	if p.HasNext {
		p.NextURL = link(page + 1)
	}
	return p
}
