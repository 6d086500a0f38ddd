package cases

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
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
	r.Post("/desk/cases/new/client", staff, s.handleClient)
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
	s.registerErasure(r)
	s.registerOutreach(r)
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
	// Show is the desk's filter of the actor's own cases: "due" (follow-up
	// or interim assessment within a week), "overdue" (a plan behind), ""
	// for the region's list.
	Show string
}

func (s *Service) handleList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	closed := c.Query("closed") == "1"
	show := c.Query("show")
	var list []Case
	var err error
	switch show {
	case "due":
		err = s.dueThisWeek(ctx, auth.CurrentUser(c).ID).Order("id").Limit(300).Find(&list).Error
	case "overdue":
		var ids []int64
		if ids, err = s.overdueCaseIDs(ctx, auth.CurrentUser(c).ID); err == nil && len(ids) > 0 {
			err = s.db.WithContext(ctx).Where("id IN ?", ids).Order("id").Find(&list).Error
		}
	default:
		show = ""
		list, err = s.Region(ctx, closed, 300)
	}
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
	d := ListData{Closed: closed, Show: show}
	for _, cs := range list {
		r := Row{ID: cs.ID, Updated: s.fe.DateTime(lang, cs.UpdatedAt), Reason: cs.Reason, Status: string(cs.Status),
			Debt: FormatCents(cs.DebtCents, lang), EvictionDate: cs.EvictionDate, Mine: cs.AdvisorID != nil && *cs.AdvisorID == me}
		if p := people[cs.ResidentID]; p != nil {
			r.Resident = s.personName(lang, p)
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
	// Chosen is the resident preselected: the item's, or the client
	// just recorded.
	Chosen int64
	// Origin is the item the case is opened from (nil: by hand); From
	// and OriginID carry it through the page's forms.
	Origin   *Origin
	From     string
	OriginID int64
	// Notice is a translation key said above the choice (the person was
	// already recorded).
	Notice string
}

// ResidentChoice is a resident found to open a case for.
type ResidentChoice struct {
	ID                int64
	Name, Email, Post string
	Identity          string // the identity code masked, "" if none
	NotLoggedIn       bool   // a client record: the person has not logged in yet
}

func choice(u *auth.User) ResidentChoice {
	return ResidentChoice{ID: u.ID, Name: u.Name, Email: u.Email, Post: u.PostalCode,
		Identity: auth.MaskIdentityCode(u.IdentityCode), NotLoggedIn: u.IsClientRecord()}
}

// newPage reads the item a case is opened from (?from=&id= on the first
// GET, hidden fields after), and prefills the form from it.
func (s *Service) newPage(c *fiber.Ctx, form *frontend.Form) (*NewData, error) {
	d := &NewData{Lists: lists()}
	from, idText := c.Query("from"), c.Query("id")
	if c.Method() == fiber.MethodPost {
		from, idText = c.FormValue("from"), c.FormValue("origin")
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	o, err := s.origin(c.UserContext(), from, id)
	if err != nil || o == nil {
		return d, err
	}
	d.Origin, d.From, d.OriginID = o, o.Kind, o.ID
	{ // the posted values, read after this, win
		form.Set("reason", o.Reason)
		form.Set("referrer", o.Referrer)
		form.Set("eviction_date", o.EvictionDate)
		form.Set("name", o.Name)
		form.Set("street_address", o.StreetAddress)
		form.Set("postal_code", o.PostalCode)
		form.Set("phone", o.Phone)
	}
	if o.ResidentID != 0 {
		u, err := s.users.ByID(c.UserContext(), o.ResidentID)
		if err != nil {
			return nil, err
		}
		if err := s.audit.Record(c.UserContext(), u.ID, audit.CaseResidentFromItem, o.Kind+"/"+itoa(o.ID), audit.ReasonCaseWork); err != nil {
			return nil, err
		}
		d.Residents, d.Chosen = []ResidentChoice{choice(u)}, u.ID
	}
	return d, nil
}

func (s *Service) handleNewForm(c *fiber.Ctx) error {
	form := frontend.NewForm()
	d, err := s.newPage(c, form)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if c.Method() == fiber.MethodGet && d.Chosen != 0 {
		// The resident has a case already: the item leads to it.
		var open Case
		err := s.db.WithContext(c.UserContext()).Where("resident_id = ? AND status <> ?", d.Chosen, StatusClosed).Order("id DESC").Limit(1).Find(&open).Error
		if err != nil {
			return err
		}
		if open.ID != 0 {
			return c.Redirect("/desk/cases/"+itoa(open.ID)+"?why=work", fiber.StatusSeeOther)
		}
	}
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
			found, err := s.findResidents(c.UserContext(), q)
			if err != nil {
				return err
			}
			d.Searched, d.Residents = true, nil
			for i := range found {
				d.Residents = append(d.Residents, choice(&found[i]))
			}
		}
	}
	return s.fe.Render(c, status, "cases/new", frontend.Page{TitleKey: "cases.new.title", Data: d, Form: form})
}

// findResidents finds residents by identity code, when q is one, or by
// name or e-mail.
func (s *Service) findResidents(ctx context.Context, q string) ([]auth.User, error) {
	if _, ok := auth.NormalizeIdentityCode(q); ok {
		u, err := s.users.ByIdentityCode(ctx, q)
		if errors.Is(err, auth.ErrNotFound) || (err == nil && u.Role != auth.RoleResident) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []auth.User{*u}, nil
	}
	return s.users.Search(ctx, auth.RoleResident, q, 20)
}

// handleClient records a person who has not logged in and offers them as
// the case's resident.
func (s *Service) handleClient(c *fiber.Ctx) error {
	form := frontend.NewForm()
	d, err := s.newPage(c, form)
	if err != nil {
		return err
	}
	form.Read(c, "name", "identity_code", "street_address", "postal_code", "phone", "email")
	rec := auth.ClientRecord{Name: form.Get("name"), IdentityCode: form.Get("identity_code"), StreetAddress: form.Get("street_address"),
		PostalCode: form.Get("postal_code"), Phone: form.Get("phone"), Email: form.Get("email"), Lang: frontend.Lang(c)}
	u, existed, err := s.CreateClient(c.UserContext(), rec)
	if err != nil {
		status, ferr := failFields(form, err)
		if ferr != nil {
			return ferr
		}
		return s.fe.Render(c, status, "cases/new", frontend.Page{TitleKey: "cases.new.title", Data: d, Form: form})
	}
	if err := s.audit.Record(c.UserContext(), u.ID, audit.ClientRecordCreate, "users/"+itoa(u.ID), audit.ReasonCaseWork); err != nil {
		return err
	}
	d.Residents, d.Chosen = []ResidentChoice{choice(u)}, u.ID
	if existed {
		d.Notice = "cases.client.existed"
	} else {
		s.fe.Flash(c, "cases.client.recorded")
	}
	for _, f := range []string{"name", "identity_code", "street_address", "postal_code", "phone", "email"} {
		form.Set(f, "")
	}
	return s.fe.Render(c, fiber.StatusOK, "cases/new", frontend.Page{TitleKey: "cases.new.title", Data: d, Form: form})
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
	d, err := s.newPage(c, form)
	if err != nil {
		return err
	}
	f := readFields(c, form)
	resident, _ := strconv.ParseInt(c.FormValue("resident"), 10, 64) // junk or none: 0, refused by Open
	if !form.HasErrors() {
		cs, err := s.OpenFrom(c.UserContext(), resident, f, d.Origin)
		if err == nil {
			s.fe.Flash(c, "cases.flash.opened")
			return c.Redirect("/desk/cases/"+itoa(cs.ID)+"?why=work", fiber.StatusSeeOther)
		}
		if _, ferr := failFields(form, err); ferr != nil {
			return ferr
		}
	}
	if resident != 0 && d.Chosen == 0 {
		if u, err := s.users.ByID(c.UserContext(), resident); err == nil && u.Role == auth.RoleResident {
			d.Residents, d.Chosen = []ResidentChoice{choice(u)}, u.ID
		}
	}
	return s.fe.Render(c, fiber.StatusUnprocessableEntity, "cases/new", frontend.Page{TitleKey: "cases.new.title", Data: d, Form: form})
}

// ShowData is the Data of cases/show and cases/reason.
type ShowData struct {
	Lists
	Case     *Case
	Resident string
	Email    string
	// Person is the resident as staff see them (identity code masked,
	// whether they have logged in); Address and Phone from the record.
	Person         ResidentChoice
	Address, Phone string
	Advisor        string
	Colleague      string
	Debt           string
	Timeline       []EventView
	Plan           *PlanPage
	Crisis         *CrisisPage // the crisis-accommodation path and the partners
	Reason         string      // why the case was opened (the access log's), kept in ?why=
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
		d.Resident, d.Email = s.personName(lang, p), p.Email
		d.Person = choice(p)
		d.Address = strings.TrimSpace(p.StreetAddress + " " + p.PostalCode)
		d.Phone = p.Phone
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
	d.Count, d.Admin = n, u.Role == auth.RoleAdmin
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
	Admin   bool  // links to the erasure of cases past their retention
}

// personName is how staff pages name a case's person: an erased case's
// empty person is said to be erased.
func (s *Service) personName(lang string, p *auth.User) string {
	if p.Issuer == ErasedIssuer {
		return s.fe.T(lang, "cases.erasure.person")
	}
	return p.Name
}
