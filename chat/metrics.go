package chat

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics tell an operator where a message's time before its ack
// goes: waiting for its lane, the lane's statement and commit, or the
// round trip to the lane's owner on another instance. On a quiet
// machine nearly all of it is the commit (docs/BENCHMARKS.md, "Where a
// message's time goes").
type storeMetrics struct {
	wait    prometheus.Histogram // a draft in its lane's queue, until its batch is taken
	store   prometheus.Histogram // one batch: its statement and its commit
	batch   prometheus.Histogram // drafts in a batch
	forward prometheus.Histogram // a forwarded draft, until its owner's verdict is back
}

// latencyBuckets are fine below 2 ms, where a commit on a local disk lies.
var latencyBuckets = []float64{.0001, .00025, .0005, .00075, .001, .0015, .002, .003, .005, .0075, .01, .025, .05, .1, .25, .5, 1, 2.5}

func newStoreMetrics() *storeMetrics {
	h := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	return &storeMetrics{
		wait: h("portal_chat_store_wait_seconds",
			"Time a chat message waited in its group-commit lane before its batch was taken.", latencyBuckets),
		store: h("portal_chat_store_seconds",
			"Time one group-commit batch of chat messages took to store and commit.", latencyBuckets),
		batch: h("portal_chat_store_batch_messages",
			"Chat messages stored in one group-commit batch.", prometheus.ExponentialBuckets(1, 2, 9)),
		forward: h("portal_chat_forward_seconds",
			"Time from forwarding a chat message to its lane's owner on another instance until the verdict came back.", latencyBuckets),
	}
}

func (m *storeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.wait, m.store, m.batch, m.forward}
}

// observeSince observes the time since t on h, in seconds.
func observeSince(h prometheus.Histogram, t time.Time) { h.Observe(time.Since(t).Seconds()) }
