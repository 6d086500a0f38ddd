package chat

import (
	"testing"
	"time"
)

// The gap wait follows how long this instance's own publications take to
// come back, within its bounds; only the publication being timed counts.
func TestGapWaitFollowsTransit(t *testing.T) {
	var tr transit
	if got := tr.gapWait(); got != minGapWait {
		t.Fatalf("with nothing timed: %v, want %v", got, minGapWait)
	}
	tr.published(7, 5)
	tr.published(7, 6) // a probe is running: not timed
	time.Sleep(20 * time.Millisecond)
	tr.echoed(7, 6)
	tr.echoed(8, 5)
	if tr.mean.Load() != 0 {
		t.Fatalf("an echo of a publication that was not timed changed the mean to %v", time.Duration(tr.mean.Load()))
	}
	tr.echoed(7, 5)
	if m := time.Duration(tr.mean.Load()); m < 5*time.Millisecond {
		t.Fatalf("mean after one 20 ms echo = %v, want at least a quarter of it", m)
	}
	if tr.probe.Load() != nil {
		t.Fatal("the probe is still running after its echo")
	}
	tr.published(7, 9)
	tr.probe.Load().at = time.Now().Add(-probeStale - time.Second) // its echo was lost
	tr.published(7, 10)
	if p := tr.probe.Load(); p.seq != 10 {
		t.Fatalf("a stale probe was not replaced: probe is seq %d", p.seq)
	}

	for _, c := range []struct{ mean, want time.Duration }{
		{time.Millisecond, minGapWait},
		{100 * time.Millisecond, 300 * time.Millisecond},
		{time.Hour, maxGapWait},
	} {
		tr.mean.Store(int64(c.mean))
		if got := tr.gapWait(); got != c.want {
			t.Errorf("mean %v: gap wait %v, want %v", c.mean, got, c.want)
		}
	}
}

// While publications come back late, a socket waits longer for a missing
// message before reading it from the database: one that comes late by
// pub/sub is not read as well. One that never comes is still read.
func TestLatePublicationIsWaitedForNotRead(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		in, rc, cv, c, pub := behindSocket(t, e, 4)

		// Publications have lately taken 300 ms to come back: the wait is
		// 900 ms. A probe still out from the set-up is dropped, so that its
		// echo cannot change that.
		in.svc.hub.transit.probe.Store(nil)
		in.svc.hub.transit.mean.Store(int64(300 * time.Millisecond))
		c.deliverMessage(cv.ID, 3, pub[3])
		time.Sleep(3 * minGapWait)
		c.deliverMessage(cv.ID, 2, pub[2])
		// 4 never comes: it is read once the wait has passed; 5 follows.
		c.deliverMessage(cv.ID, 5, pub[5])

		for _, want := range []struct {
			seq  int64
			from string
		}{{2, "pub/sub"}, {3, "pub/sub"}, {4, "database"}, {5, "pub/sub"}} {
			f, ok := rc.next(TypeMessage, 5*time.Second)
			if !ok {
				t.Fatalf("no message %d", want.seq)
			}
			if f.Seq != want.seq || f.Body != want.from {
				t.Fatalf("got message %d from %s, want %d from %s", f.Seq, f.Body, want.seq, want.from)
			}
		}
	})
}
