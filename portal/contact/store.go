package contact

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// Store keeps contact requests, their attempts and the statistics.
type Store struct {
	db *gorm.DB
}

// NewStore returns the store over db (the pool or a transaction).
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// errNotFound is a request that does not exist or is not the caller's to
// see: both answer 404.
var errNotFound = problem.E(problem.NotFound, "contact.error.not_found")

// Create stores a new request.
func (s *Store) Create(ctx context.Context, r *Request) error {
	if err := s.db.WithContext(ctx).Create(r).Error; err != nil {
		return fmt.Errorf("contact: create: %w", err)
	}
	return nil
}

// Get loads one request.
func (s *Store) Get(ctx context.Context, id int64) (*Request, error) {
	return database.ByID[Request](ctx, s.db, id, false, errNotFound)
}

// getForUpdate loads one request locked for the transaction (on
// PostgreSQL; SQLite serialises writers anyway).
func (s *Store) getForUpdate(ctx context.Context, id int64) (*Request, error) {
	return database.ByID[Request](ctx, s.db, id, true, errNotFound)
}

// Save writes every field of r.
func (s *Store) Save(ctx context.Context, r *Request) error {
	if err := s.db.WithContext(ctx).Save(r).Error; err != nil {
		return fmt.Errorf("contact: save %d: %w", r.ID, err)
	}
	return nil
}

// CountAbout counts the requests about one address (targetKey) made since.
func (s *Store) CountAbout(ctx context.Context, key string, since time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Request{}).Where("target_key = ? AND created_at > ?", key, since.UTC()).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("contact: count about an address: %w", err)
	}
	return n, nil
}

// DeskFilter narrows the desk's list.
type DeskFilter struct {
	RegionID int64 // 0: every region (admins)
	Closed   bool  // the closed ones, latest first; else the open ones
	// UrgentUntil is the last eviction date that makes a request urgent
	// (urgentLimit of today): open requests up to it come first, soonest
	// date first, then the rest, oldest first.
	UrgentUntil time.Time
}

// Desk returns a page of requests matching f.
func (s *Store) Desk(ctx context.Context, f DeskFilter, limit, offset int) ([]Request, error) {
	q := s.db.WithContext(ctx).Model(&Request{})
	if f.RegionID != 0 {
		q = q.Where("region_id = ?", f.RegionID)
	}
	if f.Closed {
		q = q.Where("status = ?", StatusClosed).Order("closed_at DESC, id DESC")
	} else {
		u := f.UrgentUntil.UTC()
		q = q.Where("status IN ?", []Status{StatusNew, StatusInProgress}).
			Order(clause.OrderBy{Expression: clause.Expr{
				SQL:  "CASE WHEN eviction_on IS NOT NULL AND eviction_on <= ? THEN 0 ELSE 1 END, CASE WHEN eviction_on <= ? THEN eviction_on END, created_at, id",
				Vars: []any{u, u},
			}})
	}
	var out []Request
	if err := q.Limit(limit).Offset(offset).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("contact: desk list: %w", err)
	}
	return out, nil
}

// Counts are the desk section's figures.
type Counts struct {
	New    int64 `gorm:"column:n_new"`    // not yet taken by anyone
	Urgent int64 `gorm:"column:n_urgent"` // open and urgent
}

// Count counts the new and the urgent open requests of a region (0: all).
func (s *Store) Count(ctx context.Context, regionID int64, urgentUntil time.Time) (Counts, error) {
	var c Counts
	q := s.db.WithContext(ctx).Model(&Request{}).
		Select("COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) AS n_new, "+
			"COALESCE(SUM(CASE WHEN eviction_on IS NOT NULL AND eviction_on <= ? THEN 1 ELSE 0 END), 0) AS n_urgent",
			StatusNew, urgentUntil.UTC()).
		Where("status IN ?", []Status{StatusNew, StatusInProgress})
	if regionID != 0 {
		q = q.Where("region_id = ?", regionID)
	}
	if err := q.Scan(&c).Error; err != nil {
		return Counts{}, fmt.Errorf("contact: count: %w", err)
	}
	return c, nil
}

// AddAttempt records an attempt to reach the resident.
func (s *Store) AddAttempt(ctx context.Context, a *Attempt) error {
	if err := s.db.WithContext(ctx).Create(a).Error; err != nil {
		return fmt.Errorf("contact: attempt: %w", err)
	}
	return nil
}

// Attempts returns a request's attempts, latest first.
func (s *Store) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	var out []Attempt
	if err := s.db.WithContext(ctx).Where("request_id = ?", id).Order("at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("contact: attempts of %d: %w", id, err)
	}
	return out, nil
}

// ClosedBefore returns requests closed before t.
func (s *Store) ClosedBefore(ctx context.Context, t time.Time, limit int) ([]Request, error) {
	var out []Request
	err := s.db.WithContext(ctx).Where("status = ? AND closed_at < ?", StatusClosed, t.UTC()).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("contact: closed requests: %w", err)
	}
	return out, nil
}

// Anonymise replaces a request closed before t by its statistics row, in
// one transaction; false when it is no longer such a request.
func (s *Store) Anonymise(ctx context.Context, r *Request, t time.Time) (bool, error) {
	done := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND status = ? AND closed_at < ?", r.ID, StatusClosed, t.UTC()).Delete(&Request{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return nil
		}
		region := r.RegionID
		st := &Statistic{
			RegionID: &region, SenderKind: r.SenderKind, Concern: r.Concern, Urgent: r.Urgent, Outcome: r.Outcome,
			CreatedOn: r.CreatedAt.UTC().Format(time.DateOnly),
		}
		if r.ClosedAt != nil {
			st.ClosedOn = r.ClosedAt.UTC().Format(time.DateOnly)
		}
		done = true
		return tx.Create(st).Error
	})
	if err != nil {
		return false, fmt.Errorf("contact: anonymise %d: %w", r.ID, err)
	}
	return done, nil
}
