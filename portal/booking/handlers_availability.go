package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// WindowView is a weekly window as the availability page lists it.
type WindowView struct {
	ID         int64
	WeekdayKey string
	From, To   string
	Slot       int
	TypeKeys   []string
	Point      string
}

// ExceptionView is an exception as the availability page lists it.
type ExceptionView struct {
	ID       int64
	KindKey  string
	From, To string
	Note     string
}

// AvailabilityData is the Data of booking/availability.
type AvailabilityData struct {
	AdvisorID   int64
	AdvisorName string
	Advisors    []frontend.Option // admins choose whose availability
	Windows     []WindowView
	Exceptions  []ExceptionView
	Weekdays    []frontend.Option
	SlotLengths []frontend.Option
	Types       []frontend.Option
	Kinds       []frontend.Option
	Points      []frontend.Option
	Checked     map[string]bool // meeting types ticked in the window form
	Conflicts   []View          // bookings an exception being added would cancel
}

// slotLengths are the slot lengths an advisor can choose, in minutes.
var slotLengths = []int{15, 20, 30, 45, 60, 90, 120}

// availabilityFields are the fields of the two forms on the page.
var availabilityFields = []string{"weekday", "start", "end", "slot_minutes", "point",
	"kind", "from_date", "from_time", "to_date", "to_time", "note", "confirm"}

// availabilityAdvisor is whose availability the request is about: an
// advisor's own; an admin's choice (?advisor= or the form's advisor).
func (s *Service) availabilityAdvisor(c *fiber.Ctx) (*Advisor, error) {
	u := auth.CurrentUser(c)
	id := u.ID
	if u.Role == auth.RoleAdmin {
		if v, err := strconv.ParseInt(c.FormValue("advisor"), 10, 64); err == nil && v > 0 {
			id = v
		}
	}
	a, err := s.advisor(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return a, err
}

func (s *Service) handleAvailability(c *fiber.Ctx) error {
	a, err := s.availabilityAdvisor(c)
	if err != nil {
		return err
	}
	return s.renderAvailability(c, fiber.StatusOK, a, frontend.NewForm(), nil)
}

func (s *Service) renderAvailability(c *fiber.Ctx, status int, a *Advisor, form *frontend.Form, conflicts []View) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	u := auth.CurrentUser(c)
	d := AvailabilityData{AdvisorID: a.ID, AdvisorName: a.Name, Conflicts: conflicts, Checked: map[string]bool{}}
	if u.Role == auth.RoleAdmin {
		rs, err := s.regions.List(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			list, err := s.advisors(ctx, r.ID)
			if err != nil {
				return err
			}
			for _, x := range list {
				d.Advisors = append(d.Advisors, frontend.Option{Value: strconv.FormatInt(x.ID, 10), Label: x.Name + " (" + r.Name(lang) + ")"})
			}
		}
	}
	for wd := 1; wd <= 7; wd++ {
		d.Weekdays = append(d.Weekdays, frontend.Option{Value: strconv.Itoa(wd), LabelKey: fmt.Sprintf("booking.weekday.%d", wd)})
	}
	for _, m := range slotLengths {
		d.SlotLengths = append(d.SlotLengths, frontend.Option{Value: strconv.Itoa(m), Label: s.fe.T(lang, "booking.availability.minutes", map[string]any{"Minutes": m})})
	}
	for _, t := range MeetingTypes {
		d.Types = append(d.Types, frontend.Option{Value: string(t), LabelKey: "booking.type." + string(t)})
	}
	for _, k := range ExceptionKinds {
		d.Kinds = append(d.Kinds, frontend.Option{Value: string(k), LabelKey: "booking.exception." + string(k)})
	}
	points, err := s.regions.ServicePoints(ctx, a.RegionID)
	if err != nil {
		return err
	}
	pointName := map[int64]string{}
	for _, p := range points {
		d.Points = append(d.Points, frontend.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.NameIn(lang)})
		pointName[p.ID] = p.NameIn(lang)
	}
	windows, err := s.store.Windows(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, w := range windows {
		wv := WindowView{ID: w.ID, WeekdayKey: fmt.Sprintf("booking.weekday.%d", w.Weekday),
			From: clock(w.StartMinute), To: clock(w.EndMinute), Slot: w.SlotMinutes}
		for _, t := range w.Types() {
			wv.TypeKeys = append(wv.TypeKeys, "booking.type."+string(t))
		}
		if w.ServicePointID != nil {
			wv.Point = pointName[*w.ServicePointID]
		}
		d.Windows = append(d.Windows, wv)
	}
	now := s.now()
	exc, err := s.store.Exceptions(ctx, now, now.AddDate(2, 0, 0), a.ID)
	if err != nil {
		return err
	}
	for _, e := range exc {
		from, to := s.formatSpan(lang, e.StartsAt, e.EndsAt)
		d.Exceptions = append(d.Exceptions, ExceptionView{ID: e.ID, KindKey: "booking.exception." + string(e.Kind),
			From: from, To: to, Note: e.Note})
	}
	for _, t := range c.Request().PostArgs().PeekMulti("types") {
		d.Checked[string(t)] = true
	}
	if status == fiber.StatusOK && form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	}
	return s.fe.Render(c, status, "booking/availability", frontend.Page{
		TitleKey: "booking.availability.title", Data: d, Form: form, Notice: notices[c.Query("done")],
	})
}

func (s *Service) handleAddWindow(c *fiber.Ctx) error {
	a, err := s.availabilityAdvisor(c)
	if err != nil {
		return err
	}
	form := frontend.ReadForm(c, availabilityFields...)
	wd, err := strconv.Atoi(form.Get("weekday"))
	if err != nil || wd < 1 || wd > 7 {
		form.Fail("weekday", "booking.error.weekday")
	}
	start, okStart := parseClock(form.Get("start"))
	if !okStart {
		form.Fail("start", "booking.error.time")
	}
	end, okEnd := parseClock(form.Get("end"))
	if !okEnd {
		form.Fail("end", "booking.error.time")
	}
	slot, err := strconv.Atoi(form.Get("slot_minutes"))
	if err != nil || !slices.Contains(slotLengths, slot) {
		form.Fail("slot_minutes", "booking.error.slot_length")
	}
	if okStart && okEnd && end <= start {
		form.Fail("end", "booking.error.end_before_start")
	} else if okStart && okEnd && slot > 0 && end-start < slot {
		form.Fail("end", "booking.error.window_short")
	}
	var types []MeetingType
	for _, v := range c.Request().PostArgs().PeekMulti("types") {
		if t := MeetingType(v); t.Valid() {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		form.Fail("types", "booking.error.types")
	}
	var point *int64
	if v := form.Get("point"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		p, perr := s.servicePoint(c.UserContext(), id)
		if err != nil || errors.Is(perr, ErrNotFound) || (p != nil && (p.RegionID != a.RegionID || !p.Active)) {
			form.Fail("point", "booking.error.point")
		} else if perr != nil {
			return perr
		} else {
			point = &p.ID
		}
	}
	if point == nil && slices.Contains(types, Office) && form.Error("point") == "" {
		form.Fail("point", "booking.error.point_required")
	}
	if form.HasErrors() {
		return s.renderAvailability(c, fiber.StatusUnprocessableEntity, a, form, nil)
	}
	w := &Window{AdvisorID: a.ID, Weekday: wd, StartMinute: start, EndMinute: end, SlotMinutes: slot,
		MeetingTypes: JoinTypes(types), ServicePointID: point, CreatedAt: s.now().UTC()}
	if err := s.store.AddWindow(c.UserContext(), w); err != nil {
		return err
	}
	return c.Redirect(s.availabilityURL(c, a, "saved"), fiber.StatusSeeOther)
}

func (s *Service) availabilityURL(c *fiber.Ctx, a *Advisor, done string) string {
	u := "/desk/availability?done=" + done
	if auth.CurrentUser(c).Role == auth.RoleAdmin {
		u += "&advisor=" + strconv.FormatInt(a.ID, 10)
	}
	return u
}

// handleDelete removes one of the advisor's windows or exceptions, with
// del (Store.DeleteWindow or Store.DeleteException).
func (s *Service) handleDelete(del func(ctx context.Context, advisorID, id int64) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := s.availabilityAdvisor(c)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil {
			return ErrNotFound
		}
		if err := del(c.UserContext(), a.ID, id); errors.Is(err, ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return c.Redirect(s.availabilityURL(c, a, "deleted"), fiber.StatusSeeOther)
	}
}

func (s *Service) handleAddException(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.availabilityAdvisor(c)
	if err != nil {
		return err
	}
	form := frontend.ReadForm(c, availabilityFields...)
	kind := ExceptionKind(form.Get("kind"))
	if !slices.Contains(ExceptionKinds, kind) {
		form.Fail("kind", "booking.error.kind")
	}
	from, okFrom := s.parseLocal(form.Get("from_date"), form.Get("from_time"), false)
	if !okFrom {
		form.Fail("from_date", "booking.error.date")
	}
	toDate := form.Get("to_date")
	if toDate == "" {
		toDate = form.Get("from_date")
	}
	to, okTo := s.parseLocal(toDate, form.Get("to_time"), true)
	if !okTo {
		form.Fail("to_date", "booking.error.date")
	}
	if okFrom && okTo && !to.After(from) {
		form.Fail("to_date", "booking.error.end_before_start")
	}
	if utf8.RuneCountInString(form.Get("note")) > 500 {
		form.Fail("note", "booking.error.note_too_long")
	}
	if form.HasErrors() {
		return s.renderAvailability(c, fiber.StatusUnprocessableEntity, a, form, nil)
	}
	// An exception over booked appointments cancels them: the advisor
	// confirms that first, seeing whom it concerns.
	conflicts, err := s.conflicts(ctx, a.ID, from, to)
	if err != nil {
		return err
	}
	if len(conflicts) > 0 && form.Get("confirm") != "1" {
		vw := s.viewer(ctx, frontend.Lang(c))
		var views []View
		for i := range conflicts {
			e := &conflicts[i]
			if err := s.audit.Record(c.UserContext(), e.ResidentID, audit.BookingView, resource(e.ID), audit.ReasonAbsenceConflict); err != nil {
				return err
			}
			v, err := vw.view(&e.Booking, e.ResidentName, "/desk/booking/")
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		form.Fail("confirm", "booking.error.confirm_conflicts")
		return s.renderAvailability(c, fiber.StatusConflict, a, form, views)
	}
	e := &Exception{AdvisorID: a.ID, Kind: kind, StartsAt: from, EndsAt: to, Note: form.Get("note")}
	if _, err := s.AddException(c.UserContext(), e); err != nil {
		return err
	}
	return c.Redirect(s.availabilityURL(c, a, "saved"), fiber.StatusSeeOther)
}

// parseClock reads "HH:MM" (or "HH.MM") as minutes past midnight; "24:00"
// is the end of the day.
func parseClock(v string) (int, bool) {
	if len(v) == 5 && v[2] == '.' {
		v = v[:2] + ":" + v[3:]
	}
	if v == "24:00" {
		return 1440, true
	}
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// parseLocal reads a date (yyyy-mm-dd) and an optional time in Helsinki.
// Without a time it is the start of the day, or for an end the end of it.
func (s *Service) parseLocal(date, clockValue string, end bool) (time.Time, bool) {
	d, err := time.ParseInLocation("2006-01-02", date, s.loc)
	if err != nil {
		return time.Time{}, false
	}
	if clockValue == "" {
		if end {
			return nextDay(d, s.loc), true
		}
		return d, true
	}
	m, ok := parseClock(clockValue)
	if !ok {
		return time.Time{}, false
	}
	y, mo, day := d.Date()
	return time.Date(y, mo, day, 0, m, 0, 0, s.loc), true
}

// formatSpan shows an absence: whole days as days ("7.12.2026" to
// "8.12.2026", not "7.12. 00.00 – 9.12. 00.00"), anything else with times.
func (s *Service) formatSpan(lang string, from, to time.Time) (string, string) {
	f, t := from.In(s.loc), to.In(s.loc)
	if dayStart(f, s.loc).Equal(f) && dayStart(t, s.loc).Equal(t) && t.After(f) {
		last := t.AddDate(0, 0, -1)
		if lang == "en" {
			return f.Format("2 Jan 2006"), last.Format("2 Jan 2006")
		}
		return f.Format("2.1.2006"), last.Format("2.1.2006")
	}
	return s.formatLocal(lang, from), s.formatLocal(lang, to)
}

func (s *Service) formatLocal(lang string, t time.Time) string {
	t = t.In(s.loc)
	if lang == "en" {
		return t.Format("2 Jan 2006 15:04")
	}
	return t.Format("2.1.2006 15.04")
}
