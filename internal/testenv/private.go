package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// PrivatePostgres is a PostgreSQL server of one test's own, which the test
// may stop and start again (to see what a restart of the database does to
// the application) without disturbing the server other tests share.
type PrivatePostgres struct {
	srv *pgServer
	// URL is a database on it, created empty, for the test to use.
	URL string
}

// StartPrivatePostgres starts a throwaway PostgreSQL server for t alone,
// with one empty database and durable commits (unlike the shared one), and stops it and removes its files when t
// finishes. It skips or fails t as [Postgres] does when PostgreSQL is not
// on the machine.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	srv, err := startServerWith(true)
	if err != nil {
		var na *unavailableError
		if errors.As(err, &na) && !RequireServices() {
			t.Skipf("testenv: PostgreSQL not available, skipping: %v (set %s=1 to fail instead)", err, EnvRequireServices)
		}
		t.Fatalf("testenv: PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("testenv: stopping the private PostgreSQL: %v", err)
		}
	})
	u := &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	admin, err := openAdmin(u.String())
	if err != nil {
		t.Fatalf("testenv: the private PostgreSQL does not accept connections: %v\n%s", err, srv.logTail())
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE fynlo"); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	u.Path = "/fynlo"
	return &PrivatePostgres{srv: srv, URL: u.String()}
}

// Crash stops the server at once, as a crash would (pg_ctl stop -m
// immediate: no checkpoint, connections cut; it recovers from its WAL on
// the next start).
func (p *PrivatePostgres) Crash() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := p.srv.command(ctx, p.srv.pgCtl, "stop", "-w", "-m", "immediate", "-D", p.srv.data).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Start starts the stopped server again on the same port.
func (p *PrivatePostgres) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return p.srv.launch(ctx, p.srv.port)
}
