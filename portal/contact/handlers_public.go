package contact

import (
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// FormData is the Data of contact/form.
type FormData struct {
	SenderKinds []string
	Concerns    []string
	Knows       []string
	// Token is the signed time the form was shown (tokenField).
	Token string
	// Resident: a logged-in resident, whose own details were filled in.
	Resident bool
	// Outside: the postal code is outside the service area; the page says
	// where to turn instead.
	Outside bool
	Today   string // the earliest eviction date, YYYY-MM-DD
}

// handleForm shows the empty form; to a logged-in resident, filled in
// about themself from their profile.
func (s *Service) handleForm(c *fiber.Ctx) error {
	form := frontend.NewForm()
	if u := auth.CurrentUser(c); u != nil && u.Role == auth.RoleResident {
		form.Set("who", "self")
		form.Set("resident_name", u.Name)
		form.Set("postal_code", u.PostalCode)
		form.Set("sender_phone", u.Phone)
		form.Set("sender_email", u.Email)
	}
	return s.renderForm(c, fiber.StatusOK, form)
}

func (s *Service) renderForm(c *fiber.Ctx, status int, form *frontend.Form) error {
	u := auth.CurrentUser(c)
	d := FormData{
		SenderKinds: SenderKinds, Concerns: Concerns, Knows: Knows,
		Token:    s.formToken(s.now()),
		Resident: u != nil && u.Role == auth.RoleResident,
		Outside:  form.Error("postal_code") == "contact.error.outside_area",
		Today:    s.today().Format("2006-01-02"),
	}
	return s.fe.Render(c, status, "contact/form", frontend.Page{TitleKey: "contact.title", Data: d, Form: form})
}

// handleSubmit takes a request. A filled honeypot is answered as if it
// were taken, and nothing is stored; any bad input shows the form again
// with the messages and stores nothing; a request taken leads to the
// confirmation with its reference, and nothing else.
func (s *Service) handleSubmit(c *fiber.Ctx) error {
	form := frontend.ReadForm(c, formLines...).ReadText(c, formTexts...)
	if form.Get(honeypotField) != "" {
		s.log.Info("contact: honeypot filled, nothing stored", "request_id", auth.ActorFrom(c.UserContext()).RequestID)
		return c.Redirect("/contact/sent?ref="+newReference(), fiber.StatusSeeOther)
	}
	sub := readSubmission(form, s.today())
	if key := s.checkToken(form.Get(tokenField), s.now()); key != "" {
		form.Fail(formField, key)
	}
	if form.HasErrors() {
		return s.renderForm(c, fiber.StatusUnprocessableEntity, form)
	}
	sub.Lang = frontend.Lang(c)
	if u := auth.CurrentUser(c); u != nil && u.Role == auth.RoleResident {
		sub.ResidentID = u.ID
	}
	r, err := s.Submit(c.UserContext(), sub)
	if err != nil {
		if p, ok := problem.As(err); ok && p.Kind == problem.Invalid {
			status, _ := frontend.Problem(err)
			for field, key := range p.Fields {
				form.Fail(field, key)
			}
			return s.renderForm(c, status, form)
		}
		return err
	}
	return c.Redirect("/contact/sent?ref="+r.Reference, fiber.StatusSeeOther)
}

// SentData is the Data of contact/sent.
type SentData struct {
	Ref string
}

// handleSent is the confirmation: the reference and what happens next.
// It reads nothing stored, so it can show nothing of the request to
// anyone, the sender included.
func (s *Service) handleSent(c *fiber.Ctx) error {
	ref := c.Query("ref")
	if !ValidReference(ref) {
		return c.Redirect("/contact", fiber.StatusSeeOther)
	}
	return s.fe.Render(c, fiber.StatusOK, "contact/sent", frontend.Page{TitleKey: "contact.sent.title", Data: SentData{Ref: ref}})
}
