package devidp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Provider listening on a loopback address.
type Server struct {
	url  string
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
	err  error         // what Serve returned, other than http.ErrServerClosed; read after done
}

// Start listens on addr, which must be a loopback address ("127.0.0.1:8081",
// "[::1]:0", "localhost:8081"), and serves a Provider built from cfg until
// Shutdown or Close. When cfg.Issuer is empty it becomes "http://" plus the
// address actually listened on, so "127.0.0.1:0" works.
func Start(addr string, cfg Config) (*Server, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devidp: listen on %s: %w", addr, err)
	}
	// "localhost" is resolved by the system; make sure it led to loopback.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		return nil, errors.Join(
			fmt.Errorf("devidp: %s resolved to %s: %w", addr, ln.Addr(), ErrNotLoopback),
			closeListener(ln),
		)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + ln.Addr().String()
	}
	p, err := New(cfg)
	if err != nil {
		return nil, errors.Join(err, closeListener(ln))
	}

	s := &Server{
		url: cfg.Issuer,
		srv: &http.Server{
			Handler:           p.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = fmt.Errorf("devidp: serve on %s: %w", ln.Addr(), err)
		}
	}()
	return s, nil
}

// URL is the issuer the server announces, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string {
	return s.url
}

// Shutdown stops accepting requests and waits, until ctx ends, for those in
// flight. It returns any error the server stopped with.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	if err != nil {
		err = fmt.Errorf("devidp: shut down: %w", err)
	}
	return errors.Join(err, s.err)
}

// Close stops the server at once, dropping requests in flight.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil {
		err = fmt.Errorf("devidp: close: %w", err)
	}
	return errors.Join(err, s.err)
}

// checkLoopback refuses every address but a loopback one. An empty host (":8081")
// means every interface and is refused too.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("devidp: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("devidp: refusing to listen on %q: %w", addr, ErrNotLoopback)
}

func closeListener(ln net.Listener) error {
	if err := ln.Close(); err != nil {
		return fmt.Errorf("devidp: close listener: %w", err)
	}
	return nil
}
