package messages

import (
	"context"
	"fmt"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

// ThreadCopy is a resident's thread with its messages, as the resident's
// data download gives it.
type ThreadCopy struct {
	Thread   Thread
	Messages []MessageCopy
}

// MessageCopy is a message with who wrote it and its attachments (names
// and sizes: the download holds no file's bytes).
type MessageCopy struct {
	Message Message
	// Author is the staff member's name; "" for the resident's own and
	// for a message signed as the region's housing counselling.
	Author string
	Files  []files.File
}

// ResidentCopy returns every thread of a resident, newest first, with
// its messages in order: for the resident's own data download, so it
// marks nothing read and writes no access log.
func (s *Service) ResidentCopy(ctx context.Context, residentID int64) ([]ThreadCopy, error) {
	var threads []Thread
	if err := s.db.WithContext(ctx).Where("resident_id = ?", residentID).Order("updated_at DESC, id DESC").Find(&threads).Error; err != nil {
		return nil, fmt.Errorf("messages: threads of %d: %w", residentID, err)
	}
	out := make([]ThreadCopy, 0, len(threads))
	for _, t := range threads {
		var list []Message
		if err := s.db.WithContext(ctx).Where("thread_id = ?", t.ID).Order("id").Find(&list).Error; err != nil {
			return nil, fmt.Errorf("messages: messages of %d: %w", t.ID, err)
		}
		var staff []int64
		for _, m := range list {
			if m.FromStaff && !m.AsRegion {
				staff = append(staff, m.AuthorID)
			}
		}
		names, err := s.users.ByIDs(ctx, staff)
		if err != nil {
			return nil, err
		}
		tc := ThreadCopy{Thread: t}
		for _, m := range list {
			mc := MessageCopy{Message: m}
			if u := names[m.AuthorID]; u != nil && m.FromStaff && !m.AsRegion {
				mc.Author = u.Name
			}
			if mc.Files, err = s.files.List(ctx, m.owner()); err != nil {
				return nil, err
			}
			tc.Messages = append(tc.Messages, mc)
		}
		out = append(out, tc)
	}
	return out, nil
}
