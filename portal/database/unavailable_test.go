package database_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// TestIsUnavailable: the database being away is told from a statement it
// refused.
func TestIsUnavailable(t *testing.T) {
	// A real connection failure: a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, connErr := pgconn.Connect(ctx, "postgres://postgres@"+addr+"/test?sslmode=disable")
	if connErr == nil {
		t.Fatal("connected to a closed port")
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"no connection", fmt.Errorf("auth: load session: %w", connErr), true},
		{"shutting down", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{"starting up", fmt.Errorf("x: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"connection broke", &net.OpError{Op: "write", Net: "unix", Err: errors.New("broken pipe")}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax", &pgconn.PgError{Code: "42601"}, false},
		{"other", errors.New("booking: no such slot"), false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		if got := database.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
