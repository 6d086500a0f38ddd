// Package auth logs people in through OpenID Connect, keeps their
// server-side sessions, checks roles and protects forms against CSRF.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Role is what a user may do in the portal.
type Role string

// The roles. Residents see only their own data; advisors run the desk;
// admins also manage the service and read the access log.
const (
	RoleResident Role = "resident"
	RoleAdvisor  Role = "advisor"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleResident || r == RoleAdvisor || r == RoleAdmin }

// Staff reports whether r is a staff role.
func (r Role) Staff() bool { return r == RoleAdvisor || r == RoleAdmin }

// ErrNotFound is returned when a user or session does not exist.
var ErrNotFound = errors.New("auth: not found")

// User is a person known to the portal, created or refreshed at each login
// from the provider's claims.
type User struct {
	ID            int64
	Issuer        string
	Subject       string
	Role          Role
	Name          string
	GivenName     string
	FamilyName    string
	Email         string
	Phone         string
	PostalCode    string
	RegionID      *int64
	Title         string
	PreferredLang string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastLoginAt   *time.Time
}

// TableName keeps gorm on the migrated table.
func (User) TableName() string { return "users" }

// Users stores the users table.
type Users struct {
	db *gorm.DB
}

// NewUsers returns the users store.
func NewUsers(db *gorm.DB) *Users { return &Users{db: db} }

// ByID loads one user.
func (s *Users) ByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).First(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load user %d: %w", id, err)
	}
	return &u, nil
}

// BySubject loads the user a provider knows as subject.
func (s *Users) BySubject(ctx context.Context, issuer, subject string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("issuer = ? AND subject = ?", issuer, subject).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load user by subject: %w", err)
	}
	return &u, nil
}

// Upsert creates the user identified by issuer and subject, or refreshes
// the provider-owned fields of an existing one, and returns it. The region
// is the provider's only when withRegion: otherwise an existing user keeps
// the region an admin gave them.
func (s *Users) Upsert(ctx context.Context, u *User, withRegion bool) (*User, error) {
	now := time.Now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	if u.PreferredLang == "" {
		u.PreferredLang = "fi"
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "issuer"}, {Name: "subject"}},
		DoUpdates: clause.AssignmentColumns(upsertColumns(withRegion)),
	}).Create(u).Error
	if err != nil {
		return nil, fmt.Errorf("auth: upsert user: %w", err)
	}
	var out User
	if err := s.db.WithContext(ctx).Where("issuer = ? AND subject = ?", u.Issuer, u.Subject).First(&out).Error; err != nil {
		return nil, fmt.Errorf("auth: reload user: %w", err)
	}
	return &out, nil
}

func upsertColumns(withRegion bool) []string {
	cols := []string{
		"role", "name", "given_name", "family_name", "email", "postal_code",
		"title", "updated_at", "last_login_at",
	}
	if withRegion {
		cols = append(cols, "region_id")
	}
	return cols
}

// SetRegion assigns a staff member's region; nil removes it.
func (s *Users) SetRegion(ctx context.Context, id int64, regionID *int64) error {
	err := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).
		Updates(map[string]any{"region_id": regionID, "updated_at": time.Now().UTC()}).Error
	if err != nil {
		return fmt.Errorf("auth: set region of user %d: %w", id, err)
	}
	return nil
}

// Lookups for other features, so that the users table is read here only.

// InRegion returns the users of role in a region, by name.
func (s *Users) InRegion(ctx context.Context, role Role, regionID int64) ([]User, error) {
	var out []User
	err := s.db.WithContext(ctx).Where("role = ? AND region_id = ?", role, regionID).Order("name, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("auth: %s of region %d: %w", role, regionID, err)
	}
	return out, nil
}

// ByIDs returns the users with ids, by id; ids that name nobody are left out.
func (s *Users) ByIDs(ctx context.Context, ids []int64) (map[int64]*User, error) {
	out := make(map[int64]*User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var list []User
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&list).Error; err != nil {
		return nil, fmt.Errorf("auth: users by id: %w", err)
	}
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, nil
}

// Search returns up to limit users of role whose name or e-mail contains
// q (case-insensitively), by name: staff finding a resident to book for.
func (s *Users) Search(ctx context.Context, role Role, q string, limit int) ([]User, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q)) + "%"
	var out []User
	err := s.db.WithContext(ctx).Where(`role = ? AND (LOWER(name) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`, role, like, like).
		Order("name, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("auth: search users: %w", err)
	}
	return out, nil
}

// WithRole returns the users who have one of roles, by name.
func (s *Users) WithRole(ctx context.Context, roles ...Role) ([]User, error) {
	var out []User
	if err := s.db.WithContext(ctx).Where("role IN ?", roles).Order("name, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("auth: users of roles %v: %w", roles, err)
	}
	return out, nil
}
