// Package messages is the secure messages (Viestit) between a resident and
// the advisors: threads with attachments, read status on both sides, and
// e-mail notices that say only that there is something to read.
package messages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// Config is the messages' configuration; zero fields take DefaultConfig's.
type Config struct {
	// Limits are the attachments' of one message.
	files.Limits
	ReminderAfter time.Duration // a reminder mail when a staff message is still unread
	PublicURL     *url.URL      // for links in mail
}

// DefaultConfig is the configuration when nothing is set.
func DefaultConfig() Config {
	return Config{Limits: files.Limits{MaxFileBytes: 10 << 20, MaxFiles: 5, MaxTotalBytes: 25 << 20}, ReminderAfter: 7 * 24 * time.Hour}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	c.Limits.Defaults(d.Limits)
	if c.ReminderAfter <= 0 {
		c.ReminderAfter = d.ReminderAfter
	}
	if c.PublicURL == nil {
		c.PublicURL = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
}

// Limits on the text of a message.
const (
	maxSubject = 150
	maxBody    = 10000
)

// Thread is a conversation between one resident and the advisors.
type Thread struct {
	ID         int64
	ResidentID int64
	RegionID   *int64
	AssigneeID *int64
	Subject    string
	Origin     string // resident, advisor, chat
	CreatedAt  time.Time
	UpdatedAt  time.Time `gorm:"autoUpdateTime:false"`
}

// TableName keeps gorm on the migrated table.
func (Thread) TableName() string { return "message_threads" }

// Message is one message of a thread.
type Message struct {
	ID         int64
	ThreadID   int64
	AuthorID   int64
	FromStaff  bool
	AsRegion   bool // signed as the region's housing counselling, not by name
	Body       string
	CreatedAt  time.Time
	ReadAt     *time.Time
	RemindedAt *time.Time
}

// TableName keeps gorm on the migrated table.
func (Message) TableName() string { return "messages" }

func (m *Message) owner() string { return "messages/" + itoa(m.ID) }

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
	CSRF     func(c *fiber.Ctx, token string) bool
	Config   Config
	Now      func() time.Time
	Log      *slog.Logger
}

// Service is the secure messages feature.
type Service struct {
	db      *gorm.DB
	users   *auth.Users
	regions *regions.Store
	files   *files.Service
	fe      *frontend.Frontend
	audit   *audit.Log
	outbox  *mail.Outbox
	wake    func()
	csrf    func(c *fiber.Ctx, token string) bool
	cfg     Config
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
	return &Service{
		db: o.DB.Gorm, users: o.Users, regions: o.Regions, files: o.Files, fe: o.Frontend, audit: o.Audit,
		outbox: o.Outbox, wake: o.WakeMail, csrf: o.CSRF, cfg: o.Config, now: o.Now, log: o.Log,
	}
}

// errNotFound answers anything that is not the caller's: it looks the same
// whether or not the thing exists.
var errNotFound = problem.E(problem.NotFound, "messages.error.not_found")

// Draft is a message being written: its text, and the owner its files
// were uploaded under before the message existed.
type Draft struct {
	Subject    string
	Body       string
	AsRegion   bool
	FilesOwner string // "" for no files
}

// check validates a draft's text; subject only for a new thread.
func (d *Draft) check(newThread bool) error {
	fields := map[string]string{}
	d.Subject, d.Body = strings.TrimSpace(d.Subject), strings.TrimSpace(d.Body)
	if newThread {
		switch {
		case d.Subject == "":
			fields["subject"] = "form.error.required"
		case utf8.RuneCountInString(d.Subject) > maxSubject:
			fields["subject"] = "form.error.too_long"
		case strings.ContainsFunc(d.Subject, isControl):
			fields["subject"] = "error.field.control"
		}
	}
	switch {
	case d.Body == "":
		fields["body"] = "form.error.required"
	case utf8.RuneCountInString(d.Body) > maxBody:
		fields["body"] = "form.error.too_long"
	}
	if len(fields) > 0 {
		return problem.Fields(fields)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ResidentRegion is the region of a resident's postal code, nil when
// outside the service area.
func (s *Service) residentRegion(ctx context.Context, u *auth.User) (*int64, error) {
	if u.PostalCode == "" {
		return nil, nil
	}
	r, err := s.regions.ForPostalCode(ctx, u.PostalCode)
	if errors.Is(err, regions.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r.ID, nil
}

// StartByResident opens a thread from a resident to their region's
// advisors (or to the advisor they already have).
func (s *Service) StartByResident(ctx context.Context, residentID int64, d Draft) (*Thread, error) {
	if err := d.check(true); err != nil {
		return nil, err
	}
	u, err := s.users.ByID(ctx, residentID)
	if err != nil {
		return nil, err
	}
	region, err := s.residentRegion(ctx, u)
	if err != nil {
		return nil, err
	}
	var assignee *int64
	var last Thread
	err = s.db.WithContext(ctx).Where("resident_id = ? AND assignee_id IS NOT NULL", residentID).Order("updated_at DESC").Limit(1).Find(&last).Error
	if err != nil {
		return nil, fmt.Errorf("messages: the resident's advisor: %w", err)
	}
	if last.ID != 0 {
		assignee = last.AssigneeID
	}
	t := &Thread{ResidentID: residentID, RegionID: region, AssigneeID: assignee, Subject: d.Subject, Origin: "resident"}
	return t, s.create(ctx, t, &Message{AuthorID: residentID, Body: d.Body}, d.FilesOwner)
}

// StartByStaff opens a thread from an advisor to a resident.
func (s *Service) StartByStaff(ctx context.Context, residentID int64, d Draft) (*Thread, error) {
	if err := d.check(true); err != nil {
		return nil, err
	}
	act := auth.ActorFrom(ctx)
	res, err := s.users.ByID(ctx, residentID)
	if err != nil || res.Role != auth.RoleResident {
		return nil, problem.Field("resident", "messages.error.resident")
	}
	me, err := s.users.ByID(ctx, act.UserID)
	if err != nil {
		return nil, err
	}
	region := me.RegionID
	if region == nil {
		if region, err = s.residentRegion(ctx, res); err != nil {
			return nil, err
		}
	}
	t := &Thread{ResidentID: residentID, RegionID: region, AssigneeID: &act.UserID, Subject: d.Subject, Origin: "advisor"}
	m := &Message{AuthorID: act.UserID, FromStaff: true, AsRegion: d.AsRegion, Body: d.Body}
	if err := s.create(ctx, t, m, d.FilesOwner); err != nil {
		return nil, err
	}
	return t, nil
}

// StartFromChat opens a thread that continues a chat: its first message is
// the chat's transcript, from the advisor (or, when the resident starts it
// outside chat hours, from the resident). The chat calls it through an
// interface wired in cmd/portal; this package knows nothing of chats.
func (s *Service) StartFromChat(ctx context.Context, residentID, advisorID int64, subject, transcript string) (int64, error) {
	res, err := s.users.ByID(ctx, residentID)
	if err != nil {
		return 0, err
	}
	region, err := s.residentRegion(ctx, res)
	if err != nil {
		return 0, err
	}
	if len([]rune(subject)) > maxSubject {
		subject = string([]rune(subject)[:maxSubject])
	}
	if len([]rune(transcript)) > maxBody {
		transcript = string([]rune(transcript)[:maxBody])
	}
	t := &Thread{ResidentID: residentID, RegionID: region, Subject: subject, Origin: "chat"}
	m := &Message{AuthorID: residentID, Body: transcript}
	if advisorID != 0 {
		t.AssigneeID = &advisorID
		m.AuthorID, m.FromStaff = advisorID, true
	}
	if err := s.create(ctx, t, m, ""); err != nil {
		return 0, err
	}
	return t.ID, nil
}

// create stores a new thread with its first message.
func (s *Service) create(ctx context.Context, t *Thread, m *Message, filesOwner string) error {
	now := s.now().UTC()
	t.CreatedAt, t.UpdatedAt = now, now
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(t).Error; err != nil {
			return fmt.Errorf("messages: create thread: %w", err)
		}
		m.ThreadID = t.ID
		return s.add(ctx, tx, t, m, filesOwner, true)
	})
	if err == nil {
		s.wake()
	}
	return err
}

// add stores m in t, gives it its files, marks the author's side read,
// queues the mail it calls for and writes the access log for staff.
func (s *Service) add(ctx context.Context, tx *gorm.DB, t *Thread, m *Message, filesOwner string, newThread bool) error {
	m.CreatedAt = s.now().UTC()
	if err := tx.Create(m).Error; err != nil {
		return fmt.Errorf("messages: create message: %w", err)
	}
	if filesOwner != "" {
		if err := s.files.Reassign(ctx, tx, filesOwner, m.owner()); err != nil {
			return err
		}
	}
	if err := tx.Model(&Thread{}).Where("id = ?", t.ID).Update("updated_at", m.CreatedAt).Error; err != nil {
		return fmt.Errorf("messages: touch thread: %w", err)
	}
	// Writing answers what came before: the other side's messages are read.
	if err := tx.Model(&Message{}).Where("thread_id = ? AND from_staff = ? AND read_at IS NULL", t.ID, !m.FromStaff).
		Update("read_at", m.CreatedAt).Error; err != nil {
		return fmt.Errorf("messages: mark read: %w", err)
	}
	if m.FromStaff {
		if err := s.mailResident(ctx, tx, t, m, "messages.mail.new.subject", "messages.mail.new.text"); err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, t.ResidentID, audit.MessageSend, resource(t.ID), audit.ReasonMessages)
	}
	if newThread {
		return s.mailRegion(ctx, tx, t)
	}
	return nil
}

// Reply adds a message to a thread the caller is a party to.
func (s *Service) Reply(ctx context.Context, threadID int64, d Draft) (*Message, error) {
	if err := d.check(false); err != nil {
		return nil, err
	}
	act := auth.ActorFrom(ctx)
	var m *Message
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.partyThread(ctx, tx, threadID)
		if err != nil {
			return err
		}
		m = &Message{ThreadID: t.ID, AuthorID: act.UserID, FromStaff: act.Role.Staff(), AsRegion: d.AsRegion && act.Role.Staff(), Body: d.Body}
		if m.FromStaff && t.AssigneeID == nil {
			if err := tx.Model(t).Update("assignee_id", act.UserID).Error; err != nil {
				return fmt.Errorf("messages: assign on reply: %w", err)
			}
		}
		return s.add(ctx, tx, t, m, d.FilesOwner, false)
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return m, nil
}

// partyThread loads a thread the actor may see: the resident's own, or
// for staff a thread of their region (or assigned to them); admins all.
func (s *Service) partyThread(ctx context.Context, db *gorm.DB, id int64) (*Thread, error) {
	t, err := database.ByID[Thread](ctx, db, id, false, errNotFound)
	if err != nil {
		return nil, err
	}
	act := auth.ActorFrom(ctx)
	switch act.Role {
	case auth.RoleResident:
		if t.ResidentID == act.UserID {
			return t, nil
		}
	case auth.RoleAdmin:
		return t, nil
	case auth.RoleAdvisor:
		if t.AssigneeID != nil && *t.AssigneeID == act.UserID {
			return t, nil
		}
		me, err := s.users.ByID(ctx, act.UserID)
		if err != nil {
			return nil, err
		}
		if me.RegionID != nil && t.RegionID != nil && *me.RegionID == *t.RegionID {
			return t, nil
		}
	}
	return nil, errNotFound
}

// Open returns a thread and its messages for the actor, marking the other
// side's messages read; staff opening it writes the access log.
func (s *Service) Open(ctx context.Context, id int64) (*Thread, []Message, error) {
	t, err := s.partyThread(ctx, s.db, id)
	if err != nil {
		return nil, nil, err
	}
	act := auth.ActorFrom(ctx)
	if act.Role.Staff() {
		if err := s.audit.Record(ctx, t.ResidentID, audit.MessageThreadView, resource(t.ID), audit.ReasonMessages); err != nil {
			return nil, nil, err
		}
	}
	err = s.db.WithContext(ctx).Model(&Message{}).Where("thread_id = ? AND from_staff = ? AND read_at IS NULL", t.ID, !act.Role.Staff()).
		Update("read_at", s.now().UTC()).Error
	if err != nil {
		return nil, nil, fmt.Errorf("messages: mark read: %w", err)
	}
	var list []Message
	if err := s.db.WithContext(ctx).Where("thread_id = ?", t.ID).Order("id").Find(&list).Error; err != nil {
		return nil, nil, fmt.Errorf("messages: messages of %d: %w", t.ID, err)
	}
	return t, list, nil
}

// Assign gives a thread to an advisor of its region (0: to nobody).
func (s *Service) Assign(ctx context.Context, threadID, advisorID int64) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.partyThread(ctx, tx, threadID)
		if err != nil {
			return err
		}
		var to *int64
		if advisorID != 0 {
			a, err := s.users.ByID(ctx, advisorID)
			if err != nil || !a.Role.Staff() {
				return problem.Field("assignee", "messages.error.assignee")
			}
			to = &a.ID
		}
		if err := tx.Model(t).Update("assignee_id", to).Error; err != nil {
			return fmt.Errorf("messages: assign: %w", err)
		}
		return s.audit.RecordTx(ctx, tx, t.ResidentID, audit.MessageAssign, resource(t.ID), audit.ReasonMessages)
	})
}

// Attachment opens an attachment for a party of its thread; staff
// downloads write the access log.
func (s *Service) Attachment(ctx context.Context, threadID, fileID int64) (*files.File, io.ReadCloser, error) {
	t, err := s.partyThread(ctx, s.db, threadID)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.files.Get(ctx, fileID)
	if err != nil {
		return nil, nil, errNotFound
	}
	mid, err := strconv.ParseInt(strings.TrimPrefix(f.Owner, "messages/"), 10, 64)
	if err != nil || !strings.HasPrefix(f.Owner, "messages/") {
		return nil, nil, errNotFound
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&Message{}).Where("id = ? AND thread_id = ?", mid, t.ID).Count(&n).Error; err != nil {
		return nil, nil, fmt.Errorf("messages: attachment owner: %w", err)
	}
	if n != 1 {
		return nil, nil, errNotFound
	}
	if auth.ActorFrom(ctx).Role.Staff() {
		if err := s.audit.RecordTx(ctx, s.db, t.ResidentID, audit.MessageAttachment, resource(t.ID)+"/files/"+itoa(f.ID), audit.ReasonMessages); err != nil {
			return nil, nil, err
		}
	}
	rc, err := s.files.Open(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	return f, rc, nil
}

func resource(id int64) string { return "messages/" + itoa(id) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
