package contact

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// DeskListData is the Data of contact/desk-list.
type DeskListData struct {
	Rows       []DeskRow
	Closed     bool
	Pagination frontend.Pagination
}

// DeskRow is a request on the desk's list. It names no one: the
// resident's name, address and the description are on the request's own
// page, whose every opening is logged.
type DeskRow struct {
	Ref        string
	URL        string
	Received   string
	Concern    string
	SenderKind string
	PostalCode string
	Urgent     bool
	Eviction   string
	Status     Status
	Assignee   string
	Outcome    string
}

func (s *Service) handleDeskList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	// Open or closed is not personal data: it may be in the URL.
	closed := c.Query("show") == "closed"
	page := frontend.CurrentPage(c)
	list, more, err := s.Desk(ctx, closed, page)
	if err != nil {
		return err
	}
	var ids []int64
	for i := range list {
		if list[i].AssigneeID != nil {
			ids = append(ids, *list[i].AssigneeID)
		}
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return err
	}
	today := s.today()
	d := DeskListData{Closed: closed, Pagination: frontend.Paginate(c, page, more), Rows: make([]DeskRow, 0, len(list))}
	for i := range list {
		r := &list[i]
		row := DeskRow{
			Ref: r.Reference, URL: "/desk/contact/" + itoa(r.ID), Received: s.fe.DateTime(lang, r.CreatedAt),
			Concern: r.Concern, SenderKind: r.SenderKind, PostalCode: r.PostalCode, Urgent: r.UrgentOn(today),
			Eviction: s.date(lang, r.EvictionOn), Status: r.Status, Outcome: r.Outcome,
		}
		if r.AssigneeID != nil && people[*r.AssigneeID] != nil {
			row.Assignee = people[*r.AssigneeID].Name
		}
		d.Rows = append(d.Rows, row)
	}
	return s.fe.Render(c, fiber.StatusOK, "contact/desk-list", frontend.Page{TitleKey: "contact.desk.title", Data: d})
}

// date shows a stored date (midnight UTC) as the local date it is.
func (s *Service) date(lang string, d *time.Time) string {
	if d == nil {
		return ""
	}
	if lang == "en" {
		return d.UTC().Format("2 Jan 2006")
	}
	return d.UTC().Format("2.1.2006")
}

// DeskShowData is the Data of contact/desk-show.
type DeskShowData struct {
	Req        *Request
	Received   string
	Closed     string
	Eviction   string
	Urgent     bool
	Region     string
	Assignee   string
	Verified   bool // sent by the logged-in resident about themself
	Attempts   []AttemptRow
	Links      []LinkRow
	Colleagues []frontend.Option
	Channels   []string
	Outcomes   []string
	Open       bool
}

// AttemptRow is an attempt as the desk shows it.
type AttemptRow struct {
	When    string
	Channel string
	Result  string
	Actor   string
}

// LinkRow is a link to the resident's appointment or chat.
type LinkRow struct {
	URL  string
	Kind string
	When string
}

func (s *Service) handleDeskShow(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	r, err := s.ForStaff(c.UserContext(), int64(id))
	if err != nil {
		return err
	}
	form := frontend.NewForm()
	now := s.today()
	form.Set("attempt_date", now.Format("2006-01-02"))
	form.Set("attempt_time", now.Format("15:04"))
	if u := auth.CurrentUser(c); u != nil {
		form.Set("assignee", itoa(u.ID))
	}
	return s.renderDesk(c, fiber.StatusOK, r, form)
}

func (s *Service) renderDesk(c *fiber.Ctx, status int, r *Request, form *frontend.Form) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	d := DeskShowData{
		Req: r, Received: s.fe.DateTime(lang, r.CreatedAt), Eviction: s.date(lang, r.EvictionOn),
		Urgent: r.UrgentOn(s.today()), Verified: r.ResidentID != nil, Channels: Channels, Outcomes: Outcomes,
		Open: r.Status != StatusClosed,
	}
	if r.ClosedAt != nil {
		d.Closed = s.fe.DateTime(lang, *r.ClosedAt)
	}
	if reg, err := s.regions.ByID(ctx, r.RegionID); err == nil {
		d.Region = reg.Name(lang)
	} else {
		return err
	}
	atts, err := s.Attempts(ctx, r.ID)
	if err != nil {
		return err
	}
	ids := []int64{}
	if r.AssigneeID != nil {
		ids = append(ids, *r.AssigneeID)
	}
	for _, a := range atts {
		if a.ActorID != nil {
			ids = append(ids, *a.ActorID)
		}
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return err
	}
	if r.AssigneeID != nil && people[*r.AssigneeID] != nil {
		d.Assignee = people[*r.AssigneeID].Name
	}
	for _, a := range atts {
		row := AttemptRow{When: s.fe.DateTime(lang, a.At), Channel: a.Channel, Result: a.Result}
		if a.ActorID != nil && people[*a.ActorID] != nil {
			row.Actor = people[*a.ActorID].Name
		}
		d.Attempts = append(d.Attempts, row)
	}
	links, err := s.Links(ctx, r)
	if err != nil {
		return err
	}
	for _, l := range links {
		d.Links = append(d.Links, LinkRow{URL: l.URL, Kind: l.Kind, When: s.fe.DateTime(lang, l.When)})
	}
	if d.Open {
		cols, err := s.Colleagues(ctx, r)
		if err != nil {
			return err
		}
		me := auth.CurrentUser(c)
		if me != nil && me.Role == auth.RoleAdmin {
			d.Colleagues = append(d.Colleagues, frontend.Option{Value: itoa(me.ID), LabelKey: "contact.desk.me"})
		}
		for _, u := range cols {
			o := frontend.Option{Value: itoa(u.ID), Label: u.Name}
			if me != nil && u.ID == me.ID {
				o = frontend.Option{Value: itoa(u.ID), LabelKey: "contact.desk.me"}
			}
			d.Colleagues = append(d.Colleagues, o)
		}
	}
	return s.fe.Render(c, status, "contact/desk-show", frontend.Page{TitleKey: "contact.desk.request", Data: d, Form: form})
}

// staffChange reads the request's id, runs fn and goes back to the
// request's page; invalid input shows the page again with the messages.
func (s *Service) staffChange(c *fiber.Ctx, form *frontend.Form, fn func(id int64) error, flash string) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	if !form.HasErrors() {
		err = fn(int64(id))
		if err == nil {
			s.fe.Flash(c, flash)
			return c.Redirect("/desk/contact/"+itoa(int64(id)), fiber.StatusSeeOther)
		}
		p, ok := problem.As(err)
		if !ok || p.Kind != problem.Invalid {
			return err
		}
		for field, key := range p.Fields {
			form.Fail(field, key)
		}
	}
	r, err := s.ForStaff(c.UserContext(), int64(id))
	if err != nil {
		return err
	}
	return s.renderDesk(c, fiber.StatusUnprocessableEntity, r, form)
}

func (s *Service) handleAssign(c *fiber.Ctx) error {
	form := frontend.ReadForm(c, "assignee")
	who, err := strconv.ParseInt(form.Get("assignee"), 10, 64)
	if err != nil {
		form.Fail("assignee", "contact.error.choose")
	}
	return s.staffChange(c, form, func(id int64) error { return s.Assign(c.UserContext(), id, who) }, "contact.flash.assigned")
}

func (s *Service) handleAttempt(c *fiber.Ctx) error {
	form := frontend.ReadForm(c, "attempt_date", "attempt_time", "channel").ReadText(c, "result")
	at, err := time.ParseInLocation("2006-01-02 15:04", form.Get("attempt_date")+" "+form.Get("attempt_time"), s.loc)
	if err != nil {
		form.Fail("attempt_date", "form.error.date")
	}
	choice(form, "channel", Channels, true)
	text(form, "result", maxResult, false)
	return s.staffChange(c, form, func(id int64) error {
		return s.AddAttempt(c.UserContext(), id, AttemptInput{At: at, Channel: form.Get("channel"), Result: form.Get("result")})
	}, "contact.flash.attempt")
}

func (s *Service) handleClose(c *fiber.Ctx) error {
	form := frontend.ReadForm(c, "outcome")
	choice(form, "outcome", Outcomes, true)
	return s.staffChange(c, form, func(id int64) error { return s.Close(c.UserContext(), id, form.Get("outcome")) }, "contact.flash.closed")
}

// DeskSectionData is the Data of contact/desk-section.
type DeskSectionData struct {
	frontend.Translator
	Counts
}

// DeskSection is the desk's block: how many requests of the advisor's
// region nobody has taken yet, and how many open ones are urgent.
func (s *Service) DeskSection(c *fiber.Ctx) (frontend.Section, error) {
	sec := frontend.Section{TitleKey: "contact.desk.title", Template: "contact/desk-section", Lang: frontend.Lang(c)}
	n, err := s.Counts(c.UserContext())
	sec.Data = DeskSectionData{Translator: s.fe.Translator(sec.Lang), Counts: n}
	return sec, err
}
