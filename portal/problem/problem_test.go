package problem_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

func TestKindThroughWrapping(t *testing.T) {
	cause := errors.New("cause")
	cases := []struct {
		name string
		err  error
		kind problem.Kind
	}{
		{"nil", nil, problem.Internal},
		{"plain", cause, problem.Internal},
		{"direct", problem.E(problem.NotFound, "k"), problem.NotFound},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", problem.Wrap(problem.Conflict, "k", cause))), problem.Conflict},
		{"joined", errors.Join(cause, problem.Field("f", "k")), problem.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := problem.KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %v, want %v", got, tc.kind)
			}
			if tc.err != nil && !problem.Is(tc.err, tc.kind) {
				t.Errorf("Is(%v) = false", tc.kind)
			}
		})
	}
	e := problem.Wrap(problem.Unavailable, "k", cause)
	if !errors.Is(e, cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	if s := problem.Fields(map[string]string{"b": "x", "a": "y"}).Error(); !strings.Contains(s, "invalid [a b]") {
		t.Errorf("Error() = %q", s)
	}
}
