// Package mail is the portal's outgoing mail: an outbox table that features
// write to inside their own transactions, and a Sender that delivers what is
// due, through SMTP in production and to the log (and the development
// mailbox page) otherwise.
//
// Delivery is at least once and, across any number of instances, by one
// instance at a time: a sender claims due rows before it sends them (FOR
// UPDATE SKIP LOCKED on PostgreSQL, the single writer lock on SQLite) and
// a claim is a lease, so a mail whose instance died mid-send is retried by
// another once the lease runs out. A failed delivery is retried with
// exponential back-off up to a maximum number of attempts.
package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrNotFound is returned for a mail that does not exist.
var ErrNotFound = errors.New("mail: not found")

// Message is a mail to enqueue.
type Message struct {
	To string
	// SubjectKey names the kind of mail (a translation key such as
	// "booking.mail.confirmed.subject"). It is what logs show instead of the
	// subject, which may carry personal data.
	SubjectKey string
	Subject    string
	Text       string
	HTML       string // optional alternative to Text
	// DedupeKey, when set, makes a second Enqueue with the same key a no-op,
	// so a job that runs twice cannot queue the same mail twice.
	DedupeKey   string
	Attachments []Attachment
}

// Attachment is a file sent with a mail, such as a calendar invitation.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// The states of a queued mail.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed" // gave up after the maximum number of attempts
)

// Stored is a mail as the outbox keeps it.
type Stored struct {
	ID            int64
	DedupeKey     *string
	Recipient     string
	SubjectKey    string
	Subject       string
	BodyText      string
	BodyHTML      string `gorm:"column:body_html"`
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
	Attachments   []StoredAttachment `gorm:"foreignKey:MailID"`
}

// TableName keeps gorm on the migrated table.
func (Stored) TableName() string { return "mail_outbox" }

// RecipientDomain is the part of the recipient after the @, which is what
// logs may show.
func (m *Stored) RecipientDomain() string {
	if i := strings.LastIndexByte(m.Recipient, '@'); i >= 0 {
		return m.Recipient[i+1:]
	}
	return ""
}

// StoredAttachment is an attachment as the outbox keeps it.
type StoredAttachment struct {
	ID          int64
	MailID      int64
	Name        string
	ContentType string
	Data        []byte
}

// TableName keeps gorm on the migrated table.
func (StoredAttachment) TableName() string { return "mail_attachments" }

// Outbox queues mail. It is safe for concurrent use.
type Outbox struct {
	db  *gorm.DB
	now func() time.Time
}

// NewOutbox returns the outbox on db. now may be nil for time.Now.
func NewOutbox(db *gorm.DB, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{db: db, now: now}
}

// Enqueue queues m in tx, the caller's transaction, so the mail exists if
// and only if the change it tells about commits. A nil tx uses the outbox's
// own connection. A message whose DedupeKey was queued before is skipped.
func (o *Outbox) Enqueue(ctx context.Context, tx *gorm.DB, m Message) error {
	if tx == nil {
		tx = o.db
	}
	if !validAddress(m.To) {
		return fmt.Errorf("mail: enqueue %s: invalid recipient", m.SubjectKey)
	}
	if m.SubjectKey == "" || m.Subject == "" || m.Text == "" {
		return fmt.Errorf("mail: enqueue: subject key, subject and text are required")
	}
	now := o.now().UTC()
	row := Stored{
		Recipient: m.To, SubjectKey: m.SubjectKey, Subject: m.Subject,
		BodyText: m.Text, BodyHTML: m.HTML, Status: StatusPending,
		NextAttemptAt: now, CreatedAt: now,
	}
	if m.DedupeKey != "" {
		k := m.DedupeKey
		row.DedupeKey = &k
	}
	res := tx.WithContext(ctx).Omit(clause.Associations).
		Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).
		Create(&row)
	if res.Error != nil {
		return fmt.Errorf("mail: enqueue %s: %w", m.SubjectKey, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // queued before under the same dedupe key
	}
	for _, a := range m.Attachments {
		sa := StoredAttachment{MailID: row.ID, Name: a.Name, ContentType: a.ContentType, Data: a.Data}
		if err := tx.WithContext(ctx).Create(&sa).Error; err != nil {
			return fmt.Errorf("mail: enqueue %s: attachment: %w", m.SubjectKey, err)
		}
	}
	return nil
}

// validAddress is a deliberately small check: one @, something on both
// sides, no white space or header-breaking characters. The SMTP library
// parses the address properly when it sends.
func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && !strings.ContainsAny(a, " \t\r\n<>,;\"")
}

// ByID loads one mail with its attachments.
func (o *Outbox) ByID(ctx context.Context, id int64) (*Stored, error) {
	var m Stored
	err := o.db.WithContext(ctx).Preload("Attachments").First(&m, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mail: load %d: %w", id, err)
	}
	return &m, nil
}

// Recent returns the newest mails, newest first, without attachment data.
func (o *Outbox) Recent(ctx context.Context, limit int) ([]Stored, error) {
	var out []Stored
	err := o.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("mail: recent: %w", err)
	}
	return out, nil
}
