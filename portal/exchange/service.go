package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Config is the exchange's configuration; zero fields take DefaultConfig's.
type Config struct {
	// Limits are the attachments' of one application.
	files.Limits
	DraftTTL time.Duration // unsent drafts untouched this long are deleted
	// WebhookURL, when set, receives each forwarding package, signed with
	// WebhookSecret (see docs/EXCHANGE_WEBHOOK.md).
	WebhookURL    string
	WebhookSecret []byte
	// PublicURL is the portal's address, for links in mail.
	PublicURL *url.URL
}

// DefaultConfig is the configuration when nothing is set.
func DefaultConfig() Config {
	return Config{Limits: files.Limits{MaxFileBytes: 10 << 20, MaxFiles: 10, MaxTotalBytes: 50 << 20}, DraftTTL: 90 * 24 * time.Hour}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	c.Limits.Defaults(d.Limits)
	if c.DraftTTL <= 0 {
		c.DraftTTL = d.DraftTTL
	}
	if c.PublicURL == nil {
		c.PublicURL = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
}

// Options are what the Service is built from.
type Options struct {
	DB       *database.DB
	Users    *auth.Users
	Regions  *regions.Store
	Files    *files.Service
	Frontend *frontend.Frontend
	Audit    *audit.Log
	Outbox   *mail.Outbox
	WakeMail func()
	// CSRF checks a form's token for the streamed upload, whose token the
	// middleware cannot read (auth.Auth.CSRFValid).
	CSRF     func(c *fiber.Ctx, token string) bool
	Config   Config
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
}

// Service is the exchange feature.
type Service struct {
	db      *gorm.DB
	store   *Store
	users   *auth.Users
	regions *regions.Store
	files   *files.Service
	fe      *frontend.Frontend
	audit   *audit.Log
	outbox  *mail.Outbox
	wake    func()
	csrf    func(c *fiber.Ctx, token string) bool
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
		db: o.DB.Gorm, store: NewStore(o.DB.Gorm), users: o.Users, regions: o.Regions, files: o.Files,
		fe: o.Frontend, audit: o.Audit, outbox: o.Outbox, wake: o.WakeMail, csrf: o.CSRF, cfg: o.Config,
		loc: o.Location, now: o.Now, log: o.Log,
	}
}

// Config returns the effective configuration (limits shown to residents).
func (s *Service) Config() Config { return s.cfg }

func (s *Service) today() time.Time { return s.now().In(s.loc) }

// Start returns the resident's draft, creating one when they have none.
func (s *Service) Start(ctx context.Context, residentID int64, lang string) (*Application, error) {
	list, err := s.store.OfResident(ctx, residentID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Status == StatusDraft {
			return &list[i], nil
		}
	}
	now := s.now().UTC()
	a := &Application{ResidentID: residentID, Status: StatusDraft, Step: Steps[0], Lang: lang, CreatedAt: now, UpdatedAt: now}
	a.setAnswers(Answers{})
	a.JustJSON = "{}"
	if err := s.store.Create(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Own returns the resident's own application; anyone else's is not found.
func (s *Service) Own(ctx context.Context, residentID, id int64) (*Application, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.ResidentID != residentID {
		return nil, errNotFound
	}
	return a, nil
}

// Mine returns the resident's applications, newest first.
func (s *Service) Mine(ctx context.Context, residentID int64) ([]Application, error) {
	return s.store.OfResident(ctx, residentID)
}

// SaveStep stores the answers of one step of a draft and moves its
// furthest step on.
func (s *Service) SaveStep(ctx context.Context, residentID, id int64, step string, ans Answers) (*Application, error) {
	a, err := s.ownDraft(ctx, residentID, id)
	if err != nil {
		return nil, err
	}
	a.setAnswers(ans)
	if next := stepIndex(step) + 1; next > stepIndex(a.Step) {
		a.Step = stepAt(next)
	}
	a.UpdatedAt = s.now().UTC()
	return a, s.store.Save(ctx, a)
}

func stepAt(i int) string {
	if i >= len(Steps) {
		return stepSummary
	}
	return Steps[i]
}

func (s *Service) ownDraft(ctx context.Context, residentID, id int64) (*Application, error) {
	a, err := s.Own(ctx, residentID, id)
	if err != nil {
		return nil, err
	}
	if a.Sent() {
		return nil, problem.E(problem.Conflict, "exchange.error.already_sent")
	}
	return a, nil
}

// Send sends a complete draft: it is routed to the region of its postal
// code, leaves the resident's hands, and the resident gets a mail.
func (s *Service) Send(ctx context.Context, residentID, id int64) (*Application, error) {
	var out *Application
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st := NewStore(tx)
		a, err := st.getForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if a.ResidentID != residentID {
			return errNotFound
		}
		if a.Sent() {
			return problem.E(problem.Conflict, "exchange.error.already_sent")
		}
		ans := a.Answers()
		if missing := complete(ans, s.today()); missing != "" {
			return problem.Field(missing, "exchange.error.incomplete")
		}
		r, err := regions.NewStore(tx).ForPostalCode(ctx, ans.Home.PostalCode)
		if err != nil && !errors.Is(err, regions.ErrNotFound) {
			return err
		}
		if r != nil {
			a.RegionID = &r.ID
		}
		now := s.now().UTC()
		a.Status, a.SentAt, a.UpdatedAt = StatusSent, &now, now
		if err := st.Save(ctx, a); err != nil {
			return err
		}
		if err := st.AddEvent(ctx, &Event{ApplicationID: a.ID, Status: StatusSent, CreatedAt: now}); err != nil {
			return err
		}
		out = a
		return s.queueStatusMail(ctx, tx, a, StatusSent)
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return out, nil
}

// ForStaff returns an application a staff member may see: an advisor
// those of her region, an admin all. Opening it writes the access log.
func (s *Service) ForStaff(ctx context.Context, id int64) (*Application, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayHandle(ctx, a); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, a.ResidentID, audit.ExchangeView, resource(a.ID), audit.ReasonExchange); err != nil {
		return nil, err
	}
	return a, nil
}

// mayHandle refuses (as not found) a draft, or an application of another
// region to an advisor.
func (s *Service) mayHandle(ctx context.Context, a *Application) error {
	if !a.Sent() {
		return errNotFound
	}
	act := auth.ActorFrom(ctx)
	switch act.Role {
	case auth.RoleAdmin:
		return nil
	case auth.RoleAdvisor:
		u, err := s.users.ByID(ctx, act.UserID)
		if err != nil {
			return err
		}
		if u.RegionID != nil && a.RegionID != nil && *u.RegionID == *a.RegionID {
			return nil
		}
		// An application from outside every region waits for an admin.
	}
	return errNotFound
}

// staffRegion is the region whose applications the actor's desk lists: 0
// for an admin (all).
func (s *Service) staffRegion(ctx context.Context) (int64, error) {
	act := auth.ActorFrom(ctx)
	if act.Role == auth.RoleAdmin {
		return 0, nil
	}
	u, err := s.users.ByID(ctx, act.UserID)
	if err != nil {
		return 0, err
	}
	if u.RegionID == nil {
		return -1, nil // no region: nothing
	}
	return *u.RegionID, nil
}

// Desk lists the applications the actor may handle.
func (s *Service) Desk(ctx context.Context, f DeskFilter) ([]Application, error) {
	region, err := s.staffRegion(ctx)
	if err != nil {
		return nil, err
	}
	if region < 0 {
		return nil, nil
	}
	f.RegionID = region
	return s.store.Desk(ctx, f, 200)
}

// Assessment is what the advisor records.
type Assessment struct {
	SpecialSupport bool
	Justification  Justification
	Message        string // to the resident; "" for none
}

// Assess saves the advisor's assessment; a sent application moves to
// "in assessment" (and the resident is told).
func (s *Service) Assess(ctx context.Context, id int64, as Assessment) error {
	return s.change(ctx, id, audit.ExchangeAssess, func(a *Application) (Status, error) {
		if a.Status == StatusClosed || a.Status == StatusOfferMade {
			return "", problem.E(problem.Conflict, "exchange.error.closed")
		}
		special := as.SpecialSupport
		a.SpecialSupport = &special
		j := as.Justification
		if !special {
			j = Justification{}
		}
		b, err := jsonText(j)
		if err != nil {
			return "", err
		}
		a.JustJSON = b
		if a.Status == StatusSent {
			return StatusInAssessment, nil
		}
		return a.Status, nil
	}, as.Message)
}

// Forward sends the application to the housing office: the package is
// queued for the webhook (when one is configured) and the resident told.
func (s *Service) Forward(ctx context.Context, id int64, message string) error {
	return s.change(ctx, id, audit.ExchangeForward, func(a *Application) (Status, error) {
		switch {
		case a.Status != StatusInAssessment:
			return "", problem.E(problem.Conflict, "exchange.error.forward_state")
		case !a.Answers().Consent:
			return "", problem.E(problem.Conflict, "exchange.error.no_consent")
		}
		return StatusForwarded, nil
	}, message)
}

// SetOutcome records the housing office's answer: an offer, or closed.
func (s *Service) SetOutcome(ctx context.Context, id int64, to Status, message string) error {
	if to != StatusOfferMade && to != StatusClosed {
		return problem.Field("status", "exchange.error.choose")
	}
	return s.change(ctx, id, audit.ExchangeStatus, func(a *Application) (Status, error) {
		if a.Status == StatusClosed || (to == StatusOfferMade && a.Status != StatusForwarded) {
			return "", problem.E(problem.Conflict, "exchange.error.outcome_state")
		}
		return to, nil
	}, message)
}

// change runs one staff change on an application in a transaction: the
// rule fn returns the new status; a new status records an event and mails
// the resident; the access log is written with it.
func (s *Service) change(ctx context.Context, id int64, action audit.Action, fn func(*Application) (Status, error), message string) error {
	if len([]rune(message)) > 2000 {
		return problem.Field("message", "form.error.too_long")
	}
	var mailed bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st := NewStore(tx)
		a, err := st.getForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if err := s.mayHandle(ctx, a); err != nil {
			return err
		}
		before := a.Status
		to, err := fn(a)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		act := auth.ActorFrom(ctx)
		a.Status, a.UpdatedAt = to, now
		if a.AdvisorID == nil && act.Role == auth.RoleAdvisor {
			a.AdvisorID = &act.UserID
		}
		if err := st.Save(ctx, a); err != nil {
			return err
		}
		if to != before || message != "" {
			if err := st.AddEvent(ctx, &Event{ApplicationID: a.ID, Status: to, ActorID: &act.UserID, Message: message, CreatedAt: now}); err != nil {
				return err
			}
			if err := s.queueStatusMail(ctx, tx, a, to); err != nil {
				return err
			}
			mailed = true
		}
		if to == StatusForwarded && before != StatusForwarded && s.cfg.WebhookURL != "" {
			if err := s.queueDelivery(ctx, tx, a); err != nil {
				return err
			}
		}
		return s.audit.RecordTx(ctx, tx, a.ResidentID, action, resource(a.ID), audit.ReasonExchange)
	})
	if err == nil && mailed {
		s.wake()
	}
	return err
}

func resource(id int64) string { return "exchange/" + itoa(id) }

// Attachment limits and actions.

// Attachments lists an application's attachments.
func (s *Service) Attachments(ctx context.Context, a *Application) ([]files.File, error) {
	return s.files.List(ctx, a.Owner())
}

// Attach stores one attachment of a draft, within the limits per file,
// per application in count and in bytes.
func (s *Service) Attach(ctx context.Context, residentID, id int64, name string, r io.Reader) (*files.File, error) {
	a, err := s.ownDraft(ctx, residentID, id)
	if err != nil {
		return nil, err
	}
	n, used, err := s.files.UsedBytes(ctx, a.Owner())
	if err != nil {
		return nil, err
	}
	limit, err := s.cfg.Limits.Next(n, used)
	if err != nil {
		return nil, err
	}
	f, err := s.files.Save(ctx, a.Owner(), residentID, name, r, limit)
	if err != nil {
		return nil, s.cfg.Limits.Explain(err, limit)
	}
	a.UpdatedAt = s.now().UTC()
	return f, s.store.Save(ctx, a)
}

// Detach removes an attachment of a draft.
func (s *Service) Detach(ctx context.Context, residentID, id, fileID int64) error {
	a, err := s.ownDraft(ctx, residentID, id)
	if err != nil {
		return err
	}
	f, err := s.files.Get(ctx, fileID)
	if err != nil || f.Owner != a.Owner() {
		return errNotFound
	}
	return s.files.Delete(ctx, fileID)
}

// OwnAttachment opens an attachment of the resident's own application.
func (s *Service) OwnAttachment(ctx context.Context, residentID, id, fileID int64) (*files.File, io.ReadCloser, error) {
	a, err := s.Own(ctx, residentID, id)
	if err != nil {
		return nil, nil, err
	}
	return s.openAttachment(ctx, a, fileID)
}

// StaffAttachment opens an attachment for staff, writing the access log.
func (s *Service) StaffAttachment(ctx context.Context, id, fileID int64) (*files.File, io.ReadCloser, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.mayHandle(ctx, a); err != nil {
		return nil, nil, err
	}
	f, rc, err := s.openAttachment(ctx, a, fileID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.audit.RecordTx(ctx, s.db, a.ResidentID, audit.ExchangeAttachment, resource(a.ID)+"/files/"+itoa(fileID), audit.ReasonExchange); err != nil {
		_ = rc.Close() // the log failed: nothing is served
		return nil, nil, err
	}
	return f, rc, nil
}

func (s *Service) openAttachment(ctx context.Context, a *Application, fileID int64) (*files.File, io.ReadCloser, error) {
	f, err := s.files.Get(ctx, fileID)
	if err != nil || f.Owner != a.Owner() {
		return nil, nil, errNotFound
	}
	rc, err := s.files.Open(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	return f, rc, nil
}

// DeleteStaleDrafts deletes drafts untouched for DraftTTL, with their
// attachments, and returns how many went.
func (s *Service) DeleteStaleDrafts(ctx context.Context) (int, error) {
	before := s.now().UTC().Add(-s.cfg.DraftTTL)
	list, err := s.store.StaleDrafts(ctx, before, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range list {
		// Files first: a crash between leaves a draft without files,
		// which the next sweep deletes, never files without a draft.
		if err := s.files.DeleteOwner(ctx, a.Owner()); err != nil {
			return n, err
		}
		ok, err := s.store.DeleteDraft(ctx, a.ID, before)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Events returns an application's status history.
func (s *Service) Events(ctx context.Context, id int64) ([]Event, error) {
	return s.store.Events(ctx, id)
}

func validStatusFilter(v string) Status {
	if st := Status(v); slices.Contains(Statuses, st) {
		return st
	}
	return ""
}

func validReasonFilter(v string) string {
	if slices.Contains(Reasons, v) {
		return v
	}
	return ""
}

func jsonText(v any) (string, error) {
	b, err := jsonMarshal(v)
	if err != nil {
		return "", fmt.Errorf("exchange: encode: %w", err)
	}
	return string(b), nil
}
