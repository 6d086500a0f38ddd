package contact

import (
	"context"
	"fmt"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// LinkResident records that the person a request is about is the
// resident residentID: an advisor opened their case from the request. A
// new request is then in progress, and the request shows on the case's
// timeline. A request already linked to someone else keeps its link.
func (s *Service) LinkResident(ctx context.Context, id, residentID int64) error {
	r, err := s.ForStaff(ctx, id)
	if err != nil {
		return err
	}
	set := map[string]any{"updated_at": s.now().UTC()}
	if r.ResidentID == nil {
		set["resident_id"] = residentID
	}
	if r.Status == StatusNew {
		set["status"] = StatusInProgress
	}
	if err := s.store.db.WithContext(ctx).Model(&Request{}).Where("id = ?", id).Updates(set).Error; err != nil {
		return fmt.Errorf("contact: link %d to resident: %w", id, err)
	}
	return s.audit.Record(ctx, residentID, audit.ContactUpdate, resource(id), audit.ReasonContactRequest)
}

// OfResident returns the requests about a resident, newest first: for the
// timeline of their case.
func (s *Store) OfResident(ctx context.Context, residentID int64, limit int) ([]Request, error) {
	var out []Request
	err := s.db.WithContext(ctx).Where("resident_id = ?", residentID).Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("contact: requests of resident %d: %w", residentID, err)
	}
	return out, nil
}
