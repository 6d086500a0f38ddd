package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// socketEnv is a single instance with short ping timings.
func socketEnv(t *testing.T) (*env, *instance) {
	t.Helper()
	bus := newMemoryBus()
	e := newEnv(t, dbtest.SQLite(t), func(*testing.T) BrokerFactory { return bus.Factory() })
	e.lim.PingInterval = 50 * time.Millisecond
	e.lim.PongWait = 300 * time.Millisecond
	return e, e.instance(t)
}

// dialPinged dials like mustDial, with onPing as the client's ping
// handler, set before the client starts reading.
func dialPinged(t *testing.T, wsURL, cookie string, onPing func(c *websocket.Conn, data string) error) *wsClient {
	t.Helper()
	h := http.Header{}
	h.Set("Cookie", cookie)
	h.Set("Origin", testOrigin)
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial(wsURL, h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	conn.SetPingHandler(func(data string) error { return onPing(conn, data) })
	c := &wsClient{t: t, conn: conn, frames: make(chan frame, 1000), closed: make(chan struct{})}
	go c.read()
	return c
}

func (in *instance) sockets() int {
	in.svc.hub.mu.RLock()
	defer in.svc.hub.mu.RUnlock()
	return len(in.svc.hub.clients)
}

func TestSocketIsPingedAndStaysOpenWhileItAnswers(t *testing.T) {
	e, in := socketEnv(t)
	resident := e.user(t, auth.RoleResident, "Aino")
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	cv := e.activeConversation(t, in, resident, advisor)

	var pings atomic.Int32
	c := dialPinged(t, in.url, resident.cookie, func(conn *websocket.Conn, data string) error {
		pings.Add(1)
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	c.join(cv.ID, 0)
	var col collector
	col.until(t, "resident", c, cv.ID, 1, 5*time.Second)

	// Several pong deadlines pass without a frame from the client: the
	// pongs alone keep it open.
	time.Sleep(4 * e.lim.PongWait)
	if n := pings.Load(); n < 5 {
		t.Fatalf("%d pings in %v, want at least 5", n, 4*e.lim.PongWait)
	}
	c.send(map[string]any{"type": "send", "conv": cv.ID, "cid": "still-here", "body": "hei"})
	if f, ok := c.next(TypeAck, 5*time.Second); !ok || f.CID != "still-here" {
		t.Fatalf("ack after the pauses = %+v, %v", f, ok)
	}
}

func TestSilentPeerIsDroppedAfterPongWait(t *testing.T) {
	e, in := socketEnv(t)
	resident := e.user(t, auth.RoleResident, "Aino")
	// A peer that has gone away answers no pings.
	dialPinged(t, in.url, resident.cookie, func(*websocket.Conn, string) error { return nil })
	waitFor(t, "the socket to register", func() bool { return in.sockets() == 1 })
	start := time.Now()
	waitFor(t, "the silent socket to be dropped", func() bool { return in.sockets() == 0 })
	if d := time.Since(start); d < e.lim.PongWait/2 {
		t.Fatalf("dropped after %v, before the pong wait of %v", d, e.lim.PongWait)
	}
}

func TestStaffSocketGetsTheQueueOnConnect(t *testing.T) {
	e, in := socketEnv(t)
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	c := mustDial(t, in.url, advisor.cookie)
	// No join and no hello: the desk's socket gets the queue by itself.
	if _, ok := c.next(typeQueue, 5*time.Second); !ok {
		t.Fatal("no queue frame on a new staff socket")
	}
}

func TestSocketOfAnEndedSessionIsClosed(t *testing.T) {
	bus := newMemoryBus()
	e := newEnv(t, dbtest.SQLite(t), func(*testing.T) BrokerFactory { return bus.Factory() })
	e.lim.SessionCheck = 100 * time.Millisecond
	in := e.instance(t)
	resident := e.user(t, auth.RoleResident, "Aino")
	other := e.user(t, auth.RoleResident, "Matti")
	c := mustDial(t, in.url, resident.cookie)
	stays := mustDial(t, in.url, other.cookie)
	waitFor(t, "both sockets", func() bool { return in.sockets() == 2 })

	// The session ends without a logout on this portal (idle timeout, an
	// administrator, another instance's cleanup).
	if err := auth.NewDBSessions(e.db.Gorm).Delete(context.Background(), resident.sessionID); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.closeCode(5 * time.Second); code != closeSessionEnded || reason != reasonSessionEnded {
		t.Fatalf("closed with %d %q, want %d %q", code, reason, closeSessionEnded, reasonSessionEnded)
	}
	if code, reason := stays.closeCode(3 * e.lim.SessionCheck); reason != "still open" {
		t.Fatalf("the other session's socket closed with %d %q", code, reason)
	}
}

// dialStalled opens a resident socket that joins conv and then never
// reads, with a tiny receive buffer: a phone on a dead train line.
func dialStalled(t *testing.T, wsURL, cookie string, conv int64) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Cookie", cookie)
	h.Set("Origin", testOrigin)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, serr)
		}}
		return nd.Dial(network, addr)
	}}
	conn, _, err := d.Dial(wsURL, h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	join := fmt.Sprintf(`{"type":"join","conv":%d,"after":0}`, conv)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(join)); err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestSlowClientIsDroppedWithoutHoldingUpOthersAndResumes(t *testing.T) {
	bus := newMemoryBus()
	e := newEnv(t, dbtest.SQLite(t), func(*testing.T) BrokerFactory { return bus.Factory() })
	e.lim.SendBuffer = 64 << 10
	e.lim.WriteWait = time.Minute // only the full buffer may drop it
	in := e.instance(t)
	resident := e.user(t, auth.RoleResident, "Aino")
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	cv := e.activeConversation(t, in, resident, advisor)

	dialStalled(t, in.url, resident.cookie, cv.ID)
	// Joined and caught up (its backlog is one message), so that what
	// follows reaches it live rather than through a resume.
	waitFor(t, "the stalled socket to join", func() bool {
		in.svc.hub.mu.RLock()
		room := in.svc.hub.rooms[cv.ID]
		in.svc.hub.mu.RUnlock()
		if len(room) != 1 {
			return false
		}
		c := room[0]
		c.mu.Lock()
		defer c.mu.Unlock()
		st := c.convs.get(cv.ID)
		return st != nil && !st.fetching
	})
	adv := mustDial(t, in.url, advisor.cookie)
	adv.join(cv.ID, 0)
	var acol collector
	acol.until(t, "advisor", adv, cv.ID, 1, 5*time.Second)
	waitFor(t, "both sockets", func() bool { return in.sockets() == 2 })

	// A socket that takes nothing: the advisor writes until the server
	// gives up on it, which must come once its 64 KiB buffer and what the
	// kernel holds for it are full (a few MB at most). The advisor's own
	// socket, which reads, keeps getting everything meanwhile; the advisor
	// sends ten at a time, faster than a person could.
	body := strings.Repeat("rent ", 800)
	n := 0
	for in.sockets() == 2 && n < 4000 {
		for range 10 {
			adv.send(map[string]any{"type": "send", "conv": cv.ID, "cid": fmt.Sprintf("bulk-%d", n), "body": body})
			n++
		}
		acol.until(t, "advisor", adv, cv.ID, int64(1+n), 10*time.Second)
	}
	// Closing it takes a few seconds (its blocked write gets one, its
	// reader two more); the write wait alone would take a minute.
	waitFor(t, "the stalled socket to be dropped", func() bool { return in.sockets() == 1 })

	// The resident comes back and resumes: everything, once, in order.
	back := mustDial(t, in.url, resident.cookie)
	back.join(cv.ID, 0)
	var rcol collector
	rcol.until(t, "resident", back, cv.ID, int64(1+n), 20*time.Second)
}
