package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Advisor is a staff member residents can book.
type Advisor struct {
	ID       int64
	Name     string
	Email    string
	Phone    string
	Title    string
	RegionID int64
}

// Resident is who a booking is for, as staff see them.
type Resident struct {
	ID         int64
	Name       string
	Email      string
	Phone      string
	PostalCode string
	Lang       string
}

// The people and places of a booking come from their owners: users from
// auth, service points from regions. Booking reads no table of theirs.

func advisorOf(u *auth.User) Advisor {
	a := Advisor{ID: u.ID, Name: u.Name, Email: u.Email, Phone: u.Phone, Title: u.Title}
	if u.RegionID != nil {
		a.RegionID = *u.RegionID
	}
	return a
}

func residentOf(u *auth.User) *Resident {
	return &Resident{ID: u.ID, Name: u.Name, Email: u.Email, Phone: u.Phone, PostalCode: u.PostalCode, Lang: u.PreferredLang}
}

// advisors returns the advisors of a region by name.
func (s *Service) advisors(ctx context.Context, regionID int64) ([]Advisor, error) {
	us, err := s.users.InRegion(ctx, auth.RoleAdvisor, regionID)
	if err != nil {
		return nil, fmt.Errorf("booking: advisors of region %d: %w", regionID, err)
	}
	out := make([]Advisor, len(us))
	for i := range us {
		out[i] = advisorOf(&us[i])
	}
	return out, nil
}

// advisor returns one advisor (or admin, who may keep a calendar too).
func (s *Service) advisor(ctx context.Context, id int64) (*Advisor, error) {
	u, err := s.users.ByID(ctx, id)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && !u.Role.Staff()) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("booking: advisor %d: %w", id, err)
	}
	a := advisorOf(u)
	return &a, nil
}

// residentByID returns one resident.
func (s *Service) residentByID(ctx context.Context, id int64) (*Resident, error) {
	return residentIn(ctx, s.users, id)
}

// residentIn reads a resident through users, which may be auth's users on
// the caller's transaction: inside a transaction a read takes no second
// connection from the pool.
func residentIn(ctx context.Context, users *auth.Users, id int64) (*Resident, error) {
	u, err := users.ByID(ctx, id)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && u.Role != auth.RoleResident) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("booking: resident %d: %w", id, err)
	}
	return residentOf(u), nil
}

// searchResidents finds residents whose name or e-mail contains q, for
// staff booking on a resident's behalf.
func (s *Service) searchResidents(ctx context.Context, q string, limit int) ([]Resident, error) {
	us, err := s.users.Search(ctx, auth.RoleResident, q, limit)
	if err != nil {
		return nil, fmt.Errorf("booking: search residents: %w", err)
	}
	out := make([]Resident, len(us))
	for i := range us {
		out[i] = *residentOf(&us[i])
	}
	return out, nil
}

// servicePoint returns one service point.
func (s *Service) servicePoint(ctx context.Context, id int64) (*regions.ServicePoint, error) {
	p, err := s.regions.ServicePoint(ctx, id)
	if errors.Is(err, regions.ErrNotFound) {
		return nil, ErrNotFound
	}
	return p, err
}

// regionWindows returns the weekly windows of a region's advisors (or of
// one of them, when advisorID is not 0).
func (s *Service) regionWindows(ctx context.Context, regionID, advisorID int64) ([]Window, error) {
	as, err := s.advisors(ctx, regionID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, a := range as {
		if advisorID == 0 || a.ID == advisorID {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return s.store.Windows(ctx, ids...)
}

// named fills in the resident's and the advisor's names of entries.
func (s *Service) named(ctx context.Context, entries []CalendarEntry) ([]CalendarEntry, error) {
	ids := make([]int64, 0, 2*len(entries))
	for _, e := range entries {
		ids = append(ids, e.ResidentID, e.AdvisorID)
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("booking: names: %w", err)
	}
	for i := range entries {
		if u := people[entries[i].ResidentID]; u != nil {
			entries[i].ResidentName = u.Name
		}
		if u := people[entries[i].AdvisorID]; u != nil {
			entries[i].AdvisorName = u.Name
		}
	}
	return entries, nil
}

// entries is Store.Calendar with the names filled in.
func (s *Service) entries(ctx context.Context, from, to time.Time, withCancelled bool, advisorIDs ...int64) ([]CalendarEntry, error) {
	entries, err := s.store.Calendar(ctx, from, to, withCancelled, advisorIDs...)
	if err != nil {
		return nil, err
	}
	return s.named(ctx, entries)
}

// conflicts is Store.Conflicts with the names filled in.
func (s *Service) conflicts(ctx context.Context, advisorID int64, from, to time.Time) ([]CalendarEntry, error) {
	entries, err := s.store.Conflicts(ctx, advisorID, from, to)
	if err != nil {
		return nil, err
	}
	return s.named(ctx, entries)
}
