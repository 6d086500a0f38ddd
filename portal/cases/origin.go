package cases

import (
	"context"
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// OriginKinds are the channels a case is opened from besides by hand. Their
// words are cases.origin.<kind>.
var OriginKinds = []string{"contact", "chat", "booking", "exchange"}

// Origin is the item of another channel a case is opened from: a contact
// request, a chat, an appointment or an exchange application.
type Origin struct {
	Kind string
	ID   int64
	// ResidentID is the resident the item is theirs or about; 0 for a
	// contact request about someone the portal does not know yet, whose
	// name, address and phone then prefill their client record.
	ResidentID                             int64
	Name, StreetAddress, PostalCode, Phone string
	// The case's fields the item suggests (codes of Reasons, Referrers;
	// a YYYY-MM-DD date), "" for none.
	Reason, Referrer, EvictionDate string
	// Reference names the item on the timeline (a request's reference).
	Reference string
}

// Origins finds the items cases are opened from, in the features that own
// them; cmd/portal implements it, so that cases imports no feature.
type Origins interface {
	// Origin loads an item the acting staff member may see; an error of
	// kind problem.NotFound when there is none or it is not theirs.
	Origin(ctx context.Context, kind string, id int64) (*Origin, error)
	// Opened tells the feature that a case was opened from its item for
	// residentID, so that it links the two (a contact request then shows
	// on the resident's timeline).
	Opened(ctx context.Context, o *Origin, residentID, caseID int64) error
}

var errNoOrigin = problem.E(problem.NotFound, "cases.error.not_found")

// origin loads the item named by kind and id, nil when kind is empty.
func (s *Service) origin(ctx context.Context, kind string, id int64) (*Origin, error) {
	if kind == "" {
		return nil, nil
	}
	if s.origins == nil || !slices.Contains(OriginKinds, kind) || id <= 0 {
		return nil, errNoOrigin
	}
	o, err := s.origins.Origin(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	o.Kind, o.ID = kind, id
	return o, nil
}

// A client record's fields as staff type them.
var (
	postalCodeRe = regexp.MustCompile(`^[0-9]{5}$`)
	phoneRe      = regexp.MustCompile(`^\+?[0-9 ()-]{5,20}$`)
)

// checkClient validates a client record: a name, a valid identity code
// when one is given (it links the person's later login), a five-digit
// postal code, a phone number and an e-mail address when given.
func checkClient(r *auth.ClientRecord) error {
	bad := map[string]string{}
	r.Name = strings.Join(strings.Fields(r.Name), " ")
	if n := len([]rune(r.Name)); n < 2 || n > 200 {
		bad["name"] = "cases.client.error.name"
	}
	if strings.TrimSpace(r.IdentityCode) != "" {
		code, ok := auth.NormalizeIdentityCode(r.IdentityCode)
		if !ok {
			bad["identity_code"] = "cases.client.error.identity_code"
		}
		r.IdentityCode = code
	}
	r.StreetAddress = strings.TrimSpace(r.StreetAddress)
	if len([]rune(r.StreetAddress)) > 200 {
		bad["street_address"] = "cases.client.error.address"
	}
	r.PostalCode = strings.TrimSpace(r.PostalCode)
	if r.PostalCode != "" && !postalCodeRe.MatchString(r.PostalCode) {
		bad["postal_code"] = "cases.client.error.postal_code"
	}
	r.Phone = strings.TrimSpace(r.Phone)
	if r.Phone != "" && !phoneRe.MatchString(r.Phone) {
		bad["phone"] = "cases.client.error.phone"
	}
	r.Email = strings.TrimSpace(r.Email)
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email || len(r.Email) > 200 {
			bad["email"] = "cases.client.error.email"
		}
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	return nil
}

// CreateClient records a person who has not logged in, for staff to open
// their case, book them an appointment and write to them. A person whose
// identity code is already recorded is not recorded twice: their existing
// record is returned with existed set.
func (s *Service) CreateClient(ctx context.Context, r auth.ClientRecord) (u *auth.User, existed bool, err error) {
	if err := checkClient(&r); err != nil {
		return nil, false, err
	}
	u, err = s.users.CreateClient(ctx, r)
	if errors.Is(err, auth.ErrIdentityTaken) && u != nil {
		if u.Role != auth.RoleResident {
			return nil, false, problem.Field("identity_code", "cases.client.error.identity_code")
		}
		return u, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return u, false, nil
}
