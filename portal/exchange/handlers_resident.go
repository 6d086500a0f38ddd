package exchange

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// IndexData is the Data of exchange/index.
type IndexData struct {
	Draft *AppRow
	Sent  []AppRow
}

// AppRow is an application in a list.
type AppRow struct {
	ID        int64
	Ref       string
	Status    Status
	StepKey   string // the draft's next step, as a title key
	URL       string
	Sent      string // date
	Updated   string
	ReasonKey []string
}

func (s *Service) handleIndex(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	list, err := s.Mine(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	v := frontend.Lang(c)
	d := IndexData{}
	for i := range list {
		row := s.row(v, &list[i])
		if list[i].Status == StatusDraft {
			d.Draft = &row
		} else {
			d.Sent = append(d.Sent, row)
		}
	}
	return s.fe.Render(c, fiber.StatusOK, "exchange/index", frontend.Page{TitleKey: "exchange.title", Data: d})
}

func (s *Service) row(lang string, a *Application) AppRow {
	r := AppRow{ID: a.ID, Ref: Reference(a.ID), Status: a.Status, Updated: s.fe.DateTime(lang, a.UpdatedAt)}
	if a.Status == StatusDraft {
		r.StepKey = "exchange.step." + a.Step
		r.URL = "/exchange/" + itoa(a.ID) + "/" + a.Step
	} else {
		r.URL = "/exchange/" + itoa(a.ID)
	}
	if a.SentAt != nil {
		r.Sent = s.fe.DateTime(lang, *a.SentAt)
	}
	for _, k := range a.Answers().Reasons.Chosen {
		r.ReasonKey = append(r.ReasonKey, "exchange.reason."+k)
	}
	return r
}

func (s *Service) handleStart(c *fiber.Ctx) error {
	a, err := s.Start(c.UserContext(), auth.CurrentUser(c).ID, frontend.Lang(c))
	if err != nil {
		return err
	}
	return c.Redirect("/exchange/"+itoa(a.ID)+"/"+a.Step, fiber.StatusSeeOther)
}

// StepData is the Data of exchange/step.
type StepData struct {
	ID        int64
	Ref       string
	Step      string
	Number    int // 1-based; len(Steps)+1 is the summary
	Count     int
	Nav       []StepLink
	Checked   map[string]bool // "group.value" of checked boxes
	Reasons   []string
	Crisis    []string
	Needs     []string
	Landlords []string
	Files     []FileRow
	Limits    Limits
	Blocks    []Block // the summary
	Prev      string  // URL of the previous step, "" on the first
}

// StepLink is one step in the step indicator.
type StepLink struct {
	Name, TitleKey, URL string
	Done, Current       bool
	Reachable           bool
}

// FileRow is an attachment in a list.
type FileRow struct {
	ID         int64
	Name, Size string
	TypeKey    string
	URL        string
}

// Limits are the attachment limits, as shown before uploading.
type Limits struct {
	FileSize, TotalSize string
	Files               int
}

func (s *Service) ownFromParams(c *fiber.Ctx) (*Application, error) {
	id, err := c.ParamsInt("id")
	if err != nil {
		return nil, errNotFound
	}
	return s.Own(c.UserContext(), auth.CurrentUser(c).ID, int64(id))
}

func (s *Service) handleStep(c *fiber.Ctx) error {
	a, err := s.ownFromParams(c)
	if err != nil {
		return err
	}
	step := c.Params("step")
	if a.Sent() {
		return c.Redirect("/exchange/"+itoa(a.ID), fiber.StatusSeeOther)
	}
	if stepIndex(step) < 0 {
		return errNotFound
	}
	if stepIndex(step) > stepIndex(a.Step) {
		// Steps are filled in order: a later one is not open yet.
		return c.Redirect("/exchange/"+itoa(a.ID)+"/"+a.Step, fiber.StatusSeeOther)
	}
	form := frontend.NewForm()
	ans := a.Answers()
	if st, ok := steps[step]; ok {
		st.load(form, &ans)
	}
	return s.renderStep(c, fiber.StatusOK, a, step, form)
}

func (s *Service) renderStep(c *fiber.Ctx, status int, a *Application, step string, form *frontend.Form) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	d := StepData{
		ID: a.ID, Ref: Reference(a.ID), Step: step, Number: stepIndex(step) + 1, Count: len(Steps) + 1,
		Checked: map[string]bool{}, Reasons: Reasons, Crisis: CrisisKinds, Needs: Needs, Landlords: Landlords,
		Limits: Limits{FileSize: sizeText(s.cfg.MaxFileBytes), TotalSize: sizeText(s.cfg.MaxTotalBytes), Files: s.cfg.MaxFiles},
	}
	for _, name := range append(slices.Clone(Steps), stepSummary) {
		d.Nav = append(d.Nav, StepLink{
			Name: name, TitleKey: "exchange.step." + name, URL: "/exchange/" + itoa(a.ID) + "/" + name,
			Done: stepIndex(name) < stepIndex(a.Step), Current: name == step, Reachable: stepIndex(name) <= stepIndex(a.Step),
		})
	}
	if i := stepIndex(step); i > 0 {
		d.Prev = "/exchange/" + itoa(a.ID) + "/" + stepAt(i-1)
	}
	if st, ok := steps[step]; ok {
		for _, g := range st.multi {
			for _, v := range strings.Split(form.Get(g), ",") {
				if v != "" {
					d.Checked[g+"."+v] = true
				}
			}
		}
	}
	if step == "reasons" || step == stepSummary {
		list, err := s.Attachments(ctx, a)
		if err != nil {
			return err
		}
		d.Files = fileRows(list, "/exchange/"+itoa(a.ID))
	}
	if step == stepSummary {
		d.Blocks = blocks(s.tr(lang), a.Answers())
	}
	return s.fe.Render(c, status, "exchange/step", frontend.Page{
		TitleKey: "exchange.step." + step, Data: d, Form: form,
	})
}

func fileRows(list []files.File, base string) []FileRow {
	out := make([]FileRow, len(list))
	for i, f := range list {
		out[i] = FileRow{
			ID: f.ID, Name: f.Name, Size: sizeText(f.Size), TypeKey: "exchange.filetype." + typeWord(f.ContentType),
			URL: base + "/attachments/" + itoa(f.ID),
		}
	}
	return out
}

func typeWord(ct string) string {
	switch ct {
	case "application/pdf":
		return "pdf"
	case "image/jpeg":
		return "jpeg"
	case "image/png":
		return "png"
	}
	return "unknown"
}

// handleSaveStep saves one step; "next" goes on, "later" saves and
// returns to Oma asiointi. Bad input shows the step again with the
// messages and changes nothing.
func (s *Service) handleSaveStep(c *fiber.Ctx) error {
	a, err := s.ownFromParams(c)
	if err != nil {
		return err
	}
	step := c.Params("step")
	st, ok := steps[step]
	if !ok {
		return errNotFound
	}
	if a.Sent() {
		return problem.E(problem.Conflict, "exchange.error.already_sent")
	}
	if stepIndex(step) > stepIndex(a.Step) {
		return c.Redirect("/exchange/"+itoa(a.ID)+"/"+a.Step, fiber.StatusSeeOther)
	}
	form := frontend.ReadForm(c, st.lines...).ReadText(c, st.texts...)
	args := c.Request().PostArgs()
	for _, g := range st.multi {
		var vals []string
		for _, v := range args.PeekMulti(g) {
			vals = append(vals, string(v)) // string(): a copy, the buffer is reused
		}
		form.SetLine(g, strings.Join(vals, ","))
	}
	ans := a.Answers()
	st.store(form, &ans, s.today())
	if form.HasErrors() {
		return s.renderStep(c, fiber.StatusUnprocessableEntity, a, step, form)
	}
	if _, err := s.SaveStep(c.UserContext(), a.ResidentID, a.ID, step, ans); err != nil {
		return err
	}
	if c.FormValue("action") == "later" {
		s.fe.Flash(c, "exchange.flash.saved")
		return c.Redirect("/my", fiber.StatusSeeOther)
	}
	return c.Redirect("/exchange/"+itoa(a.ID)+"/"+stepAt(stepIndex(step)+1), fiber.StatusSeeOther)
}

func (s *Service) handleSend(c *fiber.Ctx) error {
	a, err := s.ownFromParams(c)
	if err != nil {
		return err
	}
	if _, err := s.Send(c.UserContext(), a.ResidentID, a.ID); err != nil {
		if p, ok := problem.As(err); ok && p.Kind == problem.Invalid {
			for step := range p.Fields {
				form := frontend.NewForm()
				ans := a.Answers()
				steps[step].load(form, &ans)
				steps[step].store(form, &ans, s.today())
				form.Fail("summary", "exchange.error.incomplete")
				return s.renderStep(c, fiber.StatusUnprocessableEntity, a, step, form)
			}
		}
		return err
	}
	s.fe.Flash(c, "exchange.flash.sent")
	return c.Redirect("/exchange/"+itoa(a.ID), fiber.StatusSeeOther)
}

// handleUpload streams one or more attachments into the files store. The
// body is never held whole: the CSRF token is the first part, and each
// file is cut at its limit while it streams.
func (s *Service) handleUpload(c *fiber.Ctx) error {
	a, err := s.ownFromParams(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	saved := 0
	err = files.ReadMultipart(c, s.cfg.MaxTotalBytes+(1<<20),
		func(token string) bool { return s.csrf != nil && s.csrf(c, token) },
		func(string, string) error { return nil },
		func(field, filename string, r io.Reader) error {
			if field != "attachment" {
				_, err := io.Copy(io.Discard, r)
				return err
			}
			if filename == "" {
				return nil // the form sent with no file chosen
			}
			if _, err := s.Attach(ctx, a.ResidentID, a.ID, filename, r); err != nil {
				return err
			}
			saved++
			return nil
		})
	if err != nil {
		if problem.Is(err, problem.Forbidden) || problem.Is(err, problem.NotFound) || problem.KindOf(err) == problem.Internal {
			return err
		}
		status, key := frontend.Problem(err)
		form := frontend.NewForm()
		ans := a.Answers()
		steps["reasons"].load(form, &ans)
		form.Fail("attachment", key)
		return s.renderStep(c, status, a, "reasons", form)
	}
	if saved == 0 {
		form := frontend.NewForm()
		ans := a.Answers()
		steps["reasons"].load(form, &ans)
		form.Fail("attachment", "exchange.error.no_file")
		return s.renderStep(c, fiber.StatusUnprocessableEntity, a, "reasons", form)
	}
	s.fe.Flash(c, "exchange.flash.attached")
	return c.Redirect("/exchange/"+itoa(a.ID)+"/reasons#attachments", fiber.StatusSeeOther)
}

func (s *Service) handleDetach(c *fiber.Ctx) error {
	a, err := s.ownFromParams(c)
	if err != nil {
		return err
	}
	fid, err := c.ParamsInt("file")
	if err != nil {
		return errNotFound
	}
	if err := s.Detach(c.UserContext(), a.ResidentID, a.ID, int64(fid)); err != nil {
		return err
	}
	s.fe.Flash(c, "exchange.flash.removed")
	return c.Redirect("/exchange/"+itoa(a.ID)+"/reasons#attachments", fiber.StatusSeeOther)
}

func (s *Service) handleOwnDownload(c *fiber.Ctx) error {
	id, err1 := c.ParamsInt("id")
	fid, err2 := c.ParamsInt("file")
	if err1 != nil || err2 != nil {
		return errNotFound
	}
	f, rc, err := s.OwnAttachment(c.UserContext(), auth.CurrentUser(c).ID, int64(id), int64(fid))
	if err != nil {
		return err
	}
	return files.SendDownload(c, f, rc) // closes rc once sent
}

// ShowData is the Data of exchange/show.
type ShowData struct {
	App    AppRow
	Events []EventRow
	Blocks []Block
	Files  []FileRow
}

// EventRow is a change of status as the resident sees it.
type EventRow struct {
	When      string
	StatusKey string
	Message   string
}

func (s *Service) handleShow(c *fiber.Ctx) error {
	a, err := s.ownFromParams(c)
	if err != nil {
		return err
	}
	if !a.Sent() {
		return c.Redirect("/exchange/"+itoa(a.ID)+"/"+a.Step, fiber.StatusSeeOther)
	}
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	evs, err := s.Events(ctx, a.ID)
	if err != nil {
		return err
	}
	list, err := s.Attachments(ctx, a)
	if err != nil {
		return err
	}
	d := ShowData{App: s.row(lang, a), Blocks: blocks(s.tr(lang), a.Answers()), Files: fileRows(list, "/exchange/"+itoa(a.ID))}
	for i := len(evs) - 1; i >= 0; i-- {
		d.Events = append(d.Events, EventRow{When: s.fe.DateTime(lang, evs[i].CreatedAt), StatusKey: "exchange.status." + string(evs[i].Status), Message: evs[i].Message})
	}
	return s.fe.Render(c, fiber.StatusOK, "exchange/show", frontend.Page{TitleKey: "exchange.title", Data: d})
}

func (s *Service) handleCopy(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	var buf bytes.Buffer
	if err := s.CopyPDF(c.UserContext(), auth.CurrentUser(c).ID, int64(id), frontend.Lang(c), &buf); err != nil {
		return err
	}
	return sendPDF(c, Reference(int64(id))+".pdf", buf.Bytes())
}

// sendPDF sends a generated PDF as a download.
func sendPDF(c *fiber.Ctx, name string, b []byte) error {
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Set(fiber.HeaderContentLength, strconv.Itoa(len(b)))
	return c.Send(b)
}
