package main

// What PostgreSQL spent on a run: its commits (pg_stat_database) and the CPU
// time of the server's processes (the postmaster and its children, read
// from /proc, so only when the server runs on this machine). Run against a
// cluster of its own for figures that are the chat's alone: every other
// client of the cluster is counted too.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

type pgMeter struct {
	db         *database.DB
	postmaster int
	commits    int64
	cpu        time.Duration
	walBytes   int64
}

type pgSpent struct {
	commits  int64
	cpu      time.Duration // zero when the server's processes are not readable here
	walBytes int64
}

// startPGMeter reads the counters at the start of a run; a nil meter (the
// database is not PostgreSQL, or the counters are not readable) measures
// nothing.
func startPGMeter(ctx context.Context, dsn string) *pgMeter {
	if !strings.HasPrefix(dsn, "postgres") {
		return nil
	}
	db, err := database.Open(ctx, dsn, nil)
	if err != nil {
		fmt.Println("pg meter:", err)
		return nil
	}
	m := &pgMeter{db: db}
	var backend int
	if err := db.SQL.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&backend); err == nil {
		m.postmaster = parentOf(backend)
	}
	m.commits, m.walBytes, m.cpu = m.read(ctx)
	return m
}

func (m *pgMeter) read(ctx context.Context) (commits, wal int64, cpu time.Duration) {
	_ = m.db.SQL.QueryRowContext(ctx,
		"SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&commits)
	_ = m.db.SQL.QueryRowContext(ctx, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").Scan(&wal)
	if m.postmaster > 0 {
		cpu = processTreeCPU(m.postmaster)
	}
	return commits, wal, cpu
}

// stop reads the counters again and closes the meter.
func (m *pgMeter) stop(ctx context.Context) pgSpent {
	if m == nil {
		return pgSpent{}
	}
	defer m.db.Close()
	commits, wal, cpu := m.read(ctx)
	s := pgSpent{commits: commits - m.commits, walBytes: wal - m.walBytes}
	if m.postmaster > 0 {
		s.cpu = cpu - m.cpu
	}
	return s
}

// cpuSpent is the CPU time the processes of a round spent.
type cpuSpent struct {
	servers, redis time.Duration
}

func (c cpuSpent) print(messages int64, pg pgSpent) {
	if messages == 0 || c.servers == 0 {
		return
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(messages) }
	fmt.Printf("CPU per message: servers %.0f µs, Redis %.0f µs, PostgreSQL %.0f µs; all %.0f µs\n",
		per(c.servers), per(c.redis), per(pg.cpu), per(c.servers+c.redis+pg.cpu))
}

func (s pgSpent) print(messages int64) {
	if s.commits == 0 || messages == 0 {
		return
	}
	fmt.Printf("PostgreSQL: %d commits (%.2f messages per commit), WAL %.0f B per message",
		s.commits, float64(messages)/float64(s.commits), float64(s.walBytes)/float64(messages))
	if s.cpu > 0 {
		fmt.Printf(", CPU %.0f µs per message", float64(s.cpu.Microseconds())/float64(messages))
	}
	fmt.Println()
}

// procStat returns a process's parent and its CPU time (user + system).
func procStat(pid int) (ppid int, cpu time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return ppid, time.Duration(utime+stime) * tick, true
}

// cpuMeter is the CPU time of a fixed set of processes: the servers of a
// round and the Redis they share.
type cpuMeter struct {
	pids  []int
	start time.Duration
}

func startCPUMeter(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids}
	m.start = m.read()
	return m
}

func (m *cpuMeter) read() time.Duration {
	var total time.Duration
	for _, pid := range m.pids {
		if _, cpu, ok := procStat(pid); ok {
			total += cpu
		}
	}
	return total
}

func (m *cpuMeter) stop() time.Duration { return m.read() - m.start }

// redisPID is the process id the Redis server at url reports, if it runs
// on this machine; 0 when it cannot be told.
func redisPID(ctx context.Context, url string) int {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return 0
	}
	c := redis.NewClient(opt)
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			if _, _, ok := procStat(pid); ok {
				return pid
			}
		}
	}
	return 0
}

func parentOf(pid int) int {
	ppid, _, _ := procStat(pid)
	return ppid
}

// processTreeCPU is the CPU time of root and its direct children, which is
// all of a PostgreSQL server's processes.
func processTreeCPU(root int) time.Duration {
	_, total, _ := procStat(root)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, cpu, ok := procStat(pid); ok && ppid == root {
			total += cpu
		}
	}
	return total
}
