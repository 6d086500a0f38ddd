package messages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// ThreadRow is a thread in a list, with what the viewer has not read.
type ThreadRow struct {
	Thread
	Unread int64
}

// listQuery is the threads with, per thread, the count of messages from
// the other side that are unread.
func (s *Service) listQuery(ctx context.Context, fromStaff bool) *gorm.DB {
	return s.db.WithContext(ctx).Model(&Thread{}).
		Select("message_threads.*, (SELECT COUNT(*) FROM messages m WHERE m.thread_id = message_threads.id AND m.from_staff = ? AND m.read_at IS NULL) AS unread", fromStaff)
}

// ResidentThreads lists a resident's threads, newest first.
func (s *Service) ResidentThreads(ctx context.Context, residentID int64, limit int) ([]ThreadRow, error) {
	var out []ThreadRow
	err := s.listQuery(ctx, true).Where("resident_id = ?", residentID).Order("updated_at DESC, id DESC").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages: threads of %d: %w", residentID, err)
	}
	return out, nil
}

// Inbox filters the staff inbox.
type Inbox string

// The inboxes: the region's threads nobody has taken, the advisor's own,
// or every thread of the region.
const (
	InboxUnassigned Inbox = "unassigned"
	InboxMine       Inbox = "mine"
	InboxAll        Inbox = "all"
)

// StaffThreads lists the threads an advisor may see (admins: all), those
// with unread messages first, then newest first.
func (s *Service) StaffThreads(ctx context.Context, box Inbox, limit int) ([]ThreadRow, error) {
	act := auth.ActorFrom(ctx)
	q := s.listQuery(ctx, false)
	if act.Role != auth.RoleAdmin {
		me, err := s.users.ByID(ctx, act.UserID)
		if err != nil {
			return nil, err
		}
		if me.RegionID != nil {
			q = q.Where("(region_id = ? OR assignee_id = ?)", *me.RegionID, act.UserID)
		} else {
			q = q.Where("assignee_id = ?", act.UserID)
		}
	}
	switch box {
	case InboxUnassigned:
		q = q.Where("assignee_id IS NULL")
	case InboxMine:
		q = q.Where("assignee_id = ?", act.UserID)
	}
	var out []ThreadRow
	// PostgreSQL takes an output column in ORDER BY only bare, so the
	// unread-first order runs over the list as a table.
	err := s.db.WithContext(ctx).Table("(?) AS t", q).Order("CASE WHEN unread > 0 THEN 0 ELSE 1 END, updated_at DESC, id DESC").
		Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages: inbox: %w", err)
	}
	return out, nil
}

// UnreadForResident counts the staff messages a resident has not read.
func (s *Service) UnreadForResident(ctx context.Context, residentID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Message{}).
		Joins("JOIN message_threads t ON t.id = messages.thread_id").
		Where("t.resident_id = ? AND messages.from_staff = ? AND messages.read_at IS NULL", residentID, true).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("messages: unread of %d: %w", residentID, err)
	}
	return n, nil
}

// UnreadForStaff counts the threads with unread resident messages that
// the advisor's inbox shows: her region's and her own.
func (s *Service) UnreadForStaff(ctx context.Context, u *auth.User) (int64, error) {
	q := s.db.WithContext(ctx).Model(&Thread{}).
		Where("EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = message_threads.id AND m.from_staff = ? AND m.read_at IS NULL)", false)
	switch {
	case u.Role == auth.RoleAdmin:
	case u.RegionID != nil:
		q = q.Where("(region_id = ? OR assignee_id = ?)", *u.RegionID, u.ID)
	default:
		q = q.Where("assignee_id = ?", u.ID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("messages: unread threads: %w", err)
	}
	return n, nil
}

// mailResident tells the resident, in the change's transaction, that there
// is a new message: no subject, no text, only a link.
func (s *Service) mailResident(ctx context.Context, tx *gorm.DB, t *Thread, m *Message, subjectKey, textKey string) error {
	if s.outbox == nil {
		return nil
	}
	u, err := auth.NewUsers(tx).ByID(ctx, t.ResidentID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("messages: resident of %d: %w", t.ID, err)
	}
	if u.Email == "" {
		return nil
	}
	lang := langOf(u)
	return s.outbox.Enqueue(ctx, tx, mail.Message{
		To: u.Email, SubjectKey: subjectKey, Subject: s.fe.T(lang, subjectKey),
		Text:      s.fe.T(lang, textKey, map[string]any{"Name": u.GivenName, "Link": s.cfg.PublicURL.String() + "/messages/" + itoa(t.ID)}),
		DedupeKey: fmt.Sprintf("%s:%d", subjectKey, m.ID),
	})
}

// mailRegion tells each advisor of the thread's region (or its assignee)
// once that a new thread has come: one mail per thread, not per message.
func (s *Service) mailRegion(ctx context.Context, tx *gorm.DB, t *Thread) error {
	if s.outbox == nil {
		return nil
	}
	users := auth.NewUsers(tx)
	var to []auth.User
	switch {
	case t.AssigneeID != nil:
		a, err := users.ByID(ctx, *t.AssigneeID)
		if err != nil {
			return err
		}
		to = []auth.User{*a}
	case t.RegionID != nil:
		var err error
		if to, err = users.InRegion(ctx, auth.RoleAdvisor, *t.RegionID); err != nil {
			return err
		}
	}
	for _, a := range to {
		if a.Email == "" {
			continue
		}
		lang := langOf(&a)
		err := s.outbox.Enqueue(ctx, tx, mail.Message{
			To: a.Email, SubjectKey: "messages.mail.staff_new.subject", Subject: s.fe.T(lang, "messages.mail.staff_new.subject"),
			Text:      s.fe.T(lang, "messages.mail.staff_new.text", map[string]any{"Link": s.cfg.PublicURL.String() + "/desk/messages/" + itoa(t.ID)}),
			DedupeKey: fmt.Sprintf("messages.staff_new:%d:%d", t.ID, a.ID),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func langOf(u *auth.User) string {
	if u.PreferredLang == "" {
		return "fi"
	}
	return u.PreferredLang
}

// SendReminders mails residents whose staff messages are still unread
// after ReminderAfter, once per message, and returns how many were sent.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	before := s.now().UTC().Add(-s.cfg.ReminderAfter)
	var due []Message
	err := s.db.WithContext(ctx).Where("from_staff = ? AND read_at IS NULL AND reminded_at IS NULL AND created_at < ?", true, before).
		Order("id").Limit(200).Find(&due).Error
	if err != nil {
		return 0, fmt.Errorf("messages: due reminders: %w", err)
	}
	n := 0
	for i := range due {
		m := &due[i]
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&Message{}).Where("id = ? AND reminded_at IS NULL AND read_at IS NULL", m.ID).Update("reminded_at", s.now().UTC())
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error // another instance took it, or it was read
			}
			var t Thread
			if err := tx.First(&t, m.ThreadID).Error; err != nil {
				return err
			}
			n++
			return s.mailResident(ctx, tx, &t, m, "messages.mail.reminder.subject", "messages.mail.reminder.text")
		})
		if err != nil {
			return n, fmt.Errorf("messages: reminder for %d: %w", m.ID, err)
		}
	}
	if n > 0 {
		s.wake()
	}
	return n, nil
}

// RunReminders sends reminders every interval until ctx ends, and removes
// files of drafts a crash left (uploaded, but no message was stored).
func (s *Service) RunReminders(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.SendReminders(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("messages: reminders", "err", err)
		}
		if owners, err := s.files.OwnersLike(ctx, draftPrefix, s.now().UTC().Add(-24*time.Hour)); err == nil {
			for _, o := range owners {
				if err := s.files.DeleteOwner(ctx, o); err != nil {
					s.log.Error("messages: delete draft files", "err", err)
				}
			}
		} else if ctx.Err() == nil {
			s.log.Error("messages: draft files", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// draftPrefix is the owner of files uploaded with a message being sent,
// until the message is stored.
const draftPrefix = "messages/draft/"
