package contact

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// FirstRequests returns, of the residents named, when the first contact
// request linked to each was made (one a resident sent about themself, or
// one an advisor opened their case from), in any region; one with none is
// absent. Requests deleted after their retention no longer count. The
// earliest is picked here from the residents' requests, which are few
// each.
func (s *Store) FirstRequests(ctx context.Context, residentIDs []int64) (map[int64]time.Time, error) {
	out := make(map[int64]time.Time)
	for chunk := range slices.Chunk(residentIDs, 500) {
		var rows []struct {
			ResidentID int64
			CreatedAt  time.Time
		}
		err := s.db.WithContext(ctx).Table("contact_requests r").Select("r.resident_id, r.created_at").
			Where("r.resident_id IN ?", chunk).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("contact: first requests: %w", err)
		}
		for _, r := range rows {
			if t, ok := out[r.ResidentID]; !ok || r.CreatedAt.Before(t) {
				out[r.ResidentID] = r.CreatedAt
			}
		}
	}
	return out, nil
}
