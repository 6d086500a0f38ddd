package main

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fault suite's servers are processes of the test's own, each started
// again on the same address after it was stopped: a PostgreSQL cluster in
// a temporary folder, a Redis, versitygw, clamd and two portal instances
// (this test binary, started again as `portal serve`). Every one is started
// with a parent-death signal, so that an interrupted test leaves nothing
// running, and killed by its own process id at cleanup.

// faultsChildEnv, set in a child's environment, makes this test binary run
// `portal serve` instead of the tests (see TestMain).
const faultsChildEnv = "PORTAL_FAULTS_CHILD"

// runFaultsChild is the child's whole life: the portal until SIGTERM.
func runFaultsChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"serve"}, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		return 1
	}
	return 0
}

// faultServer is one restartable process.
type faultServer struct {
	name  string
	t     *testing.T
	bin   string
	args  []string
	env   []string // nil: the test's environment
	cred  *syscall.Credential
	ready func(p *journeyProc) error
	proc  *journeyProc
	log   *os.File
}

func (s *faultServer) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: s.cred}
	p := &journeyProc{cmd: cmd, exited: make(chan struct{}), out: &journeyBuffer{}}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	go func() {
		_ = cmd.Wait() // the exit is what the channel reports
		close(p.exited)
	}()
	s.proc = p
	if err := s.ready(p); err != nil {
		p.stop()
		return fmt.Errorf("%s: %w\n%s", s.name, err, s.tail())
	}
	return nil
}

// stop ends the process with sig and waits for it; after 30 s it is killed.
func (s *faultServer) stop(sig syscall.Signal) {
	p := s.proc
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig) // it may have exited meanwhile
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		s.t.Errorf("%s did not stop in 30 s after %v: killed", s.name, sig)
		p.stop()
	}
}

// tail is the end of the server's log.
func (s *faultServer) tail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// newServer registers a server whose output goes to name.log in dir; it is
// killed at cleanup.
func newServer(t *testing.T, dir, name, bin string, args ...string) *faultServer {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &faultServer{name: name, t: t, bin: bin, args: args, log: f}
	t.Cleanup(func() {
		if s.proc != nil {
			s.proc.stop()
		}
		_ = f.Close()
	})
	return s
}

// spawn starts cmd from one OS thread that lives as long as the test
// binary: the parent-death signal follows the thread that started a
// process, and Go ends idle threads.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread stays
			for r := range spawnRequests {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnRequest{cmd: cmd, done: make(chan error, 1)}
	spawnRequests <- r
	return <-r.done
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce     sync.Once
	spawnRequests = make(chan spawnRequest)
)

// lowPort is a free loopback port below the ephemeral range, so that a
// server started again finds its port still free: outgoing connections
// never take it meanwhile.
func lowPort(t *testing.T) string {
	t.Helper()
	for range 100 {
		addr := "127.0.0.1:" + strconv.Itoa(20000+mrand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			_ = ln.Close()
			return addr
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// dialReady waits until network/addr accepts a connection.
func dialReady(network, addr string) func(p *journeyProc) error {
	return func(p *journeyProc) error { return p.waitDial(network, addr) }
}

// faultTool finds a program, or skips (fails when CI=true) without it.
func faultTool(t *testing.T, env, name string, dirs ...string) string {
	t.Helper()
	for _, pattern := range dirs {
		if m, _ := filepath.Glob(filepath.Join(pattern, name)); len(m) > 0 && os.Getenv(env) == "" {
			return m[len(m)-1]
		}
	}
	return journeyTool(t, env, name)
}

// startFaultPostgres initialises a cluster in a folder of its own that
// listens only on a Unix socket there, and starts it. As root, PostgreSQL
// runs as the postgres user (it refuses root).
func startFaultPostgres(t *testing.T) (*faultServer, string) {
	t.Helper()
	bin := filepath.Dir(faultTool(t, "PORTAL_TEST_POSTGRES", "postgres", "/usr/lib/postgresql/*/bin"))
	dir, err := os.MkdirTemp("", "pgf") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	logDir := t.TempDir()
	pg := newServer(t, logDir, "postgres", filepath.Join(bin, "postgres"),
		"-D", data, "-k", dir, "-c", "listen_addresses=", "-c", "max_connections=100",
		"-c", "shared_buffers=32MB", "-c", "fsync=on", "-c", "synchronous_commit=on")
	pg.cred = cred
	pg.ready = dialReady("unix", filepath.Join(dir, ".s.PGSQL.5432"))
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	return pg, "postgres://postgres@/postgres?host=" + dir + "&sslmode=disable"
}

// startFaultRedis starts a Redis that keeps nothing on disk.
func startFaultRedis(t *testing.T, logDir string) (*faultServer, string) {
	t.Helper()
	bin := faultTool(t, "PORTAL_TEST_REDIS_SERVER", "redis-server")
	addr := lowPort(t)
	_, port, _ := net.SplitHostPort(addr)
	r := newServer(t, logDir, "redis", bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	r.ready = dialReady("tcp", addr)
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	return r, "redis://" + addr + "/0"
}

// portalInstance is one `portal serve` child.
type portalInstance struct {
	*faultServer
	base string
}

// startFaultPortal starts this test binary as `portal serve` with env (the
// PORTAL_* settings; the test's own PORTAL_* are not passed on).
func startFaultPortal(t *testing.T, logDir, name string, env map[string]string) *portalInstance {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := lowPort(t)
	p := &portalInstance{faultServer: newServer(t, logDir, name, self, "-test.run=^$"), base: "http://" + addr}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTAL_") && !strings.HasPrefix(kv, "GORACE=") {
			p.env = append(p.env, kv)
		}
	}
	p.env = append(p.env, faultsChildEnv+"=1", "GORACE=halt_on_error=0 exitcode=66",
		"PORTAL_LISTEN="+addr, "PORTAL_PUBLIC_URL="+p.base, "PORTAL_DATA_DIR="+t.TempDir(),
		// A port of its own that stays: the demo people's issuer is this
		// provider's address, the same again after a restart.
		"PORTAL_DEV_IDP_LISTEN="+lowPort(t), "PORTAL_METRICS_LISTEN=127.0.0.1:0")
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	p.ready = func(proc *journeyProc) error { return waitReady(proc, p.base, 3*time.Minute) }
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitReady waits for /readyz to answer 200.
func waitReady(p *journeyProc, base string, within time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		if resp, err := c.Get(base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return errors.New("exited while starting")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s/readyz not 200 within %v", base, within)
}
