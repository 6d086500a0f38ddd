package booking

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// SeedDemo gives every advisor without weekly windows a demonstration
// week: office visits and phone calls 9–12, home visits, phone and video
// calls 13–15, Monday to Friday, at the first service point of their
// region. It is idempotent and meant for the demo data only.
func SeedDemo(ctx context.Context, db *database.DB, now time.Time) error {
	// The advisors and service points come from their owners.
	users, places, store := auth.NewUsers(db.Gorm), regions.NewStore(db.Gorm), NewStore(db)
	rs, err := places.List(ctx)
	if err != nil {
		return fmt.Errorf("booking: demo regions: %w", err)
	}
	return db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range rs {
			points, err := places.ServicePoints(ctx, r.ID)
			if err != nil {
				return fmt.Errorf("booking: demo service points: %w", err)
			}
			if len(points) == 0 {
				continue
			}
			first := slices.MinFunc(points, func(a, b regions.ServicePoint) int { return cmp.Compare(a.ID, b.ID) }).ID
			advisors, err := users.InRegion(ctx, auth.RoleAdvisor, r.ID)
			if err != nil {
				return fmt.Errorf("booking: demo advisors: %w", err)
			}
			for _, a := range advisors {
				if have, err := store.Windows(ctx, a.ID); err != nil || len(have) > 0 {
					if err != nil {
						return err
					}
					continue // seeded before, or set by the advisor
				}
				for wd := 1; wd <= 5; wd++ {
					for _, w := range []Window{
						{StartMinute: 9 * 60, EndMinute: 12 * 60, MeetingTypes: JoinTypes([]MeetingType{Office, Phone})},
						{StartMinute: 13 * 60, EndMinute: 15 * 60, MeetingTypes: JoinTypes([]MeetingType{HomeVisit, Phone, Video})},
					} {
						w.AdvisorID, w.Weekday, w.SlotMinutes, w.ServicePointID, w.CreatedAt = a.ID, wd, 60, &first, now.UTC()
						if err := tx.Create(&w).Error; err != nil {
							return fmt.Errorf("booking: demo window: %w", err)
						}
					}
				}
			}
		}
		return nil
	})
}
