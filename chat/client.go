package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// Principal is who is at the other end of a socket: a logged-in user, or
// a guest known only by the random id in their signed token.
type Principal struct {
	UserID    int64
	GuestID   string
	Role      string // "resident", "guest", "advisor" or "admin"
	Name      string // staff: the given name residents see
	SessionID string // login session (hash); "" for guests
	RegionID  *int64
}

// Staff reports whether the principal works for the service.
func (p *Principal) Staff() bool { return auth.Role(p.Role).Staff() }

func (p *Principal) key() string {
	if p.GuestID != "" {
		return "g:" + p.GuestID
	}
	return "u:" + strconv.FormatInt(p.UserID, 10)
}

// senderRole is the role the principal's messages carry.
func (p *Principal) senderRole() string {
	if p.Staff() {
		return RoleAdvisor
	}
	return RoleResident
}

// mayJoin: residents and guests their own conversations, staff the ones
// assigned to them.
func (p *Principal) mayJoin(c *Conversation) bool {
	switch {
	case p.Staff():
		return c.AdvisorID != nil && *c.AdvisorID == p.UserID
	case p.GuestID != "":
		return c.GuestID == p.GuestID
	default:
		return c.ResidentID != nil && *c.ResidentID == p.UserID
	}
}

// client is one socket. The reader (the socket handler's goroutine) reads
// and handles frames. Everything else hands frames to the send queue;
// a writer goroutine, started when frames are waiting and gone when the
// queue is empty, is the only one that writes to the connection. An idle
// socket therefore costs one goroutine, not two.
type client struct {
	hub  *hub
	conn *websocket.Conn
	p    *Principal
	svc  *Service
	lim  *Limits

	out       outQueue
	done      chan struct{}
	closeOnce sync.Once
	code      int // set before done is closed
	reason    string

	mu    sync.Mutex
	convs convSet

	tokens float64 // rate limit bucket, reader only
	refill time.Time
}

// convState is how far a socket has been sent a conversation. Messages go
// out strictly in sequence: one that does not follow last is held while
// the socket waits for the gap to close, and then reads the gap, and only
// the gap, from the database (fill). While it does, live messages are held
// too, so that a socket that fell behind catches up from pub/sub once the
// gap is read instead of reading everything after it.
type convState struct {
	conv       int64
	last, want int64
	fetching   bool
	// held are messages that arrived ahead of a gap. Two instances publish
	// a conversation's messages independently, so seq 8 stored here may
	// arrive before seq 7 from the other instance, which is usually a
	// millisecond behind: it is waited for briefly before the database is
	// asked.
	held     map[int64][]byte
	gapTimer *time.Timer
}

// convSet is a socket's joined conversations: a handful at most
// (maxJoinsPerSocket), so a slice, which costs less than a map.
type convSet []*convState

func (s convSet) get(conv int64) *convState {
	for _, st := range s {
		if st.conv == conv {
			return st
		}
	}
	return nil
}

func (s *convSet) remove(conv int64) bool {
	for i, st := range *s {
		if st.conv == conv {
			*s = slices.Delete(*s, i, i+1)
			return true
		}
	}
	return false
}

func (s convSet) ids() []int64 {
	out := make([]int64, len(s))
	for i, st := range s {
		out[i] = st.conv
	}
	return out
}

// maxHeld bounds the messages held ahead of a gap.
const maxHeld = 64

func (c *client) closing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// close asks the writer to send a close frame with code and reason and
// stop; code 0 closes without a frame. A write already blocked on a peer
// that reads nothing is given a second more, not the whole WriteWait.
func (c *client) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
		c.out.mu.Lock()
		c.startWriterLocked()
		c.out.mu.Unlock()
	})
}

// outQueue holds the frames waiting for the writer, up to max bytes. It
// costs nothing while empty, which is most of an idle socket's life.
type outQueue struct {
	mu      sync.Mutex
	frames  [][]byte
	bytes   int
	max     int
	ping    bool // a ping is due
	writing bool // a writer goroutine runs
	closed  bool // the close frame went out: nothing more is written
	writer  sync.WaitGroup
}

// startWriterLocked starts the writer unless one runs. c.out.mu is held.
func (c *client) startWriterLocked() {
	if c.out.writing || c.out.closed {
		return
	}
	c.out.writing = true
	c.out.writer.Add(1)
	go c.writeLoop()
}

// push queues a frame; false means the queue is full.
func (c *client) push(f []byte) bool {
	q := &c.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true // the socket is gone; its client resumes from the database
	}
	if q.bytes+len(f) > q.max {
		return false
	}
	q.frames = append(q.frames, f)
	q.bytes += len(f)
	c.startWriterLocked()
	return true
}

// ping has the writer send a ping.
func (c *client) ping() {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	c.out.ping = true
	c.startWriterLocked()
}

func (c *client) queued() int {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.bytes
}

// enqueue hands a frame to the writer without waiting. A client whose
// buffer is full is too slow: it is disconnected and will resume.
func (c *client) enqueue(frame []byte) bool {
	if c.push(frame) {
		return true
	}
	c.close(closeTryAgain, reasonSlow)
	return false
}

// enqueueWait is enqueue for bulk senders (a resume's backlog): it waits
// while the buffer is half full instead of giving up on the client.
func (c *client) enqueueWait(frame []byte) bool {
	for c.queued() > c.out.max/2 {
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-c.done:
			t.Stop()
			return false
		case <-t.C:
		}
	}
	return c.enqueue(frame)
}

// deliverMessage sends a stored message if it is the next one this socket
// needs; one further ahead waits a moment for the gap to close, and then
// the socket reads the gap from the database.
func (c *client) deliverMessage(conv, seq int64, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.convs.get(conv)
	if st == nil || seq <= st.last {
		return
	}
	if st.fetching {
		st.want = max(st.want, seq)
		if len(st.held) < maxHeld {
			st.hold(seq, frame)
		}
		return
	}
	if seq == st.last+1 {
		if !c.enqueue(frame) {
			return
		}
		st.last, st.want = seq, max(st.want, seq)
		for f, ok := st.held[st.last+1]; ok; f, ok = st.held[st.last+1] {
			delete(st.held, st.last+1)
			if !c.enqueue(f) {
				return
			}
			st.last++
		}
		if len(st.held) == 0 && st.gapTimer != nil {
			st.gapTimer.Stop()
			st.gapTimer = nil
		}
		return
	}
	if len(st.held) < maxHeld {
		st.hold(seq, frame)
		st.want = max(st.want, seq)
		if st.gapTimer == nil {
			st.gapTimer = time.AfterFunc(c.hub.transit.gapWait(), func() { c.gapTimeout(conv) })
		}
		return
	}
	c.hintLocked(conv, st, seq)
}

// gapTimeout: the missing message did not come by pub/sub; read it.
func (c *client) gapTimeout(conv int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.convs.get(conv)
	if st == nil {
		return
	}
	st.gapTimer = nil
	if len(st.held) > 0 {
		c.hintLocked(conv, st, st.want)
	}
}

// hint tells the client that a conversation has reached seq.
func (c *client) hint(conv, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.convs.get(conv); st != nil && seq > st.last {
		c.hintLocked(conv, st, seq)
	}
}

func (c *client) hintLocked(conv int64, st *convState, seq int64) {
	st.want = max(st.want, seq)
	// What is held stays: fill reads up to it and sends it from here.
	if st.gapTimer != nil {
		st.gapTimer.Stop()
		st.gapTimer = nil
	}
	if !st.fetching {
		// A fill left unstarted at shutdown does not matter: the socket is
		// closing and its client resumes elsewhere.
		st.fetching = c.hub.spawn(func() { c.fill(conv) })
	}
}

const fillPage = 200

// fill reads the messages a socket has not been sent from the database and
// sends them in order, waiting for room in the buffer rather than giving
// up: a resume after a long absence is not a slow client. It reads up to
// the first held message only and sends the held ones from memory, so a
// socket behind by a moment costs one small read, not one per message.
func (c *client) fill(conv int64) {
	for {
		st := c.lockConv(conv)
		if st == nil {
			return
		}
		if c.closing() {
			c.mu.Unlock()
			return
		}
		from, limit := st.last, int64(fillPage)
		if next, ok := st.firstHeld(); ok {
			limit = min(limit, next-from-1)
		}
		c.mu.Unlock()

		sent, ok := c.sendStored(conv, from, limit)
		if !ok {
			return
		}

		// The held messages that now follow on go out from memory. Only
		// fill sends while fetching is set, so taking them out of held
		// before they are sent cannot let another send overtake them.
		if st = c.lockConv(conv); st == nil {
			return
		}
		st.last = max(st.last, sent)
		frames := st.takeFollowing()
		top := st.last + int64(len(frames))
		c.mu.Unlock()
		for _, f := range frames {
			if !c.enqueueWait(f) {
				return
			}
		}

		if st = c.lockConv(conv); st == nil {
			return
		}
		st.last = max(st.last, top)
		if st.last >= st.want || st.last == from { // done, or no progress
			st.fetching = false
			if len(st.held) > 0 && st.gapTimer == nil {
				// Not in the database yet as this read saw it: wait again.
				st.gapTimer = time.AfterFunc(c.hub.transit.gapWait(), func() { c.gapTimeout(conv) })
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// lockConv locks c.mu and returns the socket's state of conv; when the
// socket has left conv it returns nil with c.mu unlocked.
func (c *client) lockConv(conv int64) *convState {
	c.mu.Lock()
	st := c.convs.get(conv)
	if st == nil {
		c.mu.Unlock()
	}
	return st
}

// sendStored sends up to limit stored messages of conv after from, in
// order, and returns the last seq sent; ok is false when the socket is
// closing (or was closed because the database could not be read).
func (c *client) sendStored(conv, from, limit int64) (sent int64, ok bool) {
	sent = from
	if limit <= 0 {
		return sent, true
	}
	ctx, cancel := context.WithTimeout(c.hub.ctx, 10*time.Second)
	msgs, err := c.hub.store.After(ctx, conv, from, int(limit))
	cancel()
	if err != nil {
		c.hub.log.Warn("chat: read missed messages", "conversation", conv, "err", err)
		c.close(closeTryAgain, reasonSlow) // the client resumes after a moment
		return sent, false
	}
	for i := range msgs {
		if msgs[i].Seq != sent+1 {
			break
		}
		if !c.enqueueWait(encodeMessage(&msgs[i])) {
			return sent, false
		}
		sent = msgs[i].Seq
	}
	return sent, true
}

// hold keeps a message that arrived ahead of a gap.
func (st *convState) hold(seq int64, frame []byte) {
	if st.held == nil {
		st.held = map[int64][]byte{}
	}
	st.held[seq] = frame
}

// firstHeld is the lowest seq held after last.
func (st *convState) firstHeld() (int64, bool) {
	first, ok := int64(0), false
	for seq := range st.held {
		if seq > st.last && (!ok || seq < first) {
			first, ok = seq, true
		}
	}
	return first, ok
}

// takeFollowing drops what is held at or before last and takes out the
// held messages that follow last without a gap, in order; the caller sends
// them and moves last past them.
func (st *convState) takeFollowing() [][]byte {
	for seq := range st.held {
		if seq <= st.last {
			delete(st.held, seq)
		}
	}
	var out [][]byte
	for next := st.last + 1; ; next++ {
		f, ok := st.held[next]
		if !ok {
			return out
		}
		delete(st.held, next)
		out = append(out, f)
	}
}

// leave takes the socket out of a conversation and tells it so.
func (c *client) leave(conv int64) {
	c.mu.Lock()
	ok := c.convs.remove(conv)
	c.mu.Unlock()
	if ok {
		c.hub.leave(c, conv)
		c.enqueue(mustJSON(struct {
			Type string `json:"type"`
			Conv int64  `json:"conv"`
		}{typeLeft, conv}))
	}
}

func (c *client) joined(conv int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.convs.get(conv) != nil
}

func (c *client) joinedIDs() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.convs.ids()
}

// writeLoop writes what is queued until the queue is empty, then ends;
// the next frame starts it again. Frames that queued up meanwhile go out
// together in one WebSocket message, separated by newlines (see
// PROTOCOL.md). Once the socket is closing it sends the close frame and
// nothing more.
func (c *client) writeLoop() {
	defer c.out.writer.Done()
	q := &c.out
	for {
		q.mu.Lock()
		if c.closing() {
			q.closed, q.writing, q.frames, q.bytes = true, false, nil, 0
			q.mu.Unlock()
			if c.code != 0 {
				msg := websocket.FormatCloseMessage(c.code, c.reason)
				_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			// Let the reader see the peer's close frame, or give up soon.
			_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			return
		}
		frames, ping := q.frames, q.ping
		q.frames, q.bytes, q.ping = nil, 0, false
		if len(frames) == 0 && !ping {
			q.writing = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		if ping {
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.lim.WriteWait)); err != nil {
				c.close(0, "")
				continue
			}
		}
		if err := c.write(frames); err != nil {
			c.close(0, "")
		}
	}
}

// maxMessageBytes caps one outgoing WebSocket message; a larger backlog
// goes out as several.
const maxMessageBytes = 64 << 10

func (c *client) write(frames [][]byte) error {
	nl := []byte{'\n'}
	for i := 0; i < len(frames); {
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.lim.WriteWait))
		w, err := c.conn.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		for n := 0; i < len(frames) && (n == 0 || n+len(frames[i]) <= maxMessageBytes); i++ {
			if n > 0 {
				if _, err := w.Write(nl); err != nil {
					return err
				}
			}
			if _, err := w.Write(frames[i]); err != nil {
				return err
			}
			n += len(frames[i]) + 1
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// readLoop reads frames until the connection ends. A frame over the size
// limit or a client over the rate limit is closed with the policy code.
func (c *client) readLoop(lim Limits) {
	extend := func() {
		if !c.closing() {
			_ = c.conn.SetReadDeadline(time.Now().Add(lim.PongWait))
		}
	}
	extend()
	c.conn.SetPongHandler(func(string) error { extend(); return nil })
	c.tokens, c.refill = float64(lim.Burst), time.Now()
	for {
		mt, r, err := c.conn.NextReader()
		if err != nil {
			return
		}
		if c.closing() {
			// Closing: discard until the peer's close frame or the deadline.
			if _, err := io.Copy(io.Discard, io.LimitReader(r, int64(lim.MaxFrame)*64)); err != nil {
				return
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, int64(lim.MaxFrame)+1))
		if err != nil {
			return
		}
		if len(data) > lim.MaxFrame {
			c.close(closePolicy, reasonTooLarge)
			continue
		}
		if mt != websocket.TextMessage {
			c.close(closePolicy, reasonBadFrame)
			continue
		}
		extend()
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if !c.allow(lim) {
				c.close(closePolicy, reasonRateLimited)
				break
			}
			c.handle(line)
		}
	}
}

// allow is a token bucket: lim.Rate frames a second, bursts of lim.Burst.
func (c *client) allow(lim Limits) bool {
	now := time.Now()
	c.tokens = min(float64(lim.Burst), c.tokens+now.Sub(c.refill).Seconds()*lim.Rate)
	c.refill = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func (c *client) handle(line []byte) {
	var f inFrame
	if err := json.Unmarshal(line, &f); err != nil {
		c.enqueue(encodeError(codeBadFrame, 0, ""))
		return
	}
	switch f.Type {
	case typeHello:
		c.enqueue(mustJSON(welcomeFrame{Type: typeWelcome, V: protocolVersion, Role: c.p.Role, Instance: c.hub.id}))
	case typeJoin:
		offStack(func() { c.join(f.Conv, f.After) })
	case typeLeave:
		c.leave(f.Conv)
	case typeSend:
		c.sendMessage(&f)
	case typeTyping:
		if c.joined(f.Conv) {
			c.hub.publishEphemeral(f.Conv, mustJSON(typingFrame{
				Type: typeTyping, Conv: f.Conv, From: c.p.senderRole(), Name: c.p.Name,
			}), false, c)
		}
	case typeReceived, typeRead:
		offStack(func() { c.receipt(&f) })
	default:
		c.enqueue(encodeError(codeBadFrame, f.Conv, ""))
	}
}

// offStack runs fn, which goes deep into the database driver, on a
// goroutine of its own and waits for it. The reader's stack then stays
// small for the socket's whole life, which matters with thousands of idle
// sockets.
func offStack(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

const maxJoinsPerSocket = 32

func (c *client) join(conv, after int64) {
	ctx, cancel := context.WithTimeout(c.hub.ctx, 10*time.Second)
	defer cancel()
	cv, err := c.hub.store.Conversation(ctx, conv)
	if errors.Is(err, errNotFound) || (err == nil && !c.p.mayJoin(cv)) {
		// The same answer for "does not exist" and "not yours".
		c.enqueue(encodeError(codeForbidden, conv, ""))
		return
	}
	if err != nil {
		c.hub.log.Warn("chat: join", "conversation", conv, "err", err)
		c.enqueue(encodeError(codeInternal, conv, ""))
		return
	}
	if c.p.Staff() {
		// Staff opening a resident's conversation over the socket is a read
		// of their data: logged once per opening, not per message.
		actx := auth.WithActor(ctx, auth.Actor{UserID: c.p.UserID, Role: auth.Role(c.p.Role)})
		if err := c.svc.logRead(actx, cv, audit.ChatOpen, audit.ReasonChatService); err != nil {
			c.hub.log.Warn("chat: join", "conversation", conv, "err", err)
			c.enqueue(encodeError(codeInternal, conv, ""))
			return
		}
	}
	after = min(max(after, 0), cv.LastSeq)
	state := mustJSON(c.svc.joinedFrame(ctx, cv, c.p))
	c.mu.Lock()
	st := c.convs.get(conv)
	already := st != nil
	if !already && len(c.convs) >= maxJoinsPerSocket {
		c.mu.Unlock()
		c.enqueue(encodeError(codeTooMany, conv, ""))
		return
	}
	if already {
		// A rejoin restarts from what the client says it has seen.
		st.last, st.want = min(st.last, after), max(st.want, cv.LastSeq)
	} else {
		// fetching until the fill below has run: live messages only raise want.
		st = &convState{conv: conv, last: after, want: cv.LastSeq, fetching: true}
		c.convs = append(c.convs, st)
	}
	c.enqueue(state)
	c.mu.Unlock()
	if !already {
		c.hub.enter(c, conv)
		c.fill(conv)
	} else {
		c.hint(conv, cv.LastSeq)
	}
	if cv.Status == statusQueued && !c.p.Staff() {
		c.hub.queueChangedLocal() // send this socket its place in the queue
	}
}

func (c *client) sendMessage(f *inFrame) {
	if !validClientID(f.CID) {
		c.enqueue(encodeError(codeBadID, f.Conv, ""))
		return
	}
	if !c.joined(f.Conv) {
		c.enqueue(encodeError(codeNotJoined, f.Conv, f.CID))
		return
	}
	body, code := cleanBody(f.Body, c.hub.lim.MaxMessage)
	if code != "" {
		c.enqueue(encodeError(code, f.Conv, f.CID))
		return
	}
	d := Draft{
		ConversationID: f.Conv, Kind: KindText, SenderRole: c.p.senderRole(),
		SenderID: c.p.UserID, SenderName: c.p.displayName(), ClientID: f.CID, Body: body,
	}
	c.hub.commit.submit(d, func(r stored) {
		switch {
		case errors.Is(r.Err, errClosed):
			c.enqueue(encodeError(codeClosed, d.ConversationID, d.ClientID))
		case errors.Is(r.Err, errForbidden), errors.Is(r.Err, errNotFound):
			c.enqueue(encodeError(codeForbidden, d.ConversationID, d.ClientID))
		case errors.Is(r.Err, errForwardLost):
			c.enqueue(encodeError(codeInternal, d.ConversationID, d.ClientID))
		case r.Err != nil:
			c.hub.log.Error("chat: store message", "conversation", d.ConversationID, "err", r.Err)
			c.enqueue(encodeError(codeInternal, d.ConversationID, d.ClientID))
		default:
			// Stored, then acknowledged, then published.
			c.enqueue(mustJSON(ackFrame{Type: TypeAck, Conv: d.ConversationID, CID: d.ClientID,
				Seq: r.Message.Seq, At: r.Message.CreatedAt, Dup: r.Dup}))
			if !r.Dup && !r.Remote {
				c.hub.publishMessage(&r.Message, false)
			}
		}
	})
}

// displayName is the name that goes with the principal's messages:
// advisors' first names; residents are not named on the wire.
func (p *Principal) displayName() string {
	if p.Staff() {
		return p.Name
	}
	return ""
}

func (c *client) receipt(f *inFrame) {
	if !c.joined(f.Conv) || f.Seq <= 0 {
		return
	}
	var delivered, read int64
	if f.Type == typeRead {
		delivered, read = f.Seq, f.Seq
	} else {
		delivered = f.Seq
	}
	role := c.p.senderRole()
	ctx, cancel := context.WithTimeout(c.hub.ctx, 5*time.Second)
	defer cancel()
	changed, err := c.hub.store.Receipt(ctx, f.Conv, role, delivered, read)
	if err != nil {
		c.hub.log.Warn("chat: receipt", "err", err)
		return
	}
	if changed {
		c.hub.publishEphemeral(f.Conv, mustJSON(receiptFrame{
			Type: typeReceipt, Conv: f.Conv, From: role, Delivered: delivered, Read: read,
		}), false, nil)
	}
}
