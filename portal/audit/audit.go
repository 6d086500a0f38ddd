// Package audit keeps the access log: every time staff read or change a
// resident's data, who did it, when, to whom, what and why. The table is
// append-only (the schema refuses updates and deletes).
package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// Entry is one line of the access log.
type Entry struct {
	ID         int64
	At         time.Time
	ActorID    int64
	ActorRole  string
	ResidentID *int64
	Action     string // what was done, e.g. "booking.view", "chat.resident_page"
	Resource   string // which record, e.g. "booking:42"
	Reason     string // why, e.g. "calendar", "chat 17"
	RequestID  string
}

// TableName keeps gorm on the migrated table.
func (Entry) TableName() string { return "access_log" }

// Log writes and reads the access log.
type Log struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns the access log.
func New(db *gorm.DB, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now}
}

// SameOpening is how long a repeated read of the same record by the same
// person counts as one opening: the steps of one booking form, a page
// reloaded, a calendar paged back and forth write one entry, not one per
// query or render.
const SameOpening = 10 * time.Minute

// Record writes a read of a resident's data by the actor in ctx (see
// auth.ActorFrom) when that actor is staff; a resident looking at their
// own data is not logged. The same read of the same record by the same
// actor within SameOpening is already in the log and is not written again.
// Call it wherever staff read a resident's data, before responding: if it
// fails, the caller fails too, so no access goes unrecorded.
func (l *Log) Record(ctx context.Context, residentID int64, action Action, resource string, reason Reason) error {
	e, ok := entryFor(ctx, residentID, action, resource, reason)
	if !ok {
		return nil
	}
	q := l.db.WithContext(ctx).Model(&Entry{}).
		Where("actor_id = ? AND at >= ? AND action = ? AND resource = ?", e.ActorID, l.now().UTC().Add(-SameOpening), e.Action, e.Resource)
	if e.ResidentID != nil {
		q = q.Where("resident_id = ?", *e.ResidentID)
	} else {
		q = q.Where("resident_id IS NULL")
	}
	var seen []int64
	if err := q.Limit(1).Pluck("id", &seen).Error; err != nil {
		return fmt.Errorf("audit: look up %s: %w", e.Action, err)
	}
	if len(seen) > 0 {
		return nil
	}
	return l.write(ctx, l.db, e)
}

// RecordList writes, for a list that shows several residents' data (a
// desk's inbox), one read per resident, with Record's folding of repeats
// within SameOpening: one query for what is already in the log and one
// insert for the rest, however long the list.
func (l *Log) RecordList(ctx context.Context, residentIDs []int64, action Action, resource string, reason Reason) error {
	e, ok := entryFor(ctx, 0, action, resource, reason)
	if !ok || len(residentIDs) == 0 {
		return nil
	}
	var seen []int64
	err := l.db.WithContext(ctx).Model(&Entry{}).
		Where("actor_id = ? AND at >= ? AND action = ? AND resource = ? AND resident_id IN ?",
			e.ActorID, l.now().UTC().Add(-SameOpening), e.Action, e.Resource, residentIDs).
		Distinct("resident_id").Pluck("resident_id", &seen).Error
	if err != nil {
		return fmt.Errorf("audit: look up %s: %w", e.Action, err)
	}
	at := l.now().UTC()
	var fresh []Entry
	for _, id := range residentIDs {
		if slices.Contains(seen, id) || slices.ContainsFunc(fresh, func(f Entry) bool { return *f.ResidentID == id }) {
			continue
		}
		n := *e
		n.ResidentID, n.At = &id, at
		fresh = append(fresh, n)
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := l.db.WithContext(ctx).Create(&fresh).Error; err != nil {
		return fmt.Errorf("audit: write %s: %w", e.Action, err)
	}
	return nil
}

// RecordTx writes a change of a resident's data inside the caller's
// transaction tx, so the change and its log line commit together. Every
// change is written.
func (l *Log) RecordTx(ctx context.Context, tx *gorm.DB, residentID int64, action Action, resource string, reason Reason) error {
	e, ok := entryFor(ctx, residentID, action, resource, reason)
	if !ok {
		return nil
	}
	return l.write(ctx, tx, e)
}

// entryFor is the entry for the actor in ctx; false when the actor is not
// staff.
func entryFor(ctx context.Context, residentID int64, action Action, resource string, reason Reason) (*Entry, bool) {
	a := auth.ActorFrom(ctx)
	if !a.Staff() {
		return nil, false
	}
	e := &Entry{
		ActorID: a.UserID, ActorRole: string(a.Role), Action: string(action),
		Resource: resource, Reason: string(reason), RequestID: a.RequestID,
	}
	if residentID != 0 {
		e.ResidentID = &residentID
	}
	return e, true
}

// Write records an entry made outside a request (a background job acting
// for staff). ActorID and Action are required.
func (l *Log) Write(ctx context.Context, e Entry) error { return l.write(ctx, l.db, &e) }

func (l *Log) write(ctx context.Context, tx *gorm.DB, e *Entry) error {
	if e.ActorID == 0 || e.Action == "" {
		return fmt.Errorf("audit: entry without actor or action")
	}
	e.ID = 0
	e.At = l.now().UTC()
	if err := tx.WithContext(ctx).Create(e).Error; err != nil {
		return fmt.Errorf("audit: write %s: %w", e.Action, err)
	}
	return nil
}
