// Package filestest starts, for tests, the servers that files work with —
// an S3 server (versitygw) and ClamAV's daemon — as processes of the
// test's own, which a test may stop and start again on the same address,
// and finds the programs they need.
//
// Every process is started with a parent-death signal, from one OS thread
// that lives as long as the test binary (the signal follows the thread
// that started a process, and Go ends idle threads), so that an
// interrupted test leaves nothing running; each is killed, by its own
// process id, at the test's cleanup.
package filestest

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Tool finds a program a test needs: the path in the environment variable
// env, name on PATH or in an sbin folder (where Debian puts clamd), or the
// last match of name in the glob patterns of dirs. Without it the test is
// skipped, or failed when CI=true; install says how to get it.
func Tool(t testing.TB, env, name, install string, dirs ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, pattern := range append([]string{"/usr/sbin", "/usr/local/sbin"}, dirs...) {
		if m, _ := filepath.Glob(filepath.Join(pattern, name)); len(m) > 0 {
			return m[len(m)-1]
		}
	}
	msg := fmt.Sprintf("%s not found (set %s or put it on PATH; install: %s)", name, env, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ", and CI=true requires the tests that use it to run")
	}
	t.Skip(msg + "; skipped")
	return ""
}

// Server is a process a test started, and may stop and start again.
type Server struct {
	Name string
	Bin  string
	Args []string
	Env  []string            // nil: the test's environment
	Cred *syscall.Credential // nil: the test's user
	// Ready reports when a started server serves; nil: at once.
	Ready func(s *Server) error

	t      testing.TB
	log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewServer prepares a server whose output goes to name.log in a folder of
// the test's; it is killed at cleanup.
func NewServer(t testing.TB, name, bin string, args ...string) *Server {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Name: name, Bin: bin, Args: args, t: t, log: f}
	t.Cleanup(func() {
		s.Kill()
		_ = f.Close()
	})
	return s
}

// Start starts the process and waits until it is ready.
func (s *Server) Start() error {
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Env = s.Env
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: s.Cred}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit is what the channel reports
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	if s.Ready != nil {
		if err := s.Ready(s); err != nil {
			s.Kill()
			return fmt.Errorf("%s: %w\n%s", s.Name, err, s.Log())
		}
	}
	return nil
}

// Stop sends sig and waits for the process to end; after 30 s it is
// killed and the test fails.
func (s *Server) Stop(sig syscall.Signal) {
	if !s.Running() {
		return
	}
	_ = s.cmd.Process.Signal(sig) // it may have exited meanwhile
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Errorf("%s did not stop within 30 s of %v: killed", s.Name, sig)
		s.Kill()
	}
}

// Kill kills the process, this one by its id, and waits for it.
func (s *Server) Kill() {
	if !s.Running() {
		return
	}
	_ = s.cmd.Process.Kill() // it may have exited meanwhile
	<-s.exited
}

// Running reports whether the process was started and has not ended.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Exited is closed when the process started last has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Pid is the process id of the process started last.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// LogPath is the file the server's output goes to.
func (s *Server) LogPath() string { return s.log.Name() }

// Log is the end of the server's output.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Dialable is a Ready that waits, for at most a minute, until network/addr
// accepts a connection.
func Dialable(network, addr string) func(s *Server) error {
	return func(s *Server) error {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
			if c, err := net.DialTimeout(network, addr, time.Second); err == nil {
				_ = c.Close() // only probing
				return nil
			}
			select {
			case <-s.exited:
				return fmt.Errorf("exited before listening on %s", addr)
			case <-time.After(50 * time.Millisecond):
			}
		}
		return fmt.Errorf("not listening on %s after a minute", addr)
	}
}

// LowPort returns a loopback address whose port is free and below the
// ephemeral range, so that a server started again finds it still free:
// outgoing connections never take it meanwhile.
func LowPort(t testing.TB) string {
	t.Helper()
	for range 100 {
		addr := "127.0.0.1:" + strconv.Itoa(20000+mrand.IntN(12000))
		if ln, err := net.Listen("tcp", addr); err == nil {
			_ = ln.Close()
			return addr
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// spawn starts cmd from the one thread that stays.
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

// S3 is a versitygw serving a folder of the test's own.
type S3 struct {
	*Server
	Addr           string // host:port
	Dir            string // the posix folder: a bucket is a folder in it, an object a file
	Bucket         string
	Access, Secret string
}

// StartS3 starts versitygw with a new bucket.
func StartS3(t testing.TB, bucket string) *S3 {
	t.Helper()
	bin := Tool(t, "PORTAL_TEST_VERSITYGW", "versitygw",
		"GOBIN=/work/tools/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	s := &S3{Addr: LowPort(t), Dir: t.TempDir(), Bucket: bucket, Access: "portaltest", Secret: "portaltest-secret"}
	s.Server = NewServer(t, "versitygw", bin, "--access", s.Access, "--secret", s.Secret, "--port", s.Addr, "posix", s.Dir)
	s.Ready = Dialable("tcp", s.Addr)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("versitygw: make the bucket: %v", err)
	}
	return s
}

// Client is an S3 client of the server.
func (s *S3) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(s.Access, s.Secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Clamd is ClamAV's daemon with a signature database of its own that
// knows only the EICAR test string (it loads in a moment).
type Clamd struct {
	*Server
	Addr string // as PORTAL_CLAMD_ADDR takes it: "unix:/…/clamd.sock"
}

// StartClamd starts clamd.
func StartClamd(t testing.TB) *Clamd {
	t.Helper()
	bin := Tool(t, "PORTAL_TEST_CLAMD", "clamd", "apt-get install -y clamav-daemon")
	dir, err := os.MkdirTemp("", "clamd") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	sig := fmt.Sprintf("Portal.Test.EICAR:0:*:%x\n", EICAR())
	if err := os.WriteFile(filepath.Join(db, "test.ndb"), []byte(sig), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "clamd.sock")
	conf := filepath.Join(dir, "clamd.conf")
	text := strings.Join([]string{
		"LocalSocket " + sock,
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + dir,
		"Foreground yes",
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"PidFile " + filepath.Join(dir, "clamd.pid"),
		"StreamMaxLength 64M",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Clamd{Server: NewServer(t, "clamd", bin, "-c", conf), Addr: "unix:" + sock}
	c.Ready = Dialable("unix", sock)
	if err := c.Start(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "clamd.log")) // best effort, for the message
		t.Fatalf("%v\n%s", err, log)
	}
	return c
}

// EICAR is the anti-virus test string, put together at run time so that
// no scanner flags this source file.
func EICAR() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS" + "-TEST-FILE!$H+H*")
}
