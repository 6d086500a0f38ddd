package chat

import "testing"

// TestHoursInEveryLanguage: admins write the days in Finnish, Swedish or
// English and get the same week.
func TestHoursInEveryLanguage(t *testing.T) {
	want, err := parseHours("Mon-Fri 09:00-15:00; Sat 10:00-12:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"ma-pe 09:00-15:00; la 10:00-12:00", "MÅN-FRE 09:00-15:00; lör 10:00-12:00"} {
		got, err := parseHours(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		for d := range want {
			if (want[d] == nil) != (got[d] == nil) || (want[d] != nil && *want[d] != *got[d]) {
				t.Errorf("%q: day %d = %v, want %v", spec, d, got[d], want[d])
			}
		}
	}
	if _, err := parseHours("maanantai 09:00-15:00"); err == nil {
		t.Error("an unknown day name was accepted")
	}
}
