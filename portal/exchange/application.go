// Package exchange is the housing-exchange application
// (asunnonvaihtohakemus): a resident of the city's rental company who needs
// a different home fills it in step by step, with attachments, and sends it;
// an advisor assesses it, adds the special justifications
// (erityisperustelut) the rental company weighs, and forwards it to the
// housing office; the resident follows its status in Oma asiointi.
package exchange

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Status is where an application is.
type Status string

// The statuses, in order. A draft is the resident's own; the rest are the
// application's life after sending.
const (
	StatusDraft        Status = "draft"
	StatusSent         Status = "sent"
	StatusInAssessment Status = "in_assessment"
	StatusForwarded    Status = "forwarded"
	StatusOfferMade    Status = "offer_made"
	StatusClosed       Status = "closed"
)

// Statuses lists the statuses after sending, in order, for filters.
var Statuses = []Status{StatusSent, StatusInAssessment, StatusForwarded, StatusOfferMade, StatusClosed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusDraft || slices.Contains(Statuses, s) }

// Steps of the resident's form, in order; the summary comes after them.
var Steps = []string{"home", "household", "reasons", "wishes", "consent"}

// stepSummary is the page that checks everything before sending.
const stepSummary = "summary"

// Reasons an exchange can be applied for; each has its own explanation.
var Reasons = []string{"crisis", "family_size", "finances", "too_small", "too_large"}

// CrisisKinds are the life crises the crisis reason covers.
var CrisisKinds = []string{"illness_mental", "illness_physical", "divorce", "death", "unemployment", "violence", "neighbour_dispute"}

// Needs are the household's needs for the new home.
var Needs = []string{"accessible", "ground_floor", "lift", "near_services"}

// Landlords: the city's rental company (Heka) or another.
var Landlords = []string{"city", "another"}

// Criteria are the special justifications an advisor may find to hold.
var Criteria = []string{"health", "disability", "violence_threat", "child_welfare", "eviction_risk", "financial_hardship", "overcrowding"}

// Urgencies of the advisor's statement.
var Urgencies = []string{"normal", "urgent", "very_urgent"}

// Answers are the resident's answers, stored as one JSON document.
type Answers struct {
	Home      Home      `json:"home"`
	Household Household `json:"household"`
	Reasons   Reasoning `json:"reasons"`
	Wishes    Wishes    `json:"wishes"`
	WantsHelp string    `json:"wants_help"` // "yes" | "no" | ""
	Consent   bool      `json:"consent"`
}

// Home is the current home.
type Home struct {
	Address      string `json:"address"`
	PostalCode   string `json:"postal_code"`
	Landlord     string `json:"landlord"` // one of Landlords
	LandlordName string `json:"landlord_name"`
	Rooms        int    `json:"rooms"`
	AreaM2       int    `json:"area_m2"`
	RentCents    int64  `json:"rent_cents"`
	TenancyStart string `json:"tenancy_start"` // YYYY-MM-DD or ""
}

// Household is who lives in the home and what they need.
type Household struct {
	Adults       int      `json:"adults"`
	ChildrenAges []int    `json:"children_ages"`
	Needs        []string `json:"needs"`
	NeedsText    string   `json:"needs_text"`
}

// Reasoning is why the household needs another home.
type Reasoning struct {
	Chosen  []string          `json:"chosen"` // of Reasons
	Crisis  []string          `json:"crisis"` // of CrisisKinds
	Explain map[string]string `json:"explain"`
}

// Wishes are what the new home should be like.
type Wishes struct {
	Areas        string `json:"areas"`
	Rooms        int    `json:"rooms"`
	MaxRentCents int64  `json:"max_rent_cents"`
	Lift         bool   `json:"lift"`
	MaxFloor     int    `json:"max_floor"` // 0: any
	EarliestMove string `json:"earliest_move"`
}

// Justification is the advisor's special justifications.
type Justification struct {
	Criteria  []string `json:"criteria"`
	Why       string   `json:"why"`
	Statement string   `json:"statement"`
	Urgency   string   `json:"urgency"`
}

// Application is one housing-exchange application.
type Application struct {
	ID             int64
	ResidentID     int64
	RegionID       *int64
	Status         Status
	Step           string // the furthest step reached
	AnswersJSON    string `gorm:"column:answers"`
	Reasons        string // ",crisis,finances,"
	Lang           string
	AdvisorID      *int64
	SpecialSupport *bool
	JustJSON       string `gorm:"column:justification"`
	CreatedAt      time.Time
	// UpdatedAt is set by this package from its clock (the draft TTL is
	// judged by it), never by gorm's.
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
	SentAt    *time.Time
}

// TableName keeps gorm on the migrated table.
func (Application) TableName() string { return "exchange_applications" }

// Answers decodes the stored answers; a document that does not decode
// (never written by this code) reads as empty.
func (a *Application) Answers() Answers {
	var ans Answers
	_ = json.Unmarshal([]byte(a.AnswersJSON), &ans) // see above: empty on error
	if ans.Reasons.Explain == nil {
		ans.Reasons.Explain = map[string]string{}
	}
	return ans
}

// Justification decodes the advisor's justifications.
func (a *Application) Justification() Justification {
	var j Justification
	_ = json.Unmarshal([]byte(a.JustJSON), &j) // empty on error, as Answers
	return j
}

// setAnswers stores ans and the columns derived from it.
func (a *Application) setAnswers(ans Answers) {
	b, _ := json.Marshal(ans) // plain structs: cannot fail
	a.AnswersJSON = string(b)
	a.Reasons = ""
	if len(ans.Reasons.Chosen) > 0 {
		a.Reasons = "," + strings.Join(ans.Reasons.Chosen, ",") + ","
	}
}

// Sent reports whether the application has left the resident's hands.
func (a *Application) Sent() bool { return a.Status != StatusDraft }

// Owner is the files owner name of the application's attachments.
func (a *Application) Owner() string { return owner(a.ID) }

func owner(id int64) string { return "exchange/" + itoa(id) }

// Event is a change of status.
type Event struct {
	ID            int64
	ApplicationID int64
	Status        Status
	ActorID       *int64
	Message       string
	CreatedAt     time.Time
}

// TableName keeps gorm on the migrated table.
func (Event) TableName() string { return "exchange_events" }

// stepIndex is the position of step in Steps, len(Steps) for the summary,
// -1 for an unknown step.
func stepIndex(step string) int {
	if step == stepSummary {
		return len(Steps)
	}
	return slices.Index(Steps, step)
}
