package booking

import (
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, helsinki())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func window(id int64, weekday int, from, to string, slot int, types ...MeetingType) Window {
	return Window{ID: id, AdvisorID: 1, Weekday: weekday, StartMinute: minutes(from), EndMinute: minutes(to), SlotMinutes: slot, MeetingTypes: JoinTypes(types)}
}

func minutes(hhmm string) int {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return t.Hour()*60 + t.Minute()
}

func starts(slots []Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.Start.UTC().Format("2006-01-02 15:04") + "/" + s.End.UTC().Format("15:04")
	}
	return out
}

func TestGenerateSlots(t *testing.T) {
	loc := helsinki()
	all := []MeetingType{Office, Phone}
	cases := []struct {
		name     string
		windows  []Window
		filter   slotFilter
		from, to string // local days
		busy     []interval
		earliest string // UTC
		want     []string
	}{
		{
			name:    "plain morning, EET (UTC+2)",
			windows: []Window{window(1, 1, "09:00", "12:00", 60, all...)},
			from:    "2026-03-23 00:00", to: "2026-03-24 00:00",
			want: []string{"2026-03-23 07:00/08:00", "2026-03-23 08:00/09:00", "2026-03-23 09:00/10:00"},
		},
		{
			name:    "the Monday after spring forward keeps 9:00 local, now UTC+3",
			windows: []Window{window(1, 1, "09:00", "11:00", 60, all...), window(2, 5, "09:00", "10:00", 60, all...)},
			from:    "2026-03-27 00:00", to: "2026-03-31 00:00",
			want: []string{"2026-03-27 07:00/08:00", "2026-03-30 06:00/07:00", "2026-03-30 07:00/08:00"},
		},
		{
			name:    "spring-forward night: 03:00-03:59 does not exist on 29 March 2026",
			windows: []Window{window(1, 7, "01:00", "06:00", 60, all...)},
			from:    "2026-03-29 00:00", to: "2026-03-30 00:00",
			// 01:00 and 02:00 EET, then 04:00 and 05:00 EEST; 02:00 EET
			// ends at 04:00 EEST, so nothing overlaps.
			want: []string{"2026-03-28 23:00/00:00", "2026-03-29 00:00/01:00", "2026-03-29 01:00/02:00", "2026-03-29 02:00/03:00"},
		},
		{
			name:    "fall-back night: the repeated 03:00 is offered once, on 25 October 2026",
			windows: []Window{window(1, 7, "02:00", "05:00", 60, all...)},
			from:    "2026-10-25 00:00", to: "2026-10-26 00:00",
			// 02:00 EEST, 03:00 once (Go resolves the ambiguous wall time
			// to its EET occurrence), 04:00 EET: three slots, no overlap.
			want: []string{"2026-10-24 23:00/00:00", "2026-10-25 01:00/02:00", "2026-10-25 02:00/03:00"},
		},
		{
			name: "overlapping windows: the earlier slot wins, same start once",
			windows: []Window{
				window(1, 1, "09:00", "12:00", 60, all...),
				window(2, 1, "10:30", "13:00", 30, all...),
			},
			from: "2026-03-23 00:00", to: "2026-03-24 00:00",
			// 9, 10, 11 (60 min) from the first; 10:30 and 11:30 overlap
			// them, 11:00 starts with one; 12:00 and 12:30 are free.
			want: []string{"2026-03-23 07:00/08:00", "2026-03-23 08:00/09:00", "2026-03-23 09:00/10:00",
				"2026-03-23 10:00/10:30", "2026-03-23 10:30/11:00"},
		},
		{
			name:    "busy time and exceptions remove overlapping slots",
			windows: []Window{window(1, 1, "09:00", "13:00", 60, all...)},
			from:    "2026-03-23 00:00", to: "2026-03-24 00:00",
			busy: []interval{
				{utc(t, "2026-03-23 07:00"), utc(t, "2026-03-23 08:00")}, // booked 9:00
				{utc(t, "2026-03-23 09:30"), utc(t, "2026-03-23 09:45")}, // blocked inside 11:00
			},
			want: []string{"2026-03-23 08:00/09:00", "2026-03-23 10:00/11:00"},
		},
		{
			name:    "nothing before earliest",
			windows: []Window{window(1, 1, "09:00", "12:00", 60, all...)},
			from:    "2026-03-23 00:00", to: "2026-03-24 00:00",
			earliest: "2026-03-23 08:00",
			want:     []string{"2026-03-23 08:00/09:00", "2026-03-23 09:00/10:00"},
		},
		{
			name: "filter by meeting type and service point",
			windows: func() []Window {
				p := int64(7)
				a := window(1, 1, "09:00", "10:00", 60, Office)
				a.ServicePointID = &p
				b := window(2, 1, "10:00", "11:00", 60, Phone)
				return []Window{a, b, window(3, 1, "11:00", "12:00", 60, Office)}
			}(),
			filter: slotFilter{meetingType: Office, servicePointID: 7},
			from:   "2026-03-23 00:00", to: "2026-03-24 00:00",
			want: []string{"2026-03-23 07:00/08:00"},
		},
		{
			name:    "a slot that does not fit the window is not offered",
			windows: []Window{window(1, 1, "09:00", "10:30", 60, all...)},
			from:    "2026-03-23 00:00", to: "2026-03-24 00:00",
			want: []string{"2026-03-23 07:00/08:00"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			earliest := time.Time{}
			if tc.earliest != "" {
				earliest = utc(t, tc.earliest)
			}
			got := starts(generateSlots(loc, tc.windows, tc.filter, at(t, tc.from), at(t, tc.to), tc.busy, earliest))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestMergeIntervals(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2026, 1, 1, n, 0, 0, 0, time.UTC) }
	got := mergeIntervals([]interval{{h(5), h(6)}, {h(1), h(3)}, {h(2), h(4)}, {h(4), h(5)}, {h(8), h(9)}})
	want := []interval{{h(1), h(6)}, {h(8), h(9)}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if !got[i].start.Equal(want[i].start) || !got[i].end.Equal(want[i].end) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestSQLiteTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-03-24 08:00:00+00:00":     time.Date(2026, 3, 24, 8, 0, 0, 0, time.UTC),
		"2026-03-24 08:00:00.5+00:00":   time.Date(2026, 3, 24, 8, 0, 0, 5e8, time.UTC),
		"2026-03-24 10:00:00+02:00":     time.Date(2026, 3, 24, 8, 0, 0, 0, time.UTC),
		"2026-12-31 23:59:59+00:00":     time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
		"2026-03-24 08:00:07.123+00:00": time.Date(2026, 3, 24, 8, 0, 7, 123e6, time.UTC),
	} {
		got, err := sqliteTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("sqliteTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := sqliteTime("2026-03-24 0x:00:00+00:00"); err == nil {
		t.Errorf("garbage accepted")
	}
}

// TestAbsenceShownAsDays: an absence of whole days is shown as days; one
// with times, with times.
func TestAbsenceShownAsDays(t *testing.T) {
	s := &Service{loc: helsinki()}
	cases := []struct {
		from, to         string
		wantFrom, wantTo string
	}{
		{"2026-12-07 00:00", "2026-12-09 00:00", "7.12.2026", "8.12.2026"},
		{"2026-12-07 00:00", "2026-12-08 00:00", "7.12.2026", "7.12.2026"},
		{"2026-12-07 09:00", "2026-12-07 12:00", "7.12.2026 09.00", "7.12.2026 12.00"},
	}
	for _, c := range cases {
		f, to := s.formatSpan("fi", at(t, c.from), at(t, c.to))
		if f != c.wantFrom || to != c.wantTo {
			t.Errorf("%s–%s shown as %q–%q, want %q–%q", c.from, c.to, f, to, c.wantFrom, c.wantTo)
		}
	}
}
