// The queue's storage: advisors' status, presence and capacity; waiting,
// accepted, transferred and closed conversations; staff notes.

package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Advisor statuses: only available advisors are offered chats.
const (
	AdvisorAvailable = "available"
	advisorBusy      = "busy"
	advisorAway      = "away"
)

// outcomes an advisor closes a chat with, and the one a resident's own
// ending leaves until an advisor records better.
var outcomes = []string{"advice_given", "appointment_booked", "case_opened", "referred_elsewhere"}

// outcomeEndedByResident is the outcome of a chat the resident ended.
const outcomeEndedByResident = "ended_by_resident"

// topics a resident chooses from.
var topics = []string{"rent_debt", "eviction", "exchange", "coping", "general"}

// System events in the message sequence.
const (
	eventAccepted    = "accepted"
	eventTransferred = "transferred"
	eventRequeued    = "requeued"
	eventClosed      = "closed"
	eventEnded       = "ended"
)

// AdvisorState is one advisor's chat status and load.
type AdvisorState struct {
	UserID int64
	// Status is the effective status: "away" for an advisor who chose
	// "available" but has not been seen at the chat desk within the
	// presence TTL.
	Status string
	// Absent is set when Status is away for that reason rather than by
	// the advisor's choice, so that the desk can tell them why.
	Absent bool
	// Capacity is how many chats the advisor may have open at once: their
	// own setting (OwnCapacity) or else the service default.
	Capacity    int
	OwnCapacity bool
	Active      int
}

// maxCapacity is the most chats an advisor's own capacity may allow, as
// the chat_advisors table checks it.
const maxCapacity = 20

// CanAccept reports whether the advisor may take another chat.
func (a AdvisorState) CanAccept() bool { return a.Status == AdvisorAvailable && a.Active < a.Capacity }

type advisorRow struct {
	UserID    int64 `gorm:"primaryKey;autoIncrement:false"`
	Status    string
	Capacity  *int
	UpdatedAt time.Time
	SeenAt    *time.Time // last seen at the chat desk; see Store.Touch
}

func (advisorRow) TableName() string { return "chat_advisors" }

// presentSince is the oldest seen_at that still counts as present.
func (s *Store) presentSince() time.Time { return s.now().UTC().Add(-s.presenceTTL) }

// state is the effective state of a stored advisor: one who chose
// "available" but has not been seen within the presence TTL (closed the
// browser, lost their session, sat on an instance that went down) is away.
func (s *Store) state(r advisorRow, defCapacity int) AdvisorState {
	a := AdvisorState{UserID: r.UserID, Status: r.Status, Capacity: defCapacity}
	if r.Capacity != nil {
		a.Capacity, a.OwnCapacity = *r.Capacity, true
	}
	if a.Status == AdvisorAvailable && (r.SeenAt == nil || r.SeenAt.Before(s.presentSince())) {
		a.Status, a.Absent = advisorAway, true
	}
	return a
}

// GivenName returns a user's first name (the name residents see).
func (s *Store) GivenName(ctx context.Context, userID int64) (string, error) {
	u, err := auth.NewUsers(s.db).ByID(ctx, userID)
	if err != nil {
		return "", userErr(err)
	}
	return givenName(u), nil
}

func givenName(u *auth.User) string {
	if u.GivenName != "" {
		return u.GivenName
	}
	return u.Name
}

// userErr is chat's error for a failed look-up of a user in auth.
func userErr(err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return errNotFound
	}
	return fmt.Errorf("chat: user: %w", err)
}

// Advisors returns the effective chat state of the given staff users;
// those who never set a status are away.
func (s *Store) Advisors(ctx context.Context, ids []int64, defCapacity int) (map[int64]AdvisorState, error) {
	out := make(map[int64]AdvisorState, len(ids))
	for _, id := range ids {
		out[id] = AdvisorState{UserID: id, Status: advisorAway, Capacity: defCapacity}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []advisorRow
	if err := s.db.WithContext(ctx).Where("user_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("chat: advisor states: %w", err)
	}
	for _, r := range rows {
		out[r.UserID] = s.state(r, defCapacity)
	}
	var loads []struct {
		AdvisorID int64
		N         int
	}
	err := s.db.WithContext(ctx).Model(&Conversation{}).Select("advisor_id, COUNT(*) AS n").
		Where("status = ? AND advisor_id IN ?", statusActive, ids).Group("advisor_id").Scan(&loads).Error
	if err != nil {
		return nil, fmt.Errorf("chat: advisor load: %w", err)
	}
	for _, l := range loads {
		a := out[l.AdvisorID]
		a.Active = l.N
		out[l.AdvisorID] = a
	}
	return out, nil
}

// SetStatus records an advisor's status. Choosing one is being at the
// desk, so it also renews their presence (see Touch).
func (s *Store) SetStatus(ctx context.Context, userID int64, status string) error {
	if status != AdvisorAvailable && status != advisorBusy && status != advisorAway {
		return fmt.Errorf("chat: status %q: %w", status, errConflict)
	}
	now := s.now().UTC()
	row := advisorRow{UserID: userID, Status: status, UpdatedAt: now, SeenAt: &now}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"status", "updated_at", "seen_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("chat: set status: %w", err)
	}
	return nil
}

// SetCapacity sets how many chats an advisor may have open at once; nil
// returns them to the service default. It leaves their status and
// presence as they are: an advisor who never chose a status gets a row
// that says away.
func (s *Store) SetCapacity(ctx context.Context, userID int64, capacity *int) error {
	if capacity != nil && (*capacity < 1 || *capacity > maxCapacity) {
		return fmt.Errorf("chat: capacity %d: %w", *capacity, errConflict)
	}
	row := advisorRow{UserID: userID, Status: advisorAway, Capacity: capacity, UpdatedAt: s.now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"capacity"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("chat: set capacity of advisor %d: %w", userID, err)
	}
	return nil
}

// SetAway sets an advisor away, as their logout does, and reports whether
// their status changed (users who never set one have none to change).
func (s *Store) SetAway(ctx context.Context, userID int64) (bool, error) {
	res := s.db.WithContext(ctx).Model(&advisorRow{}).Where("user_id = ? AND status <> ?", userID, advisorAway).
		UpdateColumns(map[string]any{"status": advisorAway, "updated_at": s.now().UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("chat: set advisor %d away: %w", userID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// Touch records that advisors are at the chat desk now: they have a socket
// open or loaded the desk. It only renews a presence that has not lapsed;
// one that has needs the advisor to choose a status again (SetStatus), so
// that nobody who walked away is made available behind their back.
func (s *Store) Touch(ctx context.Context, ids []int64) error {
	now := s.now().UTC()
	since := now.Add(-s.presenceTTL)
	for chunk := range slices.Chunk(ids, 500) {
		err := s.db.WithContext(ctx).Model(&advisorRow{}).Where("user_id IN ? AND seen_at >= ?", chunk, since).
			UpdateColumn("seen_at", now).Error
		if err != nil {
			return fmt.Errorf("chat: advisor presence: %w", err)
		}
	}
	return nil
}

// AvailableAdvisors counts advisors who chose "available" and are present
// (seen at the desk within the presence TTL).
func (s *Store) AvailableAdvisors(ctx context.Context) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&advisorRow{}).Where("status = ? AND seen_at >= ?", AdvisorAvailable, s.presentSince()).
		Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("chat: count available advisors: %w", err)
	}
	return int(n), nil
}

// Queue returns the waiting conversations, longest waiting first.
func (s *Store) Queue(ctx context.Context) ([]Conversation, error) {
	var out []Conversation
	err := s.conversations(ctx).Where("status = ?", statusQueued).Order("queued_at, id").Limit(500).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("chat: queue: %w", err)
	}
	return out, nil
}

// ByAdvisor returns an advisor's conversations in a status.
func (s *Store) ByAdvisor(ctx context.Context, advisorID int64, status string) ([]Conversation, error) {
	var out []Conversation
	err := s.conversations(ctx).Where("advisor_id = ? AND status = ?", advisorID, status).
		Order("accepted_at DESC, id DESC").Limit(100).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("chat: conversations of advisor: %w", err)
	}
	return out, nil
}

// ByResident returns a logged-in resident's conversations, newest first.
func (s *Store) ByResident(ctx context.Context, residentID int64, limit int) ([]Conversation, error) {
	var out []Conversation
	err := s.conversations(ctx).Where("resident_id = ?", residentID).
		Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("chat: conversations of resident: %w", err)
	}
	return out, nil
}

// OpenFor returns the open (queued or active) conversation of a resident
// or guest, or errNotFound.
func (s *Store) OpenFor(ctx context.Context, p *Principal) (*Conversation, error) {
	q := s.conversations(ctx).Where("status <> ?", statusClosed)
	switch {
	case p.GuestID != "":
		q = q.Where("guest_id = ?", p.GuestID)
	case !p.Staff() && p.UserID != 0:
		q = q.Where("resident_id = ?", p.UserID)
	default:
		return nil, errNotFound
	}
	var c Conversation
	err := q.Order("id DESC").Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("chat: open conversation: %w", err)
	}
	return &c, nil
}

// lockAdvisor serialises the accepts of one advisor, so that two at once
// cannot both pass the capacity check.
func (s *Store) lockAdvisor(tx *gorm.DB, id int64, defCapacity int) (AdvisorState, error) {
	var row advisorRow
	err := s.lock(tx.Where("user_id = ?", id)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return AdvisorState{UserID: id, Status: advisorAway, Capacity: defCapacity}, nil
	}
	if err != nil {
		return AdvisorState{}, fmt.Errorf("lock advisor: %w", err)
	}
	a := s.state(row, defCapacity)
	var n int64
	if err := tx.Model(&Conversation{}).Where("advisor_id = ? AND status = ?", id, statusActive).Count(&n).Error; err != nil {
		return AdvisorState{}, fmt.Errorf("count advisor's chats: %w", err)
	}
	a.Active = int(n)
	return a, nil
}

// change runs fn on a locked conversation in a transaction and stores the
// system message fn returns (if any) with the conversation's next sequence.
func (s *Store) change(ctx context.Context, convID int64, fn func(tx *gorm.DB, c *Conversation) (*Draft, error)) (*message, error) {
	var msg *message
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c Conversation
		err := s.lock(tx.Where("id = ?", convID)).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("lock conversation: %w", err)
		}
		d, err := fn(tx, &c)
		if err != nil || d == nil {
			return err
		}
		if err := tx.Save(&c).Error; err != nil {
			return fmt.Errorf("save conversation: %w", err)
		}
		d.ConversationID, d.Kind, d.SenderRole, d.ClientID = convID, kindSystem, roleSystem, ""
		msg, err = s.appendSystem(tx, d)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("chat: conversation %d: %w", convID, err)
	}
	return msg, nil
}

// systemSQL stores a conversation's own message with the seq after the
// last stored, in the transaction of the change that the message tells.
// Lanes do not wait for the conversation's lock: on PostgreSQL one may
// store that seq first (store_pg.go). The statement then stores nothing
// and runs again, on what is stored by then; the lane's message comes
// before the change, as it was stored under the rules before it. A message
// that the change refuses but that was numbered from what was stored
// before it gets a seq that is taken by then, and the primary key refuses
// it: its writer reads the new rules.
const systemSQL = `
INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, sender_id, sender_name, client_id, event, body, created_at)
SELECT @conv, COALESCE(MAX(seq), 0) + 1, @kind, @role, @sender, @name, '', @event, @body, @at
FROM chat_messages WHERE conversation_id = @conv
ON CONFLICT DO NOTHING
RETURNING seq`

// appendSystem stores d, a system message, inside tx with the next seq.
func (s *Store) appendSystem(tx *gorm.DB, d *Draft) (*message, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var sender *int64
	if d.SenderID != 0 {
		sender = &d.SenderID
	}
	for range storeAttempts {
		var seqs []int64
		err := tx.Raw(systemSQL, map[string]any{"conv": d.ConversationID, "kind": d.Kind, "role": d.SenderRole,
			"sender": sender, "name": d.SenderName, "event": d.Event, "body": d.Body, "at": now}).Scan(&seqs).Error
		if err != nil {
			return nil, fmt.Errorf("insert message: %w", err)
		}
		if len(seqs) == 1 {
			m := d.message(seqs[0], now)
			return &m, nil
		}
	}
	return nil, fmt.Errorf("insert message: its seq was taken %d times in a row", storeAttempts)
}

// Accept gives a queued conversation to an advisor who is available and
// under capacity.
func (s *Store) Accept(ctx context.Context, convID int64, advisor *Principal, defCapacity int) (*message, error) {
	return s.change(ctx, convID, func(tx *gorm.DB, c *Conversation) (*Draft, error) {
		a, err := s.lockAdvisor(tx, advisor.UserID, defCapacity)
		if err != nil {
			return nil, err
		}
		if !a.CanAccept() {
			return nil, errCapacity
		}
		if c.Status != statusQueued {
			return nil, errConflict
		}
		now := s.now().UTC()
		id := advisor.UserID
		c.Status, c.AdvisorID, c.AcceptedAt = statusActive, &id, &now
		return &Draft{Event: eventAccepted, SenderName: advisor.Name}, nil
	})
}

// TransferToAdvisor hands an active conversation from its advisor to
// another, who must be available and under capacity.
func (s *Store) TransferToAdvisor(ctx context.Context, convID int64, from *Principal, to int64, defCapacity int) (*message, error) {
	return s.change(ctx, convID, func(tx *gorm.DB, c *Conversation) (*Draft, error) {
		if c.Status != statusActive || !from.mayJoin(c) {
			return nil, errConflict
		}
		if to == from.UserID {
			return nil, errConflict
		}
		// Read on the transaction, through auth, which owns users.
		target, err := auth.NewUsers(tx).ByID(tx.Statement.Context, to)
		if err != nil {
			return nil, userErr(err)
		}
		if !target.Role.Staff() {
			return nil, errNotFound
		}
		a, err := s.lockAdvisor(tx, to, defCapacity)
		if err != nil {
			return nil, err
		}
		if !a.CanAccept() {
			return nil, errCapacity
		}
		c.AdvisorID = &to
		return &Draft{Event: eventTransferred, SenderName: givenName(target)}, nil
	})
}

// TransferToRegion puts an active conversation back in the queue for a
// region (0: any region), keeping its place in line.
func (s *Store) TransferToRegion(ctx context.Context, convID int64, from *Principal, regionID int64) (*message, error) {
	return s.change(ctx, convID, func(tx *gorm.DB, c *Conversation) (*Draft, error) {
		if c.Status != statusActive || !from.mayJoin(c) {
			return nil, errConflict
		}
		if regionID != 0 {
			if _, err := regions.NewStore(tx).ByID(tx.Statement.Context, regionID); err != nil {
				return nil, errNotFound
			}
			c.RegionID = &regionID
		} else {
			c.RegionID = nil
		}
		c.Status, c.AdvisorID, c.AcceptedAt = statusQueued, nil, nil
		return &Draft{Event: eventRequeued}, nil
	})
}

// Close ends a conversation with an outcome. An advisor closes their
// active chat, or records the outcome of one the resident ended.
func (s *Store) Close(ctx context.Context, convID int64, by *Principal, outcome string) (*message, error) {
	if !slices.Contains(outcomes, outcome) {
		return nil, errConflict
	}
	var updated bool
	msg, err := s.change(ctx, convID, func(tx *gorm.DB, c *Conversation) (*Draft, error) {
		if !by.mayJoin(c) {
			return nil, errForbidden
		}
		switch {
		case c.Status == statusActive:
			now := s.now().UTC()
			c.Status, c.Outcome, c.ClosedAt = statusClosed, outcome, &now
			return &Draft{Event: eventClosed, SenderName: by.Name}, nil
		case c.Status == statusClosed && c.Outcome == outcomeEndedByResident:
			updated = true
			return nil, tx.Model(c).Update("outcome", outcome).Error
		}
		return nil, errConflict
	})
	if err == nil && msg == nil && !updated {
		return nil, errConflict
	}
	return msg, err
}

// End is the resident leaving: a queued or active chat closes.
func (s *Store) End(ctx context.Context, convID int64, by *Principal) (*message, error) {
	return s.change(ctx, convID, func(tx *gorm.DB, c *Conversation) (*Draft, error) {
		if by.Staff() || !by.mayJoin(c) {
			return nil, errForbidden
		}
		if c.Status == statusClosed {
			return nil, nil
		}
		now := s.now().UTC()
		c.Status, c.Outcome, c.ClosedAt = statusClosed, outcomeEndedByResident, &now
		return &Draft{Event: eventEnded}, nil
	})
}

// AddNote stores a staff note.
func (s *Store) AddNote(ctx context.Context, n *note) error {
	n.ID, n.CreatedAt = 0, s.now().UTC()
	if err := s.db.WithContext(ctx).Omit("AuthorName").Create(n).Error; err != nil {
		return fmt.Errorf("chat: add note: %w", err)
	}
	return nil
}

// Notes returns a conversation's staff notes, oldest first.
func (s *Store) Notes(ctx context.Context, convID int64) ([]note, error) {
	var out []note
	err := s.db.WithContext(ctx).Table("chat_notes").
		Where("conversation_id = ?", convID).Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("chat: notes: %w", err)
	}
	ids := make([]int64, len(out))
	for i, n := range out {
		ids[i] = n.AuthorID
	}
	authors, err := auth.NewUsers(s.db).ByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("chat: note authors: %w", err)
	}
	for i := range out {
		if a := authors[out[i].AuthorID]; a != nil {
			out[i].AuthorName = a.Name
		}
	}
	return out, nil
}

// Staff returns the advisors and admins, for the transfer form and the
// capacity settings.
func (s *Store) Staff(ctx context.Context) ([]staffMember, error) {
	us, err := auth.NewUsers(s.db).WithRole(ctx, auth.RoleAdvisor, auth.RoleAdmin)
	if err != nil {
		return nil, fmt.Errorf("chat: staff: %w", err)
	}
	out := make([]staffMember, len(us))
	for i, u := range us {
		out[i] = staffMember{ID: u.ID, Name: u.Name, RegionID: u.RegionID}
	}
	return out, nil
}

// staffMember is an advisor or admin as the transfer form and the
// capacity settings list them.
type staffMember struct {
	ID       int64
	Name     string
	RegionID *int64
}
