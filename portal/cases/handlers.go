package cases

import (
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// Register mounts the cases' routes.
func (s *Service) Register(r fiber.Router) {
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	r.Get("/desk/cases", staff, s.handleList)
	r.Get("/desk/cases/new", staff, s.handleNewForm)
	r.Post("/desk/cases/new/search", staff, s.handleNewForm) // POST keeps names out of URLs
	r.Post("/desk/cases/new", staff, s.handleOpen)
	r.Get("/desk/cases/:id<int>", staff, s.handleShow)
	r.Post("/desk/cases/:id<int>", staff, s.handleUpdate)
	r.Post("/desk/cases/:id<int>/notes", staff, s.handleNote)
	r.Post("/desk/cases/:id<int>/interventions", staff, s.handleIntervention)
	r.Post("/desk/cases/:id<int>/close", staff, s.handleClose)
	r.Post("/desk/cases/:id<int>/plan", staff, s.handlePlan)
	r.Post("/desk/cases/:id<int>/follow-up", staff, s.handleFollowUp)
	r.Post("/desk/cases/:id<int>/interim", staff, s.handleInterim)
	r.Post("/desk/cases/:id<int>/payments", staff, s.handlePayment)
	r.Get("/desk/cases/payments", staff, s.handleImportForm)
	r.Post("/desk/cases/payments", staff, s.handleImport)
	r.Get("/my/case", auth.RequireRole(auth.RoleResident), s.handleMine)
	s.RegisterStats(r)
	s.registerCrisis(r)
}

// Lists are the code lists the forms offer.
type Lists struct {
	Reasons, Households, Referrers, Interventions, Outcomes, OpenReasons []string
}

func lists() Lists {
	return Lists{Reasons, Households, Referrers, Interventions, Outcomes, OpenReasons}
}

// Row is a case in a list.
type Row struct {
	ID                int64
	Resident, Updated string
	Reason, Status    string
	Debt              string
	EvictionDate      string
	Mine              bool
}

// ListData is the Data of cases/list.
type ListData struct {
	Rows   []Row
	Closed bool
}

func (s *Service) handleList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	closed := c.Query("closed") == "1"
	list, err := s.Region(ctx, closed, 300)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i, cs := range list {
		ids[i] = cs.ResidentID
	}
	if err := s.audit.RecordList(ctx, ids, audit.CaseView, "cases/list", audit.ReasonDeskList); err != nil {
		return err
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return err
	}
	lang := frontend.Lang(c)
	me := auth.CurrentUser(c).ID
	d := ListData{Closed: closed}
	for _, cs := range list {
		r := Row{ID: cs.ID, Updated: s.fe.DateTime(lang, cs.UpdatedAt), Reason: cs.Reason, Status: string(cs.Status),
			Debt: FormatCents(cs.DebtCents, lang), EvictionDate: cs.EvictionDate, Mine: cs.AdvisorID != nil && *cs.AdvisorID == me}
		if p := people[cs.ResidentID]; p != nil {
			r.Resident = p.Name
		}
		d.Rows = append(d.Rows, r)
	}
	return s.fe.Render(c, fiber.StatusOK, "cases/list", frontend.Page{TitleKey: "cases.title", Data: d})
}

// NewData is the Data of cases/new.
type NewData struct {
	Lists
	Residents []ResidentChoice
	Searched  bool
}

// ResidentChoice is a resident found to open a case for.
type ResidentChoice struct {
	ID                int64
	Name, Email, Post string
}

func (s *Service) handleNewForm(c *fiber.Ctx) error {
	d := NewData{Lists: lists()}
	form := frontend.NewForm()
	status := fiber.StatusOK
	if c.Method() == fiber.MethodPost {
		form.Read(c, "q")
		q := form.Get("q")
		if len([]rune(q)) < 2 || len(q) > 100 {
			form.Fail("q", "cases.error.search")
			status = fiber.StatusUnprocessableEntity
		} else {
			if err := s.audit.Record(c.UserContext(), 0, audit.CaseResidentSearch, "", audit.ReasonCaseWork); err != nil {
				return err
			}
			found, err := s.users.Search(c.UserContext(), auth.RoleResident, q, 20)
			if err != nil {
				return err
			}
			d.Searched = true
			for _, u := range found {
				d.Residents = append(d.Residents, ResidentChoice{ID: u.ID, Name: u.Name, Email: u.Email, Post: u.PostalCode})
			}
		}
	}
	return s.fe.Render(c, status, "cases/new", frontend.Page{TitleKey: "cases.new.title", Data: d, Form: form})
}

// readFields reads the case fields of a form.
func readFields(c *fiber.Ctx, form *frontend.Form) Fields {
	form.Read(c, "reason", "household", "referrer", "children", "debt", "court_date", "eviction_date", "in_court")
	f := Fields{Reason: form.Get("reason"), Household: form.Get("household"), Referrer: form.Get("referrer"),
		CourtDate: form.Get("court_date"), EvictionDate: form.Get("eviction_date"), InCourt: form.Get("in_court") == "yes"}
	if v := form.Get("children"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			form.Fail("children", "cases.error.number")
		}
		f.Children = n
	}
	if v := form.Get("debt"); v != "" {
		cents, err := ParseEuros(v)
		if err != nil {
			form.Fail("debt", "cases.error.money")
		}
		f.DebtCents = cents
	}
	return f
}

// failFields marks a problem's fields on the form; other errors return.
func failFields(form *frontend.Form, err error) (int, error) {
	p, ok := problem.As(err)
	if !ok || len(p.Fields) == 0 {
		return 0, err
	}
	for f, k := range p.Fields {
		form.Fail(f, k)
	}
	return fiber.StatusUnprocessableEntity, nil
}

func (s *Service) handleOpen(c *fiber.Ctx) error {
	form := frontend.NewForm()
	f := readFields(c, form)
	resident, _ := strconv.ParseInt(c.FormValue("resident"), 10, 64) // junk or none: 0, refused by Open
	if !form.HasErrors() {
		cs, err := s.Open(c.UserContext(), resident, f)
		if err == nil {
			s.fe.Flash(c, "cases.flash.opened")
			return c.Redirect("/desk/cases/"+itoa(cs.ID)+"?why=work", fiber.StatusSeeOther)
		}
		if _, ferr := failFields(form, err); ferr != nil {
			return ferr
		}
	}
	return s.fe.Render(c, fiber.StatusUnprocessableEntity, "cases/new", frontend.Page{TitleKey: "cases.new.title", Data: NewData{Lists: lists()}, Form: form})
}

// ShowData is the Data of cases/show and cases/reason.
type ShowData struct {
	Lists
	Case      *Case
	Resident  string
	Email     string
	Advisor   string
	Colleague string
	Debt      string
	Timeline  []EventView
	Plan      *PlanPage
	Crisis    *CrisisPage // the crisis-accommodation path and the partners
	Reason    string      // why the case was opened (the access log's), kept in ?why=
}

// EventView is a timeline entry as the page shows it.
type EventView struct {
	When, Who, Kind string
	Field, Old, New string
	Body, OnDate    string
	URL             string    // another channel's item (Kind "activity", Field its kind)
	at              time.Time // for the order of the timeline
}

func (s *Service) handleShow(c *fiber.Ctx) error { return s.renderShow(c, fiber.StatusOK, nil) }

func (s *Service) renderShow(c *fiber.Ctx, status int, form *frontend.Form) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	why := c.Query("why")
	if !slices.Contains(OpenReasons, why) {
		// Opening a case asks why first: the answer goes to the access log.
		if _, err := s.visible(c.UserContext(), s.db, int64(id)); err != nil {
			return err
		}
		return s.fe.Render(c, fiber.StatusOK, "cases/reason", frontend.Page{TitleKey: "cases.why.title", Data: ShowData{Lists: lists(), Case: &Case{ID: int64(id)}}})
	}
	ctx := c.UserContext()
	cs, err := s.Get(ctx, int64(id), why)
	if err != nil {
		return err
	}
	lang := frontend.Lang(c)
	evs, err := s.Timeline(ctx, cs)
	if err != nil {
		return err
	}
	ids := []int64{cs.ResidentID}
	for _, p := range []*int64{cs.AdvisorID, cs.ColleagueID} {
		if p != nil {
			ids = append(ids, *p)
		}
	}
	for _, e := range evs {
		if e.ActorID != nil {
			ids = append(ids, *e.ActorID)
		}
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return err
	}
	d := ShowData{Lists: lists(), Case: cs, Debt: FormatCents(cs.DebtCents, lang), Reason: why}
	if p := people[cs.ResidentID]; p != nil {
		d.Resident, d.Email = p.Name, p.Email
	}
	if cs.AdvisorID != nil && people[*cs.AdvisorID] != nil {
		d.Advisor = people[*cs.AdvisorID].Name
	}
	if cs.ColleagueID != nil && people[*cs.ColleagueID] != nil {
		d.Colleague = people[*cs.ColleagueID].Name
	}
	if d.Plan, err = s.planPage(c, cs.ID); err != nil {
		return err
	}
	if d.Crisis, err = s.crisisPage(ctx, cs.ID); err != nil {
		return err
	}
	for _, e := range evs {
		v := EventView{When: s.fe.DateTime(lang, e.CreatedAt), Kind: e.Kind, Field: e.Field, Old: e.OldValue, New: e.NewValue, Body: e.Body, OnDate: e.OnDate, at: e.CreatedAt}
		if e.ActorID != nil && people[*e.ActorID] != nil {
			v.Who = people[*e.ActorID].Name
		}
		d.Timeline = append(d.Timeline, v)
	}
	if s.activities != nil {
		acts, err := s.activities(ctx, cs.ResidentID)
		if err != nil {
			return err
		}
		for _, a := range acts {
			note := a.Note
			if a.NoteKey != "" {
				note = s.fe.T(lang, a.NoteKey)
			}
			d.Timeline = append(d.Timeline, EventView{When: s.fe.DateTime(lang, a.When), Kind: "activity", Field: a.Kind, Body: note, URL: a.URL, at: a.When})
		}
		// One timeline, newest first, whatever the channel.
		slices.SortStableFunc(d.Timeline, func(a, b EventView) int { return b.at.Compare(a.at) })
	}
	if form == nil {
		form = frontend.NewForm()
		form.Set("reason", cs.Reason)
		form.Set("household", cs.Household)
		form.Set("referrer", cs.Referrer)
		if cs.Children > 0 {
			form.Set("children", strconv.Itoa(cs.Children))
		}
		if cs.DebtCents > 0 {
			form.Set("debt", FormatCents(cs.DebtCents, "fi"))
		}
		form.Set("court_date", cs.CourtDate)
		form.Set("eviction_date", cs.EvictionDate)
		if cs.InCourt {
			form.Set("in_court", "yes")
		}
	}
	return s.fe.Render(c, status, "cases/show", frontend.Page{TitleKey: "cases.show.title", Data: d, Form: form})
}

// afterChange answers a change: back to the case, or the case with the
// form's messages.
func (s *Service) afterChange(c *fiber.Ctx, form *frontend.Form, err error, flash string) error {
	id, _ := c.ParamsInt("id") // the route's constraint made it a number
	if err == nil && !form.HasErrors() {
		s.fe.Flash(c, flash)
		return c.Redirect("/desk/cases/"+strconv.Itoa(id)+"?why="+safeReason(c.Query("why")), fiber.StatusSeeOther)
	}
	if err != nil {
		status, ferr := failFields(form, err)
		if ferr != nil {
			return ferr
		}
		return s.renderShow(c, status, form)
	}
	return s.renderShow(c, fiber.StatusUnprocessableEntity, form)
}

// safeReason keeps the opening's reason across a change, or "work".
func safeReason(v string) string {
	if slices.Contains(OpenReasons, v) {
		return v
	}
	return "work"
}

func (s *Service) handleUpdate(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.NewForm()
	f := readFields(c, form)
	var err error
	if !form.HasErrors() {
		err = s.Update(c.UserContext(), int64(id), f)
	}
	return s.afterChange(c, form, err, "cases.flash.saved")
}

func (s *Service) handleNote(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.NewForm().ReadText(c, "note")
	var err error
	if !form.HasErrors() {
		err = s.AddNote(c.UserContext(), int64(id), form.Get("note"))
	}
	return s.afterChange(c, form, err, "cases.flash.noted")
}

func (s *Service) handleIntervention(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "intervention", "on_date")
	var err error
	if !form.HasErrors() {
		err = s.AddIntervention(c.UserContext(), int64(id), form.Get("intervention"), form.Get("on_date"))
	}
	return s.afterChange(c, form, err, "cases.flash.intervention")
}

func (s *Service) handleFollowUp(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "months")
	months, perr := strconv.Atoi(form.Get("months"))
	if perr != nil {
		form.Fail("months", "cases.follow_up.error.months")
	}
	var err error
	if !form.HasErrors() {
		err = s.SetFollowUp(c.UserContext(), int64(id), months)
	}
	return s.afterChange(c, form, err, "cases.flash.follow_up")
}

func (s *Service) handleInterim(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.NewForm().ReadText(c, "interim")
	var err error
	if !form.HasErrors() {
		err = s.InterimDone(c.UserContext(), int64(id), form.Get("interim"))
	}
	return s.afterChange(c, form, err, "cases.flash.interim")
}

func (s *Service) handleClose(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "outcome")
	var err error
	if !form.HasErrors() {
		err = s.Close(c.UserContext(), int64(id), form.Get("outcome"))
	}
	return s.afterChange(c, form, err, "cases.flash.closed")
}

// MineData is the Data of cases/mine.
type MineData struct {
	Case          *Case
	Plan          *PlanPage
	Advisor       string
	Interventions []EventView
	Looked        []LookView
}

// LookView is one staff read of the resident's data, as the resident sees
// it: who, their role, when, what and why.
type LookView struct {
	When, Who, Role, Action, Reason string
}

// handleMine is the resident's own view: the case in plain words, and who
// has looked at their data.
func (s *Service) handleMine(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := auth.CurrentUser(c)
	lang := frontend.Lang(c)
	list, err := s.OfResident(ctx, u.ID)
	if err != nil {
		return err
	}
	d := MineData{}
	if len(list) > 0 {
		cs := list[0]
		d.Case = &cs
		if cs.AdvisorID != nil {
			if a, err := s.users.ByID(ctx, *cs.AdvisorID); err == nil {
				d.Advisor = a.GivenName
			}
		}
		if d.Plan, err = s.planPage(c, cs.ID); err != nil {
			return err
		}
		evs, err := s.Timeline(ctx, &cs)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Kind == "intervention" {
				d.Interventions = append(d.Interventions, EventView{Field: e.Field, OnDate: e.OnDate})
			}
		}
	}
	rows, err := s.audit.OfResident(ctx, u.ID, 100)
	if err != nil {
		return err
	}
	for _, r := range rows {
		v := LookView{When: s.fe.DateTime(lang, r.At), Who: r.ActorName, Role: r.ActorRole, Action: r.Action, Reason: r.Reason}
		d.Looked = append(d.Looked, v)
	}
	return s.fe.Render(c, fiber.StatusOK, "cases/mine", frontend.Page{TitleKey: "cases.mine.title", Data: d})
}

// DeskSection is the desk's block: the advisor's open cases.
func (s *Service) DeskSection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	d := &SectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "cases.title", Template: "cases/desk-section", Lang: lang, Data: d}
	u := auth.CurrentUser(c)
	if u == nil || !u.Role.Staff() {
		return sec, nil
	}
	var n int64
	err := s.db.WithContext(c.UserContext()).Model(&Case{}).Where("status <> ? AND (advisor_id = ? OR colleague_id = ?)", StatusClosed, u.ID, u.ID).Count(&n).Error
	if err != nil {
		return sec, err
	}
	d.Count = n
	if d.Overdue, err = s.OverdueCases(c.UserContext(), u.ID); err != nil {
		return sec, err
	}
	d.Due, err = s.DueThisWeek(c.UserContext(), u.ID)
	return sec, err
}

// MySection is the resident's block on Oma asiointi: a link to their case
// and to who has looked at their data.
func (s *Service) MySection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	return frontend.Section{TitleKey: "cases.mine.title", Template: "cases/my-section", Lang: lang,
		Data: &SectionData{Translator: s.fe.Translator(lang)}}, nil
}

// SectionData is the Data of the sections.
type SectionData struct {
	frontend.Translator
	Count   int64
	Overdue int   // own cases with an overdue instalment
	Due     int64 // own follow-ups and interim assessments due within a week
}
