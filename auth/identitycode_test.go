package auth

import "testing"

func TestNormalizeIdentityCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"110758-901S", "110758-901S", true},
		{" 110758-901s ", "110758-901S", true}, // trimmed and upper-cased
		{"150382-901A", "150382-901A", true},
		{"040571-9010", "040571-9010", true},  // check character 0
		{"110758Y901S", "110758Y901S", true},  // the 1900s' new signs
		{"110758-901T", "110758-901T", false}, // wrong check character
		{"310258-901S", "310258-901S", false}, // 31 February
		{"290200A9021", "290200A9021", false}, // 2000 was a leap year, but the check fails
		{"110758G901S", "110758G901S", false}, // unknown century sign
		{"110758-001S", "110758-001S", false}, // individual number 001 is not given
		{"110758-+01S", "110758-+01S", false},
		{"1107589-01S", "1107589-01S", false},
		{"110758-901", "110758-901", false},
		{"", "", false},
	} {
		got, ok := NormalizeIdentityCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeIdentityCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got := MaskIdentityCode("110758-901S"); got != "110758-****" {
		t.Errorf("mask %q", got)
	}
}
