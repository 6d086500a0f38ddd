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

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
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
	StreetAddress string
	// IdentityCode is the personal identity code, from the login's
	// identity claim or a client record: never shown unmasked, never in a
	// URL.
	IdentityCode  string
	RegionID      *int64
	Title         string
	PreferredLang string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastLoginAt   *time.Time
}

// TableName keeps gorm on the migrated table.
func (User) TableName() string { return "users" }

// ClientRecordIssuer is the issuer of a client record: a person staff
// recorded who has not logged in yet.
const ClientRecordIssuer = "client-record"

// IsClientRecord reports whether u has never logged in: a record staff
// made, to be linked to the person's login by their identity code.
func (u *User) IsClientRecord() bool { return u.Issuer == ClientRecordIssuer }

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
//
// A login that carries an identity code (u.IdentityCode) and is new to the
// portal takes over the client record staff made with that code: the
// person finds the case, appointments and letters made for them. A known
// user gets the code when no other user holds it.
func (s *Users) Upsert(ctx context.Context, u *User, withRegion bool) (*User, error) {
	now := time.Now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	if u.PreferredLang == "" {
		u.PreferredLang = "fi"
	}
	for attempt := 0; ; attempt++ {
		out, err := s.upsert(ctx, u, withRegion)
		if err == nil || u.IdentityCode == "" || !database.IsUniqueViolation(s.db, err) {
			return out, err
		}
		// The code was taken between the link and the insert: by a client
		// record (the second round links to it), or by another login of
		// the same person (the third logs in without the code).
		if attempt == 1 {
			u.IdentityCode = ""
		}
	}
}

func (s *Users) upsert(ctx context.Context, u *User, withRegion bool) (*User, error) {
	if u.IdentityCode != "" {
		if _, err := s.BySubject(ctx, u.Issuer, u.Subject); errors.Is(err, ErrNotFound) {
			linked, err := s.linkClientRecord(ctx, u, withRegion)
			if err != nil || linked != nil {
				return linked, err
			}
		} else if err != nil {
			return nil, err
		}
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
	if u.IdentityCode != "" && out.IdentityCode == "" {
		// A user known from before the identity claim was read: theirs
		// unless a client record holds it (then staff see two people, the
		// record and the login, and an admin joins them).
		err := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND identity_code = ''", out.ID).Update("identity_code", u.IdentityCode).Error
		switch {
		case err == nil:
			out.IdentityCode = u.IdentityCode
		case !database.IsUniqueViolation(s.db, err):
			return nil, fmt.Errorf("auth: identity code of user %d: %w", out.ID, err)
		}
	}
	return &out, nil
}

// linkClientRecord gives the client record with u's identity code to u's
// login and refreshes it from the provider; nil when there is none.
func (s *Users) linkClientRecord(ctx context.Context, u *User, withRegion bool) (*User, error) {
	set := map[string]any{"issuer": u.Issuer, "subject": u.Subject}
	for _, col := range upsertColumns(withRegion) {
		set[col] = map[string]any{
			"role": u.Role, "name": u.Name, "given_name": u.GivenName, "family_name": u.FamilyName,
			"email": u.Email, "postal_code": u.PostalCode, "title": u.Title, "updated_at": u.UpdatedAt,
			"last_login_at": u.LastLoginAt, "region_id": u.RegionID,
		}[col]
	}
	// What the provider leaves empty, the record keeps.
	for _, col := range []string{"name", "given_name", "family_name", "email", "postal_code"} {
		if v, _ := set[col].(string); v == "" {
			delete(set, col)
		}
	}
	res := s.db.WithContext(ctx).Model(&User{}).
		Where("issuer = ? AND identity_code = ? AND role = ?", ClientRecordIssuer, u.IdentityCode, RoleResident).Updates(set)
	if res.Error != nil {
		return nil, fmt.Errorf("auth: link client record: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return s.BySubject(ctx, u.Issuer, u.Subject)
}

// ErrIdentityTaken is returned when a client record is made with an
// identity code another user already holds.
var ErrIdentityTaken = errors.New("auth: identity code already recorded")

// ClientRecord is what staff record of a person who has not logged in.
type ClientRecord struct {
	Name, IdentityCode, StreetAddress, PostalCode, Phone, Email, Lang string
}

// CreateClient records a person who has not logged in, as a resident
// whose login will be linked to the record by their identity code. The
// code must be valid (NormalizeIdentityCode); a code another user holds
// gives ErrIdentityTaken and that user. A record without a code is
// allowed (a caller may not know it), but it cannot be linked to a login.
func (s *Users) CreateClient(ctx context.Context, r ClientRecord) (*User, error) {
	code, ok := NormalizeIdentityCode(r.IdentityCode)
	if code != "" && !ok {
		return nil, fmt.Errorf("auth: client record: invalid identity code")
	}
	subject, err := randomToken(16)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	u := &User{
		Issuer: ClientRecordIssuer, Subject: subject, Role: RoleResident, Name: strings.TrimSpace(r.Name),
		IdentityCode: code, StreetAddress: r.StreetAddress, PostalCode: r.PostalCode, Phone: r.Phone, Email: r.Email,
		PreferredLang: r.Lang, CreatedAt: now, UpdatedAt: now,
	}
	if u.PreferredLang == "" {
		u.PreferredLang = "fi"
	}
	if err := s.db.WithContext(ctx).Create(u).Error; err != nil {
		if database.IsUniqueViolation(s.db, err) {
			if held, err := s.ByIdentityCode(ctx, code); err == nil {
				return held, ErrIdentityTaken
			}
			return nil, ErrIdentityTaken
		}
		return nil, fmt.Errorf("auth: create client record: %w", err)
	}
	return u, nil
}

// ByIdentityCode loads the user with a personal identity code.
func (s *Users) ByIdentityCode(ctx context.Context, code string) (*User, error) {
	code, ok := NormalizeIdentityCode(code)
	if !ok {
		return nil, ErrNotFound
	}
	var u User
	err := s.db.WithContext(ctx).Where("identity_code = ?", code).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load user by identity code: %w", err)
	}
	return &u, nil
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
