// Package mailtest runs a real SMTP server (go-smtp) on loopback for tests
// that deliver mail through portal/mail's SMTP transport and read what
// arrived.
package mailtest

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one mail the server took.
type Received struct {
	From string
	To   []string
	Data []byte // the message as sent: headers and body
}

// Sink is an SMTP server that keeps what it receives.
type Sink struct {
	mu    sync.Mutex
	mails []Received
}

// Mails returns what has arrived so far.
func (s *Sink) Mails() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.mails...)
}

// Start runs a sink on a free loopback port until the test ends and
// returns it with its host and port.
func Start(t testing.TB) (*Sink, string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{}
	s.serve(t, ln)
	a := ln.Addr().(*net.TCPAddr)
	return s, a.IP.String(), a.Port
}

// FreePort returns a loopback port where nothing listens now: a mail
// server that is down, until StartAt brings one up there.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// StartAt runs a sink on the loopback port until the test ends.
func StartAt(t testing.TB, port int) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{}
	s.serve(t, ln)
	return s
}

func (s *Sink) serve(t testing.TB, ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(ln) }() // returns when closed
	t.Cleanup(func() { _ = srv.Close() })
}

type backend struct{ sink *Sink }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{sink: b.sink}, nil }

type session struct {
	sink *Sink
	cur  Received
}

func (s *session) Reset()        { s.cur = Received{} }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.cur)
	s.sink.mu.Unlock()
	return nil
}
