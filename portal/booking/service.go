package booking

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Config is the booking's configuration. Zero fields take the defaults noted.
type Config struct {
	Weeks          int           // weeks ahead that free times are offered
	MinNotice      time.Duration // how soon ahead a resident may book
	ChangeNotice   time.Duration // residents may cancel or move until this long before
	ReminderBefore time.Duration // reminder mail this long before
	MessageMax     int           // characters in the resident's message
	MaxUpcoming    int           // upcoming bookings a resident may hold; defaults in DefaultConfig
	// PublicURL is the portal's address, for links in mail.
	PublicURL *url.URL
	// Organizer is the address calendar invitations name as organizer,
	// normally the sender address of the mail.
	Organizer string
}

// DefaultConfig is the booking's configuration when nothing is set: what
// New fills in for a zero field, and what cmd/portal offers when a
// PORTAL_BOOKING_* setting is unset. Written once.
func DefaultConfig() Config {
	return Config{
		Weeks: 4, MinNotice: 2 * time.Hour, ChangeNotice: 24 * time.Hour, ReminderBefore: 24 * time.Hour,
		MessageMax: 1000, MaxUpcoming: 3,
	}
}

func (c *Config) defaults() {
	def := DefaultConfig()
	for _, f := range []struct{ v, d *int }{{&c.Weeks, &def.Weeks}, {&c.MessageMax, &def.MessageMax}, {&c.MaxUpcoming, &def.MaxUpcoming}} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *time.Duration }{{&c.MinNotice, &def.MinNotice}, {&c.ChangeNotice, &def.ChangeNotice}, {&c.ReminderBefore, &def.ReminderBefore}} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if c.PublicURL == nil {
		c.PublicURL = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	if c.Organizer == "" {
		c.Organizer = "noreply@" + c.PublicURL.Hostname()
	}
}

// Options are what the Service is built from.
type Options struct {
	DB       *database.DB
	Users    *auth.Users // residents and advisors: auth owns the users table
	Regions  *regions.Store
	Frontend *frontend.Frontend
	Audit    *audit.Log
	Outbox   *mail.Outbox
	// WakeMail, if set, is called after a change queued mail, so the sender
	// delivers it now rather than at its next poll.
	WakeMail func()
	Config   Config
	// Location is the time zone of slots and opening hours (PORTAL_TIME_ZONE).
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
}

// Service is the booking feature: its rules, pages and background work.
type Service struct {
	store   *Store
	users   *auth.Users
	regions *regions.Store
	fe      *frontend.Frontend
	audit   *audit.Log
	outbox  *mail.Outbox
	wake    func()
	cfg     Config
	now     func() time.Time
	loc     *time.Location
	log     *slog.Logger
}

// New returns the Service.
func New(o Options) *Service {
	o.Config.defaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil || o.Users == nil || o.Regions == nil {
		panic("booking: Options.Location, Users and Regions are required")
	}
	if o.WakeMail == nil {
		o.WakeMail = func() {}
	}
	return &Service{
		store: NewStore(o.DB), users: o.Users, regions: o.Regions, fe: o.Frontend, audit: o.Audit, outbox: o.Outbox,
		wake: o.WakeMail, cfg: o.Config, now: o.Now, loc: o.Location, log: o.Log,
	}
}

// SlotQuery asks for free slots.
type SlotQuery struct {
	RegionID       int64
	Type           MeetingType
	ServicePointID int64 // office visits: where; ignored for other types
	AdvisorID      int64 // 0: any advisor of the region
	From, To       time.Time
	// Staff book on a resident's behalf up to the present moment; residents
	// only from MinNotice ahead.
	Staff bool
}

// FreeSlots returns the free slots matching q, in time order. It costs
// two queries: the region's windows, and the busy time of the advisors
// whose windows match.
func (s *Service) FreeSlots(ctx context.Context, q SlotQuery) ([]Slot, error) {
	windows, err := s.regionWindows(ctx, q.RegionID, q.AdvisorID)
	if err != nil {
		return nil, err
	}
	f := slotFilter{meetingType: q.Type}
	if q.Type == Office {
		f.servicePointID = q.ServicePointID
	}
	byAdvisor := make(map[int64][]Window)
	var ids []int64
	for i := range windows {
		w := windows[i]
		if !f.accepts(&w) {
			continue
		}
		if _, ok := byAdvisor[w.AdvisorID]; !ok {
			ids = append(ids, w.AdvisorID)
		}
		byAdvisor[w.AdvisorID] = append(byAdvisor[w.AdvisorID], w)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	busy, err := s.store.busyTime(ctx, q.From, q.To, ids...)
	if err != nil {
		return nil, err
	}
	earliest := s.now()
	if !q.Staff {
		earliest = earliest.Add(s.cfg.MinNotice)
	}
	var out []Slot
	from, to := dayStart(q.From, s.loc), q.To.In(s.loc)
	for _, id := range ids {
		for _, sl := range generateSlots(s.loc, byAdvisor[id], f, from, to, busy[id], earliest) {
			if !sl.Start.Before(q.From) && sl.Start.Before(q.To) {
				out = append(out, sl)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Slot) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return int(a.AdvisorID - b.AdvisorID)
	})
	return out, nil
}

// Horizon is the end of the bookable period: local midnight after Weeks weeks.
func (s *Service) Horizon() time.Time {
	return dayStart(s.now(), s.loc).AddDate(0, 0, 7*s.cfg.Weeks)
}

// OffersType reports whether any advisor of the region offers meeting
// type t (at service point pointID, for office visits).
func (s *Service) OffersType(ctx context.Context, regionID int64, t MeetingType, pointID int64) (bool, error) {
	advisors, err := s.advisors(ctx, regionID)
	if err != nil || len(advisors) == 0 {
		return false, err
	}
	ids := make([]int64, len(advisors))
	for i, a := range advisors {
		ids[i] = a.ID
	}
	windows, err := s.store.Windows(ctx, ids...)
	if err != nil {
		return false, err
	}
	f := slotFilter{meetingType: t}
	if t == Office {
		f.servicePointID = pointID
	}
	for i := range windows {
		if f.accepts(&windows[i]) {
			return true, nil
		}
	}
	return false, nil
}

// findSlot returns the free slot of advisorID that starts at start and
// matches q, or why there is none.
func (s *Service) findSlot(ctx context.Context, q SlotQuery, advisorID int64, start time.Time) (Slot, error) {
	if !start.After(s.now()) {
		return Slot{}, ErrSlotUnavailable
	}
	q.AdvisorID = advisorID
	q.From = dayStart(start, s.loc)
	q.To = nextDay(q.From, s.loc)
	if start.After(s.Horizon()) {
		return Slot{}, ErrSlotUnavailable
	}
	slots, err := s.FreeSlots(ctx, q)
	if err != nil {
		return Slot{}, err
	}
	for _, sl := range slots {
		if sl.Start.Equal(start) {
			return sl, nil
		}
	}
	// Not free: say "just taken" when a booking holds it, so the resident
	// knows to pick another time rather than wonder what was wrong.
	var n int64
	err = s.store.db.WithContext(ctx).Model(&Booking{}).
		Where("advisor_id = ? AND starts_at = ? AND status <> ?", advisorID, start.UTC(), StatusCancelled).Count(&n).Error
	if err != nil {
		return Slot{}, fmt.Errorf("booking: check slot: %w", err)
	}
	if n > 0 {
		return Slot{}, ErrSlotTaken
	}
	return Slot{}, ErrSlotUnavailable
}

// remindAt is when the reminder of an appointment at start goes out, or
// nil when the booking is made so close to it that the confirmation is
// reminder enough.
func (s *Service) remindAt(start time.Time) *time.Time {
	at := start.Add(-s.cfg.ReminderBefore)
	if at.Before(s.now().Add(time.Hour)) {
		return nil
	}
	return &at
}

// BookRequest is a booking to make.
type BookRequest struct {
	ResidentID     int64
	RegionID       int64
	AdvisorID      int64
	Start          time.Time
	Type           MeetingType
	Topic          Topic
	ServicePointID int64
	Message        string // the resident's own message to the advisor
	StaffNote      string // staff only
	StaffMessage   string // the advisor's message to the resident
	ContactPhone   string
	VisitAddress   string
	Lang           string
}

// Book books the slot for the resident on behalf of actor (the resident
// themself, or staff taking a phone call), queues the confirmation mail
// and, for staff, writes the access log, all in one transaction.
func (s *Service) Book(ctx context.Context, r BookRequest) (*Booking, error) {
	actor := auth.ActorFrom(ctx)
	staff := actor.Staff()
	if !r.Type.Valid() || !r.Topic.Valid() {
		return nil, ErrSlotUnavailable
	}
	// The same form sent again (a double click, or an answer lost to a
	// dropped connection or a restart, then sent once more) is the booking
	// it made, not "this time was just taken".
	if b, err := s.store.LiveOf(ctx, r.ResidentID, r.AdvisorID, r.Start); err != nil || b != nil && b.MeetingType == r.Type {
		return b, err
	}
	q := SlotQuery{RegionID: r.RegionID, Type: r.Type, ServicePointID: r.ServicePointID, Staff: staff}
	slot, err := s.findSlot(ctx, q, r.AdvisorID, r.Start)
	if err != nil {
		return nil, err
	}
	resident, err := s.residentByID(ctx, r.ResidentID)
	if err != nil {
		return nil, err
	}
	b := &Booking{
		AdvisorID: slot.AdvisorID, ResidentID: r.ResidentID, RegionID: r.RegionID,
		StartsAt: slot.Start, EndsAt: slot.End, MeetingType: r.Type, Topic: r.Topic,
		Message: r.Message, StaffNote: r.StaffNote, StaffMessage: r.StaffMessage,
		ContactPhone: r.ContactPhone, VisitAddress: r.VisitAddress,
		Lang: r.Lang, Status: StatusBooked, BookedBy: actor.UserID, RemindAt: s.remindAt(slot.Start),
	}
	if r.Type == Office {
		b.ServicePointID = slot.ServicePointID
	}
	if r.Type != Phone {
		b.ContactPhone = ""
	}
	if r.Type != HomeVisit {
		b.VisitAddress = ""
	}
	if !staff {
		b.StaffNote, b.StaffMessage = "", ""
	}
	mc, err := s.mailContext(ctx, s.store.db, b, resident.Name, resident.Email)
	if err != nil {
		return nil, err
	}
	mc.staffMessage = b.StaffMessage
	limit := s.cfg.MaxUpcoming
	if staff {
		limit = 0 // an advisor on the phone decides
	}
	err = s.store.Create(ctx, b, s.now(), limit, func(tx *gorm.DB) error {
		if err := s.queueMail(ctx, tx, mailConfirmed, b, mc); err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, b.ResidentID, audit.BookingCreate, resource(b.ID), audit.ReasonOnBehalf)
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return b, nil
}

// Get returns booking id if u may see it: residents their own, advisors
// those of their region, admins all. Anything else is ErrNotFound, as
// if the booking did not exist.
func (s *Service) Get(ctx context.Context, u *auth.User, id int64) (*Booking, error) {
	b, err := s.store.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanAccess(u, b) {
		return nil, ErrNotFound
	}
	return b, nil
}

// CanAccess is the rule for who may see and change a booking.
func CanAccess(u *auth.User, b *Booking) bool {
	if u == nil {
		return false
	}
	switch u.Role {
	case auth.RoleResident:
		return b.ResidentID == u.ID
	case auth.RoleAdvisor:
		return u.RegionID != nil && *u.RegionID == b.RegionID
	case auth.RoleAdmin:
		return true
	}
	return false
}

// ResidentMayChange reports whether a resident may still cancel or move b
// themself: it is booked and more than the notice period away.
func (s *Service) ResidentMayChange(b *Booking) bool {
	return b.Status == StatusBooked && b.StartsAt.Sub(s.now()) >= s.cfg.ChangeNotice
}

// Cancel cancels b for u, with an optional message to the resident from
// staff. Residents must respect the notice period.
func (s *Service) Cancel(ctx context.Context, b *Booking, message string) error {
	u := auth.ActorFrom(ctx)
	if b.Status != StatusBooked {
		return ErrNotChangeable
	}
	if !u.Staff() {
		if !s.ResidentMayChange(b) {
			return ErrTooLate
		}
		message = ""
	}
	resident, err := s.residentByID(ctx, b.ResidentID)
	if err != nil {
		return err
	}
	mc, err := s.mailContext(ctx, s.store.db, b, resident.Name, resident.Email)
	if err != nil {
		return err
	}
	err = s.store.Cancel(ctx, b, u.UserID, message, s.now(), func(tx *gorm.DB) error {
		mc.staffMessage = message
		if err := s.queueMail(ctx, tx, mailCancelled, b, mc); err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, b.ResidentID, audit.BookingCancel, resource(b.ID), audit.ReasonStaffChange)
	})
	if err != nil {
		return err
	}
	s.wake()
	return nil
}

// Move moves b for u to another advisor's or time's slot, which must be
// free for the same meeting type and place. Residents must respect the
// notice period (of the current time).
func (s *Service) Move(ctx context.Context, b *Booking, advisorID int64, start time.Time, message string) error {
	u := auth.ActorFrom(ctx)
	staff := u.Staff()
	if b.Status != StatusBooked {
		return ErrNotChangeable
	}
	if !staff {
		if !s.ResidentMayChange(b) {
			return ErrTooLate
		}
		message = ""
	}
	var point int64
	if b.ServicePointID != nil {
		point = *b.ServicePointID
	}
	q := SlotQuery{RegionID: b.RegionID, Type: b.MeetingType, ServicePointID: point, Staff: staff}
	slot, err := s.findSlot(ctx, q, advisorID, start)
	if err != nil {
		return err
	}
	if b.MeetingType != Office {
		slot.ServicePointID = b.ServicePointID
	}
	resident, err := s.residentByID(ctx, b.ResidentID)
	if err != nil {
		return err
	}
	err = s.store.Move(ctx, b, slot, b.RegionID, u.UserID, message, s.remindAt(slot.Start), s.now(), func(tx *gorm.DB) error {
		// The mail needs the new advisor and place, read inside the
		// transaction (on its connection) now that the row has moved.
		mc, err := s.mailContext(ctx, tx, b, resident.Name, resident.Email)
		if err != nil {
			return err
		}
		mc.staffMessage = message
		if err := s.queueMail(ctx, tx, mailMoved, b, mc); err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, b.ResidentID, audit.BookingMove, resource(b.ID), audit.ReasonStaffChange)
	})
	if err != nil {
		return err
	}
	s.wake()
	return nil
}

// SetOutcome marks an appointment that has begun done or no-show (staff only).
func (s *Service) SetOutcome(ctx context.Context, b *Booking, status Status) error {
	u := auth.ActorFrom(ctx)
	return s.store.SetOutcome(ctx, b, status, u.UserID, s.now(), func(tx *gorm.DB) error {
		return s.audit.RecordTx(ctx, tx, b.ResidentID, audit.BookingOutcome, resource(b.ID), audit.ReasonOutcome)
	})
}

// AddException takes time out of an advisor's calendar. Booked
// appointments in that time are cancelled and their residents told by
// mail, with note as the advisor's message.
func (s *Service) AddException(ctx context.Context, e *Exception) ([]Booking, error) {
	u := auth.ActorFrom(ctx)
	// Everything the mails need is read before the transaction, which on
	// SQLite holds the only write lock and should stay short.
	conflicts, err := s.conflicts(ctx, e.AdvisorID, e.StartsAt, e.EndsAt)
	if err != nil {
		return nil, err
	}
	contexts := make(map[int64]mailContext, len(conflicts))
	for i := range conflicts {
		b := &conflicts[i].Booking
		r, err := s.residentByID(ctx, b.ResidentID)
		if err != nil {
			return nil, err
		}
		mc, err := s.mailContext(ctx, s.store.db, b, r.Name, r.Email)
		if err != nil {
			return nil, err
		}
		contexts[b.ID] = mc
	}
	e.CreatedBy = u.UserID
	cancelled, err := s.store.AddException(ctx, e, e.Note, s.now(), func(tx *gorm.DB, b *Booking) error {
		mc, ok := contexts[b.ID]
		if !ok {
			// Booked after the look-up above: read it on the transaction.
			r, err := residentIn(ctx, auth.NewUsers(tx), b.ResidentID)
			if err != nil {
				return err
			}
			if mc, err = s.mailContext(ctx, tx, b, r.Name, r.Email); err != nil {
				return err
			}
		}
		mc.staffMessage = e.Note
		mc.advisorAway = true
		if err := s.queueMail(ctx, tx, mailCancelled, b, mc); err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, b.ResidentID, audit.BookingCancel, resource(b.ID), audit.ReasonAdvisorAbsent)
	})
	if err != nil {
		return nil, err
	}
	if len(cancelled) > 0 {
		s.wake()
	}
	return cancelled, nil
}

// SendReminders queues the reminders that are due and reports how many.
// Several instances may call it at once: each reminder is claimed by one.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	n, err := s.store.ClaimReminders(ctx, s.now(), 50, func(tx *gorm.DB, r *ReminderDue) error {
		res, err := residentIn(ctx, auth.NewUsers(tx), r.ResidentID)
		if err != nil {
			return err
		}
		mc, err := s.mailContext(ctx, tx, &r.Booking, res.Name, res.Email)
		if err != nil {
			return err
		}
		return s.queueMail(ctx, tx, mailReminder, &r.Booking, mc)
	})
	if n > 0 {
		s.wake()
	}
	return n, err
}

// RunReminders queues due reminders every interval until ctx ends.
func (s *Service) RunReminders(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.SendReminders(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("booking: reminders failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func resource(id int64) string { return fmt.Sprintf("booking:%d", id) }
