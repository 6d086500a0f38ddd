package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// Every verdict of Append, for drafts stored alone and in one batch, by
// Append and through a lane (which on PostgreSQL numbers what it can vouch
// for from memory): stored with the next seq, a resend given the original
// back, a closed conversation, an advisor who is not the assigned one, a
// conversation that does not exist. Every path must agree, on both
// databases.
func TestAppendVerdicts(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		in, resident, advisor, open := e.chatting(t)
		store := in.svc.store
		other := e.user(t, auth.RoleAdvisor, "Olli")
		closed := e.activeConversation(t, in, e.user(t, auth.RoleResident, "Bea"), advisor)
		if _, err := store.Close(ctx, closed.ID, advisor.principal(), "advice_given"); err != nil {
			t.Fatal(err)
		}
		before, err := store.LastSeqs(ctx, []int64{open.ID})
		if err != nil {
			t.Fatal(err)
		}
		last := before[open.ID]
		lane := store.lane()
		defer lane.close()

		draft := func(conv int64, role string, sender int64, cid string) Draft {
			return Draft{ConversationID: conv, Kind: KindText, SenderRole: role, SenderID: sender, SenderName: "x", ClientID: cid, Body: "body " + cid}
		}
		for _, mode := range []string{"alone", "batch", "lane-alone", "lane-batch"} {
			t.Run(mode, func(t *testing.T) {
				cid := func(s string) string { return mode + "-" + s }
				drafts := []Draft{
					draft(open.ID, RoleResident, resident.ID, cid("r1")),
					draft(open.ID, RoleAdvisor, advisor.ID, cid("a1")),
					draft(open.ID, RoleResident, resident.ID, cid("r1")), // resent
					draft(closed.ID, RoleResident, resident.ID, cid("late")),
					draft(open.ID, RoleAdvisor, other.ID, cid("intruder")),
					draft(1<<40, RoleResident, resident.ID, cid("nowhere")),
				}
				var a appender = store
				if strings.HasPrefix(mode, "lane") {
					a = lane
				}
				var got []stored
				if strings.HasSuffix(mode, "alone") {
					for _, d := range drafts {
						got = append(got, a.Append(ctx, []Draft{d})...)
					}
				} else {
					got = a.Append(ctx, drafts)
				}
				want := []struct {
					seq int64
					dup bool
					err error
				}{{last + 1, false, nil}, {last + 2, false, nil}, {last + 1, true, nil},
					{0, false, errClosed}, {0, false, errForbidden}, {0, false, errNotFound}}
				for i, w := range want {
					g := got[i]
					if !errors.Is(g.Err, w.err) || g.Message.Seq != w.seq || g.Dup != w.dup {
						t.Errorf("draft %d (%s): seq %d dup %v err %v; want seq %d dup %v err %v",
							i, drafts[i].ClientID, g.Message.Seq, g.Dup, g.Err, w.seq, w.dup, w.err)
					}
					if w.err == nil && (g.Message.Body != drafts[i].Body || g.Message.SenderRole != drafts[i].SenderRole ||
						g.Message.SenderID == nil || *g.Message.SenderID != drafts[i].SenderID || g.Message.CreatedAt.IsZero()) {
						t.Errorf("draft %d: stored message %+v does not match the draft", i, g.Message)
					}
				}
				if !got[2].Message.CreatedAt.Equal(got[0].Message.CreatedAt) {
					t.Errorf("resend's time %v, want the original's %v", got[2].Message.CreatedAt, got[0].Message.CreatedAt)
				}
				msgs, err := store.After(ctx, open.ID, last, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 2 || msgs[0].ClientID != cid("r1") || msgs[1].ClientID != cid("a1") {
					t.Fatalf("stored after seq %d: %+v; want %s then %s", last, msgs, cid("r1"), cid("a1"))
				}
				seqs, err := store.LastSeqs(ctx, []int64{open.ID})
				if err != nil || seqs[open.ID] != last+2 {
					t.Fatalf("last seq %d (%v), want %d", seqs[open.ID], err, last+2)
				}
				last += 2
			})
		}

		// A resend gets its original back even when the conversation has
		// closed since, alone and in a batch.
		first := before[open.ID]
		if _, err := store.Close(ctx, open.ID, advisor.principal(), "advice_given"); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"alone-r1": first + 1, "batch-r1": first + 3, "batch-a1": first + 4,
			"lane-alone-r1": first + 5, "lane-batch-r1": first + 7, "lane-batch-a1": first + 8}
		for _, resends := range [][]Draft{
			{draft(open.ID, RoleResident, resident.ID, "alone-r1")},
			{draft(open.ID, RoleResident, resident.ID, "batch-r1"), draft(open.ID, RoleAdvisor, advisor.ID, "batch-a1")},
			{draft(open.ID, RoleResident, resident.ID, "lane-alone-r1")},
			{draft(open.ID, RoleResident, resident.ID, "lane-batch-r1"), draft(open.ID, RoleAdvisor, advisor.ID, "lane-batch-a1")},
		} {
			var a appender = store
			if strings.HasPrefix(resends[0].ClientID, "lane") {
				a = lane
			}
			for i, g := range a.Append(ctx, resends) {
				if g.Err != nil || !g.Dup || g.Message.Seq != want[resends[i].ClientID] {
					t.Errorf("resend of %s after the close: seq %d dup %v err %v; want seq %d, a resend",
						resends[i].ClientID, g.Message.Seq, g.Dup, g.Err, want[resends[i].ClientID])
				}
			}
		}
	})
}

// A lane remembers the last seq and the rules of the conversations it
// stores. Messages stored past its memory, by another lane, by Append or
// by a transfer or close, put it out of date: its next message still gets
// the next seq, a resend its original, and a change's new rules hold for
// it at once, whether they now allow what its memory would refuse or
// refuse what it would allow.
func TestLaneMemoryOvertaken(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		in, resident, anna, cv := e.chatting(t)
		store := in.svc.store
		olli := e.user(t, auth.RoleAdvisor, "Olli")
		for _, u := range []*testUser{anna, olli} {
			if err := store.SetStatus(ctx, u.ID, AdvisorAvailable); err != nil {
				t.Fatal(err)
			}
		}
		lane, other := store.lane(), store.lane()
		defer lane.close()
		defer other.close()
		last := must(store.LastSeqs(ctx, []int64{cv.ID}))[cv.ID]
		var want []string // client ids, or events, by seq after last
		step := func(a appender, who *testUser, cids ...string) []stored {
			t.Helper()
			role := RoleAdvisor
			if who == resident {
				role = RoleResident
			}
			var batch []Draft
			for _, cid := range cids {
				batch = append(batch, Draft{ConversationID: cv.ID, Kind: KindText, SenderRole: role, SenderID: who.ID, ClientID: cid, Body: cid})
			}
			return a.Append(ctx, batch)
		}
		stores := func(a appender, who *testUser, cids ...string) {
			t.Helper()
			for i, r := range step(a, who, cids...) {
				want = append(want, cids[i])
				if r.Err != nil || r.Dup || r.Message.Seq != last+int64(len(want)) {
					t.Fatalf("%s: seq %d dup %v err %v; want seq %d", cids[i], r.Message.Seq, r.Dup, r.Err, last+int64(len(want)))
				}
			}
		}
		refused := func(a appender, who *testUser, cid string, err error) {
			t.Helper()
			if r := step(a, who, cid)[0]; !errors.Is(r.Err, err) {
				t.Fatalf("%s: seq %d err %v; want %v", cid, r.Message.Seq, r.Err, err)
			}
		}
		changed := func(m *message, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, m.Event)
			if m.Seq != last+int64(len(want)) {
				t.Fatalf("%s at seq %d, want %d", m.Event, m.Seq, last+int64(len(want)))
			}
		}

		stores(lane, resident, "r1", "r2") // the lane now remembers the conversation
		stores(other, resident, "r3")
		stores(store, resident, "r4")
		stores(lane, resident, "r5") // its memory was 2 behind
		stores(lane, anna, "a1")
		changed(store.TransferToAdvisor(ctx, cv.ID, anna.principal(), olli.ID, 10))
		refused(lane, anna, "a2", errForbidden) // remembered as hers
		stores(lane, olli, "o1")                // remembered as Anna's
		if r := step(lane, resident, "r1")[0]; r.Err != nil || !r.Dup || r.Message.Seq != last+1 {
			t.Fatalf("resend of r1: seq %d dup %v err %v; want seq %d, a resend", r.Message.Seq, r.Dup, r.Err, last+1)
		}
		stores(lane, olli, "o2")
		changed(store.TransferToAdvisor(ctx, cv.ID, olli.principal(), anna.ID, 10))
		refused(lane, olli, "o3", errForbidden)
		stores(lane, anna, "a3")
		stores(lane, resident, "r6")
		changed(store.Close(ctx, cv.ID, anna.principal(), "advice_given"))
		refused(lane, resident, "r7", errClosed) // remembered as open
		refused(lane, anna, "a4", errClosed)

		msgs := must(store.After(ctx, cv.ID, last, 100))
		var got []string
		for i, m := range msgs {
			if m.Seq != last+int64(i+1) {
				t.Fatalf("seq %d at position %d: a gap", m.Seq, i)
			}
			if m.Kind == KindText {
				got = append(got, m.ClientID)
			} else {
				got = append(got, m.Event)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("stored after seq %d: %v; want %v", last, got, want)
		}
	})
}

// Instances resending the same message at the same moment, each through a
// lane of its own: it is stored once, and every sender gets its seq.
func TestConcurrentResendsStoreOnce(t *testing.T) {
	// SQLite has a single writer: the race exists on PostgreSQL only.
	e := postgresRedisEnv(t)
	ctx := context.Background()
	in := e.instance(t)
	store := in.svc.store
	resident := e.user(t, auth.RoleResident, "Aino")
	cv := e.activeConversation(t, in, resident, e.user(t, auth.RoleAdvisor, "Anna"))
	const senders, rounds = 6, 20
	for r := range rounds {
		cid := fmt.Sprintf("race-%d", r)
		results := make([]stored, senders)
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				lane := store.lane()
				defer lane.close()
				d := Draft{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleResident, SenderID: resident.ID, ClientID: cid, Body: cid}
				results[i] = lane.Append(ctx, []Draft{d})[0]
			})
		}
		wg.Wait()
		fresh := 0
		for i, res := range results {
			if res.Err != nil {
				t.Fatalf("round %d, sender %d: %v", r, i, res.Err)
			}
			if res.Message.Seq != results[0].Message.Seq {
				t.Fatalf("round %d: seqs differ: %+v", r, results)
			}
			if !res.Dup {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("round %d: %d senders were told they stored it first, want 1", r, fresh)
		}
	}
	var n int64
	if err := e.db.Gorm.Model(&message{}).Where("conversation_id = ? AND client_id LIKE ?", cv.ID, "race-%").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != rounds {
		t.Fatalf("stored %d messages, want %d", n, rounds)
	}
}

// Receipts move forward only, never past the last stored message, and a
// read mark counts as delivered too; a receipt that moves nothing reports
// no change (the other side is then not told).
func TestReceiptMovesForwardOnly(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		in, _, advisor, cv := e.chatting(t)
		store := in.svc.store
		for i := range 3 {
			d := Draft{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleAdvisor, SenderID: advisor.ID, ClientID: fmt.Sprint("m", i), Body: "hi"}
			if r := store.Append(ctx, []Draft{d}); r[0].Err != nil {
				t.Fatal(r[0].Err)
			}
		}
		last := must(store.LastSeqs(ctx, []int64{cv.ID}))[cv.ID]
		marks := func() (rd, rr, ad, ar int64) {
			c, err := store.Conversation(ctx, cv.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c.ResidentDeliveredSeq, c.ResidentReadSeq, c.AdvisorDeliveredSeq, c.AdvisorReadSeq
		}
		steps := []struct {
			role            string
			delivered, read int64
			changed         bool
			rd, rr          int64
		}{
			{RoleResident, last - 1, 0, true, last - 1, 0},
			{RoleResident, last - 2, 0, false, last - 1, 0},       // backwards
			{RoleResident, last + 1, 0, false, last - 1, 0},       // past the last message
			{RoleResident, last, last, true, last, last},          // read: both marks
			{RoleResident, last, last, false, last, last},         // again: nothing moves
			{RoleResident, last + 5, last + 5, false, last, last}, // both past the end
		}
		for i, st := range steps {
			changed, err := store.Receipt(ctx, cv.ID, st.role, st.delivered, st.read)
			if err != nil {
				t.Fatal(err)
			}
			rd, rr, ad, ar := marks()
			if changed != st.changed || rd != st.rd || rr != st.rr || ad != 0 || ar != 0 {
				t.Fatalf("step %d: changed %v, resident %d/%d, advisor %d/%d; want changed %v, resident %d/%d, advisor 0/0",
					i, changed, rd, rr, ad, ar, st.changed, st.rd, st.rr)
			}
		}
		if changed, err := store.Receipt(ctx, cv.ID, RoleAdvisor, last, 0); err != nil || !changed {
			t.Fatalf("advisor's receipt: changed %v, %v", changed, err)
		}
		if rd, rr, ad, ar := marks(); rd != last || rr != last || ad != last || ar != 0 {
			t.Fatalf("after the advisor's receipt: resident %d/%d, advisor %d/%d", rd, rr, ad, ar)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// chatting is an instance with Aino and Anna in an active conversation.
func (e *env) chatting(t *testing.T) (*instance, *testUser, *testUser, *Conversation) {
	t.Helper()
	in := e.instance(t)
	resident := e.user(t, auth.RoleResident, "Aino")
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	return in, resident, advisor, e.activeConversation(t, in, resident, advisor)
}

// A close and a transfer change who may write while messages are being
// stored through lanes of their own. The change and each message both take
// the conversation's counter, so they are ordered: nothing its sender was
// refused is stored, the closing message is the conversation's last, and
// nothing the old advisor sent comes after the transfer's message.
func TestNoMessageAfterTheCloseOrTransferThatRefusedIt(t *testing.T) {
	// SQLite has a single writer: the race exists on PostgreSQL only.
	e := postgresRedisEnv(t)
	ctx := context.Background()
	in := e.instance(t)
	store := in.svc.store
	resident, anna, olli := e.user(t, auth.RoleResident, "Aino"), e.user(t, auth.RoleAdvisor, "Anna"), e.user(t, auth.RoleAdvisor, "Olli")
	if err := store.SetStatus(ctx, olli.ID, AdvisorAvailable); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		cv := e.activeConversation(t, in, resident, anna)
		senders := []struct {
			role string
			id   int64
		}{{RoleResident, resident.ID}, {RoleAdvisor, anna.ID}, {RoleResident, resident.ID}, {RoleAdvisor, anna.ID}}
		stop := make(chan struct{})
		var (
			mu     sync.Mutex
			stored = map[int64]Draft{} // seq → what it was told was stored
			wg     sync.WaitGroup
		)
		finish := sync.OnceFunc(func() { close(stop); wg.Wait() })
		defer finish() // also when the round fails half-way
		for i, s := range senders {
			wg.Go(func() {
				lane := store.lane()
				defer lane.close()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					d := Draft{ConversationID: cv.ID, Kind: KindText, SenderRole: s.role, SenderID: s.id,
						ClientID: fmt.Sprintf("%d-%d-%d", round, i, n), Body: "hello"}
					batch := []Draft{d}
					if n%3 == 2 { // the general statement too
						d2 := d
						d2.ClientID += "b"
						batch = append(batch, d2)
					}
					for j, r := range lane.Append(ctx, batch) {
						switch {
						case r.Err == nil:
							mu.Lock()
							stored[r.Message.Seq] = batch[j]
							mu.Unlock()
						case !errors.Is(r.Err, errClosed) && !errors.Is(r.Err, errForbidden):
							t.Errorf("append: %v", r.Err)
						}
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		moved, err := store.TransferToAdvisor(ctx, cv.ID, anna.principal(), olli.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		closing, err := store.Close(ctx, cv.ID, olli.principal(), "advice_given")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		finish()

		msgs, err := store.After(ctx, cv.ID, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		last := msgs[len(msgs)-1]
		if last.Seq != closing.Seq || last.Event != eventClosed {
			t.Fatalf("round %d: the last message is %d (%q), want the close at %d", round, last.Seq, last.Event, closing.Seq)
		}
		texts := 0
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("round %d: seq %d at position %d", round, m.Seq, i)
			}
			if m.Kind != KindText {
				continue
			}
			texts++
			if d, ok := stored[m.Seq]; !ok || d.ClientID != m.ClientID {
				t.Fatalf("round %d: message %d (%s) was stored without its sender being told so", round, m.Seq, m.ClientID)
			}
			if m.SenderRole == RoleAdvisor && m.Seq > moved.Seq {
				t.Fatalf("round %d: Anna's message %d after the transfer at %d", round, m.Seq, moved.Seq)
			}
		}
		if texts != len(stored) || moved.Seq < 3 || closing.Seq <= moved.Seq+1 {
			t.Fatalf("round %d: %d messages stored, %d acked; transfer at %d, close at %d: the senders did not run across both",
				round, texts, len(stored), moved.Seq, closing.Seq)
		}
	}
}
