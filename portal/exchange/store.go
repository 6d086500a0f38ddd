package exchange

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// Store keeps applications, their events and deliveries.
type Store struct {
	db *gorm.DB
}

// NewStore returns the store over db (the pool or a transaction).
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// errNotFound is an application that does not exist or is not the
// caller's to see: both answer 404.
var errNotFound = problem.E(problem.NotFound, "exchange.error.not_found")

// Create stores a new draft.
func (s *Store) Create(ctx context.Context, a *Application) error {
	if err := s.db.WithContext(ctx).Create(a).Error; err != nil {
		return fmt.Errorf("exchange: create: %w", err)
	}
	return nil
}

// Get loads one application.
func (s *Store) Get(ctx context.Context, id int64) (*Application, error) {
	return database.ByID[Application](ctx, s.db, id, false, errNotFound)
}

// getForUpdate loads one application locked for the transaction (on
// PostgreSQL; SQLite serialises writers anyway).
func (s *Store) getForUpdate(ctx context.Context, id int64) (*Application, error) {
	return database.ByID[Application](ctx, s.db, id, true, errNotFound)
}

// Save writes every field of a.
func (s *Store) Save(ctx context.Context, a *Application) error {
	if err := s.db.WithContext(ctx).Save(a).Error; err != nil {
		return fmt.Errorf("exchange: save %d: %w", a.ID, err)
	}
	return nil
}

// OfResident returns a resident's applications, newest first.
func (s *Store) OfResident(ctx context.Context, residentID int64) ([]Application, error) {
	var out []Application
	if err := s.db.WithContext(ctx).Where("resident_id = ?", residentID).Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("exchange: applications of %d: %w", residentID, err)
	}
	return out, nil
}

// DeskFilter narrows the desk's list.
type DeskFilter struct {
	RegionID int64 // 0: every region (admins)
	Status   Status
	Reason   string
}

// Desk returns sent applications matching f, newest first.
func (s *Store) Desk(ctx context.Context, f DeskFilter, limit int) ([]Application, error) {
	q := s.db.WithContext(ctx).Where("status <> ?", StatusDraft)
	if f.RegionID != 0 {
		q = q.Where("region_id = ?", f.RegionID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Reason != "" {
		q = q.Where("reasons LIKE ?", "%,"+f.Reason+",%")
	}
	var out []Application
	if err := q.Order("sent_at DESC, id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("exchange: desk list: %w", err)
	}
	return out, nil
}

// CountNew counts the sent applications waiting for assessment in a
// region (0: all), for the desk section.
func (s *Store) CountNew(ctx context.Context, regionID int64) (int64, error) {
	q := s.db.WithContext(ctx).Model(&Application{}).Where("status = ?", StatusSent)
	if regionID != 0 {
		q = q.Where("region_id = ?", regionID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("exchange: count new: %w", err)
	}
	return n, nil
}

// AddEvent records a change of status.
func (s *Store) AddEvent(ctx context.Context, e *Event) error {
	if err := s.db.WithContext(ctx).Create(e).Error; err != nil {
		return fmt.Errorf("exchange: event: %w", err)
	}
	return nil
}

// Events returns an application's events, oldest first.
func (s *Store) Events(ctx context.Context, id int64) ([]Event, error) {
	var out []Event
	if err := s.db.WithContext(ctx).Where("application_id = ?", id).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("exchange: events of %d: %w", id, err)
	}
	return out, nil
}

// StaleDrafts returns drafts not touched since before.
func (s *Store) StaleDrafts(ctx context.Context, before time.Time, limit int) ([]Application, error) {
	var out []Application
	err := s.db.WithContext(ctx).Where("status = ? AND updated_at < ?", StatusDraft, before).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("exchange: stale drafts: %w", err)
	}
	return out, nil
}

// DeleteDraft deletes a draft that is still a draft and still stale.
func (s *Store) DeleteDraft(ctx context.Context, id int64, before time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Where("id = ? AND status = ? AND updated_at < ?", id, StatusDraft, before).Delete(&Application{})
	if res.Error != nil {
		return false, fmt.Errorf("exchange: delete draft %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}
