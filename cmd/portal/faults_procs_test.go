package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files/filestest"
)

// The fault suite's own servers besides S3 and clamd (filestest's): a
// PostgreSQL cluster in a temporary folder, a Redis, and two portal
// instances — this test binary, started again as `portal serve`.

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

// startFaultPostgres initialises a cluster in a folder of its own that
// listens only on a Unix socket there, starts it and returns its URL. As
// root, PostgreSQL runs as the postgres user (it refuses root).
func startFaultPostgres(t *testing.T) (*filestest.Server, string) {
	t.Helper()
	bin := filepath.Dir(filestest.Tool(t, "PORTAL_TEST_POSTGRES", "postgres", "apt-get install -y postgresql", "/usr/lib/postgresql/*/bin"))
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
	pg := filestest.NewServer(t, "postgres", filepath.Join(bin, "postgres"),
		"-D", data, "-k", dir, "-c", "listen_addresses=", "-c", "max_connections=100",
		"-c", "shared_buffers=32MB", "-c", "fsync=on", "-c", "synchronous_commit=on")
	pg.Cred = cred
	pg.Ready = filestest.Dialable("unix", filepath.Join(dir, ".s.PGSQL.5432"))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	return pg, "postgres://postgres@/postgres?host=" + dir + "&sslmode=disable"
}

// startFaultRedis starts a Redis that keeps nothing on disk.
func startFaultRedis(t *testing.T) (*filestest.Server, string) {
	t.Helper()
	bin := filestest.Tool(t, "PORTAL_TEST_REDIS_SERVER", "redis-server", "apt-get install -y redis-server")
	addr := filestest.LowPort(t)
	port := strings.TrimPrefix(addr, "127.0.0.1:")
	r := filestest.NewServer(t, "redis", bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	r.Ready = filestest.Dialable("tcp", addr)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return r, "redis://" + addr + "/0"
}

// portalInstance is one `portal serve` child.
type portalInstance struct {
	*filestest.Server
	base string
}

// startFaultPortal starts this test binary as `portal serve` with env (the
// PORTAL_* settings; the test's own PORTAL_* are not passed on).
func startFaultPortal(t *testing.T, name string, env map[string]string) *portalInstance {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := filestest.LowPort(t)
	p := &portalInstance{Server: filestest.NewServer(t, name, self, "-test.run=^$"), base: "http://" + addr}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTAL_") && !strings.HasPrefix(kv, "GORACE=") {
			p.Env = append(p.Env, kv)
		}
	}
	p.Env = append(p.Env, faultsChildEnv+"=1", "GORACE=halt_on_error=0 exitcode=66",
		"PORTAL_LISTEN="+addr, "PORTAL_PUBLIC_URL="+p.base, "PORTAL_DATA_DIR="+t.TempDir(),
		// A port of its own that stays: the demo people's issuer is this
		// provider's address, the same again after a restart.
		"PORTAL_DEV_IDP_LISTEN="+filestest.LowPort(t), "PORTAL_METRICS_LISTEN=127.0.0.1:0")
	for k, v := range env {
		p.Env = append(p.Env, k+"="+v)
	}
	p.Ready = func(s *filestest.Server) error { return waitReady(s, p.base, 3*time.Minute) }
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitReady waits for /readyz to answer 200.
func waitReady(s *filestest.Server, base string, within time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		if resp, err := c.Get(base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.Exited():
			return errors.New("exited while starting")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s/readyz not 200 within %v", base, within)
}
