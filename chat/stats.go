package chat

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// WaitFigures are the statistics of the chats started in a period: how
// many there were and how long the answered ones waited for an advisor.
type WaitFigures struct {
	// Started counts the conversations started in the period, guests'
	// too.
	Started int64
	// Seconds are the whole seconds each conversation an advisor accepted
	// waited, from the request to the first accepting, in ascending order.
	// The other Started − len(Seconds) were never answered: closed while
	// queued, or still in the queue.
	Seconds []int64
}

// Waits counts the conversations started in [from, to), compared as UTC
// instants, in a region (0: every region, the conversations of no region
// among them; a region's own figures leave those out), and how long each
// waited for an advisor.
//
// The wait ends at the conversation's first "accepted" event, not at
// accepted_at: a chat sent back to the queue loses its accepted_at and
// gets a later one from its next advisor, but its resident waited only
// until the first. SQLite and PostgreSQL have no common way to subtract
// timestamps, so the rows come back as they are and the seconds are
// counted here, alike for both.
func (s *Store) Waits(ctx context.Context, from, to time.Time, regionID int64) (WaitFigures, error) {
	q := s.db.WithContext(ctx).Table("chat_conversations c").
		Select("c.id, c.created_at, m.created_at AS accepted_at").
		Joins("LEFT JOIN chat_messages m ON m.conversation_id = c.id AND m.kind = ? AND m.event = ?", kindSystem, eventAccepted).
		Where("c.created_at >= ? AND c.created_at < ?", from.UTC(), to.UTC())
	if regionID != 0 {
		q = q.Where("c.region_id = ?", regionID)
	}
	var rows []struct {
		ID         int64
		CreatedAt  time.Time
		AcceptedAt *time.Time
	}
	if err := q.Order("c.id, m.seq").Scan(&rows).Error; err != nil {
		return WaitFigures{}, fmt.Errorf("chat: waits: %w", err)
	}
	var out WaitFigures
	for i, r := range rows {
		if i > 0 && rows[i-1].ID == r.ID {
			continue // a later accepting of the same conversation
		}
		out.Started++
		if r.AcceptedAt != nil {
			out.Seconds = append(out.Seconds, int64(r.AcceptedAt.Sub(r.CreatedAt)/time.Second))
		}
	}
	slices.Sort(out.Seconds)
	return out, nil
}

// FirstChats returns, of the residents named, when each first started a
// chat, in any region; one who never has (or chatted only as a guest,
// which names nobody) is absent. The earliest is picked here from the
// residents' conversations, which are few each.
func (s *Store) FirstChats(ctx context.Context, residentIDs []int64) (map[int64]time.Time, error) {
	out := make(map[int64]time.Time)
	for chunk := range slices.Chunk(residentIDs, 500) {
		var rows []struct {
			ResidentID int64
			CreatedAt  time.Time
		}
		err := s.db.WithContext(ctx).Table("chat_conversations c").Select("c.resident_id, c.created_at").
			Where("c.resident_id IN ?", chunk).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("chat: first chats: %w", err)
		}
		for _, r := range rows {
			if t, ok := out[r.ResidentID]; !ok || r.CreatedAt.Before(t) {
				out[r.ResidentID] = r.CreatedAt
			}
		}
	}
	return out, nil
}
