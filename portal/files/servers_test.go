package files_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

// tool finds a program the tests need: the path in env, or name on PATH
// (or in the sbin folders, where Debian puts clamd). Without it the test
// is skipped, or failed when CI=true.
func tool(t testing.TB, env, name, install string) string {
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
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (set %s or put it on PATH; install: %s)", name, env, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ", and CI=true requires these tests to run")
	}
	t.Skip(msg + "; skipped")
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// freePort returns a port the system just had free on 127.0.0.1.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// process is a server the test started, stopped at cleanup.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

func start(t testing.TB, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), exited: make(chan struct{}), out: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit is what the channel reports
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	return p
}

// stop kills the process (this one, by its id) and waits for it.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill() // it may have exited meanwhile
	<-p.exited
}

// waitFor polls ready until it holds, the process exits or 60 s pass.
func (p *process) waitFor(ready func() bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ready() {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %s", p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after 60 s: %s", p.out.String())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const (
	s3Access = "portaltest"
	s3Secret = "portaltest-secret"
)

// startS3 runs versitygw on a folder of the test's own and returns an S3
// store on a new bucket of it.
func startS3(t testing.TB) *files.S3 {
	t.Helper()
	bin := tool(t, "PORTAL_TEST_VERSITYGW", "versitygw",
		"GOBIN=/work/tools/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	dir := t.TempDir()
	var endpoint string
	for attempt := 0; ; attempt++ {
		endpoint = "127.0.0.1:" + freePort(t)
		p := start(t, bin, "--access", s3Access, "--secret", s3Secret, "--port", endpoint, "posix", dir)
		err := p.waitFor(func() bool {
			c, err := net.DialTimeout("tcp", endpoint, time.Second)
			if err != nil {
				return false
			}
			_ = c.Close() // only probing
			return true
		})
		if err == nil {
			break
		}
		p.stop()
		if attempt == 2 { // the port was taken between probing and binding, three times
			t.Fatalf("versitygw: %v", err)
		}
	}
	bucket := "portal-test"
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3Access, s3Secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	s, err := files.NewS3(files.S3Config{Endpoint: endpoint, Bucket: bucket, AccessKey: s3Access, SecretKey: s3Secret, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// eicar is the anti-virus test string, put together at run time so that
// no scanner flags this source file.
func eicar() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS" + "-TEST-FILE!$H+H*")
}

// clamdServer is a clamd the test started, with a signature database of
// its own that knows only the EICAR string.
type clamdServer struct {
	addr string // "unix:/…/clamd.sock"
	proc *process
}

func startClamd(t testing.TB) *clamdServer {
	t.Helper()
	bin := tool(t, "PORTAL_TEST_CLAMD", "clamd", "apt-get install -y clamav-daemon")
	dir, err := os.MkdirTemp("", "clamd") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	sig := fmt.Sprintf("Portal.Test.EICAR:0:*:%x\n", eicar())
	if err := os.WriteFile(filepath.Join(db, "test.ndb"), []byte(sig), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "clamd.sock")
	conf := strings.Join([]string{
		"LocalSocket " + sock,
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + dir,
		"Foreground yes",
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"PidFile " + filepath.Join(dir, "clamd.pid"),
		"StreamMaxLength 64M",
		"",
	}, "\n")
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, bin, "-c", confPath)
	err = p.waitFor(func() bool {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err != nil {
			return false
		}
		_ = c.Close() // only probing
		return true
	})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "clamd.log")) // best effort, for the message
		t.Fatalf("clamd: %v\n%s", err, log)
	}
	return &clamdServer{addr: "unix:" + sock, proc: p}
}

// samplePDF is a small, valid PDF; extra goes into a comment.
func samplePDF(extra string) []byte {
	return []byte("%PDF-1.4\n%" + extra + "\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
}

func sampleImage(t testing.TB, kind string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if kind == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
