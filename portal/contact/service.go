package contact

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Config is the contact request's configuration; zero fields take
// DefaultConfig's.
type Config struct {
	// MinFill is the least time between showing the form and sending it:
	// a form sent sooner is a script's. MaxFormAge is the most.
	MinFill    time.Duration
	MaxFormAge time.Duration
	// Retention is how long a closed request is kept before only its
	// anonymised statistics row is left.
	Retention time.Duration
	// TargetLimit requests about one address are taken per TargetWindow;
	// more are refused, whoever sends them.
	TargetLimit  int
	TargetWindow time.Duration
}

// DefaultConfig is the configuration when nothing is set.
func DefaultConfig() Config {
	return Config{MinFill: 3 * time.Second, MaxFormAge: 2 * time.Hour, Retention: 365 * 24 * time.Hour,
		TargetLimit: 3, TargetWindow: 24 * time.Hour}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.MinFill <= 0 {
		c.MinFill = d.MinFill
	}
	if c.MaxFormAge <= 0 {
		c.MaxFormAge = d.MaxFormAge
	}
	if c.Retention <= 0 {
		c.Retention = d.Retention
	}
	if c.TargetLimit <= 0 {
		c.TargetLimit = d.TargetLimit
	}
	if c.TargetWindow <= 0 {
		c.TargetWindow = d.TargetWindow
	}
}

// Link is a page another feature has about a resident: an appointment or
// a chat.
type Link struct {
	URL  string
	Kind string // "booking" or "chat"
	When time.Time
}

// ResidentLinks returns the pages other features have about a resident
// (their appointments, their chats), newest first, for the desk's page of
// a request a logged-in resident sent about themself. Each page checks
// access and writes the access log itself.
type ResidentLinks func(ctx context.Context, residentID int64) ([]Link, error)

// Options are what the Service is built from.
type Options struct {
	DB       *database.DB
	Users    *auth.Users
	Regions  *regions.Store
	Frontend *frontend.Frontend
	Audit    *audit.Log
	Outbox   *mail.Outbox
	WakeMail func()
	// SecretKey signs the form token.
	SecretKey []byte
	// Links, when set, finds the resident's appointments and chats.
	Links    ResidentLinks
	Config   Config
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
}

// Service is the contact request feature.
type Service struct {
	db      *gorm.DB
	store   *Store
	users   *auth.Users
	regions *regions.Store
	fe      *frontend.Frontend
	audit   *audit.Log
	outbox  *mail.Outbox
	wake    func()
	secret  []byte
	links   ResidentLinks
	cfg     Config
	loc     *time.Location
	now     func() time.Time
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
	if o.WakeMail == nil {
		o.WakeMail = func() {}
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return &Service{
		db: o.DB.Gorm, store: NewStore(o.DB.Gorm), users: o.Users, regions: o.Regions, fe: o.Frontend,
		audit: o.Audit, outbox: o.Outbox, wake: o.WakeMail, secret: o.SecretKey, links: o.Links,
		cfg: o.Config, loc: o.Location, now: o.Now, log: o.Log,
	}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) today() time.Time { return s.now().In(s.loc) }

// Submit stores a checked submission, routed to the region of its postal
// code, and queues the sender's confirmation mail when they gave an
// address. A postal code outside every region, or an address that already
// has TargetLimit requests in TargetWindow, is refused and nothing is
// stored.
func (s *Service) Submit(ctx context.Context, sub Submission) (*Request, error) {
	region, err := s.regions.ForPostalCode(ctx, sub.PostalCode)
	if errors.Is(err, regions.ErrNotFound) {
		return nil, problem.Field("postal_code", "contact.error.outside_area")
	}
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r := &Request{
		Reference: newReference(), RegionID: region.ID, SenderKind: sub.SenderKind, Organisation: sub.Organisation,
		SenderName: sub.SenderName, SenderPhone: sub.SenderPhone, SenderEmail: sub.SenderEmail, ReachTime: sub.ReachTime,
		Concern: sub.Concern, Description: sub.Description, EvictionOn: sub.EvictionOn, ResidentName: sub.ResidentName,
		StreetAddress: sub.StreetAddress, PostalCode: sub.PostalCode, ResidentPhone: sub.ResidentPhone,
		PersonKnows: sub.PersonKnows, Lang: sub.Lang, TargetKey: targetKey(sub.PostalCode, sub.StreetAddress),
		Status: StatusNew, CreatedAt: now, UpdatedAt: now,
	}
	if sub.ResidentID != 0 && sub.SenderKind == "self" {
		id := sub.ResidentID
		r.ResidentID = &id
	}
	if r.Lang == "" {
		r.Lang = frontend.DefaultLang
	}
	r.Urgent = r.UrgentOn(s.today())
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st := NewStore(tx)
		n, err := st.CountAbout(ctx, r.TargetKey, now.Add(-s.cfg.TargetWindow))
		if err != nil {
			return err
		}
		if n >= int64(s.cfg.TargetLimit) {
			return problem.Field("street_address", "contact.error.target_limit")
		}
		if err := st.Create(ctx, r); err != nil {
			return err
		}
		return s.queueConfirmation(ctx, tx, r)
	})
	if err != nil {
		return nil, err
	}
	if r.SenderEmail != "" {
		s.wake()
	}
	return r, nil
}

// ForStaff returns a request a staff member may see: an advisor those of
// her region, an admin all. Opening it writes the access log.
func (s *Service) ForStaff(ctx context.Context, id int64) (*Request, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayHandle(ctx, r); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, residentOf(r), audit.ContactView, resource(r.ID), audit.ReasonContactRequest); err != nil {
		return nil, err
	}
	return r, nil
}

// mayHandle refuses (as not found) a request of another region to an
// advisor, and any request to anyone but staff.
func (s *Service) mayHandle(ctx context.Context, r *Request) error {
	act := auth.ActorFrom(ctx)
	switch act.Role {
	case auth.RoleAdmin:
		return nil
	case auth.RoleAdvisor:
		u, err := s.users.ByID(ctx, act.UserID)
		if err != nil {
			return err
		}
		if u.RegionID != nil && *u.RegionID == r.RegionID {
			return nil
		}
	}
	return errNotFound
}

// staffRegion is the region whose requests the actor's desk lists: 0 for
// an admin (all), -1 for staff without a region (none).
func (s *Service) staffRegion(ctx context.Context) (int64, error) {
	act := auth.ActorFrom(ctx)
	if act.Role == auth.RoleAdmin {
		return 0, nil
	}
	if act.Role != auth.RoleAdvisor {
		return -1, nil
	}
	u, err := s.users.ByID(ctx, act.UserID)
	if err != nil {
		return 0, err
	}
	if u.RegionID == nil {
		return -1, nil
	}
	return *u.RegionID, nil
}

// PageSize is how many requests one page of the desk's list shows.
const PageSize = 50

// Desk returns a page (1-based) of the requests the actor may handle, open
// or closed, and whether there is a next page.
func (s *Service) Desk(ctx context.Context, closed bool, page int) ([]Request, bool, error) {
	region, err := s.staffRegion(ctx)
	if err != nil || region < 0 {
		return nil, false, err
	}
	f := DeskFilter{RegionID: region, Closed: closed, UrgentUntil: urgentLimit(s.today())}
	list, err := s.store.Desk(ctx, f, PageSize+1, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, false, err
	}
	if len(list) > PageSize {
		return list[:PageSize], true, nil
	}
	return list, false, nil
}

// Counts returns the desk section's figures for the actor's region.
func (s *Service) Counts(ctx context.Context) (Counts, error) {
	region, err := s.staffRegion(ctx)
	if err != nil || region < 0 {
		return Counts{}, err
	}
	return s.store.Count(ctx, region, urgentLimit(s.today()))
}

// Colleagues returns the advisors a request may be assigned to: those of
// its region.
func (s *Service) Colleagues(ctx context.Context, r *Request) ([]auth.User, error) {
	return s.users.InRegion(ctx, auth.RoleAdvisor, r.RegionID)
}

// Assign gives the request to an advisor of its region, or to the actor.
func (s *Service) Assign(ctx context.Context, id, assigneeID int64) error {
	return s.change(ctx, id, func(tx *gorm.DB, r *Request) error {
		if assigneeID != auth.ActorFrom(ctx).UserID {
			list, err := auth.NewUsers(tx).InRegion(ctx, auth.RoleAdvisor, r.RegionID)
			if err != nil {
				return err
			}
			ok := false
			for _, u := range list {
				ok = ok || u.ID == assigneeID
			}
			if !ok {
				return problem.Field("assignee", "contact.error.choose")
			}
		}
		r.AssigneeID = &assigneeID
		if r.Status == StatusNew {
			r.Status = StatusInProgress
		}
		return nil
	})
}

// AttemptInput is one attempt to reach the resident, as the advisor
// records it.
type AttemptInput struct {
	At      time.Time
	Channel string
	Result  string
}

// AddAttempt records an attempt to reach the resident. An untaken request
// becomes the recording advisor's.
func (s *Service) AddAttempt(ctx context.Context, id int64, in AttemptInput) error {
	if !validChoice(Channels, in.Channel) {
		return problem.Field("channel", "contact.error.choose")
	}
	if len([]rune(in.Result)) > maxResult {
		return problem.Field("result", "form.error.too_long")
	}
	if in.At.After(s.now().Add(5 * time.Minute)) {
		return problem.Field("attempt_date", "contact.error.date_future")
	}
	act := auth.ActorFrom(ctx)
	return s.change(ctx, id, func(tx *gorm.DB, r *Request) error {
		if r.AssigneeID == nil && act.Role == auth.RoleAdvisor {
			r.AssigneeID = &act.UserID
		}
		r.Status = StatusInProgress
		a := &Attempt{RequestID: r.ID, ActorID: &act.UserID, At: in.At.UTC(), Channel: in.Channel, Result: in.Result, CreatedAt: s.now().UTC()}
		return NewStore(tx).AddAttempt(ctx, a)
	})
}

// Close records the outcome and closes the request; its retention starts.
func (s *Service) Close(ctx context.Context, id int64, outcome string) error {
	if !validChoice(Outcomes, outcome) {
		return problem.Field("outcome", "contact.error.choose")
	}
	return s.change(ctx, id, func(_ *gorm.DB, r *Request) error {
		now := s.now().UTC()
		r.Status, r.Outcome, r.ClosedAt = StatusClosed, outcome, &now
		return nil
	})
}

// change runs one staff change of an open request in a transaction, with
// its access-log line.
func (s *Service) change(ctx context.Context, id int64, fn func(tx *gorm.DB, r *Request) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st := NewStore(tx)
		r, err := st.getForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if err := s.mayHandle(ctx, r); err != nil {
			return err
		}
		if r.Status == StatusClosed {
			return problem.E(problem.Conflict, "contact.error.closed")
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		r.UpdatedAt = s.now().UTC()
		if err := st.Save(ctx, r); err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, residentOf(r), audit.ContactUpdate, resource(r.ID), audit.ReasonContactRequest)
	})
}

// Attempts returns a request's attempts, latest first.
func (s *Service) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	return s.store.Attempts(ctx, id)
}

// Links returns the pages other features have about the request's
// resident; none when it was not sent by a logged-in resident about
// themself.
func (s *Service) Links(ctx context.Context, r *Request) ([]Link, error) {
	if r.ResidentID == nil || s.links == nil {
		return nil, nil
	}
	return s.links(ctx, *r.ResidentID)
}

// AnonymiseExpired replaces every request closed more than Retention ago
// by its anonymised statistics row, and returns how many went.
func (s *Service) AnonymiseExpired(ctx context.Context) (int, error) {
	before := s.now().UTC().Add(-s.cfg.Retention)
	n := 0
	for {
		list, err := s.store.ClosedBefore(ctx, before, 200)
		if err != nil {
			return n, err
		}
		for i := range list {
			ok, err := s.store.Anonymise(ctx, &list[i], before)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(list) < 200 {
			return n, nil
		}
	}
}

// RunRetention anonymises expired requests every interval until ctx ends.
func (s *Service) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.AnonymiseExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("contact: retention", "err", err)
		} else if n > 0 {
			s.log.Info("contact: closed requests anonymised", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func residentOf(r *Request) int64 {
	if r.ResidentID == nil {
		return 0
	}
	return *r.ResidentID
}

func resource(id int64) string { return "contact/" + itoa(id) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
