package chat

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// ownsAll tells whether in owns every lane.
func ownsAll(in *instance) bool {
	for i := range in.svc.hub.commit.owned {
		if !in.svc.hub.commit.owned[i].Load() {
			return false
		}
	}
	return true
}

// heardOwner tells whether in knows id as the owner of every lane.
func heardOwner(in *instance, id string) bool {
	f := in.svc.hub.fwd
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.owners {
		if o.id != id {
			return false
		}
	}
	return true
}

// ownerAndForwarder starts two instances: a, which owns every lane, and
// then b, which has heard so.
func ownerAndForwarder(t *testing.T, e *env) (a, b *instance) {
	t.Helper()
	a = e.instance(t)
	waitFor(t, "the first instance to own every lane", func() bool { return ownsAll(a) })
	b = e.instance(t)
	waitFor(t, "the second instance to hear the owner", func() bool { return heardOwner(b, a.svc.hub.id) })
	return a, b
}

// joinedPair dials the resident to a and the advisor to b, both joined
// to a new conversation.
func joinedPair(t *testing.T, e *env, a, b *instance) (cv *Conversation, rc, ac *wsClient) {
	t.Helper()
	resident := e.user(t, auth.RoleResident, "Aino")
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	cv = e.activeConversation(t, a, resident, advisor)
	rc, ac = mustDial(t, a.url, resident.cookie), mustDial(t, b.url, advisor.cookie)
	rc.join(cv.ID, 0)
	ac.join(cv.ID, 0)
	for _, c := range []*wsClient{rc, ac} {
		if _, ok := c.next(typeJoined, 5*time.Second); !ok {
			t.Fatal("no joined frame")
		}
	}
	return cv, rc, ac
}

// A lane is stored by one instance in the cluster: the second instance
// forwards its sockets' messages to the first, which owns every lane, and
// its clients get their acks and the other side its messages, in order,
// once each.
func TestLanesAreStoredByTheirOwner(t *testing.T) {
	e := postgresRedisEnv(t)
	e.lim.Writers = 3 // more lanes than the default one: each has one owner
	a, b := ownerAndForwarder(t, e)
	for i := range b.svc.hub.commit.owned {
		if b.svc.hub.commit.owned[i].Load() {
			t.Fatalf("lane %d has two owners", i)
		}
	}
	cv, rc, ac := joinedPair(t, e, a, b)

	const n = 40
	sendAll(ac, cv.ID, "a", n)
	seqs := map[int64]bool{}
	for i := 1; i <= n; i++ {
		ack, ok := ac.next(TypeAck, 10*time.Second)
		if !ok {
			t.Fatalf("ack %d of %d missing", i, n)
		}
		if want := fmt.Sprintf("a-%d", i); ack.CID != want || ack.Dup || seqs[ack.Seq] {
			t.Fatalf("ack %d = %+v, want %s, new, its own seq", i, ack, want)
		}
		seqs[ack.Seq] = true
	}
	var col collector
	col.until(t, "resident", rc, cv.ID, int64(1+n), 10*time.Second)
	checkOwnOrder(t, &col, RoleAdvisor, "a", n)
	if got := b.svc.hub.fwd.forwarded.Load(); got != n {
		t.Fatalf("the second instance forwarded %d messages, want %d", got, n)
	}
	if got := a.svc.hub.fwd.forwarded.Load(); got != 0 {
		t.Fatalf("the owner forwarded %d messages, want 0", got)
	}
	var stored int64
	if err := e.db.Gorm.Model(&message{}).Where("conversation_id = ? AND sender_role = ?", cv.ID, RoleAdvisor).Count(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored != n {
		t.Fatalf("stored %d of the advisor's messages, want %d", stored, n)
	}

	// The metrics tell the same: the owner stored all n in its lanes, the
	// other forwarded all n and stored none.
	ma, mb := storeCounts(t, a.svc), storeCounts(t, b.svc)
	if ma.waits != n || ma.messages != n || ma.batches < 1 || ma.batches > n || ma.forwards != 0 {
		t.Errorf("owner's metrics: %+v, want %d waits and messages in 1..%d batches, no forwards", ma, n, n)
	}
	if mb.forwards != n || mb.waits != 0 || mb.batches != 0 {
		t.Errorf("forwarder's metrics: %+v, want %d forwards and nothing stored", mb, n)
	}
}

type storeCount struct{ waits, batches, messages, forwards uint64 }

// storeCounts reads svc's storage metrics as a Prometheus registry
// gathers them.
func storeCounts(t *testing.T, svc *Service) storeCount {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc.Collectors()...)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var c storeCount
	for _, f := range fams {
		h := f.GetMetric()[0].GetHistogram()
		switch f.GetName() {
		case "portal_chat_store_wait_seconds":
			c.waits = h.GetSampleCount()
		case "portal_chat_store_seconds":
			c.batches = h.GetSampleCount()
		case "portal_chat_store_batch_messages":
			c.messages = uint64(h.GetSampleSum())
		case "portal_chat_forward_seconds":
			c.forwards = h.GetSampleCount()
		default:
			t.Errorf("unexpected metric %s", f.GetName())
		}
	}
	return c
}

// When the owner stops, its lanes' locks go with it, and the other
// instance takes them and stores its messages itself.
func TestLanesPassOnWhenTheOwnerStops(t *testing.T) {
	e := postgresRedisEnv(t)
	a, b := ownerAndForwarder(t, e)
	cv, _, ac := joinedPair(t, e, b, b)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second instance to own every lane", func() bool { return ownsAll(b) })
	sendAll(ac, cv.ID, "after", 3)
	for i := 1; i <= 3; i++ {
		if ack, ok := ac.next(TypeAck, 5*time.Second); !ok || ack.CID != fmt.Sprintf("after-%d", i) {
			t.Fatalf("ack %d = %+v, %v", i, ack, ok)
		}
	}
}

// A draft forwarded to an owner that never answers is answered
// "internal"; its client resends it with the same client id, and it is
// stored once.
func TestUnansweredForwardIsResentAndStoredOnce(t *testing.T) {
	e := postgresRedisEnv(t)
	e.lim.ForwardTimeout = 300 * time.Millisecond
	// The test holds every lane's lock, as a silent owner would.
	ctx := context.Background()
	conn, err := e.db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lanes := e.lim.Writers
	for i := range lanes {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext(current_schema() || ':chat_lane:' || $1::int))", i); err != nil {
			t.Fatal(err)
		}
	}
	b := e.instance(t)
	for i := range lanes {
		b.svc.hub.fwd.heard(int64(i), "ghost")
	}
	cv, _, ac := joinedPair(t, e, b, b)

	msg := map[string]any{"type": "send", "conv": cv.ID, "cid": "lost-1", "body": "hello"}
	ac.send(msg)
	f, ok := ac.next(TypeError, 5*time.Second)
	if !ok || f.Code != codeInternal || f.CID != "lost-1" {
		t.Fatalf("unanswered forward: %+v, %v; want an internal error for lost-1", f, ok)
	}
	// The owner is gone; its locks with it.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the instance to own every lane", func() bool { return ownsAll(b) })
	ac.send(msg)
	ack, ok := ac.next(TypeAck, 5*time.Second)
	if !ok || ack.CID != "lost-1" || ack.Dup {
		t.Fatalf("resend: %+v, %v; want a new ack for lost-1", ack, ok)
	}
	var stored int64
	if err := e.db.Gorm.Model(&message{}).Where("conversation_id = ? AND client_id = ?", cv.ID, "lost-1").Count(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored != 1 {
		t.Fatalf("stored %d copies, want 1", stored)
	}
}

// A forwarded draft or verdict that cannot be read changes nothing: the
// draft is not queued, and the sender's client is told to resend.
func TestUndecodableForwardEventsAreRefused(t *testing.T) {
	e := postgresRedisEnv(t)
	f := e.instance(t).svc.hub.fwd

	f.receive(event{kind: evForward, origin: "other", seq: 1, frame: []byte(`{"ConversationID":`)})
	f.inMu.Lock()
	queued := len(f.inbox)
	f.inMu.Unlock()
	if queued != 0 {
		t.Fatalf("an undecodable draft was queued (%d)", queued)
	}

	for _, body := range []string{`not json`, `{"err":"no_such_code"}`} {
		got := make(chan stored, 1)
		f.slots <- struct{}{}
		f.mu.Lock()
		f.next++
		req := f.next
		f.pending[req] = pendingDraft{done: func(r stored) { got <- r }, conv: 7, since: time.Now()}
		f.mu.Unlock()
		f.receive(event{kind: evAnswer, seq: int64(req), frame: []byte(body)})
		select {
		case r := <-got:
			if !errors.Is(r.Err, errForwardLost) || !r.Remote {
				t.Fatalf("verdict %q: %+v, want errForwardLost", body, r)
			}
		case <-time.After(time.Second):
			t.Fatalf("verdict %q: no answer", body)
		}
		if n := len(f.slots); n != 0 {
			t.Fatalf("verdict %q: %d slots still taken", body, n)
		}
	}
}
