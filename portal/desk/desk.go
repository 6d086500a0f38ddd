// Package desk serves the advisor's desk, which gathers each feature's
// work for staff (chat queue, today's appointments…), and the admin's
// access log page.
package desk

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// Desk serves the staff pages.
type Desk struct {
	fe       *frontend.Frontend
	log      *audit.Log
	sections []frontend.SectionFunc
	loc      *time.Location
}

// New returns the desk.
func New(fe *frontend.Frontend, log *audit.Log) *Desk {
	return &Desk{fe: fe, log: log, loc: fe.Location()}
}

// AddSection adds a feature's block to the desk, in call order.
func (d *Desk) AddSection(fn frontend.SectionFunc) { d.sections = append(d.sections, fn) }

// Register mounts the staff pages.
func (d *Desk) Register(r fiber.Router) {
	r.Get("/desk", auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin), d.desk)
	r.Get("/admin/access-log", auth.RequireRole(auth.RoleAdmin), d.accessLog)
}

// Data is the Data of pages/desk.
type Data struct {
	Sections []frontend.Section
}

func (d *Desk) desk(c *fiber.Ctx) error {
	s, err := frontend.CollectSections(c, d.sections)
	if err != nil {
		return err
	}
	return d.fe.Render(c, fiber.StatusOK, "pages/desk", frontend.Page{TitleKey: "desk.title", Data: Data{Sections: s}})
}

// AccessLogEntry is one row of pages/access-log.
type AccessLogEntry struct {
	At           time.Time
	ActorName    string
	ActorRole    string
	ResidentName string
	Action       string
	Resource     string
	Reason       string
}

// AccessLogData is the Data of pages/access-log.
type AccessLogData struct {
	Entries    []AccessLogEntry
	Pagination frontend.Pagination
}

func (d *Desk) accessLog(c *fiber.Ctx) error {
	form := frontend.ReadForm(c, "actor", "resident", "action", "from", "to")
	f := audit.Filter{
		Actor:    strings.TrimSpace(form.Get("actor")),
		Resident: strings.TrimSpace(form.Get("resident")),
		Action:   strings.TrimSpace(form.Get("action")),
	}
	if v := form.Get("from"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, d.loc)
		if err != nil {
			form.Fail("from", "form.invalid_date")
		}
		f.From = t
	}
	if v := form.Get("to"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, d.loc)
		if err != nil {
			form.Fail("to", "form.invalid_date")
		}
		f.To = t.AddDate(0, 0, 1) // through the end of that day
	}
	for _, field := range []string{"actor", "resident", "action"} {
		if len(form.Get(field)) > 200 {
			form.Fail(field, "form.too_long")
		}
	}
	page := frontend.CurrentPage(c)
	data := AccessLogData{}
	status := fiber.StatusOK
	if form.HasErrors() {
		status = fiber.StatusBadRequest
		data.Pagination = frontend.Paginate(c, page, false)
	} else {
		// Reading the log shows who looked at whom: that is itself logged.
		if err := d.log.Record(c.UserContext(), 0, "access_log.view", "", "admin page"); err != nil {
			return err
		}
		rows, more, err := d.log.List(c.UserContext(), f, page)
		if err != nil {
			return err
		}
		for _, r := range rows {
			data.Entries = append(data.Entries, AccessLogEntry{
				At: r.At, ActorName: r.ActorName, ActorRole: r.ActorRole, ResidentName: r.ResidentName,
				Action: r.Action, Resource: r.Resource, Reason: r.Reason,
			})
		}
		data.Pagination = frontend.Paginate(c, page, more)
	}
	return d.fe.Render(c, status, "pages/access-log", frontend.Page{TitleKey: "accesslog.title", Data: data, Form: form})
}
