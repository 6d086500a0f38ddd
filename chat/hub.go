package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// hub tracks this instance's sockets and the conversations they have
// joined. It never writes to a socket: it hands frames to each client's
// bounded buffer, and a client whose buffer is full is disconnected (it
// resumes from the database when it reconnects).
type hub struct {
	id      string
	store   *Store
	broker  broker
	commit  *committer
	fwd     *forwarder // lanes stored by their owners; nil on SQLite
	metrics *storeMetrics
	log     *slog.Logger
	lim     Limits

	transit transit // how late publications come back, for gap waits

	owner hubOwner // the chat around the hub

	mu      sync.RWMutex
	rooms   map[int64][]*client // the sockets of this instance in each conversation
	clients map[*client]struct{}
	perKey  map[string]int

	queueKick chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine of the hub's; close waits for them

	spawnMu sync.Mutex
	closing bool // close has begun: spawn starts nothing more
}

// spawn runs fn on a goroutine of the hub's, which close waits for. Once
// close has begun it runs nothing and reports false.
func (h *hub) spawn(fn func()) bool {
	h.spawnMu.Lock()
	defer h.spawnMu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn()
	}()
	return true
}

// hubOwner is what the hub asks of the chat it serves. The Service is it.
type hubOwner interface {
	// refreshQueue sends queue frames to the sockets that want them; the hub
	// calls it from one goroutine, after a queue change anywhere.
	refreshQueue(ctx context.Context)
	// sessionValid tells whether a login session is still alive; an error
	// leaves the session's sockets open until the next check.
	sessionValid(ctx context.Context, id string) (bool, error)
}

func newHub(store *Store, lim Limits, log *slog.Logger, owner hubOwner) (*hub, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &hub{
		id: hex.EncodeToString(b[:]), store: store, metrics: newStoreMetrics(), log: log, lim: lim, owner: owner,
		rooms: map[int64][]*client{}, clients: map[*client]struct{}{}, perKey: map[string]int{},
		queueKick: make(chan struct{}, 1),
	}, nil
}

// start connects the broker and starts the hub's goroutines.
func (h *hub) start(factory BrokerFactory) error {
	h.ctx, h.cancel = context.WithCancel(context.Background())
	broker, err := factory(h.receive, h.brokerUp)
	if err != nil {
		h.cancel()
		return err
	}
	h.broker = broker
	if h.store.dialect == database.Postgres {
		h.fwd = newForwarder(h, h.lim.Writers)
	}
	h.commit = newCommitter(h.ctx, h.store, h.fwd, h.metrics, h.lim.Writers, h.lim.MaxBatch, 4096)
	if h.fwd != nil {
		h.fwd.start()
	}
	h.broker.Subscribe(queueTopic)
	h.broker.Subscribe(controlTopic)
	h.wg.Add(4)
	go h.every(h.lim.PingInterval, h.pingAll)
	go h.every(h.lim.SessionCheck, h.checkSessions)
	go h.pollLoop()
	go h.queueLoop()
	return nil
}

// close disconnects every socket (they reconnect to another instance and
// resume) and stops the hub's goroutines.
func (h *hub) close(ctx context.Context) error {
	h.mu.RLock()
	clients := slices.Collect(maps.Keys(h.clients))
	h.mu.RUnlock()
	for _, c := range clients {
		c.close(closeGoingAway, reasonShutdown)
	}
	h.spawnMu.Lock()
	h.closing = true
	h.spawnMu.Unlock()
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		h.commit.wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.broker.Close()
}

// register counts a new socket against its owner's limit.
func (h *hub) register(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := c.p.key()
	if h.perKey[k] >= h.lim.SocketsPerUser {
		return false
	}
	h.perKey[k]++
	h.clients[c] = struct{}{}
	return true
}

func (h *hub) unregister(c *client) {
	c.mu.Lock()
	convs := c.convs.ids()
	// A gone socket waits for no gap: its timers would only wake it.
	for _, st := range c.convs {
		if st.gapTimer != nil {
			st.gapTimer.Stop()
			st.gapTimer = nil
		}
	}
	c.mu.Unlock()
	for _, id := range convs {
		h.leave(c, id)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	if k := c.p.key(); h.perKey[k] <= 1 {
		delete(h.perKey, k)
	} else {
		h.perKey[k]--
	}
}

// enter adds c to a conversation's room and subscribes this instance to
// the conversation, waiting briefly for the broker to confirm so that the
// database read that follows misses nothing published afterwards.
func (h *hub) enter(c *client, conv int64) {
	h.mu.Lock()
	h.rooms[conv] = append(h.rooms[conv], c)
	h.mu.Unlock()
	ready := h.broker.Subscribe(convTopic(conv))
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ready:
	case <-t.C: // broker away: the poll covers until it returns
	}
}

func (h *hub) leave(c *client, conv int64) {
	h.mu.Lock()
	room := h.rooms[conv]
	i := slices.Index(room, c)
	ok := i >= 0
	if ok {
		room[i] = room[len(room)-1]
		room[len(room)-1] = nil
		if room = room[:len(room)-1]; len(room) == 0 {
			delete(h.rooms, conv)
		} else {
			h.rooms[conv] = room
		}
	}
	h.mu.Unlock()
	if ok {
		h.broker.Unsubscribe(convTopic(conv))
	}
}

// Events on the broker: a one-line header, then the frame as clients get it.
//
//	<kind> <conversation> <seq> <origin instance> <flag>\n<frame>
const (
	evMessage   = 'm' // a stored message; flag 's' when it changes who may take part
	evEphemeral = 'e' // typing, receipt; flag 's' for staff only (notes)
	evQueue     = 'q' // the queue changed
	evRevoke    = 'r' // a login session ended; the frame is its id
)

func (h *hub) encodeEvent(kind byte, conv, seq int64, flag byte, frame []byte) []byte {
	b := make([]byte, 0, len(frame)+48)
	b = append(b, kind, ' ')
	b = strconv.AppendInt(b, conv, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ' ')
	b = append(b, h.id...)
	b = append(b, ' ', flag, '\n')
	return append(b, frame...)
}

type event struct {
	kind, flag byte
	conv, seq  int64
	origin     string
	frame      []byte
}

func decodeEvent(p []byte) (event, bool) {
	head, frame, ok := bytes.Cut(p, []byte{'\n'})
	if !ok {
		return event{}, false
	}
	f := bytes.Fields(head)
	if len(f) != 5 || len(f[0]) != 1 || len(f[4]) != 1 {
		return event{}, false
	}
	conv, err1 := strconv.ParseInt(string(f[1]), 10, 64)
	seq, err2 := strconv.ParseInt(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil {
		return event{}, false
	}
	return event{kind: f[0][0], flag: f[4][0], conv: conv, seq: seq, origin: string(f[3]), frame: frame}, true
}

// receive is the broker's deliver callback. It must not block.
func (h *hub) receive(topic string, payload []byte) {
	ev, ok := decodeEvent(payload)
	if !ok {
		h.log.Warn("chat: undecodable broker event", "topic", topic)
		return
	}
	if ev.origin == h.id && ev.kind != evQueue && ev.kind != evRevoke {
		if ev.kind == evMessage {
			h.transit.echoed(ev.conv, ev.seq)
		}
		return // delivered locally before it was published
	}
	switch ev.kind {
	case evMessage:
		h.dispatchMessage(ev.conv, ev.seq, ev.frame, ev.flag == 's')
	case evOwner, evForward, evAnswer:
		if h.fwd != nil {
			h.fwd.receive(ev)
		}
	case evEphemeral:
		h.dispatchEphemeral(ev.conv, ev.frame, ev.flag == 's', nil)
	case evQueue:
		h.queueChangedLocal()
	case evRevoke:
		h.closeSessionLocal(string(ev.frame))
	}
}

// publishMessage delivers a stored message to this instance's sockets and
// then to the other instances. membership marks messages after which the
// participants must be checked again (transfer, close).
func (h *hub) publishMessage(m *message, membership bool) {
	frame := encodeMessage(m)
	h.dispatchMessage(m.ConversationID, m.Seq, frame, membership)
	flag := byte('-')
	if membership {
		flag = 's'
	}
	h.transit.published(m.ConversationID, m.Seq)
	// An error means the broker is away: the others catch up by polling.
	_ = h.broker.Publish(convTopic(m.ConversationID), h.encodeEvent(evMessage, m.ConversationID, m.Seq, flag, frame))
}

// publishEphemeral sends a frame that is not stored (typing, receipts,
// notes) to the conversation's sockets everywhere, except the sender.
func (h *hub) publishEphemeral(conv int64, frame []byte, staffOnly bool, except *client) {
	h.dispatchEphemeral(conv, frame, staffOnly, except)
	flag := byte('-')
	if staffOnly {
		flag = 's'
	}
	_ = h.broker.Publish(convTopic(conv), h.encodeEvent(evEphemeral, conv, 0, flag, frame))
}

func (h *hub) dispatchMessage(conv, seq int64, frame []byte, membership bool) {
	h.mu.RLock()
	for _, c := range h.rooms[conv] {
		c.deliverMessage(conv, seq, frame)
	}
	h.mu.RUnlock()
	if membership {
		h.spawn(func() { h.recheck(conv) })
	}
}

func (h *hub) dispatchEphemeral(conv int64, frame []byte, staffOnly bool, except *client) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, c := range h.rooms[conv] {
		if c != except && (!staffOnly || c.p.Staff()) {
			c.enqueue(frame)
		}
	}
}

// recheck removes staff who are no longer assigned to a conversation
// (transferred away) from its room here.
func (h *hub) recheck(conv int64) {
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	cv, err := h.store.Conversation(ctx, conv)
	if err != nil {
		h.log.Warn("chat: recheck participants", "conversation", conv, "err", err)
		return
	}
	h.mu.RLock()
	var out []*client
	for _, c := range h.rooms[conv] {
		if !c.p.mayJoin(cv) {
			out = append(out, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range out {
		c.leave(conv)
	}
}

// brokerUp runs when the broker (re)connects: whatever was published while
// it was away is read from the database.
func (h *hub) brokerUp() {
	h.resync(h.ctx)
	h.queueChangedLocal()
}

// resync compares every joined conversation's last sequence in the
// database with what each socket has, and fills the gaps.
func (h *hub) resync(ctx context.Context) {
	h.mu.RLock()
	ids := slices.Collect(maps.Keys(h.rooms))
	h.mu.RUnlock()
	if len(ids) == 0 {
		return
	}
	last, err := h.store.LastSeqs(ctx, ids)
	if err != nil {
		h.log.Warn("chat: resync", "err", err)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for id, seq := range last {
		for _, c := range h.rooms[id] {
			c.hint(id, seq)
		}
	}
}

// pollLoop resyncs every PollInterval while the broker is away, and every
// SafetyPoll regardless, since pub/sub delivers at most once.
func (h *hub) pollLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.lim.PollInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		if !h.broker.Healthy() || time.Since(last) >= h.lim.SafetyPoll {
			h.resync(h.ctx)
			if !h.broker.Healthy() {
				h.queueChangedLocal()
			}
			last = time.Now()
		}
	}
}

// every runs fn each d until the hub stops.
func (h *hub) every(d time.Duration, fn func()) {
	defer h.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// pingAll pings every socket, so that a dead peer is noticed by its read
// deadline and proxies keep the connection open. It runs each
// PingInterval: one ticker for the instance rather than one per socket.
func (h *hub) pingAll() {
	h.forClients(func(c *client) { c.ping() })
}

// queueChanged tells every instance that the queue or an advisor's status
// changed.
func (h *hub) queueChanged() {
	h.queueChangedLocal()
	_ = h.broker.Publish(queueTopic, h.encodeEvent(evQueue, 0, 0, '-', nil))
}

func (h *hub) queueChangedLocal() {
	select {
	case h.queueKick <- struct{}{}:
	default:
	}
}

// queueLoop coalesces queue changes: one refresh per 100 ms at most.
func (h *hub) queueLoop() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.queueKick:
		}
		sleep(h.ctx, 100*time.Millisecond)
		if h.ctx.Err() == nil {
			h.owner.refreshQueue(h.ctx)
		}
	}
}

// forClients calls fn for every socket of this instance.
func (h *hub) forClients(fn func(c *client)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		fn(c)
	}
}

// revokeSession closes the sockets of a login session on every instance:
// this instance's at once, the others' when the revoke event the broker
// carries reaches them. Without the broker (Redis away) the others close
// theirs at their next session check. The logout hook calls it.
func (h *hub) revokeSession(sessionID string) {
	h.closeSessionLocal(sessionID)
	if err := h.broker.Publish(controlTopic, h.encodeEvent(evRevoke, 0, 0, '-', []byte(sessionID))); err != nil {
		// The other instances close these sockets at their next session check.
		h.log.Warn("chat: publish session revoke", "err", err)
	}
}

func (h *hub) closeSessionLocal(sessionID string) {
	if sessionID == "" {
		return
	}
	h.forClients(func(c *client) {
		if c.p.SessionID == sessionID {
			c.close(closeSessionEnded, reasonSessionEnded)
		}
	})
}

// checkSessions closes the sockets of sessions that expired or were
// deleted without a logout (idle timeout, an administrator). It runs each
// SessionCheck.
func (h *hub) checkSessions() {
	ids := map[string]bool{}
	h.forClients(func(c *client) {
		if c.p.SessionID != "" {
			ids[c.p.SessionID] = true
		}
	})
	for id := range ids {
		ok, err := h.owner.sessionValid(h.ctx, id)
		if err != nil {
			h.log.Warn("chat: check session", "err", err)
			continue
		}
		if !ok {
			h.closeSessionLocal(id)
		}
	}
}
