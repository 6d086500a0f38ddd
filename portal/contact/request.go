// Package contact is the contact request (yhteydenottopyyntö): anyone — the
// person themself, a relative, a neighbour, a property manager or rent
// supervisor, a social or health worker — asks the housing advisors to
// contact a resident whose housing is at risk, without logging in. The
// request goes to the region of the resident's postal code; the region's
// advisors see it on their desk, urgent ones first, assign it, record their
// attempts to reach the resident and the outcome. Nothing of a request is
// ever shown back to whoever sent it: they get a reference number and what
// happens next, and nothing more.
package contact

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Status is where a request is.
type Status string

// The statuses: new until someone takes it or tries to reach the resident,
// closed with an outcome.
const (
	StatusNew        Status = "new"
	StatusInProgress Status = "in_progress"
	StatusClosed     Status = "closed"
)

// Statuses lists the statuses, in order.
var Statuses = []Status{StatusNew, StatusInProgress, StatusClosed}

// SenderKinds are who may be asking. "housing" is a property manager or a
// rent supervisor, "professional" a social or health worker; both name
// their organisation. (Not "other": go-i18n reserves it as a key name.)
var SenderKinds = []string{"self", "relative", "neighbour", "housing", "professional", "someone_else"}

// Concerns are what the sender is worried about.
var Concerns = []string{"rent_debt", "eviction_threat", "upkeep", "disturbance", "not_coping", "something_else"}

// Knows are the answers to "does the person know about this request".
var Knows = []string{"yes", "no", "unsure"}

// Channels are how an advisor tried to reach the resident.
var Channels = []string{"phone", "email", "visit", "letter"}

// Outcomes close a request.
var Outcomes = []string{"reached", "appointment_booked", "case_opened", "no_need", "not_reached", "forwarded"}

// UrgentWithin is how close an eviction or court date makes a request
// urgent.
const UrgentWithin = 14 * 24 * time.Hour

// Request is one contact request.
type Request struct {
	ID            int64
	Reference     string
	RegionID      int64
	ResidentID    *int64 // the logged-in resident who asked about themself
	SenderKind    string
	Organisation  string
	SenderName    string
	SenderPhone   string
	SenderEmail   string
	ReachTime     string
	Concern       string
	Description   string
	EvictionOn    *time.Time // a local date, stored at midnight UTC
	ResidentName  string
	StreetAddress string
	PostalCode    string
	ResidentPhone string
	PersonKnows   string
	Lang          string
	TargetKey     string
	Status        Status
	AssigneeID    *int64
	Outcome       string
	// Urgent is whether the request was urgent when it arrived, for the
	// statistics; the desk judges urgency afresh each day (UrgentOn).
	Urgent    bool
	CreatedAt time.Time
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
	ClosedAt  *time.Time
}

// TableName keeps gorm on the migrated table.
func (Request) TableName() string { return "contact_requests" }

// UrgentOn reports whether the request is urgent on the local day today:
// its eviction or court date is at most UrgentWithin away (or has passed)
// and it is still open.
func (r *Request) UrgentOn(today time.Time) bool {
	return r.Status != StatusClosed && r.EvictionOn != nil && !r.EvictionOn.After(urgentLimit(today))
}

// urgentLimit is the last eviction date that makes a request urgent on the
// local day today, as stored (midnight UTC).
func urgentLimit(today time.Time) time.Time {
	return dateOf(today).Add(UrgentWithin)
}

// dateOf is t's local calendar day at midnight UTC, as dates are stored.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Attempt is one try to reach the resident.
type Attempt struct {
	ID        int64
	RequestID int64
	ActorID   *int64
	At        time.Time
	Channel   string
	Result    string
	CreatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (Attempt) TableName() string { return "contact_attempts" }

// Statistic is what is kept of a request after its retention: no one can
// be found from it.
type Statistic struct {
	ID         int64
	RegionID   *int64
	SenderKind string
	Concern    string
	Urgent     bool
	Outcome    string
	CreatedOn  string // YYYY-MM-DD
	ClosedOn   string
}

// TableName keeps gorm on the migrated table.
func (Statistic) TableName() string { return "contact_statistics" }

// referenceAlphabet has no letters that read like digits (I, O) or digits
// that read like letters (0, 1).
const referenceAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

var referenceFormat = regexp.MustCompile(`^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$`)

// newReference returns a random reference such as "K7QF-2MXP". It is
// random, not a number in sequence, so it tells nothing about how many
// requests there are, and a made-up one for a honeypot looks the same.
func newReference() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, referenceAlphabet[int(c)%len(referenceAlphabet)])
	}
	return string(out)
}

// ValidReference reports whether ref looks like a reference.
func ValidReference(ref string) bool { return referenceFormat.MatchString(ref) }

// targetKey identifies the address a request is about, for the limit per
// address: the postal code and the street address with only its letters
// and digits, lower-cased ("Kontulantie 1 A 2" and "kontulantie 1a 2" are
// one address). Hashed: the key is kept beside the address, not instead
// of it, but it need not be readable.
func targetKey(postalCode, address string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(address) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	sum := sha256.Sum256([]byte(postalCode + "|" + b.String()))
	return hex.EncodeToString(sum[:])
}

func validChoice(list []string, v string) bool { return slices.Contains(list, v) }
