package cases

import (
	"context"
	"fmt"
)

// CaseCopy is one of a resident's cases as their data download gives it:
// the case, its whole timeline (notes included) with who made each entry,
// the payment plan and its payments, the crisis-accommodation path and the
// network partners.
type CaseCopy struct {
	Case     Case
	Events   []Event
	Names    map[int64]string // staff members' names by user id
	Plan     *StoredPlan      // nil: no plan
	Payments []StoredPayment
	Checks   []CrisisCheck
	Stages   []CrisisStage
	Partners []Partner
}

// ResidentCopy returns the resident's cases, newest first, with all they
// hold, for the resident's own download: no access log is written (the
// resident reads their own) and an erased case, no longer theirs, is not
// among them.
func (s *Service) ResidentCopy(ctx context.Context, residentID int64) ([]CaseCopy, error) {
	list, err := s.OfResident(ctx, residentID)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	out := make([]CaseCopy, 0, len(list))
	for _, c := range list {
		cc := CaseCopy{Case: c}
		if err := db.Where("case_id = ?", c.ID).Order("id").Find(&cc.Events).Error; err != nil {
			return nil, fmt.Errorf("cases: timeline of %d: %w", c.ID, err)
		}
		if cc.Plan, err = s.planOf(ctx, s.db, c.ID); err != nil {
			return nil, err
		}
		if cc.Plan != nil {
			if err := db.Where("plan_id = ?", cc.Plan.ID).Order("paid_on, id").Find(&cc.Payments).Error; err != nil {
				return nil, fmt.Errorf("cases: payments of %d: %w", c.ID, err)
			}
		}
		if err := db.Where("case_id = ?", c.ID).Order("id").Find(&cc.Checks).Error; err != nil {
			return nil, fmt.Errorf("cases: crisis checks of %d: %w", c.ID, err)
		}
		if cc.Stages, err = stagesOf(ctx, s.db, c.ID); err != nil {
			return nil, err
		}
		if err := db.Where("case_id = ?", c.ID).Order("id").Find(&cc.Partners).Error; err != nil {
			return nil, fmt.Errorf("cases: partners of %d: %w", c.ID, err)
		}
		var ids []int64
		for _, p := range []*int64{c.AdvisorID, c.ColleagueID} {
			if p != nil {
				ids = append(ids, *p)
			}
		}
		for _, e := range cc.Events {
			if e.ActorID != nil {
				ids = append(ids, *e.ActorID)
			}
		}
		people, err := s.users.ByIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		cc.Names = map[int64]string{}
		for id, u := range people {
			cc.Names[id] = u.Name
		}
		out = append(out, cc)
	}
	return out, nil
}
