package main

import (
	"math"
	"testing"
)

// A quantile is the bound of the bucket it falls in, and the instances'
// histograms add up bucket by bucket.
func TestStoreTimesQuantilesAndSums(t *testing.T) {
	one := func() storeTimes {
		return storeTimes{"x": {Count: 10, Sum: 20, Bounds: []float64{1, 2, 3}, Buckets: []uint64{0, 5, 10}}}
	}
	h := one()["x"]
	h.Buckets[2] = 9 // one observation above the last bound
	for _, c := range []struct{ q, want float64 }{{0.01, 2}, {0.5, 2}, {0.51, 3}, {0.9, 3}, {0.91, math.Inf(1)}} {
		if got := h.quantile(c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	a := one()
	sum := storeTimes(nil).add(a).add(one())
	if s := sum["x"]; s.Count != 20 || s.Sum != 40 || s.Buckets[1] != 10 || s.Buckets[2] != 20 {
		t.Errorf("sum = %+v", s)
	}
	if a["x"].Count != 10 || a["x"].Buckets[2] != 10 {
		t.Errorf("adding changed its operand: %+v", a["x"])
	}
}
