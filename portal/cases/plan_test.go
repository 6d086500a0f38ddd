package cases

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

func day(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

// due renders a schedule as "date amount" pairs, to compare in one go.
func due(s []Instalment) []string {
	out := make([]string, len(s))
	for i, in := range s {
		out[i] = in.Due.String() + " " + FormatCents(in.AmountCents, "en")
	}
	return out
}

func TestDate(t *testing.T) {
	d := day(t, "2026-01-31")
	if d != (Date{2026, time.January, 31}) || d.String() != "2026-01-31" {
		t.Fatalf("ParseDate = %#v %s", d, d)
	}
	if f := day(t, "4.5.2026"); f != (Date{2026, time.May, 4}) {
		t.Errorf("ParseDate(4.5.2026) = %s", f)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "2026-02-28"}, {13, "2027-02-28"}, {11, "2026-12-31"}, {12, "2027-01-31"},
		{-1, "2025-12-31"}, {-13, "2024-12-31"}, {25, "2028-02-29"}, {0, "2026-01-31"},
	} {
		if got := d.AddMonths(tc.n).String(); got != tc.want {
			t.Errorf("AddMonths(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
	if !d.Before(day(t, "2026-02-01")) || d.After(day(t, "2026-02-01")) || d.Before(d) || !d.After(day(t, "2025-12-31")) {
		t.Error("Before/After disagree with the calendar")
	}
	for _, bad := range []string{"", "2026-02-29", "2026-13-01", "2026-5-4", "32.1.2026", "4.5.26", "tomorrow", "2026-05-04T00:00:00Z"} {
		if _, err := ParseDate(bad); !problem.Is(err, problem.Invalid) {
			t.Errorf("ParseDate(%q) = %v, want Invalid", bad, err)
		}
	}
	if got := DateOf(time.Date(2026, 5, 4, 23, 30, 0, 0, time.UTC)); got.String() != "2026-05-04" {
		t.Errorf("DateOf = %s", got)
	}
}

func TestPlanSchedule(t *testing.T) {
	cases := []struct {
		name string
		plan Plan
		want []string
	}{
		{"uneven remainder", Plan{100000, 30000, 15, Date{2026, 5, 4}},
			[]string{"2026-05-15 €300.00", "2026-06-15 €300.00", "2026-07-15 €300.00", "2026-08-15 €100.00"}},
		{"exact multiple has no zero last", Plan{90000, 30000, 15, Date{2026, 5, 4}},
			[]string{"2026-05-15 €300.00", "2026-06-15 €300.00", "2026-07-15 €300.00"}},
		{"remainder of one cent", Plan{60001, 30000, 1, Date{2026, 5, 1}},
			[]string{"2026-05-01 €300.00", "2026-06-01 €300.00", "2026-07-01 €0.01"}},
		{"start after the due day: first due next month", Plan{50000, 25000, 10, Date{2026, 5, 11}},
			[]string{"2026-06-10 €250.00", "2026-07-10 €250.00"}},
		{"start on the due day counts", Plan{25000, 25000, 10, Date{2026, 5, 10}},
			[]string{"2026-05-10 €250.00"}},
		{"rolls over the year end", Plan{100000, 25000, 20, Date{2026, 11, 25}},
			[]string{"2026-12-20 €250.00", "2027-01-20 €250.00", "2027-02-20 €250.00", "2027-03-20 €250.00"}},
		{"28th in February, leap year too", Plan{120000, 30000, 28, Date{2027, 12, 29}},
			[]string{"2028-01-28 €300.00", "2028-02-28 €300.00", "2028-03-28 €300.00", "2028-04-28 €300.00"}},
		{"one instalment for the whole", Plan{12345, 12345, 5, Date{2026, 1, 1}}, []string{"2026-01-05 €123.45"}},
		{"invalid plan has no schedule", Plan{0, 30000, 15, Date{2026, 5, 4}}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.plan.Schedule()
			if got := due(s); !slices.Equal(got, tc.want) {
				t.Fatalf("Schedule = %q, want %q", got, tc.want)
			}
			var sum int64
			for i, in := range s {
				sum += in.AmountCents
				if in.N != i+1 {
					t.Errorf("instalment %d has N %d", i+1, in.N)
				}
			}
			if len(s) > 0 && sum != tc.plan.TotalCents {
				t.Errorf("sum %d, want %d", sum, tc.plan.TotalCents)
			}
		})
	}
}

func TestPlanScheduleLongest(t *testing.T) {
	p := Plan{TotalCents: 120 * 5000, InstalmentCents: 5000, DueDay: 28, Start: Date{2026, 1, 29}}
	s := p.Schedule()
	if len(s) != MaxInstalments || s[0].Due.String() != "2026-02-28" || s[119].Due.String() != "2036-01-28" {
		t.Fatalf("len %d, first %s, last %s", len(s), s[0].Due, s[len(s)-1].Due)
	}
}

func TestPlanValidate(t *testing.T) {
	ok := Plan{TotalCents: 100000, InstalmentCents: 30000, DueDay: 15, Start: Date{2026, 5, 4}}
	cases := []struct {
		name string
		edit func(p *Plan)
		want map[string]string
	}{
		{"valid", func(*Plan) {}, nil},
		{"zero total", func(p *Plan) { p.TotalCents = 0 }, map[string]string{"total": "cases.plan.error.total"}},
		{"negative total", func(p *Plan) { p.TotalCents = -1 }, map[string]string{"total": "cases.plan.error.total"}},
		{"total over the limit", func(p *Plan) { p.TotalCents = MaxTotalCents + 1 }, map[string]string{"total": "cases.plan.error.total"}},
		{"total at the limit", func(p *Plan) { p.TotalCents, p.InstalmentCents = MaxTotalCents, MaxTotalCents/100 }, nil},
		{"zero instalment", func(p *Plan) { p.InstalmentCents = 0 }, map[string]string{"instalment": "cases.plan.error.instalment"}},
		{"instalment over the total", func(p *Plan) { p.InstalmentCents = 100001 }, map[string]string{"instalment": "cases.plan.error.instalment"}},
		{"instalment equal to the total", func(p *Plan) { p.InstalmentCents = 100000 }, nil},
		{"121 instalments", func(p *Plan) { p.TotalCents, p.InstalmentCents = 120*1000+1, 1000 }, map[string]string{"instalment": "cases.plan.error.too_long"}},
		{"exactly 120 instalments", func(p *Plan) { p.TotalCents, p.InstalmentCents = 120*1000, 1000 }, nil},
		{"due day 0", func(p *Plan) { p.DueDay = 0 }, map[string]string{"due_day": "cases.plan.error.due_day"}},
		{"due day 29", func(p *Plan) { p.DueDay = 29 }, map[string]string{"due_day": "cases.plan.error.due_day"}},
		{"due day 28", func(p *Plan) { p.DueDay = 28 }, nil},
		{"no start", func(p *Plan) { p.Start = Date{} }, map[string]string{"start": "cases.plan.error.start"}},
		{"start not a day", func(p *Plan) { p.Start = Date{2026, 2, 30} }, map[string]string{"start": "cases.plan.error.start"}},
		{"start in another century", func(p *Plan) { p.Start = Date{2126, 1, 1} }, map[string]string{"start": "cases.plan.error.start"}},
		{"every field", func(p *Plan) { *p = Plan{} }, map[string]string{
			"total": "cases.plan.error.total", "instalment": "cases.plan.error.instalment",
			"due_day": "cases.plan.error.due_day", "start": "cases.plan.error.start"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			err := p.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			e, isProblem := problem.As(err)
			if !isProblem || e.Kind != problem.Invalid || !maps.Equal(e.Fields, tc.want) {
				t.Fatalf("Validate = %v, want fields %v", err, tc.want)
			}
		})
	}
}

func TestAllocate(t *testing.T) {
	// 1000,00 € in 300,00 € instalments on the 15th from May 2026:
	// 15.5. 300, 15.6. 300, 15.7. 300, 15.8. 100.
	schedule := Plan{100000, 30000, 15, Date{2026, 5, 1}}.Schedule()
	type inst struct {
		paid    int64
		paidOn  string // "" when not fully paid
		overdue bool
	}
	cases := []struct {
		name                           string
		payments                       []Payment
		today                          string
		want                           []inst
		paid, remaining, over, overdue int64
		next                           int // N of the next instalment, 0 when all paid
	}{
		{
			name:  "nothing paid, nothing due yet",
			today: "2026-05-15",
			want:  []inst{{}, {}, {}, {}}, remaining: 100000, next: 1,
		},
		{
			name:  "nothing paid, two due days passed",
			today: "2026-06-16",
			want:  []inst{{overdue: true}, {overdue: true}, {}, {}}, remaining: 100000, overdue: 60000, next: 1,
		},
		{
			name:     "one payment covers two instalments",
			payments: []Payment{{Date: Date{2026, 5, 10}, AmountCents: 60000}},
			today:    "2026-07-20",
			want:     []inst{{30000, "2026-05-10", false}, {30000, "2026-05-10", false}, {overdue: true}, {}},
			paid:     60000, remaining: 40000, overdue: 30000, next: 3,
		},
		{
			name: "partial payments build up one instalment",
			payments: []Payment{
				{Date: Date{2026, 5, 20}, AmountCents: 10000},
				{Date: Date{2026, 5, 10}, AmountCents: 10000},
				{Date: Date{2026, 6, 2}, AmountCents: 15000},
			},
			today: "2026-06-10",
			want:  []inst{{30000, "2026-06-02", false}, {5000, "", false}, {}, {}},
			paid:  35000, remaining: 65000, next: 2,
		},
		{
			name: "completed late: no longer overdue",
			payments: []Payment{
				{Date: Date{2026, 5, 10}, AmountCents: 20000},
				{Date: Date{2026, 6, 20}, AmountCents: 10000},
			},
			today: "2026-06-20",
			want:  []inst{{30000, "2026-06-20", false}, {overdue: true}, {}, {}},
			paid:  30000, remaining: 70000, overdue: 30000, next: 2,
		},
		{
			name: "overpayment is credit",
			payments: []Payment{
				{Date: Date{2026, 5, 15}, AmountCents: 90000},
				{Date: Date{2026, 8, 1}, AmountCents: 12345},
			},
			today: "2026-12-01",
			want: []inst{{30000, "2026-05-15", false}, {30000, "2026-05-15", false},
				{30000, "2026-05-15", false}, {10000, "2026-08-01", false}},
			paid: 102345, over: 2345, next: 0,
		},
		{
			name:     "payment before the start counts toward the first instalment",
			payments: []Payment{{Date: Date{2026, 4, 20}, AmountCents: 30000}},
			today:    "2026-06-01",
			want:     []inst{{30000, "2026-04-20", false}, {}, {}, {}},
			paid:     30000, remaining: 70000, next: 2,
		},
		{
			name:     "non-positive amounts are skipped",
			payments: []Payment{{Date: Date{2026, 5, 1}, AmountCents: 0}, {Date: Date{2026, 5, 1}, AmountCents: -500}},
			today:    "2026-05-01",
			want:     []inst{{}, {}, {}, {}}, remaining: 100000, next: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.payments)
			st := Allocate(schedule, tc.payments, day(t, tc.today))
			if !slices.Equal(in, tc.payments) {
				t.Error("Allocate reordered the caller's payments")
			}
			if len(st.Instalments) != len(tc.want) {
				t.Fatalf("%d instalments, want %d", len(st.Instalments), len(tc.want))
			}
			for i, w := range tc.want {
				g := st.Instalments[i]
				paidOn := ""
				if g.Paid {
					paidOn = g.PaidOn.String()
				}
				if g.PaidCents != w.paid || paidOn != w.paidOn || g.Overdue != w.overdue || g.Paid != (w.paidOn != "") {
					t.Errorf("instalment %d = paid %d on %q overdue %v, want %d on %q overdue %v",
						g.N, g.PaidCents, paidOn, g.Overdue, w.paid, w.paidOn, w.overdue)
				}
			}
			if st.PaidCents != tc.paid || st.RemainingCents != tc.remaining || st.OverpaidCents != tc.over || st.OverdueCents != tc.overdue {
				t.Errorf("totals paid %d remaining %d overpaid %d overdue %d, want %d %d %d %d",
					st.PaidCents, st.RemainingCents, st.OverpaidCents, st.OverdueCents, tc.paid, tc.remaining, tc.over, tc.overdue)
			}
			if st.PaidCents != st.OverpaidCents+100000-st.RemainingCents {
				t.Error("paid is not applied plus overpaid")
			}
			next, ok := st.Next()
			if (tc.next == 0) == ok || (ok && next.N != tc.next) {
				t.Errorf("Next = %d %v, want %d", next.N, ok, tc.next)
			}
		})
	}
}

func TestFormatCents(t *testing.T) {
	cases := []struct {
		c        int64
		lang     string
		want     string
		parsable bool
	}{
		{123456, "fi", "1\u00a0234,56\u00a0€", true},
		{123456, "sv", "1\u00a0234,56\u00a0€", true},
		{123456, "en", "€1,234.56", true},
		{0, "fi", "0,00\u00a0€", true},
		{5, "en", "€0.05", true},
		{85000, "fi", "850,00\u00a0€", true},
		{100000000, "fi", "1\u00a0000\u00a0000,00\u00a0€", true},
		{100000000, "en", "€1,000,000.00", true},
		{12345678, "de", "123\u00a0456,78\u00a0€", true},
		{-123456, "fi", "-1\u00a0234,56\u00a0€", false},
		{-5, "en", "-€0.05", false},
	}
	for _, tc := range cases {
		got := FormatCents(tc.c, tc.lang)
		if got != tc.want {
			t.Errorf("FormatCents(%d, %s) = %q, want %q", tc.c, tc.lang, got, tc.want)
		}
		back, err := ParseEuros(got)
		if tc.parsable && (err != nil || back != tc.c) {
			t.Errorf("ParseEuros(%q) = %d, %v: no round trip", got, back, err)
		}
		if !tc.parsable && err == nil {
			t.Errorf("ParseEuros(%q) accepted a negative", got)
		}
	}
}

func TestParseEuros(t *testing.T) {
	good := map[string]int64{
		"850": 85000, "850,50": 85050, "850.5": 85050, "850,5": 85050, "0,01": 1, "0": 0,
		"1 234,56": 123456, "1\u00a0234,56": 123456, "1\u202f234,56 €": 123456, "1 234,56 €": 123456,
		" 850 € ": 85000, "€ 850": 85000, "€1,234.56": 123456, "1.234,56": 123456, "1 000 000": 100000000,
		"1,000,000.00": 100000000, "007": 700,
	}
	for s, want := range good {
		if got, err := ParseEuros(s); err != nil || got != want {
			t.Errorf("ParseEuros(%q) = %d, %v, want %d", s, got, err, want)
		}
	}
	bad := []string{
		"", " ", "€", "-850", "+850", "- 850", "850,505", "850.123", "1,234", "12 34", "1 2345",
		"850,", ",50", "abc", "85O", "850 € €", "1,234,56", "1.234.56,7.8", "1e3", "0x10",
		"1 000 000,01", "1000001", "99999999999999999999", "850 EUR", "8\x0050",
	}
	for _, s := range bad {
		got, err := ParseEuros(s)
		if e, ok := problem.As(err); !ok || e.Kind != problem.Invalid || e.Key != "cases.plan.error.amount" {
			t.Errorf("ParseEuros(%q) = %d, %v, want refusal", s, got, err)
		}
	}
}
