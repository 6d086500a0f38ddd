package exchange

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// step is one page of the resident's form: the fields it posts and how its
// answers go into the form and back, with the checks of each field.
type step struct {
	name  string
	lines []string // single-line fields
	texts []string // multi-line fields
	multi []string // checkbox groups, kept in the form comma-joined
	// load puts the answers into the form, to show the page again.
	load func(f *frontend.Form, a *Answers)
	// store checks the form and puts it into the answers; a field that
	// fails is marked on the form.
	store func(f *frontend.Form, a *Answers, today time.Time)
}

var steps = map[string]*step{
	"home": {
		name:  "home",
		lines: []string{"address", "postal_code", "landlord", "landlord_name", "rooms", "area", "rent", "tenancy_start"},
		load: func(f *frontend.Form, a *Answers) {
			h := a.Home
			f.Set("address", h.Address)
			f.Set("postal_code", h.PostalCode)
			f.Set("landlord", h.Landlord)
			f.Set("landlord_name", h.LandlordName)
			f.Set("rooms", intText(h.Rooms))
			f.Set("area", intText(h.AreaM2))
			f.Set("rent", euros(h.RentCents))
			f.Set("tenancy_start", h.TenancyStart)
		},
		store: func(f *frontend.Form, a *Answers, today time.Time) {
			h := &a.Home
			h.Address = required(f, "address", 200)
			h.PostalCode = f.Get("postal_code")
			if !postalCode.MatchString(h.PostalCode) {
				f.Fail("postal_code", "exchange.error.postal_code")
			}
			h.Landlord = oneOf(f, "landlord", Landlords, true)
			h.LandlordName = ""
			if h.Landlord == "another" {
				h.LandlordName = required(f, "landlord_name", 200)
			}
			h.Rooms = number(f, "rooms", 1, 12, true)
			h.AreaM2 = number(f, "area", 8, 500, true)
			h.RentCents = money(f, "rent", true)
			h.TenancyStart = date(f, "tenancy_start", today, false, true)
		},
	},
	"household": {
		name:  "household",
		lines: []string{"adults", "children_ages"},
		texts: []string{"needs_text"},
		multi: []string{"needs"},
		load: func(f *frontend.Form, a *Answers) {
			h := a.Household
			f.Set("adults", intText(h.Adults))
			ages := make([]string, len(h.ChildrenAges))
			for i, n := range h.ChildrenAges {
				ages[i] = strconv.Itoa(n)
			}
			f.Set("children_ages", strings.Join(ages, ", "))
			f.Set("needs", strings.Join(h.Needs, ","))
			f.Set("needs_text", h.NeedsText)
		},
		store: func(f *frontend.Form, a *Answers, _ time.Time) {
			h := &a.Household
			h.Adults = number(f, "adults", 1, 12, true)
			h.ChildrenAges = nil
			for _, part := range strings.FieldsFunc(f.Get("children_ages"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
				n, err := strconv.Atoi(part)
				if err != nil || n < 0 || n > 25 || len(h.ChildrenAges) == 15 {
					f.Fail("children_ages", "exchange.error.children_ages")
					break
				}
				h.ChildrenAges = append(h.ChildrenAges, n)
			}
			h.Needs = choices(f, "needs", Needs)
			h.NeedsText = optional(f, "needs_text", 1000)
		},
	},
	"reasons": {
		name:  "reasons",
		texts: explainFields(),
		multi: []string{"reasons", "crisis"},
		load: func(f *frontend.Form, a *Answers) {
			r := a.Reasons
			f.Set("reasons", strings.Join(r.Chosen, ","))
			f.Set("crisis", strings.Join(r.Crisis, ","))
			for _, k := range Reasons {
				f.Set("explain_"+k, r.Explain[k])
			}
		},
		store: func(f *frontend.Form, a *Answers, _ time.Time) {
			r := &a.Reasons
			r.Chosen = choices(f, "reasons", Reasons)
			if len(r.Chosen) == 0 && f.Error("reasons") == "" {
				f.Fail("reasons", "exchange.error.reasons")
			}
			r.Crisis = nil
			if slices.Contains(r.Chosen, "crisis") {
				if r.Crisis = choices(f, "crisis", CrisisKinds); len(r.Crisis) == 0 && f.Error("crisis") == "" {
					f.Fail("crisis", "exchange.error.crisis")
				}
			}
			r.Explain = map[string]string{}
			for _, k := range Reasons {
				if slices.Contains(r.Chosen, k) {
					r.Explain[k] = required(f, "explain_"+k, 2000)
				}
			}
		},
	},
	"wishes": {
		name:  "wishes",
		lines: []string{"areas", "wish_rooms", "max_rent", "max_floor", "earliest_move"},
		multi: []string{"lift"},
		load: func(f *frontend.Form, a *Answers) {
			w := a.Wishes
			f.Set("areas", w.Areas)
			f.Set("wish_rooms", intText(w.Rooms))
			f.Set("max_rent", euros(w.MaxRentCents))
			f.Set("max_floor", intText(w.MaxFloor))
			f.Set("earliest_move", w.EarliestMove)
			if w.Lift {
				f.Set("lift", "yes")
			}
		},
		store: func(f *frontend.Form, a *Answers, today time.Time) {
			w := &a.Wishes
			w.Areas = optional(f, "areas", 300)
			w.Rooms = number(f, "wish_rooms", 1, 12, false)
			w.MaxRentCents = money(f, "max_rent", false)
			w.MaxFloor = number(f, "max_floor", 1, 40, false)
			w.EarliestMove = date(f, "earliest_move", today, true, false)
			w.Lift = len(choices(f, "lift", []string{"yes"})) == 1
		},
	},
	"consent": {
		name:  "consent",
		lines: []string{"wants_help"},
		multi: []string{"consent"},
		load: func(f *frontend.Form, a *Answers) {
			f.Set("wants_help", a.WantsHelp)
			if a.Consent {
				f.Set("consent", "yes")
			}
		},
		store: func(f *frontend.Form, a *Answers, _ time.Time) {
			a.WantsHelp = oneOf(f, "wants_help", []string{"yes", "no"}, true)
			a.Consent = len(choices(f, "consent", []string{"yes"})) == 1
			if !a.Consent && f.Error("consent") == "" {
				f.Fail("consent", "exchange.error.consent")
			}
		},
	},
}

func explainFields() []string {
	out := make([]string, len(Reasons))
	for i, k := range Reasons {
		out[i] = "explain_" + k
	}
	return out
}

// complete reports the first step whose answers do not pass its checks,
// "" when every step passes: the summary sends only a whole application.
func complete(a Answers, today time.Time) string {
	for _, name := range Steps {
		f := frontend.NewForm()
		steps[name].load(f, &a)
		probe := a
		steps[name].store(f, &probe, today)
		if f.HasErrors() {
			return name
		}
	}
	return ""
}

var postalCode = regexp.MustCompile(`^[0-9]{5}$`)

func required(f *frontend.Form, field string, max int) string {
	v := f.Get(field)
	switch {
	case v == "":
		f.Fail(field, "form.error.required")
	case utf8.RuneCountInString(v) > max:
		f.Fail(field, "form.error.too_long")
	}
	return v
}

func optional(f *frontend.Form, field string, max int) string {
	v := f.Get(field)
	if utf8.RuneCountInString(v) > max {
		f.Fail(field, "form.error.too_long")
	}
	return v
}

func oneOf(f *frontend.Form, field string, allowed []string, req bool) string {
	v := f.Get(field)
	switch {
	case v == "" && req:
		f.Fail(field, "exchange.error.choose")
	case v != "" && !slices.Contains(allowed, v):
		f.Fail(field, "exchange.error.choose")
		return ""
	}
	return v
}

// choices reads a checkbox group kept comma-joined; a value not offered
// fails the group.
func choices(f *frontend.Form, field string, allowed []string) []string {
	var out []string
	for _, v := range strings.Split(f.Get(field), ",") {
		if v == "" {
			continue
		}
		if !slices.Contains(allowed, v) {
			f.Fail(field, "exchange.error.choose")
			return nil
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func number(f *frontend.Form, field string, lo, hi int, req bool) int {
	v := f.Get(field)
	if v == "" {
		if req {
			f.Fail(field, "form.error.required")
		}
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		f.Fail(field, "exchange.error.number")
		return 0
	}
	return n
}

// money reads euros ("850", "850,50", "850.50 €") as cents.
func money(f *frontend.Form, field string, req bool) int64 {
	v := strings.TrimSpace(strings.TrimSuffix(strings.ReplaceAll(f.Get(field), " ", ""), "€"))
	if v == "" {
		if req {
			f.Fail(field, "form.error.required")
		}
		return 0
	}
	v = strings.Replace(v, ",", ".", 1)
	whole, frac, _ := strings.Cut(v, ".")
	if len(frac) > 2 || whole == "" {
		f.Fail(field, "exchange.error.money")
		return 0
	}
	for len(frac) < 2 {
		frac += "0"
	}
	e, err1 := strconv.ParseInt(whole, 10, 64)
	c, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || e < 0 || e > 20000 {
		f.Fail(field, "exchange.error.money")
		return 0
	}
	return e*100 + c
}

// date reads YYYY-MM-DD; future says whether the date must be today or
// later (else today or earlier).
func date(f *frontend.Form, field string, today time.Time, future, past bool) string {
	v := f.Get(field)
	if v == "" {
		return ""
	}
	d, err := time.Parse("2006-01-02", v)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case err != nil || d.Year() < 1950 || d.Year() > today.Year()+5:
		f.Fail(field, "form.error.date")
		return ""
	case future && d.Before(day):
		f.Fail(field, "exchange.error.date_past")
		return ""
	case past && d.After(day):
		f.Fail(field, "exchange.error.date_future")
		return ""
	}
	return v
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// euros shows cents as the form takes them: "850" or "850,50".
func euros(cents int64) string {
	if cents == 0 {
		return ""
	}
	if cents%100 == 0 {
		return strconv.FormatInt(cents/100, 10)
	}
	return strconv.FormatInt(cents/100, 10) + "," + twoDigits(cents%100)
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
