package booking

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// notices are the success messages a redirect may ask a page to show.
var notices = map[string]string{
	"booked":    "booking.notice.booked",
	"cancelled": "booking.notice.cancelled",
	"moved":     "booking.notice.moved",
	"outcome":   "booking.notice.outcome",
	"saved":     "booking.notice.saved",
	"deleted":   "booking.notice.deleted",
}

func (s *Service) handleNew(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	form := frontend.ReadForm(c, pickerFields...).ReadText(c, pickerTexts...)
	if form.Get("region") == "" {
		// Propose the region of the resident's postal code; they may change it.
		if r, err := s.regions.ForPostalCode(c.UserContext(), u.PostalCode); err == nil {
			form.Set("region", strconv.FormatInt(r.ID, 10))
		} else if !errors.Is(err, regions.ErrNotFound) {
			return err
		}
	}
	return s.renderPicker(c, fiber.StatusOK, form, modeResident, nil, nil)
}

// renderPicker renders booking/new in mode for form.
func (s *Service) renderPicker(c *fiber.Ctx, status int, form *frontend.Form, mode string, fixed *Booking, extra func(*PickerData) error) error {
	d, _, err := s.picker(c, form, mode, fixed)
	if err != nil {
		return err
	}
	switch mode {
	case modeResident:
		d.SearchAction, d.Action = "/booking", "/booking"
		// The limit is said before the form is filled, not after.
		d.MaxUpcoming = s.cfg.MaxUpcoming
		if u := auth.CurrentUser(c); u != nil {
			held, err := s.store.ForResident(c.UserContext(), u.ID, s.now(), true, s.cfg.MaxUpcoming)
			if err != nil {
				return err
			}
			d.Upcoming = len(held)
		}
	case modeStaff:
		d.SearchAction, d.Action, d.BackURL = "/desk/booking/new", "/desk/booking/new", "/desk/booking"
	case modeMove:
		d.SearchAction = "/booking/" + strconv.FormatInt(fixed.ID, 10) + "/move"
		d.Action, d.BackURL = d.SearchAction, "/booking/"+strconv.FormatInt(fixed.ID, 10)
	case modeStaffMove:
		d.SearchAction = "/desk/booking/" + strconv.FormatInt(fixed.ID, 10) + "/move"
		d.Action, d.BackURL = d.SearchAction, "/desk/booking/"+strconv.FormatInt(fixed.ID, 10)
	}
	if d.Searched {
		// The week links repeat the search, whatever request shows it (a
		// failed POST too).
		link := func(week int) string {
			q := url.Values{}
			for _, k := range []string{"topic", "type", "region", "point", "resident"} {
				if v := form.Get(k); v != "" {
					q.Set(k, v)
				}
			}
			// Always present, empty for any advisor: a move otherwise
			// falls back to the booking's own advisor.
			q.Set("advisor", form.Get("advisor"))
			q.Set("week", strconv.Itoa(week))
			return d.SearchAction + "?" + q.Encode()
		}
		if d.Week > 0 {
			d.PrevURL = link(d.Week - 1)
		}
		if d.Week < s.cfg.Weeks-1 {
			d.NextURL = link(d.Week + 1)
		}
	}
	if extra != nil {
		if err := extra(d); err != nil {
			return err
		}
	}
	if status == fiber.StatusOK && form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	}
	title := "booking.new.title"
	if fixed != nil {
		title = "booking.move.title"
	}
	return s.fe.Render(c, status, "booking/new", frontend.Page{TitleKey: title, Data: d, Form: form})
}

// wantsJSON reports whether the request is the JSON form of the booking.
func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON)
}

// jsonInput is the JSON form of POST /booking: the same fields as the HTML
// form, as strings.
type jsonInput struct {
	Topic   string `json:"topic"`
	Type    string `json:"type"`
	Region  string `json:"region"`
	Point   string `json:"point"`
	Advisor string `json:"advisor"`
	Slot    string `json:"slot"`
	Message string `json:"message"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
}

func readJSONForm(c *fiber.Ctx) (*frontend.Form, error) {
	var in jsonInput
	if err := c.BodyParser(&in); err != nil {
		return nil, problem.E(problem.Invalid, "")
	}
	// The same rules as a posted form: single-line fields refuse control
	// characters, the message keeps its line breaks.
	f := frontend.NewForm()
	for k, v := range map[string]string{"topic": in.Topic, "type": in.Type, "region": in.Region, "point": in.Point,
		"advisor": in.Advisor, "slot": in.Slot, "phone": in.Phone, "address": in.Address} {
		f.SetLine(k, v)
	}
	f.SetText("message", in.Message)
	return f, nil
}

func (s *Service) handleCreate(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	return s.create(c, u, u.ID, modeResident)
}

// create validates the picker's booking form and books for residentID.
func (s *Service) create(c *fiber.Ctx, u *auth.User, residentID int64, mode string) error {
	asJSON := wantsJSON(c)
	var form *frontend.Form
	if asJSON {
		var err error
		if form, err = readJSONForm(c); err != nil {
			return err
		}
	} else {
		form = frontend.ReadForm(c, pickerFields...).ReadText(c, pickerTexts...)
	}
	lang := frontend.Lang(c)
	// A JSON caller gets the problem document from the error handler; a
	// browser gets the form again with the messages in it.
	rerender := func(status int, err error) error {
		if asJSON {
			return err
		}
		return s.renderPicker(c, status, form, mode, nil, s.staffExtra(c, mode, residentID))
	}
	_, sr, err := s.picker(c, form, mode, nil)
	if err != nil {
		return err
	}
	advisorID, start := s.validateBooking(form, MeetingType(form.Get("type")), false)
	if sr == nil || form.HasErrors() {
		return rerender(fiber.StatusUnprocessableEntity, problem.Fields(form.Errors))
	}
	req := BookRequest{
		ResidentID: residentID, RegionID: sr.query.RegionID, AdvisorID: advisorID, Start: start,
		Type: sr.query.Type, Topic: sr.topic, ServicePointID: sr.query.ServicePointID,
		ContactPhone: form.Get("phone"), VisitAddress: form.Get("address"), Lang: lang,
	}
	if mode == modeStaff {
		// Staff write a note for colleagues and, if they like, a message to
		// the resident; never words in the resident's name.
		req.StaffNote, req.StaffMessage = form.Get("staff_note"), form.Get("staff_message")
	} else {
		req.Message = form.Get("message")
	}
	b, err := s.Book(c.UserContext(), req)
	if status, key := frontend.Problem(err); key != "" {
		form.Fail("slot", key)
		form.Set("slot", "")
		return rerender(status, err)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{
			"id": b.ID, "starts_at": b.StartsAt, "ends_at": b.EndsAt, "url": "/booking/" + strconv.FormatInt(b.ID, 10),
		})
	}
	if mode == modeStaff {
		return c.Redirect("/desk/booking/"+strconv.FormatInt(b.ID, 10)+"?done=booked", fiber.StatusSeeOther)
	}
	return c.Redirect("/booking/"+strconv.FormatInt(b.ID, 10)+"?done=booked", fiber.StatusSeeOther)
}

// ShowData is the Data of booking/show.
type ShowData struct {
	Booking View
	Staff   bool
	// Error is the translation key of why an action failed, if one did.
	Error string
	// Resident is shown to staff.
	Resident *Resident
	Outcomes []Status
	// NoEmail: the resident has no e-mail address, so no confirmation
	// went out; the confirmation page says so instead.
	NoEmail bool
	// AgainURL books anew what a cancelled booking was about: the same
	// topic, meeting type and region (and office) already chosen.
	AgainURL string
}

// load returns the booking named in the path if the user may see it, and
// 404 otherwise, whether it exists or not.
func (s *Service) load(c *fiber.Ctx) (*Booking, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, ErrNotFound
	}
	b, err := s.Get(c.UserContext(), auth.CurrentUser(c), id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return b, err
}

func (s *Service) handleShow(c *fiber.Ctx) error {
	if auth.CurrentUser(c).Role.Staff() {
		return c.Redirect("/desk/booking/"+c.Params("id"), fiber.StatusSeeOther)
	}
	b, err := s.load(c)
	if err != nil {
		return err
	}
	return s.renderShow(c, fiber.StatusOK, b, "")
}

func (s *Service) renderShow(c *fiber.Ctx, status int, b *Booking, errKey string) error {
	u := auth.CurrentUser(c)
	lang := frontend.Lang(c)
	prefix := "/booking/"
	if u.Role.Staff() {
		prefix = "/desk/booking/"
	}
	d := ShowData{Staff: u.Role.Staff(), Error: errKey}
	var residentName string
	if d.Staff {
		r, err := s.residentByID(c.UserContext(), b.ResidentID)
		if err != nil {
			return err
		}
		d.Resident, residentName = r, r.Name
		d.Outcomes = []Status{StatusDone, StatusNoShow}
	}
	v, err := s.viewer(c.UserContext(), lang).view(b, residentName, prefix)
	if err != nil {
		return err
	}
	d.Booking = v
	if b.Status == StatusCancelled && !d.Staff {
		q := url.Values{"topic": {string(b.Topic)}, "type": {string(b.MeetingType)}, "region": {strconv.FormatInt(b.RegionID, 10)}}
		if b.ServicePointID != nil {
			q.Set("point", strconv.FormatInt(*b.ServicePointID, 10))
		}
		d.AgainURL = "/booking?" + q.Encode()
	}
	page := frontend.Page{TitleKey: "booking.show.title", Data: d, Notice: notices[c.Query("done")]}
	if !d.Staff && page.Notice == notices["booked"] {
		r, err := s.residentByID(c.UserContext(), b.ResidentID)
		if err != nil {
			return err
		}
		d.NoEmail = r.Email == ""
		page.Data = d
	}
	if d.Staff {
		if err := s.audit.Record(c.UserContext(), b.ResidentID, audit.BookingView, resource(b.ID), audit.ReasonBookingPage); err != nil {
			return err
		}
		return s.fe.Render(c, status, "booking/staff-show", page)
	}
	return s.fe.Render(c, status, "booking/show", page)
}

// handleCancelForm asks the resident to confirm the cancellation: one
// click on a page that also offers to move should not lose the time.
func (s *Service) handleCancelForm(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	if !s.ResidentMayChange(b) {
		key := "booking.error.too_late"
		if b.Status != StatusBooked {
			key = "booking.error.not_changeable"
		}
		return s.renderShow(c, fiber.StatusConflict, b, key)
	}
	v, err := s.viewer(c.UserContext(), frontend.Lang(c)).view(b, "", "/booking/")
	if err != nil {
		return err
	}
	return s.fe.Render(c, fiber.StatusOK, "booking/cancel", frontend.Page{TitleKey: "booking.cancel.title", Data: ShowData{Booking: v}})
}

func (s *Service) handleCancel(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	err = s.Cancel(c.UserContext(), b, "")
	if status, key := frontend.Problem(err); key != "" {
		return s.renderShow(c, status, b, key)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/booking/"+strconv.FormatInt(b.ID, 10)+"?done=cancelled", fiber.StatusSeeOther)
}

func (s *Service) handleMoveForm(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	if !s.ResidentMayChange(b) {
		return s.renderShow(c, fiber.StatusConflict, b, "booking.error.too_late")
	}
	form := frontend.ReadForm(c, pickerFields...).ReadText(c, pickerTexts...)
	return s.renderPicker(c, fiber.StatusOK, form, modeMove, b, s.moveExtra(c, b))
}

// moveExtra adds the booking being moved to the picker.
func (s *Service) moveExtra(c *fiber.Ctx, b *Booking) func(*PickerData) error {
	return func(d *PickerData) error {
		prefix := "/booking/"
		if d.Mode == modeStaffMove {
			prefix = "/desk/booking/"
		}
		v, err := s.viewer(c.UserContext(), frontend.Lang(c)).view(b, "", prefix)
		if err != nil {
			return err
		}
		d.Booking = &v
		return nil
	}
}

func (s *Service) handleMove(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	return s.move(c, b, modeMove)
}

// move validates the picker's move form and moves b.
func (s *Service) move(c *fiber.Ctx, b *Booking, mode string) error {
	form := frontend.ReadForm(c, pickerFields...).ReadText(c, pickerTexts...)
	advisorID, start := s.validateBooking(form, b.MeetingType, true)
	if form.HasErrors() {
		return s.renderPicker(c, fiber.StatusUnprocessableEntity, form, mode, b, s.moveExtra(c, b))
	}
	err := s.Move(c.UserContext(), b, advisorID, start, form.Get("staff_message"))
	status, key := frontend.Problem(err)
	switch {
	case errors.Is(err, ErrTooLate), errors.Is(err, ErrNotChangeable):
		// Nothing to choose again: the booking itself can no longer move.
		return s.renderShow(c, status, b, key)
	case key != "":
		form.Fail("slot", key)
		form.Set("slot", "")
		return s.renderPicker(c, status, form, mode, b, s.moveExtra(c, b))
	}
	if err != nil {
		return err
	}
	prefix := "/booking/"
	if mode == modeStaffMove {
		prefix = "/desk/booking/"
	}
	return c.Redirect(prefix+strconv.FormatInt(b.ID, 10)+"?done=moved", fiber.StatusSeeOther)
}
