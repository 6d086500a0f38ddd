package chat

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// committer stores messages by group commit: each shard goroutine takes
// every request that has queued while the previous transaction ran and
// stores them in one transaction. A conversation always goes to the same
// shard, so its messages are stored in the order they arrived. Shards are
// chosen by conversation id modulo their number, the same on every
// instance, so shard i of every instance stores the same conversations:
// lane i. On PostgreSQL each lane has one owner in the cluster, and the
// others forward its drafts there (forward.go).
type committer struct {
	store    *Store
	shards   []chan commitReq
	owned    []atomic.Bool  // this instance owns the lane
	local    []atomic.Int64 // drafts of this instance's sockets being stored here, per lane
	fwd      *forwarder     // nil: every lane is stored here
	metrics  *storeMetrics
	maxBatch int
	ctx      context.Context
	wg       sync.WaitGroup
}

type commitReq struct {
	draft Draft
	done  func(stored)
	at    time.Time // when it was queued
}

// claimEvery is how often a lane tries to become its owner, and its owner
// says so.
const claimEvery = time.Second

func newCommitter(ctx context.Context, store *Store, fwd *forwarder, metrics *storeMetrics, shards, maxBatch, queue int) *committer {
	c := &committer{store: store, fwd: fwd, metrics: metrics, maxBatch: maxBatch, ctx: ctx,
		owned: make([]atomic.Bool, shards), local: make([]atomic.Int64, shards)}
	for i := range shards {
		ch := make(chan commitReq, queue)
		c.shards = append(c.shards, ch)
		c.wg.Add(1)
		go c.run(i, ch)
	}
	return c
}

func (c *committer) lane(conv int64) int { return int(uint64(conv) % uint64(len(c.shards))) }

// submit stores a draft, through the owner of its lane when another
// instance owns it; done is called once the verdict is known, on a
// goroutine of the committer's or the broker's. submit blocks while the
// lane's queue is full, which slows the sending socket down rather than
// the others. It returns false when the hub is shutting down.
//
// A sender's messages are stored in the order it sent them, so a lane
// starts forwarding only once none of its drafts are still being stored
// here. Back from forwarding to storing here it goes when the owner is
// gone or cannot be reached: what was forwarded to it is then answered
// "internal" and resent, and may be stored after what followed it.
func (c *committer) submit(d Draft, done func(stored)) bool {
	i := c.lane(d.ConversationID)
	if c.fwd == nil {
		return c.submitLocal(d, done)
	}
	if !c.owned[i].Load() && c.local[i].Load() == 0 && c.fwd.forward(i, d, done) {
		return true
	}
	c.local[i].Add(1)
	ok := c.submitLocal(d, func(r stored) {
		c.local[i].Add(-1)
		done(r)
	})
	if !ok {
		c.local[i].Add(-1)
	}
	return ok
}

// submitLocal queues a draft for this instance's own lane.
func (c *committer) submitLocal(d Draft, done func(stored)) bool {
	select {
	case c.shards[c.lane(d.ConversationID)] <- commitReq{d, done, time.Now()}:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// claimer is a lane that can own its conversations in the cluster.
type claimer interface {
	// claim makes the lane the owner if no one is, and reports whether it
	// is the owner now.
	claim(ctx context.Context, lane int) bool
}

func (c *committer) run(i int, ch chan commitReq) {
	defer c.wg.Done()
	lane := c.store.lane()
	defer lane.close()
	cl, _ := lane.(claimer)
	if c.fwd == nil {
		cl = nil
	}
	claim := func() {
		if cl == nil {
			return
		}
		owned := cl.claim(c.ctx, i)
		c.owned[i].Store(owned)
		if owned {
			c.fwd.announce(i)
		}
	}
	claim()
	tick := time.NewTicker(claimEvery)
	defer tick.Stop()
	reqs := make([]commitReq, 0, c.maxBatch)
	drafts := make([]Draft, 0, c.maxBatch)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
			claim()
			continue
		case r := <-ch:
			reqs = append(reqs[:0], r)
		}
	drain:
		for len(reqs) < c.maxBatch {
			select {
			case r := <-ch:
				reqs = append(reqs, r)
			default:
				break drain
			}
		}
		taken := time.Now() // one clock read for the whole batch's waits
		drafts = drafts[:0]
		for _, r := range reqs {
			drafts = append(drafts, r.draft)
			c.metrics.wait.Observe(taken.Sub(r.at).Seconds())
		}
		c.metrics.batch.Observe(float64(len(drafts)))
		// Not c.ctx: a batch already taken is finished even during shutdown.
		res := lane.Append(context.Background(), drafts)
		observeSince(c.metrics.store, taken)
		for j, r := range reqs {
			r.done(res[j])
		}
		clear(reqs)
	}
}

func (c *committer) wait() { c.wg.Wait() }
