package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/people"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// The fault suite's traffic: people with login sessions written straight
// into the database, chatting on sockets, booking and sending secure
// messages with an attachment, each counting what it was promised and
// what it got. A person's requests go to their own instance and, when it
// does not answer at all, to the other one, as a load balancer would.

// seedFaultPeople writes n people with role, person i living in (or
// working for) area(i).
func seedFaultPeople(t *testing.T, db *database.DB, role auth.Role, prefix string, n int, area func(i int) people.Area) []people.Person {
	t.Helper()
	out := make([]people.Person, n)
	for i := range n {
		p, err := people.Create(context.Background(), db, role, "faults", prefix+"-"+strconv.Itoa(i), area(i))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// seen counts what people were shown when something failed: the status and
// the page's heading, or the transport error.
type seen struct {
	mu sync.Mutex
	m  map[string]int
}

var (
	faultHeading = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
	faultAlert   = regexp.MustCompile(`(?s)class="[^"]*hds-notification__body[^"]*"[^>]*>(.*?)</`)
	faultTags    = regexp.MustCompile(`<[^>]+>`)
)

// note records an answer that was not the success; it reports whether the
// page was a clear one (a portal page with a heading, no stack trace).
func (s *seen) note(what string, status int, page string, err error) bool {
	var key string
	clear := true
	switch {
	case err != nil:
		key = what + ": " + transportError(err)
	default:
		h := ""
		if m := faultAlert.FindStringSubmatch(page); m != nil {
			h = m[1]
		} else if m := faultHeading.FindStringSubmatch(page); m != nil {
			h = m[1]
		}
		h = strings.Join(strings.Fields(faultTags.ReplaceAllString(h, "")), " ")
		if h == "" || strings.Contains(page, "goroutine ") || strings.Contains(page, "runtime error") || strings.Contains(page, "panic:") {
			clear = false
			h = "UNCLEAR: " + strings.Join(strings.Fields(faultTags.ReplaceAllString(page, " ")), " ")
			if len(h) > 160 {
				h = h[:160]
			}
		}
		key = fmt.Sprintf("%s: %d %s", what, status, h)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]int{}
	}
	s.m[key]++
	return clear
}

func (s *seen) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	s.m = nil
	return m
}

func transportError(err error) string {
	msg := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "EOF", "timeout", "deadline exceeded"} {
		if strings.Contains(msg, k) {
			return "no answer (" + k + ")"
		}
	}
	return "no answer"
}

// faultWeb sends people's requests.
type faultWeb struct {
	bases []string // the instances
	c     *http.Client
	seen  *seen
}

// do sends one request as who to instance first (the other when it does
// not answer at all: the load balancer's retry); redirects are not
// followed.
func (w *faultWeb) do(ctx context.Context, first int, who people.Person, method, path string, body []byte, ctype string) (int, string, string, error) {
	var err error
	for i := range w.bases {
		base := w.bases[(first+i)%len(w.bases)]
		var st int
		var loc, page string
		st, loc, page, err = w.once(ctx, base, who, method, path, body, ctype)
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			return st, loc, page, err
		}
	}
	return 0, "", "", err
}

func (w *faultWeb) once(ctx context.Context, base string, who people.Person, method, path string, body []byte, ctype string) (int, string, string, error) {
	return people.Request(ctx, w.c, base, who, method, path, bytes.NewReader(body), ctype)
}

func (w *faultWeb) postForm(ctx context.Context, first int, who people.Person, path string, form url.Values) (int, string, string, error) {
	form.Set("_csrf", who.CSRF)
	return w.do(ctx, first, who, http.MethodPost, path, []byte(form.Encode()), "application/x-www-form-urlencoded")
}

// --- chat ---

type outMsg struct {
	conv     int64
	body     string
	lastSent time.Time
	created  time.Time
}

// chatter is one person's chat client: one socket (to their own instance,
// or the other when it is down) joined to their conversations, sending a
// message every interval in turn, keeping what is not acknowledged and
// sending it again (same client id) after a reconnect or an error.
type chatter struct {
	name  string
	role  string // resident, advisor
	who   people.Person
	first int
	convs []int64
	every time.Duration
	web   *faultWeb

	mu         sync.Mutex
	connected  bool
	last       map[int64]int64
	pending    map[string]*outMsg // not acknowledged yet
	sent       map[string]*outMsg // every message made, by client id
	got        map[string]int     // the other side's client ids, times received
	dupFrames  int
	gapFrames  int
	codes      map[string]int
	reconnects int
	n          int
}

func newChatter(name, role string, who people.Person, first int, convs []int64, every time.Duration, web *faultWeb) *chatter {
	return &chatter{name: name, role: role, who: who, first: first, convs: convs, every: every, web: web,
		last: map[int64]int64{}, pending: map[string]*outMsg{},
		sent: map[string]*outMsg{}, got: map[string]int{}, codes: map[string]int{}}
}

// run keeps the chatter connected until ctx ends; talking says whether to
// make new messages.
func (c *chatter) run(ctx context.Context, talking *atomic.Bool) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		conn, base := c.dial(ctx)
		if conn == nil {
			pause(ctx, time.Duration(min(100<<min(attempt, 4), 1000)+mrand.IntN(200))*time.Millisecond)
			continue
		}
		attempt = 0
		c.session(ctx, conn, base, talking)
		_ = conn.Close()
	}
}

func (c *chatter) dial(ctx context.Context) (*websocket.Conn, string) {
	for i := range c.web.bases {
		base := c.web.bases[(c.first+i)%len(c.web.bases)]
		h := http.Header{}
		c.who.Header(h, base, http.MethodGet, "")
		h.Set("Origin", base)
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
		conn, resp, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+"/chat/ws", h)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			return conn, base
		}
	}
	return nil, ""
}

// session is one socket's life: join (resume) every conversation, send
// what is pending, then talk until the socket drops or ctx ends.
func (c *chatter) session(ctx context.Context, conn *websocket.Conn, base string, talking *atomic.Bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			for line := range bytes.SplitSeq(data, []byte{'\n'}) {
				var f people.Frame
				if json.Unmarshal(line, &f) == nil {
					c.handle(f)
				}
			}
		}
	}()
	write := func(v any) bool {
		b, _ := json.Marshal(v)
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		return conn.WriteMessage(websocket.TextMessage, b) == nil
	}
	c.mu.Lock()
	c.connected = true
	c.reconnects++
	joins := make([]map[string]any, 0, len(c.convs))
	for _, conv := range c.convs {
		joins = append(joins, map[string]any{"type": "join", "conv": conv, "after": c.last[conv]})
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.connected = false
		c.mu.Unlock()
	}()
	for _, j := range joins {
		if !write(j) {
			return
		}
	}
	next := time.NewTicker(c.every)
	defer next.Stop()
	resend := time.NewTicker(250 * time.Millisecond)
	defer resend.Stop()
	turn := mrand.IntN(len(c.convs))
	for {
		var out []map[string]any
		select {
		case <-ctx.Done():
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
			<-done
			return
		case <-done:
			return
		case <-next.C:
			if !talking.Load() {
				continue
			}
			conv := c.convs[turn%len(c.convs)]
			turn++
			c.mu.Lock()
			c.n++
			cid := fmt.Sprintf("%s-%d", strings.ReplaceAll(c.name, " ", ""), c.n)
			now := time.Now()
			m := &outMsg{conv: conv, body: "viesti " + cid, created: now, lastSent: now}
			c.pending[cid] = m
			c.sent[cid] = m
			c.mu.Unlock()
			out = append(out, map[string]any{"type": "send", "conv": conv, "cid": cid, "body": m.body})
		case <-resend.C:
			// Not acknowledged within 2 s (the database failed, the ack was
			// lost with a socket): send again, with the same client id.
			c.mu.Lock()
			for cid, m := range c.pending {
				if time.Since(m.lastSent) > 2*time.Second {
					m.lastSent = time.Now()
					out = append(out, map[string]any{"type": "send", "conv": m.conv, "cid": cid, "body": m.body})
				}
			}
			c.mu.Unlock()
		}
		for _, f := range out {
			if !write(f) {
				return
			}
		}
	}
}

func (c *chatter) handle(f people.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch f.Type {
	case "ack":
		delete(c.pending, f.CID)
	case "message":
		last := c.last[f.Conv]
		switch {
		case f.Seq <= last:
			c.dupFrames++
			return
		case f.Seq > last+1:
			c.gapFrames++
		}
		c.last[f.Conv] = f.Seq
		if f.Kind == "text" && f.From != c.role && f.CID != "" {
			c.got[f.CID]++
		}
	case "error":
		c.codes[f.Code]++
	}
}

// chatCounts is the chat's side of a phase.
type chatCounts struct {
	sent, delivered, lost, duplicated, gaps, unacked int
	codes                                            map[string]int
	lostIDs                                          []string
}

// chatPair is one conversation and its two people.
type chatPair struct {
	conv     int64
	res, adv *chatter
}

// countChat compares what each side made (from since until before, either
// unbounded when zero) with what the other side received.
func countChat(pairs []chatPair, since, before time.Time) chatCounts {
	cc := chatCounts{codes: map[string]int{}}
	for _, p := range pairs {
		for _, dir := range [2][2]*chatter{{p.res, p.adv}, {p.adv, p.res}} {
			from, to := dir[0], dir[1]
			from.mu.Lock()
			to.mu.Lock()
			for cid, m := range from.sent {
				if m.conv != p.conv || !before.IsZero() && !m.created.Before(before) || m.created.Before(since) {
					continue
				}
				cc.sent++
				switch n := to.got[cid]; {
				case n == 0:
					cc.lost++
					if len(cc.lostIDs) < 5 {
						cc.lostIDs = append(cc.lostIDs, cid)
					}
				case n > 1:
					cc.duplicated += n - 1
					cc.delivered++
				default:
					cc.delivered++
				}
				if _, ok := from.pending[cid]; ok {
					cc.unacked++
				}
			}
			to.mu.Unlock()
			from.mu.Unlock()
		}
	}
	counted := map[*chatter]bool{}
	for _, p := range pairs {
		for _, c := range []*chatter{p.res, p.adv} {
			if counted[c] {
				continue
			}
			counted[c] = true
			c.mu.Lock()
			cc.duplicated += c.dupFrames
			cc.gaps += c.gapFrames
			for k, v := range c.codes {
				cc.codes[k] += v
			}
			c.mu.Unlock()
		}
	}
	return cc
}

// --- bookings and uploads ---

var faultSlot = regexp.MustCompile(`name="slot" value="(\d+-\d+)"`)

// booker books a phone time, opens it and cancels it, again and again;
// after an error it sends the same form again, as a person would.
type booker struct {
	who   people.Person
	first int
	web   *faultWeb

	made, cancelled, failedAnswers atomic.Int64
	lastOK                         atomic.Int64 // unix nanos of the last whole cycle
	unclear                        atomic.Int64
	open                           atomic.Int64 // a booking made and not cancelled yet
}

// run books until ctx ends or calm is set; a cycle begun is finished.
func (b *booker) run(ctx context.Context, regions []int64, calm *atomic.Bool) {
	for ctx.Err() == nil && !calm.Load() {
		if err := b.cycle(ctx, regions); err != nil && ctx.Err() == nil {
			pause(ctx, 500*time.Millisecond)
		}
		pause(ctx, time.Duration(200+mrand.IntN(300))*time.Millisecond)
	}
}

func (b *booker) answer(what string, st int, page string, err error) {
	b.failedAnswers.Add(1)
	if !b.web.seen.note(what, st, page, err) {
		b.unclear.Add(1)
	}
}

func (b *booker) cycle(ctx context.Context, regions []int64) error {
	region := regions[mrand.IntN(len(regions))]
	q := url.Values{"topic": {"rent_debt"}, "type": {"phone"}, "region": {strconv.FormatInt(region, 10)}, "week": {strconv.Itoa(1 + mrand.IntN(3))}}
	st, _, page, err := b.web.do(ctx, b.first, b.who, http.MethodGet, "/booking?"+q.Encode(), nil, "")
	if err != nil || st != http.StatusOK {
		b.answer("free times", st, page, err)
		return errors.New("no list")
	}
	slots := faultSlot.FindAllStringSubmatch(page, -1)
	if len(slots) == 0 {
		return nil
	}
	form := url.Values{"topic": q["topic"], "type": q["type"], "region": q["region"],
		"slot": {slots[mrand.IntN(len(slots))][1]}, "phone": {"040 123 4567"}, "message": {"faults"}}
	var loc string
	for try := 0; ; try++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		st, loc, page, err = b.web.postForm(ctx, b.first, b.who, "/booking", form)
		if err == nil && st == http.StatusSeeOther && strings.HasPrefix(loc, "/booking/") {
			break
		}
		if err == nil && (st == http.StatusConflict || st == http.StatusUnprocessableEntity) {
			return nil // taken: by someone else, or by this very form sent before
		}
		b.answer("booking", st, page, err)
		pause(ctx, time.Second)
	}
	b.made.Add(1)
	id := strings.TrimPrefix(loc, "/booking/")
	if i := strings.IndexAny(id, "?#/"); i >= 0 {
		id = id[:i]
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	b.open.Store(n)
	for try := 0; ctx.Err() == nil; try++ {
		st, _, page, err = b.web.postForm(ctx, b.first, b.who, "/booking/"+id+"/cancel", url.Values{})
		// Sent again after an answer was lost, the cancel may find the
		// booking cancelled already: "it cannot be changed".
		if err == nil && (st == http.StatusSeeOther || try > 0 && st == http.StatusConflict) {
			b.open.Store(0)
			b.cancelled.Add(1)
			b.lastOK.Store(time.Now().UnixNano())
			return nil
		}
		b.answer("cancelling", st, page, err)
		pause(ctx, time.Second)
	}
	return ctx.Err()
}

// uploader sends secure messages with a PDF attached.
type uploader struct {
	who   people.Person
	first int
	web   *faultWeb
	pdf   []byte

	stored, refused, unclear atomic.Int64
	lastOK                   atomic.Int64
	threads                  sync.Map // ids of the threads answered as stored
}

func (u *uploader) run(ctx context.Context, calm *atomic.Bool) {
	for ctx.Err() == nil && !calm.Load() {
		u.once(ctx)
		pause(ctx, time.Duration(300+mrand.IntN(400))*time.Millisecond)
	}
}

func (u *uploader) once(ctx context.Context) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("_csrf", u.who.CSRF)
	_ = mw.WriteField("subject", "Vuokrasopimus")
	_ = mw.WriteField("body", "Liitteenä vuokrasopimus.")
	fw, _ := mw.CreateFormFile("attachment", "vuokrasopimus.pdf")
	_, _ = fw.Write(u.pdf)
	_ = mw.Close()
	st, loc, page, err := u.web.do(ctx, u.first, u.who, http.MethodPost, "/messages", b.Bytes(), mw.FormDataContentType())
	thread, perr := strconv.ParseInt(strings.TrimPrefix(loc, "/messages/"), 10, 64)
	if err == nil && st == http.StatusSeeOther && strings.HasPrefix(loc, "/messages/") && perr == nil {
		u.stored.Add(1)
		u.threads.Store(thread, true)
		u.lastOK.Store(time.Now().UnixNano())
		return
	}
	if ctx.Err() != nil {
		return
	}
	u.refused.Add(1)
	if !u.web.seen.note("upload", st, page, err) {
		u.unclear.Add(1)
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
