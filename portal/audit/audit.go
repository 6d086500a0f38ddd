// Package audit keeps the access log: every time staff read or change a
// resident's data, who did it, when, to whom, what and why. The table is
// append-only (the schema refuses updates and deletes).
package audit

import (
	"context"
	"fmt"
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

// Record writes one entry for the actor in ctx (see auth.ActorFrom) when
// that actor is staff; a resident looking at their own data is not logged.
// Call it wherever staff read or change a resident's data, before
// responding: if it fails, the caller fails too, so no access goes
// unrecorded.
func (l *Log) Record(ctx context.Context, residentID int64, action, resource, reason string) error {
	return l.RecordTx(ctx, l.db, residentID, action, resource, reason)
}

// RecordTx is Record inside the caller's transaction tx, so the change and
// its log line commit together.
func (l *Log) RecordTx(ctx context.Context, tx *gorm.DB, residentID int64, action, resource, reason string) error {
	a := auth.ActorFrom(ctx)
	if !a.Staff() {
		return nil
	}
	e := Entry{
		ActorID: a.UserID, ActorRole: string(a.Role), Action: action,
		Resource: resource, Reason: reason, RequestID: a.RequestID,
	}
	if residentID != 0 {
		e.ResidentID = &residentID
	}
	return l.write(ctx, tx, &e)
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
