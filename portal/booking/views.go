package booking

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// View is a booking as the pages show it.
type View struct {
	ID           int64
	Status       Status
	StatusKey    string
	When         string
	StartsAt     time.Time
	TypeKey      string
	TopicKey     string
	Place        string
	AdvisorName  string
	ResidentName string
	Message      string // the resident's own message
	StaffMessage string // the advisor's message to the resident
	StaffNote    string // staff only: empty in every view built for a resident
	Upcoming     bool
	CanChange    bool // the resident may still cancel or move it
	Started      bool // staff may record the outcome
	Phone        string
	URL          string
}

// viewer builds Views with one look-up per advisor and service point.
type viewer struct {
	s        *Service
	ctx      context.Context
	lang     string
	advisors map[int64]string
	points   map[int64]*regions.ServicePoint
	phones   map[int64]string
}

func (s *Service) viewer(ctx context.Context, lang string) *viewer {
	return &viewer{s: s, ctx: ctx, lang: lang, advisors: map[int64]string{}, points: map[int64]*regions.ServicePoint{}, phones: map[int64]string{}}
}

func (v *viewer) view(b *Booking, residentName, urlPrefix string) (View, error) {
	s, now := v.s, v.s.now()
	name, ok := v.advisors[b.AdvisorID]
	if !ok {
		a, err := s.advisor(v.ctx, b.AdvisorID)
		if err != nil {
			return View{}, err
		}
		name = a.Name
		v.advisors[b.AdvisorID] = name
	}
	mc := mailContext{advisorName: name}
	var staffNote string
	if auth.ActorFrom(v.ctx).Staff() { // the note is for staff eyes only
		staffNote = b.StaffNote
	}
	if b.ServicePointID != nil {
		p, ok := v.points[*b.ServicePointID]
		if !ok {
			var err error
			if p, err = s.servicePoint(v.ctx, *b.ServicePointID); err != nil {
				return View{}, err
			}
			v.points[*b.ServicePointID] = p
		}
		mc.point = p
	}
	phone, ok := v.phones[b.RegionID]
	if !ok {
		r, err := s.regions.ByID(v.ctx, b.RegionID)
		if err != nil && !errors.Is(err, regions.ErrNotFound) {
			return View{}, fmt.Errorf("booking: region phone: %w", err)
		}
		if r != nil {
			phone = r.Phone
		}
		v.phones[b.RegionID] = phone
	}
	if mc.point != nil && mc.point.Phone != "" {
		phone = mc.point.Phone
	}
	return View{
		ID: b.ID, Status: b.Status, StatusKey: "booking.status." + string(b.Status),
		When: s.formatWhen(v.lang, b.StartsAt, b.EndsAt), StartsAt: b.StartsAt,
		TypeKey: "booking.type." + string(b.MeetingType), TopicKey: b.Topic.LabelKey(),
		Place: s.place(v.lang, b, mc), AdvisorName: name, ResidentName: residentName,
		Message: b.Message, StaffMessage: b.StaffMessage, StaffNote: staffNote,
		Upcoming: b.Upcoming(now), CanChange: s.ResidentMayChange(b),
		Started: !b.StartsAt.After(now) && b.Status != StatusCancelled,
		Phone:   phone, URL: urlPrefix + strconv.FormatInt(b.ID, 10),
	}, nil
}

// SlotChoice is one radio button of the slot picker.
type SlotChoice struct {
	Value string // "<advisor id>-<unix seconds>"
	Label string // "09.00–10.00"
	ID    string // element id
}

// DayChoices is one day of the slot picker.
type DayChoices struct {
	Label string // "maanantai 30.3."
	Slots []SlotChoice
}

// slotValue encodes a slot for a form.
func slotValue(advisorID int64, start time.Time) string {
	return strconv.FormatInt(advisorID, 10) + "-" + strconv.FormatInt(start.Unix(), 10)
}

// parseSlot decodes slotValue; ok is false for anything malformed.
func parseSlot(v string) (advisorID int64, start time.Time, ok bool) {
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, time.Time{}, false
	}
	id, err1 := strconv.ParseInt(a, 10, 64)
	sec, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 || sec <= 0 {
		return 0, time.Time{}, false
	}
	return id, time.Unix(sec, 0).UTC(), true
}

// dayChoices groups free slots by local day. Where several advisors are
// free at the same time the time is offered once, for one of them picked
// by the time itself, which spreads bookings over the advisors.
func (s *Service) dayChoices(lang string, slots []Slot) []DayChoices {
	var out []DayChoices
	var lastDay string
	for i := 0; i < len(slots); {
		j := i
		for j < len(slots) && slots[j].Start.Equal(slots[i].Start) && slots[j].End.Equal(slots[i].End) {
			j++
		}
		same := slots[i:j]
		h := fnv.New32a()
		fmt.Fprint(h, slots[i].Start.Unix())
		pick := same[int(h.Sum32()%uint32(len(same)))]
		local := pick.Start.In(s.loc)
		day := local.Format("2006-01-02")
		if day != lastDay {
			out = append(out, DayChoices{Label: s.dayLabel(lang, local)})
			lastDay = day
		}
		v := slotValue(pick.AdvisorID, pick.Start)
		d := &out[len(out)-1]
		d.Slots = append(d.Slots, SlotChoice{Value: v, Label: s.timeRange(lang, pick.Start, pick.End), ID: "slot-" + v})
		i = j
	}
	return out
}

func (s *Service) dayLabel(lang string, t time.Time) string {
	day := s.fe.T(lang, fmt.Sprintf("booking.weekday.%d", isoWeekday(t)))
	if lang == "en" {
		return day + " " + t.Format("2 January")
	}
	return day + " " + t.Format("2.1.")
}

func (s *Service) timeRange(lang string, start, end time.Time) string {
	start, end = start.In(s.loc), end.In(s.loc)
	if lang == "en" {
		return start.Format("15:04") + "–" + end.Format("15:04")
	}
	return start.Format("15.04") + "–" + end.Format("15.04")
}

// weekRange is the week-th week of the bookable period (0 = the next
// seven days from today), clamped to it.
func (s *Service) weekRange(week int) (from, to time.Time, clamped int) {
	week = max(0, min(week, s.cfg.Weeks-1))
	today := dayStart(s.now(), s.loc)
	from = today.AddDate(0, 0, 7*week)
	return from, from.AddDate(0, 0, 7), week
}
