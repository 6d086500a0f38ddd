package files_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

const goodToken = "good-token"

// uploadServer is a Fiber app configured as cmd/portal's (streamed request
// bodies, a small body limit behind BodyGuard) on a real listener, with an
// upload route that reads the form with ReadMultipart and saves each file.
type uploadServer struct {
	url     string
	svc     *files.Service
	st      files.Store
	handled chan error // what each upload handler returned
	forms   atomic.Int32
}

func newUploadServer(t *testing.T, maxFile int64) *uploadServer {
	t.Helper()
	st := newLocal(t)
	s := &uploadServer{svc: files.New(dbtest.SQLite(t).Gorm, st, files.Config{}), st: st, handled: make(chan error, 16)}
	app := fiber.New(fiber.Config{
		StreamRequestBody: true, DisablePreParseMultipartForm: true, BodyLimit: 1 << 20,
		DisableStartupMessage: true, ErrorHandler: errorStatus,
	})
	app.Use(files.BodyGuard(1<<20, func(c *fiber.Ctx) bool { return c.Path() == "/upload" }))
	app.Post("/upload", func(c *fiber.Ctx) error {
		var saved []string
		note := ""
		err := files.ReadMultipart(c, maxFile+(1<<20),
			func(token string) bool { return token == goodToken },
			func(name, value string) error {
				if name == "note" {
					note = value
				}
				return nil
			},
			func(field, filename string, r io.Reader) error {
				f, err := s.svc.Save(c.UserContext(), "exchange/1", 0, filename, r, maxFile)
				if err != nil {
					return err
				}
				saved = append(saved, f.Name)
				return nil
			})
		s.handled <- err
		if err != nil {
			return err
		}
		return c.SendString(fmt.Sprintf("saved %s; note=%s", strings.Join(saved, ","), note))
	})
	app.Post("/form", func(c *fiber.Ctx) error {
		s.forms.Add(1)
		return c.SendString("got " + strconv.Itoa(len(c.Body())))
	})
	app.Get("/files/:id", func(c *fiber.Ctx) error {
		id, err := c.ParamsInt("id")
		if err != nil {
			return err
		}
		f, err := s.svc.Get(c.UserContext(), int64(id))
		if err != nil {
			return err
		}
		rc, err := s.svc.Open(c.UserContext(), f)
		if err != nil {
			return err
		}
		return files.SendDownload(c, f, rc)
	})
	s.url = serve(t, app)
	return s
}

// errorStatus answers with the status the portal's error handler gives.
func errorStatus(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return c.Status(fe.Code).SendString(fe.Message)
	}
	status, key := frontend.Problem(err)
	return c.Status(status).SendString(key)
}

func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := app.Listener(ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// part is one part of a multipart body.
type part struct {
	name, filename string
	data           []byte
}

func multipartBody(t testing.TB, parts ...part) (body []byte, contentType string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p.filename != "" {
			pw, err = w.CreateFormFile(p.name, p.filename)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

func post(t testing.TB, url, contentType string, body io.Reader, length int64) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestReadMultipart: the CSRF token must be the first part and valid
// before anything is read; fields and files reach their callbacks; the
// limits answer 413 and a refused file its own status; nothing is stored
// from a refused request.
func TestReadMultipart(t *testing.T) {
	s := newUploadServer(t, 1<<20)
	csrf := part{name: "_csrf", data: []byte(goodToken)}
	note := part{name: "note", data: []byte("liitteenä vuokrasopimus")}
	pdf := part{name: "file", filename: "sopimus.pdf", data: samplePDF("")}
	cases := []struct {
		name   string
		parts  []part
		status int
		body   string
		stored int
	}{
		{"token, field, file", []part{csrf, note, pdf}, 200, "saved sopimus.pdf; note=liitteenä vuokrasopimus", 1},
		{"two files", []part{csrf, pdf, {name: "file", filename: "kuva.png", data: sampleImage(t, "png")}}, 200, "saved sopimus.pdf,kuva.png; note=", 2},
		{"no token", []part{note, pdf}, 403, "error.csrf", 0},
		{"wrong token", []part{{name: "_csrf", data: []byte("forged")}, pdf}, 403, "error.csrf", 0},
		{"token after the file", []part{pdf, csrf}, 403, "error.csrf", 0},
		{"token as a file", []part{{name: "_csrf", filename: "t.txt", data: []byte(goodToken)}, pdf}, 403, "error.csrf", 0},
		{"empty body", nil, 403, "error.csrf", 0},
		{"field over 64 KB", []part{csrf, {name: "note", data: bytes.Repeat([]byte("a"), files.MaxFieldBytes+1)}}, 413, "", 0},
		{"refused type", []part{csrf, {name: "file", filename: "x.pdf", data: []byte("<html><script>1</script></html>")}}, 422, "files.error.type", 0},
		{"file over the limit", []part{csrf, {name: "file", filename: "x.pdf", data: append(samplePDF(""), make([]byte, 1<<20)...)}}, 413, "files.error.too_large", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(t, tc.parts...)
			status, got := post(t, s.url+"/upload", ct, bytes.NewReader(body), int64(len(body)))
			<-s.handled
			if status != tc.status || (tc.body != "" && got != tc.body) {
				t.Errorf("got %d %q, want %d %q", status, got, tc.status, tc.body)
			}
			if objs := objects(t, s.st); len(objs) != tc.stored {
				t.Errorf("%d objects stored, want %d", len(objs), tc.stored)
			}
			if err := s.svc.DeleteOwner(context.Background(), "exchange/1"); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		status, _ := post(t, s.url+"/upload", "application/x-www-form-urlencoded", strings.NewReader("_csrf="+goodToken), -1)
		<-s.handled
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("status %d, want 415", status)
		}
	})
	t.Run("declared body over the limit", func(t *testing.T) {
		body, ct := multipartBody(t, csrf)
		// Claims 3 MB and sends 20 KB (fasthttp waits for its first 8 KB):
		// refused before a part is read, answered while the rest is awaited.
		req := "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\nContent-Length: 3000000\r\n\r\n"
		status := rawRequest(t, s.url, req+string(body)+strings.Repeat("x", 20_000))
		<-s.handled
		if status != "HTTP/1.1 413" {
			t.Errorf("answer %q, want 413", status)
		}
	})
}

// rawRequest writes req on a connection of its own and returns the status
// line's first 12 characters.
func rawRequest(t testing.TB, url, req string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	line, err := textproto.NewReader(bufioReader(conn)).ReadLine()
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return line[:min(12, len(line))]
}

// TestUploadSenderGoesAway: a sender that disconnects mid-file leaves no
// object and no row.
func TestUploadSenderGoesAway(t *testing.T) {
	s := newUploadServer(t, 10<<20)
	head, ct := multipartBody(t, part{name: "_csrf", data: []byte(goodToken)})
	head = bytes.TrimSuffix(head, []byte("--"+strings.TrimPrefix(ct, "multipart/form-data; boundary=")+"--\r\n"))
	head = append(head, []byte("--"+strings.TrimPrefix(ct, "multipart/form-data; boundary=")+
		"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n")...)
	head = append(head, samplePDF("")...)
	head = append(head, make([]byte, 200_000)...)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	req := "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\nContent-Length: 5000000\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), head...)); err != nil {
		t.Fatal(err)
	}
	// Wait until the file is being stored, then go away.
	deadline := time.Now().Add(10 * time.Second)
	for len(objects(t, s.st)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(objects(t, s.st)) == 0 {
		t.Fatal("the upload never reached the store")
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.handled:
		wantProblem(t, err, 4, "files.error.interrupted") // problem.Invalid
	case <-time.After(20 * time.Second):
		t.Fatal("the handler did not end after the sender left")
	}
	assertNothingStored(t, s.svc, s.st, "exchange/1")
}

// TestRefusedSenderPausedInChunkFraming: a refused chunked upload whose
// sender pauses inside a chunk's framing, where fasthttp reports the
// drain's deadline as a broken chunk, gets its answer, and the server
// reads on after it: a sender still sending sees the answer, not a reset.
func TestRefusedSenderPausedInChunkFraming(t *testing.T) {
	s := newUploadServer(t, 10<<20)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Not multipart, so refused before a part is read. The chunk's data
	// arrives and its closing CRLF does not, for longer than the drain.
	req := "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	<-s.handled
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("status %d, want 415", resp.StatusCode)
	}
	// The sender goes on; the server reads what it sends and throws it away.
	chunk := "\r\n4000\r\n" + strings.Repeat("x", 0x4000)
	for range 16 {
		if _, err := io.WriteString(conn, chunk); err != nil {
			t.Fatalf("sending on after the answer: %v", err)
		}
	}
	if err := conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := br.ReadByte(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("after the answer the connection gave %v; want it still open, reading what is sent", err)
	}
}

// TestBodyGuard: bodies over the limit are refused with 413 before the
// handler runs, declared or chunked; smaller ones and streamed uploads
// pass.
func TestBodyGuard(t *testing.T) {
	s := newUploadServer(t, 4<<20)
	big := bytes.Repeat([]byte("a"), 2<<20)
	cases := []struct {
		name    string
		body    io.Reader
		length  int64
		status  int
		handled bool
	}{
		{"declared over", bytes.NewReader(big), int64(len(big)), 413, false},
		{"chunked over", io.MultiReader(bytes.NewReader(big)), -1, 413, false},
		{"chunked under", io.MultiReader(bytes.NewReader(big[:10_000])), -1, 200, true},
		{"declared under", bytes.NewReader(big[:20_000]), 20_000, 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.forms.Load()
			status, body := post(t, s.url+"/form", "application/x-www-form-urlencoded", tc.body, tc.length)
			if status != tc.status {
				t.Errorf("status %d %q, want %d", status, body, tc.status)
			}
			if ran := s.forms.Load() > before; ran != tc.handled {
				t.Errorf("handler ran = %v", ran)
			}
			if tc.handled && body != "got "+strconv.Itoa(int(min(int64(len(big)), max(tc.length, 10_000)))) {
				t.Errorf("handler saw %q", body)
			}
		})
	}
	t.Run("streamed upload passes", func(t *testing.T) {
		file := append(samplePDF(""), make([]byte, 3<<20)...)
		body, ct := multipartBody(t, part{name: "_csrf", data: []byte(goodToken)}, part{name: "f", filename: "iso.pdf", data: file})
		status, got := post(t, s.url+"/upload", ct, bytes.NewReader(body), int64(len(body)))
		if err := <-s.handled; err != nil || status != 200 {
			t.Errorf("status %d %q, %v", status, got, err)
		}
	})
}

// TestSendDownload: a download has the sniffed type, the name as an
// attachment in ASCII and UTF-8, headers that keep the browser from
// running it, its length, and the bytes.
func TestSendDownload(t *testing.T) {
	s := newUploadServer(t, 1<<20)
	data := samplePDF("download")
	f, err := s.svc.Save(context.Background(), "exchange/1", 0, "Päätös \"2025\".pdf", bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.url + "/files/" + strconv.FormatInt(f.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Content-Type":            "application/pdf",
		"Content-Disposition":     `attachment; filename="P__t_s _2025_.pdf"; filename*=UTF-8''P%C3%A4%C3%A4t%C3%B6s%20%222025%22.pdf`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "sandbox; default-src 'none'",
		"Cache-Control":           "private, no-store",
		"Content-Length":          strconv.Itoa(len(data)),
	}
	for h, v := range want {
		if g := resp.Header.Get(h); g != v {
			t.Errorf("%s: %q, want %q", h, g, v)
		}
	}
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Errorf("status %d, %d bytes", resp.StatusCode, len(got))
	}
	resp, err = http.Get(s.url + "/files/999")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 {
		t.Errorf("missing file: %d", resp.StatusCode)
	}
}

// bigUpload is a multipart body generated as it is read: the token, then
// a file of size bytes that starts like a PDF.
type bigUpload struct {
	r           io.Reader
	contentType string
	length      int64
}

func newBigUpload(size int64) *bigUpload {
	const boundary = "portalTestBoundary0123456789"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n" + goodToken + "\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.pdf\"\r\n" +
		"Content-Type: application/pdf\r\n\r\n"
	pdf := samplePDF("")
	tail := "\r\n--" + boundary + "--\r\n"
	return &bigUpload{
		r: io.MultiReader(strings.NewReader(head), bytes.NewReader(pdf),
			io.LimitReader(zeros{}, size-int64(len(pdf))), strings.NewReader(tail)),
		contentType: "multipart/form-data; boundary=" + boundary,
		length:      int64(len(head)) + size + int64(len(tail)),
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestUploadMemory: a 300 MB upload through a real server with a 10 MB
// limit is cut with 413, stores nothing, and the heap grows by far less
// than the upload: it is never held in memory.
func TestUploadMemory(t *testing.T) {
	const size = 300 << 20
	for _, declared := range []bool{false, true} {
		name := "chunked"
		if declared {
			name = "content-length"
		}
		t.Run(name, func(t *testing.T) {
			s := newUploadServer(t, 10<<20)
			up := newBigUpload(size)
			length := int64(-1)
			if declared {
				length = up.length
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var m runtime.MemStats
				for {
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}()
			req, err := http.NewRequest(http.MethodPost, s.url+"/upload", up.r)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = length
			req.Header.Set("Content-Type", up.contentType)
			resp, err := http.DefaultClient.Do(req)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", resp.StatusCode)
			}
			wantProblem(t, <-s.handled, 6, "files.error.too_large") // problem.TooLarge
			assertNothingStored(t, s.svc, s.st, "exchange/1")
			grew := int64(peak.Load()) - int64(before.HeapInuse)
			t.Logf("heap in use: %d MB before, peak %d MB (+%d MB) for a %d MB upload",
				before.HeapInuse>>20, peak.Load()>>20, grew>>20, size>>20)
			if grew > 32<<20 {
				t.Errorf("the heap grew by %d MB during a %d MB upload; want < 32 MB", grew>>20, size>>20)
			}
		})
	}
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
