// Package testenv gives tests real backing services instead of mocks.
//
// It is imported only from _test.go files. A test package that uses it wires
// it in once:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// and then asks for what it needs:
//
//	url := testenv.Postgres(t) // a fresh, empty database of its own
//
// PostgreSQL: the first call to [Postgres] starts a throwaway server (initdb
// plus pg_ctl on a free loopback port, data in a temp dir) that the whole test
// binary shares; every call gets its own newly created database, dropped when
// the test ends. Set FYNLO_TEST_POSTGRES_URL to an admin URL to use an
// existing server instead.
//
// When a service's binaries are not on the machine the test is skipped, unless
// FYNLO_TEST_REQUIRE_SERVICES=1 (as in CI), where a missing service is a
// failure: CI must never go green by silently skipping the database tests.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Environment variables read by this package.
const (
	// EnvRequireServices, set to "1", turns "service not available" skips
	// into failures.
	EnvRequireServices = "FYNLO_TEST_REQUIRE_SERVICES"
	// EnvPostgresURL names an existing PostgreSQL server (an admin URL that
	// may CREATE and DROP databases) to use instead of starting one.
	EnvPostgresURL = "FYNLO_TEST_POSTGRES_URL"
)

// Main runs the tests, then stops the services this package started and
// removes their files, and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	if err := pg.shutdown(); err != nil {
		// The exit code is the tests' verdict; a cleanup problem is reported
		// but does not turn a passing run red.
		fmt.Fprintf(os.Stderr, "testenv: stopping PostgreSQL: %v\n", err)
	}
	return code
}

// RequireServices reports whether missing services must fail tests rather
// than skip them (FYNLO_TEST_REQUIRE_SERVICES=1).
func RequireServices() bool {
	return os.Getenv(EnvRequireServices) == "1"
}

// Postgres returns a postgres:// URL to a new, empty database that belongs
// to t alone and is dropped when t finishes. It is safe to call from
// parallel tests and more than once per test.
//
// Without PostgreSQL binaries on the machine it skips t (or fails it, see
// [RequireServices]); if the server cannot be started it fails t.
func Postgres(t testing.TB) string {
	t.Helper()
	admin, base, err := pg.get()
	if err != nil {
		var na *unavailableError
		if errors.As(err, &na) && !RequireServices() {
			t.Skipf("testenv: PostgreSQL not available, skipping: %v (set %s=1 to fail instead)", err, EnvRequireServices)
		}
		t.Fatalf("testenv: PostgreSQL: %v", err)
	}

	name, err := dbName(t)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends connections the test left open (a leaked *sql.DB
		// must not make the drop fail or hang).
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})

	u := *base
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// unavailableError means a service cannot be run on this machine at all (as
// opposed to failing to start), which is a skip rather than a failure unless
// services are required.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

// pg is the PostgreSQL server shared by every test in the binary.
var pg pgState

type pgState struct {
	once sync.Once

	mu     sync.Mutex
	closed bool
	err    error     // why the server is not usable, if it is not
	admin  *sql.DB   // connected to the maintenance database, for CREATE/DROP DATABASE
	base   *url.URL  // URL of the server; Postgres swaps in the database name
	server *pgServer // nil when using FYNLO_TEST_POSTGRES_URL
}

func (s *pgState) get() (*sql.DB, *url.URL, error) {
	s.once.Do(s.start)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errors.New("testenv.Postgres called after testenv.Main finished")
	}
	return s.admin, s.base, s.err
}

func (s *pgState) start() {
	s.mu.Lock()
	defer s.mu.Unlock()

	if raw := os.Getenv(EnvPostgresURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			s.err = fmt.Errorf("%s must be a postgres:// URL, got %q", EnvPostgresURL, raw)
			return
		}
		admin, err := openAdmin(raw)
		if err != nil {
			s.err = fmt.Errorf("%s: %w", EnvPostgresURL, err)
			return
		}
		s.admin, s.base = admin, u
		return
	}

	srv, err := startServer()
	if err != nil {
		s.err = err
		return
	}
	base := &url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	admin, err := openAdmin(base.String())
	if err != nil {
		s.err = fmt.Errorf("server started but does not accept connections: %w\n%s", err, srv.logTail())
		if serr := srv.stop(); serr != nil {
			s.err = fmt.Errorf("%w\nalso, stopping it: %v", s.err, serr)
		}
		return
	}
	s.admin, s.base, s.server = admin, base, srv
}

func (s *pgState) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	if s.admin != nil {
		errs = append(errs, s.admin.Close())
		s.admin = nil
	}
	if s.server != nil {
		errs = append(errs, s.server.stop())
		s.server = nil
	}
	return errors.Join(errs...)
}

func openAdmin(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	// A handful of connections is plenty for CREATE/DROP DATABASE and keeps
	// a shared FYNLO_TEST_POSTGRES_URL server's connection slots for tests.
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dbName builds a database name that is readable in logs (it carries the
// test's name) and unique even across test binaries and machines sharing one
// FYNLO_TEST_POSTGRES_URL server (random suffix). It fits PostgreSQL's 63
// byte identifier limit.
func dbName(t testing.TB) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= 24 {
			break
		}
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	var rnd [5]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	return "fynlo_test_" + strings.TrimSuffix(b.String(), "_") + "_" + hex.EncodeToString(rnd[:]), nil
}

// pgServer is a throwaway PostgreSQL server with all its files in root.
type pgServer struct {
	initdb, pgCtl string
	root          string // temp dir holding everything below; removed by stop
	data          string
	sock          string
	logFile       string
	sockOpt       string // the -k option launch passes
	durable       bool   // commits survive a crash of the server
	port          int

	// cred is who the server runs as: nil for the current user, or the
	// postgres user when we are root, because postgres refuses to run as
	// root.
	cred *syscall.Credential

	watchdog     *exec.Cmd
	watchdogPipe *os.File // write end; its closing wakes the watchdog
}

func startServer() (*pgServer, error) { return startServerWith(false) }

func startServerWith(durable bool) (*pgServer, error) {
	initdb, pgCtl, err := findPostgres()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "fynlo-pg-")
	if err != nil {
		return nil, err
	}
	s := &pgServer{
		initdb:  initdb,
		pgCtl:   pgCtl,
		root:    root,
		data:    filepath.Join(root, "data"),
		sock:    filepath.Join(root, "sock"),
		logFile: filepath.Join(root, "postgres.log"),
		cred:    cred,
		durable: durable,
	}
	if err := s.start(); err != nil {
		if cred != nil && errors.Is(err, fs.ErrPermission) {
			err = fmt.Errorf("%w\n(running as root, so the server runs as the postgres user, which must be able "+
				"to reach %s; set TMPDIR to a directory it can, such as /tmp)", err, root)
		}
		if serr := s.stop(); serr != nil {
			err = fmt.Errorf("%w\nalso, cleaning up: %v", err, serr)
		}
		return nil, err
	}
	return s, nil
}

func (s *pgServer) start() error {
	if err := os.Mkdir(s.sock, 0o700); err != nil {
		return err
	}
	if s.cred != nil {
		if err := chownAll(s.root, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	// The watchdog goes first so that even a binary killed during initdb
	// leaves nothing behind.
	if err := s.startWatchdog(); err != nil {
		return fmt.Errorf("starting watchdog: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := s.command(ctx, s.initdb,
		"-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync",
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	// Unix socket paths are limited to ~107 bytes; with a long TMPDIR turn
	// the socket off rather than fail, as tests connect over TCP anyway.
	sockOpt := "-k '" + s.sock + "'"
	if len(s.sock) > 80 || strings.Contains(s.sock, "'") {
		sockOpt = "-k ''"
	}
	s.sockOpt = sockOpt
	// The free port may be taken by a parallel test binary between our
	// probe and postgres binding it, so retry on that one failure.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		_ = os.Remove(s.logFile) // so the tail below is about this attempt only
		err = s.launch(ctx, port)
		if err == nil {
			s.port = port
			return nil
		}
		if attempt < 3 && strings.Contains(err.Error(), "already in use") {
			continue
		}
		return err
	}
}

// launch starts the initialised server on port.
func (s *pgServer) launch(ctx context.Context, port int) error {
	// Shared servers trade durability for speed: synchronous_commit=off
	// loses the last commits in a crash. A server a test crashes on
	// purpose keeps it on (fsync stays off: the machine does not crash, so
	// what reached the kernel survives).
	syncCommit := "off"
	if s.durable {
		syncCommit = "on"
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 %s "+
		"-c fsync=off -c synchronous_commit=%s -c full_page_writes=off -c max_connections=300",
		port, s.sockOpt, syncCommit)
	out, err := s.command(ctx, s.pgCtl,
		"start", "-w", "-t", "60", "-D", s.data, "-l", s.logFile, "-o", opts,
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s\nserver log (%s):\n%s", err, out, s.logFile, s.logTail())
	}
	return nil
}

// stop stops the server and removes its files. It is safe to call on a
// server that only got part way through starting.
func (s *pgServer) stop() error {
	var errs []error
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// Immediate: the data is thrown away, so a clean checkpoint would
		// only cost time.
		out, err := s.command(ctx, s.pgCtl, "stop", "-w", "-m", "immediate", "-D", s.data).CombinedOutput()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("pg_ctl stop: %v\n%s", err, out))
		}
	}
	if err := os.RemoveAll(s.root); err != nil {
		errs = append(errs, err)
	}
	if s.watchdog != nil {
		// Nothing left for it to do; closing the pipe lets it exit now.
		s.watchdogPipe.Close()
		done := make(chan error, 1)
		go func() { done <- s.watchdog.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		s.watchdog = nil
	}
	return errors.Join(errs...)
}

// watchdogScript runs in its own session with the read end of a pipe as
// stdin. Only this process holds the write end, so read returns when it
// closes it or dies in any way (panic, test timeout, SIGKILL, Ctrl-C),
// and then the server is stopped and its files removed. This is what keeps
// a crashed test binary from leaving a server running forever; Main does
// the same work synchronously on a normal exit.
const watchdogScript = `read -r _line
"$1" stop -w -m immediate -D "$2" >/dev/null 2>&1
rm -rf "$3"`

func (s *pgServer) startWatchdog() error {
	r, w, err := os.Pipe() // close-on-exec: no other child inherits w
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "testenv-watchdog", s.pgCtl, s.data, s.root)
	cmd.Stdin = r
	// Stdout and stderr stay /dev/null: a watchdog holding the test
	// binary's stdout pipe would make go test wait for it.
	cmd.Dir = "/"
	cmd.Env = childEnv()
	// Own session, so Ctrl-C on the terminal reaches the test binary but
	// not the watchdog that must clean up after it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: s.cred}
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	s.watchdog, s.watchdogPipe = cmd, w
	return nil
}

// command prepares a PostgreSQL tool invocation as the server's user.
func (s *pgServer) command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	// The test's working directory may not be readable by the postgres
	// user; initdb and pg_ctl complain about that.
	cmd.Dir = s.root
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	// Should a postgres process ever hold our output pipe open, don't let
	// CombinedOutput wait for it forever.
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (s *pgServer) logTail() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// childEnv is the environment for PostgreSQL tools: without the caller's
// PG* variables (PGDATA, PGPORT, PGHOST... would redirect them) and with
// the C locale, so initdb does not trip over an unusual LANG and the log
// is in English for the port-in-use check.
func childEnv() []string {
	env := []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// findPostgres finds initdb and pg_ctl: first in PATH, then in Debian's
// versioned /usr/lib/postgresql/*/bin (which is not in PATH), newest first.
func findPostgres() (initdb, pgCtl string, err error) {
	initdb, err1 := exec.LookPath("initdb")
	pgCtl, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return initdb, pgCtl, nil
	}

	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		return -compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	for _, dir := range dirs {
		initdb, pgCtl := filepath.Join(dir, "initdb"), filepath.Join(dir, "pg_ctl")
		if isExecutable(initdb) && isExecutable(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", &unavailableError{"no PostgreSQL server binaries (initdb, pg_ctl) in PATH or /usr/lib/postgresql/*/bin; " +
		"install them (Debian: apt-get install postgresql) or run scripts/test, which does"}
}

// compareVersions compares dotted numeric versions such as "9.6" and "15".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// serverCredential returns nil when the server can run as the current user,
// or the postgres user's credential when we are root: PostgreSQL refuses
// to run as root, which is the usual case in CI containers.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, &unavailableError{"running as root, and PostgreSQL refuses to run as root, but there is no " +
			"\"postgres\" user to run it as (" + err.Error() + "); install the postgresql package, which creates it, " +
			"or run the tests as a non-root user"}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has non-numeric uid/gid %q/%q", u.Uid, u.Gid)
	}
	// An empty Groups list drops root's supplementary groups.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func chownAll(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
