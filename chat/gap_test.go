package chat

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// A socket that receives messages ahead of a gap reads the gap, and only
// the gap, from the database, and sends what it held from memory: in
// order, each once. Messages that arrive while it reads are held too.
func TestGapIsReadAloneAndHeldMessagesFollow(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		// Seqs 2–21 are stored, as another instance would store them, and
		// their publication is what this instance's socket is given, in an
		// order with gaps. Each frame says where it came from.
		in, rc, cv, c, held := behindSocket(t, e, 20)

		// 2 and 9 never come by pub/sub; 3–8 wait for 2. The database is
		// read for 2 alone once the gap wait has passed. 10–21 come while it
		// is read or after; 9 is read alone in its turn.
		for seq := int64(3); seq <= 8; seq++ {
			c.deliverMessage(cv.ID, seq, held[seq])
		}
		go func() {
			for seq := int64(10); seq <= 21; seq++ {
				c.deliverMessage(cv.ID, seq, held[seq])
				time.Sleep(minGapWait / 10)
			}
		}()

		for want := int64(2); want <= 21; want++ {
			f, ok := rc.next(TypeMessage, 5*time.Second)
			if !ok {
				t.Fatalf("no message %d", want)
			}
			if f.Seq != want {
				t.Fatalf("message %d arrived when %d was due", f.Seq, want)
			}
			from := "pub/sub"
			if want == 2 || want == 9 {
				from = "database"
			}
			if f.Body != from {
				t.Errorf("message %d came from %s, want %s", f.Seq, f.Body, from)
			}
		}
		if f, ok := rc.next(TypeMessage, 3*in.svc.hub.transit.gapWait()); ok {
			t.Fatalf("a message more: %+v", f)
		}
	})
}

// behindSocket sets up a resident's socket joined to a conversation whose
// next n messages (seqs 2 to n+1) are stored, as another instance would
// store them, but not sent: the socket is to be given their publications,
// pub[seq], by deliverMessage. A message's body says where the socket got
// it: "pub/sub" or "database".
func behindSocket(t *testing.T, e *env, n int) (in *instance, rc *wsClient, cv *Conversation, c *client, pub map[int64][]byte) {
	t.Helper()
	in = e.instance(t)
	resident := e.user(t, auth.RoleResident, "Aino")
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	cv = e.activeConversation(t, in, resident, advisor)
	rc = mustDial(t, in.url, resident.cookie)
	rc.join(cv.ID, 0)
	if _, ok := rc.next(typeJoined, 5*time.Second); !ok {
		t.Fatal("no joined frame")
	}
	if f, ok := rc.next(TypeMessage, 5*time.Second); !ok || f.Seq != 1 {
		t.Fatalf("the accepted event: %+v, %v", f, ok)
	}
	var drafts []Draft
	for i := range n {
		drafts = append(drafts, Draft{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleAdvisor,
			SenderID: advisor.ID, SenderName: "Anna", ClientID: fmt.Sprintf("a-%02d", i), Body: "database"})
	}
	pub = map[int64][]byte{}
	for _, s := range in.svc.store.Append(context.Background(), drafts) {
		if s.Err != nil {
			t.Fatal(s.Err)
		}
		m := s.Message
		m.Body = "pub/sub"
		pub[m.Seq] = encodeMessage(&m)
	}
	in.svc.hub.mu.RLock()
	c = in.svc.hub.rooms[cv.ID][0]
	in.svc.hub.mu.RUnlock()
	return in, rc, cv, c, pub
}
