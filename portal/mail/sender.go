package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// Transport delivers one mail. Send may be called again for the same mail
// after it returned an error; an error wrapped with Permanent is not retried.
type Transport interface {
	Send(ctx context.Context, m *Stored) error
}

// permanentError marks a delivery failure that no retry can fix, such as a
// recipient the server refuses.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the sender gives up on the mail at once.
func Permanent(err error) error { return &permanentError{err} }

// SenderConfig tunes the Sender. Zero fields take the defaults noted.
type SenderConfig struct {
	Batch        int           // mails claimed per round
	PollInterval time.Duration // how often due mail is looked for
	// Lease is how long a claimed mail is left to its sender before another
	// instance may take it over; longer than any one delivery.
	Lease       time.Duration
	MaxAttempts int           // deliveries tried before giving up
	BaseBackoff time.Duration // wait after the first failure, doubled each time
	MaxBackoff  time.Duration // longest wait between attempts
	// Retention is how long delivered and failed mails, which hold personal
	// data, stay in the outbox for the record. Defaults: DefaultSenderConfig.
	Retention time.Duration
}

// DefaultSenderConfig is the sender's configuration when nothing is set:
// what NewSender fills in for a zero field, and what cmd/portal offers when
// a PORTAL_MAIL_* setting is unset. Written once.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{
		Batch: 20, PollInterval: 5 * time.Second, Lease: 2 * time.Minute, MaxAttempts: 8,
		BaseBackoff: 30 * time.Second, MaxBackoff: 2 * time.Hour, Retention: 30 * 24 * time.Hour,
	}
}

func (c *SenderConfig) defaults() {
	def := DefaultSenderConfig()
	for _, f := range []struct{ v, d *int }{{&c.Batch, &def.Batch}, {&c.MaxAttempts, &def.MaxAttempts}} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&c.PollInterval, &def.PollInterval}, {&c.Lease, &def.Lease}, {&c.BaseBackoff, &def.BaseBackoff},
		{&c.MaxBackoff, &def.MaxBackoff}, {&c.Retention, &def.Retention},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
}

// Sender delivers due mail from the outbox through a Transport. Any number
// of Senders, in one process or many, may run on the same database: each
// mail is claimed by one of them at a time.
type Sender struct {
	db        *database.DB
	transport Transport
	cfg       SenderConfig
	now       func() time.Time
	log       *slog.Logger
	wake      chan struct{}

	mu         sync.Mutex
	lastPurged time.Time

	// claimHold, in tests, keeps each claim transaction open this long
	// after its SELECT, so that racing instances surely overlap.
	claimHold time.Duration
}

// NewSender returns a Sender. now may be nil for time.Now, log nil for none.
func NewSender(db *database.DB, t Transport, cfg SenderConfig, now func() time.Time, log *slog.Logger) *Sender {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{db: db, transport: t, cfg: cfg, now: now, log: log, wake: make(chan struct{}, 1)}
}

// Wake asks a running sender to look for due mail now rather than at its
// next poll. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers due mail until ctx ends. A failing round is logged and
// retried at the next poll.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("mail: delivery round failed", "err", err)
		}
		if err := s.purge(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("mail: purge failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// SendDue claims and delivers due mail, batch after batch, until none is
// due, and returns how many were delivered.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	sent := 0
	for ctx.Err() == nil {
		batch, err := s.claim(ctx)
		if err != nil {
			return sent, err
		}
		if len(batch) == 0 {
			return sent, nil
		}
		for i := range batch {
			ok, err := s.deliver(ctx, &batch[i])
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, ctx.Err()
}

// Claim statements: PostgreSQL skips rows another instance holds, SQLite's
// immediate transactions already admit one writer at a time.
const (
	claimPostgres = `SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`
	claimSQLite = `SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id LIMIT ?`
)

// claim takes up to Batch due mails: it moves their next attempt past the
// lease and counts the attempt, in one transaction, so no other sender sees
// them as due until the lease runs out.
func (s *Sender) claim(ctx context.Context) ([]Stored, error) {
	now := s.now().UTC()
	q := claimSQLite
	if s.db.Dialect == database.Postgres {
		q = claimPostgres
	}
	var ids []int64
	err := s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(q, now, s.cfg.Batch).Scan(&ids).Error; err != nil {
			return err
		}
		time.Sleep(s.claimHold)
		if len(ids) == 0 {
			return nil
		}
		return tx.Exec(`UPDATE mail_outbox SET next_attempt_at = ?, attempts = attempts + 1 WHERE id IN ?`,
			now.Add(s.cfg.Lease), ids).Error
	})
	if err != nil {
		return nil, fmt.Errorf("mail: claim: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var batch []Stored
	if err := s.db.Gorm.WithContext(ctx).Preload("Attachments").Where("id IN ?", ids).Order("id").Find(&batch).Error; err != nil {
		return nil, fmt.Errorf("mail: load claimed: %w", err)
	}
	return batch, nil
}

// deliver sends one claimed mail and records the outcome. It reports
// whether the mail went out; the error is about recording, not sending.
func (s *Sender) deliver(ctx context.Context, m *Stored) (bool, error) {
	sendErr := s.transport.Send(ctx, m)
	now := s.now().UTC()
	log := s.log.With("mail_id", m.ID, "to_domain", m.RecipientDomain(), "subject_key", m.SubjectKey, "attempt", m.Attempts)
	if sendErr == nil {
		err := s.db.Gorm.WithContext(context.WithoutCancel(ctx)).Exec(
			`UPDATE mail_outbox SET status = 'sent', sent_at = ?, last_error = '' WHERE id = ?`, now, m.ID).Error
		if err != nil {
			return true, fmt.Errorf("mail: record delivery of %d: %w", m.ID, err)
		}
		log.Info("mail delivered")
		return true, nil
	}
	var perm *permanentError
	status, next := StatusPending, now.Add(s.backoff(m.Attempts))
	if errors.As(sendErr, &perm) || m.Attempts >= s.cfg.MaxAttempts {
		status = StatusFailed
	}
	err := s.db.Gorm.WithContext(context.WithoutCancel(ctx)).Exec(
		`UPDATE mail_outbox SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
		status, next, truncate(sendErr.Error(), 500), m.ID).Error
	if err != nil {
		return false, fmt.Errorf("mail: record failure of %d: %w", m.ID, err)
	}
	if status == StatusFailed {
		log.Error("mail delivery failed for good", "err", sendErr)
	} else {
		log.Warn("mail delivery failed, will retry", "err", sendErr, "next_attempt_at", next)
	}
	return false, nil
}

// backoff is the wait after the attempt-th failure: exponential, capped,
// with up to 20% jitter so instances that failed together do not retry
// together.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.BaseBackoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// purge deletes delivered and failed mail older than the retention, at
// most once an hour.
func (s *Sender) purge(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	if now.Sub(s.lastPurged) < time.Hour {
		s.mu.Unlock()
		return nil
	}
	s.lastPurged = now
	s.mu.Unlock()
	cutoff := now.UTC().Add(-s.cfg.Retention)
	// Attachments go with their mail (ON DELETE CASCADE on PostgreSQL; the
	// explicit delete covers SQLite connections without foreign keys).
	return s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old := tx.Model(&Stored{}).Select("id").Where("status <> ? AND created_at < ?", StatusPending, cutoff)
		if err := tx.Where("mail_id IN (?)", old).Delete(&StoredAttachment{}).Error; err != nil {
			return fmt.Errorf("mail: purge attachments: %w", err)
		}
		if err := tx.Where("status <> ? AND created_at < ?", StatusPending, cutoff).Delete(&Stored{}).Error; err != nil {
			return fmt.Errorf("mail: purge: %w", err)
		}
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
