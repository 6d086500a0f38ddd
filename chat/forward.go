package chat

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Lanes have owners. A conversation's messages are numbered under its row
// lock, and PostgreSQL holds that lock until the commit is on disk. When
// two instances store messages of the same conversations, each lane of one
// waits for the same lane of the other, flush included, so under load the
// pair stores no more than one lane would, and every batch also waits for
// the other's. So each lane has one owner in the cluster at a time: the
// instance whose lane connection holds the lane's advisory lock
// (pgLane.claim). The owner says so on the broker every second; the other
// instances forward the lane's drafts to it and it answers with the
// verdict, which they turn into the ack.
//
// Forwarding only moves where a draft is stored: the statement and its
// locks are the same everywhere. An instance that stores a lane it does
// not own, because the owner is unknown, silent or unreachable, is only
// slower, never wrong; and a draft whose answer does not come is answered
// "internal", which tells the client to resend it with the same client id
// (stored once, whichever instance stores it).

const (
	evForward = 'f' // a draft to store; conv is the lane, seq the request id
	evAnswer  = 'a' // the verdict on a forwarded draft; seq is the request id
	evOwner   = 'o' // the origin owns lane conv

	lanesTopic = "lanes"

	ownerFresh   = 5 * time.Second // an owner not heard from for this long is not forwarded to
	forwardSlots = 4096            // forwarded drafts awaiting their answer, at most
)

func instanceTopic(id string) string { return "instance." + id }

// errForwardLost is the verdict on a forwarded draft whose answer did not
// come: the client resends it.
var errForwardLost = errors.New("chat: forwarded message not answered")

// forwarder sends drafts to the owners of their lanes and answers the
// drafts others send to this instance's lanes.
type forwarder struct {
	h         *hub
	slots     chan struct{}
	forwarded atomic.Int64 // drafts sent to an owner

	mu      sync.Mutex
	owners  []laneOwner
	next    uint64
	pending map[uint64]pendingDraft

	inMu  sync.Mutex
	inbox []inbound
	kick  chan struct{}
}

type laneOwner struct {
	id   string
	seen time.Time
}

type pendingDraft struct {
	done  func(stored)
	conv  int64
	since time.Time
}

type inbound struct {
	origin string
	req    int64
	draft  Draft
}

// answer is the verdict on a forwarded draft as it travels back.
type answer struct {
	Seq int64     `json:"seq,omitempty"`
	At  time.Time `json:"at"`
	Dup bool      `json:"dup,omitempty"`
	Err string    `json:"err,omitempty"`
}

var answerErrs = map[string]error{
	"closed": errClosed, "forbidden": errForbidden, "not_found": errNotFound, "conflict": errConflict,
}

func newForwarder(h *hub, lanes int) *forwarder {
	return &forwarder{
		h: h, slots: make(chan struct{}, forwardSlots),
		owners: make([]laneOwner, lanes), pending: map[uint64]pendingDraft{},
		kick: make(chan struct{}, 1),
	}
}

// start subscribes to what the forwarder hears and starts its goroutines.
func (f *forwarder) start() {
	f.h.broker.Subscribe(lanesTopic)
	f.h.broker.Subscribe(instanceTopic(f.h.id))
	f.h.wg.Add(2)
	go f.intake()
	go f.h.every(time.Second, f.expire)
}

// announce tells the other instances that this one owns lane.
func (f *forwarder) announce(lane int) {
	_ = f.h.broker.Publish(lanesTopic, f.h.encodeEvent(evOwner, int64(lane), 0, '-', nil))
}

// receive takes the forwarder's events from the broker.
func (f *forwarder) receive(ev event) {
	switch ev.kind {
	case evOwner:
		f.heard(ev.conv, ev.origin)
	case evForward:
		f.received(ev.origin, ev.seq, ev.frame)
	case evAnswer:
		f.answered(ev.seq, ev.frame)
	}
}

// heard records an owner's announcement.
func (f *forwarder) heard(lane int64, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if lane >= 0 && lane < int64(len(f.owners)) {
		f.owners[lane] = laneOwner{id: id, seen: time.Now()}
	}
}

// forward sends d to the owner of its lane, if another instance owns it
// and was heard from lately, and reports whether it did. done is called
// once, with the owner's verdict or, after Limits.ForwardTimeout,
// errForwardLost.
// It waits while forwardSlots drafts await their answer.
func (f *forwarder) forward(lane int, d Draft, done func(stored)) bool {
	f.mu.Lock()
	o := f.owners[lane]
	f.mu.Unlock()
	if o.id == "" || o.id == f.h.id || time.Since(o.seen) > ownerFresh || !f.h.broker.Healthy() {
		return false
	}
	body, err := json.Marshal(d)
	if err != nil {
		return false
	}
	select {
	case f.slots <- struct{}{}:
	case <-f.h.ctx.Done():
		return false
	}
	f.mu.Lock()
	f.next++
	req := f.next
	f.pending[req] = pendingDraft{done: done, conv: d.ConversationID, since: time.Now()}
	f.mu.Unlock()
	if f.h.broker.Publish(instanceTopic(o.id), f.h.encodeEvent(evForward, int64(lane), int64(req), '-', body)) != nil {
		// Not sent: stored here instead, unless it already expired.
		return f.take(req) == nil
	}
	f.forwarded.Add(1)
	return true
}

// take removes a pending draft and frees its slot; nil if it was not
// pending (answered or expired already).
func (f *forwarder) take(req uint64) *pendingDraft {
	f.mu.Lock()
	p, ok := f.pending[req]
	delete(f.pending, req)
	f.mu.Unlock()
	if !ok {
		return nil
	}
	<-f.slots
	return &p
}

// answered is the owner's verdict on a draft this instance forwarded.
func (f *forwarder) answered(req int64, body []byte) {
	p := f.take(uint64(req))
	if p == nil {
		return // expired: its client was told to resend
	}
	observeSince(f.h.metrics.forward, p.since)
	var a answer
	r := stored{Remote: true}
	switch err := json.Unmarshal(body, &a); {
	case err != nil:
		r.Err = errForwardLost
	case a.Err != "":
		if r.Err = answerErrs[a.Err]; r.Err == nil {
			r.Err = errForwardLost
		}
	default:
		r.Message, r.Dup = message{ConversationID: p.conv, Seq: a.Seq, CreatedAt: a.At}, a.Dup
	}
	p.done(r)
}

// expire answers the drafts whose owner has not answered in time.
func (f *forwarder) expire() {
	var late []uint64
	f.mu.Lock()
	for req, p := range f.pending {
		if time.Since(p.since) > f.h.lim.ForwardTimeout {
			late = append(late, req)
		}
	}
	f.mu.Unlock()
	if len(late) > 0 {
		f.h.log.Warn("chat: lane owner did not answer; the clients resend", "messages", len(late))
	}
	for _, req := range late {
		if p := f.take(req); p != nil {
			p.done(stored{Err: errForwardLost, Remote: true})
		}
	}
}

// received queues a draft another instance forwarded here. The broker's
// goroutine must not block, so intake stores them, in the order they came.
func (f *forwarder) received(origin string, req int64, body []byte) {
	var d Draft
	if err := json.Unmarshal(body, &d); err != nil {
		f.h.log.Warn("chat: undecodable forwarded draft", "from", origin)
		return
	}
	f.inMu.Lock()
	f.inbox = append(f.inbox, inbound{origin: origin, req: req, draft: d})
	f.inMu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// intake stores forwarded drafts through this instance's lanes, answers
// each to its origin, and publishes what was stored, as sendMessage does
// for drafts from its own sockets.
func (f *forwarder) intake() {
	defer f.h.wg.Done()
	for {
		select {
		case <-f.h.ctx.Done():
			return // the unanswered expire at their origins
		case <-f.kick:
		}
		f.inMu.Lock()
		batch := f.inbox
		f.inbox = nil
		f.inMu.Unlock()
		for _, in := range batch {
			if !f.h.commit.submitLocal(in.draft, func(r stored) { f.answer(in, r) }) {
				return
			}
		}
	}
}

func (f *forwarder) answer(in inbound, r stored) {
	a := answer{Seq: r.Message.Seq, At: r.Message.CreatedAt, Dup: r.Dup}
	for code, err := range answerErrs {
		if errors.Is(r.Err, err) {
			a.Err = code
		}
	}
	if r.Err != nil && a.Err == "" {
		f.h.log.Error("chat: store forwarded message", "conversation", in.draft.ConversationID, "err", r.Err)
		a.Err = "internal"
	}
	body, _ := json.Marshal(a)
	// The answer goes out before the message, so the sender's ack comes
	// first, as it does for a socket of this instance.
	_ = f.h.broker.Publish(instanceTopic(in.origin), f.h.encodeEvent(evAnswer, in.draft.ConversationID, in.req, '-', body))
	if r.Err == nil && !r.Dup {
		f.h.publishMessage(&r.Message, false)
	}
}
