// Package cases is the advisor's client case (asiakkuus): who the resident
// is to the service, why, what has been done and what follows, on one
// timeline; and the resident's own view of it.
package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// The code lists of a case, as the service's effectiveness study counts
// them. Their words are cases.<list>.<code> in fi, sv and en.
var (
	Reasons       = []string{"rent_debt", "upkeep", "disturbances", "exchange", "not_coping", "something_else"}
	Households    = []string{"single", "couple", "family", "single_parent", "someone_else"}
	Referrers     = []string{"resident", "relative_neighbour", "property_staff", "child_protection", "social_services", "health_care", "someone_else"}
	Interventions = []string{"payment_plan", "kept_out_of_court", "withdrawn_from_court", "rent_follow_up", "housing_follow_up",
		"eviction_cancelled", "fixed_term_tenancy", "income_support_applied", "income_support_granted"}
	Outcomes = []string{"housing_continues", "moved_suitable", "moved_supported", "evicted", "lost_contact", "something_else"}
	// OpenReasons are why staff open a case, written to the access log.
	OpenReasons = []string{"work", "follow_up", "supervision", "resident_request"}
)

// Status is where a case is.
type Status string

// The statuses.
const (
	StatusOpen     Status = "open"
	StatusFollowUp Status = "follow_up"
	StatusClosed   Status = "closed"
)

// Case is one resident's client case.
type Case struct {
	ID           int64
	ResidentID   int64
	RegionID     *int64
	AdvisorID    *int64
	ColleagueID  *int64
	Status       Status
	Reason       string
	Household    string
	Children     int
	Referrer     string
	DebtCents    int64
	InCourt      bool
	CourtDate    string // YYYY-MM-DD or ""
	EvictionDate string
	Outcome      string
	// FollowUpUntil ends the follow-up period; InterimDue is its interim
	// assessment, InterimDone when it was made (dates, "" for none).
	FollowUpUntil string
	InterimDue    string
	InterimDone   string
	CreatedAt     time.Time
	UpdatedAt     time.Time `gorm:"autoUpdateTime:false"`
	ClosedAt      *time.Time
}

// TableName keeps gorm on the migrated table.
func (Case) TableName() string { return "cases" }

// Event is one entry of a case's timeline.
type Event struct {
	ID        int64
	CaseID    int64
	Kind      string // note, change, intervention, opened, closed
	ActorID   *int64
	Field     string
	OldValue  string
	NewValue  string
	Body      string
	OnDate    string // an intervention's date
	CreatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (Event) TableName() string { return "case_events" }

// Activity is something the resident did with another channel of the
// service (an appointment, a chat, an application, a message thread), as
// the case's timeline shows it. The features provide them through
// Options.Activities, wired in cmd/portal: cases imports no feature.
type Activity struct {
	When time.Time
	Kind string // booking, chat, exchange, messages: its words are cases.activity.<kind>
	Note string // a short fact shown as it is (a subject, a reference)
	// NoteKey, instead of Note, is the translation key of the fact (a
	// status, a topic).
	NoteKey string
	URL     string // the staff page of the item
}

// Options are what the Service is built from.
type Options struct {
	// Activities lists a resident's appointments, chats, applications and
	// message threads for the timeline; nil shows only the case's own.
	Activities func(ctx context.Context, residentID int64) ([]Activity, error)
	// Origins finds the contact requests, chats, appointments and
	// applications cases are opened from; nil: cases are opened by hand.
	Origins Origins
	// ChannelStats answers the statistics that need the other channels'
	// data (chats, appointments, first contacts); nil: those figures say
	// they are not available.
	ChannelStats ChannelStats
	// OverdueMail, when set, sends residents a content-free notice of an
	// overdue instalment (SendOverdueNotices).
	OverdueMail *OverdueMail
	Retention   time.Duration // a closed case's personal data is kept this long, then an admin may Erase it; 0: DefaultRetention
	DB          *database.DB
	Users       *auth.Users
	Regions     *regions.Store
	Frontend    *frontend.Frontend
	Audit       *audit.Log
	Location    *time.Location
	Now         func() time.Time
	Log         *slog.Logger

	// OutreachMinCents and OutreachMinMonths are the landlord's early
	// warning's threshold: a tenant of the arrears list becomes an outreach
	// task with at least this much arrears or this many months behind
	// (0: DefaultOutreachMinCents, DefaultOutreachMinMonths).
	OutreachMinCents  int64
	OutreachMinMonths int
}

// Service is the cases feature.
type Service struct {
	activities  func(ctx context.Context, residentID int64) ([]Activity, error)
	origins     Origins
	channels    ChannelStats
	overdueMail *OverdueMail
	retention   time.Duration
	outreach    OutreachRule
	db          *gorm.DB
	users       *auth.Users
	regions     *regions.Store
	fe          *frontend.Frontend
	audit       *audit.Log
	loc         *time.Location
	now         func() time.Time
	log         *slog.Logger
}

// New returns the Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	return &Service{activities: o.Activities, origins: o.Origins, channels: o.ChannelStats, overdueMail: o.OverdueMail, retention: o.Retention, outreach: o.outreachRule(), db: o.DB.Gorm, users: o.Users, regions: o.Regions, fe: o.Frontend, audit: o.Audit, loc: o.Location, now: o.Now, log: o.Log}
}

var errNotFound = problem.E(problem.NotFound, "cases.error.not_found")

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func resource(id int64) string { return "cases/" + itoa(id) }

// Fields are what staff set on a case.
type Fields struct {
	Reason, Household, Referrer string
	Children                    int
	DebtCents                   int64
	InCourt                     bool
	CourtDate, EvictionDate     string
	AdvisorID, ColleagueID      *int64
}

// check validates the fields; problem.Fields name what is wrong.
func (f Fields) check() error {
	bad := map[string]string{}
	if !slices.Contains(Reasons, f.Reason) {
		bad["reason"] = "cases.error.choose"
	}
	if f.Household != "" && !slices.Contains(Households, f.Household) {
		bad["household"] = "cases.error.choose"
	}
	if f.Referrer != "" && !slices.Contains(Referrers, f.Referrer) {
		bad["referrer"] = "cases.error.choose"
	}
	if f.Children < 0 || f.Children > 20 {
		bad["children"] = "cases.error.number"
	}
	if f.DebtCents < 0 || f.DebtCents > 100_000_000 {
		bad["debt"] = "cases.error.money"
	}
	for field, v := range map[string]string{"court_date": f.CourtDate, "eviction_date": f.EvictionDate} {
		if v == "" {
			continue
		}
		if _, err := time.Parse("2006-01-02", v); err != nil {
			bad[field] = "form.error.date"
		}
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	return nil
}

// Open opens a case for a resident, in the acting advisor's region (or
// the resident's), with the advisor responsible. A resident has one case
// at a time: opening another while one is not closed is a conflict.
func (s *Service) Open(ctx context.Context, residentID int64, f Fields) (*Case, error) {
	return s.OpenFrom(ctx, residentID, f, nil)
}

// OpenFrom opens a case as Open does, from the item o of another channel
// (nil: by hand): the timeline says where it began, and the feature
// owning the item links it to the resident.
func (s *Service) OpenFrom(ctx context.Context, residentID int64, f Fields, o *Origin) (*Case, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	act := auth.ActorFrom(ctx)
	res, err := s.users.ByID(ctx, residentID)
	if err != nil || res.Role != auth.RoleResident {
		return nil, problem.Field("resident", "cases.error.resident")
	}
	me, err := s.users.ByID(ctx, act.UserID)
	if err != nil {
		return nil, err
	}
	region := me.RegionID
	if region == nil && res.PostalCode != "" {
		if r, err := s.regions.ForPostalCode(ctx, res.PostalCode); err == nil {
			region = &r.ID
		} else if !errors.Is(err, regions.ErrNotFound) {
			return nil, err
		}
	}
	now := s.now().UTC()
	c := &Case{
		ResidentID: residentID, RegionID: region, AdvisorID: &act.UserID, ColleagueID: f.ColleagueID, Status: StatusOpen,
		Reason: f.Reason, Household: f.Household, Children: f.Children, Referrer: f.Referrer, DebtCents: f.DebtCents,
		InCourt: f.InCourt, CourtDate: f.CourtDate, EvictionDate: f.EvictionDate, CreatedAt: now, UpdatedAt: now,
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var open int64
		if err := tx.Model(&Case{}).Where("resident_id = ? AND status <> ?", residentID, StatusClosed).Count(&open).Error; err != nil {
			return fmt.Errorf("cases: open cases of %d: %w", residentID, err)
		}
		if open > 0 {
			return problem.E(problem.Conflict, "cases.error.already_open")
		}
		if err := tx.Create(c).Error; err != nil {
			return fmt.Errorf("cases: create: %w", err)
		}
		opened := &Event{CaseID: c.ID, Kind: "opened", ActorID: &act.UserID, CreatedAt: now}
		if o != nil {
			opened.Field, opened.NewValue, opened.Body = "origin", o.Kind, o.Reference
		}
		if err := tx.Create(opened).Error; err != nil {
			return fmt.Errorf("cases: event: %w", err)
		}
		return s.audit.RecordTx(ctx, tx, residentID, audit.CaseChange, resource(c.ID), audit.ReasonCaseWork)
	})
	if err != nil {
		return nil, err
	}
	if o != nil && s.origins != nil {
		// The case stands without the link: a failure is logged, not
		// undone.
		if err := s.origins.Opened(ctx, o, residentID, c.ID); err != nil {
			s.log.Error("cases: link the item the case was opened from", "kind", o.Kind, "id", o.ID, "case", c.ID, "err", err)
		}
	}
	return c, nil
}

// visible loads a case the actor may see: an advisor those of her region
// and those she is responsible for or a colleague in; an admin all;
// everyone else not found.
func (s *Service) visible(ctx context.Context, db *gorm.DB, id int64) (*Case, error) {
	c, err := database.ByID[Case](ctx, db, id, false, errNotFound)
	if err != nil {
		return nil, err
	}
	act := auth.ActorFrom(ctx)
	switch act.Role {
	case auth.RoleAdmin:
		return c, nil
	case auth.RoleAdvisor:
		if (c.AdvisorID != nil && *c.AdvisorID == act.UserID) || (c.ColleagueID != nil && *c.ColleagueID == act.UserID) {
			return c, nil
		}
		me, err := s.users.ByID(ctx, act.UserID)
		if err != nil {
			return nil, err
		}
		if me.RegionID != nil && c.RegionID != nil && *me.RegionID == *c.RegionID {
			return c, nil
		}
	}
	return nil, errNotFound
}

// Get opens a case for staff, writing the access log with why.
func (s *Service) Get(ctx context.Context, id int64, why string) (*Case, error) {
	if !slices.Contains(OpenReasons, why) {
		return nil, problem.Field("reason", "cases.error.choose")
	}
	c, err := s.visible(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, c.ResidentID, audit.CaseView, resource(c.ID), audit.Reason("case_"+why)); err != nil {
		return nil, err
	}
	return c, nil
}

// Timeline returns a case's events, newest first.
func (s *Service) Timeline(ctx context.Context, c *Case) ([]Event, error) {
	var out []Event
	if err := s.db.WithContext(ctx).Where("case_id = ?", c.ID).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("cases: timeline of %d: %w", c.ID, err)
	}
	return out, nil
}

// change runs fn on a visible case in the transaction tx it passes; fn
// returns the events to record; the access log is written with them.
func (s *Service) change(ctx context.Context, id int64, fn func(tx *gorm.DB, c *Case, now time.Time) ([]Event, error)) error {
	act := auth.ActorFrom(ctx)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Status == StatusClosed {
			return problem.E(problem.Conflict, "cases.error.closed")
		}
		now := s.now().UTC()
		evs, err := fn(tx, c, now)
		if err != nil {
			return err
		}
		c.UpdatedAt = now
		if err := tx.Save(c).Error; err != nil {
			return fmt.Errorf("cases: save %d: %w", c.ID, err)
		}
		for i := range evs {
			evs[i].CaseID, evs[i].ActorID, evs[i].CreatedAt = c.ID, &act.UserID, now
			if err := tx.Create(&evs[i]).Error; err != nil {
				return fmt.Errorf("cases: event: %w", err)
			}
		}
		return s.audit.RecordTx(ctx, tx, c.ResidentID, audit.CaseChange, resource(c.ID), audit.ReasonCaseWork)
	})
}

// Update sets a case's fields; each field that changed is an event.
func (s *Service) Update(ctx context.Context, id int64, f Fields) error {
	if err := f.check(); err != nil {
		return err
	}
	return s.change(ctx, id, func(_ *gorm.DB, c *Case, _ time.Time) ([]Event, error) {
		var evs []Event
		set := func(field, old, new string) {
			if old != new {
				evs = append(evs, Event{Kind: "change", Field: field, OldValue: old, NewValue: new})
			}
		}
		set("reason", c.Reason, f.Reason)
		set("household", c.Household, f.Household)
		set("children", strconv.Itoa(c.Children), strconv.Itoa(f.Children))
		set("referrer", c.Referrer, f.Referrer)
		set("debt", strconv.FormatInt(c.DebtCents, 10), strconv.FormatInt(f.DebtCents, 10))
		set("in_court", strconv.FormatBool(c.InCourt), strconv.FormatBool(f.InCourt))
		set("court_date", c.CourtDate, f.CourtDate)
		set("eviction_date", c.EvictionDate, f.EvictionDate)
		c.Reason, c.Household, c.Children, c.Referrer = f.Reason, f.Household, f.Children, f.Referrer
		c.DebtCents, c.InCourt, c.CourtDate, c.EvictionDate = f.DebtCents, f.InCourt, f.CourtDate, f.EvictionDate
		return evs, nil
	})
}

// AddNote adds a note to the timeline.
func (s *Service) AddNote(ctx context.Context, id int64, body string) error {
	if body == "" || len([]rune(body)) > 4000 {
		return problem.Field("note", "cases.error.note")
	}
	return s.change(ctx, id, func(*gorm.DB, *Case, time.Time) ([]Event, error) {
		return []Event{{Kind: "note", Body: body}}, nil
	})
}

// AddIntervention records an intervention with its date; a payment plan
// or a follow-up moves the case into follow-up.
func (s *Service) AddIntervention(ctx context.Context, id int64, kind, onDate string) error {
	bad := map[string]string{}
	if !slices.Contains(Interventions, kind) {
		bad["intervention"] = "cases.error.choose"
	}
	d, err := time.Parse("2006-01-02", onDate)
	if err != nil || d.After(s.now().In(s.loc).AddDate(0, 0, 1)) {
		bad["on_date"] = "cases.error.intervention_date"
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	return s.change(ctx, id, func(_ *gorm.DB, c *Case, _ time.Time) ([]Event, error) {
		evs := []Event{{Kind: "intervention", Field: kind, OnDate: onDate}}
		if c.Status == StatusOpen && (kind == "payment_plan" || kind == "rent_follow_up" || kind == "housing_follow_up") {
			evs = append(evs, Event{Kind: "change", Field: "status", OldValue: string(c.Status), NewValue: string(StatusFollowUp)})
			c.Status = StatusFollowUp
		}
		return evs, nil
	})
}

// Close closes a case with its outcome.
func (s *Service) Close(ctx context.Context, id int64, outcome string) error {
	if !slices.Contains(Outcomes, outcome) {
		return problem.Field("outcome", "cases.error.choose")
	}
	return s.change(ctx, id, func(_ *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		evs := []Event{{Kind: "closed", Field: "outcome", NewValue: outcome}}
		c.Status, c.Outcome, c.ClosedAt = StatusClosed, outcome, &now
		return evs, nil
	})
}

// Region lists the cases a staff member may see that are not closed (or,
// with closed, those too), newest first.
func (s *Service) Region(ctx context.Context, closed bool, limit int) ([]Case, error) {
	act := auth.ActorFrom(ctx)
	q := s.db.WithContext(ctx).Model(&Case{})
	if !closed {
		q = q.Where("status <> ?", StatusClosed)
	}
	if act.Role != auth.RoleAdmin {
		me, err := s.users.ByID(ctx, act.UserID)
		if err != nil {
			return nil, err
		}
		if me.RegionID != nil {
			q = q.Where("(region_id = ? OR advisor_id = ? OR colleague_id = ?)", *me.RegionID, act.UserID, act.UserID)
		} else {
			q = q.Where("(advisor_id = ? OR colleague_id = ?)", act.UserID, act.UserID)
		}
	}
	var out []Case
	if err := q.Order("updated_at DESC, id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("cases: list: %w", err)
	}
	return out, nil
}

// OfResident returns the resident's own cases, newest first: what the
// resident's page shows.
func (s *Service) OfResident(ctx context.Context, residentID int64) ([]Case, error) {
	var out []Case
	if err := s.db.WithContext(ctx).Where("resident_id = ?", residentID).Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("cases: cases of %d: %w", residentID, err)
	}
	return out, nil
}

// SetFollowUp starts a follow-up period of months (6–24) from today, with
// the interim assessment due halfway; the case moves into follow-up.
func (s *Service) SetFollowUp(ctx context.Context, id int64, months int) error {
	if months < 6 || months > 24 {
		return problem.Field("months", "cases.follow_up.error.months")
	}
	return s.change(ctx, id, func(_ *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		today := DateOf(now.In(s.loc))
		until, interim := today.AddMonths(months).String(), today.AddMonths(months/2).String()
		evs := []Event{{Kind: "change", Field: "follow_up_until", OldValue: c.FollowUpUntil, NewValue: until}}
		c.FollowUpUntil, c.InterimDue, c.InterimDone = until, interim, ""
		if c.Status == StatusOpen {
			evs = append(evs, Event{Kind: "change", Field: "status", OldValue: string(c.Status), NewValue: string(StatusFollowUp)})
			c.Status = StatusFollowUp
		}
		return evs, nil
	})
}

// InterimDone records the interim assessment with the advisor's summary.
func (s *Service) InterimDone(ctx context.Context, id int64, summary string) error {
	if summary == "" || len([]rune(summary)) > 4000 {
		return problem.Field("interim", "cases.error.note")
	}
	return s.change(ctx, id, func(_ *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		if c.InterimDue == "" {
			return nil, problem.E(problem.Conflict, "cases.follow_up.error.none")
		}
		c.InterimDone = DateOf(now.In(s.loc)).String()
		return []Event{{Kind: "interim", Body: summary, OnDate: c.InterimDone}}, nil
	})
}

// DueThisWeek counts the user's own open cases whose interim assessment
// (not yet made) or follow-up end falls within the next seven days, or
// has passed: the desk's reminder.
func (s *Service) DueThisWeek(ctx context.Context, userID int64) (int64, error) {
	var n int64
	if err := s.dueThisWeek(ctx, userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("cases: follow-ups due: %w", err)
	}
	return n, nil
}

// dueThisWeek selects the user's own cases whose follow-up ends or whose
// interim assessment is due within a week (or is late).
func (s *Service) dueThisWeek(ctx context.Context, userID int64) *gorm.DB {
	limit := DateOf(s.now().In(s.loc)).AddDays(7).String()
	return s.db.WithContext(ctx).Model(&Case{}).
		Where("status <> ? AND (advisor_id = ? OR colleague_id = ?)", StatusClosed, userID, userID).
		Where("((interim_due <> '' AND interim_done = '' AND interim_due <= ?) OR (follow_up_until <> '' AND follow_up_until <= ?))", limit, limit)
}
