package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
)

// roundResult is what one load run measured, whichever server it ran
// against: the generator and the counting are the same for both.
type roundResult struct {
	rate                                    int
	elapsed                                 float64 // seconds spent sending
	sent, acks, delivered, dups, gaps, errs int64
	closed                                  int             // sockets that ended during the run
	lat, ackLat                             []time.Duration // sorted
	byWindow                                [][]time.Duration
	sides                                   []sideTimes // the residents', then the advisors'
	window                                  time.Duration
	pg                                      pgSpent    // what PostgreSQL spent, when measured
	cpu                                     cpuSpent   // what the servers and Redis spent, when measured
	store                                   storeTimes // the portal's storage, from its instances' histograms
}

// generate sends a message every 1/rate seconds for dur, round-robin over
// the sockets (a resident's, then an advisor's, so both directions get
// half), then waits up to 15 s for stragglers and gathers what the
// sockets counted. Each socket's writer and reader speak its server's
// protocol; the schedule and the counting are shared.
func generate(ctx context.Context, socks []*sock, n, rate int, dur, window time.Duration) *roundResult {
	bySide := map[string][]*sock{}
	for _, s := range socks {
		bySide[s.role] = append(bySide[s.role], s)
	}
	order := make([]*sock, 0, len(socks))
	for i := 0; i < n; i++ {
		order = append(order, bySide[chat.RoleResident][i], bySide[chat.RoleAdvisor][i])
	}
	fmt.Printf("sending %d msg/s for %s over %d conversations (%d sockets)…\n", rate, dur, n, len(socks))
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	var sent int64
	tick := time.NewTicker(time.Millisecond)
	deadline := start.Add(dur)
	next := 0
loop:
	for now := range tick.C {
		if ctx.Err() != nil || now.After(deadline) {
			break loop
		}
		due := int64(now.Sub(start) / interval)
		for ; sent < due; sent++ {
			s := order[next]
			next = (next + 1) % len(order)
			s.queue(time.Now().UnixNano())
		}
	}
	tick.Stop()
	sendEnd := time.Now()
	for _, s := range socks {
		s.closeQueue()
	}
	// Drain: wait until everything sent has arrived and every send has
	// its answer, or 15 s. A forwarded draft's ack comes back over Redis
	// and may come after the message itself.
	drainUntil := time.Now().Add(15 * time.Second)
	for time.Now().Before(drainUntil) && ctx.Err() == nil {
		if totalDelivered(socks) >= sent && totalAnswered(socks) >= sent {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := &roundResult{rate: rate, elapsed: sendEnd.Sub(start).Seconds(), sent: sent, window: window}
	r.delivered = totalDelivered(socks)
	for _, s := range socks {
		s.mu.Lock()
		r.dups += s.dups
		r.gaps += s.gaps
		r.errs += s.errs
		r.acks += s.acks
		if s.closed.Load() {
			r.closed++
		}
		r.lat = append(r.lat, s.lat...)
		for i, at := range s.latAt {
			if window <= 0 {
				break
			}
			if w := int(time.Duration(at-start.UnixNano()) / window); w >= 0 {
				for len(r.byWindow) <= w {
					r.byWindow = append(r.byWindow, nil)
				}
				r.byWindow[w] = append(r.byWindow[w], s.lat[i])
			}
		}
		r.ackLat = append(r.ackLat, s.ackLat...)
		s.mu.Unlock()
	}
	slices.Sort(r.lat)
	slices.Sort(r.ackLat)
	r.sides = sidesOf(socks)
	return r
}

// sideTimes is what the sockets of one side measured: the latency of what
// the other side sent them, and the acks of what they sent. The residents'
// sockets are on instance A and the advisors' on B, so the two sides tell
// whether the drafts stored by the lane's owner and those forwarded to it
// differ.
type sideTimes struct {
	role        string
	lat, ackLat []time.Duration // sorted
}

func sidesOf(socks []*sock) []sideTimes {
	sides := []sideTimes{{role: chat.RoleResident}, {role: chat.RoleAdvisor}}
	for _, s := range socks {
		i := slices.IndexFunc(sides, func(t sideTimes) bool { return t.role == s.role })
		if i < 0 {
			continue
		}
		s.mu.Lock()
		sides[i].lat = append(sides[i].lat, s.lat...)
		sides[i].ackLat = append(sides[i].ackLat, s.ackLat...)
		s.mu.Unlock()
	}
	for i := range sides {
		slices.Sort(sides[i].lat)
		slices.Sort(sides[i].ackLat)
	}
	return sides
}

// sideHost is where each side's sockets are, in both servers' rounds.
var sideHost = map[string]string{chat.RoleResident: "A", chat.RoleAdvisor: "B"}

func pctOf(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(10 * time.Microsecond)
}

func (r *roundResult) pct(p float64) time.Duration { return pctOf(r.lat, p) }

// lost is what was sent but did not arrive by the end of the drain.
func (r *roundResult) lost() int64 { return max(0, r.sent-r.delivered) }

func (r *roundResult) print() {
	expected := r.sent
	fmt.Printf("offered %d msg/s for %.1f s: sent %d, acked %d, delivered %d/%d (%.3f %%), duplicates %d, gaps %d, error frames %d\n",
		r.rate, r.elapsed, r.sent, r.acks, r.delivered, expected, 100*float64(r.delivered)/float64(max(expected, 1)), r.dups, r.gaps, r.errs)
	if r.closed > 0 {
		fmt.Printf("sockets that ended before the run closed them (dropped by the server or broken): %d\n", r.closed)
	}
	fmt.Printf("throughput %.0f msg/s delivered\n", float64(r.delivered)/r.elapsed)
	fmt.Printf("latency end-to-end: p50 %s  p95 %s  p99 %s  max %s\n",
		r.pct(0.50), r.pct(0.95), r.pct(0.99), r.pct(1))
	fmt.Printf("latency send → ack (stored): p50 %s  p95 %s  p99 %s  max %s\n",
		pctOf(r.ackLat, 0.50), pctOf(r.ackLat, 0.95), pctOf(r.ackLat, 0.99), pctOf(r.ackLat, 1))
	for _, t := range r.sides {
		fmt.Printf("  %s sockets (%s): received p50 %s  p99 %s; send → ack p50 %s  p99 %s\n", t.role, sideHost[t.role],
			pctOf(t.lat, 0.5), pctOf(t.lat, 0.99), pctOf(t.ackLat, 0.5), pctOf(t.ackLat, 0.99))
	}
	r.pg.print(r.acks)
	r.cpu.print(r.acks, r.pg)
	r.store.print()
	for w, l := range r.byWindow {
		slices.Sort(l)
		fmt.Printf("  %3.0f–%3.0f s: %6d delivered, p50 %s  p99 %s\n", (time.Duration(w) * r.window).Seconds(),
			(time.Duration(w+1) * r.window).Seconds(), len(l), pctOf(l, 0.5), pctOf(l, 0.99))
	}
}
