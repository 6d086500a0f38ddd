package chat

import (
	"context"
	"fmt"
	"time"
)

// TranscriptLine is one message of a conversation as the resident's data
// download gives it.
type TranscriptLine struct {
	At         time.Time
	SenderRole string // resident, advisor, guest
	SenderName string
	Body       string
}

// Transcript returns a conversation's text messages in order, for the
// resident's data download: it marks nothing delivered or read, and staff
// notes (never shown to residents) are not among them.
func (s *Store) Transcript(ctx context.Context, convID int64) ([]TranscriptLine, error) {
	var rows []message
	err := s.db.WithContext(ctx).Where("conversation_id = ? AND kind = ?", convID, KindText).Order("seq").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("chat: transcript of %d: %w", convID, err)
	}
	out := make([]TranscriptLine, len(rows))
	for i, m := range rows {
		out[i] = TranscriptLine{At: m.CreatedAt, SenderRole: m.SenderRole, SenderName: m.SenderName, Body: m.Body}
	}
	return out, nil
}
