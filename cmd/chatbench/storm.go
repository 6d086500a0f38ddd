package main

// Reconnect storm (issue 15): N sockets dropped in the same instant, and
// how long until they are all back and resumed.
//
//	chatbench -storm 2000                    # a PostgreSQL cluster of its own (see below)
//	chatbench -storm 2000 -db postgres://… -redis redis://…
//
// N conversations, each with its resident's socket on instance A and its
// advisor's on instance B (the same seeding as a load run). Then A is
// killed (SIGKILL): the kernel closes its listener and all N of its
// sockets at once, as when an instance crashes or is OOM-killed. Every
// client sees its socket end at the same moment, which is the worst case
// of a restart: a graceful stop sends 1001 to the same sockets in one loop.
// Each resident client then does what chat.js does: waits the jittered
// back-off (0.5 s doubling to 30 s, ×0.5–1.5, attempts reset once open),
// connects to B (the instance left; a load balancer sends it there), sends
// hello and join with the last seq it has. At the instant of the kill every
// advisor sends one message: the message its resident misses. A client
// is resumed when its new socket has that message.
//
// Reported: the times until 50/90/99/100 % of the clients are resumed
// (from the kill), the attempts and failed attempts, how many missed
// messages were stored before their client's join was sent (so they came
// by the replay), duplicates and gaps, and what the database did: SQL
// statements per second sampled every 100 ms, at the peak (100 ms and
// 1 s windows) and in all.
//
// The database load is counted with pg_stat_statements: its counters move
// when a statement ends, so a 100 ms sample is exact (pg_stat_database's
// are flushed by each backend at most once a second, later when it goes
// idle). Without -db the storm starts a PostgreSQL of its own (initdb in a
// temporary folder, pg_stat_statements preloaded, removed at the end), so
// the count is the chat's alone; with -db it counts the whole database and
// falls back to pg_stat_database when pg_stat_statements is not loaded.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/portalproc"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// The product's back-off (chat.js Socket.retry, PROTOCOL.md).
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
)

// stormLimit bounds the wait for the clients to resume.
const stormLimit = 90 * time.Second

func storm(ctx context.Context, dbURL, redisURL string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	if dbURL == "" {
		pg, err := startPrivatePG(ctx)
		if err != nil {
			return fmt.Errorf("a PostgreSQL of the storm's own: %w", err)
		}
		defer pg.stop()
		dbURL = pg.url()
		fmt.Printf("PostgreSQL of its own: %s (pg_stat_statements preloaded)\n", pg.version)
	}
	dsn, cleanup, err := prepareDB(ctx, dbURL)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Printf("setting up %d conversations…\n", n)
	pairs, err := seed(ctx, dsn, n)
	if err != nil {
		return err
	}
	srvArgs := []string{"-db", dsn, "-redis", redisURL, "-prefix", "chatbench:" + randHex(4) + ":"}
	a, err := startServer(srvArgs)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startServer(srvArgs)
	if err != nil {
		return err
	}
	defer b.stop()
	time.Sleep(500 * time.Millisecond)

	st := &stormRun{b: b, clients: make([]*stormClient, n)}
	defer st.closeAll()
	fmt.Printf("opening %d sockets: %d residents on A, %d advisors on B…\n", 2*n, n, n)
	advisors, err := dialPairs(n, func(i, side int) (*sock, error) {
		p := pairs[i]
		if side == 1 {
			return dialSock(b.addr, p.advisorCookie, p.conv, p.after, chat.RoleAdvisor)
		}
		c := &stormClient{run: st, conv: p.conv, cookie: p.residentCookie, after: p.after}
		st.clients[i] = c
		return c.open(a.addr, p.after)
	})
	st.advisors = advisors
	if err != nil {
		return err
	}
	advisorOf := map[int64]*sock{}
	for _, s := range advisors {
		if s.role == chat.RoleAdvisor {
			advisorOf[s.conv] = s
		}
	}
	for _, c := range st.clients {
		if c.adv = advisorOf[c.conv]; c.adv == nil {
			return fmt.Errorf("conversation %d has no advisor socket", c.conv)
		}
	}
	time.Sleep(2 * time.Second) // joins and their backlog settle
	// As before a load run: the seeding's writes are not the storm's.
	checkpoint(ctx, dsn)
	time.Sleep(5 * time.Second)

	meter := startPGMeter(ctx, dsn) // before the sampler, which counts its queries otherwise
	var postmaster int
	if meter != nil {
		postmaster = meter.postmaster
	}
	sampler, err := startDBSampler(ctx, dsn)
	if err != nil {
		return err
	}
	pgCPU0 := pgCPU(postmaster)
	bCPU := startCPUMeter(b.cmd.Process.Pid)
	self0 := portalproc.SelfCPU()
	loadBefore := portalproc.LoadAvg()
	time.Sleep(time.Second) // a second of the quiet before, for comparison

	// The storm.
	st.storming.Store(true)
	t0 := time.Now()
	if err := a.cmd.Process.Kill(); err != nil {
		return err
	}
	for _, c := range st.clients {
		c.adv.queue(time.Now().UnixNano()) // the message its resident misses
	}
	deadline := t0.Add(stormLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st.resumed() == n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	end := time.Now()
	time.Sleep(time.Second) // the tail, in the samples
	samples, stmts := sampler.stop()
	pgSpent := pgCPU(postmaster) - pgCPU0
	meter.stop(ctx)
	bSpent := bCPU.stop()
	selfSpent := portalproc.SelfCPU() - self0
	loadAfter := portalproc.LoadAvg()
	st.storming.Store(false)

	r := st.result(t0)
	fmt.Printf("\nreconnect storm: %d sockets on instance A cut at once (SIGKILL), clients back on B with chat.js's back-off\n", n)
	fmt.Printf("load average before %s, after %s\n", loadBefore, loadAfter)
	r.print(n, end.Sub(t0))
	printDBLoad(samples, t0, end, r, sampler.what)
	if len(stmts) > 0 {
		fmt.Println("statements from a second before the kill to a second after the last resume, most first:")
		for i, st := range stmts {
			if i == 12 {
				fmt.Printf("  … %d more statements\n", len(stmts)-i)
				break
			}
			q := st.query
			if len(q) > 110 {
				q = q[:110] + "…"
			}
			fmt.Printf("  %7d  %s\n", st.n, q)
		}
	}
	fmt.Printf("CPU from a second before the kill to a second after the last resume (%.1f s): instance B %.2f s, PostgreSQL %.2f s, the clients (this process) %.2f s\n",
		time.Since(t0).Seconds()+1, bSpent.Seconds(), pgSpent.Seconds(), selfSpent.Seconds())
	m := b.mem()
	fmt.Printf("instance B afterwards: %d sockets, RSS %.1f MiB, %d goroutines\n", 2*n, mib(b.rss()), m.Goroutines)
	if r.resumed < n {
		return fmt.Errorf("%d of %d clients had not resumed %s after the kill", n-r.resumed, n, stormLimit)
	}
	if r.dups > 0 || r.gaps > 0 || r.delivered != int64(n) {
		return fmt.Errorf("resume: %d duplicates, %d gaps, %d of %d missed messages delivered", r.dups, r.gaps, r.delivered, n)
	}
	return nil
}

// stormRun is the clients of a storm.
type stormRun struct {
	b        *server
	clients  []*stormClient
	advisors []*sock
	storming atomic.Bool // a lost socket reconnects only while set
	closing  atomic.Bool
}

// stormClient is one resident's page: its socket, and when its socket is
// lost, the reconnection.
type stormClient struct {
	run    *stormRun
	conv   int64
	cookie string
	after  int64 // what it had seen when the storm began
	adv    *sock // the other side, on B

	mu        sync.Mutex
	cur       *sock
	since     []*sock   // the sockets opened after the loss
	gotAt     time.Time // when a socket since the loss got the missed message, if that socket was lost again
	lostAt    time.Time
	openAt    time.Time // the first socket open again
	joinAt    time.Time // its join written
	attempts  int       // connection attempts after the loss
	failures  map[string]int
	reconnect bool // a reconnection is under way
}

// open connects once to addr, resumes after `after`, and reads on with
// the load generator's reader; when the reader ends, lost runs.
func (c *stormClient) open(addr string, after int64) (*sock, error) {
	// One attempt, no retries of its own (dialSock retries): the back-off
	// is the product's, in lost. Like a browser the handshake gets a long
	// timeout.
	h := http.Header{}
	h.Set("Cookie", c.cookie)
	h.Set("Origin", origin)
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	conn, resp, err := d.Dial("ws://"+addr+"/chat/ws", h)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	s := &sock{conn: conn, conv: c.conv, role: chat.RoleResident, last: after}
	openedAt := time.Now()
	// As chat.js: hello on open, then the page joins with what it has.
	hello := []byte(`{"type":"hello","v":1}`)
	join := []byte(`{"type":"join","conv":` + strconv.FormatInt(c.conv, 10) + `,"after":` + strconv.FormatInt(after, 10) + `}`)
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := conn.WriteMessage(websocket.TextMessage, join); err != nil {
		_ = conn.Close()
		return nil, err
	}
	joinedAt := time.Now()
	c.mu.Lock()
	c.cur = s
	if !c.lostAt.IsZero() {
		c.since = append(c.since, s)
		if c.openAt.IsZero() {
			c.openAt, c.joinAt = openedAt, joinedAt
		}
	}
	c.mu.Unlock()
	go func() {
		s.read()
		c.lost(s)
	}()
	return s, nil
}

// lost: the socket's reader ended. While the storm runs the client
// reconnects as chat.js does.
func (c *stormClient) lost(s *sock) {
	if c.run.closing.Load() || !c.run.storming.Load() {
		return
	}
	c.mu.Lock()
	if c.cur != s || c.reconnect {
		c.mu.Unlock()
		return
	}
	if c.lostAt.IsZero() {
		c.lostAt = time.Now()
	}
	c.reconnect = true
	c.mu.Unlock()
	s.mu.Lock()
	after := s.last
	var got time.Time
	if len(s.latAt) > 0 {
		got = time.Unix(0, s.latAt[0])
	}
	s.mu.Unlock()
	c.mu.Lock()
	if c.gotAt.IsZero() && len(c.since) > 0 {
		c.gotAt = got
	}
	c.mu.Unlock()
	go c.reconnectTo(c.run.b.addr, after)
}

func (c *stormClient) reconnectTo(addr string, after int64) {
	defer func() {
		c.mu.Lock()
		c.reconnect = false
		c.mu.Unlock()
	}()
	for attempt := 0; ; attempt++ {
		base := min(backoffMax, backoffBase<<min(attempt, 6))
		time.Sleep(time.Duration(float64(base) * (0.5 + rand.Float64())))
		if c.run.closing.Load() || !c.run.storming.Load() {
			return
		}
		c.mu.Lock()
		c.attempts++
		c.mu.Unlock()
		if _, err := c.open(addr, after); err != nil {
			c.mu.Lock()
			if c.failures == nil {
				c.failures = map[string]int{}
			}
			c.failures[failureKind(err)]++
			c.mu.Unlock()
			continue
		}
		return
	}
}

func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrBadHandshake):
		return "refused upgrade"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	return err.Error()
}

// resumed counts the clients whose socket has the missed message.
func (st *stormRun) resumed() int {
	n := 0
	for _, c := range st.clients {
		if _, ok := c.resumedAt(); ok {
			n++
		}
	}
	return n
}

// resumedAt is when the client's socket got the message it missed: the
// arrival the reader recorded.
func (c *stormClient) resumedAt() (time.Time, bool) {
	c.adv.mu.Lock()
	target := c.adv.last // the advisor's own message comes back to it
	c.adv.mu.Unlock()
	if target <= c.after {
		return time.Time{}, false
	}
	c.mu.Lock()
	s, back, got := c.cur, !c.openAt.IsZero(), c.gotAt
	c.mu.Unlock()
	if !got.IsZero() {
		return got, true
	}
	if !back {
		return time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last < target || len(s.latAt) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, s.latAt[len(s.latAt)-1]), true
}

func (st *stormRun) closeAll() {
	st.closing.Store(true)
	for _, c := range st.clients {
		if c == nil {
			continue
		}
		c.mu.Lock()
		s := c.cur
		c.mu.Unlock()
		if s != nil {
			_ = s.conn.Close()
		}
	}
	closeAll(st.advisors)
}

type stormResult struct {
	resumed, replayed, attempts int
	resumeAt, openAt, noticed   []time.Duration // from the kill, sorted
	failures                    map[string]int
	dups, gaps, delivered       int64
	missedLat                   []time.Duration // the missed message: advisor's send → resident's arrival
}

func (st *stormRun) result(t0 time.Time) stormResult {
	r := stormResult{failures: map[string]int{}}
	for _, c := range st.clients {
		at, ok := c.resumedAt()
		c.mu.Lock()
		r.attempts += c.attempts
		for k, v := range c.failures {
			r.failures[k] += v
		}
		if !c.lostAt.IsZero() {
			r.noticed = append(r.noticed, c.lostAt.Sub(t0))
		}
		if !c.openAt.IsZero() {
			r.openAt = append(r.openAt, c.openAt.Sub(t0))
		}
		joinAt, since := c.joinAt, c.since
		c.mu.Unlock()
		if ok {
			r.resumed++
			r.resumeAt = append(r.resumeAt, at.Sub(t0))
		}
		c.adv.mu.Lock()
		var ackAt time.Time
		if len(c.adv.ackLat) > 0 && len(c.adv.sentAt) > 0 {
			ackAt = time.Unix(0, c.adv.sentAt[0]).Add(c.adv.ackLat[0])
		}
		c.adv.mu.Unlock()
		if !ackAt.IsZero() && !joinAt.IsZero() && ackAt.Before(joinAt) {
			r.replayed++ // stored before the join was sent: only the replay can bring it
		}
		for _, s := range since {
			s.mu.Lock()
			r.dups += s.dups
			r.gaps += s.gaps
			r.delivered += s.delivered.Load()
			r.missedLat = append(r.missedLat, s.lat...)
			s.mu.Unlock()
		}
	}
	slices.Sort(r.resumeAt)
	slices.Sort(r.openAt)
	slices.Sort(r.noticed)
	slices.Sort(r.missedLat)
	return r
}

// within is the time by which a share p of n had happened, or -1.
func within(sorted []time.Duration, n int, p float64) time.Duration {
	k := int(float64(n)*p + 0.999999) // ceil
	if k < 1 || k > len(sorted) {
		return -1
	}
	return sorted[k-1]
}

func fmtWithin(d time.Duration) string {
	if d < 0 {
		return "not reached"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func (r stormResult) print(n int, waited time.Duration) {
	fmt.Printf("resumed (the missed message on the new socket): %d/%d; waited %.1f s\n", r.resumed, n, waited.Seconds())
	fmt.Printf("time from the kill until resumed: 50 %% %s, 90 %% %s, 99 %% %s, 100 %% %s\n",
		fmtWithin(within(r.resumeAt, n, 0.5)), fmtWithin(within(r.resumeAt, n, 0.9)),
		fmtWithin(within(r.resumeAt, n, 0.99)), fmtWithin(within(r.resumeAt, n, 1)))
	fmt.Printf("time from the kill until connected again: 50 %% %s, 99 %% %s, 100 %% %s; the loss noticed by 100 %% after %s\n",
		fmtWithin(within(r.openAt, n, 0.5)), fmtWithin(within(r.openAt, n, 0.99)), fmtWithin(within(r.openAt, n, 1)),
		fmtWithin(within(r.noticed, n, 1)))
	var fails []string
	failed := 0
	for k, v := range r.failures {
		fails = append(fails, fmt.Sprintf("%s %d", k, v))
		failed += v
	}
	slices.Sort(fails)
	fmt.Printf("connection attempts: %d (%.2f per client), failed %d", r.attempts, float64(r.attempts)/float64(max(n, 1)), failed)
	if len(fails) > 0 {
		fmt.Printf(" (%s)", strings.Join(fails, ", "))
	}
	fmt.Println()
	fmt.Printf("missed messages delivered on the new sockets: %d/%d, of which %d stored before their client's join was sent (came by the replay); duplicates %d, gaps %d\n",
		r.delivered, n, r.replayed, r.dups, r.gaps)
	fmt.Printf("the missed message, advisor's send → resident's arrival: p50 %s, p99 %s, max %s\n",
		pctOf(r.missedLat, 0.5).Round(time.Millisecond), pctOf(r.missedLat, 0.99).Round(time.Millisecond), pctOf(r.missedLat, 1).Round(time.Millisecond))
}

// dbSampler reads the database's statement counters every 100 ms on one
// connection of its own.
type dbSampler struct {
	conn    *sql.Conn
	db      *database.DB
	query   string
	what    string
	quit    chan struct{}
	done    chan struct{}
	samples []dbSample
	schema  string           // of pg_stat_statements, when it is there
	before  map[string]int64 // calls by statement text, at the start
}

type dbSample struct {
	at                                  time.Time
	statements, queries, xactN, fetched int64
}

// What pg_stat_statements counts: every statement that ended, BEGIN and
// COMMIT included (track_utility is on by default), in this database,
// except the sampler's own.
const statementsQuery = `SELECT clock_timestamp(), coalesce(sum(s.calls), 0),
	coalesce(sum(s.calls) FILTER (WHERE s.query !~* '^\s*(begin|commit|rollback|start|savepoint|release)'), 0),
	(SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()),
	(SELECT tup_fetched FROM pg_stat_database WHERE datname = current_database())
FROM %s.pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND s.query NOT LIKE '%%pg_stat_statements%%'`

const databaseQuery = `SELECT clock_timestamp(), 0, 0, xact_commit + xact_rollback, tup_fetched
FROM pg_stat_database WHERE datname = current_database()`

func startDBSampler(ctx context.Context, dsn string) (*dbSampler, error) {
	db, err := database.Open(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &dbSampler{conn: conn, db: db, quit: make(chan struct{}), done: make(chan struct{})}
	// The view is in the extension's schema, which the benchmark's
	// search_path leaves out.
	var schema string
	err = conn.QueryRowContext(ctx, "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_stat_statements'").Scan(&schema)
	var x [4]int64
	var at time.Time
	if err == nil {
		q := fmt.Sprintf(statementsQuery, schema)
		err = conn.QueryRowContext(ctx, q).Scan(&at, &x[0], &x[1], &x[2], &x[3])
		s.query = q
	}
	if err == nil {
		s.what, s.schema = "pg_stat_statements", schema
		s.before = s.byStatement(ctx)
	} else {
		s.query = databaseQuery
		s.what = "pg_stat_database"
		fmt.Println("pg_stat_statements is not available here:", err)
		fmt.Println("counting transactions (xact_commit + xact_rollback) instead; each backend reports them at most once a second")
	}
	go s.loop()
	return s, nil
}

func (s *dbSampler) loop() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		// The time is the server's, taken as the counters are read: this
		// process may be slow to see the answer on a busy machine.
		var d dbSample
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.conn.QueryRowContext(ctx, s.query).Scan(&d.at, &d.statements, &d.queries, &d.xactN, &d.fetched)
		cancel()
		if err == nil {
			s.samples = append(s.samples, d)
		}
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

// byStatement is pg_stat_statements' calls by statement text.
func (s *dbSampler) byStatement(ctx context.Context) map[string]int64 {
	rows, err := s.conn.QueryContext(ctx, `SELECT s.query, s.calls FROM `+s.schema+`.pg_stat_statements s
		WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND s.query NOT LIKE '%pg_stat_statements%'`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var q string
		var n int64
		if rows.Scan(&q, &n) == nil {
			out[strings.Join(strings.Fields(q), " ")] += n
		}
	}
	return out
}

// stop ends the sampling and returns the samples and, with
// pg_stat_statements, the statements run meanwhile, most first.
func (s *dbSampler) stop() ([]dbSample, []stmtCount) {
	close(s.quit)
	<-s.done
	defer s.db.Close()
	defer s.conn.Close()
	if s.before == nil {
		return s.samples, nil
	}
	var out []stmtCount
	for q, n := range s.byStatement(context.Background()) {
		if d := n - s.before[q]; d > 0 {
			out = append(out, stmtCount{q, d})
		}
	}
	slices.SortFunc(out, func(a, b stmtCount) int { return int(b.n - a.n) })
	return s.samples, out
}

type stmtCount struct {
	query string
	n     int64
}

// printDBLoad prints the statements per second around the storm: the peak
// over 100 ms and over 1 s, the totals, and a timeline.
func printDBLoad(samples []dbSample, t0, end time.Time, r stormResult, what string) {
	if len(samples) < 2 {
		fmt.Println("database: too few samples")
		return
	}
	val := func(d dbSample) int64 {
		if what == "pg_stat_statements" {
			return d.statements
		}
		return d.xactN
	}
	unit := "SQL statements"
	if what != "pg_stat_statements" {
		unit = "transactions"
	}
	// The rate before the kill: the quiet second.
	var i0 int
	for i0 = 0; i0 < len(samples) && samples[i0].at.Before(t0); i0++ {
	}
	i0 = max(i0-1, 0)
	quiet := rate(samples[0], samples[i0], val)
	var peak100, peak1s float64
	var peak100At, peak1sAt time.Duration
	// Over the shortest span of samples at least 100 ms (1 s) long.
	over := func(i int, d time.Duration) (float64, bool) {
		for j := i + 1; j < len(samples); j++ {
			if samples[j].at.Sub(samples[i].at) >= d {
				return rate(samples[i], samples[j], val), true
			}
		}
		return 0, false
	}
	for i := i0; i+1 < len(samples); i++ {
		if v, ok := over(i, 100*time.Millisecond); ok && v > peak100 {
			peak100, peak100At = v, samples[i].at.Sub(t0)
		}
		if v, ok := over(i, time.Second); ok && v > peak1s {
			peak1s, peak1sAt = v, samples[i].at.Sub(t0)
		}
	}
	last := samples[len(samples)-1]
	for _, s := range samples {
		if !s.at.Before(end) {
			last = s
			break
		}
	}
	total := val(last) - val(samples[i0])
	fmt.Printf("database (%s, sampled every 100 ms): %s per second before the kill %.0f; peak %.0f/s over 100 ms (from %+.1f s), %.0f/s over 1 s (from %+.1f s)\n",
		what, unit, quiet, peak100, peak100At.Seconds(), peak1s, peak1sAt.Seconds())
	fmt.Printf("database: %d %s from the kill until all resumed (%.1f s), %.1f per client",
		total, unit, last.at.Sub(t0).Seconds(), float64(total)/float64(max(r.resumed, 1)))
	if what == "pg_stat_statements" {
		q := last.queries - samples[i0].queries
		fmt.Printf("; without BEGIN/COMMIT: %d, %.1f per client", q, float64(q)/float64(max(r.resumed, 1)))
	}
	fmt.Println()
	// Timeline: rows of a tenth of the storm, at least 100 ms.
	step := max(100*time.Millisecond, (end.Sub(t0) / 10).Round(100*time.Millisecond))
	fmt.Printf("%8s %10s %10s %14s\n", "t (s)", "connected", "resumed", unit[:min(len(unit), 14)]+"/s")
	prev := samples[i0]
	for at := t0.Add(step); ; at = at.Add(step) {
		k := slices.IndexFunc(samples, func(s dbSample) bool { return !s.at.Before(at) })
		if k < 0 {
			break
		}
		conn := countBefore(r.openAt, at.Sub(t0))
		res := countBefore(r.resumeAt, at.Sub(t0))
		fmt.Printf("%8.1f %10d %10d %14.0f\n", at.Sub(t0).Seconds(), conn, res, rate(prev, samples[k], val))
		prev = samples[k]
		if at.After(end) {
			break
		}
	}
}

// pgCPU is the CPU time of a PostgreSQL server on this machine: its
// postmaster and live backends, plus the backends that have exited (the
// postmaster's reaped children): in a storm the killed instance's
// backends exit. Zero when the server's processes are not readable here.
func pgCPU(postmaster int) time.Duration {
	if postmaster <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(postmaster) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0
	}
	cutime, _ := strconv.ParseInt(f[13], 10, 64)
	cstime, _ := strconv.ParseInt(f[14], 10, 64)
	return processTreeCPU(postmaster) + time.Duration(cutime+cstime)*10*time.Millisecond // USER_HZ 100
}

func rate(a, b dbSample, val func(dbSample) int64) float64 {
	dt := b.at.Sub(a.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(val(b)-val(a)) / dt
}

func countBefore(sorted []time.Duration, d time.Duration) int {
	n, _ := slices.BinarySearch(sorted, d+1)
	return n
}

// privatePG is a PostgreSQL cluster of the storm's own on loopback.
type privatePG struct {
	dir, version string
	port         int
	cmd          *exec.Cmd
	done         chan struct{}
}

// pgBin is the folder of PostgreSQL's programs: PG_BIN, else the newest
// /usr/lib/postgresql/*/bin, else the one of pg_ctl on PATH.
func pgBin() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) > 0 {
		slices.SortFunc(found, func(a, b string) int {
			va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
			vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
			return va - vb
		})
		return filepath.Dir(found[len(found)-1]), nil
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", errors.New("no PostgreSQL programs found: set PG_BIN, or pass -db")
	}
	return filepath.Dir(p), nil
}

func startPrivatePG(ctx context.Context) (*privatePG, error) {
	bin, err := pgBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "chatbench-pg")
	if err != nil {
		return nil, err
	}
	p := &privatePG{dir: dir, done: make(chan struct{})}
	fail := func(err error) (*privatePG, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// PostgreSQL refuses to run as root: as root, run it as postgres.
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("running as root needs a postgres user: %w", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(err)
		}
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: attr.Credential}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return fail(err)
	}
	// The shared cluster's settings otherwise (fsync and
	// synchronous_commit on, shared_buffers 128 MB).
	p.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(p.port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
		"-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.max=10000")
	p.cmd.Stdout, p.cmd.Stderr, p.cmd.SysProcAttr = logf, logf, attr
	if err := p.cmd.Start(); err != nil {
		_ = logf.Close()
		return fail(err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := database.Open(ctx, p.url(), nil)
		if err == nil {
			err = db.SQL.QueryRowContext(ctx, "SHOW server_version").Scan(&p.version)
			if err == nil {
				_, err = db.SQL.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
			}
			_ = db.Close()
			if err == nil {
				return p, nil
			}
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return fail(fmt.Errorf("postgres exited: %s", b))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("postgres not ready in 30 s: %w", err)
		}
	}
}

func (p *privatePG) url() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(p.port) + "/postgres?sslmode=disable"
}

// stop shuts the cluster down (fast shutdown, SIGINT; SIGKILL after 20 s)
// and removes its folder.
func (p *privatePG) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = os.RemoveAll(p.dir)
}
