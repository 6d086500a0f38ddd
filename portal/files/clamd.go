package files

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// clamd is a client of ClamAV's daemon, speaking its INSTREAM command: the
// file goes over in chunks, each preceded by its length as four big-endian
// bytes, a zero length ends it, and clamd answers "stream: OK" or
// "stream: <signature> FOUND".
type clamd struct {
	network, addr string
	timeout       time.Duration // for each step: dial, a chunk, the verdict
}

// newClamd parses addr: "unix:/path/to/clamd.ctl" or "host:port".
func newClamd(addr string) (*clamd, error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		if p == "" {
			return nil, errors.New("files: clamd address unix: without a path")
		}
		return &clamd{network: "unix", addr: p, timeout: 30 * time.Second}, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("files: clamd address %q: want unix:/path or host:port: %w", addr, err)
	}
	return &clamd{network: "tcp", addr: addr, timeout: 30 * time.Second}, nil
}

// clamScan is one INSTREAM conversation.
type clamScan struct {
	conn    net.Conn
	timeout time.Duration
	stop    func() bool // ends the watch on the context
}

// maxClamChunk is the largest chunk sent; clamd's default StreamMaxLength
// is far above it.
const maxClamChunk = 64 << 10

// begin connects and starts an INSTREAM scan. The connection is closed
// when ctx ends.
func (c *clamd) begin(ctx context.Context) (*clamScan, error) {
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return nil, fmt.Errorf("files: clamd: %w", err)
	}
	s := &clamScan{conn: conn, timeout: c.timeout}
	s.stop = context.AfterFunc(ctx, func() { _ = conn.Close() }) // unblocks a write; the caller sees ctx's error
	if err := s.send([]byte("zINSTREAM\x00")); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *clamScan) send(p []byte) error {
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return fmt.Errorf("files: clamd: %w", err)
	}
	if _, err := s.conn.Write(p); err != nil {
		return fmt.Errorf("files: clamd: %w", err)
	}
	return nil
}

// write sends p as one or more chunks.
func (s *clamScan) write(p []byte) error {
	var size [4]byte
	for len(p) > 0 {
		n := min(len(p), maxClamChunk)
		binary.BigEndian.PutUint32(size[:], uint32(n))
		if err := s.send(size[:]); err != nil {
			return err
		}
		if err := s.send(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// verdict ends the stream and returns the signature clamd found, "" for a
// clean file, or an error when clamd could not say.
func (s *clamScan) verdict() (string, error) {
	if err := s.send([]byte{0, 0, 0, 0}); err != nil {
		return "", err
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
		return "", fmt.Errorf("files: clamd: %w", err)
	}
	reply, err := bufio.NewReader(s.conn).ReadBytes(0)
	if err != nil {
		return "", fmt.Errorf("files: clamd: reading the verdict: %w", err)
	}
	return parseClamReply(string(bytes.TrimRight(reply, "\x00\n")))
}

// parseClamReply reads "stream: OK", "stream: <name> FOUND" or an error
// such as "INSTREAM size limit exceeded. ERROR".
func parseClamReply(reply string) (string, error) {
	rest, ok := strings.CutPrefix(reply, "stream: ")
	switch {
	case ok && rest == "OK":
		return "", nil
	case ok && strings.HasSuffix(rest, " FOUND"):
		return strings.TrimSuffix(rest, " FOUND"), nil
	}
	return "", fmt.Errorf("files: clamd answered %q", reply)
}

func (s *clamScan) close() {
	s.stop()
	_ = s.conn.Close() // the scan is over or abandoned; nothing to report
}
