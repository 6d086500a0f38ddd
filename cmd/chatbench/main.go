// Command chatbench is the chat's load generator. It starts two portal chat
// instances as child processes on loopback (sharing one database and one
// Redis), opens N conversations with the resident's socket on the first
// instance and the advisor's on the second, sends at a fixed rate in both
// directions, stops by itself, and reports delivered/expected, duplicates,
// msgs/s, end-to-end latency percentiles and the servers' memory.
//
//	chatbench -db postgres://… -redis redis://… -conversations 500 -rate 1000 -duration 60s
//	chatbench -db … -redis … -idle 5000        # memory per idle socket
//	chatbench -compare -centrifugo /path/to/centrifugo -conversations 500 -rate 1000 -duration 60s -rounds 3
//
// Only loopback addresses are used; the database gets a schema of its own
// (PostgreSQL) or a temporary file (SQLite), removed at the end.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

const origin = "http://chatbench.local"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "chatbench serve:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

// serve runs one chat instance until stdin closes.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dbURL := fs.String("db", "", "database URL")
	redisURL := fs.String("redis", "", "Redis URL (empty: in-process broker, single instance only)")
	prefix := fs.String("prefix", "chatbench:", "Redis channel prefix")
	writers := fs.Int("writers", 0, "group-commit goroutines (0: default)")
	batch := fs.Int("batch", 0, "messages per transaction at most (0: default)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this instance to the file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := database.Open(ctx, *dbURL, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	pub, _ := url.Parse(origin)
	a, err := auth.New(auth.Config{
		PublicURL: pub, SecretKey: []byte(strings.Repeat("b", 32)), IdleTimeout: 24 * time.Hour, MaxAge: 24 * time.Hour,
		Providers: []auth.ProviderConfig{{Name: "resident", Issuer: "http://127.0.0.1:9", ClientID: "x", ClientSecret: "y",
			Roles: []auth.Role{auth.RoleResident, auth.RoleAdvisor}}},
	}, db.Gorm, auth.NewDBSessions(db.Gorm))
	if err != nil {
		return err
	}
	var broker chat.BrokerFactory
	if *redisURL != "" {
		opt, err := redis.ParseURL(*redisURL)
		if err != nil {
			return err
		}
		opt.PoolSize = 16
		client := redis.NewClient(opt)
		defer client.Close()
		broker = chat.RedisFactory(chat.RedisConfig{Client: client, Prefix: *prefix, Log: log})
	}
	lim := chat.DefaultLimits()
	lim.Writers, lim.MaxBatch = *writers, *batch
	svc, err := chat.New(chat.Config{PublicURL: pub, Limits: lim, Location: time.UTC}, chat.Deps{DB: db, Broker: broker, Auth: a, Audit: audit.New(db.Gorm, nil), Log: log})
	if err != nil {
		return err
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(a.Session())
	app.Get("/bench/mem", func(c *fiber.Ctx) error {
		// Stacks shrink a step per GC; freed pages go back to the OS, so
		// that RSS shows what is live.
		for range 4 {
			runtime.GC()
		}
		debug.FreeOSMemory()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return c.JSON(fiber.Map{"heap": m.HeapInuse, "stack": m.StackInuse, "sys": m.Sys, "goroutines": runtime.NumGoroutine()})
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc.Collectors()...)
	app.Get("/bench/store", serveStoreTimes(reg))
	app.Get("/bench/heap", func(c *fiber.Ctx) error {
		runtime.GC()
		return pprof.Lookup("heap").WriteTo(c.Response().BodyWriter(), 0)
	})
	svc.Register(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = app.Listener(ln) }()
	fmt.Println("READY", ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent closes stdin to stop us
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = svc.Close(sctx)
	return app.ShutdownWithTimeout(2 * time.Second)
}

type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

func startServer(args []string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{"serve"}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("server did not start: %q %v", line, err)
	}
	return &server{cmd: cmd, stdin: stdin, addr: strings.TrimSpace(strings.TrimPrefix(line, "READY "))}, nil
}

func (s *server) stop() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// rss is the process's resident memory in bytes.
func (s *server) rss() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

type memStats struct {
	Heap, Stack, Sys int64
	Goroutines       int
}

func (s *server) mem() memStats {
	var m memStats
	s.getJSON("/bench/mem", &m)
	return m
}

// getJSON decodes what the instance answers at path into v; v stays as it
// was when the instance does not answer.
func (s *server) getJSON(path string, v any) {
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
}

func run(args []string) error {
	fs := flag.NewFlagSet("chatbench", flag.ExitOnError)
	dbURL := fs.String("db", "", "PostgreSQL URL (a schema of its own is created), or empty for a temporary SQLite file")
	redisURL := fs.String("redis", "", "Redis URL; empty runs one instance with the in-process broker")
	convs := fs.Int("conversations", 500, "conversations (two sockets each)")
	rate := fs.Int("rate", 1000, "messages per second offered, both directions together")
	dur := fs.Duration("duration", 60*time.Second, "how long to send")
	idle := fs.Int("idle", 0, "instead of a load run: open this many idle sockets and report memory per socket")
	writers := fs.Int("writers", 0, "server group-commit goroutines (0: default)")
	batch := fs.Int("batch", 0, "server messages per transaction at most (0: default)")
	profile := fs.String("cpuprofile", "", "write the instances' CPU profiles to this path + .a / .b")
	window := fs.Duration("window", 0, "also report latency for each window of this length (0: none)")
	cmpMode := fs.Bool("compare", false, "side by side: rounds against the portal and against Centrifugo v6 with history, interleaved (see sidebyside.go)")
	cfBin := fs.String("centrifugo", "", "with -compare: path of the Centrifugo v6 binary")
	rounds := fs.Int("rounds", 3, "with -compare: rounds per server")
	rest := fs.Duration("rest", 15*time.Second, "with -compare: rest after the checkpoint before each round")
	stormN := fs.Int("storm", 0, "instead of a load run: drop this many sockets at once and time their resume (storm.go)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stormN > 0 {
		return storm(ctx, *dbURL, *redisURL, *stormN)
	}
	if *cmpMode {
		o := compareOpts{db: *dbURL, redis: *redisURL, bin: *cfBin, convs: *convs, rate: *rate, dur: *dur, rest: *rest, rounds: *rounds}
		if o.db == "" {
			o.db = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		}
		if o.redis == "" {
			o.redis = "redis://127.0.0.1:6379/0"
		}
		return compare(ctx, o)
	}

	dsn, cleanup, err := prepareDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer cleanup()
	n := *convs
	if *idle > 0 {
		n = (*idle + 1) / 2
	}
	fmt.Printf("setting up %d conversations…\n", n)
	pairs, err := seed(ctx, dsn, n)
	if err != nil {
		return err
	}

	srvArgs := []string{"-db", dsn, "-prefix", "chatbench:" + randHex(4) + ":",
		"-writers", strconv.Itoa(*writers), "-batch", strconv.Itoa(*batch)}
	if *redisURL != "" {
		srvArgs = append(srvArgs, "-redis", *redisURL)
	}
	withProfile := func(suffix string) []string {
		if *profile == "" {
			return srvArgs
		}
		return append(slices.Clone(srvArgs), "-cpuprofile", *profile+suffix)
	}
	a, err := startServer(withProfile(".a"))
	if err != nil {
		return err
	}
	defer a.stop()
	b := a
	if *redisURL != "" {
		if b, err = startServer(withProfile(".b")); err != nil {
			return err
		}
		defer b.stop()
	}
	time.Sleep(500 * time.Millisecond)
	baseMem := []memStats{a.mem(), b.mem()}
	base := []int64{a.rss(), b.rss()}

	// One resident socket per conversation on A, one advisor socket on B.
	var socks []*sock
	defer func() {
		for _, s := range socks {
			_ = s.conn.Close()
		}
	}()
	open := func(pairs []pair) error {
		fmt.Printf("opening %d sockets…\n", 2*len(pairs))
		more, err := openSockets(a, b, pairs)
		socks = append(socks, more...)
		time.Sleep(2 * time.Second) // joins and their backlog settle
		return err
	}
	if *idle > 0 {
		// A fifth first: what the instances allocate once (database
		// connections, grown maps) is then counted apart from what each
		// further socket costs.
		first := len(pairs) / 5
		if err := open(pairs[:first]); err != nil {
			return err
		}
		time.Sleep(3 * time.Second)
		midMem := []memStats{a.mem(), b.mem()}
		mid := []int64{a.rss(), b.rss()}
		if err := open(pairs[first:]); err != nil {
			return err
		}
		time.Sleep(3 * time.Second)
		if *profile != "" {
			if resp, err := http.Get("http://" + a.addr + "/bench/heap"); err == nil {
				f, _ := os.Create(*profile + ".heap")
				_, _ = io.Copy(f, resp.Body)
				_ = f.Close()
				_ = resp.Body.Close()
			}
		}
		mA, mB := a.mem(), b.mem()
		rssA, rssB := a.rss(), b.rss()
		total, added := len(socks), len(socks)-2*first
		fmt.Printf("idle sockets: %d (%d per instance)\n", total, total/2)
		fmt.Printf("server RSS: A %.1f MiB → %.1f MiB → %.1f MiB, B %.1f MiB → %.1f MiB → %.1f MiB\n",
			mib(base[0]), mib(mid[0]), mib(rssA), mib(base[1]), mib(mid[1]), mib(rssB))
		per := func(label string, n int, rss []int64, m []memStats) {
			perRSS := float64(rssA-rss[0]+rssB-rss[1]) / float64(n)
			perGo := float64(mA.Heap+mA.Stack-m[0].Heap-m[0].Stack+mB.Heap+mB.Stack-m[1].Heap-m[1].Stack) / float64(n)
			perStack := float64(mA.Stack-m[0].Stack+mB.Stack-m[1].Stack) / float64(n)
			fmt.Printf("memory per socket, %s: %.1f KB RSS, %.1f KB Go heap+stacks, of which stacks %.1f KB\n",
				label, perRSS/1024, perGo/1024, perStack/1024)
		}
		per(fmt.Sprintf("all %d from the start", total), total, base, baseMem)
		per(fmt.Sprintf("the last %d", added), added, mid, midMem)
		fmt.Printf("goroutines: A %d, B %d\n", mA.Goroutines, mB.Goroutines)
		return nil
	}
	if err := open(pairs); err != nil {
		return err
	}

	meter := startPGMeter(ctx, dsn)
	servers, rdb := startCPUMeter(a.cmd.Process.Pid, b.cmd.Process.Pid), startCPUMeter(redisPID(ctx, *redisURL))
	if a == b {
		servers = startCPUMeter(a.cmd.Process.Pid)
	}
	r := generate(ctx, socks, n, *rate, *dur, *window)
	r.cpu = cpuSpent{servers: servers.stop(), redis: rdb.stop()}
	r.pg = meter.stop(ctx)
	r.store = a.storeTimes()
	if a != b {
		r.store = r.store.add(b.storeTimes())
	}
	rssA, rssB := a.rss(), b.rss()
	r.print()
	fmt.Printf("server RSS: A %.1f MiB, B %.1f MiB\n", mib(rssA), mib(rssB))
	return nil
}

// openSockets opens each pair's resident socket on a and advisor socket
// on b, 64 at a time.
func openSockets(a, b *server, pairs []pair) ([]*sock, error) {
	socks, err := dialPairs(len(pairs), func(i, side int) (*sock, error) {
		p := pairs[i]
		if side == 1 {
			return dialSock(b.addr, p.advisorCookie, p.conv, p.after, chat.RoleAdvisor)
		}
		return dialSock(a.addr, p.residentCookie, p.conv, p.after, chat.RoleResident)
	})
	if err != nil {
		return socks, fmt.Errorf("dial: %w", err)
	}
	return socks, nil
}

// dialPairs opens both sockets (side 0 and 1) of n conversations, 64 at
// a time; on an error it returns the sockets opened and one of the errors.
func dialPairs(n int, dial func(i, side int) (*sock, error)) ([]*sock, error) {
	socks := make([]*sock, 0, 2*n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var dialErr atomic.Value
	for i := range n {
		for side := range 2 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s, err := dial(i, side)
				if err != nil {
					dialErr.Store(err)
					return
				}
				mu.Lock()
				socks = append(socks, s)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if err, ok := dialErr.Load().(error); ok {
		return socks, err
	}
	return socks, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func totalDelivered(socks []*sock) int64 {
	var n int64
	for _, s := range socks {
		n += s.delivered.Load()
	}
	return n
}

// totalAnswered is how many sends have had their ack or error frame.
func totalAnswered(socks []*sock) int64 {
	var n int64
	for _, s := range socks {
		s.mu.Lock()
		n += s.acks + s.errs
		s.mu.Unlock()
	}
	return n
}

// sock is one benchmark socket: a writer goroutine sends what the
// scheduler queues, a reader counts the peer's messages.
type sock struct {
	conn      *websocket.Conn
	conv      int64
	role      string
	out       chan int64
	delivered atomic.Int64
	// closed is set when the reader saw the socket end before the run
	// closed it: the server dropped it (a slow reader is disconnected with
	// 1013) or the connection broke. What it would have received after that
	// counts as not delivered, though a real client resumes from its seq.
	closed atomic.Bool

	mu     sync.Mutex
	last   int64
	lat    []time.Duration
	latAt  []int64 // when each of lat arrived
	ackLat []time.Duration
	sentAt []int64 // by client id number - 1
	dups   int64
	gaps   int64
	errs   int64
	acks   int64
	seqN   int
}

func dialSock(addr, cookie string, conv, after int64, role string) (*sock, error) {
	h := http.Header{}
	h.Set("Cookie", cookie)
	h.Set("Origin", origin)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	var conn *websocket.Conn
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if conn, _, err = d.Dial("ws://"+addr+"/chat/ws", h); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	s := &sock{conn: conn, conv: conv, role: role, last: after, out: make(chan int64, 4096)}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","conv":`+strconv.FormatInt(conv, 10)+`,"after":`+strconv.FormatInt(after, 10)+`}`)); err != nil {
		return nil, err
	}
	go s.read()
	go s.write()
	return s, nil
}

func (s *sock) queue(ts int64) {
	select {
	case s.out <- ts:
	default: // the socket cannot keep up: counted as not delivered
	}
}

func (s *sock) closeQueue() { close(s.out) }

func (s *sock) write() {
	buf := make([]byte, 0, 256)
	for ts := range s.out {
		s.mu.Lock()
		s.seqN++
		s.sentAt = append(s.sentAt, ts)
		s.mu.Unlock()
		buf = buf[:0]
		buf = append(buf, `{"type":"send","conv":`...)
		buf = strconv.AppendInt(buf, s.conv, 10)
		buf = append(buf, `,"cid":"`...)
		buf = append(buf, s.role[0])
		buf = strconv.AppendInt(buf, int64(s.seqN), 10)
		buf = append(buf, `","body":"`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `"}`...)
		if err := s.conn.WriteMessage(websocket.TextMessage, buf); err != nil {
			return
		}
	}
}

type benchFrame struct {
	Type string `json:"type"`
	CID  string `json:"cid"`
	Seq  int64  `json:"seq"`
	From string `json:"from"`
	Kind string `json:"kind"`
	Body string `json:"body"`
}

func (s *sock) read() {
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.closed.Store(true)
			return
		}
		now := time.Now().UnixNano()
		for line := range strings.SplitSeq(string(data), "\n") {
			var f benchFrame
			if json.Unmarshal([]byte(line), &f) != nil {
				continue
			}
			s.mu.Lock()
			switch f.Type {
			case chat.TypeMessage:
				switch {
				case f.Seq <= s.last:
					s.dups++
				case f.Seq > s.last+1:
					s.gaps++
				}
				s.last = max(s.last, f.Seq)
				if f.Kind == chat.KindText && f.From != s.role {
					if ts, err := strconv.ParseInt(f.Body, 10, 64); err == nil {
						s.lat = append(s.lat, time.Duration(now-ts))
						s.latAt = append(s.latAt, now)
					}
					s.delivered.Add(1)
				}
			case chat.TypeAck:
				s.acks++
				if n, err := strconv.Atoi(f.CID[min(1, len(f.CID)):]); err == nil && n >= 1 && n <= len(s.sentAt) {
					s.ackLat = append(s.ackLat, time.Duration(now-s.sentAt[n-1]))
				}
			case chat.TypeError:
				s.errs++
			}
			s.mu.Unlock()
		}
	}
}

type pair struct {
	conv, after                   int64
	residentCookie, advisorCookie string
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// prepareDB makes a fresh, migrated database and returns its URL.
func prepareDB(ctx context.Context, base string) (string, func(), error) {
	if base == "" {
		dir, err := os.MkdirTemp("", "chatbench")
		if err != nil {
			return "", nil, err
		}
		dsn := "sqlite:" + filepath.Join(dir, "bench.db")
		db, err := database.Open(ctx, dsn, nil)
		if err != nil {
			return "", nil, err
		}
		defer db.Close()
		if _, err := migrations.Up(ctx, db.SQL, db.Dialect); err != nil {
			return "", nil, err
		}
		return dsn, func() { _ = os.RemoveAll(dir) }, nil
	}
	admin, err := database.Open(ctx, base, nil)
	if err != nil {
		return "", nil, err
	}
	schema := "chatbench_" + randHex(6)
	if _, err := admin.SQL.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	cleanup := func() {
		_, _ = admin.SQL.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = admin.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := database.Open(ctx, u.String(), nil)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	defer db.Close()
	if _, err := migrations.Up(ctx, db.SQL, db.Dialect); err != nil {
		cleanup()
		return "", nil, err
	}
	return u.String(), cleanup, nil
}

// seed creates n active conversations, each with its own resident and
// advisor who have a live login session.
func seed(ctx context.Context, dsn string, n int) ([]pair, error) {
	db, err := database.Open(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	users := auth.NewUsers(db.Gorm)
	sessions := auth.NewDBSessions(db.Gorm)
	store := chat.NewStore(db, nil)
	now := time.Now().UTC()
	newUser := func(role auth.Role, sub string) (*auth.User, string, error) {
		u, err := users.Upsert(ctx, &auth.User{Issuer: "chatbench", Subject: sub, Role: role, Name: sub, GivenName: sub}, true)
		if err != nil {
			return nil, "", err
		}
		cookie := randHex(32)
		sum := sha256.Sum256([]byte(cookie))
		err = sessions.Create(ctx, &auth.Session{ID: hex.EncodeToString(sum[:]), UserID: u.ID, CSRFToken: "x",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)})
		return u, "asn_session=" + cookie, err
	}
	out := make([]pair, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	per := (n + 7) / 8
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * per; i < min(n, (w+1)*per); i++ {
				r, rc, err := newUser(auth.RoleResident, "r"+strconv.Itoa(i))
				if err != nil {
					errs <- err
					return
				}
				a, ac, err := newUser(auth.RoleAdvisor, "a"+strconv.Itoa(i))
				if err != nil {
					errs <- err
					return
				}
				cv := &chat.Conversation{ResidentID: &r.ID, Topic: "rent_debt", Lang: "fi"}
				if err := store.NewConversation(ctx, cv); err != nil {
					errs <- err
					return
				}
				if err := store.SetStatus(ctx, a.ID, chat.AdvisorAvailable); err != nil {
					errs <- err
					return
				}
				if _, err := store.Accept(ctx, cv.ID, &chat.Principal{UserID: a.ID, Role: "advisor", Name: a.GivenName}, 3); err != nil {
					errs <- err
					return
				}
				out[i] = pair{conv: cv.ID, residentCookie: rc, advisorCookie: ac}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, errors.Join(err)
	}
	if err := history(ctx, db, store, out); err != nil {
		return nil, err
	}
	return out, nil
}

// historyPerConversation is how many earlier messages each conversation
// has before the run, as in a database in service.
const historyPerConversation = 20

// history gives every conversation some earlier messages through the
// store, then has the database gather statistics, as autovacuum does on a
// database in service. Without it the run starts on empty tables that
// nobody has analysed: each connection would keep the plans it made for
// them (sequential scans) while the tables grow, and measure that instead.
func history(ctx context.Context, db *database.DB, store *chat.Store, pairs []pair) error {
	var drafts []chat.Draft
	flush := func() error {
		for _, r := range store.Append(ctx, drafts) {
			if r.Err != nil {
				return fmt.Errorf("history: %w", r.Err)
			}
		}
		drafts = drafts[:0]
		return nil
	}
	for i := range historyPerConversation {
		for _, p := range pairs {
			drafts = append(drafts, chat.Draft{ConversationID: p.conv, Kind: chat.KindText, SenderRole: chat.RoleResident,
				ClientID: "h" + strconv.Itoa(i), Body: "earlier message"})
			if len(drafts) == 256 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	ids := make([]int64, len(pairs))
	for i, p := range pairs {
		ids[i] = p.conv
	}
	last, err := store.LastSeqs(ctx, ids)
	if err != nil {
		return err
	}
	for i := range pairs {
		pairs[i].after = last[pairs[i].conv] // the sockets join after the history
	}
	_, err = db.SQL.ExecContext(ctx, "ANALYZE")
	return err
}
