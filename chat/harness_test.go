package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

const testOrigin = "http://portal.test"

// testRedisOptions returns PORTAL_TEST_REDIS_URL's options. Without it the
// test is skipped, or failed when CI=true.
func testRedisOptions(t testing.TB) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(dbtest.RedisURL(t))
	if err != nil {
		t.Fatalf("PORTAL_TEST_REDIS_URL: %v", err)
	}
	return opt
}

// testPrefix is a channel prefix of the test's own.
func testPrefix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "test:" + hex.EncodeToString(b) + ":"
}

// env is one deployment under test: a database, a broker, and instances.
type env struct {
	t      *testing.T
	db     *database.DB
	auth   *auth.Auth
	fe     *frontend.Frontend
	broker func(t *testing.T) BrokerFactory
	lim    Limits
	now    func() time.Time // the instances' clock; nil: time.Now
}

// variants are the deployments every cross-instance test runs on: the
// single-process mode (SQLite, in-process bus) and the production one
// (PostgreSQL, Redis).
func variants(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite+memory", func(t *testing.T) {
		bus := newMemoryBus()
		fn(t, newEnv(t, dbtest.SQLite(t), func(*testing.T) BrokerFactory { return bus.Factory() }))
	})
	t.Run("postgres+redis", func(t *testing.T) { fn(t, postgresRedisEnv(t)) })
}

// postgresRedisEnv is the production deployment: PostgreSQL, and Redis
// with a channel prefix of the test's own.
func postgresRedisEnv(t *testing.T) *env {
	opt := testRedisOptions(t)
	db := dbtest.Postgres(t)
	prefix := testPrefix(t)
	return newEnv(t, db, func(t *testing.T) BrokerFactory {
		client := redis.NewClient(opt)
		t.Cleanup(func() { _ = client.Close() })
		return RedisFactory(RedisConfig{Client: client, Prefix: prefix})
	})
}

func openDB(t *testing.T, dialect string) *database.DB {
	if dialect == "postgres" {
		return dbtest.Postgres(t)
	}
	return dbtest.SQLite(t)
}

func newEnv(t *testing.T, db *database.DB, broker func(*testing.T) BrokerFactory) *env {
	t.Helper()
	pub, _ := url.Parse(testOrigin)
	a, err := auth.New(auth.Config{
		PublicURL: pub,
		Providers: []auth.ProviderConfig{{Name: "resident", Issuer: "http://127.0.0.1:9", ClientID: "x", ClientSecret: "y",
			Roles: []auth.Role{auth.RoleResident, auth.RoleAdvisor, auth.RoleAdmin}}},
		SecretKey: []byte(strings.Repeat("k", 32)), IdleTimeout: time.Hour, MaxAge: time.Hour,
	}, db.Gorm, auth.NewDBSessions(db.Gorm))
	if err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits()
	lim.Rate, lim.Burst = 100000, 100000
	lim.PollInterval = 200 * time.Millisecond
	return &env{t: t, db: db, auth: a, broker: broker, lim: lim}
}

// frontend builds the real frontend once per env.
func (e *env) frontend() *frontend.Frontend {
	if e.fe == nil {
		fe, err := frontend.New(frontend.Options{
			Location: helsinki(e.t),
			Viewer: func(c *fiber.Ctx) *frontend.Viewer {
				if u := auth.CurrentUser(c); u != nil {
					return &frontend.Viewer{Name: u.Name, Role: u.Role}
				}
				return nil
			},
			CSRFToken: e.auth.CSRFToken,
		})
		if err != nil {
			e.t.Fatalf("frontend: %v", err)
		}
		e.fe = fe
	}
	return e.fe
}

// instance is one portal process: its own chat service, app and listener.
type instance struct {
	svc *Service
	url string // ws://…/chat/ws
	app *fiber.App
}

func (e *env) instance(t *testing.T) *instance {
	t.Helper()
	pub, _ := url.Parse(testOrigin)
	svc, err := New(Config{PublicURL: pub, SecretKey: []byte(strings.Repeat("s", 32)), Limits: e.lim, Hours: "Mon-Sun 00:00-23:59", Location: helsinki(e.t)}, Deps{
		DB: e.db, Broker: e.broker(t), Auth: e.auth, Frontend: e.frontend(),
		Audit: audit.New(e.db.Gorm, nil), Regions: regions.NewStore(e.db.Gorm), Now: e.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The portal's one error handler, so error kinds map as in production.
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: e.frontend().ErrorHandler(slog.New(slog.DiscardHandler))})
	app.Use(e.auth.Session())
	svc.Register(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close chat: %v", err)
		}
		_ = app.ShutdownWithTimeout(2 * time.Second)
	})
	return &instance{svc: svc, url: "ws://" + ln.Addr().String() + "/chat/ws", app: app}
}

// user creates a user with a live session and returns it with its cookie.
type testUser struct {
	*auth.User
	cookie    string
	sessionID string
}

func (e *env) user(t *testing.T, role auth.Role, given string) *testUser {
	t.Helper()
	ctx := context.Background()
	u, err := e.auth.Users().Upsert(ctx, &auth.User{Issuer: "test", Subject: given + "-" + testPrefix(t), Role: role,
		Name: given + " Testinen", GivenName: given}, true)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	cookie := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(cookie))
	now := time.Now().UTC()
	sess := &auth.Session{ID: hex.EncodeToString(sum[:]), UserID: u.ID, CSRFToken: "csrf-" + cookie[:8],
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := auth.NewDBSessions(e.db.Gorm).Create(ctx, sess); err != nil {
		t.Fatal(err)
	}
	return &testUser{User: u, cookie: "asn_session=" + cookie, sessionID: sess.ID}
}

func (u *testUser) principal() *Principal {
	return &Principal{UserID: u.ID, Role: string(u.Role), Name: u.GivenName, SessionID: u.sessionID}
}

// activeConversation opens a conversation of resident and gives it to
// advisor through the queue, as the desk would.
func (e *env) activeConversation(t *testing.T, in *instance, resident, advisor *testUser) *Conversation {
	t.Helper()
	ctx := context.Background()
	cv := &Conversation{ResidentID: &resident.ID, Topic: "rent_debt", Lang: "fi"}
	if err := in.svc.store.NewConversation(ctx, cv); err != nil {
		t.Fatal(err)
	}
	if err := in.svc.store.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
		t.Fatal(err)
	}
	msg, err := in.svc.store.Accept(ctx, cv.ID, advisor.principal(), 10)
	if err != nil {
		t.Fatal(err)
	}
	in.svc.hub.publishMessage(msg, false)
	return cv
}

// frame is any server frame, as a test reads it.
type frame struct {
	Type   string `json:"type"`
	Conv   int64  `json:"conv"`
	Seq    int64  `json:"seq"`
	CID    string `json:"cid"`
	Body   string `json:"body"`
	Code   string `json:"code"`
	From   string `json:"from"`
	Event  string `json:"event"`
	Status string `json:"status"`
	Last   int64  `json:"last"`
	Dup    bool   `json:"dup"`
	// queue frames
	Available int  `json:"available"`
	CanAccept bool `json:"canAccept"`
}

// wsClient is a test's socket: a reader goroutine splits the server's
// messages into frames.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan frame
	closed chan struct{}
	mu     sync.Mutex
	err    error // how the socket ended
}

func dial(t *testing.T, wsURL, cookie, origin string) (*wsClient, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if cookie != "" {
		h.Set("Cookie", cookie)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(wsURL, h)
	if err != nil {
		return nil, resp, err
	}
	c := &wsClient{t: t, conn: conn, frames: make(chan frame, 100000), closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = conn.Close() })
	return c, resp, nil
}

func mustDial(t *testing.T, wsURL, cookie string) *wsClient {
	t.Helper()
	c, _, err := dial(t, wsURL, cookie, testOrigin)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			var f frame
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				c.t.Errorf("undecodable frame %q: %v", line, err)
				continue
			}
			c.frames <- f
		}
	}
}

var writeMu sync.Map // *websocket.Conn → *sync.Mutex: one writer at a time

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	m, _ := writeMu.LoadOrStore(c.conn, &sync.Mutex{})
	m.(*sync.Mutex).Lock()
	defer m.(*sync.Mutex).Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		select {
		case <-c.closed: // the server closed it; the test looks at why
		default:
			c.t.Errorf("write: %v", err)
		}
	}
}

func (c *wsClient) join(conv, after int64) {
	c.send(map[string]any{"type": "hello", "v": 1})
	c.send(map[string]any{"type": "join", "conv": conv, "after": after})
}

// next returns the next frame of a type, skipping others.
func (c *wsClient) next(typ string, timeout time.Duration) (frame, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case f := <-c.frames:
			if f.Type == typ {
				return f, true
			}
		case <-deadline:
			return frame{}, false
		}
	}
}

// closeCode waits for the socket to end and returns the close code.
func (c *wsClient) closeCode(timeout time.Duration) (int, string) {
	select {
	case <-c.closed:
	case <-time.After(timeout):
		return 0, "still open"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ce *websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce.Code, ce.Text
	}
	return -1, fmt.Sprint(c.err)
}

// kill drops the TCP connection without a close frame.
func (c *wsClient) kill() { _ = c.conn.UnderlyingConn().Close() }

// collector follows the message frames of one conversation on one socket
// and fails the test on a duplicate or a gap.
type collector struct {
	seen map[int64]frame
	last int64
}

func (col *collector) add(t *testing.T, who string, f frame) {
	t.Helper()
	if col.seen == nil {
		col.seen = map[int64]frame{}
	}
	if _, dup := col.seen[f.Seq]; dup {
		t.Fatalf("%s: message %d delivered twice", who, f.Seq)
	}
	if f.Seq != col.last+1 {
		t.Fatalf("%s: message %d after %d: out of order or a gap", who, f.Seq, col.last)
	}
	col.seen[f.Seq] = f
	col.last = f.Seq
}

// until reads message frames of c into col until it has reached seq.
func (col *collector) until(t *testing.T, who string, c *wsClient, conv, seq int64, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for col.last < seq {
		select {
		case f := <-c.frames:
			if f.Type == TypeMessage && f.Conv == conv {
				col.add(t, who, f)
			}
			if f.Type == TypeError {
				t.Fatalf("%s: error frame %+v", who, f)
			}
		case <-deadline:
			t.Fatalf("%s: reached %d of %d before the timeout", who, col.last, seq)
		}
	}
}

// tcpProxy stands between a broker and Redis, so a test can cut Redis off
// and bring it back.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
		go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
	}
}

// cut closes every proxied connection and refuses new ones.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// helsinki is the time zone the tests use, as PORTAL_TIME_ZONE's default.
func helsinki(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
