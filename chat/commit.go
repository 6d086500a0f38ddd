package chat

import (
	"context"
	"sync"
)

// committer stores messages by group commit: each shard goroutine takes
// every request that has queued while the previous transaction ran and
// stores them in one transaction. A conversation always goes to the same
// shard, so its messages are stored in the order they arrived. Shards are
// chosen by conversation id modulo their number, the same on every
// instance: shard i of one instance only ever waits for the row locks of
// shard i of another, so the shards of all instances form parallel lanes.
type committer struct {
	store    *Store
	shards   []chan commitReq
	maxBatch int
	ctx      context.Context
	wg       sync.WaitGroup
}

type commitReq struct {
	draft Draft
	done  func(stored)
}

func newCommitter(ctx context.Context, store *Store, shards, maxBatch, queue int) *committer {
	c := &committer{store: store, maxBatch: maxBatch, ctx: ctx}
	for range shards {
		ch := make(chan commitReq, queue)
		c.shards = append(c.shards, ch)
		c.wg.Add(1)
		go c.run(ch)
	}
	return c
}

// submit queues a draft; done is called on the shard's goroutine once the
// transaction has ended. submit blocks while the shard's queue is full,
// which slows the sending socket down rather than the others. It returns
// false when the hub is shutting down.
func (c *committer) submit(d Draft, done func(stored)) bool {
	ch := c.shards[int(uint64(d.ConversationID)%uint64(len(c.shards)))]
	select {
	case ch <- commitReq{d, done}:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *committer) run(ch chan commitReq) {
	defer c.wg.Done()
	lane := c.store.lane()
	defer lane.close()
	reqs := make([]commitReq, 0, c.maxBatch)
	drafts := make([]Draft, 0, c.maxBatch)
	for {
		select {
		case <-c.ctx.Done():
			return
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
		drafts = drafts[:0]
		for _, r := range reqs {
			drafts = append(drafts, r.draft)
		}
		// Not c.ctx: a batch already taken is finished even during shutdown.
		res := lane.Append(context.Background(), drafts)
		for i, r := range reqs {
			r.done(res[i])
		}
		clear(reqs)
	}
}

func (c *committer) wait() { c.wg.Wait() }
