package exchange

import (
	"bytes"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// DeskListData is the Data of exchange/desk-list.
type DeskListData struct {
	Rows     []DeskRow
	Statuses []Status
	Reasons  []string
	Status   string
	Reason   string
}

// DeskRow is an application on the desk's list.
type DeskRow struct {
	AppRow
	ResidentName string
	Special      string // "", "yes", "no"
}

func (s *Service) handleDeskList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	// Status and reason are not personal data: they may be in the URL.
	f := DeskFilter{Status: validStatusFilter(c.Query("status")), Reason: validReasonFilter(c.Query("reason"))}
	list, err := s.Desk(ctx, f)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ResidentID
	}
	// The list names residents and their reasons: logged like an opening.
	if err := s.audit.RecordList(ctx, ids, audit.ExchangeView, "exchange/desk", audit.ReasonDeskList); err != nil {
		return err
	}
	people, err := s.names(ctx, ids)
	if err != nil {
		return err
	}
	d := DeskListData{Statuses: Statuses, Reasons: Reasons, Status: string(f.Status), Reason: f.Reason}
	for i := range list {
		a := &list[i]
		r := DeskRow{AppRow: s.row(lang, a)}
		r.URL = "/desk/exchange/" + itoa(a.ID)
		if p := people[a.ResidentID]; p != nil {
			r.ResidentName = p.Name
		}
		if a.SpecialSupport != nil {
			r.Special = map[bool]string{true: "yes", false: "no"}[*a.SpecialSupport]
		}
		d.Rows = append(d.Rows, r)
	}
	return s.fe.Render(c, fiber.StatusOK, "exchange/desk-list", frontend.Page{TitleKey: "exchange.desk.title", Data: d})
}

// DeskShowData is the Data of exchange/desk-show.
type DeskShowData struct {
	App          AppRow
	ResidentName string
	Email, Phone string
	WantsHelp    bool
	Consent      bool
	Blocks       []Block
	Assessment   Block
	Files        []FileRow
	Events       []DeskEvent
	Criteria     []string
	Urgencies    []string
	Checked      map[string]bool
	Deliveries   []DeliveryRow
	CanAssess    bool
	CanForward   bool
	CanOffer     bool
	CanClose     bool
}

// DeskEvent is a change of status with who made it.
type DeskEvent struct {
	EventRow
	Actor string
}

// DeliveryRow is one attempt to deliver the package to the webhook.
type DeliveryRow struct {
	Delivered string
	Attempts  int
	LastError string
}

func (s *Service) handleDeskShow(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	a, err := s.ForStaff(c.UserContext(), int64(id))
	if err != nil {
		return err
	}
	form := frontend.NewForm()
	j := a.Justification()
	if a.SpecialSupport != nil {
		form.Set("special", map[bool]string{true: "yes", false: "no"}[*a.SpecialSupport])
	}
	form.Set("why", j.Why)
	form.Set("statement", j.Statement)
	form.Set("urgency", j.Urgency)
	form.Set("criteria", strings.Join(j.Criteria, ","))
	return s.renderDesk(c, fiber.StatusOK, a, form)
}

func (s *Service) renderDesk(c *fiber.Ctx, status int, a *Application, form *frontend.Form) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	t := s.tr(lang)
	res, err := s.users.ByID(ctx, a.ResidentID)
	if err != nil {
		return err
	}
	ans := a.Answers()
	d := DeskShowData{
		App: s.row(lang, a), ResidentName: res.Name, Email: res.Email, Phone: res.Phone,
		WantsHelp: ans.WantsHelp == "yes", Consent: ans.Consent,
		Blocks: blocks(t, ans), Assessment: justificationBlock(t, a.SpecialSupport, a.Justification()),
		Criteria: Criteria, Urgencies: Urgencies, Checked: map[string]bool{},
		CanAssess:  a.Status != StatusClosed && a.Status != StatusOfferMade,
		CanForward: a.Status == StatusInAssessment && ans.Consent,
		CanOffer:   a.Status == StatusForwarded,
		CanClose:   a.Status != StatusClosed,
	}
	for _, v := range strings.Split(form.Get("criteria"), ",") {
		if v != "" {
			d.Checked["criteria."+v] = true
		}
	}
	list, err := s.Attachments(ctx, a)
	if err != nil {
		return err
	}
	d.Files = fileRows(list, "/desk/exchange/"+itoa(a.ID))
	evs, err := s.Events(ctx, a.ID)
	if err != nil {
		return err
	}
	var actors []int64
	for _, e := range evs {
		if e.ActorID != nil {
			actors = append(actors, *e.ActorID)
		}
	}
	people, err := s.names(ctx, actors)
	if err != nil {
		return err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		row := DeskEvent{EventRow: EventRow{When: s.fe.DateTime(lang, e.CreatedAt), StatusKey: "exchange.status." + string(e.Status), Message: e.Message}}
		if e.ActorID != nil && people[*e.ActorID] != nil {
			row.Actor = people[*e.ActorID].Name
		} else if e.ActorID == nil {
			row.Actor = res.Name
		}
		d.Events = append(d.Events, row)
	}
	dels, err := s.Deliveries(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, dl := range dels {
		r := DeliveryRow{Attempts: dl.Attempts, LastError: dl.LastError}
		if dl.DeliveredAt != nil {
			r.Delivered = s.fe.DateTime(lang, *dl.DeliveredAt)
		}
		d.Deliveries = append(d.Deliveries, r)
	}
	return s.fe.Render(c, status, "exchange/desk-show", frontend.Page{TitleKey: "exchange.desk.application", Data: d, Form: form})
}

// handleAssess saves the assessment. Bad input shows the page again with
// the messages and changes nothing.
func (s *Service) handleAssess(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	ctx := c.UserContext()
	form := frontend.ReadForm(c, "special", "urgency").ReadText(c, "why", "statement", "message")
	var crit []string
	for _, v := range c.Request().PostArgs().PeekMulti("criteria") {
		crit = append(crit, string(v))
	}
	form.SetLine("criteria", strings.Join(crit, ","))
	special := oneOf(form, "special", []string{"yes", "no"}, true) == "yes"
	j := Justification{Criteria: choices(form, "criteria", Criteria)}
	if special {
		if len(j.Criteria) == 0 && form.Error("criteria") == "" {
			form.Fail("criteria", "exchange.error.criteria")
		}
		j.Why = required(form, "why", 4000)
		j.Statement = required(form, "statement", 4000)
		j.Urgency = oneOf(form, "urgency", Urgencies, true)
	}
	msg := optional(form, "message", 2000)
	if form.HasErrors() {
		a, err := s.ForStaff(ctx, int64(id))
		if err != nil {
			return err
		}
		return s.renderDesk(c, fiber.StatusUnprocessableEntity, a, form)
	}
	if err := s.Assess(ctx, int64(id), Assessment{SpecialSupport: special, Justification: j, Message: msg}); err != nil {
		return err
	}
	s.fe.Flash(c, "exchange.flash.assessed")
	return c.Redirect("/desk/exchange/"+itoa(int64(id)), fiber.StatusSeeOther)
}

func (s *Service) handleForward(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	form := frontend.NewForm().ReadText(c, "forward_message")
	msg := optional(form, "forward_message", 2000)
	if form.HasErrors() {
		return problem.Field("forward_message", form.Error("forward_message"))
	}
	if err := s.Forward(c.UserContext(), int64(id), msg); err != nil {
		return err
	}
	s.fe.Flash(c, "exchange.flash.forwarded")
	return c.Redirect("/desk/exchange/"+itoa(int64(id)), fiber.StatusSeeOther)
}

func (s *Service) handleOutcome(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	form := frontend.ReadForm(c, "status").ReadText(c, "outcome_message")
	msg := optional(form, "outcome_message", 2000)
	if form.HasErrors() {
		return problem.Field("outcome_message", form.Error("outcome_message"))
	}
	if err := s.SetOutcome(c.UserContext(), int64(id), Status(form.Get("status")), msg); err != nil {
		return err
	}
	s.fe.Flash(c, "exchange.flash.status")
	return c.Redirect("/desk/exchange/"+itoa(int64(id)), fiber.StatusSeeOther)
}

func (s *Service) handlePackagePDF(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	var buf bytes.Buffer
	if err := s.PackagePDF(c.UserContext(), int64(id), frontend.Lang(c), &buf); err != nil {
		return err
	}
	return sendPDF(c, Reference(int64(id))+"-package.pdf", buf.Bytes())
}

func (s *Service) handlePackageJSON(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	var buf bytes.Buffer
	if err := s.PackageJSON(c.UserContext(), int64(id), &buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+Reference(int64(id))+`-package.json"`)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(buf.Bytes())
}

func (s *Service) handleStaffDownload(c *fiber.Ctx) error {
	id, err1 := c.ParamsInt("id")
	fid, err2 := c.ParamsInt("file")
	if err1 != nil || err2 != nil {
		return errNotFound
	}
	f, rc, err := s.StaffAttachment(c.UserContext(), int64(id), int64(fid))
	if err != nil {
		return err
	}
	return files.SendDownload(c, f, rc) // closes rc once sent
}

// DeskSectionData is the Data of exchange/desk-section.
type DeskSectionData struct {
	frontend.Translator
	New int64
}

// DeskSection is the desk's block: how many applications wait for
// assessment in the advisor's region.
func (s *Service) DeskSection(c *fiber.Ctx) (frontend.Section, error) {
	sec := frontend.Section{TitleKey: "exchange.desk.title", Template: "exchange/desk-section", Lang: frontend.Lang(c)}
	region, err := s.staffRegion(c.UserContext())
	if err != nil || region < 0 {
		sec.Data = DeskSectionData{Translator: s.fe.Translator(sec.Lang)}
		return sec, err
	}
	n, err := s.store.CountNew(c.UserContext(), region)
	sec.Data = DeskSectionData{Translator: s.fe.Translator(sec.Lang), New: n}
	return sec, err
}

// MySectionData is the Data of exchange/my-section.
type MySectionData struct {
	frontend.Translator
	Rows []AppRow
}

// MySection is the resident's block on Oma asiointi: the draft to
// continue and the sent applications with their status.
func (s *Service) MySection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	sec := frontend.Section{TitleKey: "exchange.my.title", Template: "exchange/my-section", Lang: lang}
	u := auth.CurrentUser(c)
	d := MySectionData{Translator: s.fe.Translator(lang)}
	sec.Data = &d
	if u == nil || u.Role != auth.RoleResident {
		return sec, nil
	}
	list, err := s.Mine(c.UserContext(), u.ID)
	if err != nil {
		return sec, err
	}
	for i := range list {
		d.Rows = append(d.Rows, s.row(lang, &list[i]))
	}
	return sec, nil
}
