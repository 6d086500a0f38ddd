// Package regions knows the service's regions, their service points and
// which postal code belongs to which region. Booking, chat and contact
// requests share it.
package regions

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// ErrNotFound is returned for an unknown region or postal code.
var ErrNotFound = errors.New("regions: not found")

// Region is one of the service's areas, such as Itä (east).
type Region struct {
	ID     int64
	Code   string
	NameFI string `gorm:"column:name_fi"`
	NameSV string `gorm:"column:name_sv"`
	NameEN string `gorm:"column:name_en"`
	Phone  string
	// PhoneHours are when the phone service answers, in fi, sv and en.
	PhoneHoursFI string `gorm:"column:phone_hours_fi"`
	PhoneHoursSV string `gorm:"column:phone_hours_sv"`
	PhoneHoursEN string `gorm:"column:phone_hours_en"`
	SortOrder    int
}

// TableName keeps gorm on the migrated table.
func (Region) TableName() string { return "regions" }

// Name returns the region's name in lang (fi, sv or en).
func (r Region) Name(lang string) string {
	switch lang {
	case "sv":
		return r.NameSV
	case "en":
		return r.NameEN
	}
	return r.NameFI
}

// PhoneHours returns when the region's phone service answers, in lang.
func (r Region) PhoneHours(lang string) string {
	return inLang(lang, r.PhoneHoursFI, r.PhoneHoursSV, r.PhoneHoursEN)
}

// inLang picks the text of lang, the Finnish one where that is empty.
func inLang(lang, fi, sv, en string) string {
	switch {
	case lang == "sv" && sv != "":
		return sv
	case lang == "en" && en != "":
		return en
	}
	return fi
}

// ServicePoint is an office where advisors meet residents.
type ServicePoint struct {
	ID            int64
	RegionID      int64
	Name          string // in Finnish; see NameIn
	NameSV        string `gorm:"column:name_sv"` // "" where the name is the same
	NameEN        string `gorm:"column:name_en"`
	StreetAddress string
	PostalCode    string
	City          string
	Phone         string
	Active        bool
}

// TableName keeps gorm on the migrated table.
func (ServicePoint) TableName() string { return "service_points" }

// NameIn returns the service point's name in lang.
func (p ServicePoint) NameIn(lang string) string { return inLang(lang, p.Name, p.NameSV, p.NameEN) }

// Store reads regions.
type Store struct {
	db *gorm.DB
}

// NewStore returns the regions store.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// List returns every region in display order.
func (s *Store) List(ctx context.Context) ([]Region, error) {
	var out []Region
	if err := s.db.WithContext(ctx).Order("sort_order, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("regions: list: %w", err)
	}
	return out, nil
}

// ByID returns one region.
func (s *Store) ByID(ctx context.Context, id int64) (*Region, error) {
	var r Region
	err := s.db.WithContext(ctx).First(&r, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("regions: load %d: %w", id, err)
	}
	return &r, nil
}

// IDByCode returns the id of the region with code, 0 when there is none.
func (s *Store) IDByCode(ctx context.Context, code string) (int64, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&Region{}).Where("code = ?", code).Limit(1).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("regions: code %q: %w", code, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

// ForPostalCode returns the region a postal code belongs to.
func (s *Store) ForPostalCode(ctx context.Context, code string) (*Region, error) {
	var r Region
	err := s.db.WithContext(ctx).
		Joins("JOIN postal_code_regions p ON p.region_id = regions.id").
		Where("p.postal_code = ?", code).First(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("regions: postal code: %w", err)
	}
	return &r, nil
}

// ServicePoints returns the active service points of a region, or of all
// regions when regionID is 0.
func (s *Store) ServicePoints(ctx context.Context, regionID int64) ([]ServicePoint, error) {
	q := s.db.WithContext(ctx).Where("active = ?", true)
	if regionID != 0 {
		q = q.Where("region_id = ?", regionID)
	}
	var out []ServicePoint
	if err := q.Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("regions: service points: %w", err)
	}
	return out, nil
}

// ServicePoint returns one service point.
func (s *Store) ServicePoint(ctx context.Context, id int64) (*ServicePoint, error) {
	var p ServicePoint
	err := s.db.WithContext(ctx).First(&p, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("regions: service point %d: %w", id, err)
	}
	return &p, nil
}
