package files

import (
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// TestLimits: the capBytes of the next file is the file limit until the total
// comes near; past the count or the total it is refused; a cut below the
// file limit is told as the total's.
func TestLimits(t *testing.T) {
	l := Limits{}
	l.Defaults(Limits{MaxFileBytes: 10, MaxFiles: 3, MaxTotalBytes: 25})
	for _, tc := range []struct {
		count    int
		used     int64
		capBytes int64
		kind     problem.Kind
	}{
		{0, 0, 10, 0},
		{2, 20, 5, 0},
		{3, 5, 0, problem.Conflict},
		{1, 25, 0, problem.TooLarge},
	} {
		capBytes, err := l.Next(tc.count, tc.used)
		if capBytes != tc.capBytes || (tc.kind != 0) != (err != nil) || (err != nil && !problem.Is(err, tc.kind)) {
			t.Errorf("Next(%d, %d) = %d, %v; want %d, kind %v", tc.count, tc.used, capBytes, err, tc.capBytes, tc.kind)
		}
	}
	cut := problem.E(problem.TooLarge, "files.error.too_large")
	if p, _ := problem.As(l.Explain(cut, 5)); p.Key != "files.error.total_too_large" {
		t.Errorf("a cut at a capBytes of 5 is told as %q", p.Key)
	}
	if p, _ := problem.As(l.Explain(cut, 10)); p.Key != "files.error.too_large" {
		t.Errorf("a cut at the file limit is told as %q", p.Key)
	}
}
