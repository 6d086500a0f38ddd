// Command httpbench measures the portal's pages under many keep-alive
// connections, against one portal process started here on loopback:
//
//   - static: a Fiber handler in this process that returns exactly the bytes
//     (and the Content-Type) the portal's front page returned: the ceiling;
//   - front: the front page, as an anonymous visitor;
//   - my: "Oma asiointi" (/my), as the demo resident Aino, logged in through
//     the development OpenID provider's picker as a browser would;
//   - slots: the booking page's search for free times (GET /booking with
//     topic, type, region and week), as Aino.
//
// Each round runs every target in turn for -duration at -conns connections
// (static, front, my, slots; then the next round), so the static handler and
// the front page are measured side by side under the same machine load. It
// prints, per target and round, requests/s, p50/p95/p99, errors (non-200 or
// transport errors) and the CPU the portal process used, then the totals
// and the ratio front / static. The load average is printed before each
// round: the machine is shared.
//
//	go run ./cmd/httpbench
//	go run ./cmd/httpbench -duration 10s -rounds 3 -conns 200
//	go run ./cmd/httpbench -db 'postgres://postgres@127.0.0.1:5432/bench?sslmode=disable'
//
// The portal is built into a temporary folder (or -portal names a binary),
// runs with SQLite in that folder (or -db), logs to a file there, and is
// stopped at the end, on an error and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/portalproc"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each target runs in each round")
	rounds := flag.Int("rounds", 3, "rounds (each runs every target once)")
	conns := flag.Int("conns", 200, "concurrent keep-alive connections per target")
	warmup := flag.Duration("warmup", 2*time.Second, "untimed load on each target before the first round")
	dbURL := flag.String("db", "", "PORTAL_DATABASE_URL (default: SQLite in the temporary folder)")
	portalBin := flag.String("portal", "", "a built portal binary (default: go build ./cmd/portal into the temporary folder)")
	keep := flag.Bool("keep", false, "keep the temporary folder (the portal's log and database) and print its path")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, config{duration: *duration, rounds: *rounds, conns: *conns, warmup: *warmup,
		db: *dbURL, bin: *portalBin, keep: *keep})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	duration, warmup time.Duration
	rounds, conns    int
	db, bin          string
	keep             bool
}

func run(ctx context.Context, cfg config) (err error) {
	if cfg.conns < 1 || cfg.rounds < 1 || cfg.duration <= 0 {
		return errors.New("-conns, -rounds and -duration must be positive")
	}
	tmp, err := os.MkdirTemp("", "httpbench")
	if err != nil {
		return err
	}
	if cfg.keep {
		defer fmt.Println("kept", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	p, err := startPortal(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.Stop()) }()

	targets, err := prepare(ctx, p)
	if err != nil {
		return err
	}
	static, err := startStatic(targets[0].body, targets[0].contentType)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, static.ShutdownWithTimeout(5*time.Second)) }()
	fmt.Printf("portal pid %d at %s (%s), %d CPUs; %d connections per target, %v per target and round, %d rounds\n",
		p.Pid(), p.Base, p.dialect, runtime.NumCPU(), cfg.conns, cfg.duration, cfg.rounds)
	for _, t := range targets {
		fmt.Printf("  %-6s GET %s (%d bytes, %s)\n", t.name, t.path, len(t.body), t.note)
	}
	fmt.Printf("  %-6s GET / on a fiber.App in this process returning the front page's %d bytes as %s\n\n",
		"static", len(targets[0].body), targets[0].contentType)

	// The static handler first in every round, then the portal's pages.
	all := append([]*target{{name: "static", addr: static.addr, path: "/"}}, targets...)
	for _, t := range all {
		t.client = &fasthttp.HostClient{
			Addr: t.addr, MaxConns: cfg.conns, MaxConnWaitTimeout: 10 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
			MaxIdleConnDuration: time.Minute, NoDefaultUserAgentHeader: true,
		}
	}
	if cfg.warmup > 0 {
		for _, t := range all {
			if r := measure(ctx, t, cfg.conns, cfg.warmup, p.Pid()); r.ok == 0 {
				return fmt.Errorf("warm-up of %s: no request answered 200 (%d errors, first: %s)", t.name, r.errors, r.firstErr)
			}
		}
	}
	fmt.Printf("%-5s %-6s %9s %9s %8s %8s %8s %8s %7s %10s %9s %s\n",
		"round", "target", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "portal cpu", "bench cpu", "load average before")
	results := map[string][]result{}
	for round := 1; round <= cfg.rounds; round++ {
		for _, t := range all {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			load := portalproc.LoadAvg()
			r := measure(ctx, t, cfg.conns, cfg.duration, p.Pid())
			if ctx.Err() != nil {
				return ctx.Err() // cut short: not a figure
			}
			results[t.name] = append(results[t.name], r)
			fmt.Printf("%-5d %-6s %9d %9.0f %8.2f %8.2f %8.2f %8.2f %7d %9.0f%% %8.0f%% %s\n",
				round, t.name, r.ok, r.rate(), ms(r.pct(50)), ms(r.pct(95)), ms(r.pct(99)), ms(r.pct(100)),
				r.errors, r.portalCPU*100, r.benchCPU*100, load)
			if r.firstErr != "" {
				fmt.Printf("      first error: %s\n", r.firstErr)
			}
		}
		if s, f := results["static"][round-1], results["front"][round-1]; s.rate() > 0 {
			fmt.Printf("      round %d: front / static = %.1f %%\n", round, 100*f.rate()/s.rate())
		}
	}

	fmt.Printf("\nall rounds (%d × %v per target; percentiles over every request):\n", cfg.rounds, cfg.duration)
	fmt.Printf("%-6s %9s %9s %8s %8s %8s %7s\n", "target", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors")
	merged := map[string]result{}
	for _, t := range all {
		m := merge(results[t.name])
		merged[t.name] = m
		fmt.Printf("%-6s %9d %9.0f %8.2f %8.2f %8.2f %7d\n",
			t.name, m.ok, m.rate(), ms(m.pct(50)), ms(m.pct(95)), ms(m.pct(99)), m.errors)
	}
	ratio := 100 * merged["front"].rate() / merged["static"].rate()
	verdict := "met"
	if ratio < 50 {
		verdict = "NOT met"
	}
	fmt.Printf("\nfront page / static handler: %.1f %% of the static rate (goal ≥ 50 %%: %s)\n", ratio, verdict)
	fmt.Printf("load average after: %s\n", portalproc.LoadAvg())
	if n, err := p.logErrors(); err != nil {
		return err
	} else if n > 0 {
		fmt.Printf("the portal logged %d error line(s): see %s (-keep keeps it)\n", n, p.LogPath)
	}
	return nil
}

// target is one page under load.
type target struct {
	name, addr, path string
	cookie           string // the Cookie header, or ""
	body             []byte // what the page answered once, before the load
	contentType      string
	note             string
	client           *fasthttp.HostClient
}

// result is one target's run.
type result struct {
	ok, errors int
	took       time.Duration
	latencies  []time.Duration // of the requests answered 200, sorted
	firstErr   string
	portalCPU  float64 // the portal process's CPU time over the run, in cores
	benchCPU   float64 // this process's (load generator and static handler)
}

func (r result) rate() float64 {
	if r.took <= 0 {
		return 0
	}
	return float64(r.ok) / r.took.Seconds()
}

// pct returns the p-th percentile (nearest rank) of the latencies.
func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

func merge(rs []result) result {
	var m result
	for _, r := range rs {
		m.ok += r.ok
		m.errors += r.errors
		m.took += r.took
		m.latencies = append(m.latencies, r.latencies...)
	}
	slices.Sort(m.latencies)
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// measure keeps conns requests in flight on t for d: one goroutine per
// connection, each sending its next request when the last is answered.
//
// The client is fasthttp's, not net/http's: on this 2-core machine the load
// generator shares the CPUs with the servers it measures (and, for the
// static handler, with the server itself), and fasthttp's client spends a
// fraction of net/http's CPU and allocations per request, so more of the
// machine goes to the servers and the ceiling the static handler sets is
// less the client's own. HostClient.MaxConns bounds the connections to
// conns; every goroutine reuses its keep-alive connection.
func measure(ctx context.Context, t *target, conns int, d time.Duration, portalPID int) result {
	type part struct {
		lat      []time.Duration
		errors   int
		firstErr string
	}
	parts := make([]part, conns)
	cpu0, self0 := portalproc.ProcCPU(portalPID), portalproc.SelfCPU()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func(p *part) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			p.lat = make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				req.Reset()
				req.SetRequestURI("http://" + t.addr + t.path)
				req.Header.SetMethod(fasthttp.MethodGet)
				req.Header.Set("Accept", "text/html")
				req.Header.Set("Accept-Language", "fi")
				if t.cookie != "" {
					req.Header.Set("Cookie", t.cookie)
				}
				began := time.Now()
				if !began.Before(deadline) {
					return
				}
				err := t.client.DoDeadline(req, resp, deadline.Add(10*time.Second))
				took := time.Since(began)
				switch {
				case err != nil:
					p.errors++
					if p.firstErr == "" {
						p.firstErr = err.Error()
					}
				case resp.StatusCode() != fasthttp.StatusOK:
					p.errors++
					if p.firstErr == "" {
						p.firstErr = "status " + strconv.Itoa(resp.StatusCode())
					}
				default:
					p.lat = append(p.lat, took)
				}
			}
		}(&parts[i])
	}
	wg.Wait()
	r := result{took: time.Since(start)}
	if cpu1 := portalproc.ProcCPU(portalPID); cpu1 >= cpu0 && cpu0 >= 0 {
		r.portalCPU = (cpu1 - cpu0).Seconds() / r.took.Seconds()
	}
	r.benchCPU = (portalproc.SelfCPU() - self0).Seconds() / r.took.Seconds()
	for _, p := range parts {
		r.latencies = append(r.latencies, p.lat...)
		r.errors += p.errors
		if r.firstErr == "" {
			r.firstErr = p.firstErr
		}
	}
	r.ok = len(r.latencies)
	slices.Sort(r.latencies)
	return r
}

// portal is the measured portal process and its database's dialect.
type portal struct {
	*portalproc.Portal
	dialect string
}

func startPortal(ctx context.Context, cfg config, tmp string) (*portal, error) {
	env := []string{"PORTAL_SINGLE_INSTANCE=true"}
	dialect := "sqlite"
	if cfg.db != "" {
		env = append(env, "PORTAL_DATABASE_URL="+cfg.db)
		dialect = strings.SplitN(cfg.db, ":", 2)[0]
	}
	pp, err := portalproc.Start(ctx, portalproc.Options{Bin: cfg.bin, Dir: tmp, Env: env})
	if err != nil {
		return nil, err
	}
	return &portal{Portal: pp, dialect: dialect}, nil
}

// logErrors counts the log's lines at level ERROR.
func (p *portal) logErrors() (int, error) {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return 0, err
	}
	return strings.Count(string(b), `"level":"ERROR"`), nil
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenID    = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenCSRF  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	regionField = regexp.MustCompile(`(?s)<select[^>]*name="region".*?<option value="([0-9]+)" selected>`)
	slotField   = regexp.MustCompile(`name="slot" value="[0-9]+-[0-9]+"`)
)

// resident is the demo resident whose pages are measured.
const resident = "demo-resident-aino"

// prepare fetches every page once: the front page anonymously (its bytes
// are the static handler's), then Oma asiointi after logging in, and finds a
// free-slot search that lists times. The first target returned is the
// front page.
func prepare(ctx context.Context, p *portal) ([]*target, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	browser := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	get := func(c *http.Client, u string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Language", "fi")
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", resp.Request.URL, resp.StatusCode)
		}
		return resp, body, err
	}

	// The front page, as a first visit: no cookies sent.
	resp, body, err := get(&http.Client{Timeout: 15 * time.Second}, p.Base+"/")
	if err != nil {
		return nil, err
	}
	front := &target{name: "front", addr: p.Addr, path: "/", body: body, contentType: resp.Header.Get("Content-Type"),
		note: "anonymous, no cookies"}
	if n := len(resp.Header.Values("Set-Cookie")); n > 0 {
		front.note += fmt.Sprintf("; it sets %d cookie(s), which the load does not send back", n)
	}

	// Log in as a browser: /my sends to /login, the provider's picker; the
	// picker's form, with its own CSRF token, chooses the resident; the
	// callback sets the session cookie and returns to /my.
	resp, body, err = get(browser, p.Base+"/my")
	if err != nil {
		return nil, fmt.Errorf("opening the login picker: %w", err)
	}
	m1, m2, m3 := formAction.FindSubmatch(body), hiddenID.FindSubmatch(body), hiddenCSRF.FindSubmatch(body)
	if m1 == nil || m2 == nil || m3 == nil || !strings.Contains(string(body), resident) {
		return nil, fmt.Errorf("GET /my did not end at the provider's picker offering %s (at %s)", resident, resp.Request.URL)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m1[1])))
	if err != nil {
		return nil, err
	}
	form := url.Values{"id": {html.UnescapeString(string(m2[1]))}, "csrf": {html.UnescapeString(string(m3[1]))}, "user": {resident}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = browser.Do(req); err != nil {
		return nil, fmt.Errorf("posting the picker: %w", err)
	}
	body, err = io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/my" {
		return nil, fmt.Errorf("the login ended with %d at %s, not at /my", resp.StatusCode, resp.Request.URL)
	}
	baseURL, err := url.Parse(p.Base)
	if err != nil {
		return nil, err
	}
	var cookies []string
	for _, c := range jar.Cookies(baseURL) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	cookie := strings.Join(cookies, "; ")
	my := &target{name: "my", addr: p.Addr, path: "/my", cookie: cookie, body: body,
		note: "logged in as " + resident + ", the session cookie sent"}

	// The free-slot list: the booking page proposes the region of Aino's
	// postal code; search it for the first meeting type it offers, in
	// the current week, then the next.
	_, body, err = get(browser, p.Base+"/booking")
	if err != nil {
		return nil, err
	}
	m := regionField.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("GET /booking proposed no region")
	}
	var slots *target
search:
	for _, week := range []string{"0", "1"} {
		for _, typ := range []string{"video", "phone", "home", "office"} {
			q := url.Values{"topic": {"rent_debt"}, "type": {typ}, "region": {string(m[1])}, "week": {week}}
			resp, body, err := get(browser, p.Base+"/booking?"+q.Encode())
			if err != nil && resp == nil {
				return nil, err
			}
			if n := len(slotField.FindAll(body, -1)); err == nil && n > 0 {
				slots = &target{name: "slots", addr: p.Addr, path: "/booking?" + q.Encode(), cookie: cookie, body: body,
					note: fmt.Sprintf("as %s, %d free times listed", resident, n)}
				break search
			}
		}
	}
	if slots == nil {
		return nil, errors.New("no booking search listed free times")
	}
	return []*target{front, my, slots}, nil
}

// staticServer is the ceiling: a Fiber app answering every GET with the
// same bytes.
type staticServer struct {
	*fiber.App
	addr string
}

func startStatic(body []byte, contentType string) (*staticServer, error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, contentType)
		return c.Send(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		if err := app.Listener(ln); err != nil {
			fmt.Fprintln(os.Stderr, "httpbench: static server:", err)
		}
	}()
	return &staticServer{App: app, addr: ln.Addr().String()}, nil
}
