package cases

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// A payment plan (maksusuunnitelma) pays a rent debt back in monthly
// instalments. Money is int64 cents everywhere here: a float would lose
// cents in the sums that the resident, the advisor and the landlord compare.

// Limits of a plan: larger debts or longer plans are not something an
// advisor sets up in this service.
const MaxTotalCents int64 = 100_000_000 // 1 000 000 €

// Limits of a plan's shape.
const (
	MaxInstalments = 120 // ten years of monthly instalments
	MaxDueDay      = 28  // the last day that every month has
)

const (
	minPlanYear, maxPlanYear = 2000, 2099
	maxEuroInputBytes        = 64
	nbsp                     = "\u00a0"
	narrowNBSP               = "\u202f"
	euroSign                 = "€"
)

// Date is a calendar day without a time or a zone. Plans and payments are
// about days (a due day, the day money arrived), so a day is kept as one:
// no midnight that a time zone could move to the day before. The zero Date
// is not a valid day and means "none".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a day as a form's date input sends it, "2026-05-04", or
// as a person writes it in Finnish, "4.5.2026"; the day must exist.
func ParseDate(s string) (Date, error) {
	d, ok := parseDayText(strings.TrimSpace(s))
	if !ok {
		return Date{}, problem.Wrap(problem.Invalid, "cases.plan.error.date", fmt.Errorf("cases: parse date %q", s))
	}
	return d, nil
}

// DateOf returns the day of t in t's own location; convert t to the
// advisory's zone (Europe/Helsinki) first to get "today" there.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// String returns the ISO form, "2026-05-04", which ParseDate reads back.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is the zero Date, "no day".
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a day of the calendar (year 1–9999).
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysInMonth(d.Year, d.Month)
}

// Time returns the start of d in UTC, for storage and for time arithmetic.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Compare returns -1, 0 or +1 as d is before, the same day as, or after o.
func (d Date) Compare(o Date) int {
	if c := cmp.Compare(d.Year, o.Year); c != 0 {
		return c
	}
	if c := cmp.Compare(d.Month, o.Month); c != 0 {
		return c
	}
	return cmp.Compare(d.Day, o.Day)
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// AddMonths returns the same day n months later (earlier for a negative
// n); a day the target month lacks becomes its last day, so 31 January
// plus one month is 28 or 29 February, never 3 March.
func (d Date) AddMonths(n int) Date {
	m := int(d.Month) - 1 + n
	y := d.Year + m/12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	month := time.Month(m + 1)
	return Date{Year: y, Month: month, Day: min(d.Day, daysInMonth(y, month))}
}

func daysInMonth(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Plan is a payment plan: TotalCents of debt paid in monthly instalments
// of InstalmentCents on day DueDay of each month, the first on or after
// Start.
type Plan struct {
	TotalCents      int64
	InstalmentCents int64
	// DueDay is the day of the month, 1–28, so that every month has it.
	DueDay int
	Start  Date
}

// Validate checks the plan as an advisor enters it; the error is a
// problem.Fields keyed by the form fields total, instalment, due_day and
// start.
func (p Plan) Validate() error {
	fields := make(map[string]string)
	totalOK := p.TotalCents > 0 && p.TotalCents <= MaxTotalCents
	if !totalOK {
		fields["total"] = "cases.plan.error.total"
	}
	switch {
	case p.InstalmentCents <= 0 || p.InstalmentCents > MaxTotalCents || (totalOK && p.InstalmentCents > p.TotalCents):
		fields["instalment"] = "cases.plan.error.instalment"
	case totalOK && p.count() > MaxInstalments:
		fields["instalment"] = "cases.plan.error.too_long"
	}
	if p.DueDay < 1 || p.DueDay > MaxDueDay {
		fields["due_day"] = "cases.plan.error.due_day"
	}
	if !p.Start.Valid() || p.Start.Year < minPlanYear || p.Start.Year > maxPlanYear {
		fields["start"] = "cases.plan.error.start"
	}
	if len(fields) > 0 {
		return problem.Fields(fields)
	}
	return nil
}

// count is the number of instalments: the total divided by the
// instalment, rounded up. InstalmentCents must be positive.
func (p Plan) count() int64 {
	return (p.TotalCents + p.InstalmentCents - 1) / p.InstalmentCents
}

// Instalment is one monthly payment of a plan; N counts from 1.
type Instalment struct {
	N           int
	Due         Date
	AmountCents int64
}

// Schedule returns the plan's instalments: the first falls on the first
// DueDay on or after Start, the rest monthly on DueDay; each is
// InstalmentCents except the last, which is what remains, so the amounts
// add up to exactly TotalCents and none is zero. It returns nil for a plan
// that Validate refuses.
func (p Plan) Schedule() []Instalment {
	if p.Validate() != nil {
		return nil
	}
	first := Date{Year: p.Start.Year, Month: p.Start.Month, Day: p.DueDay}
	if p.Start.Day > p.DueDay {
		first = first.AddMonths(1)
	}
	n := int(p.count())
	out := make([]Instalment, n)
	for i := range out {
		out[i] = Instalment{N: i + 1, Due: first.AddMonths(i), AmountCents: p.InstalmentCents}
	}
	out[n-1].AmountCents = p.TotalCents - int64(n-1)*p.InstalmentCents
	return out
}

// Payment is money the resident paid toward the debt, recorded by hand or
// imported from the rental company's payment list.
type Payment struct {
	Date        Date
	AmountCents int64
	Reference   string
}

// InstalmentStatus is an instalment with what has been paid toward it.
type InstalmentStatus struct {
	Instalment
	PaidCents int64
	// Paid is set when PaidCents reaches AmountCents; PaidOn is then the
	// date of the payment that completed it.
	Paid   bool
	PaidOn Date
	// Overdue is set when the due day is before today and the instalment
	// is not fully paid.
	Overdue bool
}

// PlanStatus is a plan's state on a given day.
type PlanStatus struct {
	Instalments []InstalmentStatus
	// PaidCents is all money paid: what went to the instalments plus
	// OverpaidCents.
	PaidCents int64
	// RemainingCents is what the instalments still lack.
	RemainingCents int64
	// OverpaidCents is money beyond the whole debt: a credit to return or
	// to settle, never dropped.
	OverpaidCents int64
	// OverdueCents is what the overdue instalments lack.
	OverdueCents int64
}

// Next returns the first instalment not yet fully paid, the one the
// resident pays next; false when everything is paid.
func (s PlanStatus) Next() (InstalmentStatus, bool) {
	for _, in := range s.Instalments {
		if !in.Paid {
			return in, true
		}
	}
	return InstalmentStatus{}, false
}

// Allocate applies payments to a schedule as of today. Payments are taken
// in date order (equal dates in the order given) and fill the oldest
// instalment not yet fully paid, so one payment can complete several
// instalments and several payments can build up one. A payment dated
// before the plan's start still counts toward the first instalments: it is
// money paid toward the same debt. What is left after the last instalment
// is OverpaidCents. Payments of zero or less are skipped: input refuses
// them, and a reversal is recorded by removing the payment.
func Allocate(schedule []Instalment, payments []Payment, today Date) PlanStatus {
	st := PlanStatus{Instalments: make([]InstalmentStatus, len(schedule))}
	for i, in := range schedule {
		st.Instalments[i] = InstalmentStatus{Instalment: in}
	}
	ordered := slices.Clone(payments)
	slices.SortStableFunc(ordered, func(a, b Payment) int { return a.Date.Compare(b.Date) })
	i := 0
	for _, pay := range ordered {
		if pay.AmountCents <= 0 {
			continue
		}
		st.PaidCents += pay.AmountCents
		left := pay.AmountCents
		for left > 0 && i < len(st.Instalments) {
			in := &st.Instalments[i]
			take := min(left, in.AmountCents-in.PaidCents)
			in.PaidCents += take
			left -= take
			if in.PaidCents == in.AmountCents {
				in.Paid, in.PaidOn = true, pay.Date
				i++
			}
		}
		st.OverpaidCents += left
	}
	for j := range st.Instalments {
		in := &st.Instalments[j]
		lack := in.AmountCents - in.PaidCents
		st.RemainingCents += lack
		if !in.Paid && in.Due.Before(today) {
			in.Overdue = true
			st.OverdueCents += lack
		}
	}
	return st
}

// FormatCents shows an amount as a person reads it: "1 234,56 €" in
// Finnish and Swedish (no-break spaces, so the amount never wraps) and
// "€1,234.56" in English. Any other lang is shown as Finnish.
func FormatCents(c int64, lang string) string {
	u := uint64(c)
	sign := ""
	if c < 0 {
		u, sign = uint64(-(c+1))+1, "-"
	}
	euros := strconv.FormatUint(u/100, 10)
	cents := fmt.Sprintf("%02d", u%100)
	if lang == "en" {
		return sign + euroSign + groupThousands(euros, ",") + "." + cents
	}
	return sign + groupThousands(euros, nbsp) + "," + cents + nbsp + euroSign
}

// groupThousands puts sep between each three digits from the right.
func groupThousands(digits, sep string) string {
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseEuros reads an amount of euros as people type or export it, into
// cents: "850", "850,50", "850.5", "1 234,56", "1 234,56 €", "€1,234.56".
// Spaces (also no-break ones) group thousands. When both a comma and a
// point occur, the last is the decimal mark and the other groups
// thousands; a mark occurring once is the decimal mark, so "1,234" is
// refused as three decimals rather than guessed. Signs, more than two
// decimals, anything else and more than MaxTotalCents are refused with
// the key cases.plan.error.amount.
func ParseEuros(s string) (int64, error) {
	c, err := parseEuros(s)
	if err != nil {
		return 0, problem.Wrap(problem.Invalid, "cases.plan.error.amount", fmt.Errorf("cases: parse euros %q: %w", s, err))
	}
	return c, nil
}

func parseEuros(s string) (int64, error) {
	if len(s) > maxEuroInputBytes || !utf8.ValidString(s) {
		return 0, errors.New("not an amount")
	}
	s = strings.NewReplacer(nbsp, " ", narrowNBSP, " ", "\t", " ").Replace(s)
	s = strings.TrimSpace(s)
	if t, ok := strings.CutPrefix(s, euroSign); ok {
		s = strings.TrimSpace(t)
	} else if t, ok := strings.CutSuffix(s, euroSign); ok {
		s = strings.TrimSpace(t)
	}
	if s == "" {
		return 0, errors.New("empty")
	}
	decimal := byte(0)
	lastComma, lastPoint := strings.LastIndexByte(s, ','), strings.LastIndexByte(s, '.')
	commas, points := strings.Count(s, ","), strings.Count(s, ".")
	switch {
	case commas > 0 && points > 0:
		decimal = ','
		if lastPoint > lastComma {
			decimal = '.'
		}
	case commas == 1:
		decimal = ','
	case points == 1:
		decimal = '.'
	}
	whole, frac := s, ""
	if decimal != 0 {
		i := strings.LastIndexByte(s, decimal)
		whole, frac = s[:i], s[i+1:]
		if frac == "" || len(frac) > 2 || !allDigits(frac) {
			return 0, errors.New("decimals")
		}
	}
	whole, err := ungroup(whole)
	if err != nil {
		return 0, err
	}
	e, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || e > MaxTotalCents/100 {
		return 0, errors.New("too large")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	c, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	if total := e*100 + c; total <= MaxTotalCents {
		return total, nil
	}
	return 0, errors.New("too large")
}

// ungroup removes the thousands separators of whole euros: groups must be
// three digits after the first, all split by the same kind of separator.
func ungroup(s string) (string, error) {
	sep := ""
	for _, c := range []string{" ", ",", "."} {
		if strings.Contains(s, c) {
			if sep != "" {
				return "", errors.New("mixed grouping")
			}
			sep = c
		}
	}
	if sep == "" {
		if !allDigits(s) {
			return "", errors.New("not digits")
		}
		return s, nil
	}
	parts := strings.Split(s, sep)
	if sep == " " {
		parts = strings.Fields(s) // several spaces in a row group once
		if len(parts) == 0 {
			return "", errors.New("empty")
		}
	}
	for i, p := range parts {
		if !allDigits(p) || (i == 0 && len(p) > 3) || (i > 0 && len(p) != 3) {
			return "", errors.New("grouping")
		}
	}
	return strings.Join(parts, ""), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AddDays returns the date n days later (earlier for a negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }
