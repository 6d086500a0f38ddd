package chat

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/asumisneuvonta/portal/auth"
	"github.com/asumisneuvonta/portal/portal/database/dbtest"
)

// socketEnv is a single instance with short ping timings.
func socketEnv(t *testing.T) (*env, *instance) {
	t.Helper()
	bus := NewMemoryBus()
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
	if _, ok := c.next(TypeQueue, 5*time.Second); !ok {
		t.Fatal("no queue frame on a new staff socket")
	}
}

func TestSocketOfAnEndedSessionIsClosed(t *testing.T) {
	bus := NewMemoryBus()
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
	if code, reason := c.closeCode(5 * time.Second); code != CloseSessionEnded || reason != ReasonSessionEnded {
		t.Fatalf("closed with %d %q, want %d %q", code, reason, CloseSessionEnded, ReasonSessionEnded)
	}
	if code, reason := stays.closeCode(3 * e.lim.SessionCheck); reason != "still open" {
		t.Fatalf("the other session's socket closed with %d %q", code, reason)
	}
}
