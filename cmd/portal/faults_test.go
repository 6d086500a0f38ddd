package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/cmd/internal/people"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files/filestest"
)

// TestFaults runs the production shape — two portal instances on one
// PostgreSQL, one Redis, one S3 server and one clamd, every one a process
// of the test's own — under steady traffic (200 chat conversations at
// 200 messages a second across the instances, 16 people booking and
// cancelling, 4 sending secure messages with a PDF attached), and breaks
// one part at a time:
//
//   - Redis is killed for 30 s and started again;
//   - PostgreSQL is restarted (a fast shutdown and a start, what
//     `pg_ctlcluster restart` does);
//   - one instance is killed with SIGKILL and started again;
//   - the S3 server is stopped for 10 s;
//   - clamd is stopped for 10 s.
//
// For each it counts chat messages sent, delivered, lost and duplicated,
// bookings and uploads made and refused, what people were shown when
// something failed, and the time from the part's return until the service
// is whole again: every message written before it delivered, a booking
// and an upload made after it. It fails on any loss, duplicate, gap,
// half-stored upload, unclear page, on the service not whole within two
// minutes, and on a data race or panic in either instance.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite takes minutes")
	}
	f := startFaultWorld(t)
	f.startTraffic()
	pause(f.ctx, 5*time.Second) // warm

	f.phase("Redis killed for 30 s", func() {
		f.redis.Stop(syscall.SIGKILL)
		pause(f.ctx, 30*time.Second)
		f.must(f.redis.Start())
	})
	f.phase("PostgreSQL restarted", func() {
		f.pg.Stop(syscall.SIGINT) // fast shutdown, as pg_ctlcluster restart
		f.must(f.pg.Start())
	})
	f.phase("instance A killed (SIGKILL) and started again", func() {
		f.a.Stop(syscall.SIGKILL)
		pause(f.ctx, 3*time.Second)
		f.must(f.a.Start())
	})
	f.phase("S3 server stopped for 10 s", func() {
		f.s3.Stop(syscall.SIGTERM)
		pause(f.ctx, 10*time.Second)
		f.must(f.s3.Start())
	})
	f.phase("clamd stopped for 10 s", func() {
		f.clamd.Stop(syscall.SIGTERM)
		pause(f.ctx, 10*time.Second)
		f.must(f.clamd.Start())
	})
	f.finish()
}

// faultWorld is everything the suite runs.
type faultWorld struct {
	t                 *testing.T
	ctx               context.Context
	stop              context.CancelFunc
	pg, redis         *filestest.Server
	s3                *filestest.S3
	clamd             *filestest.Clamd
	a, b              *portalInstance
	db                *database.DB
	web               *faultWeb
	pairs             []chatPair
	chatters          []*chatter
	bookers           []*booker
	uploaders         []*uploader
	regions           []int64
	talking, calm     atomic.Bool
	traffic, requests sync.WaitGroup
	began             time.Time
	results           []phaseResult
	bookerIDs, upIDs  []int64
}

type phaseResult struct {
	name              string
	from, to          time.Time
	back              time.Duration // the part's outage, from the fault to its return
	whole             time.Duration // from its return until the service is whole; -1: never
	seen              map[string]int
	booked, bookFails int64
	stored, refused   int64
}

func (f *faultWorld) must(err error) {
	if err != nil {
		f.t.Fatal(err)
	}
}

func startFaultWorld(t *testing.T) *faultWorld {
	f := &faultWorld{t: t}
	f.ctx, f.stop = context.WithCancel(context.Background())
	t.Cleanup(f.stop)
	t.Cleanup(func() {
		if t.Failed() {
			f.keepLogs()
		}
	})
	var dsn, redisURL string
	f.pg, dsn = startFaultPostgres(t)
	f.redis, redisURL = startFaultRedis(t)
	f.s3 = filestest.StartS3(t, "portal-faults")
	f.clamd = filestest.StartClamd(t)

	env := map[string]string{
		"PORTAL_DATABASE_URL":     dsn,
		"PORTAL_REDIS_URL":        redisURL,
		"PORTAL_SECRET_KEY":       strings.Repeat("f", 64),
		"PORTAL_LOG_LEVEL":        "info",
		"PORTAL_CHAT_HOURS":       "Mon-Sun 00:00-24:00",
		"PORTAL_CHAT_CAPACITY":    "20",
		"PORTAL_CHAT_RATE":        "1000",
		"PORTAL_CHAT_BURST":       "1000",
		"PORTAL_FORM_RATE_LIMIT":  "100000", // everyone comes from 127.0.0.1
		"PORTAL_LOGIN_RATE_LIMIT": "100000",
		"PORTAL_S3_ENDPOINT":      f.s3.Addr,
		"PORTAL_S3_BUCKET":        f.s3.Bucket,
		"PORTAL_S3_ACCESS_KEY":    f.s3.Access,
		"PORTAL_S3_SECRET_KEY":    f.s3.Secret,
		"PORTAL_S3_TLS":           "false",
		"PORTAL_CLAMD_ADDR":       f.clamd.Addr,
	}
	f.a = startFaultPortal(t, "portal-a", env) // migrates and writes the demo data
	// The demo people's issuer is each instance's own development
	// provider; one instance writes them.
	envB := maps.Clone(env)
	envB["PORTAL_DEMO_DATA"] = "false"
	f.b = startFaultPortal(t, "portal-b", envB)
	t.Cleanup(func() { f.checkInstanceLogs() })
	f.web = &faultWeb{bases: []string{f.a.base, f.b.base}, seen: &seen{}, c: &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
	}}
	var err error
	f.db, err = database.Open(context.Background(), dsn, nil)
	f.must(err)
	t.Cleanup(func() { _ = f.db.Close() })
	f.seed()
	return f
}

// seed writes the people and opens the 200 conversations: each resident
// starts a chat on instance A, their advisor accepts it on instance B.
func (f *faultWorld) seed() {
	t := f.t
	areas, err := people.Areas(f.ctx, f.db)
	f.must(err)
	for _, a := range areas {
		f.regions = append(f.regions, a.Region)
	}
	const advisors, perAdvisor = 10, 20
	of := func(i int) people.Area { return areas[i%len(areas)] }
	advs := seedFaultPeople(t, f.db, auth.RoleAdvisor, "chat-advisor", advisors, of)
	residents := seedFaultPeople(t, f.db, auth.RoleResident, "chat-resident", advisors*perAdvisor, func(i int) people.Area { return of(i / perAdvisor) })
	bookers := seedFaultPeople(t, f.db, auth.RoleResident, "booker", 16, of)
	uploaders := seedFaultPeople(t, f.db, auth.RoleResident, "uploader", 4, of)
	seedFaultPeople(t, f.db, auth.RoleAdvisor, "messages-advisor", len(areas), of)

	ctx := f.ctx
	for _, a := range advs {
		if st, _, page, err := f.web.once(ctx, f.b.base, a, http.MethodGet, "/chat/desk", nil, ""); err != nil || st != http.StatusOK {
			t.Fatalf("desk: %d %v %s", st, err, excerptOf(page))
		}
		if st, loc, page, err := f.postAt(f.b.base, a, "/chat/desk/status", url.Values{"status": {"available"}}); err != nil || st != http.StatusSeeOther {
			t.Fatalf("desk status: %d %q %v %s", st, loc, err, excerptOf(page))
		}
	}
	convs := make([]int64, len(residents))
	var wg sync.WaitGroup
	var failed atomic.Value
	sem := make(chan struct{}, 8)
	for i, r := range residents {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, loc, page, err := f.postAt(f.a.base, r, "/chat/start", url.Values{"topic": {"rent_debt"}, "lang": {"fi"}})
			if err != nil || st != http.StatusSeeOther || !strings.HasPrefix(loc, "/chat/c/") {
				failed.Store(fmt.Sprintf("start: %d %q %v %s", st, loc, err, excerptOf(page)))
				return
			}
			conv, err := strconv.ParseInt(strings.TrimPrefix(loc, "/chat/c/"), 10, 64)
			if err != nil {
				failed.Store(err.Error())
				return
			}
			convs[i] = conv
			st, loc, page, err = f.postAt(f.b.base, advs[i/perAdvisor], fmt.Sprintf("/chat/desk/c/%d/accept", conv), url.Values{})
			if err != nil || st != http.StatusSeeOther || !strings.HasPrefix(loc, "/chat/desk/c/") {
				failed.Store(fmt.Sprintf("accept: %d %q %v %s", st, loc, err, excerptOf(page)))
			}
		})
	}
	wg.Wait()
	if v := failed.Load(); v != nil {
		t.Fatal(v)
	}
	// Each side makes one message every 2 s in each conversation: 200
	// conversations, 200 messages a second.
	for k, a := range advs {
		mine := convs[k*perAdvisor : (k+1)*perAdvisor]
		ac := newChatter("a"+strconv.Itoa(k), "advisor", a, 1, mine, 2*time.Second/perAdvisor, f.web)
		f.chatters = append(f.chatters, ac)
		for j, conv := range mine {
			rc := newChatter("r"+strconv.Itoa(k*perAdvisor+j), "resident", residents[k*perAdvisor+j], 0, []int64{conv}, 2*time.Second, f.web)
			f.chatters = append(f.chatters, rc)
			f.pairs = append(f.pairs, chatPair{conv: conv, res: rc, adv: ac})
		}
	}
	for i, p := range bookers {
		f.bookers = append(f.bookers, &booker{who: p, first: i % 2, web: f.web})
		f.bookerIDs = append(f.bookerIDs, p.ID)
	}
	pdf := journeyPDF("Vuokrasopimus", strings.Repeat("x", 64<<10))
	for i, p := range uploaders {
		f.uploaders = append(f.uploaders, &uploader{who: p, first: i % 2, web: f.web, pdf: pdf})
		f.upIDs = append(f.upIDs, p.ID)
	}
}

func (f *faultWorld) postAt(base string, who people.Person, path string, form url.Values) (int, string, string, error) {
	form.Set("_csrf", who.CSRF)
	return f.web.once(f.ctx, base, who, http.MethodPost, path, []byte(form.Encode()), "application/x-www-form-urlencoded")
}

func (f *faultWorld) startTraffic() {
	f.talking.Store(true)
	f.began = time.Now()
	for _, c := range f.chatters {
		f.traffic.Go(func() { c.run(f.ctx, &f.talking) })
	}
	for _, b := range f.bookers {
		f.requests.Go(func() { b.run(f.ctx, f.regions, &f.calm) })
	}
	for _, u := range f.uploaders {
		f.requests.Go(func() { u.run(f.ctx, &f.calm) })
	}
}

// phase breaks a part (fault returns when it is back) and waits until the
// service is whole again.
func (f *faultWorld) phase(name string, fault func()) {
	r := phaseResult{name: name, from: time.Now()}
	f.web.seen.take()
	booked0, bookFails0 := f.sumBookers()
	stored0, refused0 := f.sumUploads()
	fault()
	back := time.Now()
	r.back = back.Sub(r.from)
	r.whole = f.waitWhole(back, 2*time.Minute)
	pause(f.ctx, 2*time.Second) // some steady traffic between the phases
	r.to = time.Now()
	r.seen = f.web.seen.take()
	booked, bookFails := f.sumBookers()
	stored, refused := f.sumUploads()
	r.booked, r.bookFails = booked-booked0, bookFails-bookFails0
	r.stored, r.refused = stored-stored0, refused-refused0
	if r.whole < 0 {
		f.t.Errorf("%s: the service was not whole within 2 minutes of the part's return", name)
	}
	f.results = append(f.results, r)
	f.t.Logf("%s: back after %v, whole %v later", name, r.back.Round(100*time.Millisecond), r.whole.Round(100*time.Millisecond))
}

func (f *faultWorld) sumBookers() (made, fails int64) {
	for _, b := range f.bookers {
		made += b.made.Load()
		fails += b.failedAnswers.Load()
	}
	return made, fails
}

func (f *faultWorld) sumUploads() (stored, refused int64) {
	for _, u := range f.uploaders {
		stored += u.stored.Load()
		refused += u.refused.Load()
	}
	return stored, refused
}

// waitWhole waits until every message made before back is delivered, every
// chatter is connected, and a booking and an upload have been made after
// back; it returns how long that took after back, or -1.
func (f *faultWorld) waitWhole(back time.Time, within time.Duration) time.Duration {
	deadline := back.Add(within)
	for time.Now().Before(deadline) && f.ctx.Err() == nil {
		if f.whole(back) {
			return time.Since(back)
		}
		pause(f.ctx, 100*time.Millisecond)
	}
	return -1
}

func (f *faultWorld) whole(back time.Time) bool {
	for _, c := range f.chatters {
		c.mu.Lock()
		ok := c.connected
		c.mu.Unlock()
		if !ok {
			return false
		}
	}
	if cc := countChat(f.pairs, time.Time{}, back); cc.lost > 0 {
		return false
	}
	after := func(ns int64) bool { return ns > back.UnixNano() }
	booked := false
	for _, b := range f.bookers {
		booked = booked || after(b.lastOK.Load())
	}
	uploaded := false
	for _, u := range f.uploaders {
		uploaded = uploaded || after(u.lastOK.Load())
	}
	return booked && uploaded
}

// finish stops making messages, waits for every message to arrive, stops
// the traffic and checks the counts, the database and the bucket.
func (f *faultWorld) finish() {
	t := f.t
	f.talking.Store(false)
	f.calm.Store(true) // bookers and uploaders finish what they began
	f.requests.Wait()
	end := time.Now()
	for deadline := end.Add(time.Minute); time.Now().Before(deadline); pause(f.ctx, 100*time.Millisecond) {
		if cc := countChat(f.pairs, time.Time{}, time.Time{}); cc.lost == 0 && cc.unacked == 0 {
			break
		}
	}
	f.stop()
	f.traffic.Wait()

	t.Logf("%-48s %8s %8s %9s %5s %4s %8s %8s %6s %7s %7s",
		"phase", "back", "whole", "chat sent", "lost", "dup", "unacked", "bookings", "fails", "uploads", "refused")
	for _, r := range f.results {
		cc := countChat(f.pairs, r.from, r.to)
		t.Logf("%-48s %8v %8v %9d %5d %4d %8d %8d %6d %7d %7d", r.name, r.back.Round(100*time.Millisecond), r.whole.Round(100*time.Millisecond),
			cc.sent, cc.lost, cc.duplicated, cc.unacked, r.booked, r.bookFails, r.stored, r.refused)
		for _, k := range slices.Sorted(maps.Keys(r.seen)) {
			t.Logf("    shown %d×: %s", r.seen[k], k)
		}
	}
	all := countChat(f.pairs, time.Time{}, time.Time{})
	t.Logf("whole run: %d chat messages sent, %d delivered, %d lost %v, %d duplicated, %d out of order; error frames %v",
		all.sent, all.delivered, all.lost, all.lostIDs, all.duplicated, all.gaps, all.codes)
	if all.lost > 0 || all.duplicated > 0 || all.gaps > 0 {
		t.Errorf("chat: %d lost (%v), %d duplicated, %d out of order", all.lost, all.lostIDs, all.duplicated, all.gaps)
	}
	if all.sent < 10000 {
		t.Errorf("only %d chat messages were sent: the traffic did not run", all.sent)
	}
	var unclear int64
	for _, b := range f.bookers {
		unclear += b.unclear.Load()
	}
	for _, u := range f.uploaders {
		unclear += u.unclear.Load()
	}
	if unclear > 0 {
		t.Errorf("%d answers were not a clear page (see 'UNCLEAR' above)", unclear)
	}
	f.checkStored()
}

// checkStored checks the database and the bucket: each chat message stored
// once with its conversation's sequence unbroken; no two live bookings of a
// time; every file with its object, every object with its file, every
// stored message with its attachment.
func (f *faultWorld) checkStored() {
	t := f.t
	ctx := context.Background()
	q := func(query string, args ...any) int64 {
		var n int64
		if err := f.db.SQL.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if n := q(`SELECT count(*) FROM (SELECT conversation_id FROM chat_messages GROUP BY conversation_id HAVING max(seq) <> count(*)) g`); n > 0 {
		t.Errorf("%d conversations have gaps in their sequence", n)
	}
	var sent int
	for _, c := range f.chatters {
		sent += len(c.sent)
	}
	if n := q(`SELECT count(*) FROM chat_messages WHERE kind = 'text' AND client_id <> ''`); n != int64(sent) {
		t.Errorf("the database holds %d chat messages; the people sent %d", n, sent)
	}
	if n := q(`SELECT count(*) FROM (SELECT 1 FROM bookings WHERE status <> 'cancelled' GROUP BY advisor_id, starts_at HAVING count(*) > 1) g`); n > 0 {
		t.Errorf("%d times are booked twice", n)
	}
	var made, open int64
	var openIDs []int64
	for _, b := range f.bookers {
		made += b.made.Load()
		if id := b.open.Load(); id != 0 {
			open++
			openIDs = append(openIDs, id)
		}
	}
	rows := q(`SELECT count(*) FROM bookings WHERE resident_id = ANY($1)`, f.bookerIDs)
	live := q(`SELECT count(*) FROM bookings WHERE resident_id = ANY($1) AND status <> 'cancelled'`, f.bookerIDs)
	liveKnown := q(`SELECT count(*) FROM bookings WHERE id = ANY($1) AND status <> 'cancelled'`, openIDs)
	t.Logf("bookings: %d confirmed to the people, %d in the database; %d live at the end, %d of them made just before the traffic stopped, %d whose answer was lost (they show in Oma asiointi)",
		made, rows, live, liveKnown, live-liveKnown)
	if rows != made || live != open || liveKnown != open {
		t.Errorf("bookings: %d confirmed, %d in the database; %d live, %d expected live: a booking made without its confirmation, or one lost", made, rows, live, open)
	}

	keys := map[string]string{}
	r, err := f.db.SQL.QueryContext(ctx, `SELECT storage_key, owner FROM files`)
	f.must(err)
	for r.Next() {
		var k, o string
		f.must(r.Scan(&k, &o))
		keys[k] = o
	}
	f.must(r.Close())
	objects := map[string]time.Time{}
	for o := range f.s3.Client(t).ListObjects(ctx, f.s3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		f.must(o.Err)
		objects[o.Key] = o.LastModified
	}
	var noObject, noFile int
	for k := range keys {
		if _, ok := objects[k]; !ok {
			noObject++
		}
	}
	for k, at := range objects {
		if _, ok := keys[k]; !ok {
			noFile++
			t.Logf("an object without a file, written at %s (%s): the sweep's to delete", at.Format("15:04:05.000"), f.phaseAt(at))
		}
	}
	var stored, withoutFile int
	for _, u := range f.uploaders {
		u.threads.Range(func(id, _ any) bool {
			stored++
			// The answer names the thread; its one message owns the file.
			// The two ids part ways once a transaction that stored a
			// thread fails before its message (PostgreSQL restarting).
			if q(`SELECT count(*) FROM files f JOIN messages m ON f.owner = 'messages/' || m.id
				WHERE m.thread_id = $1`, id.(int64)) != 1 {
				withoutFile++
			}
			return true
		})
	}
	// An object whose file row was never written (its instance killed
	// between the two) is the sweep's: the portal deletes such objects
	// once they are an hour old. Run that sweep now, without the hour.
	store, err := files.NewS3(files.S3Config{Endpoint: f.s3.Addr, Bucket: f.s3.Bucket, AccessKey: f.s3.Access, SecretKey: f.s3.Secret})
	f.must(err)
	swept, err := files.New(f.db.Gorm, store, files.Config{}).Sweep(ctx, 0)
	f.must(err)
	left := 0
	for o := range f.s3.Client(t).ListObjects(ctx, f.s3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		f.must(o.Err)
		if _, ok := keys[o.Key]; !ok {
			left++
		}
	}
	t.Logf("uploads: %d messages stored with their PDF; %d files, %d objects; %d files without an object, %d stored messages without their one file; %d objects without a file, %d swept, %d left",
		stored, len(keys), len(objects), noObject, withoutFile, noFile, swept, left)
	if noObject+withoutFile+left > 0 {
		t.Errorf("half-stored uploads: %d files without an object, %d messages without their file, %d objects without a file after the sweep", noObject, withoutFile, left)
	}
}

// phaseAt names the phase that was running at a moment.
func (f *faultWorld) phaseAt(at time.Time) string {
	for _, r := range f.results {
		if !at.Before(r.from) && at.Before(r.to) {
			return r.name
		}
	}
	return "between the phases"
}

// checkInstanceLogs fails on a data race or a panic in either instance.
func (f *faultWorld) checkInstanceLogs() {
	for _, p := range []*portalInstance{f.a, f.b} {
		if p == nil {
			continue
		}
		p.Stop(syscall.SIGTERM)
		b, err := os.ReadFile(p.LogPath())
		if err != nil {
			f.t.Error(err)
			continue
		}
		log := string(b)
		for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
			if i := strings.Index(log, bad); i >= 0 {
				f.t.Errorf("%s's log has %q:\n%s", p.Name, bad, log[i:min(len(log), i+3000)])
			}
		}
	}
}

// keepLogs copies the servers' logs to the test's output folder and
// shows their ends.
func (f *faultWorld) keepLogs() {
	t := f.t
	out := t.ArtifactDir()
	servers := []*filestest.Server{f.pg, f.redis}
	if f.s3 != nil {
		servers = append(servers, f.s3.Server)
	}
	if f.clamd != nil {
		servers = append(servers, f.clamd.Server)
	}
	for _, p := range []*portalInstance{f.a, f.b} {
		if p != nil {
			servers = append(servers, p.Server)
		}
	}
	for _, s := range servers {
		if s == nil {
			continue
		}
		t.Logf("--- %s's log, end:\n%s", s.Name, s.Log())
		if b, err := os.ReadFile(s.LogPath()); err == nil {
			_ = os.WriteFile(filepath.Join(out, s.Name+".log"), b, 0o644)
		}
	}
	t.Logf("the servers' logs are in %s", out)
}

func excerptOf(page string) string {
	s := strings.Join(strings.Fields(faultTags.ReplaceAllString(page, " ")), " ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
