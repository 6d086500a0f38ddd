package booking

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// CalendarDay is one day of the staff calendar.
type CalendarDay struct {
	Label   string
	Entries []View
}

// CalendarData is the Data of booking/calendar.
type CalendarData struct {
	View      string // "day" or "week"
	Label     string
	PrevURL   string
	NextURL   string
	TodayURL  string
	DayURL    string
	WeekURL   string
	Admin     bool
	Regions   []frontend.Option
	Advisors  []frontend.Option
	Days      []CalendarDay
	Count     int
	ShowNames bool // more than one advisor: say whose each appointment is
}

// staffRegion is the region a staff member works in by default: their own,
// or for an admin without one the first region.
func (s *Service) staffRegion(c *fiber.Ctx, u *auth.User) (int64, error) {
	if u.Role == auth.RoleAdmin {
		if v, err := strconv.ParseInt(c.Query("region"), 10, 64); err == nil {
			if _, err := s.regions.ByID(c.UserContext(), v); err == nil {
				return v, nil
			}
		}
	}
	if u.RegionID != nil {
		return *u.RegionID, nil
	}
	rs, err := s.regions.List(c.UserContext())
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	return rs[0].ID, nil
}

func (s *Service) handleCalendar(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	form := frontend.ReadForm(c, "date", "view", "advisor", "region")
	regionID, err := s.staffRegion(c, u)
	if err != nil {
		return err
	}
	form.Set("region", strconv.FormatInt(regionID, 10))
	view := form.Get("view")
	if view != "week" {
		view = "day"
	}
	form.Set("view", view)
	day := dayStart(s.now(), s.loc)
	if v := form.Get("date"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, s.loc)
		if err != nil {
			form.Fail("date", "booking.error.date")
		} else {
			day = t
		}
	}
	form.Set("date", day.Format("2006-01-02"))
	from, to, step := day, nextDay(day, s.loc), 1
	if view == "week" {
		from = day.AddDate(0, 0, 1-isoWeekday(day))
		to, step = from.AddDate(0, 0, 7), 7
	}
	advisors, err := s.advisors(ctx, regionID)
	if err != nil {
		return err
	}
	d := CalendarData{View: view, Admin: u.Role == auth.RoleAdmin}
	d.Advisors = append(d.Advisors, frontend.Option{Value: "all", LabelKey: "booking.calendar.all_advisors"})
	var ids []int64
	for _, a := range advisors {
		d.Advisors = append(d.Advisors, frontend.Option{Value: strconv.FormatInt(a.ID, 10), Label: a.Name})
		ids = append(ids, a.ID)
	}
	switch sel := form.Get("advisor"); {
	case sel == "all":
	case sel != "":
		id, _ := strconv.ParseInt(sel, 10, 64)
		if !slices.Contains(ids, id) {
			form.Fail("advisor", "booking.error.advisor")
		} else {
			ids = []int64{id}
		}
	case u.Role == auth.RoleAdvisor:
		ids = []int64{u.ID}
		form.Set("advisor", strconv.FormatInt(u.ID, 10))
	default:
		form.Set("advisor", "all")
	}
	if d.Admin {
		rs, err := s.regions.List(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			d.Regions = append(d.Regions, frontend.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name(lang)})
		}
	}
	d.ShowNames = len(ids) > 1
	link := func(t time.Time, v string) string {
		u := "/desk/booking?view=" + v + "&date=" + t.Format("2006-01-02") + "&advisor=" + form.Get("advisor")
		if d.Admin {
			u += "&region=" + form.Get("region")
		}
		return u
	}
	d.PrevURL, d.NextURL = link(day.AddDate(0, 0, -step), view), link(day.AddDate(0, 0, step), view)
	d.TodayURL, d.DayURL, d.WeekURL = link(dayStart(s.now(), s.loc), view), link(day, "day"), link(day, "week")
	if view == "week" {
		d.Label = s.dayLabel(lang, from) + " – " + s.dayLabel(lang, to.AddDate(0, 0, -1))
	} else {
		d.Label = s.dayLabel(lang, from)
	}
	var entries []CalendarEntry
	if len(ids) > 0 && !form.HasErrors() {
		if entries, err = s.entries(ctx, from, to, false, ids...); err != nil {
			return err
		}
	}
	vw := s.viewer(ctx, lang)
	for t := from; t.Before(to); t = nextDay(t, s.loc) {
		cd := CalendarDay{Label: s.dayLabel(lang, t)}
		for i := range entries {
			e := &entries[i]
			if !dayStart(e.StartsAt, s.loc).Equal(t) {
				continue
			}
			// Each appointment shown names a resident: that is a view of
			// their data and goes to the access log.
			if err := s.audit.Record(c.UserContext(), e.ResidentID, audit.BookingView, resource(e.ID), audit.ReasonCalendar); err != nil {
				return err
			}
			v, err := vw.view(&e.Booking, e.ResidentName, "/desk/booking/")
			if err != nil {
				return err
			}
			cd.Entries = append(cd.Entries, v)
			d.Count++
		}
		d.Days = append(d.Days, cd)
	}
	status := fiber.StatusOK
	if form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	}
	return s.fe.Render(c, status, "booking/calendar", frontend.Page{TitleKey: "booking.calendar.title", Data: d, Form: form})
}

func (s *Service) handleStaffNew(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	form := frontend.ReadForm(c, pickerFields...).ReadText(c, pickerTexts...)
	residentID, _ := strconv.ParseInt(form.Get("resident"), 10, 64)
	if residentID > 0 && form.Get("region") == "" {
		r, err := s.residentByID(c.UserContext(), residentID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if r != nil {
			if reg, err := s.regions.ForPostalCode(c.UserContext(), r.PostalCode); err == nil {
				form.Set("region", strconv.FormatInt(reg.ID, 10))
			}
		}
		if form.Get("region") == "" {
			id, err := s.staffRegion(c, u)
			if err != nil {
				return err
			}
			form.Set("region", strconv.FormatInt(id, 10))
		}
	}
	return s.renderPicker(c, fiber.StatusOK, form, modeStaff, nil, s.staffExtra(c, modeStaff, residentID))
}

// staffExtra adds the resident (or the resident search) to a staff
// picker. Both are views of residents' data and are logged.
func (s *Service) staffExtra(c *fiber.Ctx, mode string, residentID int64) func(*PickerData) error {
	if mode != modeStaff {
		return nil
	}
	return func(d *PickerData) error {
		ctx := c.UserContext()
		if residentID > 0 {
			r, err := s.residentByID(ctx, residentID)
			if errors.Is(err, ErrNotFound) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			d.Resident = r
			return s.audit.Record(c.UserContext(), r.ID, audit.BookingResidentView, "user:"+strconv.FormatInt(r.ID, 10), audit.ReasonOnBehalf)
		}
		q := strings.TrimSpace(c.FormValue("q"))
		if q == "" {
			return nil
		}
		if utf8.RuneCountInString(q) > 100 {
			return problem.E(problem.Invalid, "")
		}
		found, err := s.searchResidents(ctx, q, 20)
		if err != nil {
			return err
		}
		d.Residents = found
		return s.audit.Record(c.UserContext(), 0, audit.BookingResidentSearch, "", audit.ReasonOnBehalf)
	}
}

func (s *Service) handleStaffCreate(c *fiber.Ctx) error {
	residentID, err := strconv.ParseInt(c.FormValue("resident"), 10, 64)
	if err != nil || residentID <= 0 {
		return problem.E(problem.Invalid, "")
	}
	if _, err := s.residentByID(c.UserContext(), residentID); errors.Is(err, ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	return s.create(c, auth.CurrentUser(c), residentID, modeStaff)
}

func (s *Service) handleStaffShow(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	return s.renderShow(c, fiber.StatusOK, b, "")
}

func (s *Service) handleStaffCancel(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	msg := c.FormValue("staff_message")
	if utf8.RuneCountInString(msg) > s.cfg.MessageMax {
		return s.renderShow(c, fiber.StatusUnprocessableEntity, b, "booking.error.message_too_long")
	}
	err = s.Cancel(c.UserContext(), b, msg)
	if status, key := frontend.Problem(err); key != "" {
		return s.renderShow(c, status, b, key)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/desk/booking/"+strconv.FormatInt(b.ID, 10)+"?done=cancelled", fiber.StatusSeeOther)
}

func (s *Service) handleOutcome(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	st := Status(c.FormValue("outcome"))
	if st != StatusDone && st != StatusNoShow {
		return s.renderShow(c, fiber.StatusUnprocessableEntity, b, "booking.error.outcome")
	}
	err = s.SetOutcome(c.UserContext(), b, st)
	if errors.Is(err, ErrNotChangeable) {
		status, _ := frontend.Problem(err)
		return s.renderShow(c, status, b, "booking.error.outcome_early")
	}
	if err != nil {
		return err
	}
	return c.Redirect("/desk/booking/"+strconv.FormatInt(b.ID, 10)+"?done=outcome", fiber.StatusSeeOther)
}

func (s *Service) handleStaffMoveForm(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	if b.Status != StatusBooked {
		return s.renderShow(c, fiber.StatusConflict, b, "booking.error.not_changeable")
	}
	if err := s.audit.Record(c.UserContext(), b.ResidentID, audit.BookingView, resource(b.ID), audit.ReasonMoveOnBehalf); err != nil {
		return err
	}
	form := frontend.ReadForm(c, pickerFields...).ReadText(c, pickerTexts...)
	return s.renderPicker(c, fiber.StatusOK, form, modeStaffMove, b, s.moveExtra(c, b))
}

func (s *Service) handleStaffMove(c *fiber.Ctx) error {
	b, err := s.load(c)
	if err != nil {
		return err
	}
	return s.move(c, b, modeStaffMove)
}
