// Command soak runs the portal for a while under steady chat, booking and
// secure-message traffic and watches the portal process for leaks.
//
//	go run ./cmd/soak                    # 10 minutes
//	go run ./cmd/soak -duration 2m -every 20s
//
// It builds the portal (or runs -portal), starts it as a child process on
// loopback with its own PostgreSQL schema (created in -db, dropped at the
// end), a Redis database (-redis) and a chat channel prefix of its own,
// seeds its people straight into the database (residents and advisors with
// live login sessions), and drives, for -duration:
//
//   - chat: -chats residents each starting a chat, their advisor accepting
//     it, both on sockets exchanging -messages messages (typing, send, ack,
//     delivery, read receipt), the advisor closing it, sockets closed;
//     again and again. Every advisor also keeps a desk socket open, as the
//     desk page does;
//   - booking: -bookers residents each listing free times, booking one,
//     opening the confirmation and cancelling it;
//   - secure messages: -messengers residents each opening a thread, an
//     advisor of their region reading it from the inbox and replying, the
//     resident reading the reply and answering.
//
// It samples the portal's RSS (VmRSS), open file descriptors (/proc) and
// goroutines (its metrics endpoint) at the start, every -every, at the end
// of the traffic and once more after it has been quiet for 15 s, prints a
// table and a verdict, and exits 1 when:
//
//   - after the warm-up (-warmup, default one minute), a figure grows beyond
//     noise: at the end of the traffic RSS > 1.2 × warm + 16 MiB,
//     goroutines > 1.2 × warm + 20, or descriptors > 1.2 × warm + 10, warm
//     being the first sample after the warm-up;
//   - once quiet, the goroutines are not back to within 20 of the start
//     (sockets and requests over; pools may keep their connections, so the
//     descriptors are not held to the start);
//   - the portal logged a line at level ERROR, or a panic;
//   - any of the traffic failed (an unexpected status, a message not
//     acknowledged or not delivered within 10 s): a soak that stops working
//     would show no growth.
//
// Only 127.0.0.1 is used. The portal is stopped, the schema dropped and
// the chat prefix's Redis keys deleted at the end, on an error and on
// Ctrl-C.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/people"
	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/portalproc"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

type config struct {
	db, redis, bin             string
	duration, every, warmup    time.Duration
	chats, bookers, messengers int
	messages                   int
	keep                       bool
}

func main() {
	var c config
	flag.StringVar(&c.db, "db", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL; a schema of the soak's own is created in it and dropped at the end")
	// Not database 0: the portal's rate-limit counters are keyed by the
	// client's address (127.0.0.1 for every test here), so a database of
	// its own keeps the soak's requests out of other tests' counts.
	flag.StringVar(&c.redis, "redis", "redis://127.0.0.1:6379/15", "Redis URL (the chat's channels get a prefix of the soak's own)")
	flag.StringVar(&c.bin, "portal", "", "a built portal binary (default: go build ./cmd/portal into a temporary folder)")
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long the traffic runs")
	flag.DurationVar(&c.every, "every", time.Minute, "sampling interval")
	flag.DurationVar(&c.warmup, "warmup", time.Minute, "growth is measured from the first sample after this")
	flag.IntVar(&c.chats, "chats", 4, "residents chatting at once, each with an advisor of their own")
	flag.IntVar(&c.messages, "messages", 8, "messages per chat, both sides together")
	flag.IntVar(&c.bookers, "bookers", 2, "residents booking and cancelling at once")
	flag.IntVar(&c.messengers, "messengers", 2, "residents writing secure messages at once")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary folder (the portal's log) and print its path")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) (err error) {
	if c.duration <= 0 || c.every <= 0 || c.warmup < 0 || c.warmup >= c.duration || c.chats < 0 || c.bookers < 0 || c.messengers < 0 || c.messages < 1 {
		return errors.New("-duration and -every must be positive, -warmup shorter than -duration, the counts not negative")
	}
	// Bounded whatever happens: the traffic, the setup and the teardown.
	ctx, cancel := context.WithTimeout(ctx, c.duration+10*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "soak")
	if err != nil {
		return err
	}
	if c.keep {
		defer fmt.Println("kept", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	schemaURL, dropSchema, err := newSchema(ctx, c.db)
	if err != nil {
		return err
	}
	defer dropSchema()
	prefix := "soak:" + randHex(6) + ":"
	defer deleteKeys(c.redis, prefix)

	p, err := startPortal(ctx, c, tmp, schemaURL, prefix)
	if err != nil {
		return err
	}
	defer func() { _ = p.Stop() }() // the normal end stops it earlier; Stop is once
	w, err := seed(ctx, schemaURL, c)
	if err != nil {
		return err
	}
	w.base = p.Base
	w.http = &http.Client{
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
	}
	fmt.Printf("portal pid %d at %s, schema %s, redis %s, chat prefix %s; %d chats, %d bookers, %d messengers, for %s\n",
		p.Pid(), p.Base, schemaOf(schemaURL), c.redis, prefix, c.chats, c.bookers, c.messengers, c.duration)

	var samples []sample
	take := func(label string) {
		s := p.sample(label, w)
		samples = append(samples, s)
		fmt.Println(s.row())
	}
	fmt.Println(header)
	take("start")

	tctx, stopTraffic := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if err := w.startDesks(tctx, &wg); err != nil {
		stopTraffic()
		return err
	}
	for i := range c.chats {
		wg.Go(func() { w.loop(tctx, "chat", func(ctx context.Context) error { return w.chat(ctx, i) }) })
	}
	for i := range c.bookers {
		wg.Go(func() { w.loop(tctx, "booking", func(ctx context.Context) error { return w.book(ctx, i) }) })
	}
	for i := range c.messengers {
		wg.Go(func() { w.loop(tctx, "messages", func(ctx context.Context) error { return w.message(ctx, i) }) })
	}
	began := w.began
	tick := time.NewTicker(c.every)
	for n := 1; ; n++ {
		at := began.Add(time.Duration(n) * c.every)
		if at.After(began.Add(c.duration)) {
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		take((time.Duration(n) * c.every).Round(time.Second).String())
	}
	tick.Stop()
	if rest := time.Until(began.Add(c.duration)); rest > 0 && ctx.Err() == nil {
		select {
		case <-time.After(rest):
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		stopTraffic()
		wg.Wait()
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if last := samples[len(samples)-1]; time.Since(began)-last.at > 5*time.Second {
		take("end")
	}
	stopTraffic()
	wg.Wait()
	w.http.CloseIdleConnections()
	time.Sleep(15 * time.Second)
	take("quiet")

	_ = p.Stop()
	logCheck, err := p.checkLog()
	if err != nil {
		return err
	}
	return verdict(c, samples, w, logCheck)
}

// newSchema creates a schema of the soak's own and returns the URL whose
// search_path is that schema.
func newSchema(ctx context.Context, base string) (string, func(), error) {
	admin, err := database.Open(ctx, base, nil)
	if err != nil {
		return "", nil, err
	}
	schema := "soak_" + randHex(6)
	if _, err := admin.SQL.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		return "", nil, err
	}
	drop := func() {
		if _, err := admin.SQL.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "soak: drop schema:", err)
		}
		_ = admin.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func schemaOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "?"
	}
	return u.Query().Get("search_path")
}

// deleteKeys removes the Redis keys under prefix (the chat keeps none
// today; whatever a later version keeps goes too).
func deleteKeys(redisURL, prefix string) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		_ = rdb.Del(ctx, iter.Val()).Err()
	}
}

// portal is the soaked portal process.
type portal struct{ *portalproc.Portal }

func startPortal(ctx context.Context, c config, tmp, dsn, prefix string) (*portal, error) {
	pp, err := portalproc.Start(ctx, portalproc.Options{Bin: c.bin, Dir: tmp, Env: []string{
		"PORTAL_DATABASE_URL=" + dsn,
		"PORTAL_REDIS_URL=" + c.redis,
		"PORTAL_CHAT_REDIS_PREFIX=" + prefix,
		"PORTAL_SECRET_KEY=" + randHex(32),
		"PORTAL_CHAT_HOURS=Mon-Sun 00:00-24:00", // whenever the soak runs
		"PORTAL_FORM_RATE_LIMIT=100000",         // every simulated person comes from 127.0.0.1
		"PORTAL_LOGIN_RATE_LIMIT=100000",
	}})
	if err != nil {
		return nil, err
	}
	return &portal{pp}, nil
}

type logCheck struct {
	lines, warns int
	bad          []string // ERROR lines, panics
}

var stackLine = regexp.MustCompile(`^goroutine \d+ \[`)

// checkLog reads the portal's log for lines at level ERROR and panics.
func (p *portal) checkLog() (logCheck, error) {
	var lc logCheck
	f, err := os.Open(p.LogPath)
	if err != nil {
		return lc, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		lc.lines++
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil {
			switch {
			case rec.Level == "ERROR" || strings.Contains(strings.ToLower(rec.Msg), "panic"):
				lc.bad = append(lc.bad, line)
			case rec.Level == "WARN":
				lc.warns++
			}
			continue
		}
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") || stackLine.MatchString(line) {
			lc.bad = append(lc.bad, line)
		}
	}
	return lc, sc.Err()
}

// sample is one look at the portal process.
type sample struct {
	label               string
	at                  time.Duration // since the traffic began (the start: 0)
	rss, heap           int64
	goroutines, fds     int
	load                string
	chats, sent, booked int64
	threads, failures   int64
}

const header = "when      RSS MiB  heap MiB  goroutines  fds   chats  chat msgs  bookings  secure msgs  failures  load average"

func (s sample) row() string {
	return fmt.Sprintf("%-8s %8.1f %9.1f %11d %4d %7d %10d %9d %12d %9d  %s",
		s.label, mib(s.rss), mib(s.heap), s.goroutines, s.fds, s.chats, s.sent, s.booked, s.threads, s.failures, s.load)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (p *portal) sample(label string, w *world) sample {
	s := sample{label: label, load: portalproc.LoadAvg(), rss: rss(p.Pid()), fds: openFDs(p.Pid())}
	if !w.began.IsZero() {
		s.at = time.Since(w.began)
	}
	m := scrape(p.Metrics)
	s.goroutines, s.heap = int(m["go_goroutines"]), int64(m["go_memstats_heap_inuse_bytes"])
	s.chats, s.sent, s.booked, s.threads = w.chats.Load(), w.chatMsgs.Load(), w.booked.Load(), w.secure.Load()
	s.failures = w.failures.Load()
	return s
}

func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func openFDs(pid int) int {
	e, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return -1
	}
	return len(e)
}

// scrape reads the gauges of a Prometheus text page.
func scrape(u string) map[string]float64 {
	out := map[string]float64{}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

// verdict prints the growth figures and the verdict; an error fails the run.
func verdict(c config, samples []sample, w *world, lc logCheck) error {
	start, quiet := samples[0], samples[len(samples)-1]
	end := samples[len(samples)-2]
	var warm sample
	for _, s := range samples[1 : len(samples)-1] {
		if s.at >= c.warmup {
			warm = s
			break
		}
	}
	var fails []string
	fmt.Printf("\ntraffic: %d chats (%d messages), %d bookings made and cancelled, %d secure messages, %d failures\n",
		end.chats, end.sent, end.booked, end.threads, end.failures)
	for _, e := range w.firstErrors() {
		fmt.Println("  failure:", e)
	}
	if end.failures > 0 {
		fails = append(fails, fmt.Sprintf("%d traffic failures", end.failures))
	}
	if end.chats == 0 && c.chats > 0 || end.booked == 0 && c.bookers > 0 || end.threads == 0 && c.messengers > 0 {
		fails = append(fails, "some traffic never succeeded")
	}
	fmt.Printf("growth from %s (after the warm-up) to %s (the end of the traffic); allowed: 1.2 × + 16 MiB RSS, + 20 goroutines, + 10 descriptors\n",
		warm.label, end.label)
	check := func(name string, from, to, limit float64, unit string) {
		ok := to <= limit
		mark := "ok"
		if !ok {
			mark = "GROWTH"
			fails = append(fails, fmt.Sprintf("%s grew from %.1f to %.1f%s (limit %.1f)", name, from, to, unit, limit))
		}
		fmt.Printf("  %-11s %8.1f → %8.1f%s (limit %.1f): %s\n", name, from, to, unit, limit, mark)
	}
	check("RSS", mib(warm.rss), mib(end.rss), 1.2*mib(warm.rss)+16, " MiB")
	check("goroutines", float64(warm.goroutines), float64(end.goroutines), 1.2*float64(warm.goroutines)+20, "")
	check("descriptors", float64(warm.fds), float64(end.fds), 1.2*float64(warm.fds)+10, "")
	fmt.Printf("quiet 15 s after the traffic: goroutines %d (start %d, allowed ≤ %d), descriptors %d (start %d), RSS %.1f MiB\n",
		quiet.goroutines, start.goroutines, start.goroutines+20, quiet.fds, start.fds, mib(quiet.rss))
	if quiet.goroutines > start.goroutines+20 {
		fails = append(fails, fmt.Sprintf("goroutines not back once quiet: %d, start %d", quiet.goroutines, start.goroutines))
	}
	fmt.Printf("portal log: %d lines, %d WARN, %d ERROR or panic\n", lc.lines, lc.warns, len(lc.bad))
	for i, l := range lc.bad {
		if i == 10 {
			fmt.Printf("  … %d more\n", len(lc.bad)-i)
			break
		}
		fmt.Println("  ", l)
	}
	if len(lc.bad) > 0 {
		fails = append(fails, fmt.Sprintf("%d ERROR or panic lines in the portal's log", len(lc.bad)))
	}
	if len(fails) > 0 {
		fmt.Println("verdict: FAIL")
		return errors.New(strings.Join(fails, "; "))
	}
	fmt.Println("verdict: PASS (no growth beyond noise, no ERROR or panic, all traffic served)")
	return nil
}

// world is the soak's people and what their traffic counted.
type world struct {
	base      string
	http      *http.Client
	began     time.Time
	residents []people.Person // chat residents first, then bookers, then messengers
	chatAdv   []people.Person
	msgAdv    map[int64]people.Person // by region
	regions   []int64
	cfg       config

	chats, chatMsgs, booked, secure, failures atomic.Int64

	mu     sync.Mutex
	errors []string
}

// seed writes the soak's people through the stores: residents with a
// postal code of a demo region, advisors of a region, and a login session
// for each.
func seed(ctx context.Context, dsn string, c config) (*world, error) {
	db, err := database.Open(ctx, dsn, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	areas, err := people.Areas(ctx, db)
	if err != nil {
		return nil, err
	}
	newPerson := func(role auth.Role, sub string, a people.Area) (people.Person, error) {
		return people.Create(ctx, db, role, "soak", sub, a)
	}
	w := &world{msgAdv: map[int64]people.Person{}, cfg: c}
	for _, a := range areas {
		w.regions = append(w.regions, a.Region)
	}
	for i := range c.chats + c.bookers + c.messengers {
		p, err := newPerson(auth.RoleResident, "resident-"+strconv.Itoa(i), areas[i%len(areas)])
		if err != nil {
			return nil, err
		}
		w.residents = append(w.residents, p)
	}
	for i := range c.chats {
		p, err := newPerson(auth.RoleAdvisor, "chat-advisor-"+strconv.Itoa(i), areas[i%len(areas)])
		if err != nil {
			return nil, err
		}
		w.chatAdv = append(w.chatAdv, p)
	}
	for _, a := range areas {
		p, err := newPerson(auth.RoleAdvisor, "messages-advisor-"+strconv.Itoa(int(a.Region)), a)
		if err != nil {
			return nil, err
		}
		w.msgAdv[a.Region] = p
	}
	return w, nil
}

func (w *world) fail(kind string, err error) {
	w.failures.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errors) < 10 {
		w.errors = append(w.errors, fmt.Sprintf("%s %s: %v", time.Since(w.began).Round(time.Second), kind, err))
	}
}

func (w *world) firstErrors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errors...)
}

// loop runs one person's cycles until ctx ends, with a pause of 0.5–1.5 s
// between them. A cycle cut short by the end of the traffic is no failure.
func (w *world) loop(ctx context.Context, kind string, cycle func(context.Context) error) {
	for ctx.Err() == nil {
		if err := cycle(ctx); err != nil && ctx.Err() == nil {
			w.fail(kind, err)
			pause(ctx, 3*time.Second) // a failing portal is not hammered
		}
		pause(ctx, time.Duration(500+mrand.IntN(1000))*time.Millisecond)
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// request sends one request as who; redirects are not followed.
func (w *world) request(ctx context.Context, who people.Person, method, path string, body io.Reader, ctype string) (int, string, string, error) {
	return people.Request(ctx, w.http, w.base, who, method, path, body, ctype)
}

// get expects 200.
func (w *world) get(ctx context.Context, who people.Person, path string) (string, error) {
	st, _, page, err := w.request(ctx, who, http.MethodGet, path, nil, "")
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", route(path), st)
	}
	return page, err
}

// post sends a form and expects a redirect (303) whose target starts with
// want; it returns the target.
func (w *world) post(ctx context.Context, who people.Person, path string, form url.Values, want string) (string, error) {
	form.Set("_csrf", who.CSRF)
	st, loc, page, err := w.request(ctx, who, http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	return redirected(path, st, loc, page, err, want)
}

// postMultipart sends a streamed message form (the CSRF token first, as
// the portal reads it) and expects a redirect to want….
func (w *world) postMultipart(ctx context.Context, who people.Person, path string, fields [][2]string, want string) (string, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("_csrf", who.CSRF)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	_ = mw.Close()
	st, loc, page, err := w.request(ctx, who, http.MethodPost, path, &b, mw.FormDataContentType())
	return redirected(path, st, loc, page, err, want)
}

func redirected(path string, st int, loc, page string, err error, want string) (string, error) {
	if err != nil {
		return "", err
	}
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, want) {
		return "", fmt.Errorf("POST %s: status %d, location %q, want 303 to %s…: %s", route(path), st, loc, want, excerpt(page))
	}
	return loc, nil
}

var tags = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]+>`)

// excerpt is a page's text, shortened, for an error message.
func excerpt(page string) string {
	t := strings.Join(strings.Fields(tags.ReplaceAllString(page, " ")), " ")
	if len(t) > 200 {
		t = t[:200] + "…"
	}
	return t
}

var number = regexp.MustCompile(`\d+`)

func route(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return number.ReplaceAllString(p, ":id")
}

// idAfter is the number that follows prefix in loc.
func idAfter(loc, prefix string) (int64, error) {
	s := strings.TrimPrefix(loc, prefix)
	if i := strings.IndexAny(s, "?#/"); i >= 0 {
		s = s[:i]
	}
	return strconv.ParseInt(s, 10, 64)
}

// --- chat ---

// frame is what the soak reads of the server's frames.
type frame = people.Frame

// wsConn is a chat socket: a reader goroutine hands the frames over.
type wsConn struct {
	conn   *websocket.Conn
	frames chan frame
	done   chan struct{}
	err    error
}

func (w *world) dial(ctx context.Context, who people.Person) (*wsConn, error) {
	h := http.Header{}
	who.Header(h, w.base, http.MethodGet, "")
	h.Set("Origin", w.base)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(w.base, "http")+"/chat/ws", h)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("chat socket: %w", err)
	}
	c := &wsConn{conn: conn, frames: make(chan frame, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			for line := range bytes.SplitSeq(data, []byte{'\n'}) {
				var f frame
				if json.Unmarshal(line, &f) == nil {
					select {
					case c.frames <- f:
					default: // nobody waits for this socket's frames (a desk's queue)
					}
				}
			}
		}
	}()
	return c, c.send(map[string]any{"type": "hello", "v": 1})
}

func (c *wsConn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// await reads frames until ok says yes, for at most 10 s.
func (c *wsConn) await(ctx context.Context, what string, ok func(frame) bool) (frame, error) {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case f := <-c.frames:
			if f.Type == "error" {
				return f, fmt.Errorf("chat: error frame %q while waiting for %s", f.Code, what)
			}
			if ok(f) {
				return f, nil
			}
		case <-c.done:
			return frame{}, fmt.Errorf("chat: socket closed while waiting for %s: %v", what, c.err)
		case <-t.C:
			return frame{}, fmt.Errorf("chat: no %s within 10 s", what)
		case <-ctx.Done():
			return frame{}, ctx.Err()
		}
	}
}

// close closes as a page does when it is left, and waits for the reader.
func (c *wsConn) close() {
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
	_ = c.conn.Close()
	<-c.done
}

// startDesks opens each chat advisor's desk: the status set to available
// and the desk page's socket, kept open (and opened again should it drop)
// until ctx ends.
func (w *world) startDesks(ctx context.Context, wg *sync.WaitGroup) error {
	w.began = time.Now()
	for _, a := range w.chatAdv {
		if _, err := w.get(ctx, a, "/chat/desk"); err != nil {
			return err
		}
		if _, err := w.post(ctx, a, "/chat/desk/status", url.Values{"status": {"available"}}, "/chat/desk"); err != nil {
			return err
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := w.dial(ctx, a)
				if err != nil {
					if ctx.Err() == nil {
						w.fail("chat desk", err)
					}
					pause(ctx, 2*time.Second)
					continue
				}
				select {
				case <-ctx.Done():
					c.close()
					return
				case <-c.done:
					if ctx.Err() == nil {
						w.fail("chat desk", fmt.Errorf("desk socket closed: %v", c.err))
					}
				}
			}
		})
	}
	return nil
}

var chatLines = []string{
	"Hei, minulla on vuokrarästejä kahdelta kuukaudelta.",
	"Kiitos yhteydenotosta. Onko vuokranantaja jo lähettänyt maksumuistutuksen?",
	"On, ja nyt tuli kirje perinnästä.",
	"Tehdään maksusuunnitelma. Mikä on kuukausitulosi suunnilleen?",
	"Noin 1 300 euroa, vuokra on 690.",
	"Selvä. Voit hakea myös ehkäisevää toimeentulotukea.",
}

// chat is one chat from start to close: the resident starts it, the
// advisor accepts, both sockets join, they take turns (typing, send, ack,
// delivery to the other, read receipt), the advisor closes it, and both
// pages are left.
func (w *world) chat(ctx context.Context, i int) error {
	res, adv := w.residents[i], w.chatAdv[i]
	loc, err := w.post(ctx, res, "/chat/start", url.Values{"topic": {"rent_debt"}, "lang": {"fi"}}, "/chat/c/")
	if err != nil {
		return err
	}
	conv, err := idAfter(loc, "/chat/c/")
	if err != nil {
		return err
	}
	if _, err := w.get(ctx, res, loc); err != nil {
		return err
	}
	join := func(who people.Person) (*wsConn, error) {
		c, err := w.dial(ctx, who)
		if err != nil {
			return nil, err
		}
		if err := c.send(map[string]any{"type": "join", "conv": conv, "after": 0}); err != nil {
			c.close()
			return nil, err
		}
		if _, err := c.await(ctx, "joined", func(f frame) bool { return f.Type == "joined" && f.Conv == conv }); err != nil {
			c.close()
			return nil, err
		}
		return c, nil
	}
	rs, err := join(res)
	if err != nil {
		return err
	}
	defer rs.close()
	if _, err := w.post(ctx, adv, fmt.Sprintf("/chat/desk/c/%d/accept", conv), url.Values{}, "/chat/desk/c/"); err != nil {
		return err
	}
	if _, err := w.get(ctx, adv, fmt.Sprintf("/chat/desk/c/%d", conv)); err != nil {
		return err
	}
	as, err := join(adv)
	if err != nil {
		return err
	}
	defer as.close()
	w.chats.Add(1)
	for n := range w.cfg.messages {
		from, to := rs, as
		if n%2 == 1 {
			from, to = as, rs
		}
		if err := from.send(map[string]any{"type": "typing", "conv": conv}); err != nil {
			return err
		}
		pause(ctx, time.Duration(200+mrand.IntN(400))*time.Millisecond)
		cid := "s" + randHex(8)
		if err := from.send(map[string]any{"type": "send", "conv": conv, "cid": cid, "body": chatLines[n%len(chatLines)]}); err != nil {
			return err
		}
		ack, err := from.await(ctx, "ack", func(f frame) bool { return f.Type == "ack" && f.CID == cid })
		if err != nil {
			return err
		}
		if _, err := to.await(ctx, "delivery", func(f frame) bool { return f.Type == "message" && f.Seq == ack.Seq }); err != nil {
			return err
		}
		if err := to.send(map[string]any{"type": "read", "conv": conv, "seq": ack.Seq}); err != nil {
			return err
		}
		w.chatMsgs.Add(1)
	}
	if _, err := w.post(ctx, adv, fmt.Sprintf("/chat/desk/c/%d/close", conv), url.Values{"outcome": {"advice_given"}}, "/chat/desk"); err != nil {
		return err
	}
	closed := func(f frame) bool { return f.Type == "message" && f.Kind == "system" && f.Event == "closed" }
	if _, err := rs.await(ctx, "the closing message", closed); err != nil {
		return err
	}
	_, err = as.await(ctx, "the closing message", closed)
	return err
}

// --- booking ---

var slotValue = regexp.MustCompile(`name="slot" value="(\d+-\d+)"`)

// book is one booking: free phone times of a region in a week one to
// three weeks ahead, one booked, the confirmation opened, then cancelled.
// A time taken meanwhile (409/422) is no failure: another is picked.
func (w *world) book(ctx context.Context, i int) error {
	who := w.residents[w.cfg.chats+i]
	for try := 0; try < 8; try++ {
		region := w.regions[mrand.IntN(len(w.regions))]
		q := url.Values{"topic": {"rent_debt"}, "type": {"phone"}, "region": {strconv.FormatInt(region, 10)}, "week": {strconv.Itoa(1 + mrand.IntN(3))}}
		page, err := w.get(ctx, who, "/booking?"+q.Encode())
		if err != nil {
			return err
		}
		slots := slotValue.FindAllStringSubmatch(page, -1)
		if len(slots) == 0 {
			continue
		}
		form := url.Values{"topic": q["topic"], "type": q["type"], "region": q["region"],
			"slot": {slots[mrand.IntN(len(slots))][1]}, "phone": {"040 123 4567"}, "message": {"soak"}}
		form.Set("_csrf", who.CSRF)
		st, loc, page, err := w.request(ctx, who, http.MethodPost, "/booking", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
		if err == nil && (st == http.StatusConflict || st == http.StatusUnprocessableEntity) {
			continue
		}
		if loc, err = redirected("/booking", st, loc, page, err, "/booking/"); err != nil {
			return err
		}
		id, err := idAfter(loc, "/booking/")
		if err != nil {
			return err
		}
		if _, err := w.get(ctx, who, fmt.Sprintf("/booking/%d?done=booked", id)); err != nil {
			return err
		}
		if _, err := w.get(ctx, who, "/my"); err != nil {
			return err
		}
		if _, err := w.post(ctx, who, fmt.Sprintf("/booking/%d/cancel", id), url.Values{}, "/"); err != nil {
			return err
		}
		w.booked.Add(1)
		return nil
	}
	return errors.New("booking: no free time found in 8 searches")
}

// --- secure messages ---

// message is one exchange: the resident opens a thread, the advisor of the
// region finds it in the inbox, opens and answers it, the resident reads
// the answer and replies.
func (w *world) message(ctx context.Context, i int) error {
	who := w.residents[w.cfg.chats+w.cfg.bookers+i]
	adv := w.msgAdv[who.Region]
	if _, err := w.get(ctx, who, "/messages/new"); err != nil {
		return err
	}
	loc, err := w.postMultipart(ctx, who, "/messages", [][2]string{{"subject", "Vuokravelka"}, {"body", "Voinko sopia maksusuunnitelmasta?"}}, "/messages/")
	if err != nil {
		return err
	}
	id, err := idAfter(loc, "/messages/")
	if err != nil {
		return err
	}
	if _, err := w.get(ctx, adv, "/desk/messages"); err != nil {
		return err
	}
	thread := fmt.Sprintf("/desk/messages/%d", id)
	if _, err := w.get(ctx, adv, thread); err != nil {
		return err
	}
	if _, err := w.postMultipart(ctx, adv, thread, [][2]string{{"body", "Voit. Soitan sinulle huomenna."}}, thread); err != nil {
		return err
	}
	own := fmt.Sprintf("/messages/%d", id)
	if _, err := w.get(ctx, who, own); err != nil {
		return err
	}
	if _, err := w.postMultipart(ctx, who, own, [][2]string{{"body", "Kiitos!"}}, own); err != nil {
		return err
	}
	w.secure.Add(3)
	return nil
}

// --- small things ---

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
