package chat

import (
	"sync/atomic"
	"time"
)

// How long a socket waits for a missing message to arrive by pub/sub
// before it reads the message from the database. Two instances publish a
// conversation's messages independently, so one may arrive a moment ahead
// of the one before it. Under load, publications arrive late: with a fixed
// wait every late one was also read from the database, once per socket,
// adding to the load that made it late. So the wait follows how long the
// broker has lately taken to bring this instance's own publications back
// (gapWaitFactor times that), between minGapWait and maxGapWait. A
// publication that is really lost is read after at most maxGapWait, and
// the safety poll catches anything else.
const (
	minGapWait    = 50 * time.Millisecond
	maxGapWait    = time.Second
	gapWaitFactor = 3
	// A probe whose publication has not come back after this long is
	// given up, and the next publication becomes the probe.
	probeStale = 2 * time.Second
)

// transit estimates how long a publication takes to come back from the
// broker: one publication at a time is timed from Publish until this
// instance receives it back, and the times are smoothed.
type transit struct {
	probe atomic.Pointer[transitProbe]
	mean  atomic.Int64 // nanoseconds, smoothed
}

type transitProbe struct {
	conv, seq int64
	at        time.Time
}

// published starts timing a publication unless one is being timed.
func (t *transit) published(conv, seq int64) {
	if p := t.probe.Load(); p == nil || time.Since(p.at) > probeStale {
		t.probe.Store(&transitProbe{conv: conv, seq: seq, at: time.Now()})
	}
}

// echoed is called when this instance's own publication comes back; if it
// is the one being timed, its time goes into the mean.
func (t *transit) echoed(conv, seq int64) {
	p := t.probe.Load()
	if p == nil || p.conv != conv || p.seq != seq || !t.probe.CompareAndSwap(p, nil) {
		return
	}
	d := int64(time.Since(p.at))
	old := t.mean.Load()
	t.mean.Store(old + (d-old)/4)
}

// gapWait is how long a socket waits for a missing message; see above.
func (t *transit) gapWait() time.Duration {
	return min(max(minGapWait, gapWaitFactor*time.Duration(t.mean.Load())), maxGapWait)
}
