package main

// Side-by-side mode: the portal and Centrifugo v6 with history, in
// interleaved rounds (portal, Centrifugo, portal, …) under the same
// generator (load.go), and the ratio of their latencies.
//
//	chatbench -compare -centrifugo /path/to/centrifugo -conversations 500 -rate 1000 -duration 60s -rounds 3
//
// Each round starts its servers afresh and stops them: the portal's two
// instances on a new PostgreSQL schema with seeded conversations (as in
// a plain run), or two Centrifugo nodes on a new Redis prefix (keys
// removed afterwards). Before every round, whichever server: a
// PostgreSQL CHECKPOINT (so that a round does not pay for the previous
// one's writes) and a rest, then the load average is read.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/portalproc"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

type compareOpts struct {
	db, redis, bin string
	convs, rate    int
	dur, rest      time.Duration
	rounds         int
}

type compareRound struct {
	server     string
	round      int
	loadBefore string
	loadAfter  string
	r          *roundResult
	rssA, rssB int64
	sockets    int
}

const (
	portalName     = "portal"
	centrifugoName = "centrifugo"
)

func compare(ctx context.Context, o compareOpts) error {
	if o.bin == "" {
		return fmt.Errorf("-compare needs -centrifugo, the path of a Centrifugo v6 binary")
	}
	if _, err := os.Stat(o.bin); err != nil {
		return err
	}
	// Bounded: every round is, and the whole run is too.
	limit := time.Duration(2*o.rounds) * (o.dur + o.rest + 3*time.Minute)
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	fmt.Printf("side by side: %d conversations, %d msg/s, %s, %d rounds each, interleaved; db %s, redis %s, centrifugo %s\n",
		o.convs, o.rate, o.dur, o.rounds, o.db, o.redis, o.bin)
	var rounds []compareRound
	for i := 1; i <= o.rounds; i++ {
		for _, name := range []string{portalName, centrifugoName} {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			checkpoint(ctx, o.db)
			select {
			case <-time.After(o.rest):
			case <-ctx.Done():
				return ctx.Err()
			}
			cr := compareRound{server: name, round: i, loadBefore: portalproc.LoadAvg()}
			fmt.Printf("\n== round %d: %s (load average before: %s)\n", i, name, cr.loadBefore)
			var err error
			if name == portalName {
				err = portalRound(ctx, o, &cr)
			} else {
				err = centrifugoRound(ctx, o, &cr)
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", i, name, err)
			}
			cr.loadAfter = portalproc.LoadAvg()
			cr.r.print()
			fmt.Printf("server RSS: A %.1f MiB, B %.1f MiB; load average after: %s\n", mib(cr.rssA), mib(cr.rssB), cr.loadAfter)
			rounds = append(rounds, cr)
			if ctx.Err() != nil { // the round was cut short: say so
				summarize(o, rounds)
				return fmt.Errorf("interrupted in round %d (%s): %w", i, name, ctx.Err())
			}
		}
	}
	summarize(o, rounds)
	return nil
}

// checkpoint asks PostgreSQL to write out the previous round's pages now.
func checkpoint(ctx context.Context, dsn string) {
	db, err := database.Open(ctx, dsn, nil)
	if err != nil {
		fmt.Println("checkpoint:", err)
		return
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, "CHECKPOINT"); err != nil {
		fmt.Println("checkpoint:", err)
	}
}

// portalRound is a plain chatbench run: a fresh schema, seeded
// conversations, two instances on Redis, the resident's socket on A and
// the advisor's on B.
func portalRound(ctx context.Context, o compareOpts, cr *compareRound) error {
	dsn, cleanup, err := prepareDB(ctx, o.db)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Printf("setting up %d conversations…\n", o.convs)
	pairs, err := seed(ctx, dsn, o.convs)
	if err != nil {
		return err
	}
	srvArgs := []string{"-db", dsn, "-redis", o.redis, "-prefix", "chatbench:" + randHex(4) + ":"}
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
	fmt.Printf("opening %d sockets…\n", 2*len(pairs))
	socks, err := openSockets(a, b, pairs)
	defer closeAll(socks)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // joins and their backlog settle
	meter := startPGMeter(ctx, dsn)
	servers, rdb := startCPUMeter(a.cmd.Process.Pid, b.cmd.Process.Pid), startCPUMeter(redisPID(ctx, o.redis))
	cr.r = generate(ctx, socks, o.convs, o.rate, o.dur, 0)
	cr.r.cpu = cpuSpent{servers: servers.stop(), redis: rdb.stop()}
	cr.r.pg = meter.stop(ctx)
	cr.r.store = a.storeTimes().add(b.storeTimes())
	cr.rssA, cr.rssB, cr.sockets = a.rss(), b.rss(), len(socks)
	return nil
}

// centrifugoRound runs two Centrifugo nodes on a fresh Redis prefix, the
// resident's socket on node A and the advisor's on node B.
func centrifugoRound(ctx context.Context, o compareOpts, cr *compareRound) error {
	dir, err := os.MkdirTemp("", "chatbench-centrifugo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	prefix := "chatbench-cf-" + randHex(4)
	defer cfDeleteKeys(context.Background(), o.redis, prefix)
	secret := randHex(32)
	a, err := startCentrifugo(ctx, o.bin, dir, "a", o.redis, prefix, secret)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startCentrifugo(ctx, o.bin, dir, "b", o.redis, prefix, secret)
	if err != nil {
		return err
	}
	defer b.stop()
	fmt.Printf("opening %d sockets…\n", 2*o.convs)
	socks, err := openCentrifugo(a, b, o.convs, secret)
	defer closeAll(socks)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // as for the portal
	servers, rdb := startCPUMeter(a.cmd.Process.Pid, b.cmd.Process.Pid), startCPUMeter(redisPID(ctx, o.redis))
	cr.r = generate(ctx, socks, o.convs, o.rate, o.dur, 0)
	cr.r.cpu = cpuSpent{servers: servers.stop(), redis: rdb.stop()}
	cr.rssA, cr.rssB, cr.sockets = a.rss(), b.rss(), len(socks)
	return nil
}

func closeAll(socks []*sock) {
	for _, s := range socks {
		_ = s.conn.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median of the values; the mean of the middle two for an even count.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func summarize(o compareOpts, rounds []compareRound) {
	fmt.Printf("\n== side by side: %d conversations (sockets of a conversation on different instances), %d msg/s offered for %s, %d rounds each\n",
		o.convs, o.rate, o.dur, o.rounds)
	fmt.Printf("%-5s %-10s %-16s %-16s %9s %6s %5s %5s %8s %8s %8s %9s\n",
		"round", "server", "load before", "load after", "delivered", "lost", "dups", "gaps", "p50 ms", "p95 ms", "p99 ms", "ack p99")
	type agg struct {
		p50, p95, p99, ack99                    []float64
		sent, delivered, lost, dups, gaps, errs int64
	}
	by := map[string]*agg{portalName: {}, centrifugoName: {}}
	for _, cr := range rounds {
		r := cr.r
		fmt.Printf("%-5d %-10s %-16s %-16s %9d %6d %5d %5d %8.2f %8.2f %8.2f %9.2f\n",
			cr.round, cr.server, cr.loadBefore, cr.loadAfter, r.delivered, r.lost(), r.dups, r.gaps,
			ms(r.pct(0.50)), ms(r.pct(0.95)), ms(r.pct(0.99)), ms(pctOf(r.ackLat, 0.99)))
		a := by[cr.server]
		a.p50 = append(a.p50, ms(r.pct(0.50)))
		a.p95 = append(a.p95, ms(r.pct(0.95)))
		a.p99 = append(a.p99, ms(r.pct(0.99)))
		a.ack99 = append(a.ack99, ms(pctOf(r.ackLat, 0.99)))
		a.sent += r.sent
		a.delivered += r.delivered
		a.lost += r.lost()
		a.dups += r.dups
		a.gaps += r.gaps
		a.errs += r.errs
	}
	fmt.Println()
	for _, name := range []string{portalName, centrifugoName} {
		a := by[name]
		fmt.Printf("%-10s median p50 / p95 / p99: %.2f / %.2f / %.2f ms (send → ack p99 %.2f ms); all rounds: delivered %d/%d, lost %d, duplicated %d, gaps %d, error frames %d\n",
			name, median(a.p50), median(a.p95), median(a.p99), median(a.ack99), a.delivered, a.sent, a.lost, a.dups, a.gaps, a.errs)
	}
	p, c := by[portalName], by[centrifugoName]
	ratio := func(x, y []float64) string {
		if median(y) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", median(x)/median(y))
	}
	fmt.Printf("ratio portal / centrifugo (medians): p50 %s, p95 %s, p99 %s\n",
		ratio(p.p50, c.p50), ratio(p.p95, c.p95), ratio(p.p99, c.p99))
}
