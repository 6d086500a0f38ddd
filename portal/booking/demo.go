package booking

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// SeedDemo gives every advisor without weekly windows a demonstration
// week: office visits and phone calls 9–12, home visits, phone and video
// calls 13–15, Monday to Friday, at the first service point of their
// region. It is idempotent and meant for the demo data only.
func SeedDemo(ctx context.Context, db *database.DB, now time.Time) error {
	var advisors []struct {
		ID       int64
		RegionID int64
	}
	err := db.Gorm.WithContext(ctx).Raw(`SELECT u.id, u.region_id FROM users u
		WHERE u.role = 'advisor' AND u.region_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM booking_windows w WHERE w.advisor_id = u.id)`).Scan(&advisors).Error
	if err != nil {
		return fmt.Errorf("booking: demo advisors: %w", err)
	}
	return db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, a := range advisors {
			var points []int64
			if err := tx.Raw("SELECT id FROM service_points WHERE region_id = ? AND active = ? ORDER BY id LIMIT 1", a.RegionID, true).Scan(&points).Error; err != nil {
				return fmt.Errorf("booking: demo service point: %w", err)
			}
			if len(points) == 0 {
				continue
			}
			for wd := 1; wd <= 5; wd++ {
				for _, w := range []Window{
					{StartMinute: 9 * 60, EndMinute: 12 * 60, MeetingTypes: JoinTypes([]MeetingType{Office, Phone})},
					{StartMinute: 13 * 60, EndMinute: 15 * 60, MeetingTypes: JoinTypes([]MeetingType{HomeVisit, Phone, Video})},
				} {
					w.AdvisorID, w.Weekday, w.SlotMinutes, w.ServicePointID, w.CreatedAt = a.ID, wd, 60, &points[0], now.UTC()
					if err := tx.Create(&w).Error; err != nil {
						return fmt.Errorf("booking: demo window: %w", err)
					}
				}
			}
		}
		return nil
	})
}
