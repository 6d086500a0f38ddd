// Package desk serves the advisor's desk, which gathers each feature's
// work for staff (chat queue, today's appointments…), and the admin's
// pages: the access log, and staff with their regions.
package desk

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Desk serves the staff pages.
type Desk struct {
	fe       *frontend.Frontend
	log      *audit.Log
	users    *auth.Users
	regions  *regions.Store
	sections []frontend.SectionFunc
	loc      *time.Location
}

// New returns the desk.
func New(fe *frontend.Frontend, log *audit.Log, users *auth.Users, regs *regions.Store) *Desk {
	return &Desk{fe: fe, log: log, users: users, regions: regs, loc: fe.Location()}
}

// AddSection adds a feature's block to the desk, in call order.
func (d *Desk) AddSection(fn frontend.SectionFunc) { d.sections = append(d.sections, fn) }

// Register mounts the staff pages.
func (d *Desk) Register(r fiber.Router) {
	r.Get("/desk", auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin), d.desk)
	// The filter is posted, never put in the URL: it may name a person,
	// and URLs end up in browser history and proxy logs.
	r.Get("/admin/access-log", auth.RequireRole(auth.RoleAdmin), d.accessLog)
	r.Post("/admin/access-log", auth.RequireRole(auth.RoleAdmin), d.accessLog)
	r.Get("/admin/staff", auth.RequireRole(auth.RoleAdmin), d.staff)
	r.Post("/admin/staff/:id/region", auth.RequireRole(auth.RoleAdmin), d.setRegion)
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
	Action       string // translated; the code itself for an action without texts
	Resource     string
	Reason       string // likewise
}

// AccessLogData is the Data of pages/access-log.
type AccessLogData struct {
	Entries []AccessLogEntry
	// Page is the page shown; PrevPage and NextPage are 0 when there is
	// none. Paging posts the filter again, so it never enters the URL.
	Page, PrevPage, NextPage int
}

func (d *Desk) accessLog(c *fiber.Ctx) error {
	form := frontend.NewForm()
	page := 1
	if c.Method() == fiber.MethodPost {
		form.Read(c, "actor", "resident", "action", "from", "to")
		if n, err := strconv.Atoi(c.FormValue("page")); err == nil && n > 1 && n <= 100000 {
			page = n
		}
	}
	f := audit.Filter{
		Actor:    form.Get("actor"),
		Resident: form.Get("resident"),
		Action:   form.Get("action"),
	}
	if v := form.Get("from"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, d.loc)
		if err != nil {
			form.Fail("from", "form.error.date")
		}
		f.From = t
	}
	if v := form.Get("to"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, d.loc)
		if err != nil {
			form.Fail("to", "form.error.date")
		}
		f.To = t.AddDate(0, 0, 1) // through the end of that day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		form.Fail("to", "accesslog.error.range")
	}
	for _, field := range []string{"actor", "resident", "action"} {
		if len(form.Get(field)) > 200 {
			form.Fail(field, "form.error.too_long")
		}
	}
	data := AccessLogData{Page: page}
	status := fiber.StatusOK
	if form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	} else {
		ctx := c.UserContext()
		// Reading the log shows who looked at whom: that is itself logged.
		if err := d.log.Record(ctx, 0, audit.AccessLogView, "", audit.ReasonAdminPage); err != nil {
			return err
		}
		rows, more, err := d.log.List(ctx, f, page)
		if err != nil {
			return err
		}
		lang := frontend.Lang(c)
		for _, r := range rows {
			data.Entries = append(data.Entries, AccessLogEntry{
				At: r.At, ActorName: r.ActorName, ActorRole: r.ActorRole, ResidentName: r.ResidentName,
				Action:   d.label(lang, "accesslog.action.", r.Action),
				Resource: r.Resource,
				Reason:   d.label(lang, "accesslog.reason.", r.Reason),
			})
		}
		if page > 1 {
			data.PrevPage = page - 1
		}
		if more {
			data.NextPage = page + 1
		}
	}
	return d.fe.Render(c, status, "pages/access-log", frontend.Page{TitleKey: "accesslog.title", Data: data, Form: form})
}

// label translates an action or reason code; a code without texts (an
// entry written before the codes had them) is shown as it is.
func (d *Desk) label(lang, prefix, code string) string {
	if code == "" || !d.fe.Has(prefix+code) {
		return code
	}
	return d.fe.T(lang, prefix+code)
}
