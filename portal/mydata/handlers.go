package mydata

import (
	"bytes"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// Options are what the Service is built from.
type Options struct {
	// Sources give the parts of the download, in their order.
	Sources  []Source
	Frontend *frontend.Frontend
	Now      func() time.Time
}

// Service is the resident's data download.
type Service struct {
	sources []Source
	fe      *frontend.Frontend
	now     func() time.Time
}

// New returns the Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{sources: o.Sources, fe: o.Frontend, now: o.Now}
}

// Register mounts the download's routes: the page that says what is
// included, and the two downloads. Residents only, each their own data.
func (s *Service) Register(r fiber.Router) {
	resident := auth.RequireRole(auth.RoleResident)
	r.Get("/my/data", resident, noStore, s.handlePage)
	r.Get("/my/data.json", resident, noStore, s.handleJSON)
	r.Get("/my/data.pdf", resident, noStore, s.handlePDF)
}

// noStore keeps every answer out of caches: it is all personal data.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Next()
}

// PageData is the Data of mydata/page: the parts the download holds.
type PageData struct {
	Parts []string // translation keys of the parts' headings
}

func (s *Service) handlePage(c *fiber.Ctx) error {
	return s.fe.Render(c, fiber.StatusOK, "mydata/page", frontend.Page{TitleKey: "mydata.title", Data: PageData{Parts: PartKeys}})
}

// PartKeys are the headings of the parts, as the page lists them; the
// sources wired in cmd/portal give these parts.
var PartKeys = []string{
	"mydata.part.profile", "mydata.part.case", "mydata.part.bookings", "mydata.part.chats",
	"mydata.part.messages", "mydata.part.exchange", "mydata.part.access_log",
}

// export collects the current resident's data.
func (s *Service) export(c *fiber.Ctx) (Export, error) {
	u := auth.CurrentUser(c)
	parts, err := Collect(c.UserContext(), u.ID, s.sources)
	if err != nil {
		return Export{}, err
	}
	return Export{ResidentID: u.ID, Lang: frontend.Lang(c), GeneratedAt: s.now().UTC(), Parts: parts}, nil
}

// fileName is the downloads' name, with the day: omat-tiedot-2026-05-04.
func (s *Service) fileName(e Export, ext string) string {
	name := map[string]string{"sv": "mina-uppgifter", "en": "my-data"}[e.Lang]
	if name == "" {
		name = "omat-tiedot"
	}
	return name + "-" + e.GeneratedAt.In(s.fe.Location()).Format("2006-01-02") + "." + ext
}

func (s *Service) handleJSON(c *fiber.Ctx) error {
	e, err := s.export(c)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, e); err != nil {
		return err
	}
	return send(c, fiber.MIMEApplicationJSONCharsetUTF8, s.fileName(e, "json"), b.Bytes())
}

func (s *Service) handlePDF(c *fiber.Ctx) error {
	e, err := s.export(c)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := WritePDF(&b, s.fe, e); err != nil {
		return err
	}
	return send(c, "application/pdf", s.fileName(e, "pdf"), b.Bytes())
}

// send answers a download.
func send(c *fiber.Ctx, contentType, name string, b []byte) error {
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentLength, strconv.Itoa(len(b)))
	return c.Send(b)
}

// MySection is the download's block on Oma asiointi: a link to the page,
// for residents.
func (s *Service) MySection(c *fiber.Ctx) (frontend.Section, error) {
	sec := frontend.Section{TitleKey: "mydata.section.title", Template: "partials/section-links"}
	if u := auth.CurrentUser(c); u != nil && u.Role == auth.RoleResident {
		sec.Data = []frontend.Link{{URL: "/my/data", LabelKey: "mydata.section.link"}}
	}
	return sec, nil
}
