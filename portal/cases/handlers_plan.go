package cases

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// PlanPage is a plan as the case page and the resident's page show it.
type PlanPage struct {
	Total, Instalment, Paid, Remaining, Overpaid, Overdue string
	DueDay                                                int
	Start, Reference                                      string
	Rows                                                  []PlanRow
	Completed                                             bool
	OverdueCount                                          int
}

// PlanRow is one instalment.
type PlanRow struct {
	N                   int
	Due, Amount, PaidAt string
	Paid, Overdue       bool
	PaidCents           string
}

func (s *Service) planPage(c *fiber.Ctx, caseID int64) (*PlanPage, error) {
	v, err := s.planView(c.UserContext(), caseID)
	if err != nil || v == nil {
		return nil, err
	}
	lang := frontend.Lang(c)
	st := v.Status
	p := &PlanPage{
		Total: FormatCents(v.Plan.TotalCents, lang), Instalment: FormatCents(v.Plan.InstalmentCents, lang), DueDay: v.Plan.DueDay,
		Start: v.Plan.StartDate, Reference: v.Plan.Reference, Paid: FormatCents(st.PaidCents, lang),
		Remaining: FormatCents(st.RemainingCents, lang), Overdue: FormatCents(st.OverdueCents, lang),
		Completed: v.Completed, OverdueCount: v.Overdue,
	}
	if st.OverpaidCents > 0 {
		p.Overpaid = FormatCents(st.OverpaidCents, lang)
	}
	for _, i := range st.Instalments {
		r := PlanRow{N: i.N, Due: i.Due.String(), Amount: FormatCents(i.AmountCents, lang), Paid: i.Paid, Overdue: i.Overdue, PaidCents: FormatCents(i.PaidCents, lang)}
		if i.Paid {
			r.PaidAt = i.PaidOn.String()
		}
		p.Rows = append(p.Rows, r)
	}
	return p, nil
}

func (s *Service) handlePlan(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id") // the route's constraint made it a number
	form := frontend.ReadForm(c, "total", "instalment", "due_day", "start", "plan_reference")
	var p Plan
	var err error
	if !form.HasErrors() {
		p, err = readPlan(form)
	}
	if err == nil && !form.HasErrors() {
		err = s.SetPlan(c.UserContext(), int64(id), p, form.Get("plan_reference"))
	}
	return s.afterChange(c, form, err, "cases.flash.plan")
}

// readPlan reads the plan fields; what does not parse is marked on the
// form, and Validate judges the rest.
func readPlan(form *frontend.Form) (Plan, error) {
	var p Plan
	var bad bool
	money := func(field string) int64 {
		v, err := ParseEuros(form.Get(field))
		if err != nil {
			form.Fail(field, "cases.plan.error.amount")
			bad = true
		}
		return v
	}
	p.TotalCents, p.InstalmentCents = money("total"), money("instalment")
	day, err := strconv.Atoi(form.Get("due_day"))
	if err != nil {
		form.Fail("due_day", "cases.plan.error.due_day")
		bad = true
	}
	p.DueDay = day
	if p.Start, err = ParseDate(form.Get("start")); err != nil {
		form.Fail("start", "cases.plan.error.start")
		bad = true
	}
	if bad {
		return p, nil
	}
	return p, p.Validate()
}

func (s *Service) handlePayment(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "paid_on", "amount")
	cents, perr := ParseEuros(form.Get("amount"))
	if perr != nil {
		form.Fail("amount", "cases.plan.error.amount")
	}
	var err error
	if !form.HasErrors() {
		err = s.AddPayment(c.UserContext(), int64(id), form.Get("paid_on"), cents)
	}
	return s.afterChange(c, form, err, "cases.flash.payment")
}

// ImportData is the Data of cases/import.
type ImportData struct {
	Result *ImportResult
	Lines  []LineError
}

func (s *Service) handleImportForm(c *fiber.Ctx) error {
	return s.fe.Render(c, fiber.StatusOK, "cases/import", frontend.Page{TitleKey: "cases.import.title", Data: ImportData{}})
}

// handleImport reads the uploaded payment list (small: the body guard's
// limit) and reports what was recorded, or every bad line.
func (s *Service) handleImport(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	form := frontend.NewForm()
	if err != nil {
		form.Fail("file", "cases.import.error.no_file")
		return s.fe.Render(c, fiber.StatusUnprocessableEntity, "cases/import", frontend.Page{TitleKey: "cases.import.title", Data: ImportData{}, Form: form})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read-only
	res, err := s.ImportPayments(c.UserContext(), f)
	var ce *CSVError
	if errors.As(err, &ce) {
		form.Fail("file", "cases.import.error.bad_lines")
		return s.fe.Render(c, fiber.StatusUnprocessableEntity, "cases/import", frontend.Page{TitleKey: "cases.import.title", Data: ImportData{Lines: ce.Lines}, Form: form})
	}
	if p, ok := problem.As(err); ok && p.Kind == problem.Invalid {
		form.Fail("file", "cases.import.error.bad_lines")
		return s.fe.Render(c, fiber.StatusUnprocessableEntity, "cases/import", frontend.Page{TitleKey: "cases.import.title", Data: ImportData{}, Form: form})
	}
	if err != nil {
		return err
	}
	return s.fe.Render(c, fiber.StatusOK, "cases/import", frontend.Page{TitleKey: "cases.import.title", Data: ImportData{Result: res}})
}
