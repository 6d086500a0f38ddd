// Command uploadbench measures uploads through portal/files as the portal
// runs them (streamed request bodies, the body guard, ReadMultipart and
// Service.Save), with the server in this process:
//
//   - memory: one upload of -huge bytes (2 GB) against a -limit (10 MB),
//     cut with 413; it reports the process's peak resident memory (VmHWM
//     of /proc/self/status, reset before the upload through clear_refs)
//     and how long the answer took;
//
//   - throughput: -files uploads of -file-size bytes each (20 × 10 MB),
//     -workers at a time, to the local folder and to S3 (a versitygw it
//     starts on a free port, or -s3-endpoint); with -huge-alongside, one
//     -huge upload is sent beside them, and its 413 timed.
//
//     go run ./cmd/uploadbench
//     go run ./cmd/uploadbench -versitygw /work/tools/bin/versitygw -huge 2GB
//     go run ./cmd/uploadbench -file-size 20MB -workers 20 -huge-alongside
//
// The client is in the same process and streams its bodies from small
// generators, so the peak memory is the server's plus a few buffers.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

func main() {
	huge := flag.String("huge", "2GB", "size of the upload that is cut at the limit")
	limit := flag.String("limit", "10MB", "the file size limit of the memory run")
	count := flag.Int("files", 20, "uploads in each throughput run")
	fileSize := flag.String("file-size", "10MB", "size of each throughput upload")
	workers := flag.Int("workers", 4, "concurrent uploads in the throughput runs")
	vgw := flag.String("versitygw", os.Getenv("PORTAL_TEST_VERSITYGW"), "versitygw binary (default: on PATH)")
	endpoint := flag.String("s3-endpoint", "", "use this S3 server (host:port, bucket uploadbench must exist) instead of starting versitygw")
	access := flag.String("s3-access", "bench", "S3 access key")
	secret := flag.String("s3-secret", "bench-secret", "S3 secret key")
	alongside := flag.Bool("huge-alongside", false, "also send one -huge upload during each throughput run")
	flag.Parse()
	cfg := config{workers: *workers, count: *count, vgw: *vgw, endpoint: *endpoint, access: *access, secret: *secret, alongside: *alongside}
	var err error
	for _, s := range []struct {
		flag string
		dst  *int64
		v    string
	}{{"-huge", &cfg.huge, *huge}, {"-limit", &cfg.limit, *limit}, {"-file-size", &cfg.fileSize, *fileSize}} {
		if *s.dst, err = parseSize(s.v); err != nil {
			fmt.Fprintf(os.Stderr, "uploadbench: %s: %v\n", s.flag, err)
			os.Exit(2)
		}
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "uploadbench:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	huge, limit, fileSize int64
	count, workers        int
	vgw, endpoint         string
	access, secret        string
	alongside             bool
}

func run(cfg config) error {
	tmp, err := os.MkdirTemp("", "uploadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	db, err := database.Open(ctx, "sqlite:"+filepath.Join(tmp, "bench.db"), nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Up(ctx, db.SQL, db.Dialect); err != nil {
		return err
	}
	local, err := files.NewLocal(filepath.Join(tmp, "files"))
	if err != nil {
		return err
	}
	fmt.Printf("go %s, %s/%s, %d CPUs\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())

	// Memory: a huge upload, cut at the limit.
	srv, err := newServer(files.New(db.Gorm, local, files.Config{}), cfg.limit)
	if err != nil {
		return err
	}
	for _, chunked := range []bool{true, false} {
		if err := memoryRun(srv, cfg, chunked); err != nil {
			return err
		}
	}
	srv.close()

	// Throughput: to the folder, then to S3.
	srv, err = newServer(files.New(db.Gorm, local, files.Config{}), cfg.fileSize+(1<<20))
	if err != nil {
		return err
	}
	if err := throughputRun("local folder", srv, cfg); err != nil {
		return err
	}
	srv.close()
	s3, stop, err := s3Store(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	defer stop()
	srv, err = newServer(files.New(db.Gorm, s3, files.Config{}), cfg.fileSize+(1<<20))
	if err != nil {
		return err
	}
	defer srv.close()
	return throughputRun("S3 (versitygw, posix backend on the same disk)", srv, cfg)
}

// server is the upload route of the portal's app configuration on a
// loopback listener.
type server struct {
	url   string
	app   *fiber.App
	owner string
}

func newServer(svc *files.Service, maxFile int64) (*server, error) {
	app := fiber.New(fiber.Config{
		StreamRequestBody: true, DisablePreParseMultipartForm: true, BodyLimit: 1 << 20,
		DisableStartupMessage: true,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			var fe *fiber.Error
			if errors.As(err, &fe) {
				return c.Status(fe.Code).SendString(fe.Message)
			}
			status, key := frontend.Problem(err)
			return c.Status(status).SendString(key)
		},
	})
	s := &server{app: app, owner: "bench/1"}
	app.Use(files.BodyGuard(1<<20, func(c *fiber.Ctx) bool { return c.Path() == "/upload" }))
	app.Post("/upload", func(c *fiber.Ctx) error {
		return files.ReadMultipart(c, maxFile+(1<<20),
			func(string) bool { return true },
			func(string, string) error { return nil },
			func(_, name string, r io.Reader) error {
				_, err := svc.Save(c.UserContext(), s.owner, 0, name, r, maxFile)
				return err
			})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		if err := app.Listener(ln); err != nil {
			slog.Error("serve", "err", err)
		}
	}()
	s.url = "http://" + ln.Addr().String() + "/upload"
	return s, nil
}

func (s *server) close() {
	if err := s.app.ShutdownWithTimeout(5 * time.Second); err != nil {
		slog.Error("shutdown", "err", err)
	}
}

// upload sends one multipart body with a file of size bytes that starts
// like a PDF, chunked or with its length, and returns the status.
func upload(url string, size int64, chunked bool) (int, error) {
	const boundary = "uploadbenchBoundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nbench\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.pdf\"\r\n" +
		"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
	tail := "\r\n--" + boundary + "--\r\n"
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(filler{}, size-int64(len("%PDF-1.4\n"))), strings.NewReader(tail))
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.ContentLength = -1
	if !chunked {
		req.ContentLength = int64(len(head)) + size - int64(len("%PDF-1.4\n")) + int64(len(tail))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// filler yields PDF comment lines for ever.
type filler struct{}

var line = []byte("% uploadbench filler line, 64 bytes long ......................\n")

func (filler) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += len(line) {
		copy(p[i:], line)
	}
	return len(p), nil
}

func memoryRun(s *server, cfg config, chunked bool) error {
	runtime.GC()
	reset := resetPeak()
	before, err := vmHWM()
	if err != nil {
		return err
	}
	start := time.Now()
	status, err := upload(s.url, cfg.huge, chunked)
	if err != nil {
		return fmt.Errorf("huge upload: %w", err)
	}
	took := time.Since(start)
	peak, err := vmHWM()
	if err != nil {
		return err
	}
	kind := "Content-Length (refused before reading)"
	if chunked {
		kind = "chunked (Save cuts it at the limit)"
	}
	fmt.Printf("memory: %s upload, %s limit, %s: status %d after %s; peak RSS (VmHWM) %d MB (%d MB before; peak reset: %v)\n",
		human(cfg.huge), human(cfg.limit), kind, status, took.Round(time.Millisecond), peak>>20, before>>20, reset)
	if status != fiber.StatusRequestEntityTooLarge {
		return fmt.Errorf("huge upload answered %d, want 413", status)
	}
	return nil
}

func throughputRun(name string, s *server, cfg config) error {
	runtime.GC()
	resetPeak()
	jobs := make(chan int)
	errs := make(chan error, cfg.count+1)
	var wg sync.WaitGroup
	start := time.Now()
	hugeDone := make(chan string, 1)
	if cfg.alongside {
		go func() {
			began := time.Now()
			status, err := upload(s.url, cfg.huge, true)
			switch {
			case err != nil:
				errs <- fmt.Errorf("the %s upload alongside: %w", human(cfg.huge), err)
			case status != fiber.StatusRequestEntityTooLarge:
				errs <- fmt.Errorf("the %s upload alongside answered %d, want 413", human(cfg.huge), status)
			}
			hugeDone <- fmt.Sprintf("; one %s chunked upload alongside: %d after %s", human(cfg.huge), status, time.Since(began).Round(time.Millisecond))
		}()
	} else {
		hugeDone <- ""
	}
	for range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				status, err := upload(s.url, cfg.fileSize, false)
				if err == nil && status != 200 {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range cfg.count {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	huge := <-hugeDone
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	peak, err := vmHWM()
	if err != nil {
		return err
	}
	total := float64(cfg.fileSize) * float64(cfg.count)
	fmt.Printf("throughput to %s: %d × %s, %d at a time: %s, %.0f MB/s, %.1f uploads/s%s; peak RSS %d MB\n",
		name, cfg.count, human(cfg.fileSize), cfg.workers, took.Round(time.Millisecond),
		total/took.Seconds()/(1<<20), float64(cfg.count)/took.Seconds(), huge, peak>>20)
	return nil
}

// s3Store returns the S3 store: on -s3-endpoint, or on a versitygw
// started here with a folder in tmp.
func s3Store(ctx context.Context, cfg config, tmp string) (*files.S3, func(), error) {
	stop := func() {}
	endpoint := cfg.endpoint
	if endpoint == "" {
		bin := cfg.vgw
		if bin == "" {
			var err error
			if bin, err = exec.LookPath("versitygw"); err != nil {
				return nil, nil, errors.New("versitygw not found: pass -versitygw or -s3-endpoint")
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		endpoint = ln.Addr().String()
		if err := ln.Close(); err != nil {
			return nil, nil, err
		}
		dir := filepath.Join(tmp, "s3")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, nil, err
		}
		cmd := exec.Command(bin, "--access", cfg.access, "--secret", cfg.secret, "--port", endpoint, "posix", dir)
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		stop = func() {
			_ = cmd.Process.Kill() // ours, by its id
			_ = cmd.Wait()         // it was killed
		}
		ready := false
		for range 200 {
			if c, err := net.DialTimeout("tcp", endpoint, time.Second); err == nil {
				_ = c.Close() // only probing
				ready = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !ready {
			stop()
			return nil, nil, errors.New("versitygw did not start")
		}
		client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.access, cfg.secret, "")})
		if err != nil {
			stop()
			return nil, nil, err
		}
		if err := client.MakeBucket(ctx, "uploadbench", minio.MakeBucketOptions{}); err != nil {
			stop()
			return nil, nil, err
		}
	}
	st, err := files.NewS3(files.S3Config{Endpoint: endpoint, Bucket: "uploadbench", AccessKey: cfg.access, SecretKey: cfg.secret})
	if err == nil {
		err = st.Check(ctx)
	}
	if err != nil {
		stop()
		return nil, nil, err
	}
	return st, stop, nil
}

// vmHWM returns the process's peak resident memory, in bytes.
func vmHWM() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// resetPeak resets VmHWM to the current RSS (Linux 4.0 and later).
func resetPeak() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// parseSize reads "2GB", "10MB", "512KB" (powers of 1024) or bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if v, ok := strings.CutSuffix(strings.ToUpper(s), u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional KB, MB or GB", s)
	}
	return n * mult, nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GB"
	case n >= 1<<20:
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
