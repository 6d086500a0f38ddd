// Package booking lets residents book office visits, home visits, phone
// and video calls with an advisor, and lets advisors keep their weekly
// availability, exceptions and calendar.
//
// One slot, one booking: the database holds a unique index over the
// advisor and start of every live booking, so of any number of requests
// racing for a slot exactly one inserts its row and the rest are told the
// time was just taken. Slots are generated in Europe/Helsinki wall-clock
// time from the advisors' weekly windows, so a 9 o'clock slot stays at 9
// across the daylight-saving changes.
package booking

import (
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Helsinki must resolve on hosts without tzdata.

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// MeetingType is how the resident and the advisor meet.
type MeetingType string

// The meeting types.
const (
	Office    MeetingType = "office" // at a service point
	HomeVisit MeetingType = "home"   // the advisor visits the resident's home
	Phone     MeetingType = "phone"  // the advisor calls the resident
	Video     MeetingType = "video"  // a video call; the advisor sends the link
)

// MeetingTypes lists the meeting types in display order.
var MeetingTypes = []MeetingType{Office, HomeVisit, Phone, Video}

// Valid reports whether t is a known meeting type.
func (t MeetingType) Valid() bool { return slices.Contains(MeetingTypes, t) }

// Topic is what the resident wants to talk about.
type Topic string

// The topics.
const (
	TopicRentDebt Topic = "rent_debt"
	TopicEviction Topic = "eviction"
	TopicExchange Topic = "exchange"
	TopicUpkeep   Topic = "upkeep" // upkeep or disturbance
	TopicMoving   Topic = "moving" // moving or finding a home
	TopicOther    Topic = "other"
)

// Topics lists the topics in display order.
var Topics = []Topic{TopicRentDebt, TopicEviction, TopicExchange, TopicUpkeep, TopicMoving, TopicOther}

// Valid reports whether t is a known topic.
func (t Topic) Valid() bool { return slices.Contains(Topics, t) }

// LabelKey is the translation key of the topic's name. ("other" is a
// reserved word in translation files, where it names a plural form.)
func (t Topic) LabelKey() string {
	if t == TopicOther {
		return "booking.topic.something_else"
	}
	return "booking.topic." + string(t)
}

// Status is where a booking stands.
type Status string

// The statuses. Only a booked appointment holds its slot against others
// and can be moved or cancelled; done and no-show are recorded after it.
const (
	StatusBooked    Status = "booked"
	StatusCancelled Status = "cancelled"
	StatusDone      Status = "done"
	StatusNoShow    Status = "no_show"
)

// Booking is one appointment.
type Booking struct {
	ID             int64
	AdvisorID      int64
	ResidentID     int64
	RegionID       int64
	ServicePointID *int64
	StartsAt       time.Time
	EndsAt         time.Time
	MeetingType    MeetingType
	Topic          Topic
	Message        string // from the resident: what it is about, interpreter, accessibility
	ContactPhone   string // the number to call, for phone calls
	VisitAddress   string // the address to visit, for home visits
	Lang           string // the resident's language for mail about it
	Status         Status
	Sequence       int    // iCalendar SEQUENCE: raised at every move or cancellation
	StaffMessage   string // the advisor's message to the resident (at booking, with the last move or cancellation)
	StaffNote      string // the advisor's note for staff only; never shown to the resident
	BookedBy       int64
	ChangedBy      *int64
	RemindAt       *time.Time
	RemindedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CancelledAt    *time.Time
}

// TableName keeps gorm on the migrated table.
func (Booking) TableName() string { return "bookings" }

// Upcoming reports whether the appointment is still ahead and on.
func (b *Booking) Upcoming(now time.Time) bool {
	return b.Status == StatusBooked && b.EndsAt.After(now)
}

// Window is a recurring weekly stretch of an advisor's time for bookings:
// on Weekday (ISO, 1 = Monday) from StartMinute to EndMinute past local
// midnight, in slots of SlotMinutes, for the listed meeting types.
type Window struct {
	ID             int64
	AdvisorID      int64
	Weekday        int
	StartMinute    int
	EndMinute      int
	SlotMinutes    int
	MeetingTypes   string // comma-separated
	ServicePointID *int64 // where office visits happen, and the advisor's base
	CreatedAt      time.Time
}

// TableName keeps gorm on the migrated table.
func (Window) TableName() string { return "booking_windows" }

// Types returns the window's meeting types.
func (w *Window) Types() []MeetingType {
	var out []MeetingType
	for _, s := range strings.Split(w.MeetingTypes, ",") {
		if t := MeetingType(strings.TrimSpace(s)); t.Valid() {
			out = append(out, t)
		}
	}
	return out
}

// Offers reports whether the window offers meeting type t.
func (w *Window) Offers(t MeetingType) bool { return slices.Contains(w.Types(), t) }

// JoinTypes is the stored form of a set of meeting types.
func JoinTypes(ts []MeetingType) string {
	parts := make([]string, 0, len(ts))
	for _, t := range MeetingTypes { // canonical order, no duplicates
		if slices.Contains(ts, t) {
			parts = append(parts, string(t))
		}
	}
	return strings.Join(parts, ",")
}

// ExceptionKind says why an advisor is away.
type ExceptionKind string

// The exception kinds.
const (
	ExceptionHoliday ExceptionKind = "holiday"
	ExceptionSick    ExceptionKind = "sick"
	ExceptionBlock   ExceptionKind = "block" // time blocked for other work
)

// ExceptionKinds lists the kinds in display order.
var ExceptionKinds = []ExceptionKind{ExceptionHoliday, ExceptionSick, ExceptionBlock}

// Exception takes a stretch of time out of an advisor's windows.
type Exception struct {
	ID        int64
	AdvisorID int64
	Kind      ExceptionKind
	StartsAt  time.Time
	EndsAt    time.Time
	Note      string
	CreatedBy int64
	CreatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (Exception) TableName() string { return "booking_exceptions" }

// Errors of the booking rules. Handlers turn them into form messages.
var (
	// ErrNotFound: no such booking, or not one the user may see. The two
	// are deliberately the same, so ids do not leak.
	ErrNotFound = problem.E(problem.NotFound, "")
	// ErrSlotTaken: someone else booked the slot first.
	ErrSlotTaken = problem.E(problem.Conflict, "booking.error.slot_taken")
	// ErrSlotUnavailable: the slot is in the past, not offered for that
	// meeting type or place, or the advisor is away.
	ErrSlotUnavailable = problem.E(problem.Invalid, "booking.error.slot_unavailable")
	// ErrTooLate: the notice period for a resident's change has passed.
	ErrTooLate = problem.E(problem.Conflict, "booking.error.too_late")
	// ErrNotChangeable: the booking is cancelled, done or no-show.
	ErrNotChangeable = problem.E(problem.Conflict, "booking.error.not_changeable")
	// ErrTooMany: the resident already holds the most upcoming bookings allowed.
	ErrTooMany = problem.E(problem.Conflict, "booking.error.too_many")
)

// helsinki is where the service runs: every wall-clock time is read here.
func helsinki() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		// tzdata is embedded above, so this cannot happen.
		panic("booking: Europe/Helsinki time zone: " + err.Error())
	}
	return loc
}
