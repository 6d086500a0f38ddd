package booking

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// StatusCounts counts by status the appointments whose time began in
// [from, to), compared as UTC instants, in a region (0: every region):
// those that took place (done) or should have (no-show), those cancelled
// and those still booked (ahead, or not yet marked). A status nobody had
// is absent.
func (s *Store) StatusCounts(ctx context.Context, from, to time.Time, regionID int64) (map[Status]int64, error) {
	q := s.db.WithContext(ctx).Table("bookings b").Select("b.status, COUNT(*) AS n").
		Where("b.starts_at >= ? AND b.starts_at < ?", from.UTC(), to.UTC()).Group("b.status")
	if regionID != 0 {
		q = q.Where("b.region_id = ?", regionID)
	}
	var rows []struct {
		Status Status
		N      int64
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("booking: status counts: %w", err)
	}
	out := make(map[Status]int64, len(rows))
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// FirstBooked returns, of the residents named, when an appointment was
// first booked for each (by them or by an advisor, cancelled ones too),
// in any region; one who never had one is absent. The earliest is picked
// here from the residents' bookings, which are few each.
func (s *Store) FirstBooked(ctx context.Context, residentIDs []int64) (map[int64]time.Time, error) {
	out := make(map[int64]time.Time)
	for chunk := range slices.Chunk(residentIDs, 500) {
		var rows []struct {
			ResidentID int64
			CreatedAt  time.Time
		}
		err := s.db.WithContext(ctx).Table("bookings b").Select("b.resident_id, b.created_at").
			Where("b.resident_id IN ?", chunk).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("booking: first booked: %w", err)
		}
		for _, r := range rows {
			if t, ok := out[r.ResidentID]; !ok || r.CreatedAt.Before(t) {
				out[r.ResidentID] = r.CreatedAt
			}
		}
	}
	return out, nil
}

// Met returns, of the residents named, the starts of their appointments
// that took place (marked done) at or after since, in any region, each
// resident's in ascending order; one with none is absent.
func (s *Store) Met(ctx context.Context, residentIDs []int64, since time.Time) (map[int64][]time.Time, error) {
	out := make(map[int64][]time.Time)
	for chunk := range slices.Chunk(residentIDs, 500) {
		var rows []struct {
			ResidentID int64
			StartsAt   time.Time
		}
		err := s.db.WithContext(ctx).Table("bookings b").Select("b.resident_id, b.starts_at").
			Where("b.resident_id IN ? AND b.status = ? AND b.starts_at >= ?", chunk, StatusDone, since.UTC()).
			Order("b.resident_id, b.starts_at").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("booking: meetings: %w", err)
		}
		for _, r := range rows {
			out[r.ResidentID] = append(out[r.ResidentID], r.StartsAt)
		}
	}
	return out, nil
}
