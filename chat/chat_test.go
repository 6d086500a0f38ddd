package chat

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// sendAll sends n messages with client ids prefix-1 … prefix-n.
func sendAll(c *wsClient, conv int64, prefix string, n int) {
	for i := 1; i <= n; i++ {
		c.send(map[string]any{"type": "send", "conv": conv, "cid": fmt.Sprintf("%s-%d", prefix, i), "body": fmt.Sprintf("%s message %d", prefix, i)})
	}
}

// checkOwnOrder verifies that a side's messages appear in the order sent.
func checkOwnOrder(t *testing.T, col *collector, from, prefix string, n int) {
	t.Helper()
	next := 1
	for seq := int64(1); seq <= col.last; seq++ {
		f := col.seen[seq]
		if f.From != from || f.CID == "" {
			continue
		}
		if want := fmt.Sprintf("%s-%d", prefix, next); f.CID != want {
			t.Fatalf("%s's message at seq %d is %s, want %s", from, seq, f.CID, want)
		}
		next++
	}
	if next-1 != n {
		t.Fatalf("%s's messages delivered: %d, want %d", from, next-1, n)
	}
}

func TestTwoInstancesExchangeExactlyOnceInOrder(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		a, b := e.instance(t), e.instance(t)
		resident := e.user(t, auth.RoleResident, "Aino")
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		cv := e.activeConversation(t, a, resident, advisor)

		rc := mustDial(t, a.url, resident.cookie)
		ac := mustDial(t, b.url, advisor.cookie)
		rc.join(cv.ID, 0)
		ac.join(cv.ID, 0)
		for _, c := range []*wsClient{rc, ac} {
			if _, ok := c.next(typeJoined, 5*time.Second); !ok {
				t.Fatal("no joined frame")
			}
		}

		const n = 1000
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); sendAll(rc, cv.ID, "r", n) }()
		go func() { defer wg.Done(); sendAll(ac, cv.ID, "a", n) }()

		total := int64(1 + 2*n) // the "accepted" event, then the messages
		var rcol, acol collector
		var cwg sync.WaitGroup
		cwg.Add(2)
		errs := make(chan string, 2)
		collect := func(col *collector, who string, c *wsClient) {
			defer cwg.Done()
			deadline := time.After(90 * time.Second)
			for col.last < total {
				select {
				case f := <-c.frames:
					if f.Type == TypeError {
						errs <- fmt.Sprintf("%s: error frame %+v", who, f)
						return
					}
					if f.Type != TypeMessage {
						continue
					}
					if _, dup := col.seen[f.Seq]; dup || f.Seq != col.last+1 {
						errs <- fmt.Sprintf("%s: message %d after %d (duplicate or out of order)", who, f.Seq, col.last)
						return
					}
					if col.seen == nil {
						col.seen = map[int64]frame{}
					}
					col.seen[f.Seq], col.last = f, f.Seq
				case <-deadline:
					errs <- fmt.Sprintf("%s: got %d of %d messages", who, col.last, total)
					return
				}
			}
		}
		go collect(&rcol, "resident", rc)
		go collect(&acol, "advisor", ac)
		wg.Wait()
		cwg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		checkOwnOrder(t, &rcol, RoleResident, "r", n)
		checkOwnOrder(t, &rcol, RoleAdvisor, "a", n)
		for seq := int64(1); seq <= total; seq++ {
			if rcol.seen[seq].CID != acol.seen[seq].CID {
				t.Fatalf("seq %d: resident saw %q, advisor %q", seq, rcol.seen[seq].CID, acol.seen[seq].CID)
			}
		}
		var stored int64
		if err := e.db.Gorm.Model(&message{}).Where("conversation_id = ?", cv.ID).Count(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if stored != total {
			t.Fatalf("stored %d messages, want %d", stored, total)
		}
	})
}

func TestKillSocketAndResume(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		a, b := e.instance(t), e.instance(t)
		resident := e.user(t, auth.RoleResident, "Aino")
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		cv := e.activeConversation(t, a, resident, advisor)

		rc := mustDial(t, a.url, resident.cookie)
		ac := mustDial(t, b.url, advisor.cookie)
		rc.join(cv.ID, 0)
		ac.join(cv.ID, 0)

		const n = 300
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; i <= n; i++ {
				rc.send(map[string]any{"type": "send", "conv": cv.ID, "cid": fmt.Sprintf("r-%d", i), "body": "x"})
				if i%50 == 0 {
					time.Sleep(20 * time.Millisecond) // pacing, so the drop lands mid-stream
				}
			}
		}()
		var col collector
		col.until(t, "advisor", ac, cv.ID, 60, 20*time.Second)
		ac.kill() // mid-stream, no close frame
		select {
		case <-ac.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the killed socket did not end")
		}

		// Reconnect to the other instance, as after a load balancer switch.
		ac2 := mustDial(t, a.url, advisor.cookie)
		ac2.join(cv.ID, col.last)
		<-done
		col.until(t, "advisor", ac2, cv.ID, 1+n, 30*time.Second)

		// Nothing more: no duplicate arrives late.
		select {
		case f := <-ac2.frames:
			if f.Type == TypeMessage {
				t.Fatalf("extra message frame %+v", f)
			}
		case <-time.After(300 * time.Millisecond):
		}
	})
}

func TestResendSameClientIDStoresOnce(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		a := e.instance(t)
		resident := e.user(t, auth.RoleResident, "Aino")
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		cv := e.activeConversation(t, a, resident, advisor)
		rc := mustDial(t, a.url, resident.cookie)
		rc.join(cv.ID, 0)

		msg := map[string]any{"type": "send", "conv": cv.ID, "cid": "same-1", "body": "hello"}
		rc.send(msg)
		first, ok := rc.next(TypeAck, 5*time.Second)
		if !ok {
			t.Fatal("no ack")
		}
		// The socket drops before the client saw the ack; it resends on a new one.
		rc.kill()
		rc2 := mustDial(t, a.url, resident.cookie)
		rc2.join(cv.ID, 0)
		rc2.send(msg)
		rc2.send(msg) // twice, even
		for range 2 {
			again, ok := rc2.next(TypeAck, 5*time.Second)
			if !ok {
				t.Fatal("no ack for the resend")
			}
			if again.Seq != first.Seq || !again.Dup {
				t.Fatalf("resend ack = %+v, want seq %d marked dup", again, first.Seq)
			}
		}
		var n int64
		if err := e.db.Gorm.Model(&message{}).Where("conversation_id = ? AND client_id = ?", cv.ID, "same-1").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("stored %d copies, want 1", n)
		}
		// Both copies in one batch: still one.
		res := a.svc.store.Append(context.Background(), []Draft{
			{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleResident, SenderID: resident.ID, ClientID: "batch-1", Body: "a"},
			{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleResident, SenderID: resident.ID, ClientID: "batch-1", Body: "a"},
		})
		if res[0].Err != nil || res[1].Err != nil || res[0].Message.Seq != res[1].Message.Seq || !res[1].Dup {
			t.Fatalf("same client id twice in a batch: %+v", res)
		}
	})
}

func TestRedisOutageLosesNothing(t *testing.T) {
	opt := testRedisOptions(t)
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			proxy := newProxy(t, opt.Addr)
			prefix := testPrefix(t)
			db := openDB(t, name)
			e := newEnv(t, db, func(t *testing.T) BrokerFactory {
				o := *opt
				o.Addr = proxy.addr()
				o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 300*time.Millisecond, time.Second, time.Second
				o.MaxRetries = 0
				client := redis.NewClient(&o)
				t.Cleanup(func() { _ = client.Close() })
				return RedisFactory(RedisConfig{Client: client, Prefix: prefix})
			})
			a, b := e.instance(t), e.instance(t)
			resident := e.user(t, auth.RoleResident, "Aino")
			advisor := e.user(t, auth.RoleAdvisor, "Anna")
			cv := e.activeConversation(t, a, resident, advisor)
			rc := mustDial(t, a.url, resident.cookie)
			ac := mustDial(t, b.url, advisor.cookie)
			rc.join(cv.ID, 0)
			ac.join(cv.ID, 0)

			var rcol, acol collector
			send := func(from int, to int) {
				for i := from; i <= to; i++ {
					rc.send(map[string]any{"type": "send", "conv": cv.ID, "cid": fmt.Sprintf("r-%d", i), "body": "r"})
					ac.send(map[string]any{"type": "send", "conv": cv.ID, "cid": fmt.Sprintf("a-%d", i), "body": "a"})
				}
			}
			send(1, 50)
			rcol.until(t, "resident", rc, cv.ID, 101, 20*time.Second)
			acol.until(t, "advisor", ac, cv.ID, 101, 20*time.Second)

			proxy.cut()
			waitFor(t, "broker down", func() bool { return !a.svc.hub.broker.Healthy() && !b.svc.hub.broker.Healthy() })
			send(51, 150) // stored and delivered locally; the other side polls
			rcol.until(t, "resident", rc, cv.ID, 301, 20*time.Second)
			acol.until(t, "advisor", ac, cv.ID, 301, 20*time.Second)

			proxy.restore()
			waitFor(t, "broker back", func() bool { return a.svc.hub.broker.Healthy() && b.svc.hub.broker.Healthy() })
			send(151, 200)
			rcol.until(t, "resident", rc, cv.ID, 401, 20*time.Second)
			acol.until(t, "advisor", ac, cv.ID, 401, 20*time.Second)
			checkOwnOrder(t, &rcol, RoleResident, "r", 200)
			checkOwnOrder(t, &acol, RoleAdvisor, "a", 200)
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHostileClients(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		a, b := e.instance(t), e.instance(t)
		resident := e.user(t, auth.RoleResident, "Aino")
		other := e.user(t, auth.RoleResident, "Matti")
		advisor := e.user(t, auth.RoleAdvisor, "Anna")
		cv := e.activeConversation(t, a, resident, advisor)

		t.Run("no session is 401 before the upgrade", func(t *testing.T) {
			_, resp, err := dial(t, a.url, "", testOrigin)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("err %v, resp %v; want 401", err, resp)
			}
			_, resp, err = dial(t, a.url, "asn_session=forged", testOrigin)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("forged cookie: err %v, resp %v; want 401", err, resp)
			}
		})
		t.Run("another origin is 403", func(t *testing.T) {
			for _, o := range []string{"https://evil.example", ""} {
				_, resp, err := dial(t, a.url, resident.cookie, o)
				if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("origin %q: err %v, resp %v; want 403", o, err, resp)
				}
			}
		})
		t.Run("joining another resident's conversation", func(t *testing.T) {
			victim := mustDial(t, b.url, resident.cookie)
			victim.join(cv.ID, 0)
			var vcol collector
			vcol.until(t, "victim", victim, cv.ID, 1, 5*time.Second)
			oc := mustDial(t, a.url, other.cookie)
			oc.join(cv.ID, 0)
			f, ok := oc.next(TypeError, 5*time.Second)
			if !ok || f.Code != codeForbidden || f.Conv != cv.ID {
				t.Fatalf("join frame = %+v, want forbidden", f)
			}
			oc.send(map[string]any{"type": "send", "conv": cv.ID, "cid": "evil-1", "body": "hi"})
			oc.send(map[string]any{"type": "typing", "conv": cv.ID})
			f, ok = oc.next(TypeError, 5*time.Second)
			if !ok || f.Code != codeNotJoined {
				t.Fatalf("send frame = %+v, want not_joined", f)
			}
			a.svc.hub.mu.RLock()
			_, inRoom := a.svc.hub.rooms[cv.ID]
			a.svc.hub.mu.RUnlock()
			if inRoom {
				t.Fatal("the intruder's instance holds a room for the conversation")
			}
			select {
			case f := <-victim.frames:
				if f.Type == TypeMessage || f.Type == typeTyping {
					t.Fatalf("the victim got %+v", f)
				}
			case <-time.After(300 * time.Millisecond):
			}
			var n int64
			if err := e.db.Gorm.Model(&message{}).Where("client_id = ?", "evil-1").Count(&n).Error; err != nil || n != 0 {
				t.Fatalf("stored %d intruder messages (err %v)", n, err)
			}
		})
		t.Run("a 1 MB frame closes with the policy code", func(t *testing.T) {
			c := mustDial(t, a.url, resident.cookie)
			big := `{"type":"send","conv":1,"cid":"x","body":"` + strings.Repeat("a", 1<<20) + `"}`
			go func() { _ = c.conn.WriteMessage(websocket.TextMessage, []byte(big)) }()
			code, reason := c.closeCode(10 * time.Second)
			if code != closePolicy || reason != reasonTooLarge {
				t.Fatalf("closed with %d %q, want %d %q", code, reason, closePolicy, reasonTooLarge)
			}
		})
		t.Run("too many frames a second", func(t *testing.T) {
			e.lim.Rate, e.lim.Burst = 5, 10
			defer func() { e.lim.Rate, e.lim.Burst = 100000, 100000 }()
			in := e.instance(t)
			c := mustDial(t, in.url, resident.cookie)
			for range 30 {
				c.send(map[string]any{"type": "typing", "conv": cv.ID})
			}
			if code, reason := c.closeCode(5 * time.Second); code != closePolicy || reason != reasonRateLimited {
				t.Fatalf("closed with %d %q, want rate_limited", code, reason)
			}
		})
		t.Run("too many sockets", func(t *testing.T) {
			u := e.user(t, auth.RoleResident, "Ville")
			var socks []*wsClient
			for i := 0; i <= e.lim.SocketsPerUser; i++ {
				socks = append(socks, mustDial(t, a.url, u.cookie))
			}
			// Sockets register after their handshake, in any order: exactly
			// one of them is over the limit.
			refused := 0
			waitFor(t, "a socket over the limit to be closed", func() bool {
				for _, c := range socks {
					select {
					case <-c.closed:
						return true
					default:
					}
				}
				return false
			})
			for _, c := range socks {
				code, reason := c.closeCode(20 * time.Millisecond)
				switch {
				case code == closePolicy && reason == reasonTooManySockets:
					refused++
				case reason != "still open":
					t.Fatalf("closed with %d %q", code, reason)
				}
			}
			if refused != 1 {
				t.Fatalf("%d sockets refused, want 1", refused)
			}
		})
		t.Run("logout closes the session's sockets everywhere", func(t *testing.T) {
			u := e.user(t, auth.RoleResident, "Sofia")
			c := mustDial(t, b.url, u.cookie)
			c.send(map[string]any{"type": "hello"})
			if _, ok := c.next(typeWelcome, 5*time.Second); !ok {
				t.Fatal("no welcome")
			}
			a.svc.hub.revokeSession(u.sessionID) // instance A's logout hook
			if code, reason := c.closeCode(5 * time.Second); code != closeSessionEnded || reason != reasonSessionEnded {
				t.Fatalf("closed with %d %q, want %d", code, reason, closeSessionEnded)
			}
		})
	})
}
