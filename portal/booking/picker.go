package booking

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// The modes of the slot picker page.
const (
	modeResident  = "resident"   // a resident books
	modeStaff     = "staff"      // staff book on a resident's behalf
	modeMove      = "move"       // a resident moves their booking
	modeStaffMove = "staff-move" // staff move a booking
)

// PickerData is the Data of booking/new: the search form (topic, meeting
// type, region, service point, advisor), the free times of one week and
// the form that books (or moves to) one of them.
type PickerData struct {
	Mode         string
	SearchAction string // GET target of the search form
	Action       string // POST target of the booking form
	Topics       []frontend.Option
	Types        []frontend.Option
	Regions      []frontend.Option
	Points       []frontend.Option
	Advisors     []frontend.Option
	Searched     bool // the search is complete and valid: times are shown
	Days         []DayChoices
	Week         int
	WeekLabel    string
	PrevURL      string
	NextURL      string
	NeedsPhone   bool
	NeedsAddress bool
	MessageMax   int
	Resident     *Resident // staff: whom the booking is for
	Booking      *View     // moves: the booking being moved
	Residents    []Resident
	BackURL      string
	// MaxUpcoming is how many upcoming appointments a resident may hold,
	// said before the form; Upcoming how many they hold (resident mode).
	MaxUpcoming int
	Upcoming    int
}

// pickerFields are every field the picker page reads or posts.
var pickerFields = []string{"topic", "type", "region", "point", "advisor", "week", "slot", "phone", "address", "resident", "q"}

// pickerTexts are the picker's multi-line fields.
var pickerTexts = []string{"message", "staff_message", "staff_note"}

// search is a validated search of the picker.
type search struct {
	topic  Topic
	query  SlotQuery
	region *regions.Region
}

// picker builds the picker page for form. When the search part of form is
// complete it is validated (errors go into form) and, if valid, the free
// times of the requested week are listed.
func (s *Service) picker(c *fiber.Ctx, form *frontend.Form, mode string, fixed *Booking) (*PickerData, *search, error) {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	d := &PickerData{Mode: mode, MessageMax: s.cfg.MessageMax}
	for _, t := range Topics {
		d.Topics = append(d.Topics, frontend.Option{Value: string(t), LabelKey: t.LabelKey()})
	}
	for _, t := range MeetingTypes {
		d.Types = append(d.Types, frontend.Option{Value: string(t), LabelKey: "booking.type." + string(t)})
	}
	rs, err := s.regions.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	u := auth.CurrentUser(c)
	for _, r := range rs {
		// An advisor books on a resident's behalf in their own region, whose
		// bookings they can then see; supervisors anywhere.
		if mode == modeStaff && u.Role == auth.RoleAdvisor && (u.RegionID == nil || *u.RegionID != r.ID) {
			continue
		}
		d.Regions = append(d.Regions, frontend.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name(lang)})
	}
	if fixed != nil {
		// A move keeps the meeting type, place and region of the booking.
		form.Set("topic", string(fixed.Topic))
		form.Set("type", string(fixed.MeetingType))
		form.Set("region", strconv.FormatInt(fixed.RegionID, 10))
		form.Set("point", "")
		if fixed.ServicePointID != nil {
			form.Set("point", strconv.FormatInt(*fixed.ServicePointID, 10))
		}
	}
	regionID, _ := strconv.ParseInt(form.Get("region"), 10, 64) // invalid: 0, reported below
	if !slices.ContainsFunc(d.Regions, func(o frontend.Option) bool { return o.Value == form.Get("region") }) {
		regionID = 0
	}
	var region *regions.Region
	if regionID > 0 {
		if region, err = s.regions.ByID(ctx, regionID); errors.Is(err, regions.ErrNotFound) {
			region = nil
		} else if err != nil {
			return nil, nil, err
		}
	}
	if region != nil {
		points, err := s.regions.ServicePoints(ctx, region.ID)
		if err != nil {
			return nil, nil, err
		}
		// Offer only offices where someone receives visitors: an office
		// without reception hours would fail only after the search.
		receiving, err := s.store.ReceivingPoints(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range points {
			if receiving[p.ID] {
				d.Points = append(d.Points, frontend.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.NameIn(lang) + ", " + p.StreetAddress})
			}
		}
		advisors, err := s.advisors(ctx, region.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range advisors {
			d.Advisors = append(d.Advisors, frontend.Option{Value: strconv.FormatInt(a.ID, 10), Label: a.Name})
		}
	}
	if fixed != nil && c.Method() == fiber.MethodGet && !c.Request().URI().QueryArgs().Has("advisor") {
		// A move stays with the same advisor unless the user asks for
		// another (or for any): someone who knows the case already.
		if id := strconv.FormatInt(fixed.AdvisorID, 10); slices.ContainsFunc(d.Advisors, func(o frontend.Option) bool { return o.Value == id }) {
			form.Set("advisor", id)
		}
	}
	t := MeetingType(form.Get("type"))
	d.NeedsPhone, d.NeedsAddress = t == Phone, t == HomeVisit
	// Validate only once the search has been submitted (or is fixed).
	if form.Get("type") == "" && form.Get("topic") == "" && fixed == nil {
		return d, nil, nil
	}
	sr, err := s.validateSearch(ctx, form, region, d, mode == modeStaff || mode == modeStaffMove)
	if err != nil || sr == nil {
		return d, nil, err
	}
	week, _ := strconv.Atoi(form.Get("week")) // invalid: week 0
	from, to, week := s.weekRange(week)
	sr.query.From, sr.query.To = from, to
	slots, err := s.FreeSlots(ctx, sr.query)
	if err != nil {
		return nil, nil, err
	}
	d.Searched = true
	d.Days = s.dayChoices(lang, slots)
	d.Week = week
	d.WeekLabel = s.fe.T(lang, "booking.pick.week", map[string]any{
		"From": s.dayLabel(lang, from), "To": s.dayLabel(lang, to.AddDate(0, 0, -1)),
	})
	return d, sr, nil
}

// validateSearch checks the search fields, recording what is wrong in
// form. It returns nil when something is.
func (s *Service) validateSearch(ctx context.Context, form *frontend.Form, region *regions.Region, d *PickerData, staff bool) (*search, error) {
	// Only this function's own findings count: the form may already carry
	// an error about the chosen slot, and the times are still to be shown.
	bad := form.Fail
	ok := true
	topic, t := Topic(form.Get("topic")), MeetingType(form.Get("type"))
	if !topic.Valid() {
		bad("topic", "booking.error.topic")
		ok = false
	}
	if !t.Valid() {
		bad("type", "booking.error.type")
		ok = false
	}
	if region == nil {
		bad("region", "booking.error.region")
		ok = false
	}
	var point int64
	if t == Office && region != nil {
		point, _ = strconv.ParseInt(form.Get("point"), 10, 64)
		if !slices.ContainsFunc(d.Points, func(o frontend.Option) bool { return o.Value == form.Get("point") }) {
			// One of the region's offices without reception hours (only a
			// crafted request names it: the list leaves it out), or none.
			key := "booking.error.point"
			all, err := s.regions.ServicePoints(ctx, region.ID)
			if err != nil {
				return nil, err
			}
			if slices.ContainsFunc(all, func(p regions.ServicePoint) bool { return p.ID == point }) {
				key = "booking.error.point_type"
			}
			bad("point", key)
			ok = false
		}
	}
	var advisor int64
	if v := form.Get("advisor"); v != "" {
		advisor, _ = strconv.ParseInt(v, 10, 64)
		if !slices.ContainsFunc(d.Advisors, func(o frontend.Option) bool { return o.Value == v }) {
			bad("advisor", "booking.error.advisor")
			ok = false
		}
	}
	if !ok {
		return nil, nil
	}
	offered, err := s.OffersType(ctx, region.ID, t, point)
	if err != nil {
		return nil, err
	}
	if !offered {
		if t == Office {
			bad("point", "booking.error.point_type")
		} else {
			bad("type", "booking.error.type_not_offered")
		}
		return nil, nil
	}
	return &search{topic: topic, region: region, query: SlotQuery{
		RegionID: region.ID, Type: t, ServicePointID: point, AdvisorID: advisor, Staff: staff,
	}}, nil
}

// validateBooking checks the fields of the booking form proper and returns
// the chosen slot.
func (s *Service) validateBooking(form *frontend.Form, t MeetingType, move bool) (advisorID int64, start time.Time) {
	a, st, ok := parseSlot(form.Get("slot"))
	if !ok {
		form.Fail("slot", "booking.error.slot")
	}
	if !move {
		if utf8.RuneCountInString(form.Get("message")) > s.cfg.MessageMax {
			form.Fail("message", "booking.error.message_too_long")
		}
		if t == Phone && !validPhone(form.Get("phone")) {
			form.Fail("phone", "booking.error.phone")
		}
		if t == HomeVisit {
			if addr := form.Get("address"); addr == "" {
				form.Fail("address", "booking.error.address")
			} else if utf8.RuneCountInString(addr) > 200 {
				form.Fail("address", "booking.error.address_too_long")
			}
		}
	}
	if utf8.RuneCountInString(form.Get("staff_note")) > s.cfg.MessageMax {
		form.Fail("staff_note", "booking.error.message_too_long")
	}
	if utf8.RuneCountInString(form.Get("staff_message")) > s.cfg.MessageMax {
		form.Fail("staff_message", "booking.error.message_too_long")
	}
	return a, st
}

// validPhone accepts 6 to 15 digits with the usual separators and an
// optional leading +.
func validPhone(p string) bool {
	digits := 0
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits >= 6 && digits <= 15
}
