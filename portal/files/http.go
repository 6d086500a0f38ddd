package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// The HTTP edge of uploads and downloads: these helpers take *fiber.Ctx and
// are called by the features' handlers and by cmd/portal's middleware chain.

// MaxFieldBytes is the largest text field ReadMultipart accepts.
const MaxFieldBytes = 64 << 10

// UploadReadTimeout is how long ReadMultipart gives the sender to finish
// the body, replacing the server's read timeout (tens of seconds, right
// for forms, too short for 25 MB over a phone's connection).
const UploadReadTimeout = 15 * time.Minute

// errCSRF is the refusal of a streamed form without a valid token.
var errCSRF = problem.E(problem.Forbidden, auth.MsgCSRF)

// ReadMultipart reads a multipart/form-data body as a stream, never whole:
// the app runs with StreamRequestBody, so the body is read from the
// connection as the parts are consumed (a small body fasthttp has already
// read is read from memory).
//
// The first part must be the _csrf field, and checkCSRF must accept it
// (auth.Auth.CSRFValid), or the request is refused with 403 before any
// other part is read. Then onField gets each text field (at most
// MaxFieldBytes; a file input left empty arrives as a field with an empty
// value) and onFile each file as a reader, which the handler passes to
// Service.Save. The whole body may be at most maxBody bytes; past that the
// reader fails with TooLarge. A sender that goes away mid-body makes the
// reader fail, so that Save removes what it stored.
//
// When it fails with the body unread, the rest is read and thrown away
// for a moment (see drainRefused), so that the sender, still sending,
// gets to see the answer.
func ReadMultipart(c *fiber.Ctx, maxBody int64, checkCSRF func(token string) bool,
	onField func(name, value string) error, onFile func(field, filename string, r io.Reader) error) (err error) {
	mediaType, params, perr := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	if perr != nil || mediaType != fiber.MIMEMultipartForm || params["boundary"] == "" {
		drainRefused(c, c.Request().BodyStream(), 0)
		return fiber.NewError(fiber.StatusUnsupportedMediaType)
	}
	if cl := c.Request().Header.ContentLength(); cl > 0 && int64(cl) > maxBody {
		drainRefused(c, c.Request().BodyStream(), 0)
		return tooLarge(maxBody)
	}
	var body io.Reader = c.Request().BodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body())
	}
	if conn := c.Context().Conn(); conn != nil {
		if err := conn.SetReadDeadline(time.Now().Add(UploadReadTimeout)); err != nil {
			return fmt.Errorf("files: upload deadline: %w", err)
		}
	}
	counted := &countingReader{r: body}
	defer func() {
		if err != nil {
			drainRefused(c, body, counted.n)
		} else {
			clearReadDeadline(c)
		}
	}()
	mr := multipart.NewReader(&limitedBody{r: counted, left: maxBody, limit: maxBody}, params["boundary"])

	part, err := mr.NextPart()
	if err != nil {
		return partError(err, errCSRF)
	}
	if part.FormName() != "_csrf" || part.FileName() != "" {
		return errCSRF
	}
	token, err := readField(part)
	if err != nil {
		return partError(err, errCSRF)
	}
	if !checkCSRF(token) {
		return errCSRF
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return partError(err, nil)
		}
		name := part.FormName()
		if name == "" {
			continue // not a form field
		}
		if part.FileName() != "" {
			if err := onFile(name, part.FileName(), part); err != nil {
				return err
			}
			continue
		}
		value, err := readField(part)
		if err != nil {
			return partError(err, nil)
		}
		if err := onField(name, value); err != nil {
			return err
		}
	}
}

// readField reads a text field of at most MaxFieldBytes.
func readField(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, MaxFieldBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxFieldBytes {
		return "", problem.Wrap(problem.TooLarge, "", fmt.Errorf("files: form field %q over %d bytes", part.FormName(), MaxFieldBytes))
	}
	return string(b), nil
}

// partError returns a reading error as it is when it is a problem (the
// body's limit), and otherwise fallback, or 400 when fallback is nil: the
// body was not the multipart it claimed to be, or it stopped.
func partError(err error, fallback error) error {
	if _, ok := problem.As(err); ok {
		return err
	}
	if fallback != nil {
		return fallback
	}
	return fiber.NewError(fiber.StatusBadRequest, "files: reading the form: "+err.Error())
}

func tooLarge(limit int64) error {
	return problem.Wrap(problem.TooLarge, "files.error.too_large", fmt.Errorf("files: body over %d bytes", limit))
}

// limitedBody fails with TooLarge once more than left bytes were read.
type limitedBody struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, tooLarge(l.limit)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, tooLarge(l.limit)
	}
	return n, err
}

// BodyGuard refuses with 413 the body of any request that is over limit
// and is not a streamed upload (streamed reports those; nil means none).
// With StreamRequestBody, fasthttp no longer refuses a body over the app's
// BodyLimit: it hands it over as a stream, and c.Body() or c.FormValue()
// would read all of it into memory. So a declared length over limit is
// refused before the body is read, and a chunked body (no length) is read
// up to limit and refused past it. It runs before anything reads a body.
func BodyGuard(limit int64, streamed func(c *fiber.Ctx) bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if streamed != nil && streamed(c) {
			return c.Next()
		}
		req := c.Request()
		tooLarge := problem.Wrap(problem.TooLarge, "", fmt.Errorf("files: request body over %d bytes", limit))
		switch cl := req.Header.ContentLength(); {
		case int64(cl) > limit:
			drainRefused(c, req.BodyStream(), 0)
			return tooLarge
		case cl == -1: // chunked: the length is known only at the end
			if stream := req.BodyStream(); stream != nil {
				b, err := io.ReadAll(io.LimitReader(stream, limit+1))
				if err != nil {
					c.Context().SetConnectionClose()
					return fiber.NewError(fiber.StatusBadRequest, "files: reading the body: "+err.Error())
				}
				if int64(len(b)) > limit {
					drainRefused(c, stream, int64(len(b)))
					return tooLarge
				}
				req.SetBody(b)
			}
		}
		return c.Next()
	}
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// drainTime is how long a refused request's body is read and thrown away
// before the answer goes out, and lingerTime how long the rest still is
// after it.
const (
	drainTime  = time.Second
	lingerTime = 10 * time.Second
)

// drainRefused deals with the unread rest of a refused request's body
// (stream, of which consumed bytes were read). A server that answers and
// closes while the sender is still sending makes the connection reset, and
// the browser shows "connection reset" instead of the answer ("the file is
// too large"). So the rest is read and thrown away, never kept: for up to
// drainTime before answering (a fast sender is done by then, and the
// connection serves its next request), and if the sender is still sending
// then, after the answer, up to the declared length (or, chunked, until
// the sender stops) for at most lingerTime more, before the connection
// closes. A body that broke is read on after the answer the same way:
// fasthttp reports a deadline that falls inside a chunk's framing as a
// broken chunk, which hides the timeout, and the sender may well still be
// sending.
func drainRefused(c *fiber.Ctx, stream io.Reader, consumed int64) {
	if stream == nil {
		return
	}
	conn := c.Context().Conn()
	if conn == nil || conn.SetReadDeadline(time.Now().Add(drainTime)) != nil {
		c.Context().SetConnectionClose()
		return
	}
	n, err := io.Copy(io.Discard, stream)
	if err == nil {
		clearReadDeadline(c)
		return
	}
	remaining := int64(-1) // chunked: until the sender stops
	if cl := c.Request().Header.ContentLength(); cl >= 0 {
		remaining = int64(cl) - consumed - n
	}
	// Answer now, read on after; the server closes the connection when
	// this returns.
	c.Context().Hijack(func(conn net.Conn) {
		if conn.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
			return
		}
		// Whatever comes in time is thrown away; the connection closes next.
		if remaining >= 0 {
			_, _ = io.CopyN(io.Discard, conn, remaining)
		} else {
			_, _ = io.Copy(io.Discard, conn)
		}
	})
}

// clearReadDeadline removes a deadline an upload set, so that it does not
// cut the connection's next request (the server sets its own, when it
// has timeouts).
func clearReadDeadline(c *fiber.Ctx) {
	if conn := c.Context().Conn(); conn != nil {
		_ = conn.SetReadDeadline(time.Time{}) // a connection that cannot take it is closing anyway
	}
}

// SendDownload sends f's bytes, r (closed after sending when it is an
// io.Closer), as a download the browser saves rather than shows: the
// sniffed type, Content-Disposition attachment with the name (an ASCII
// fallback and the UTF-8 name, RFC 6266 and 5987), nosniff, a sandboxing
// policy in case it is opened anyway, no caching, and the length from the
// row. The body is streamed.
func SendDownload(c *fiber.Ctx, f *File, r io.Reader) error {
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderContentDisposition, ContentDisposition(f.Name))
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "sandbox; default-src 'none'")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Context().SetBodyStream(r, int(f.Size))
	return nil
}

// ContentDisposition returns the Content-Disposition value that downloads
// name as an attachment: filename is an ASCII fallback (other characters,
// quotes and backslashes become _), filename* the exact name in UTF-8,
// percent-encoded.
func ContentDisposition(name string) string {
	var ascii, enc strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			enc.WriteByte(b)
		} else {
			enc.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(b)>>4, 16)+strconv.FormatUint(uint64(b)&0xf, 16)))
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + enc.String()
}

// isAttrChar reports RFC 5987's attr-char, which needs no percent-encoding.
func isAttrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
