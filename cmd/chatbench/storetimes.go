package main

// Where a message's time before its ack went, from the instances' own
// histograms (chat/metrics.go): the wait for its lane, the lane's
// statement and commit, and the round trip to the lane's owner. Each
// instance serves its histograms at /bench/store; the run adds the two up.

import (
	"fmt"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// histogram is a Prometheus histogram as it travels: cumulative counts
// per upper bound, in seconds (or messages).
type histogram struct {
	Count   uint64
	Sum     float64
	Bounds  []float64
	Buckets []uint64 // cumulative, one per bound
}

type storeTimes map[string]*histogram

// serveStoreTimes answers /bench/store with the histograms of reg.
func serveStoreTimes(reg *prometheus.Registry) fiber.Handler {
	return func(c *fiber.Ctx) error {
		fams, err := reg.Gather()
		if err != nil {
			return err
		}
		out := storeTimes{}
		for _, f := range fams {
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				if h == nil {
					continue
				}
				o := &histogram{Count: h.GetSampleCount(), Sum: h.GetSampleSum()}
				for _, b := range h.GetBucket() {
					o.Bounds = append(o.Bounds, b.GetUpperBound())
					o.Buckets = append(o.Buckets, b.GetCumulativeCount())
				}
				out[f.GetName()] = o
			}
		}
		return c.JSON(out)
	}
}

func (s *server) storeTimes() storeTimes {
	var t storeTimes
	s.getJSON("/bench/store", &t)
	return t
}

// add sums the instances' histograms (the same buckets on each).
func (t storeTimes) add(o storeTimes) storeTimes {
	if t == nil {
		t = storeTimes{}
	}
	for name, h := range o {
		mine := t[name]
		if mine == nil {
			c := *h
			c.Buckets = append([]uint64(nil), h.Buckets...)
			t[name] = &c
			continue
		}
		mine.Count += h.Count
		mine.Sum += h.Sum
		for i := range min(len(mine.Buckets), len(h.Buckets)) {
			mine.Buckets[i] += h.Buckets[i]
		}
	}
	return t
}

// quantile is the upper bound of the bucket the q-quantile falls in: the
// true value is at most that, and above the bound before it.
func (h *histogram) quantile(q float64) float64 {
	want := uint64(math.Ceil(q * float64(h.Count))) // the rank of the q-quantile
	for i, c := range h.Buckets {
		if c >= max(want, 1) {
			return h.Bounds[i]
		}
	}
	return math.Inf(1) // above the last bound
}

func (t storeTimes) print() {
	ms := func(name string) string {
		h := t[name]
		if h == nil || h.Count == 0 {
			return "none"
		}
		d := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
		q := func(q float64) string {
			if b := h.quantile(q); !math.IsInf(b, 1) {
				return "≤ " + d(b).String()
			}
			return "> " + d(h.Bounds[len(h.Bounds)-1]).String()
		}
		return fmt.Sprintf("%d, mean %s, p50 %s, p99 %s", h.Count,
			d(h.Sum/float64(h.Count)).Round(time.Microsecond), q(0.5), q(0.99))
	}
	if len(t) == 0 {
		return
	}
	fmt.Printf("storage, from the instances' histograms (bucket bounds):\n")
	fmt.Printf("  wait for the lane: %s\n", ms("portal_chat_store_wait_seconds"))
	fmt.Printf("  batch stored and committed: %s\n", ms("portal_chat_store_seconds"))
	if h := t["portal_chat_store_batch_messages"]; h != nil && h.Count > 0 {
		fmt.Printf("  messages per batch: mean %.2f\n", h.Sum/float64(h.Count))
	}
	fmt.Printf("  forwarded to the owner and answered: %s\n", ms("portal_chat_forward_seconds"))
}
