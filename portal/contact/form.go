package contact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// The public form's fields.
var (
	formLines = []string{"who", "organisation", "sender_name", "concern", "eviction_date", "resident_name",
		"street_address", "postal_code", "resident_phone", "person_knows", "sender_phone", "sender_email",
		"reach_time", honeypotField, tokenField}
	formTexts = []string{"description"}
)

const (
	// honeypotField is a text field people never see (nor hear): a bot
	// that fills in every field fills it in.
	honeypotField = "website"
	// tokenField carries the signed time the form was shown.
	tokenField = "form_token"
	// formField is where an error about the whole form is shown: the
	// send button.
	formField = "send"
)

// Limits on the fields, in characters.
const (
	maxName        = 200
	maxAddress     = 200
	maxDescription = 4000
	maxReachTime   = 200
	maxResult      = 1000
	maxPhone       = 40
	maxEmail       = 254
)

// Submission is a contact request as the sender filled it in.
type Submission struct {
	SenderKind    string
	Organisation  string
	SenderName    string
	SenderPhone   string
	SenderEmail   string
	ReachTime     string
	Concern       string
	Description   string
	EvictionOn    *time.Time
	ResidentName  string
	StreetAddress string
	PostalCode    string
	ResidentPhone string
	PersonKnows   string
	Lang          string
	// ResidentID is the logged-in resident asking about themself, 0 for
	// anyone else.
	ResidentID int64
}

var (
	postalCode = regexp.MustCompile(`^[0-9]{5}$`)
	phone      = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{4,38}$`)
)

// readSubmission checks the form and returns what it holds; each field
// that fails is marked on the form. today is the local day, for the
// eviction date.
func readSubmission(f *frontend.Form, today time.Time) Submission {
	s := Submission{
		SenderKind: choice(f, "who", SenderKinds, true),
		Concern:    choice(f, "concern", Concerns, true),
	}
	switch s.SenderKind {
	case "housing", "professional":
		s.Organisation = text(f, "organisation", maxName, true)
	default:
		s.Organisation = text(f, "organisation", maxName, false)
	}
	s.SenderName = text(f, "sender_name", maxName, s.SenderKind != "self")
	s.Description = text(f, "description", maxDescription, true)
	s.EvictionOn = date(f, "eviction_date", today)
	s.ResidentName = text(f, "resident_name", maxName, true)
	s.StreetAddress = text(f, "street_address", maxAddress, true)
	s.PostalCode = f.Get("postal_code")
	switch {
	case s.PostalCode == "":
		f.Fail("postal_code", "form.error.required")
	case !postalCode.MatchString(s.PostalCode):
		f.Fail("postal_code", "contact.error.postal_code")
	}
	s.ResidentPhone = phoneNumber(f, "resident_phone")
	if s.SenderKind != "self" {
		s.PersonKnows = choice(f, "person_knows", Knows, true)
	}
	s.SenderPhone = phoneNumber(f, "sender_phone")
	s.SenderEmail = email(f, "sender_email")
	if f.Get("sender_phone") == "" && f.Get("sender_email") == "" {
		f.Fail("sender_phone", "contact.error.reach")
	}
	s.ReachTime = text(f, "reach_time", maxReachTime, false)
	return s
}

func text(f *frontend.Form, field string, max int, required bool) string {
	v := f.Get(field)
	switch {
	case v == "" && required:
		f.Fail(field, "form.error.required")
	case utf8.RuneCountInString(v) > max:
		f.Fail(field, "form.error.too_long")
	}
	return v
}

func choice(f *frontend.Form, field string, allowed []string, required bool) string {
	v := f.Get(field)
	switch {
	case v == "" && required:
		f.Fail(field, "contact.error.choose")
	case v != "" && !validChoice(allowed, v):
		f.Fail(field, "contact.error.choose")
		return ""
	}
	return v
}

func phoneNumber(f *frontend.Form, field string) string {
	v := f.Get(field)
	if v == "" {
		return ""
	}
	if len(v) > maxPhone || !phone.MatchString(v) {
		f.Fail(field, "form.error.phone")
		return ""
	}
	return v
}

func email(f *frontend.Form, field string) string {
	v := f.Get(field)
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if len(v) > maxEmail || err != nil || a.Address != v || !strings.Contains(v, ".") {
		f.Fail(field, "form.error.email")
		return ""
	}
	return v
}

// date reads an optional YYYY-MM-DD that must be today or later, within
// three years.
func date(f *frontend.Form, field string, today time.Time) *time.Time {
	v := f.Get(field)
	if v == "" {
		return nil
	}
	d, err := time.Parse("2006-01-02", v)
	day := dateOf(today)
	switch {
	case err != nil || d.After(day.AddDate(3, 0, 0)):
		f.Fail(field, "form.error.date")
		return nil
	case d.Before(day):
		f.Fail(field, "contact.error.date_past")
		return nil
	}
	return &d
}

// formToken signs the time the form is shown with the portal's secret key.
// Sent back, it proves the form came from here, and how long it was open.
func (s *Service) formToken(now time.Time) string {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	return ts + "." + s.sign(ts)
}

func (s *Service) sign(ts string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("contact-form:" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkToken returns "" for a token of this portal's that was shown at
// least MinFill and at most MaxFormAge ago, else the message key: sent
// too fast (a script), or too old or not ours (show the form again).
func (s *Service) checkToken(token string, now time.Time) string {
	ts, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign(ts))) {
		return "contact.error.expired"
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "contact.error.expired"
	}
	age := now.Sub(time.UnixMilli(ms))
	switch {
	case age < s.cfg.MinFill:
		return "contact.error.too_fast"
	case age > s.cfg.MaxFormAge:
		return "contact.error.expired"
	}
	return ""
}
